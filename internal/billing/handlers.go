package billing

import (
	"context"
	"net/http"
	"strings"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
)

// Handlers serves the Payment Services operations.
type Handlers struct {
	Engine    *Engine
	PublicURL string // base URL of the login host (without /user)
}

func (h Handlers) viewer(ctx context.Context, p *auth.Principal) (*viewer, error) {
	c, err := tenant.GetCompany(ctx, h.Engine.DB, p.CompanyID)
	if err != nil {
		return nil, err
	}
	loc, err := c.Location()
	if err != nil {
		return nil, err
	}
	return &viewer{db: h.Engine.DB, companyID: p.CompanyID, companyCode: c.Code, loc: loc,
		viewBase: strings.TrimSuffix(h.PublicURL, "/") + "/user/invoice/view/"}, nil
}

// caller resolves a user-mode caller's customer; ok is false without one.
func (h Handlers) caller(ctx context.Context, p *auth.Principal) (int64, bool, error) {
	n, err := customer.NumberFor(ctx, h.Engine.DB, p)
	if errs.Is(err, errs.NotFound) {
		return 0, false, nil
	}
	return n, err == nil, err
}

func productParam(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	if v == "" || len(v) > 12 {
		return "", errs.Field(name, "must be 1 to 12 characters")
	}
	return v, nil
}

// InvoiceReminderLists is {"invoices":[...],"reminders":[...]}.
type InvoiceReminderLists struct {
	Invoices  []UserInvoice `json:"invoices"`
	Reminders []Reminder    `json:"reminders"`
}

// InvoicesAndReminders serves invoice-reminder-list and (with {product})
// invoice-reminder-product-list.
func (h Handlers) InvoicesAndReminders(byProduct bool) http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		f, err := parseFilter(r.URL.Query().Get, true)
		if err != nil {
			return nil, err
		}
		if byProduct {
			if f.Product, err = productParam(r, "product"); err != nil {
				return nil, err
			}
		}
		out := InvoiceReminderLists{Invoices: []UserInvoice{}, Reminders: []Reminder{}}
		cno, ok, err := h.caller(r.Context(), p)
		if err != nil || !ok {
			return out, err
		}
		f.Customer = cno
		v, err := h.viewer(r.Context(), p)
		if err != nil {
			return nil, err
		}
		list, err := v.list(r.Context(), f)
		if err != nil {
			return nil, err
		}
		for _, i := range list {
			out.Invoices = append(out.Invoices, v.user(i))
			rems, err := v.reminders(r.Context(), i)
			if err != nil {
				return nil, err
			}
			out.Reminders = append(out.Reminders, rems...)
		}
		return out, nil
	})
}

// BasicList is {"invoices":[...]} of basic entries.
type BasicList struct {
	Invoices []BasicInvoice `json:"invoices"`
}

// Basic serves invoice-basic-list and invoice-basic-product-list.
func (h Handlers) Basic(byProduct bool) http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		f, err := parseFilter(r.URL.Query().Get, true)
		if err != nil {
			return nil, err
		}
		if byProduct {
			if f.Product, err = productParam(r, "product"); err != nil {
				return nil, err
			}
		}
		out := BasicList{Invoices: []BasicInvoice{}}
		cno, ok, err := h.caller(r.Context(), p)
		if err != nil || !ok {
			return out, err
		}
		f.Customer = cno
		v, err := h.viewer(r.Context(), p)
		if err != nil {
			return nil, err
		}
		list, err := v.list(r.Context(), f)
		if err != nil {
			return nil, err
		}
		for _, i := range list {
			u := v.user(i)
			out.Invoices = append(out.Invoices, BasicInvoice{InvoiceNumber: u.InvoiceNumber, Product: u.Product, ProductName: u.ProductName,
				InvoiceDate: u.InvoiceDate, DueDate: u.DueDate, InvoiceAmount: u.InvoiceAmount, PaidAmount: u.PaidAmount, InvoiceStatus: u.InvoiceStatus})
		}
		return out, nil
	})
}

// Details serves invoice-details.
func (h Handlers) Details() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		number, ok := parseDigits(r.PathValue("invoiceNumber"), 10)
		if !ok {
			return nil, errs.Field("invoiceNumber", "must be 1 to 10 digits")
		}
		cno, err := customer.NumberFor(r.Context(), h.Engine.DB, p)
		if err != nil {
			return nil, err
		}
		inv, err := ByNumber(r.Context(), h.Engine.DB, p.CompanyID, number)
		if err != nil {
			return nil, err
		}
		if inv.CustomerNumber != cno {
			return nil, errs.E(errs.NotFound, "invoice %d not found", number) // not the payer: as if missing
		}
		v, err := h.viewer(r.Context(), p)
		if err != nil {
			return nil, err
		}
		return v.details(r.Context(), inv)
	})
}

// ClientInvoiceList is {"clientInvoiceInfoList":[...]}.
type ClientInvoiceList struct {
	ClientInvoiceInfoList []ClientInvoice `json:"clientInvoiceInfoList"`
}

// ClientList serves invoice-list-client and invoice-product-list-client.
func (h Handlers) ClientList(byProduct bool) http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		cno, err := customer.ParseNumber(r, "customerNumber")
		if err != nil {
			return nil, err
		}
		f, err := parseFilter(r.URL.Query().Get, false)
		if err != nil {
			return nil, err
		}
		if byProduct {
			if f.Product, err = productParam(r, "productCode"); err != nil {
				return nil, err
			}
		}
		if _, err := customer.IDOf(r.Context(), h.Engine.DB, p.CompanyID, cno); err != nil {
			return nil, err
		}
		f.Customer = cno
		v, err := h.viewer(r.Context(), p)
		if err != nil {
			return nil, err
		}
		list, err := v.list(r.Context(), f)
		if err != nil {
			return nil, err
		}
		out := ClientInvoiceList{ClientInvoiceInfoList: []ClientInvoice{}}
		for _, i := range list {
			c, err := v.client(r.Context(), i)
			if err != nil {
				return nil, err
			}
			out.ClientInvoiceInfoList = append(out.ClientInvoiceInfoList, c)
		}
		return out, nil
	})
}

// InvoiceAddress is the invoice-address-list response.
type InvoiceAddress struct {
	Name                Name     `json:"name"`
	Address             *Address `json:"address,omitempty"`
	PayerSameAsCustomer bool     `json:"payerSameAsCustomer"`
	PayerCustomerNumber *int64   `json:"payerCustomerNumber"`
}

// Address serves invoice-address-list: the name and address the next
// invoice of the product will carry. Payers other than the subscriber are
// not modelled yet, so the payer is always the customer.
func (h Handlers) Address() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		product, err := productParam(r, "product")
		if err != nil {
			return nil, err
		}
		cno, err := customer.NumberFor(r.Context(), h.Engine.DB, p)
		if err != nil {
			return nil, err
		}
		if _, err := subscription.Current(r.Context(), h.Engine.DB, p.CompanyID, cno, product); err != nil {
			return nil, err
		}
		c, err := customer.Get(r.Context(), h.Engine.DB, p.CompanyID, cno)
		if err != nil {
			return nil, err
		}
		return InvoiceAddress{
			Name: Name{FirstName: c.FirstName, MiddleName: c.MiddleName, LastName: c.LastName, CompanyName: c.CompanyName, DepartmentName: c.DepartmentName},
			Address: &Address{StreetAddress: c.StreetAddress, StreetNumber: c.StreetNumber, PostalCode: c.PostalCode,
				PostalPlace: c.PostalPlace, CountryCode: c.CountryCode},
			PayerSameAsCustomer: true, PayerCustomerNumber: &cno,
		}, nil
	})
}
