package delivery

import (
	"context"
	"database/sql"
	"errors"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// Advance applies what is due for delivery stops at the business time of
// ctx (the jobs runner calls it after subscription.Advance, which begins
// and ends the pauses): the next temporary stop of every active
// subscription gets its planned pause, and stops that have begun get their
// first-day effects (credits; cancelling a stopped subscription's unneeded
// renewal invoice). It returns how many stops it changed.
func Advance(ctx context.Context, db *store.DB) (int, error) {
	now := subscription.Now(ctx).UnixMilli()
	n := 0
	// Arm: active subscriptions without a pause and with a stop to come.
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT d.company_id, d.subscription_id FROM delivery_stops d
		JOIN subscriptions s ON s.id = d.subscription_id
		WHERE d.status = 'registered' AND d.stop_type = 'temporary' AND d.begun_at IS NULL AND d.stop_end_time > $1
		AND s.status = 'active' AND s.pause_from IS NULL`, now)
	if err != nil {
		return 0, store.Translate(err)
	}
	type pair struct{ company, id int64 }
	var subs []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.company, &p.id); err != nil {
			rows.Close()
			return 0, err
		}
		subs = append(subs, p)
	}
	rows.Close()
	for _, p := range subs {
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			c, err := loadCompany(ctx, tx, p.company)
			if err != nil {
				return err
			}
			return arm(ctx, tx, c, p.id)
		})
		if errs.Is(err, errs.Conflict) {
			continue // changed meanwhile; the next run arms it
		}
		if err != nil {
			return n, err
		}
		n++
	}

	// Begin: stops whose first day has come.
	rows, err = db.QueryContext(ctx, `SELECT id FROM delivery_stops WHERE status = 'registered' AND begun_at IS NULL AND stop_time <= $1 ORDER BY id`, now)
	if err != nil {
		return n, store.Translate(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return n, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		done := false
		err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
			done, err = begin(ctx, tx, db.Dialect, id)
			return err
		})
		if errs.Is(err, errs.Conflict) {
			continue
		}
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}

// begin applies the first-day effects of stop id once. A temporary stop
// begins when its pause has (the jobs may have armed it late); its days
// inside a paid period are credited with vacationStopPolicy credit. A
// permanent stop credits the unused paid days it cut off (asRequested, or an
// unpaid period) and cancels an already issued invoice of the period that
// no longer comes.
func begin(ctx context.Context, tx *sql.Tx, d store.Dialect, id int64) (bool, error) {
	s, err := scanStop(tx.QueryRowContext(ctx, `SELECT `+stopColumns+` FROM delivery_stops WHERE id = $1 AND status = 'registered' AND begun_at IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, store.Translate(err)
	}
	sub, err := subscription.Load(ctx, tx, s.CompanyID, s.SubscriptionID)
	if err != nil {
		return false, err
	}
	c, err := loadCompany(ctx, tx, s.CompanyID)
	if err != nil {
		return false, err
	}
	now := subscription.Now(ctx)
	if s.Type == Temporary {
		if sub.Status == subscription.StatusActive && sub.PauseFrom.Valid {
			return false, nil // its pause has not begun yet
		}
		if s.Policy == subscription.VacationCredit && sub.Status == subscription.StatusPaused && sub.Paid {
			if err := creditVacation(ctx, tx, c, s, sub); err != nil {
				return false, err
			}
		}
	} else if err := settlePermanent(ctx, tx, d, c, s, sub); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE delivery_stops SET begun_at = $2, credit_days = $3, credit_amount = $4 WHERE id = $1`,
		s.ID, now.UnixMilli(), s.CreditDays, s.CreditAmount); err != nil {
		return false, store.Translate(err)
	}
	return true, record(ctx, tx, s, "begin", now)
}
