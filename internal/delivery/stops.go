// Package delivery owns print delivery around a subscription: delivery stops
// (temporary "vacation" stops and permanent stops, spec product.md
// "DeliveryStop") and product delivery plans ("ProductDeliveryPlan"). A stop
// changes the subscription through the subscription engine: a temporary
// stop is a planned pause of the subscription from its first to its last
// day, a permanent stop is subscription.Stop; see docs/DECISIONS.md.
package delivery

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
)

// Stop types (spec product.md, "Delivery stop").
const (
	Temporary = "temporary"
	Permanent = "permanent"
)

// DefaultChannel is the deliveryStopChannel of a stop registered without one
// (the web channel).
const DefaultChannel = "WEB"

const dateLayout = "2006-01-02"

var codePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,12}$`)

// Stop is a delivery stop as stored.
type Stop struct {
	ID             int64
	CompanyID      int64
	CustomerNumber int64
	SubscriptionID int64
	Product        string
	Type           string
	StopTime       int64         // 00:00 of the first day without delivery
	StopEndTime    sql.NullInt64 // 23:59:59 of the last day without delivery (temporary)
	RequestedTime  int64
	Channel        string
	Reason         string
	Status         string // registered, removed
	Policy         string
	BegunAt        sql.NullInt64
	CreditDays     int
	CreditAmount   int64
}

const stopColumns = `id, company_id, customer_number, subscription_id, product_code, stop_type, stop_time, stop_end_time,
	requested_time, channel, reason, status, policy, begun_at, credit_days, credit_amount`

func scanStop(r interface{ Scan(...any) error }) (*Stop, error) {
	var s Stop
	err := r.Scan(&s.ID, &s.CompanyID, &s.CustomerNumber, &s.SubscriptionID, &s.Product, &s.Type, &s.StopTime, &s.StopEndTime,
		&s.RequestedTime, &s.Channel, &s.Reason, &s.Status, &s.Policy, &s.BegunAt, &s.CreditDays, &s.CreditAmount)
	return &s, err
}

// NewStop is a stop to register for a customer.
type NewStop struct {
	Product     string
	StopTime    time.Time // the first day without delivery
	StopEndTime time.Time // the last day without delivery (temporary only)
	Type        string
	Channel     string
	Reason      string
}

// company is what the stop rules need of the caller's company.
type company struct {
	id       int64
	loc      *time.Location
	settings subscription.Settings
}

func loadCompany(ctx context.Context, q store.Queryer, companyID int64) (*company, error) {
	rec, err := tenant.GetCompany(ctx, q, companyID)
	if err != nil {
		return nil, err
	}
	loc, err := rec.Location()
	if err != nil {
		return nil, err
	}
	s, err := subscription.LoadSettings(ctx, q, companyID)
	if err != nil {
		return nil, err
	}
	return &company{id: companyID, loc: loc, settings: s}, nil
}

func dayStart(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func dayEnd(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 23, 59, 59, 0, loc)
}

func addDays(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d+n, 0, 0, 0, 0, t.Location())
}

// daysBetween counts calendar days from the date a to the date b.
func daysBetween(a, b time.Time) int {
	ya, ma, da := a.Date()
	yb, mb, db := b.Date()
	return int(time.Date(yb, mb, db, 0, 0, 0, 0, time.UTC).Sub(time.Date(ya, ma, da, 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

// productInfo reports whether the company has the product and whether it is digital.
func productInfo(ctx context.Context, q store.Queryer, companyID int64, code string) (digital bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT digital FROM products WHERE company_id = $1 AND code = $2`, companyID, code).Scan(&digital)
	if errors.Is(err, sql.ErrNoRows) {
		return false, errs.E(errs.NotFound, "product %s not found", code)
	}
	return digital, store.Translate(err)
}

func validCode(field, v string, required bool) error {
	if v == "" {
		if required {
			return errs.Field(field, "is required")
		}
		return nil
	}
	if !codePattern.MatchString(v) {
		return errs.Field(field, "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
	}
	return nil
}

// Register registers a stop for the customer inside tx and applies it to
// the subscription (see the package comment). It returns the stop.
func Register(ctx context.Context, tx *sql.Tx, companyID, customer int64, n NewStop) (*Stop, error) {
	if err := validCode("product", n.Product, true); err != nil {
		return nil, err
	}
	n.Type = strings.ToLower(n.Type)
	switch n.Type {
	case Temporary, Permanent:
	case "":
		return nil, errs.Field("stopType", "is required")
	default:
		return nil, errs.Field("stopType", "must be temporary or permanent")
	}
	if n.StopTime.IsZero() {
		return nil, errs.Field("stopTime", "is required")
	}
	if n.Type == Temporary && n.StopEndTime.IsZero() {
		return nil, errs.Field("stopEndTime", "is required for a temporary stop")
	}
	if n.Channel == "" {
		n.Channel = DefaultChannel
	}
	if err := validCode("deliveryStopChannel", n.Channel, false); err != nil {
		return nil, err
	}
	if err := validCode("deliveryStopReason", n.Reason, false); err != nil {
		return nil, err
	}
	digital, err := productInfo(ctx, tx, companyID, n.Product)
	if err != nil {
		return nil, err
	}
	c, err := loadCompany(ctx, tx, companyID)
	if err != nil {
		return nil, err
	}
	now := subscription.Now(ctx)
	first := dayStart(n.StopTime, c.loc)
	if earliest := addDays(dayStart(now, c.loc), c.settings.StopLeadDays); first.Before(earliest) {
		return nil, errs.Field("stopTime", "must be %s or later (today + %d days)", earliest.Format(dateLayout), c.settings.StopLeadDays)
	}
	sub, err := subscription.Current(ctx, tx, companyID, customer, n.Product)
	if errs.Is(err, errs.NotFound) || (err == nil && sub.Status == subscription.StatusStopped && sub.EndTime+1000 <= now.UnixMilli()) {
		return nil, errs.Field("product", "no current or future subscription on %s", n.Product)
	}
	if err != nil {
		return nil, err
	}
	if n.Type == Temporary {
		return registerTemporary(ctx, tx, c, sub, digital, first, n, now)
	}
	return registerPermanent(ctx, tx, c, sub, first, n, now)
}

func registerTemporary(ctx context.Context, tx *sql.Tx, c *company, sub *subscription.Sub, digital bool, first time.Time, n NewStop, now time.Time) (*Stop, error) {
	last := dayStart(n.StopEndTime, c.loc)
	if last.Before(first) {
		return nil, errs.Field("stopEndTime", "must not be before stopTime")
	}
	if days := daysBetween(first, last) + 1; days > c.settings.MaxTemporaryStopDays {
		return nil, errs.Field("stopEndTime", "a temporary stop lasts at most %d days (this one %d)", c.settings.MaxTemporaryStopDays, days)
	}
	if first.UnixMilli() < sub.StartTime {
		return nil, errs.Field("stopTime", "must not be before the subscription's startTime")
	}
	if digital || sub.DistributionLevel == "N" {
		return nil, errs.Field("product", "%s is not delivered on paper; a temporary stop needs physical delivery", n.Product)
	}
	if sub.Status == subscription.StatusPaused && !sub.PauseUntil.Valid {
		return nil, errs.Field("product", "the subscription on %s is suspended for an unpaid invoice", n.Product)
	}
	if sub.StopTime.Valid && addDays(last, 1).UnixMilli() > sub.StopTime.Int64 {
		return nil, errs.Field("stopEndTime", "the subscription ends before %s (permanent stop)", time.UnixMilli(sub.StopTime.Int64).In(c.loc).Format(dateLayout))
	}
	end := dayEnd(last, c.loc).UnixMilli()
	var clash int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM delivery_stops WHERE subscription_id = $1 AND stop_type = 'temporary'
		AND status = 'registered' AND stop_time <= $3 AND stop_end_time >= $2 ORDER BY stop_time LIMIT 1`,
		sub.ID, first.UnixMilli(), end).Scan(&clash)
	switch {
	case err == nil:
		return nil, errs.Field("stopTime", "overlaps delivery stop %d of %s", clash, n.Product)
	case !errors.Is(err, sql.ErrNoRows):
		return nil, store.Translate(err)
	}
	s := &Stop{CompanyID: c.id, CustomerNumber: sub.CustomerNumber, SubscriptionID: sub.ID, Product: n.Product, Type: Temporary,
		StopTime: first.UnixMilli(), StopEndTime: sql.NullInt64{Int64: end, Valid: true}, RequestedTime: first.UnixMilli(),
		Channel: n.Channel, Reason: n.Reason, Status: "registered", Policy: c.settings.VacationStopPolicy}
	if err := insert(ctx, tx, s, now); err != nil {
		return nil, err
	}
	if err := arm(ctx, tx, c, sub.ID); err != nil {
		return nil, err
	}
	return s, record(ctx, tx, s, "register", now)
}

func registerPermanent(ctx context.Context, tx *sql.Tx, c *company, sub *subscription.Sub, first time.Time, n NewStop, now time.Time) (*Stop, error) {
	if sub.Status == subscription.StatusStopped {
		return nil, errs.Field("stopType", "the subscription on %s already has a permanent stop", n.Product)
	}
	if first.UnixMilli() <= sub.StartTime {
		return nil, errs.Field("stopTime", "must be after the subscription's startTime")
	}
	// The subscription renews no more: it ends with its current period at
	// the latest, and endOfPeriod keeps a paid period whole.
	dayAfter := sub.EndTime + 1000
	stop := first.UnixMilli()
	if stop > dayAfter || (c.settings.PermanentStopPolicy == subscription.StopEndOfPeriod && sub.Paid) {
		stop = dayAfter
	}
	lastDay := time.UnixMilli(stop).In(c.loc).AddDate(0, 0, -1)
	if err := subscription.Stop(ctx, tx, c.id, sub.ID, lastDay); err != nil {
		return nil, err
	}
	// Temporary stops from the end on can no longer happen.
	if _, err := tx.ExecContext(ctx, `UPDATE delivery_stops SET status = 'removed', removed_at = $3
		WHERE subscription_id = $1 AND stop_type = 'temporary' AND status = 'registered' AND stop_time >= $2`,
		sub.ID, stop, now.UnixMilli()); err != nil {
		return nil, store.Translate(err)
	}
	s := &Stop{CompanyID: c.id, CustomerNumber: sub.CustomerNumber, SubscriptionID: sub.ID, Product: n.Product, Type: Permanent,
		StopTime: stop, RequestedTime: first.UnixMilli(), Channel: n.Channel, Reason: n.Reason, Status: "registered",
		Policy: c.settings.PermanentStopPolicy}
	if err := insert(ctx, tx, s, now); err != nil {
		return nil, err
	}
	return s, record(ctx, tx, s, "register", now)
}

func insert(ctx context.Context, tx *sql.Tx, s *Stop, now time.Time) error {
	var end any
	if s.StopEndTime.Valid {
		end = s.StopEndTime.Int64
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO delivery_stops (company_id, customer_number, subscription_id, product_code, stop_type,
		stop_time, stop_end_time, requested_time, channel, reason, status, policy, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		s.CompanyID, s.CustomerNumber, s.SubscriptionID, s.Product, s.Type, s.StopTime, end, s.RequestedTime,
		s.Channel, s.Reason, s.Status, s.Policy, now.UnixMilli()).Scan(&s.ID)
	return store.Translate(err)
}

// record writes the audit row of a stop's change.
func record(ctx context.Context, tx *sql.Tx, s *Stop, action string, now time.Time) error {
	detail := map[string]any{"customerNumber": s.CustomerNumber, "product": s.Product, "stopType": s.Type,
		"stopTime": s.StopTime, "policy": s.Policy}
	if s.StopEndTime.Valid {
		detail["stopEndTime"] = s.StopEndTime.Int64
	}
	if s.RequestedTime != s.StopTime {
		detail["requestedStopTime"] = s.RequestedTime
	}
	return audit.Record(ctx, tx, audit.Entry{CompanyID: s.CompanyID, Actor: subscription.ActorOf(ctx), Action: "deliverystop." + action,
		Target: "deliverystop:" + itoa(s.ID), Detail: detail, At: now})
}

// arm gives the subscription's pause to its next temporary stop: the
// engine holds one pause at a time, so the earliest stop that has not ended
// is planned, and a later one that was planned first gives way to it. A
// subscription that is not active (paused by a running stop, suspended,
// stopped) is left alone; the jobs arm the next stop when it is active again.
func arm(ctx context.Context, tx *sql.Tx, c *company, subscriptionID int64) error {
	sub, err := subscription.Load(ctx, tx, c.id, subscriptionID)
	if err != nil || sub.Status != subscription.StatusActive {
		return err
	}
	now := subscription.Now(ctx)
	next, err := scanStop(tx.QueryRowContext(ctx, `SELECT `+stopColumns+` FROM delivery_stops
		WHERE subscription_id = $1 AND stop_type = 'temporary' AND status = 'registered' AND stop_end_time > $2
		ORDER BY stop_time LIMIT 1`, subscriptionID, now.UnixMilli()))
	if errors.Is(err, sql.ErrNoRows) {
		if sub.PauseFrom.Valid && sub.PauseUntil.Valid {
			// A planned pause whose stop is gone.
			return subscription.Resume(ctx, tx, c.id, subscriptionID, now)
		}
		return nil
	}
	if err != nil {
		return store.Translate(err)
	}
	from := later(time.UnixMilli(next.StopTime), dayStart(now, c.loc)) // a late run begins it today
	until := addDays(time.UnixMilli(next.StopEndTime.Int64).In(c.loc), 1)
	if sub.PauseFrom.Valid {
		if sub.PauseFrom.Int64 == dayStart(from, c.loc).UnixMilli() && sub.PauseUntil.Valid && sub.PauseUntil.Int64 == until.UnixMilli() {
			return nil // already planned
		}
		if !sub.PauseUntil.Valid {
			return nil // a pause without end is not a stop's (billing's suspension)
		}
		if err := subscription.Resume(ctx, tx, c.id, subscriptionID, now); err != nil {
			return err
		}
	}
	return subscription.Pause(ctx, tx, c.id, subscriptionID, from, until, next.Policy == subscription.VacationExtend)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Remove removes a stop of the customer that has not started (spec
// delivery-stop-remove): a temporary stop's planned pause is cancelled, a
// permanent stop is reset (subscription/stop_reset). It returns the stop.
func Remove(ctx context.Context, tx *sql.Tx, companyID, customer, id int64) (*Stop, error) {
	s, err := scanStop(tx.QueryRowContext(ctx, `SELECT `+stopColumns+` FROM delivery_stops
		WHERE company_id = $1 AND customer_number = $2 AND id = $3 AND status = 'registered'`, companyID, customer, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "delivery stop %d not found", id)
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	now := subscription.Now(ctx)
	if s.StopTime <= now.UnixMilli() || s.BegunAt.Valid {
		return nil, errs.Field("id", "delivery stop %d has started; a running stop cannot be removed", id)
	}
	c, err := loadCompany(ctx, tx, companyID)
	if err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE delivery_stops SET status = 'removed', removed_at = $2 WHERE id = $1 AND status = 'registered'`,
		s.ID, now.UnixMilli())
	if err != nil {
		return nil, store.Translate(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, errs.E(errs.Conflict, "delivery stop %d was changed concurrently; retry", id)
	}
	s.Status = "removed"
	if s.Type == Permanent {
		sub, err := subscription.Load(ctx, tx, companyID, s.SubscriptionID)
		if err != nil {
			return nil, err
		}
		// Start subscription may have reset it already.
		if sub.Status == subscription.StatusStopped && sub.StopTime.Valid && sub.StopTime.Int64 == s.StopTime {
			if err := subscription.ResetStop(ctx, tx, companyID, s.SubscriptionID); err != nil {
				return nil, err
			}
		}
	}
	if err := arm(ctx, tx, c, s.SubscriptionID); err != nil {
		return nil, err
	}
	return s, record(ctx, tx, s, "remove", now)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
