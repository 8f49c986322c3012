package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// OrderInvoice is an order paid by invoice (paymentMethod invoice), issued at
// its fulfilment.
type OrderInvoice struct {
	CompanyID      int64
	OrderID        int64
	PayerCustomer  int64  // the order's payer
	SubscriptionID int64  // the subscription the order started, 0 for single products
	Currency       string // "" = the company's
	Lines          []Line // amounts incl. VAT, minor units; FromDate/InclDate for periods
}

// InvoiceForOrder issues the invoice of an order inside tx (the
// fulfilment's transaction, so the order and its invoice commit together),
// dated today in the company zone and due paymentTermDays later, with an
// invoice/issued event. It is idempotent per order: a second call returns
// the first invoice. It returns the invoice number and KID.
func InvoiceForOrder(ctx context.Context, tx *sql.Tx, o OrderInvoice) (number int64, paymentReference string, err error) {
	if o.OrderID <= 0 {
		return 0, "", errs.Field("orderId", "is required")
	}
	if len(o.Lines) == 0 {
		return 0, "", errs.Field("orderLines", "an invoice needs at least one line")
	}
	existing := func() (int64, string, error) {
		var n int64
		var ref string
		err := tx.QueryRowContext(ctx, `SELECT invoice_number, payment_reference FROM invoices
			WHERE company_id = $1 AND order_id = $2 AND kind = 'invoice'`, o.CompanyID, o.OrderID).Scan(&n, &ref)
		return n, ref, err
	}
	if n, ref, err := existing(); err == nil {
		return n, ref, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, "", store.Translate(err)
	}
	ci, err := loadCompany(ctx, tx, o.CompanyID)
	if err != nil {
		return 0, "", err
	}
	if o.Currency == "" {
		var cur string
		if err := tx.QueryRowContext(ctx, `SELECT currency FROM companies WHERE id = $1`, o.CompanyID).Scan(&cur); err != nil {
			return 0, "", store.Translate(err)
		}
		o.Currency = cur
	}
	first := o.Lines[0]
	var name string
	_ = tx.QueryRowContext(ctx, `SELECT description FROM products WHERE company_id = $1 AND code = $2`, o.CompanyID, first.ProductCode).Scan(&name)
	now := subscription.Now(ctx).In(ci.loc)
	if _, err := Issue(ctx, tx, NewInvoice{CompanyID: o.CompanyID, CustomerNumber: o.PayerCustomer, SubscriptionID: o.SubscriptionID,
		OrderID: o.OrderID, PeriodNo: 1, ProductCode: first.ProductCode, ProductName: name, InvoiceDate: now,
		FromDate: first.FromDate, InclDate: first.InclDate, Currency: o.Currency, Lines: o.Lines}); err != nil {
		return 0, "", err
	}
	n, ref, err := existing()
	return n, ref, store.Translate(err)
}

// Orders paid by card or wallet (README §12.3) go through the same payment
// providers and the same gateway interface as renewals and hosted flows.

// orderMethodProvider is the provider kind serving each order payment method
// that a payment provider serves.
var orderMethodProvider = map[string]string{"creditcardPayex": "payex", "swishPayex": "payex", "nexi": "nexi",
	"kco": "klarna", "vippsRecurring": "vipps", "vippsEcommerce": "vipps"}

// recurringOrderMethods are the order methods whose token or agreement is a
// stored means (the one-off swishPayex and vippsEcommerce have none).
var recurringOrderMethods = map[string]bool{"creditcardPayex": true, "nexi": true, "kco": true, "vippsRecurring": true}

// ProviderKindOfOrderMethod is the provider kind (klarna, nexi, payex, vipps)
// serving an order payment method; ok is false for methods no payment
// provider serves (sms, smsPay, other, the legacy creditcard and masterpass).
func ProviderKindOfOrderMethod(method string) (kind string, ok bool) {
	kind, ok = orderMethodProvider[method]
	return kind, ok
}

// OrderGateway returns the adapter that takes payments of an order method,
// and the company's configuration of its provider. A method that a payment
// provider serves needs that provider configured (Forbidden otherwise). A
// method that none serves (SMS) gets the adapter of implementation, with a
// nil provider.
func (e *Engine) OrderGateway(ctx context.Context, q store.Queryer, companyID int64, method, implementation string) (PaymentGateway, *Provider, error) {
	kind, ok := orderMethodProvider[method]
	if !ok {
		gw, err := e.Gateways(&Provider{CompanyID: companyID, Kind: method, Implementation: implementation})
		return gw, nil, err
	}
	p, err := ProviderOf(ctx, q, companyID, kind)
	if err != nil {
		return nil, nil, err
	}
	gw, err := e.Gateways(p)
	return gw, p, err
}

// MeansForOrder returns the means an order paid by a card or wallet method is
// charged with, through provider p: the order's own ticket when it names one,
// else the payer's valid stored means of the provider's kind — for one of
// the order's products first, else the most recent one. NotFound when the
// payer has none.
func (e *Engine) MeansForOrder(ctx context.Context, q store.Queryer, p *Provider, payer int64, ticket string, products []string) (Means, error) {
	kind := kindOfProvider[p.Kind]
	if ticket != "" {
		return Means{Kind: kind, Reference: ticket, ProviderID: p.ID, MerchantID: p.MerchantID}, nil
	}
	now := subscription.Now(ctx)
	var found *storedMeans
	for _, product := range append(products, "") {
		cond, args := `customer_number = $2 AND kind = $3 AND status = 'valid'`, []any{payer, kind}
		if product != "" {
			cond, args = cond+` AND product_code = $4`, append(args, product)
		}
		m, err := e.loadMeans(ctx, q, p.CompanyID, cond, args...)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return Means{}, err
		}
		if !m.expired(now) {
			found = m
			break
		}
	}
	if found == nil {
		return Means{}, errs.E(errs.NotFound, "no stored payment token or agreement")
	}
	mp, err := providerByID(ctx, q, p.CompanyID, found.ProviderID)
	if err != nil {
		return Means{}, err
	}
	ref, err := e.Sealer.Open(found.sealed, bindOf(p.CompanyID, payer))
	if err != nil {
		return Means{}, err
	}
	return Means{Kind: found.Kind, Reference: ref, ProviderID: mp.ID, MerchantID: mp.MerchantID}, nil
}

// OrderCard is the card a prepaid order's payment info describes.
type OrderCard struct {
	Masked, ExpMonth, ExpYear, Brand string
}

// KeepOrderMeans stores the token or agreement of a completed recurring
// card or wallet order as the payer's means for product, inside the
// completing transaction (payment.md: the order's payment info becomes the
// means of the ordered product; it replaces older means of the product). It
// reports false when nothing is stored: a method without means, or a
// provider the company has not configured.
func (e *Engine) KeepOrderMeans(ctx context.Context, tx *sql.Tx, companyID, payer int64, product, method, ticket string, card OrderCard) (bool, error) {
	if ticket == "" || !recurringOrderMethods[method] {
		return false, nil
	}
	p, err := ProviderOf(ctx, tx, companyID, orderMethodProvider[method])
	if errs.Is(err, errs.Forbidden) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	r := FlowResult{Means: &Means{Kind: kindOfProvider[p.Kind], Reference: ticket, ProviderID: p.ID, MerchantID: p.MerchantID}}
	if p.Kind == "payex" || p.Kind == "nexi" {
		r.Masked, r.Brand = maskCard(card.Masked), truncate(card.Brand, 20)
		r.ExpMM, r.ExpYY = twoDigits(card.ExpMonth), twoDigits(card.ExpYear)
	}
	_, err = e.StoreMeans(ctx, tx, companyID, payer, product, p.ID, r)
	return err == nil, err
}

// maskCard keeps at most the last four digits of a card number in clear
// (payment.md), in the reference's xxxx-xxxxxx-x1234 form.
func maskCard(s string) string {
	var digits []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
		}
	}
	if len(digits) == 0 {
		return ""
	}
	return "xxxx-xxxxxx-x" + string(digits[max(0, len(digits)-4):])
}

// twoDigits is a month or year as two digits ("2027" → "27"), or "".
func twoDigits(s string) string {
	if n, ok := parseDigits(s, 4); ok {
		return fmt.Sprintf("%02d", n%100)
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
