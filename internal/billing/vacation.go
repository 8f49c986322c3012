package billing

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// StopCredit is a vacation stop's credit (vacationStopPolicy credit) as the
// stop recorded it: its stopped paid days and their pro-rata price. An
// invoice of the subscription issued with it carries what is left of it as
// a negative line (spec payment.md), at most down to zero; the rest waits
// for the next invoice. Billing counts the use in vacation_credits, in the
// issuing transaction, so a credit is never used twice.
type StopCredit struct {
	StopID   int64
	FirstDay string // 2006-01-02
	LastDay  string
	Days     int
	Amount   int64 // minor units, the whole credit
}

// creditUse is what one invoice takes of one stop's credit.
type creditUse struct {
	stopID int64
	amount int64
	seen   int64 // applied before this use: the update's guard
}

// creditState is a stop's credit as billing counts it.
type creditState struct{ amount, applied int64 }

// availableCredits records the stops' credits of a batch the first time
// billing sees them and returns, by stop id, how much of each is used.
func availableCredits(ctx context.Context, tx *sql.Tx, companyID int64, list []NewInvoice, now int64) (map[int64]*creditState, error) {
	var b strings.Builder
	var args []any
	seen := map[int64]bool{} // a row twice in one upsert is an error on PostgreSQL
	for _, n := range list {
		for _, c := range n.Credits {
			if c.Amount <= 0 || seen[c.StopID] {
				continue
			}
			seen[c.StopID] = true
			if len(args) > 0 {
				b.WriteString(", ")
			}
			p := len(args)
			fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, 0, $%d, $%d)", p+1, p+2, p+3, p+4, p+5, p+5)
			args = append(args, c.StopID, companyID, n.SubscriptionID, c.Amount, now)
		}
	}
	if len(args) == 0 {
		return nil, nil
	}
	// The upsert's update takes the row locks (PostgreSQL), so a concurrent
	// issue of the same subscription, which the claim already keeps apart,
	// would wait here and read the amount used after it.
	rows, err := tx.QueryContext(ctx, `INSERT INTO vacation_credits (stop_id, company_id, subscription_id, amount, applied, created_at,
		updated_at) VALUES `+b.String()+` ON CONFLICT (stop_id) DO UPDATE SET updated_at = vacation_credits.updated_at
		RETURNING stop_id, amount, applied`, args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := map[int64]*creditState{}
	for rows.Next() {
		var id int64
		var c creditState
		if err := rows.Scan(&id, &c.amount, &c.applied); err != nil {
			return nil, err
		}
		out[id] = &c
	}
	return out, rows.Err()
}

// applyCredits adds to n the negative lines of what is left of its
// subscription's credits, oldest stop first, never taking the invoice
// below zero. The states are updated as if the invoice were issued; the
// uses are recorded only once it is (recordCreditUses).
func applyCredits(n *NewInvoice, credits map[int64]*creditState) []creditUse {
	var total, vat int64
	for _, l := range n.Lines {
		total += l.Amount
	}
	if len(n.Lines) > 0 {
		vat = n.Lines[0].VatPercent
	}
	var uses []creditUse
	for _, c := range n.Credits {
		st, ok := credits[c.StopID]
		if !ok {
			continue
		}
		rest := st.amount - st.applied
		use := min(rest, total)
		if use <= 0 {
			continue
		}
		explanation := fmt.Sprintf("%d days (%s to %s) credited: vacation stop", c.Days, c.FirstDay, c.LastDay)
		if use < st.amount {
			explanation += fmt.Sprintf(", %s of %s", AmountText(use), AmountText(st.amount))
			if use < rest {
				explanation += ", the rest on the next invoice"
			}
		}
		n.Lines = append(slices.Clip(n.Lines), Line{ProductCode: n.ProductCode, Description: "Vacation stop credit", FromDate: c.FirstDay,
			InclDate: c.LastDay, Amount: -use, VatPercent: vat, Explanation: explanation})
		uses = append(uses, creditUse{stopID: c.StopID, amount: use, seen: st.applied})
		st.applied += use
		total -= use
	}
	return uses
}

// recordCreditUses counts an issued invoice's uses of the credits. The
// update is conditioned on the amount used before, so a use that another
// transaction got in first fails the issue instead of crediting twice.
func recordCreditUses(ctx context.Context, tx *sql.Tx, companyID, invoiceID int64, uses []creditUse, now int64) error {
	for _, u := range uses {
		res, err := tx.ExecContext(ctx, `UPDATE vacation_credits SET applied = applied + $3, updated_at = $4
			WHERE stop_id = $1 AND applied = $2 AND applied + $3 <= amount`, u.stopID, u.seen, u.amount, now)
		if err != nil {
			return store.Translate(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.E(errs.Conflict, "vacation credit of stop %d used concurrently", u.stopID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vacation_credit_uses (stop_id, invoice_id, company_id, amount, created_at)
			VALUES ($1, $2, $3, $4, $5)`, u.stopID, invoiceID, companyID, u.amount, now); err != nil {
			return store.Translate(err)
		}
	}
	return nil
}

// settledInvoice is an issued invoice of amount zero.
type settledInvoice struct {
	id, subscriptionID int64
	period             int
}

// settleEmpty marks issued invoices of amount zero (a credit covered the
// whole period) paid on their invoice date: there is nothing to pay, so
// they must never go overdue, be charged or suspend the subscription. The
// period counts as paid like any paid invoice's: at once when it is the
// current one (a start invoice), else when the renewal reaches it.
func settleEmpty(ctx context.Context, tx *sql.Tx, companyID int64, list []settledInvoice) error {
	for _, inv := range list {
		if _, err := tx.ExecContext(ctx, `UPDATE invoices SET status = 'paid', payment_date = invoice_date
			WHERE company_id = $1 AND id = $2 AND amount = 0`, companyID, inv.id); err != nil {
			return store.Translate(err)
		}
		if inv.subscriptionID != 0 {
			if err := subscription.MarkPeriodPaid(ctx, tx, companyID, inv.subscriptionID, inv.period); err != nil {
				return err
			}
		}
	}
	return nil
}
