package customer

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// Handlers serves the Customer Data area (spec/customer.md) except the
// category catalogue, which package catalog serves.
type Handlers struct {
	DB *store.DB
	// HasSubscription tells whether a customer subscribes to a product
	// (address changes name products of the customer's subscriptions).
	HasSubscription SubscriptionCheck
	// Invoices finds an invoice's customer for Check customer number; nil
	// until the billing area provides it (an invoiceNumber then never matches).
	Invoices InvoiceOwner
	Now      func() time.Time
}

func (h Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// ParseNumber reads a path parameter that must be all digits (spec README §6.3).
func ParseNumber(r *http.Request, name string) (int64, error) {
	return ParseDigits(name, r.PathValue(name))
}

// ParseDigits parses an identifier that must be all digits.
func ParseDigits(name, s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, errs.Field(name, "must be an integer")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errs.Field(name, "must be an integer")
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errs.Field(name, "must be an integer")
	}
	return n, nil
}

// handle runs fn and writes its value or error.
func handle(fn func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(w, r, auth.FromContext(r.Context()))
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, v)
	})
}

func (h Handlers) hasSub() SubscriptionCheck {
	if h.HasSubscription != nil {
		return h.HasSubscription
	}
	return func(context.Context, store.Queryer, int64, int64, string) (bool, error) { return false, nil }
}

func (h Handlers) country(ctx context.Context, companyID int64) (string, error) {
	co, err := tenant.GetCompany(ctx, h.DB, companyID)
	if err != nil {
		return "", err
	}
	return co.Country, nil
}

// InfoList serves GET /capi/v1/customer/info (customer-info-list).
func (h Handlers) InfoList() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		n, err := NumberFor(r.Context(), h.DB, p)
		if err != nil {
			return nil, err
		}
		return h.info(r.Context(), p, n)
	})
}

// info returns a customer after applying due address changes.
func (h Handlers) info(ctx context.Context, p *auth.Principal, number int64) (*Customer, error) {
	if _, err := Addresses(ctx, h.DB, p.CompanyID, p.CompanyCode, number, "", h.now()); err != nil {
		return nil, err
	}
	return Get(ctx, h.DB, p.CompanyID, number)
}

// InfoChange serves POST /capi/v1/customer/info (customer-info-change).
func (h Handlers) InfoChange() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		n, err := NumberFor(r.Context(), h.DB, p)
		if err != nil {
			return nil, err
		}
		var in Input
		if err := httpx.Decode(r, &in); err != nil {
			return nil, err
		}
		if name, ok := in.HasAddress(); ok {
			return nil, errs.Field(name, "addresses change through POST /capi/v1/customer/address")
		}
		if in.CustomerNumber != nil && *in.CustomerNumber != n {
			return nil, errs.Field("customerNumber", "cannot be changed")
		}
		var c *Customer
		err = h.DB.Tx(r.Context(), func(tx *sql.Tx) error {
			c, err = Update(r.Context(), tx, p.CompanyID, p.CompanyCode, n, &in, h.now())
			return err
		})
		return c, err
	})
}

// InfoOrExternalReferences serves GET /capi/v1/client/customer/{a}/{b}: the
// one pattern for customer-info-list-client (info/{customerNumber}) and
// extref-list-client ({customerNumber}/external-reference), which ServeMux
// cannot register side by side (spec README §14).
func (h Handlers) InfoOrExternalReferences() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		a, b := r.PathValue("a"), r.PathValue("b")
		switch {
		case a == "info":
			n, err := ParseDigits("customerNumber", b)
			if err != nil {
				return nil, err
			}
			return h.info(r.Context(), p, n)
		case b == "external-reference":
			n, err := ParseDigits("customerNumber", a)
			if err != nil {
				return nil, err
			}
			refs, err := ExternalReferences(r.Context(), h.DB, p.CompanyID, n)
			if err != nil {
				return nil, err
			}
			return ExternalReferenceList{ExternalReferences: refs}, nil
		}
		return nil, errs.E(errs.NotFound, "no such resource: %s", r.URL.Path)
	})
}

// ExternalReferenceRegister serves POST /capi/v1/client/customer/{a}/{b}
// with b = external-reference (extref-register-client).
func (h Handlers) ExternalReferenceRegister() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		if r.PathValue("b") != "external-reference" {
			return nil, errs.E(errs.NotFound, "no such resource: %s", r.URL.Path)
		}
		n, err := ParseDigits("customerNumber", r.PathValue("a"))
		if err != nil {
			return nil, err
		}
		var ref ExternalReference
		if err := httpx.Decode(r, &ref); err != nil {
			return nil, err
		}
		if err := ValidReferenceCode(ref.ReferenceCode); err != nil {
			return nil, err
		}
		if err := ValidExternalID(ref.ExternalID); err != nil {
			return nil, err
		}
		ok, err := AddExternalReference(r.Context(), h.DB, p.CompanyID, n, ref, h.now())
		return Success{ok}, err
	})
}

// Success is {"success": bool}.
type Success struct {
	Success bool `json:"success"`
}

// ExternalReferenceChange serves PATCH …/external-reference/{referenceCode}.
func (h Handlers) ExternalReferenceChange() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		n, err := ParseNumber(r, "customerNumber")
		if err != nil {
			return nil, err
		}
		ref := ExternalReference{ReferenceCode: r.PathValue("referenceCode")}
		var body struct {
			ExternalID string `json:"externalId"`
		}
		if err := httpx.Decode(r, &body); err != nil {
			return nil, err
		}
		ref.ExternalID = body.ExternalID
		if err := ValidReferenceCode(ref.ReferenceCode); err != nil {
			return nil, err
		}
		if err := ValidExternalID(ref.ExternalID); err != nil {
			return nil, err
		}
		ok, err := ChangeExternalReference(r.Context(), h.DB, p.CompanyID, n, ref, h.now())
		return Success{ok}, err
	})
}

// ExternalReferenceRemove serves DELETE …/external-reference/{referenceCode}.
func (h Handlers) ExternalReferenceRemove() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		n, err := ParseNumber(r, "customerNumber")
		if err != nil {
			return nil, err
		}
		code := r.PathValue("referenceCode")
		if err := ValidReferenceCode(code); err != nil {
			return nil, err
		}
		ok, err := RemoveExternalReference(r.Context(), h.DB, p.CompanyID, n, code)
		return Success{ok}, err
	})
}

// SearchClient serves POST /capi/v1/client/customer/search.
func (h Handlers) SearchClient() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		list, err := h.search(r, p)
		if err != nil {
			return nil, err
		}
		return CustomerList{Customers: list}, nil
	})
}

func (h Handlers) search(r *http.Request, p *auth.Principal) ([]*Customer, error) {
	var req SearchRequest
	if err := httpx.Decode(r, &req); err != nil {
		return nil, err
	}
	var country string
	if req.NeedsCountry() {
		c, err := h.country(r.Context(), p.CompanyID)
		if err != nil {
			return nil, err
		}
		country = c
	}
	return Search(r.Context(), h.DB, p.CompanyID, country, req)
}

// CheckClient serves POST /capi/v1/client/customer/check.
func (h Handlers) CheckClient() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		var req CheckRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		country, err := h.country(r.Context(), p.CompanyID)
		if err != nil {
			return nil, err
		}
		return Check(r.Context(), h.DB, p.CompanyID, country, req, h.Invoices)
	})
}

// AddressChange serves POST /capi/v1/customer/address (a bare array).
func (h Handlers) AddressChange() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		n, err := NumberFor(r.Context(), h.DB, p)
		if err != nil {
			return nil, err
		}
		var req AddressChange
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		if req.ChangeType == "" {
			return nil, errs.Field("changeType", "required")
		}
		return ChangeAddress(r.Context(), h.DB, p.CompanyID, p.CompanyCode, n, &req, h.hasSub(), h.now())
	})
}

// AddressList serves GET /capi/v1/customer/address; a user without a
// customer gets an empty list (spec README §8).
func (h Handlers) AddressList() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		n, err := NumberFor(r.Context(), h.DB, p)
		if errs.Is(err, errs.NotFound) {
			return AddressList{Addresses: []Address{}}, nil
		}
		if err != nil {
			return nil, err
		}
		return h.addresses(r.Context(), p, n, "")
	})
}

// AddressListClient serves GET /capi/v1/client/address/{customerNumber}.
func (h Handlers) AddressListClient() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		n, err := ParseNumber(r, "customerNumber")
		if err != nil {
			return nil, err
		}
		return h.addresses(r.Context(), p, n, "")
	})
}

// AddressProductList serves GET /capi/v1/customer/address/{productCode}.
func (h Handlers) AddressProductList() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		n, err := NumberFor(r.Context(), h.DB, p)
		if err != nil {
			return nil, err
		}
		return h.productAddresses(r, p, n)
	})
}

// AddressProductListClient serves GET /capi/v1/client/address/{customerNumber}/{productCode}.
func (h Handlers) AddressProductListClient() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) (any, error) {
		n, err := ParseNumber(r, "customerNumber")
		if err != nil {
			return nil, err
		}
		return h.productAddresses(r, p, n)
	})
}

func (h Handlers) productAddresses(r *http.Request, p *auth.Principal, n int64) (any, error) {
	product := r.PathValue("productCode")
	if product == "" || len(product) > 12 {
		return nil, errs.Field("productCode", "must be 1 to 12 characters")
	}
	if _, err := IDOf(r.Context(), h.DB, p.CompanyID, n); err != nil {
		return nil, err
	}
	ok, err := h.hasSub()(r.Context(), h.DB, p.CompanyID, n, product)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoSubscription(product)
	}
	return h.addresses(r.Context(), p, n, product)
}

func (h Handlers) addresses(ctx context.Context, p *auth.Principal, n int64, product string) (any, error) {
	list, err := Addresses(ctx, h.DB, p.CompanyID, p.CompanyCode, n, product, h.now())
	if err != nil {
		return nil, err
	}
	return AddressList{Addresses: list}, nil
}
