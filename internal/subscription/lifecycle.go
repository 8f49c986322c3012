package subscription

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"github.com/connect-oss/connect/internal/audit"
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

// noted finishes a change of s that publishers are not told about (a pause
// planned or cancelled before it began): entitlements and an audit row.
func noted(ctx context.Context, tx *sql.Tx, s *Sub, action string, detail map[string]any) error {
	if err := refreshForSubscription(ctx, tx, s); err != nil {
		return err
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["customerNumber"] = s.CustomerNumber
	detail["product"] = s.ProductCode
	return audit.Record(ctx, tx, audit.Entry{CompanyID: s.CompanyID, Actor: actorOf(ctx),
		Action: "subscription." + action, Target: "subscription:" + itoa(s.ID), Detail: detail, At: Now(ctx)})
}

// ResetStop removes the permanent stop of subscription id before it ends (a
// removed delivery stop, or Start subscription on a stopped subscription):
// it becomes active again, its current period ends where its renewal
// schedule says, and it renews from there (subscription/stop_reset).
func ResetStop(ctx context.Context, tx *sql.Tx, companyID, id int64) error {
	s, err := load(ctx, tx, companyID, id)
	if err != nil {
		return err
	}
	if s.Status != StatusStopped {
		return errs.E(errs.Conflict, "the subscription is not stopped")
	}
	return resetStop(ctx, tx, s, Now(ctx))
}

func resetStop(ctx context.Context, tx *sql.Tx, s *Sub, now time.Time) error {
	end := s.EndTime
	if !s.FixedEnd {
		// A stop may have cut the period short: give it back.
		_, loc, err := companyLoc(ctx, tx, s.CompanyID)
		if err != nil {
			return err
		}
		next, err := s.periodStart(loc, s.Periods+1)
		if err != nil {
			return err
		}
		end = lastDayBefore(next).UnixMilli()
	}
	if err := update(ctx, tx, `UPDATE subscriptions SET status = 'active', stop_time = NULL, end_time = $3, updated_at = $4
		WHERE id = $1 AND status = 'stopped' AND updated_at = $2`, s.ID, s.UpdatedAt, end, now.UnixMilli()); err != nil {
		return err
	}
	s.Status, s.EndTime, s.StopTime = StatusActive, end, sql.NullInt64{}
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
	if s.PauseFrom.Valid && s.PauseFrom.Int64 <= periodEnd+1000 {
		return 0, errs.E(errs.Conflict, "subscription %d pauses before its next period", id)
	}
	_, loc, err := companyLoc(ctx, tx, companyID)
	if err != nil {
		return 0, err
	}
	next, err := s.periodStart(loc, s.Periods+2)
	if err != nil {
		return 0, err
	}
	end := lastDayBefore(next).UnixMilli()
	now := Now(ctx)
	if s.renewalPending() {
		// Into period 2 and on: the coupon's renewal terms become the
		// subscription's, anchored at the start of the new period.
		from, err := s.periodStart(loc, s.Periods+1)
		if err != nil {
			return 0, err
		}
		price, length, typ := s.TermsOf(s.Periods + 1)
		if err := update(ctx, tx, `UPDATE subscriptions SET periods = periods + 1, end_time = $3, paid = $4, updated_at = $5,
			price = $6, period_length = $7, period_type = $8, anchor_date = $9, anchor_period = $10,
			renewal_price = NULL, renewal_period_length = NULL, renewal_period_type = NULL
			WHERE id = $1 AND end_time = $2 AND status = 'active'`, id, periodEnd, end, paid, now.UnixMilli(),
			price, length, typ, from.Format(dateLayout), s.Periods+1); err != nil {
			return 0, err
		}
		s.Price, s.PeriodLength, s.PeriodType, s.AnchorDate, s.AnchorPeriod = price, length, typ, from.Format(dateLayout), s.Periods+1
		s.RenewalPrice, s.RenewalLength, s.RenewalType = sql.NullInt64{}, sql.NullInt64{}, sql.NullString{}
	} else if err := update(ctx, tx, `UPDATE subscriptions SET periods = periods + 1, end_time = $3, paid = $4, updated_at = $5
		WHERE id = $1 AND end_time = $2 AND status = 'active'`, id, periodEnd, end, paid, now.UnixMilli()); err != nil {
		return 0, err
	}
	s.Periods++
	s.EndTime, s.Paid = end, paid
	return end, changed(ctx, tx, s, "renew", map[string]any{"paid": paid})
}

// Stop registers a permanent stop: lastDay (a date) is the last day with
// access, at most the end of the current period; zero means the end of the
// current period. The subscription renews no more, keeps access until
// 23:59:59 that day, and a pause it had (planned or running) is dropped.
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
	if err := update(ctx, tx, `UPDATE subscriptions SET status = 'stopped', end_time = $3, stop_time = $4,
		pause_from = NULL, pause_until = NULL, pause_extend = FALSE, updated_at = $5
		WHERE id = $1 AND updated_at = $2`, id, s.UpdatedAt, end, stop, now.UnixMilli()); err != nil {
		return err
	}
	s.Status, s.EndTime = StatusStopped, end
	s.StopTime = sql.NullInt64{Int64: stop, Valid: true}
	s.PauseFrom, s.PauseUntil, s.PauseExtend = sql.NullInt64{}, sql.NullInt64{}, false
	return changed(ctx, tx, s, "stop", nil)
}

// Pause pauses deliveries and renewals from the date from (00:00 local;
// today or later) until the date until (the resume day; zero = until
// Resume). A pause from a later date is planned: the subscription stays
// active, and renews, until then. A paused subscription keeps access until
// its paid period ends; with extend, a pause that begins inside a paid
// period moves that period's end later by the paused days, so access and
// the paid days both outlast it (vacationStopPolicy extend).
func Pause(ctx context.Context, tx *sql.Tx, companyID, id int64, from, until time.Time, extend bool) error {
	s, err := load(ctx, tx, companyID, id)
	if err != nil {
		return err
	}
	if s.Status != StatusActive {
		return errs.E(errs.Conflict, "only an active subscription can be paused (status %s)", s.Status)
	}
	if s.PauseFrom.Valid {
		return errs.E(errs.Conflict, "the subscription already has a pause from %d", s.PauseFrom.Int64)
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
	} else if extend {
		return errs.Field("pauseUntil", "is required to extend the paid period")
	}
	if err := update(ctx, tx, `UPDATE subscriptions SET pause_from = $3, pause_until = $4, pause_extend = $5, updated_at = $6
		WHERE id = $1 AND updated_at = $2`, id, s.UpdatedAt, f.UnixMilli(), u, extend, now.UnixMilli()); err != nil {
		return err
	}
	s.PauseFrom = sql.NullInt64{Int64: f.UnixMilli(), Valid: true}
	s.PauseExtend = extend
	s.UpdatedAt = now.UnixMilli()
	if f.After(now) {
		return noted(ctx, tx, s, "pause_planned", map[string]any{"pauseFrom": f.UnixMilli(), "pauseUntil": u, "extend": extend})
	}
	return beginPause(ctx, tx, s, loc)
}

// beginPause starts the planned pause of s (active, pause_from reached):
// status paused, and with pause_extend the paid period's end moves later by
// the paused days when the pause begins inside it. The periods after it are
// re-anchored so that renewals follow the moved end.
func beginPause(ctx context.Context, tx *sql.Tx, s *Sub, loc *time.Location) error {
	now := Now(ctx)
	from := time.UnixMilli(s.PauseFrom.Int64).In(loc)
	extendDays := 0
	if s.PauseExtend && s.PauseUntil.Valid && s.Paid && !s.FixedEnd && s.PauseFrom.Int64 <= s.EndTime {
		extendDays = daysBetween(from, time.UnixMilli(s.PauseUntil.Int64).In(loc))
	}
	end, anchorDate, anchorPeriod := s.EndTime, s.AnchorDate, s.AnchorPeriod
	if extendDays > 0 {
		y, m, d := time.UnixMilli(s.EndTime).In(loc).Date()
		next := time.Date(y, m, d+1+extendDays, 0, 0, 0, 0, loc) // first day of the next period
		end, anchorDate, anchorPeriod = lastDayBefore(next).UnixMilli(), next.Format(dateLayout), s.Periods+1
	}
	if err := update(ctx, tx, `UPDATE subscriptions SET status = 'paused', end_time = $3, anchor_date = $4, anchor_period = $5,
		updated_at = $6 WHERE id = $1 AND updated_at = $2 AND status = 'active'`,
		s.ID, s.UpdatedAt, end, anchorDate, anchorPeriod, now.UnixMilli()); err != nil {
		return err
	}
	s.Status, s.EndTime, s.AnchorDate, s.AnchorPeriod, s.UpdatedAt = StatusPaused, end, anchorDate, anchorPeriod, now.UnixMilli()
	if extendDays > 0 {
		// spec product.md: the moved period end is announced as a renewal.
		if err := changed(ctx, tx, s, "renew", map[string]any{"extendedDays": extendDays, "reason": "pause"}); err != nil {
			return err
		}
	}
	var until any
	if s.PauseUntil.Valid {
		until = s.PauseUntil.Int64
	}
	return changed(ctx, tx, s, "pause", map[string]any{"pauseFrom": s.PauseFrom.Int64, "pauseUntil": until})
}

// Resume ends a pause (or cancels a planned one) on the date on (00:00
// local). Resumed inside the paid period, the subscription simply goes on
// and renews at its end. Resumed after it, the days between were neither
// paid nor served: the run starts again on that day (startTime moves) and
// the next period begins then (a free subscription renews at once).
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
	if s.Status == StatusActive {
		// A planned pause that has not begun: cancel it.
		if err := update(ctx, tx, `UPDATE subscriptions SET pause_from = NULL, pause_until = NULL, pause_extend = FALSE, updated_at = $3
			WHERE id = $1 AND updated_at = $2`, s.ID, s.UpdatedAt, now.UnixMilli()); err != nil {
			return err
		}
		detail := map[string]any{"pauseFrom": s.PauseFrom.Int64}
		s.PauseFrom, s.PauseUntil, s.PauseExtend = sql.NullInt64{}, sql.NullInt64{}, false
		return noted(ctx, tx, s, "pause_cancelled", detail)
	}
	if s.Status != StatusPaused {
		return errs.E(errs.Conflict, "the subscription is not paused")
	}
	day := dayStart(on, loc)
	start, anchorDate, anchorPeriod := s.StartTime, s.AnchorDate, s.AnchorPeriod
	gap := day.UnixMilli() > s.EndTime+1000
	if gap {
		start, anchorDate, anchorPeriod = day.UnixMilli(), day.Format(dateLayout), s.Periods+1
	}
	if err := update(ctx, tx, `UPDATE subscriptions SET status = 'active', pause_from = NULL, pause_until = NULL, pause_extend = FALSE,
		start_time = $3, anchor_date = $4, anchor_period = $5, updated_at = $6 WHERE id = $1 AND updated_at = $2`,
		s.ID, s.UpdatedAt, start, anchorDate, anchorPeriod, now.UnixMilli()); err != nil {
		return err
	}
	s.Status, s.StartTime, s.AnchorDate, s.AnchorPeriod = StatusActive, start, anchorDate, anchorPeriod
	s.PauseFrom, s.PauseUntil, s.PauseExtend = sql.NullInt64{}, sql.NullInt64{}, false
	if err := changed(ctx, tx, s, "resume", map[string]any{"resumedOn": day.Format(dateLayout)}); err != nil {
		return err
	}
	if next, _, _ := s.TermsOf(s.Periods + 1); gap && next == 0 && !s.FixedEnd {
		_, err = Renew(ctx, tx, companyID, s.ID, s.EndTime, true)
	}
	return err
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
// (the jobs runner calls it), in the order daily runs would have: free
// renewing subscriptions (price 0) renew up to now or up to a planned
// pause, planned pauses begin, pauses with a resume day end, and stopped
// and fixed-end subscriptions past their end expire. Priced renewals are
// billing's.
func Advance(ctx context.Context, db *store.DB) (int, error) {
	now := Now(ctx).UnixMilli()
	type due struct {
		company, id int64
		kind        string
		at          int64
	}
	rows, err := db.QueryContext(ctx, `
		SELECT company_id, id, 'renew', end_time FROM subscriptions WHERE status = 'active' AND NOT fixed_end AND COALESCE(renewal_price, price) = 0
			AND end_time + 1000 <= $1 AND (pause_from IS NULL OR pause_from > end_time + 1000)
		UNION ALL
		SELECT company_id, id, 'pause', pause_from FROM subscriptions WHERE status = 'active' AND pause_from IS NOT NULL AND pause_from <= $1
		UNION ALL
		SELECT company_id, id, 'resume', pause_until FROM subscriptions WHERE status = 'paused' AND pause_until IS NOT NULL AND pause_until <= $1
		UNION ALL
		SELECT company_id, id, 'expire', end_time FROM subscriptions WHERE (status = 'stopped' OR (status = 'active' AND fixed_end)) AND end_time + 1000 <= $1`, now)
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
	if err := rows.Err(); err != nil {
		return 0, err
	}
	// Renewals before pauses: a pause planned inside the next period must
	// find that period (and its paid days) in place, as a daily run would.
	rank := map[string]int{"renew": 0, "pause": 1, "resume": 2, "expire": 3}
	sort.SliceStable(work, func(i, j int) bool { return rank[work[i].kind] < rank[work[j].kind] })
	n := 0
	for _, d := range work {
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			switch d.kind {
			case "pause":
				s, err := load(ctx, tx, d.company, d.id)
				if err != nil {
					return err
				}
				if s.Status != StatusActive || !s.PauseFrom.Valid || s.PauseFrom.Int64 > now {
					return errs.E(errs.Conflict, "no pause due")
				}
				_, loc, err := companyLoc(ctx, tx, d.company)
				if err != nil {
					return err
				}
				return beginPause(ctx, tx, s, loc)
			case "resume":
				return Resume(ctx, tx, d.company, d.id, time.UnixMilli(d.at))
			case "expire":
				return Expire(ctx, tx, d.company, d.id)
			default:
				s, err := load(ctx, tx, d.company, d.id)
				if err != nil {
					return err
				}
				end := s.EndTime
				for end+1000 <= now && (!s.PauseFrom.Valid || end+1000 < s.PauseFrom.Int64) {
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
