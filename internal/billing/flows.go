package billing

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// Flow purposes (spec payment.md "Hosted flows").
const (
	PurposeInvoice = "invoicePayment"
	PurposeChange  = "paymentChange"
)

// flowTTL: a transaction is single-use and expires after one hour (README §12.2).
const flowTTL = time.Hour

// Transaction is a stored hosted-flow transaction.
type Transaction struct {
	ID             int64
	CompanyID      int64
	ClientID       string
	UserID         string
	CustomerNumber int64
	Purpose        string
	ProductCode    string
	InvoiceID      sql.NullInt64
	Amount         int64
	Currency       string
	ProviderID     sql.NullInt64
	Method         string
	Ticket         string
	Status         string
	ExpiresAt      int64
}

// StartRequest starts a hosted flow.
type StartRequest struct {
	CompanyID      int64
	ClientID       string
	UserID         string
	CustomerNumber int64
	Purpose        string // a means kind, invoicePayment or paymentChange
	ProductCode    string
	InvoiceID      int64
	Amount         int64
	Currency       string
	ProviderID     int64 // 0: invoicePayment change (no provider)
	Method         string
}

// newFlowID is a random 8–9-digit id (README §12.2: e.g. 12378954).
func newFlowID() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return 10_000_000 + int64(binary.BigEndian.Uint64(b[:])%990_000_000)
}

// StartFlow stores a new transaction and cancels unfinished older ones of the
// same customer, product and purpose.
func (e *Engine) StartFlow(ctx context.Context, r StartRequest) (int64, error) {
	now := subscription.Now(ctx).UnixMilli()
	var id int64
	err := e.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE payment_transactions SET status = 'cancelled', finished_at = $5
			WHERE company_id = $1 AND customer_number = $2 AND purpose = $3 AND product_code = $4 AND status IN ('created', 'initiated')`,
			r.CompanyID, r.CustomerNumber, r.Purpose, r.ProductCode, now); err != nil {
			return store.Translate(err)
		}
		for range 5 { // a clash of random ids is retried
			id = newFlowID()
			res, err := tx.ExecContext(ctx, `INSERT INTO payment_transactions (id, company_id, client_id, user_id, customer_number,
				purpose, product_code, invoice_id, amount, currency, provider_id, method, status, expires_at, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'created', $13, $14) ON CONFLICT (id) DO NOTHING`,
				id, r.CompanyID, r.ClientID, r.UserID, r.CustomerNumber, r.Purpose, r.ProductCode, nullable(r.InvoiceID), r.Amount,
				r.Currency, nullable(r.ProviderID), r.Method, now+flowTTL.Milliseconds(), now)
			if err != nil {
				return store.Translate(err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				return nil
			}
		}
		return errs.E(errs.Internal, "could not allocate a transaction id")
	})
	return id, err
}

// GetFlow reads a transaction by id.
func (e *Engine) GetFlow(ctx context.Context, id int64) (*Transaction, error) {
	var t Transaction
	err := e.DB.QueryRowContext(ctx, `SELECT id, company_id, client_id, user_id, customer_number, purpose, product_code, invoice_id,
		amount, currency, provider_id, method, ticket, status, expires_at FROM payment_transactions WHERE id = $1`, id).Scan(
		&t.ID, &t.CompanyID, &t.ClientID, &t.UserID, &t.CustomerNumber, &t.Purpose, &t.ProductCode, &t.InvoiceID, &t.Amount,
		&t.Currency, &t.ProviderID, &t.Method, &t.Ticket, &t.Status, &t.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "unknown transaction")
	}
	return &t, store.Translate(err)
}

// flowOf is the gateway's view of a transaction.
func flowOf(t *Transaction) Flow {
	f := Flow{ID: t.ID, Purpose: t.Purpose, Amount: t.Amount, Currency: t.Currency, ProductCode: t.ProductCode}
	if _, ok := meansKinds[t.Purpose]; ok {
		f.MeansKind = t.Purpose
	}
	if t.Purpose == PurposeChange {
		for k, v := range meansKinds {
			if v.method == t.Method {
				f.MeansKind = k
			}
		}
	}
	return f
}

// BeginFlow marks the transaction initiated and returns where the browser
// goes: the provider's page, or (a change to invoicePayment, which needs no
// provider) the empty string, meaning "finish at once".
func (e *Engine) BeginFlow(ctx context.Context, t *Transaction) (string, error) {
	now := subscription.Now(ctx).UnixMilli()
	if t.Status != "created" && t.Status != "initiated" {
		return "", errs.E(errs.Conflict, "the transaction was already used")
	}
	if now > t.ExpiresAt {
		return "", errs.E(errs.Conflict, "the transaction has expired")
	}
	if !t.ProviderID.Valid {
		return "", nil
	}
	p, err := providerByID(ctx, e.DB, t.CompanyID, t.ProviderID.Int64)
	if err != nil {
		return "", err
	}
	gw, err := e.Gateways(p)
	if err != nil {
		return "", err
	}
	if _, err := e.DB.ExecContext(ctx, `UPDATE payment_transactions SET status = 'initiated' WHERE id = $1 AND status = 'created'`, t.ID); err != nil {
		return "", store.Translate(err)
	}
	return gw.Begin(ctx, flowOf(t))
}

// FinishFlow resolves a transaction with the provider's answer and applies
// it: stored means for Add flows and changes, a booked payment for invoice
// payments (the transactionId is the charge's idempotency key). It returns the
// outcome status for the browser's returnUrl.
func (e *Engine) FinishFlow(ctx context.Context, id int64, in url.Values) (string, error) {
	t, err := e.GetFlow(ctx, id)
	if err != nil {
		return "", err
	}
	now := subscription.Now(ctx)
	if t.Status != "initiated" && t.Status != "created" {
		return "", errs.E(errs.Conflict, "the transaction was already used")
	}
	if now.UnixMilli() > t.ExpiresAt {
		return "", errs.E(errs.Conflict, "the transaction has expired")
	}
	var res FlowResult
	var prov *Provider
	if t.ProviderID.Valid {
		if prov, err = providerByID(ctx, e.DB, t.CompanyID, t.ProviderID.Int64); err != nil {
			return "", err
		}
		gw, err := e.Gateways(prov)
		if err != nil {
			return "", err
		}
		if res, err = gw.Resolve(ctx, flowOf(t), in); err != nil {
			return "", errs.Wrap(errs.Invalid, err, "the provider's answer was not understood")
		}
	} else {
		res = FlowResult{Status: "finished"} // invoicePayment: nothing to ask a provider
	}
	if t.Purpose == PurposeInvoice && res.Status == "finished" {
		// The page checks again: an invoice paid or credited meanwhile is not charged.
		inv, err := Get(ctx, e.DB, t.CompanyID, t.InvoiceID.Int64)
		if err != nil {
			return "", err
		}
		if !inv.Payable() || inv.Balance() != t.Amount {
			res.Status = "failed"
		}
	}
	err = e.DB.Tx(ctx, func(tx *sql.Tx) error {
		status := res.Status
		if status == "initiated" {
			return execOne(ctx, tx, `UPDATE payment_transactions SET status = 'initiated' WHERE id = $1 AND status IN ('created', 'initiated')`, t.ID)
		}
		var meansID any
		if status == "finished" {
			switch {
			case t.Purpose == PurposeInvoice:
				if err := BookPayment(ctx, tx, e.DB.Dialect, t.CompanyID, t.InvoiceID.Int64, PaymentRecord{
					Key: "txn-" + strconv.FormatInt(t.ID, 10), Source: "flow", Amount: t.Amount, MethodCode: orderMethodCode(t.Method),
					ProviderID: prov.ID, ProviderRef: res.Ref}); err != nil {
					return err
				}
			case res.Means != nil:
				res.Means.MerchantID = prov.MerchantID
				id, err := e.StoreMeans(ctx, tx, t.CompanyID, t.CustomerNumber, t.ProductCode, prov.ID, res)
				if err != nil {
					return err
				}
				meansID = id
			case t.Purpose == PurposeChange && t.Method == MethodInvoice:
				if _, err := tx.ExecContext(ctx, `UPDATE payment_means SET status = 'removed', ended_at = $4
					WHERE company_id = $1 AND customer_number = $2 AND product_code = $3 AND status = 'valid'`,
					t.CompanyID, t.CustomerNumber, t.ProductCode, now.UnixMilli()); err != nil {
					return store.Translate(err)
				}
			}
		}
		return execOne(ctx, tx, `UPDATE payment_transactions SET status = $2, means_id = $3, finished_at = $4
			WHERE id = $1 AND status IN ('created', 'initiated')`, t.ID, status, meansID, now.UnixMilli())
	})
	if err != nil {
		return "", err
	}
	return res.Status, nil
}

// orderMethodCode is the invoice payment code of a one-off payment method.
func orderMethodCode(method string) string {
	switch method {
	case "vippsEcommerce":
		return "V"
	case "kco":
		return "L"
	}
	return "K" // creditcardPayex, swishPayex, nexi: paid through a card acquirer
}

// providerOfOrderMethod maps Pay invoice's paymentMethod to its provider.
var providerOfOrderMethod = map[string]string{
	"creditcardPayex": "payex", "swishPayex": "payex", "vippsEcommerce": "vipps", "nexi": "nexi", "kco": "klarna",
}

func flowReturn(base string, status string, idName string, id int64) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("status", status)
	q.Set(idName, fmt.Sprint(id))
	u.RawQuery = q.Encode()
	return u.String(), nil
}
