package subscription

// Payment Services: what billing (internal/billing, internal/jobs) needs from
// subscriptions. Billing owns this file; it uses only the package's own
// helpers so the lifecycle rules stay in one place.

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
)

// Load returns one subscription of the company (NotFound otherwise).
func Load(ctx context.Context, q store.Queryer, companyID, id int64) (*Sub, error) {
	return load(ctx, q, companyID, id)
}

// PeriodBounds returns the first day (00:00) and the end (23:59:59 of the
// last day) of period n of s, counted from 1, in loc. After a period end
// was moved (anchor_period > 1) only the end of the period before the
// anchor, and the bounds of later periods, are known.
func (s *Sub) PeriodBounds(loc *time.Location, n int) (from, end time.Time, err error) {
	from, err = s.periodStart(loc, n)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	next, err := s.periodStart(loc, n+1)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return from, lastDayBefore(next), nil
}

// ClaimRenewing returns up to limit subscriptions of the company that renew
// for a price (active, not fixed-end, next period's price > 0, no pause planned to begin
// by the next period's first day) and whose
// current period ends before endBefore (epoch ms), with afterID < id ≤ upTo,
// in id order. The id window keeps each claim an index range scan however
// many rows earlier claims have already handled. Inside a PostgreSQL transaction the rows are locked FOR UPDATE SKIP
// LOCKED, so parallel runs (several nodes) claim disjoint work. extra is an
// optional SQL condition over the alias s (billing passes "no invoice for the
// next period yet"); it must not take parameters.
func ClaimRenewing(ctx context.Context, tx *sql.Tx, d store.Dialect, companyID, endBefore, afterID, upTo int64, limit int, extra string) ([]*Sub, error) {
	q := `SELECT ` + prefixedColumns("s") + ` FROM subscriptions s
		WHERE s.company_id = $1 AND s.status = 'active' AND NOT s.fixed_end AND COALESCE(s.renewal_price, s.price) > 0
		AND (s.pause_from IS NULL OR s.pause_from > s.end_time + 1000)
		AND s.end_time < $2 AND s.id > $3 AND s.id <= $4`
	if extra != "" {
		q += ` AND (` + extra + `)`
	}
	q += ` ORDER BY s.id LIMIT ` + strconv.Itoa(limit)
	if d == store.Postgres {
		q += ` FOR UPDATE OF s SKIP LOCKED`
	}
	rows, err := tx.QueryContext(ctx, q, companyID, endBefore, afterID, upTo)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var out []*Sub
	for rows.Next() {
		s, err := scanSub(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func prefixedColumns(alias string) string {
	out := make([]byte, 0, len(subColumns)+64)
	out = append(out, alias...)
	out = append(out, '.')
	for i := 0; i < len(subColumns); i++ {
		c := subColumns[i]
		out = append(out, c)
		if c == ',' {
			// skip whitespace, then prefix the next column
			for i+1 < len(subColumns) && (subColumns[i+1] == ' ' || subColumns[i+1] == '\n' || subColumns[i+1] == '\t') {
				i++
			}
			out = append(out, ' ')
			out = append(out, alias...)
			out = append(out, '.')
		}
	}
	return string(out)
}

// Suspend stops the access of subscription id because the invoice of its
// current period (period) is unpaid past the grace period: the unpaid
// period is taken back (access ends with the last paid day) and the
// subscription is paused with no resume day, so no job renews it. An event
// subscription/suspended is recorded. Conflict when the subscription is not
// active in that period.
func Suspend(ctx context.Context, tx *sql.Tx, companyID, id int64, period int) error {
	s, err := load(ctx, tx, companyID, id)
	if err != nil {
		return err
	}
	if s.Status != StatusActive || s.Periods != period || s.Periods < 1 {
		return errs.E(errs.Conflict, "subscription %d is not active in period %d", id, period)
	}
	_, loc, err := companyLoc(ctx, tx, companyID)
	if err != nil {
		return err
	}
	now := Now(ctx)
	paidEnd := s.StartTime - 1000 // no paid period left in this run
	if s.Periods > 1 {
		_, e, err := s.PeriodBounds(loc, s.Periods-1)
		if err != nil {
			return err
		}
		paidEnd = max(e.UnixMilli(), s.StartTime-1000)
	}
	if err := update(ctx, tx, `UPDATE subscriptions SET status = 'paused', pause_from = $3, pause_until = NULL,
		periods = periods - 1, end_time = $4, updated_at = $5 WHERE id = $1 AND updated_at = $2 AND status = 'active'`,
		id, s.UpdatedAt, now.UnixMilli(), paidEnd, now.UnixMilli()); err != nil {
		return err
	}
	s.Status, s.Periods, s.EndTime = StatusPaused, s.Periods-1, paidEnd
	s.PauseFrom = sql.NullInt64{Int64: now.UnixMilli(), Valid: true}
	return changed(ctx, tx, s, "suspended", nil)
}

// Unsuspend gives back the period Suspend took and makes the subscription
// active again (event subscription/resumed); paid tells whether that period
// is paid now (the invoice paid may be an earlier period's). A subscription
// that is not suspended is left alone.
func Unsuspend(ctx context.Context, tx *sql.Tx, companyID, id int64, paid bool) error {
	s, err := load(ctx, tx, companyID, id)
	if err != nil {
		return err
	}
	if s.Status != StatusPaused || !s.PauseFrom.Valid || s.PauseUntil.Valid {
		return nil
	}
	_, loc, err := companyLoc(ctx, tx, companyID)
	if err != nil {
		return err
	}
	_, end, err := s.PeriodBounds(loc, s.Periods+1)
	if err != nil {
		return err
	}
	now := Now(ctx)
	if err := update(ctx, tx, `UPDATE subscriptions SET status = 'active', pause_from = NULL, periods = periods + 1,
		end_time = $3, paid = $5, updated_at = $4 WHERE id = $1 AND updated_at = $2 AND status = 'paused'`,
		id, s.UpdatedAt, end.UnixMilli(), now.UnixMilli(), paid); err != nil {
		return err
	}
	s.Status, s.Periods, s.EndTime, s.Paid = StatusActive, s.Periods+1, end.UnixMilli(), paid
	s.PauseFrom = sql.NullInt64{}
	return changed(ctx, tx, s, "resumed", nil)
}

// MarkPeriodPaid records that period of subscription id was paid after it
// began (the renewal ran with paid=false). Earlier or later periods are
// left alone.
func MarkPeriodPaid(ctx context.Context, tx *sql.Tx, companyID, id int64, period int) error {
	_, err := tx.ExecContext(ctx, `UPDATE subscriptions SET paid = TRUE, updated_at = $4
		WHERE company_id = $1 AND id = $2 AND periods = $3 AND NOT paid AND status = 'active'`,
		companyID, id, period, Now(ctx).UnixMilli())
	return store.Translate(err)
}
