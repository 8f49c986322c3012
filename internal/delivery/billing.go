package delivery

// What stops and Start subscription need from billing: credits for stopped
// paid days, cancelling an invoice of a period that will not come, and the
// first invoice of a subscription started on invoice (allowInvoiceStart).
// Billing owns invoices; this file only calls its functions.

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// periodInvoice returns the id and status of the invoice of period n of the
// subscription; ok is false when there is none.
func periodInvoice(ctx context.Context, tx *sql.Tx, companyID, subscriptionID int64, n int) (id int64, status string, ok bool, err error) {
	err = tx.QueryRowContext(ctx, `SELECT id, status FROM invoices WHERE company_id = $1 AND subscription_id = $2
		AND kind = 'invoice' AND period_no = $3`, companyID, subscriptionID, n).Scan(&id, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	return id, status, err == nil, store.Translate(err)
}

// settlePermanent runs when a permanent stop's first day has come: the
// paid days from the stop to the end of the invoiced period are credited
// (a stop that policy kept at the period end credits nothing), and the
// invoice of the next period, issued ahead of a renewal that will not
// happen, is cancelled so it is never charged or reminded.
func settlePermanent(ctx context.Context, tx *sql.Tx, d store.Dialect, c *company, s *Stop, sub *subscription.Sub) error {
	if id, status, ok, err := periodInvoice(ctx, tx, c.id, sub.ID, sub.Periods); err != nil {
		return err
	} else if ok && status != billing.StatusCredited && status != billing.StatusCancelled {
		first := time.UnixMilli(s.StopTime).In(c.loc)
		number, err := billing.CreditFrom(ctx, tx, d, c.id, id, first.Format(dateLayout), "subscription stopped")
		if err != nil {
			return err
		}
		if number != 0 {
			var amount int64
			if err := tx.QueryRowContext(ctx, `SELECT amount FROM invoices WHERE company_id = $1 AND invoice_number = $2`, c.id, number).Scan(&amount); err != nil {
				return store.Translate(err)
			}
			var incl string
			if err := tx.QueryRowContext(ctx, `SELECT incl_date FROM invoices WHERE id = $1`, id).Scan(&incl); err != nil {
				return store.Translate(err)
			}
			if last, err := time.ParseInLocation(dateLayout, incl, c.loc); err == nil {
				s.CreditDays = daysBetween(first, last) + 1
			}
			s.CreditAmount = -amount
		}
	}
	if id, _, ok, err := periodInvoice(ctx, tx, c.id, sub.ID, sub.Periods+1); err != nil || !ok {
		return err
	} else if _, err := billing.CreditRest(ctx, tx, d, c.id, id, billing.StatusCancelled, "subscription stopped: the period does not come"); err != nil {
		return err
	}
	return nil
}

// creditVacation records the pro-rata price of the stopped days inside the
// paid period (vacationStopPolicy credit) on the stop: billing puts it on
// the next invoice as a negative line (spec payment.md). The price is what
// the customer pays for the period (periodPrice), not the recorded one.
func creditVacation(ctx context.Context, tx *sql.Tx, c *company, s *Stop, sub *subscription.Sub) error {
	first := time.UnixMilli(s.StopTime).In(c.loc)
	last := time.UnixMilli(min(s.StopEndTime.Int64, sub.EndTime)).In(c.loc)
	if last.Before(first) {
		return nil
	}
	from, end, err := sub.PeriodBounds(c.loc, sub.Periods)
	if err != nil {
		return err
	}
	price, err := periodPrice(ctx, tx, c, sub)
	if err != nil {
		return err
	}
	s.CreditDays = daysBetween(first, last) + 1
	if whole := daysBetween(from, end) + 1; whole > 0 {
		s.CreditAmount = (2*price*int64(s.CreditDays) + int64(whole)) / (2 * int64(whole)) // half away from zero (price ≥ 0)
	}
	return nil
}

// periodPrice is what the customer pays for the subscription's current
// period, in one query: a subscription's recorded price is undiscounted, but
// a renewal invoice may carry a "Product dependency discount" line and an
// order may have charged its line's discounted price.
//   - The first period of a subscription an order started: the amount of the
//     order line that started it (order_lines.subscription_id), paid with the
//     order, on the order's invoice (whose lines may be other products' and
//     whose subscription_id is only the first subscription's) or by card.
//   - Otherwise the period's invoice: the sum of its lines dated the period
//     itself (the period line and its dependency discount). A vacation credit
//     line carried from an earlier stop is dated that stop's days, which lie
//     in an earlier period, so it never counts.
//   - Neither (a period not invoiced), or that invoice credited or cancelled:
//     the recorded price, as before these prices existed.
func periodPrice(ctx context.Context, tx *sql.Tx, c *company, sub *subscription.Sub) (int64, error) {
	var price int64
	var status string
	var err error
	if sub.Periods == 1 && sub.OrderID != 0 {
		err = tx.QueryRowContext(ctx, `SELECT l.amount, COALESCE(i.status, '') FROM order_lines l
			LEFT JOIN invoices i ON i.company_id = l.company_id AND i.order_id = l.order_id AND i.kind = 'invoice'
			WHERE l.company_id = $1 AND l.order_id = $2 AND l.subscription_id = $3`, c.id, sub.OrderID, sub.ID).Scan(&price, &status)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT CAST(SUM(l.amount) AS BIGINT) FROM invoice_lines l WHERE l.invoice_id = i.id
			AND l.company_id = i.company_id AND l.from_date = i.from_date AND l.incl_date = i.incl_date), 0), i.status
			FROM invoices i WHERE i.company_id = $1 AND i.subscription_id = $2 AND i.kind = 'invoice' AND i.period_no = $3`,
			c.id, sub.ID, sub.Periods).Scan(&price, &status)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows), status == billing.StatusCredited, status == billing.StatusCancelled:
		return sub.Price, nil
	case err != nil:
		return 0, store.Translate(err)
	}
	return max(price, 0), nil
}

// IssueStartInvoice issues the invoice of the first period of a
// subscription started on invoice (Start subscription with
// allowInvoiceStart), inside the start's transaction. The wiring hands it
// to subscription.Handlers.
func IssueStartInvoice(ctx context.Context, tx *sql.Tx, sub *subscription.Sub) error {
	c, err := loadCompany(ctx, tx, sub.CompanyID)
	if err != nil {
		return err
	}
	from, end, err := sub.PeriodBounds(c.loc, sub.Periods)
	if err != nil {
		return err
	}
	var name string
	var vat sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT description, vat_percent FROM products WHERE company_id = $1 AND code = $2`,
		sub.CompanyID, sub.ProductCode).Scan(&name, &vat); err != nil {
		return store.Translate(err)
	}
	units := map[string]string{"day": "D", "week": "W", "month": "M", "year": "Y"}
	fromDate, inclDate := from.Format(dateLayout), end.Format(dateLayout)
	_, err = billing.Issue(ctx, tx, billing.NewInvoice{CompanyID: sub.CompanyID, CustomerNumber: sub.CustomerNumber,
		SubscriptionID: sub.ID, PeriodNo: sub.Periods, ProductCode: sub.ProductCode, ProductName: name,
		InvoiceDate: dayStart(subscription.Now(ctx), c.loc), FromDate: fromDate, InclDate: inclDate,
		Period: sub.PeriodLength, PeriodUnit: units[sub.PeriodType], Currency: sub.Currency,
		Lines: []billing.Line{{ProductCode: sub.ProductCode, Description: name, FromDate: fromDate, InclDate: inclDate,
			Amount: sub.Price, VatPercent: vat.Int64, Explanation: "period 1, " + fromDate + " to " + inclDate}}})
	return err
}
