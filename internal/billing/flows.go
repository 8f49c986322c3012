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
	// PurposeOrder pays one order at the provider: the fulfillment page's
	// card and wallet orders whose payer has nothing stored to charge.
	PurposeOrder = "orderPayment"
)

// OrderFlowHook settles the order an orderPayment transaction pays, told the
// transaction's outcome (finished, cancelled, failed, initiated, unknown) and
// the provider's reference of the payment. Billing cannot import package
// order, so the wiring supplies it (Engine.OrderFlowFinished). It must be
// idempotent: the fulfillment page settles again when the browser returns.
type OrderFlowHook func(ctx context.Context, companyID, orderID int64, status, providerRef string) error

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
	OrderID        sql.NullInt64 // the order an orderPayment transaction pays
	Amount         int64
	Currency       string
	ProviderID     sql.NullInt64
	Method         string
	Ticket         string
	ReturnURL      string // set by the login-server page (OpenFlow)
	ErrorURL       string
	Status         string
	ProviderRef    string // the provider's reference of a finished one-off payment
	ExpiresAt      int64
}

// StartRequest starts a hosted flow.
type StartRequest struct {
	CompanyID      int64
	ClientID       string
	UserID         string
	CustomerNumber int64
	Purpose        string // a means kind, invoicePayment, paymentChange or orderPayment
	ProductCode    string
	InvoiceID      int64
	OrderID        int64 // orderPayment: the order paid
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
// same customer, product and purpose (of the same order, for orderPayment).
func (e *Engine) StartFlow(ctx context.Context, r StartRequest) (int64, error) {
	var id int64
	err := e.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = e.StartFlowTx(ctx, tx, r)
		return err
	})
	return id, err
}

// StartFlowTx is StartFlow inside the caller's transaction: the fulfillment
// page starts an orderPayment flow in the transaction that makes its order
// pending, so a second confirmation finds the first one's flow.
func (e *Engine) StartFlowTx(ctx context.Context, tx *sql.Tx, r StartRequest) (int64, error) {
	if r.Purpose == PurposeOrder && r.OrderID <= 0 {
		return 0, errs.E(errs.Internal, "an orderPayment flow needs its order")
	}
	now := subscription.Now(ctx).UnixMilli()
	older := `customer_number = $2 AND purpose = $3 AND product_code = $4`
	args := []any{r.CompanyID, r.CustomerNumber, r.Purpose, r.ProductCode, now}
	if r.Purpose == PurposeOrder {
		// One payer's orders are paid independently; only the same order's
		// earlier flow is superseded.
		older, args = `order_id = $2 AND purpose = $3`, []any{r.CompanyID, r.OrderID, r.Purpose, now}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payment_transactions SET status = 'cancelled', finished_at = $`+strconv.Itoa(len(args))+`
		WHERE company_id = $1 AND `+older+` AND status IN ('created', 'initiated')`, args...); err != nil {
		return 0, store.Translate(err)
	}
	for range 5 { // a clash of random ids is retried
		id := newFlowID()
		res, err := tx.ExecContext(ctx, `INSERT INTO payment_transactions (id, company_id, client_id, user_id, customer_number,
			purpose, product_code, invoice_id, order_id, amount, currency, provider_id, method, status, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'created', $14, $15) ON CONFLICT (id) DO NOTHING`,
			id, r.CompanyID, r.ClientID, r.UserID, r.CustomerNumber, r.Purpose, r.ProductCode, nullable(r.InvoiceID),
			nullable(r.OrderID), r.Amount, r.Currency, nullable(r.ProviderID), r.Method, now+flowTTL.Milliseconds(), now)
		if err != nil {
			return 0, store.Translate(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return id, nil
		}
	}
	return 0, errs.E(errs.Internal, "could not allocate a transaction id")
}

// Errors of a transaction that can no longer be used (README §12.2: single
// use, one hour). The pages tell them apart: a used one returns its recorded
// outcome, an expired one goes to errorUrl.
var (
	ErrFlowUsed    = errs.E(errs.Conflict, "the transaction was already used")
	ErrFlowExpired = errs.E(errs.Conflict, "the transaction has expired")
)

const flowColumns = `id, company_id, client_id, user_id, customer_number, purpose, product_code, invoice_id, order_id,
	amount, currency, provider_id, method, ticket, return_url, error_url, status, provider_ref, expires_at`

// readFlow reads a transaction by id; with userID, only if that user
// (uniqueId) started it: another user's transaction is NotFound, as if missing.
func (e *Engine) readFlow(ctx context.Context, q store.Queryer, id int64, userID string) (*Transaction, error) {
	query := `SELECT ` + flowColumns + ` FROM payment_transactions WHERE id = $1`
	args := []any{id}
	if userID != "" {
		query += ` AND user_id = $2`
		args = append(args, userID)
	}
	return scanFlow(q.QueryRowContext(ctx, query, args...))
}

func scanFlow(row interface{ Scan(...any) error }) (*Transaction, error) {
	var t Transaction
	err := row.Scan(&t.ID, &t.CompanyID, &t.ClientID, &t.UserID, &t.CustomerNumber, &t.Purpose, &t.ProductCode, &t.InvoiceID,
		&t.OrderID, &t.Amount, &t.Currency, &t.ProviderID, &t.Method, &t.Ticket, &t.ReturnURL, &t.ErrorURL, &t.Status,
		&t.ProviderRef, &t.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "unknown transaction")
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	return &t, nil
}

// GetFlow reads a transaction by id, whoever started it: for the provider's
// side (callbacks, reconciliation). Browser pages use UserFlow.
func (e *Engine) GetFlow(ctx context.Context, id int64) (*Transaction, error) {
	return e.readFlow(ctx, e.DB, id, "")
}

// UserFlow reads a transaction of the user with that uniqueId; another
// user's transaction answers NotFound exactly like an unknown id.
func (e *Engine) UserFlow(ctx context.Context, id int64, userID string) (*Transaction, error) {
	if userID == "" {
		return nil, errs.E(errs.NotFound, "unknown transaction")
	}
	return e.readFlow(ctx, e.DB, id, userID)
}

// LatestOrderFlow reads the newest orderPayment transaction of an order,
// read through q (the fulfillment's transaction); NotFound when it has none.
func (e *Engine) LatestOrderFlow(ctx context.Context, q store.Queryer, companyID, orderID int64) (*Transaction, error) {
	return scanFlow(q.QueryRowContext(ctx, `SELECT `+flowColumns+` FROM payment_transactions
		WHERE company_id = $1 AND order_id = $2 AND purpose = $3 ORDER BY created_at DESC, id DESC LIMIT 1`,
		companyID, orderID, PurposeOrder))
}

// Open reports whether the transaction can still be used (not finished,
// cancelled or failed). It may have expired: see Expired.
func (t *Transaction) Open() bool { return t.Status == "created" || t.Status == "initiated" }

// Expired reports whether the transaction's hour has passed at business time.
func (t *Transaction) Expired(ctx context.Context) bool {
	return subscription.Now(ctx).UnixMilli() > t.ExpiresAt
}

// usable is nil when the transaction may still be begun or finished.
func (t *Transaction) usable(ctx context.Context) error {
	if !t.Open() {
		return ErrFlowUsed
	}
	if t.Expired(ctx) {
		return ErrFlowExpired
	}
	return nil
}

// FlowProvider is the provider a transaction goes through; nil for a change
// to invoicePayment, which needs none.
func (e *Engine) FlowProvider(ctx context.Context, t *Transaction) (*Provider, error) {
	if !t.ProviderID.Valid {
		return nil, nil
	}
	return providerByID(ctx, e.DB, t.CompanyID, t.ProviderID.Int64)
}

// flowFor is the gateway's view of a transaction through provider p. An
// orderPayment flow of a recurring card or wallet order also asks the
// provider for a token or agreement (MeansKind), which becomes the payer's
// means of the order's subscription products (returned) when the payment
// finishes, so the renewals charge it instead of falling back to invoice.
func (e *Engine) flowFor(ctx context.Context, t *Transaction, p *Provider) (Flow, []string, error) {
	f := flowOf(t)
	if t.Purpose != PurposeOrder || !t.OrderID.Valid || !recurringOrderMethods[t.Method] || kindOfProvider[p.Kind] == "" ||
		e.OrderMeansProducts == nil {
		return f, nil, nil
	}
	products, err := e.OrderMeansProducts(ctx, e.DB, t.CompanyID, t.OrderID.Int64, t.CustomerNumber)
	if err != nil || len(products) == 0 {
		return f, nil, err
	}
	f.MeansKind = kindOfProvider[p.Kind]
	return f, products, nil
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
	if err := t.usable(ctx); err != nil {
		return "", err
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
	f, _, err := e.flowFor(ctx, t, p)
	if err != nil {
		return "", err
	}
	if _, err := e.DB.ExecContext(ctx, `UPDATE payment_transactions SET status = 'initiated' WHERE id = $1 AND status = 'created'`, t.ID); err != nil {
		return "", store.Translate(err)
	}
	return gw.Begin(ctx, f)
}

// OpenFlow is the login-server page's first step: it records where the
// browser returns (returnUrl, errorUrl; ticket for a change) and begins the
// flow. It returns the provider page to send the browser to, or "" for a
// change to invoicePayment (the page itself confirms). An invoice that is no
// longer payable, or whose balance changed, ends the flow failed without
// calling the provider: final is then "failed".
func (e *Engine) OpenFlow(ctx context.Context, t *Transaction, returnURL, errorURL, ticket string) (next, final string, err error) {
	if err := t.usable(ctx); err != nil {
		return "", "", err
	}
	if t.Purpose == PurposeInvoice {
		inv, err := Get(ctx, e.DB, t.CompanyID, t.InvoiceID.Int64)
		if err != nil {
			return "", "", err
		}
		if !inv.Payable() || inv.Balance() != t.Amount {
			res, err := e.DB.ExecContext(ctx, `UPDATE payment_transactions SET status = 'failed', return_url = $2, error_url = $3,
				finished_at = $4 WHERE id = $1 AND status IN ('created', 'initiated')`, t.ID, returnURL, errorURL, subscription.Now(ctx).UnixMilli())
			if err != nil {
				return "", "", store.Translate(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return "", "", ErrFlowUsed
			}
			t.Status, t.ReturnURL, t.ErrorURL = "failed", returnURL, errorURL
			return "", "failed", nil
		}
	}
	res, err := e.DB.ExecContext(ctx, `UPDATE payment_transactions SET return_url = $2, error_url = $3, ticket = $4
		WHERE id = $1 AND status IN ('created', 'initiated')`, t.ID, returnURL, errorURL, ticket)
	if err != nil {
		return "", "", store.Translate(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", "", ErrFlowUsed
	}
	t.ReturnURL, t.ErrorURL, t.Ticket = returnURL, errorURL, ticket
	next, err = e.BeginFlow(ctx, t)
	return next, "", err
}

// FinishFlow resolves a transaction with the provider's answer and applies
// it: stored means for Add flows and changes, a booked payment for invoice
// payments (the transactionId is the charge's idempotency key). It returns the
// outcome status for the browser's returnUrl. It does not check who asks:
// the pages use FinishUserFlow.
func (e *Engine) FinishFlow(ctx context.Context, id int64, in url.Values) (string, error) {
	return e.finish(ctx, id, "", in)
}

// FinishUserFlow is FinishFlow for the user (uniqueId) who started the
// transaction; anyone else's gets NotFound. A transaction finishes once: a
// second call (a double submit) gets ErrFlowUsed and changes nothing.
func (e *Engine) FinishUserFlow(ctx context.Context, id int64, userID string, in url.Values) (string, error) {
	if userID == "" {
		return "", errs.E(errs.NotFound, "unknown transaction")
	}
	return e.finish(ctx, id, userID, in)
}

func (e *Engine) finish(ctx context.Context, id int64, userID string, in url.Values) (string, error) {
	t, err := e.readFlow(ctx, e.DB, id, userID)
	if err != nil {
		return "", err
	}
	if err := t.usable(ctx); err != nil {
		return "", err
	}
	now := subscription.Now(ctx)
	var res FlowResult
	var prov *Provider
	var meansProducts []string // an orderPayment flow's products that keep its token
	if t.ProviderID.Valid {
		if prov, err = providerByID(ctx, e.DB, t.CompanyID, t.ProviderID.Int64); err != nil {
			return "", err
		}
		gw, err := e.Gateways(prov)
		if err != nil {
			return "", err
		}
		f, products, err := e.flowFor(ctx, t, prov)
		if err != nil {
			return "", err
		}
		meansProducts = products
		if res, err = gw.Resolve(ctx, f, in); err != nil {
			return "", errs.Wrap(errs.Invalid, err, "the provider's answer was not understood")
		}
	} else {
		// A change to invoicePayment: nothing to ask a provider; the page's
		// form confirms or cancels.
		res = FlowResult{Status: "finished"}
		if in.Get("outcome") == "cancel" {
			res.Status = "cancelled"
		}
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
		// Claim the transaction first: its row lock makes a concurrent twin
		// (a double submit) wait here and then find it used.
		claim, err := tx.ExecContext(ctx, `UPDATE payment_transactions SET status = status WHERE id = $1 AND status IN ('created', 'initiated')`, t.ID)
		if err != nil {
			return store.Translate(err)
		}
		if n, _ := claim.RowsAffected(); n != 1 {
			return ErrFlowUsed
		}
		status := res.Status
		if status == "initiated" {
			_, err := tx.ExecContext(ctx, `UPDATE payment_transactions SET status = 'initiated' WHERE id = $1`, t.ID)
			return store.Translate(err)
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
			case t.Purpose == PurposeOrder:
				if res.Means == nil || len(meansProducts) == 0 {
					break
				}
				// A recurring order paid at the provider keeps the token the
				// payment created, as its ticket would (KeepOrderMeans).
				res.Means.Kind, res.Means.MerchantID = kindOfProvider[prov.Kind], prov.MerchantID
				for _, product := range meansProducts {
					id, err := e.StoreMeans(ctx, tx, t.CompanyID, t.CustomerNumber, product, prov.ID, res)
					if err != nil {
						return err
					}
					meansID = id
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
		return execOne(ctx, tx, `UPDATE payment_transactions SET status = $2, means_id = $3, finished_at = $4, provider_ref = $5
			WHERE id = $1 AND status IN ('created', 'initiated')`, t.ID, status, meansID, now.UnixMilli(), res.Ref)
	})
	if err != nil {
		return "", err
	}
	if t.Purpose == PurposeOrder && t.OrderID.Valid && e.OrderFlowFinished != nil {
		// After the commit: the order's own transaction locks the order, and
		// the outcome is already recorded, so the fulfillment page can settle
		// the order again if this fails. A browser that goes away meanwhile
		// does not stop it.
		if err := e.OrderFlowFinished(context.WithoutCancel(ctx), t.CompanyID, t.OrderID.Int64, res.Status, res.Ref); err != nil {
			e.log().ErrorContext(ctx, "orderPayment: settling the order failed", "transactionId", t.ID, "orderId", t.OrderID.Int64, "err", err)
		}
	}
	return res.Status, nil
}

// IDParam is the name the browser's return URL gives the transaction id:
// paymentChangeId for a change of payment method, else transactionId.
func (t *Transaction) IDParam() string {
	if t.Purpose == PurposeChange {
		return "paymentChangeId"
	}
	return "transactionId"
}

// ReturnTo is the client's returnUrl with the outcome and the id appended
// (README §12.2: returnUrl?status=<status>&transactionId=<id>).
func (t *Transaction) ReturnTo(returnURL, status string) (string, error) {
	return flowReturn(returnURL, status, t.IDParam(), t.ID)
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
