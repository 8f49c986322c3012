package billing

import (
	"context"
	"database/sql"
	"errors"

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
