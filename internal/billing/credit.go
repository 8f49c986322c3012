package billing

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// Credit notes: invoices are never deleted or changed in amount; a
// correction is a credit note (kind credit) with negative lines that lowers
// the invoice's balance. When it clears the unpaid rest the invoice is
// credited (or cancelled, for a lapsed renewal offer).

// creditLines issues a credit note for inv with the given (positive)
// amounts per line, explained per line, inside tx. final is the invoice's
// status when the unpaid rest is cleared (credited or cancelled).
func creditLines(ctx context.Context, tx *sql.Tx, inv *Invoice, lines []Line, final string) (int64, error) {
	ci, err := loadCompany(ctx, tx, inv.CompanyID)
	if err != nil {
		return 0, err
	}
	now := subscription.Now(ctx)
	var total, vat int64
	for i := range lines {
		lines[i].Amount = -lines[i].Amount
		total += lines[i].Amount
		vat += vatOf(lines[i].Amount, lines[i].VatPercent)
	}
	if total == 0 {
		return 0, nil
	}
	number, err := reserveInvoiceNumbers(ctx, tx, inv.CompanyID, 1)
	if err != nil {
		return 0, err
	}
	today := now.In(ci.loc).Format(dateLayout)
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO invoices (company_id, invoice_number, kind, credits_invoice_id, customer_number,
		subscription_id, order_id, period_no, product_code, product_name, invoice_date, due_date, from_date, incl_date, period,
		period_unit, currency, amount, vat_amount, status, method_code, product_method, payment_reference, view_token,
		planned_payment_date, payer_name, payer_address, created_at, updated_at)
		VALUES ($1, $2, 'credit', $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15, $16, $17, 'credited', $18, $19, $20, $21,
		$10, $22, $23, $24, $24) RETURNING id`,
		inv.CompanyID, number, inv.ID, inv.CustomerNumber, inv.SubscriptionID, inv.OrderID, inv.PeriodNo, inv.ProductCode,
		inv.ProductName, today, inv.FromDate, inv.InclDate, inv.Period, inv.PeriodUnit, inv.Currency, total, vat, inv.MethodCode,
		inv.ProductMethod, KID(number, ci.settings.KidLength, ci.settings.KidCheck), newViewToken(), inv.PayerName, inv.PayerAddress,
		now.UnixMilli()).Scan(&id)
	if err != nil {
		return 0, store.Translate(err)
	}
	if err := insertLines(ctx, tx, inv.CompanyID, id, lines); err != nil {
		return 0, err
	}
	inv.CreditedAmount -= total
	status := inv.Status
	if inv.Balance() <= 0 && status != StatusPaid {
		status = final
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invoices SET credited_amount = $2, status = $3,
		charge_state = CASE WHEN $3 IN ('credited', 'cancelled') AND charge_state <> 'none' THEN 'done' ELSE charge_state END,
		next_charge_at = CASE WHEN $3 IN ('credited', 'cancelled') THEN NULL ELSE next_charge_at END,
		updated_at = $4 WHERE id = $1`, inv.ID, inv.CreditedAmount, status, now.UnixMilli()); err != nil {
		return 0, store.Translate(err)
	}
	inv.Status = status
	if _, err := event.Record(ctx, tx, event.Event{CompanyID: inv.CompanyID, Source: ci.code, Type: "invoice", Status: "credited",
		Data: map[string]any{"invoiceNumber": fmt.Sprint(inv.Number), "creditNoteNumber": fmt.Sprint(number),
			"customerNumber": inv.CustomerNumber, "productCode": inv.ProductCode, "amount": moneyFloat(-total),
			"invoiceStatus": apiStatus(status)}, Time: now}); err != nil {
		return 0, err
	}
	return number, nil
}

// CreditFrom credits the part of an invoice's period from the date
// firstUnused (inclusive, YYYY-MM-DD) to the period's end, prorated by days
// per line, for a cancellation or downgrade. Each credit line explains its
// computation. It returns the credit note's number (0 when nothing is due).
func CreditFrom(ctx context.Context, tx *sql.Tx, d store.Dialect, companyID, invoiceID int64, firstUnused, reason string) (int64, error) {
	inv, err := getForUpdate(ctx, tx, d, companyID, invoiceID)
	if err != nil {
		return 0, err
	}
	if inv.Kind != "invoice" || inv.Status == StatusCredited || inv.Status == StatusCancelled {
		return 0, errs.E(errs.Conflict, "invoice %d cannot be credited", inv.Number)
	}
	if _, err := time.Parse(dateLayout, firstUnused); err != nil {
		return 0, errs.Field("firstUnused", "must be a date YYYY-MM-DD")
	}
	rows, err := tx.QueryContext(ctx, `SELECT product_code, description, from_date, incl_date, amount, vat_percent
		FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no`, inv.ID)
	if err != nil {
		return 0, store.Translate(err)
	}
	var credit []Line
	for rows.Next() {
		var l Line
		if err := rows.Scan(&l.ProductCode, &l.Description, &l.FromDate, &l.InclDate, &l.Amount, &l.VatPercent); err != nil {
			rows.Close()
			return 0, err
		}
		from, incl := l.FromDate, l.InclDate
		if from == "" || incl == "" || l.Amount <= 0 || firstUnused > incl {
			continue
		}
		start := max(firstUnused, from)
		total := days(from, incl)
		unused := days(start, incl)
		amount := prorate(l.Amount, unused, total)
		l.Amount = amount
		l.FromDate = start
		l.Explanation = fmt.Sprintf("%d of %d days (%s to %s) credited: %s", unused, total, start, incl, reason)
		credit = append(credit, l)
	}
	rows.Close()
	return creditLines(ctx, tx, inv, credit, StatusCredited)
}

// CreditRest credits an invoice's whole unpaid rest (a lapsed renewal offer:
// final = cancelled; a written-off claim: credited).
func CreditRest(ctx context.Context, tx *sql.Tx, d store.Dialect, companyID, invoiceID int64, final, reason string) (int64, error) {
	inv, err := getForUpdate(ctx, tx, d, companyID, invoiceID)
	if err != nil {
		return 0, err
	}
	if !inv.Payable() {
		return 0, nil
	}
	return creditLines(ctx, tx, inv, []Line{{ProductCode: inv.ProductCode, Description: inv.ProductName,
		FromDate: inv.FromDate, InclDate: inv.InclDate, Amount: inv.Balance(), Explanation: reason}}, final)
}

// days counts calendar days from a to b inclusive (dates YYYY-MM-DD).
func days(a, b string) int64 {
	ta, _ := time.Parse(dateLayout, a)
	tb, _ := time.Parse(dateLayout, b)
	return int64(tb.Sub(ta).Hours()/24) + 1
}

// prorate is amount × part / whole, rounded half away from zero.
func prorate(amount, part, whole int64) int64 {
	if whole <= 0 {
		return 0
	}
	return (2*amount*part + whole) / (2 * whole)
}
