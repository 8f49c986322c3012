package subscription

import (
	"context"
	"database/sql"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
)

// update runs a conditional update of one subscription; no row changed means
// another transaction changed it first (Conflict).
func update(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return store.Translate(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.Conflict, "the subscription was changed concurrently; retry")
	}
	return nil
}

// resetStop removes a permanent stop of subscription id (Start on a stopped
// subscription): it becomes active again and renews from its current period.
func resetStop(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	if err := update(ctx, tx, `UPDATE subscriptions SET status = 'active', stop_time = NULL, updated_at = $2
		WHERE id = $1 AND status = 'stopped'`, id, now.UnixMilli()); err != nil {
		return err
	}
	var companyID int64
	if err := tx.QueryRowContext(ctx, `SELECT company_id FROM subscriptions WHERE id = $1`, id).Scan(&companyID); err != nil {
		return store.Translate(err)
	}
	s, err := load(ctx, tx, companyID, id)
	if err != nil {
		return err
	}
	return changed(ctx, tx, s, "stop_reset", nil)
}

// Renew adds the period that follows the one ending at periodEnd (epoch ms,
// as read from the subscription): a renewal for the same period twice, or
// two at once, adds one period; the loser gets Conflict. paid says whether
// the new period is paid (free periods count as paid).
func Renew(ctx context.Context, tx *sql.Tx, companyID, id, periodEnd int64, paid bool) (newEnd int64, err error) {
	s, err := load(ctx, tx, companyID, id)
	if err != nil {
		return 0, err
	}
	if s.Status != StatusActive || s.FixedEnd {
		return 0, errs.E(errs.Conflict, "subscription %d does not renew (status %s)", id, s.Status)
	}
	if s.EndTime != periodEnd {
		return 0, errs.E(errs.Conflict, "subscription %d: the period ending %d was already renewed", id, periodEnd)
	}
	_, loc, err := companyLoc(ctx, tx, companyID)
	if err != nil {
		return 0, err
	}
	anchor, err := time.ParseInLocation(dateLayout, s.AnchorDate, loc)
	if err != nil {
		return 0, err
	}
	end := lastDayBefore(addPeriods(anchor, s.Periods+1, s.PeriodLength, s.PeriodType)).UnixMilli()
	now := Now(ctx)
	if err := update(ctx, tx, `UPDATE subscriptions SET periods = periods + 1, end_time = $3, paid = $4, updated_at = $5
		WHERE id = $1 AND end_time = $2 AND status = 'active'`, id, periodEnd, end, paid, now.UnixMilli()); err != nil {
		return 0, err
	}
	s.Periods++
	s.EndTime, s.Paid = end, paid
	return end, changed(ctx, tx, s, "renew", map[string]any{"paid": paid})
}

// Stop registers a permanent stop: lastDay (a date) is the last day with
// access, at most the end of the paid period; zero means the end of the
// paid period. The subscription keeps access until 23:59:59 that day.
func Stop(ctx context.Context, tx *sql.Tx, companyID, id int64, lastDay time.Time) error {
	s, err := load(ctx, tx, companyID, id)
	if err != nil {
		return err
	}
	if s.Status == StatusEnded || s.Status == StatusStopped {
		return errs.E(errs.Conflict, "the subscription is already stopped")
	}
	_, loc, err := companyLoc(ctx, tx, companyID)
	if err != nil {
		return err
	}
	end := s.EndTime
	if !lastDay.IsZero() {
		e := dayEnd(lastDay, loc).UnixMilli()
		if e < s.StartTime {
			return errs.Field("stopTime", "must not be before the subscription's startTime")
		}
		end = min(end, e)
	}
	stop := end + 1000 // 00:00 of the first day without access
	now := Now(ctx)
	if err := update(ctx, tx, `UPDATE subscriptions SET status = 'stopped', end_time = $3, stop_time = $4, updated_at = $5
		WHERE id = $1 AND updated_at = $2`, id, s.UpdatedAt, end, stop, now.UnixMilli()); err != nil {
		return err
	}
	s.Status, s.EndTime = StatusStopped, end
	s.StopTime = sql.NullInt64{Int64: stop, Valid: true}
	return changed(ctx, tx, s, "stop", nil)
}

// Pause pauses deliveries and renewals from the date from (00:00 local; today
// or later) until the date until (the resume day; zero = until Resume). A
// paused subscription keeps access until its paid period ends. A pause from a
// later date is planned: the subscription stays active until then.
func Pause(ctx context.Context, tx *sql.Tx, companyID, id int64, from, until time.Time) error {
	s, err := load(ctx, tx, companyID, id)
	if err != nil {
		return err
	}
	if s.Status != StatusActive {
		return errs.E(errs.Conflict, "only an active subscription can be paused (status %s)", s.Status)
	}
	_, loc, err := companyLoc(ctx, tx, companyID)
	if err != nil {
		return err
	}
	now := Now(ctx)
	f := dayStart(from, loc)
	if f.Before(dayStart(now, loc)) {
		return errs.Field("pauseFrom", "must be today or later")
	}
	var u any
	if !until.IsZero() {
		ut := dayStart(until, loc)
		if !ut.After(f) {
			return errs.Field("pauseUntil", "must be after pauseFrom")
		}
		u = ut.UnixMilli()
		s.PauseUntil = sql.NullInt64{Int64: ut.UnixMilli(), Valid: true}
	}
	status := StatusActive
	if !f.After(now) {
		status = StatusPaused
	}
	if err := update(ctx, tx, `UPDATE subscriptions SET status = $3, pause_from = $4, pause_until = $5, updated_at = $6
		WHERE id = $1 AND updated_at = $2`, id, s.UpdatedAt, status, f.UnixMilli(), u, now.UnixMilli()); err != nil {
		return err
	}
	s.Status = status
	s.PauseFrom = sql.NullInt64{Int64: f.UnixMilli(), Valid: true}
	return changed(ctx, tx, s, "pause", map[string]any{"pauseFrom": f.UnixMilli(), "pauseUntil": u})
}

// Resume ends a pause (or cancels a planned one) on the date on (00:00
// local). A paused subscription starts a new period that day; when days
// between its last paid day and on were not paid, startTime moves to on.
func Resume(ctx context.Context, tx *sql.Tx, companyID, id int64, on time.Time) error {
	s, err := load(ctx, tx, companyID, id)
	if err != nil {
		return err
	}
	if !s.PauseFrom.Valid {
		return errs.E(errs.Conflict, "the subscription is not paused")
	}
	_, loc, err := companyLoc(ctx, tx, companyID)
	if err != nil {
		return err
	}
	now := Now(ctx)
	day := dayStart(on, loc)
	if s.Status == StatusActive {
		// A planned pause that has not begun: cancel it.
		if err := update(ctx, tx, `UPDATE subscriptions SET pause_from = NULL, pause_until = NULL, updated_at = $3
			WHERE id = $1 AND updated_at = $2`, id, s.UpdatedAt, now.UnixMilli()); err != nil {
			return err
		}
		s.PauseFrom, s.PauseUntil = sql.NullInt64{}, sql.NullInt64{}
		return changed(ctx, tx, s, "resume", nil)
	}
	if s.Status != StatusPaused {
		return errs.E(errs.Conflict, "the subscription is not paused")
	}
	start := s.StartTime
	if day.UnixMilli() > s.EndTime+1000 {
		start = day.UnixMilli() // unpaid gap: the run starts again
	} else {
		day = time.UnixMilli(s.EndTime + 1000).In(loc) // no gap: continue after the paid period
	}
	end := lastDayBefore(addPeriods(day, 1, s.PeriodLength, s.PeriodType)).UnixMilli()
	paid := s.Price == 0
	if err := update(ctx, tx, `UPDATE subscriptions SET status = 'active', pause_from = NULL, pause_until = NULL,
		start_time = $3, end_time = $4, anchor_date = $5, periods = 1, paid = $6, updated_at = $7
		WHERE id = $1 AND updated_at = $2`, id, s.UpdatedAt, start, end, day.Format(dateLayout), paid, now.UnixMilli()); err != nil {
		return err
	}
	s.Status, s.StartTime, s.EndTime, s.Paid = StatusActive, start, end, paid
	s.PauseFrom, s.PauseUntil = sql.NullInt64{}, sql.NullInt64{}
	return changed(ctx, tx, s, "resume", nil)
}

// Expire ends a subscription now (an unpaid renewal, or a stopped one past
// its end): it grants nothing from then on.
func Expire(ctx context.Context, tx *sql.Tx, companyID, id int64) error {
	s, err := load(ctx, tx, companyID, id)
	if err != nil {
		return err
	}
	if s.Status == StatusEnded {
		return nil
	}
	now := Now(ctx)
	if err := update(ctx, tx, `UPDATE subscriptions SET status = 'ended', updated_at = $3 WHERE id = $1 AND updated_at = $2`,
		id, s.UpdatedAt, now.UnixMilli()); err != nil {
		return err
	}
	wasStopped := s.Status == StatusStopped
	s.Status = StatusEnded
	// Accepted shares end with the owner's subscription.
	if _, err := tx.ExecContext(ctx, `UPDATE shares SET status = 'ENDED', ended_at = $2 WHERE subscription_id = $1 AND status IN ('PENDING', 'ACCEPTED')`,
		id, now.UnixMilli()); err != nil {
		return store.Translate(err)
	}
	status := "stop"
	if wasStopped {
		status = "expire"
	}
	if err := refreshEndedShares(ctx, tx, s); err != nil {
		return err
	}
	return changed(ctx, tx, s, status, nil)
}

// refreshEndedShares refreshes recipients of shares of s that were just
// ended (changed only refreshes accepted ones).
func refreshEndedShares(ctx context.Context, tx *sql.Tx, s *Sub) error {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT recipient_customer FROM shares WHERE subscription_id = $1 AND recipient_customer IS NOT NULL`, s.ID)
	if err != nil {
		return store.Translate(err)
	}
	var cs []int64
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		cs = append(cs, c)
	}
	rows.Close()
	for _, c := range cs {
		if err := refreshCustomer(ctx, tx, s.CompanyID, c); err != nil {
			return err
		}
	}
	return nil
}

// Advance applies what is due at the business time of ctx to every company
// (the jobs runner calls it): planned pauses begin, pauses with a resume day
// end, stopped and fixed-end subscriptions past their end expire, and
// free renewing subscriptions (price 0) renew. Priced renewals are billing's.
func Advance(ctx context.Context, db *store.DB) (int, error) {
	now := Now(ctx).UnixMilli()
	type due struct {
		company, id int64
		kind        string
		at          int64
	}
	rows, err := db.QueryContext(ctx, `
		SELECT company_id, id, 'pause', pause_from FROM subscriptions WHERE status = 'active' AND pause_from IS NOT NULL AND pause_from <= $1
		UNION ALL
		SELECT company_id, id, 'resume', pause_until FROM subscriptions WHERE status = 'paused' AND pause_until IS NOT NULL AND pause_until <= $1
		UNION ALL
		SELECT company_id, id, 'expire', end_time FROM subscriptions WHERE (status = 'stopped' OR (status = 'active' AND fixed_end)) AND end_time + 1000 <= $1
		UNION ALL
		SELECT company_id, id, 'renew', end_time FROM subscriptions WHERE status = 'active' AND NOT fixed_end AND pause_from IS NULL AND price = 0 AND end_time + 1000 <= $1`, now)
	if err != nil {
		return 0, store.Translate(err)
	}
	var work []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.company, &d.id, &d.kind, &d.at); err != nil {
			rows.Close()
			return 0, err
		}
		work = append(work, d)
	}
	rows.Close()
	n := 0
	for _, d := range work {
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			switch d.kind {
			case "pause":
				return update(ctx, tx, `UPDATE subscriptions SET status = 'paused' WHERE id = $1 AND status = 'active'`, d.id)
			case "resume":
				return Resume(ctx, tx, d.company, d.id, time.UnixMilli(d.at))
			case "expire":
				return Expire(ctx, tx, d.company, d.id)
			default:
				end := d.at
				for end+1000 <= now {
					var err error
					if end, err = Renew(ctx, tx, d.company, d.id, end, true); err != nil {
						return err
					}
				}
				return nil
			}
		})
		if errs.Is(err, errs.Conflict) {
			continue // another node did it
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
