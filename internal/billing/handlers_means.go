package billing

import (
	"context"
	"net/http"
	"strings"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/subscription"
)

// KlarnaToken is one recurringTokens entry.
type KlarnaToken struct {
	Token             string `json:"token"`
	PaymentProviderID int64  `json:"paymentProviderId"`
	ProductCode       string `json:"productCode"`
}

// NexiSubscription is one Nexi subscriptions entry.
type NexiSubscription struct {
	SubscriptionID    string `json:"subscriptionId"`
	PaymentProviderID int64  `json:"paymentProviderId"`
	ProductCode       string `json:"productCode"`
	MaskedCardNumber  string `json:"maskedCardNumber,omitempty"`
	ExpirationMonth   string `json:"expirationMonth,omitempty"`
	ExpirationYear    string `json:"expirationYear,omitempty"`
	CardTypeName      string `json:"cardTypeName,omitempty"`
}

// PayExToken is one paymentRecurrenceTokens entry.
type PayExToken struct {
	RecurrenceToken   string `json:"recurrenceToken"`
	PaymentProviderID int64  `json:"paymentProviderId"`
	MerchantID        string `json:"merchantId"`
	ProductCode       string `json:"productCode"`
	MaskedCardNumber  string `json:"maskedCardNumber,omitempty"`
	ExpirationMonth   string `json:"expirationMonth,omitempty"`
	ExpirationYear    string `json:"expirationYear,omitempty"`
	CardTypeName      string `json:"cardTypeName,omitempty"`
}

// VippsAgreement is one recurringAgreements entry.
type VippsAgreement struct {
	AgreementRef      string `json:"agreementRef"`
	PaymentProviderID int64  `json:"paymentProviderId"`
	ProductCode       string `json:"productCode"`
}

// ListMeansHandler serves the four list operations of stored means.
func (h Handlers) ListMeansHandler(kind string) http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var list []MeansView
		cno, ok, err := h.caller(r.Context(), p)
		if err != nil {
			return nil, err
		}
		if ok {
			if list, err = h.Engine.ListMeans(r.Context(), p.CompanyID, cno, kind); err != nil {
				return nil, err
			}
		}
		switch kind {
		case "klarnaToken":
			out := []KlarnaToken{}
			for _, m := range list {
				out = append(out, KlarnaToken{Token: m.Reference, PaymentProviderID: m.ProviderID, ProductCode: m.ProductCode})
			}
			return map[string]any{"recurringTokens": out}, nil
		case "nexiSubscription":
			out := []NexiSubscription{}
			for _, m := range list {
				out = append(out, NexiSubscription{SubscriptionID: m.Reference, PaymentProviderID: m.ProviderID, ProductCode: m.ProductCode,
					MaskedCardNumber: m.Masked, ExpirationMonth: m.ExpMM, ExpirationYear: m.ExpYY, CardTypeName: m.Brand})
			}
			return map[string]any{"subscriptions": out}, nil
		case "payexToken":
			out := []PayExToken{}
			for _, m := range list {
				out = append(out, PayExToken{RecurrenceToken: m.Reference, PaymentProviderID: m.ProviderID, MerchantID: m.MerchantID,
					ProductCode: m.ProductCode, MaskedCardNumber: m.Masked, ExpirationMonth: m.ExpMM, ExpirationYear: m.ExpYY, CardTypeName: m.Brand})
			}
			return map[string]any{"paymentRecurrenceTokens": out}, nil
		default:
			out := []VippsAgreement{}
			for _, m := range list {
				out = append(out, VippsAgreement{AgreementRef: m.Reference, PaymentProviderID: m.ProviderID, ProductCode: m.ProductCode})
			}
			return map[string]any{"recurringAgreements": out}, nil
		}
	})
}

// AddBody is the body of the Add operations.
type AddBody struct {
	ProductCode string `json:"productCode"`
	TokenType   string `json:"tokenType"` // PayEx only: card
}

// FlowStarted is the Add and Pay invoice response.
type FlowStarted struct {
	Success       bool   `json:"success"`
	TransactionID int64  `json:"transactionId,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

func validProduct(field, v string) error {
	if v == "" {
		return errs.Field(field, "is required")
	}
	if len(v) > 12 {
		return errs.Field(field, "must be at most 12 characters")
	}
	return nil
}

// AddMeans serves the four Add operations: it starts a hosted flow that
// stores means of kind for a product.
func (h Handlers) AddMeans(kind string) http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var b AddBody
		if err := httpx.Decode(r, &b); err != nil {
			return nil, err
		}
		if err := validProduct("productCode", b.ProductCode); err != nil {
			return nil, err
		}
		if kind == "payexToken" && !strings.EqualFold(b.TokenType, "card") {
			return nil, errs.Field("tokenType", "must be card")
		}
		prov, err := ProviderOf(r.Context(), h.Engine.DB, p.CompanyID, meansKinds[kind].provider)
		if err != nil {
			return nil, err
		}
		cno, err := customer.NumberFor(r.Context(), h.Engine.DB, p)
		if err != nil {
			return nil, err
		}
		s, err := subscription.Current(r.Context(), h.Engine.DB, p.CompanyID, cno, b.ProductCode)
		if errs.Is(err, errs.NotFound) {
			return FlowStarted{Success: false, Reason: "noSubscription"}, nil
		} else if err != nil {
			return nil, err
		}
		if !billed(s) {
			return FlowStarted{Success: false, Reason: "methodNotAllowed"}, nil
		}
		id, err := h.Engine.StartFlow(r.Context(), StartRequest{CompanyID: p.CompanyID, ClientID: p.ClientID, UserID: p.UserID,
			CustomerNumber: cno, Purpose: kind, ProductCode: b.ProductCode, ProviderID: prov.ID, Method: meansKinds[kind].method})
		if err != nil {
			return nil, err
		}
		return FlowStarted{Success: true, TransactionID: id}, nil
	})
}

// billed reports whether a subscription is charged period by period, so
// that a payment method applies to it. A free subscription has no method
// (payment.md) and one with a fixed end never renews: for both the product
// allows no provider's method (reason methodNotAllowed).
func billed(s *subscription.Sub) bool { return s.Price > 0 && !s.FixedEnd }

// RemoveBody is the body of the Remove operations (one reference field per kind).
type RemoveBody struct {
	Token             string `json:"token"`
	SubscriptionID    string `json:"subscriptionId"`
	RecurrenceToken   string `json:"recurrenceToken"`
	AgreementRef      string `json:"agreementRef"`
	PaymentProviderID int64  `json:"paymentProviderId"`
}

// Success is {"success":bool}.
type Success struct {
	Success bool `json:"success"`
}

// RemoveMeansHandler serves the four Remove operations.
func (h Handlers) RemoveMeansHandler(kind string) http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var b RemoveBody
		if err := httpx.Decode(r, &b); err != nil {
			return nil, err
		}
		ref := map[string]string{"klarnaToken": b.Token, "nexiSubscription": b.SubscriptionID, "payexToken": b.RecurrenceToken, "vippsAgreement": b.AgreementRef}[kind]
		if ref == "" {
			return nil, errs.Field(refField(kind), "is required")
		}
		if len(ref) > 128 {
			return nil, errs.Field(refField(kind), "must be at most 128 characters")
		}
		if b.PaymentProviderID <= 0 {
			return nil, errs.Field("paymentProviderId", "is required")
		}
		cno, ok, err := h.caller(r.Context(), p)
		if err != nil || !ok {
			return Success{}, err
		}
		done, err := h.Engine.RemoveMeans(r.Context(), p.CompanyID, cno, kind, b.PaymentProviderID, ref)
		if err != nil {
			return nil, err
		}
		return Success{Success: done}, nil
	})
}

// MethodItem is one paymentMethodResponseItems entry.
type MethodItem struct {
	PaymentMethod string `json:"paymentMethod"`
	IsActive      string `json:"isActive"`
}

// possibleMethods are invoicePayment plus the methods of configured providers.
func possibleMethods(ctx context.Context, h Handlers, companyID int64) ([]string, error) {
	out := []string{MethodInvoice}
	for _, k := range []string{"klarnaToken", "nexiSubscription", "payexToken", "vippsAgreement"} {
		if _, err := ProviderOf(ctx, h.Engine.DB, companyID, meansKinds[k].provider); err == nil {
			out = append(out, meansKinds[k].method)
		} else if !errs.Is(err, errs.Forbidden) {
			return nil, err
		}
	}
	return out, nil
}

// MethodList serves payment-method-list.
func (h Handlers) MethodList() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		product, err := productParam(r, "product")
		if err != nil {
			return nil, err
		}
		items := []MethodItem{}
		if ok, err := catalog.ProductExists(r.Context(), h.Engine.DB, p.CompanyID, product); err != nil || !ok {
			return map[string]any{"paymentMethodResponseItems": items}, err
		}
		methods, err := possibleMethods(r.Context(), h, p.CompanyID)
		if err != nil {
			return nil, err
		}
		active := ""
		if cno, ok, err := h.caller(r.Context(), p); err != nil {
			return nil, err
		} else if ok {
			if s, err := subscription.Current(r.Context(), h.Engine.DB, p.CompanyID, cno, product); err == nil && billed(s) {
				if active, err = CurrentMethod(r.Context(), h.Engine.DB, p.CompanyID, cno, product); err != nil {
					return nil, err
				}
			} else if err != nil && !errs.Is(err, errs.NotFound) {
				return nil, err
			}
		}
		seen := false
		for _, m := range methods {
			flag := "N"
			if m == active {
				flag, seen = "Y", true
			}
			items = append(items, MethodItem{PaymentMethod: m, IsActive: flag})
		}
		if active != "" && !seen {
			items = append(items, MethodItem{PaymentMethod: active, IsActive: "Y"})
		}
		return map[string]any{"paymentMethodResponseItems": items}, nil
	})
}

// ChangeBody is the body of payment-method-change.
type ChangeBody struct {
	PaymentMethod string `json:"paymentMethod"`
}

// MethodChange serves payment-method-change.
func (h Handlers) MethodChange() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		// One pattern serves list (GET) and change (POST): ServeMux needs the
		// same wildcard name for both; the spec calls it productCode here.
		product, err := productParam(r, "product")
		if err != nil {
			return nil, errs.Field("productCode", "must be 1 to 12 characters")
		}
		var b ChangeBody
		if err := httpx.Decode(r, &b); err != nil {
			return nil, err
		}
		var kind string
		switch b.PaymentMethod {
		case MethodInvoice:
		case "":
			return nil, errs.Field("paymentMethod", "is required")
		default:
			for k, v := range meansKinds {
				if strings.EqualFold(v.method, b.PaymentMethod) {
					kind, b.PaymentMethod = k, v.method
				}
			}
			if kind == "" {
				return nil, errs.Field("paymentMethod", "%q cannot be chosen for a product", b.PaymentMethod)
			}
		}
		var providerID int64
		if kind != "" {
			prov, err := ProviderOf(r.Context(), h.Engine.DB, p.CompanyID, meansKinds[kind].provider)
			if err != nil {
				return nil, err
			}
			providerID = prov.ID
		}
		cno, err := customer.NumberFor(r.Context(), h.Engine.DB, p)
		if err != nil {
			return nil, err
		}
		s, err := subscription.Current(r.Context(), h.Engine.DB, p.CompanyID, cno, product)
		if err != nil {
			return nil, err
		}
		if !billed(s) {
			return nil, errs.Field("paymentMethod", "%s is not possible for %s: the subscription is free or has a fixed end", b.PaymentMethod, product)
		}
		id, err := h.Engine.StartFlow(r.Context(), StartRequest{CompanyID: p.CompanyID, ClientID: p.ClientID, UserID: p.UserID,
			CustomerNumber: cno, Purpose: PurposeChange, ProductCode: product, ProviderID: providerID, Method: b.PaymentMethod})
		if err != nil {
			return nil, err
		}
		return map[string]any{"paymentChangeId": id}, nil
	})
}

// PayBody is the body of invoice-pay.
type PayBody struct {
	InvoiceNumber string `json:"invoiceNumber"`
	ProductCode   string `json:"productCode"`
	CompanyCode   string `json:"companyCode"`
	PaymentMethod string `json:"paymentMethod"`
}

// Pay serves invoice-pay: it starts a hosted flow that pays the open balance.
func (h Handlers) Pay() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var b PayBody
		if err := httpx.Decode(r, &b); err != nil {
			return nil, err
		}
		number, ok := parseDigits(b.InvoiceNumber, 10)
		if !ok {
			return nil, errs.Field("invoiceNumber", "must be 1 to 10 digits")
		}
		if err := validProduct("productCode", b.ProductCode); err != nil {
			return nil, err
		}
		if err := validProduct("companyCode", b.CompanyCode); err != nil {
			return nil, err
		}
		method := ""
		for m := range providerOfOrderMethod {
			if strings.EqualFold(m, b.PaymentMethod) {
				method = m
			}
		}
		if method == "" {
			return nil, errs.Field("paymentMethod", "must be one of creditcardPayex, swishPayex, vippsEcommerce, nexi, kco")
		}
		cno, err := customer.NumberFor(r.Context(), h.Engine.DB, p)
		if err != nil {
			return nil, err
		}
		inv, err := ByNumber(r.Context(), h.Engine.DB, p.CompanyID, number)
		if err != nil {
			return nil, err
		}
		if inv.CustomerNumber != cno || b.CompanyCode != p.CompanyCode {
			return nil, errs.E(errs.NotFound, "invoice %d not found", number)
		}
		var onLine int
		_ = h.Engine.DB.QueryRowContext(r.Context(), `SELECT COUNT(*) FROM invoice_lines WHERE invoice_id = $1 AND product_code = $2`, inv.ID, b.ProductCode).Scan(&onLine)
		if onLine == 0 {
			return nil, errs.Field("productCode", "%s is on no line of invoice %d", b.ProductCode, number)
		}
		prov, err := ProviderOf(r.Context(), h.Engine.DB, p.CompanyID, providerOfOrderMethod[method])
		if err != nil {
			return nil, err
		}
		if !inv.Payable() {
			return FlowStarted{Success: false, Reason: "notPayable"}, nil
		}
		id, err := h.Engine.StartFlow(r.Context(), StartRequest{CompanyID: p.CompanyID, ClientID: p.ClientID, UserID: p.UserID,
			CustomerNumber: cno, Purpose: PurposeInvoice, ProductCode: b.ProductCode, InvoiceID: inv.ID, Amount: inv.Balance(),
			Currency: inv.Currency, ProviderID: prov.ID, Method: method})
		if err != nil {
			return nil, err
		}
		return FlowStarted{Success: true, TransactionID: id}, nil
	})
}
