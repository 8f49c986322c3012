package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// Engine holds what billing needs at run time: the database, the sealer of
// stored references and the gateways. Handlers and jobs share one.
type Engine struct {
	DB       *store.DB
	Sealer   *Sealer
	Gateways Gateways
	Log      *slog.Logger
	// OrderFlowFinished settles orders paid by orderPayment flows (flows.go).
	OrderFlowFinished OrderFlowHook
	// OrderMeansProducts lists the products whose renewals keep the means a
	// recurring order is paid with (package order's rule); nil: none.
	OrderMeansProducts func(ctx context.Context, q store.Queryer, companyID, orderID, payer int64) ([]string, error)
}

func (e *Engine) log() *slog.Logger {
	if e.Log == nil {
		return slog.Default()
	}
	return e.Log
}

// chargeKey is the idempotency key of one charge attempt of an invoice: the
// same attempt always carries the same key, so repeating it after a crash or
// a timeout cannot charge twice; a retry after a decline is a new attempt.
func chargeKey(companyID, invoiceNumber int64, attempt int) string {
	return fmt.Sprintf("inv-%d-%d-a%d", companyID, invoiceNumber, attempt)
}

// ChargeResultOf summarises what ChargeInvoice did.
type ChargeResultOf string

const (
	ChargedOK      ChargeResultOf = "paid"
	ChargeDeclined ChargeResultOf = "declined"
	ChargeUnknown  ChargeResultOf = "unknown"
	ChargeSkipped  ChargeResultOf = "skipped" // not due, or another run has it
)

// ChargeInvoice runs the due charge of one invoice paid by stored means:
//  1. in one transaction it claims the attempt (charge_state charging, a
//     pending payment row with the attempt's key);
//  2. it asks the gateway (a charge that was sent before is first looked
//     up, never blindly repeated);
//  3. in a second transaction it records the outcome: paid; declined (retry
//     later, or hand the invoice to the payer when retries are used up); or
//     unknown (reconciled on the next run).
//
// On PostgreSQL steps 2 and 3 share the second transaction, which holds the
// invoice row while the gateway answers, so two nodes never ask about one
// attempt at once. A crash between the steps leaves the invoice "charging"
// or "reconcile" and the next run finishes it with the same key.
func (e *Engine) ChargeInvoice(ctx context.Context, companyID, invoiceID int64) (ChargeResultOf, error) {
	now := subscription.Now(ctx)
	var (
		inv       *Invoice
		key       string
		attempt   int
		reconcile bool
		means     Means
		prov      *Provider
		fallback  bool
	)
	err := e.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		inv, err = getForUpdate(ctx, tx, e.DB.Dialect, companyID, invoiceID)
		if err != nil {
			return err
		}
		switch inv.ChargeState {
		case ChargeScheduled, ChargeRetry:
			if !inv.NextChargeAt.Valid || inv.NextChargeAt.Int64 > now.UnixMilli() || !inv.Payable() {
				inv = nil
				return nil
			}
			attempt = inv.ChargeAttempts + 1
		case ChargeCharging, ChargeReconcile:
			attempt, reconcile = inv.ChargeAttempts, true
		default:
			inv = nil
			return nil
		}
		key = chargeKey(companyID, inv.Number, attempt)
		means, prov, err = e.meansForCharge(ctx, tx, inv)
		if errs.Is(err, errs.NotFound) && !reconcile {
			fallback = true
			return e.toPayer(ctx, tx, inv, "no valid payment means")
		}
		if err != nil {
			return err
		}
		if reconcile {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments (company_id, invoice_id, idempotency_key, source, amount, currency,
			method_code, provider_id, status, attempt, created_at, updated_at)
			VALUES ($1, $2, $3, 'charge', $4, $5, $6, $7, 'pending', $8, $9, $9) ON CONFLICT DO NOTHING`,
			companyID, inv.ID, key, inv.Balance(), inv.Currency, inv.MethodCode, prov.ID, attempt, now.UnixMilli()); err != nil {
			return store.Translate(err)
		}
		return execOne(ctx, tx, `UPDATE invoices SET charge_state = 'charging', charge_attempts = $3, updated_at = $4
			WHERE id = $1 AND charge_state = $2`, inv.ID, inv.ChargeState, attempt, now.UnixMilli())
	})
	if err != nil {
		return "", err
	}
	if inv == nil {
		return ChargeSkipped, nil
	}
	if fallback {
		return ChargeDeclined, nil
	}
	gw, err := e.Gateways(prov)
	if err != nil {
		return "", err
	}
	ask := func(q store.Queryer) (int64, ChargeResult, error) {
		var amount int64
		if err := q.QueryRowContext(ctx, `SELECT amount FROM payments WHERE company_id = $1 AND idempotency_key = $2`, companyID, key).Scan(&amount); err != nil {
			return 0, ChargeResult{}, store.Translate(err)
		}
		var res ChargeResult
		var err error
		if reconcile {
			res, err = gw.Lookup(ctx, key)
			if err == nil && res.Outcome == NotFound {
				// The gateway never saw it: sending it now with the same key is the first charge.
				res, err = gw.Charge(ctx, ChargeRequest{Key: key, Amount: amount, Currency: inv.Currency, Means: means})
			}
		} else {
			res, err = gw.Charge(ctx, ChargeRequest{Key: key, Amount: amount, Currency: inv.Currency, Means: means})
		}
		if err != nil {
			// Never logged with the reference: only the key, which names the invoice.
			e.log().Warn("payment charge outcome unknown", "key", key, "err", err)
			res = ChargeResult{Outcome: Unknown}
		}
		return amount, res, nil
	}
	// ours reports whether cur still waits for this attempt's outcome.
	ours := func(cur *Invoice) bool {
		return cur.ChargeAttempts == attempt && (cur.ChargeState == ChargeCharging || cur.ChargeState == ChargeReconcile)
	}
	var out ChargeResultOf
	record := func(tx *sql.Tx, cur *Invoice, amount int64, res ChargeResult) error {
		switch res.Outcome {
		case Succeeded:
			out = ChargedOK
			return BookPayment(ctx, tx, e.DB.Dialect, companyID, invoiceID, PaymentRecord{Key: key, Source: "charge", Amount: amount,
				MethodCode: cur.MethodCode, ProviderID: prov.ID, ProviderRef: res.ProviderRef, Attempt: attempt})
		case Declined:
			out = ChargeDeclined
			return e.recordDecline(ctx, tx, cur, key, res.Reason)
		default:
			out = ChargeUnknown
			if _, err := tx.ExecContext(ctx, `UPDATE payments SET status = 'unknown', updated_at = $3 WHERE company_id = $1 AND idempotency_key = $2`,
				companyID, key, now.UnixMilli()); err != nil {
				return store.Translate(err)
			}
			return execOne(ctx, tx, `UPDATE invoices SET charge_state = 'reconcile', updated_at = $2 WHERE id = $1`, invoiceID, now.UnixMilli())
		}
	}
	if e.DB.Dialect == store.Postgres {
		// The gateway is asked inside the transaction that records the
		// outcome, holding the invoice row: another node that finds the
		// attempt "charging" meanwhile skips it instead of taking it for a
		// crashed one and asking again. A crash releases the row with its
		// connection, and the next run reconciles.
		err = e.DB.Tx(ctx, func(tx *sql.Tx) error {
			cur, err := scanInvoice(tx.QueryRowContext(ctx, `SELECT `+invoiceColumns+` FROM invoices
				WHERE company_id = $1 AND id = $2 FOR UPDATE SKIP LOCKED`, companyID, invoiceID))
			if errors.Is(err, sql.ErrNoRows) {
				out = ChargeSkipped // another node is asking the gateway right now
				return nil
			}
			if err != nil {
				return store.Translate(err)
			}
			if !ours(cur) {
				out = ChargeSkipped // another run recorded this attempt first
				return nil
			}
			amount, res, err := ask(tx)
			if err != nil {
				return err
			}
			return record(tx, cur, amount, res)
		})
		return out, err
	}
	// SQLite has one writer: a transaction open while the gateway answers
	// would hold up every other write (the simulated gateway's too), so the
	// gateway is asked between the two transactions. SQLite means one node,
	// so a set of the keys being asked in this process stands in for the
	// row lock.
	if _, busy := askingSQLite.LoadOrStore(key, true); busy {
		return ChargeSkipped, nil
	}
	defer askingSQLite.Delete(key)
	if cur, err := Get(ctx, e.DB, companyID, invoiceID); err != nil {
		return "", err
	} else if !ours(cur) {
		return ChargeSkipped, nil // another run asked and recorded it since the claim
	}
	amount, res, err := ask(e.DB)
	if err != nil {
		return "", err
	}
	err = e.DB.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := getForUpdate(ctx, tx, e.DB.Dialect, companyID, invoiceID)
		if err != nil {
			return err
		}
		if !ours(cur) {
			out = ChargeSkipped // another run recorded this attempt first
			return nil
		}
		return record(tx, cur, amount, res)
	})
	return out, err
}

// askingSQLite holds the charge keys whose outcome a run of this process is
// asking and recording (SQLite only; see ChargeInvoice).
var askingSQLite sync.Map

// recordDecline books a declined attempt: a payment/failed event, then a
// retry on the company's schedule, or the invoice goes to the payer.
func (e *Engine) recordDecline(ctx context.Context, tx *sql.Tx, inv *Invoice, key, reason string) error {
	now := subscription.Now(ctx)
	if _, err := tx.ExecContext(ctx, `UPDATE payments SET status = 'declined', updated_at = $3 WHERE company_id = $1 AND idempotency_key = $2`,
		inv.CompanyID, key, now.UnixMilli()); err != nil {
		return store.Translate(err)
	}
	ci, err := loadCompany(ctx, tx, inv.CompanyID)
	if err != nil {
		return err
	}
	if _, err := event.Record(ctx, tx, event.Event{CompanyID: inv.CompanyID, Source: ci.code, Type: "payment", Status: "failed",
		Data: map[string]any{"invoiceNumber": fmt.Sprint(inv.Number), "customerNumber": inv.CustomerNumber,
			"productCode": inv.ProductCode, "attempt": inv.ChargeAttempts, "reason": reason}, Time: now}); err != nil {
		return err
	}
	retries := ci.settings.ChargeRetryDays
	if inv.ChargeAttempts <= len(retries) {
		// Retries count from the planned charge day: after 1 and 3 days by default.
		first, err := time.ParseInLocation(dateLayout, inv.PlannedPaymentDate, ci.loc)
		if err != nil {
			return err
		}
		next := first.AddDate(0, 0, retries[inv.ChargeAttempts-1])
		return execOne(ctx, tx, `UPDATE invoices SET charge_state = 'retry', next_charge_at = $2, updated_at = $3 WHERE id = $1`,
			inv.ID, next.UnixMilli(), now.UnixMilli())
	}
	return e.toPayer(ctx, tx, inv, "charge declined")
}

// toPayer ends charging of an invoice: it stays open and goes to the payer
// like any other invoice, due paymentTermDays from today.
func (e *Engine) toPayer(ctx context.Context, tx *sql.Tx, inv *Invoice, why string) error {
	now := subscription.Now(ctx)
	ci, err := loadCompany(ctx, tx, inv.CompanyID)
	if err != nil {
		return err
	}
	due := now.In(ci.loc).AddDate(0, 0, ci.settings.PaymentTermDays).Format(dateLayout)
	if due < inv.DueDate {
		due = inv.DueDate
	}
	_, err = tx.ExecContext(ctx, `UPDATE invoices SET charge_state = 'failed', next_charge_at = NULL, method_code = 'A',
		due_date = $2, planned_payment_date = $2, updated_at = $3 WHERE id = $1`, inv.ID, due, now.UnixMilli())
	if err != nil {
		return store.Translate(err)
	}
	e.log().Info("invoice charge handed to payer", "invoice", inv.Number, "company", inv.CompanyID, "why", why)
	return nil
}

// meansForCharge returns the decrypted means an invoice is charged with: the
// one it was issued with while valid, else the customer's current valid
// means for the product (a replaced card). NotFound when there is none.
func (e *Engine) meansForCharge(ctx context.Context, q store.Queryer, inv *Invoice) (Means, *Provider, error) {
	m, err := e.loadMeans(ctx, q, inv.CompanyID, `customer_number = $2 AND product_code = $3 AND status = 'valid'`, inv.CustomerNumber, inv.ProductCode)
	if err != nil {
		return Means{}, nil, err
	}
	p, err := providerByID(ctx, q, inv.CompanyID, m.ProviderID)
	if err != nil {
		return Means{}, nil, err
	}
	ref, err := e.Sealer.Open(m.sealed, bindOf(inv.CompanyID, m.CustomerNumber))
	if err != nil {
		return Means{}, nil, err
	}
	return Means{Kind: m.Kind, Reference: ref, ProviderID: m.ProviderID, MerchantID: p.MerchantID}, p, nil
}

// execOne runs an update that must change exactly one row; otherwise another
// run changed the row first (Conflict, which the runs treat as "skip").
func execOne(ctx context.Context, tx *sql.Tx, q string, args ...any) error {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return store.Translate(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.Conflict, "changed concurrently")
	}
	return nil
}

var errNoMeans = errors.New("no means")
