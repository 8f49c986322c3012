// Package subscription owns subscriptions (start, renew, stop, pause, resume,
// expire), the precomputed access entitlements they and shares grant, the
// access check, and sharing (spec product.md Subscription and Sharing,
// userdata.md Access).
package subscription

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/value"
)

// StartRequest starts a subscription (from an order's fulfilment or Start
// subscription).
type StartRequest struct {
	CompanyID      int64
	CompanyCode    string
	CustomerNumber int64
	ProductCode    string
	CouponCode     string
	CouponNumber   int64
	StartDate      time.Time // calendar date in the company's zone (00:00 local)
	PeriodLength   int
	PeriodType     string // day|week|month|year
	Price          value.Money
	Currency       string
	Paid           bool
	OrderID        int64
	Copies         int
	AccessProducts []string // extra products this subscription grants access to (bundles)

	// The coupon's renewal terms (optional): from period 2 the subscription
	// costs RenewalPrice per RenewalPeriodLength × RenewalPeriodType.
	RenewalPrice        *value.Money
	RenewalPeriodLength int
	RenewalPeriodType   string

	// Optional (Start subscription endpoint).
	EndDate           time.Time // fixed last day (00:00 local of that day); zero: renews by its coupon
	CustomerReference string
}

// Subscription statuses (internal; the API shows stopped/paid/times).
const (
	StatusActive  = "active"
	StatusPaused  = "paused"
	StatusStopped = "stopped"
	StatusEnded   = "ended"
)

var codePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,12}$`)

func validCode(field, code string) error {
	if code == "" {
		return errs.Field(field, "is required")
	}
	if !codePattern.MatchString(code) {
		return errs.Field(field, "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
	}
	return nil
}

// companyLoc loads the company and its time zone.
func companyLoc(ctx context.Context, q store.Queryer, companyID int64) (*tenant.CompanyRecord, *time.Location, error) {
	c, err := tenant.GetCompany(ctx, q, companyID)
	if err != nil {
		return nil, nil, err
	}
	loc, err := c.Location()
	if err != nil {
		return nil, nil, err
	}
	return c, loc, nil
}

// productActive reports whether the company has the product, active on day.
func productActive(ctx context.Context, q store.Queryer, companyID int64, code string, at time.Time) (exists, active bool, err error) {
	var start int64
	var end sql.NullInt64
	err = q.QueryRowContext(ctx, `SELECT start_time, end_time FROM products WHERE company_id = $1 AND code = $2`, companyID, code).Scan(&start, &end)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, store.Translate(err)
	}
	ms := at.UnixMilli()
	return true, start <= ms && (!end.Valid || ms < end.Int64), nil
}

func customerExists(ctx context.Context, q store.Queryer, companyID, number int64) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM customers WHERE company_id = $1 AND customer_number = $2`, companyID, number).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "customer %d not found", number)
	}
	return store.Translate(err)
}

// Start creates a subscription inside tx, with its first period from
// r.StartDate, its entitlements, an audit row and a subscription/start event.
// An existing current or future subscription of the customer on the product
// is a Conflict, unless it has a permanent stop: then the stop is removed
// (subscription/stop_reset) and its id returned.
func Start(ctx context.Context, tx *sql.Tx, r StartRequest) (int64, error) {
	if r.CompanyID == 0 {
		return 0, errs.Field("companyId", "is required")
	}
	if r.CustomerNumber <= 0 {
		return 0, errs.Field("customerNumber", "must be a positive integer")
	}
	if err := validCode("product", r.ProductCode); err != nil {
		return 0, err
	}
	if r.CouponCode != "" && len(r.CouponCode) > 12 {
		return 0, errs.Field("couponCode", "at most 12 characters")
	}
	if r.StartDate.IsZero() {
		return 0, errs.Field("startTime", "is required")
	}
	if err := validPeriod(r.PeriodLength, r.PeriodType); err != nil {
		return 0, err
	}
	if r.Price < 0 {
		return 0, errs.Field("price", "must not be negative")
	}
	var renewalPrice, renewalLength, renewalType any
	if r.RenewalPrice != nil {
		if *r.RenewalPrice < 0 {
			return 0, errs.Field("renewalPrice", "must not be negative")
		}
		renewalPrice = int64(*r.RenewalPrice)
	}
	if r.RenewalPeriodLength != 0 || r.RenewalPeriodType != "" {
		if err := validPeriod(r.RenewalPeriodLength, r.RenewalPeriodType); err != nil {
			return 0, errs.Field("renewalPeriod", "%v", err)
		}
		renewalLength, renewalType = r.RenewalPeriodLength, r.RenewalPeriodType
	}
	if r.Copies == 0 {
		r.Copies = 1
	}
	if r.Copies < 1 || r.Copies > 99 {
		return 0, errs.Field("copies", "must be between 1 and 99")
	}
	for i, p := range r.AccessProducts {
		if err := validCode("accessProducts", p); err != nil {
			return 0, errs.Field("accessProducts["+itoa(int64(i))+"]", "must be a product code")
		}
	}
	company, loc, err := companyLoc(ctx, tx, r.CompanyID)
	if err != nil {
		return 0, err
	}
	if r.CompanyCode == "" {
		r.CompanyCode = company.Code
	}
	if r.Currency == "" {
		r.Currency = company.Currency
	}
	if len(r.Currency) != 3 {
		return 0, errs.Field("currency", "must be an ISO 4217 code such as NOK")
	}
	start := dayStart(r.StartDate, loc)
	exists, active, err := productActive(ctx, tx, r.CompanyID, r.ProductCode, start)
	if err != nil {
		return 0, err
	}
	if !exists {
		return 0, errs.E(errs.NotFound, "product %s not found", r.ProductCode)
	}
	if !active {
		return 0, errs.Field("product", "%s is not active on %s", r.ProductCode, start.Format(dateLayout))
	}
	for i, p := range r.AccessProducts {
		if ok, _, err := productActive(ctx, tx, r.CompanyID, p, start); err != nil {
			return 0, err
		} else if !ok {
			return 0, errs.Field("accessProducts["+itoa(int64(i))+"]", "unknown product %s", p)
		}
	}
	if err := customerExists(ctx, tx, r.CompanyID, r.CustomerNumber); err != nil {
		return 0, err
	}
	now := Now(ctx)
	// Digital products are not distributed (N); others go to the home address (P).
	var digital bool
	if err := tx.QueryRowContext(ctx, `SELECT digital FROM products WHERE company_id = $1 AND code = $2`, r.CompanyID, r.ProductCode).Scan(&digital); err != nil {
		return 0, store.Translate(err)
	}
	level := "P"
	if digital {
		level = "N"
	}

	// One current-or-future subscription per product.
	var (
		oldID     int64
		oldStatus string
		oldEnd    int64
	)
	err = tx.QueryRowContext(ctx, `SELECT id, status, end_time FROM subscriptions
		WHERE company_id = $1 AND customer_number = $2 AND product_code = $3 AND status <> 'ended'`,
		r.CompanyID, r.CustomerNumber, r.ProductCode).Scan(&oldID, &oldStatus, &oldEnd)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, store.Translate(err)
	case oldEnd < now.UnixMilli():
		// Over, though no job has marked it yet: end it now.
		if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET status = 'ended', updated_at = $2 WHERE id = $1`, oldID, now.UnixMilli()); err != nil {
			return 0, store.Translate(err)
		}
	case oldStatus == StatusStopped:
		old, err := load(ctx, tx, r.CompanyID, oldID)
		if err != nil {
			return 0, err
		}
		return oldID, resetStop(ctx, tx, old, now)
	default:
		return 0, errs.E(errs.Conflict, "customer %d already has a subscription on %s", r.CustomerNumber, r.ProductCode)
	}

	end := lastDayBefore(addPeriods(start, 1, r.PeriodLength, r.PeriodType))
	fixed := false
	if !r.EndDate.IsZero() {
		fe := dayEnd(r.EndDate, loc)
		if !fe.After(start) {
			return 0, errs.Field("endTime", "must be after startTime")
		}
		end, fixed = fe, true
	}
	ms := now.UnixMilli()
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO subscriptions (company_id, customer_number, product_code,
		coupon_code, coupon_number, copies, status, start_time, end_time, anchor_date, periods, fixed_end,
		period_length, period_type, price, currency, paid, order_id, access_products, customer_reference,
		distribution_level, created_at, updated_at, renewal_price, renewal_period_length, renewal_period_type)
		VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, 1, $10, $11, $12, $13, $14, $15, $16, $17, $18, $20, $19, $19, $21, $22, $23)
		RETURNING id`,
		r.CompanyID, r.CustomerNumber, r.ProductCode, r.CouponCode, r.CouponNumber, r.Copies,
		start.UnixMilli(), end.UnixMilli(), start.Format(dateLayout), fixed, r.PeriodLength, r.PeriodType,
		int64(r.Price), r.Currency, r.Paid, r.OrderID, strings.Join(r.AccessProducts, ","), r.CustomerReference, ms, level,
		renewalPrice, renewalLength, renewalType,
	).Scan(&id)
	if err != nil {
		return 0, store.Translate(err)
	}
	s, err := load(ctx, tx, r.CompanyID, id)
	if err != nil {
		return 0, err
	}
	return id, changed(ctx, tx, s, "start", map[string]any{"orderId": r.OrderID, "couponCode": r.CouponCode})
}

// changed finishes every state change of s: entitlements of the owner and of
// everyone s is shared with, an audit row and a subscription event.
func changed(ctx context.Context, tx *sql.Tx, s *Sub, status string, detail map[string]any) error {
	if err := refreshForSubscription(ctx, tx, s); err != nil {
		return err
	}
	now := Now(ctx)
	if detail == nil {
		detail = map[string]any{}
	}
	detail["customerNumber"] = s.CustomerNumber
	detail["product"] = s.ProductCode
	if err := audit.Record(ctx, tx, audit.Entry{CompanyID: s.CompanyID, Actor: actorOf(ctx),
		Action: "subscription." + status, Target: "subscription:" + itoa(s.ID), Detail: detail, At: now}); err != nil {
		return err
	}
	company, err := tenant.GetCompany(ctx, tx, s.CompanyID)
	if err != nil {
		return err
	}
	var periodEnd any
	if s.Status != StatusEnded {
		periodEnd = s.EndTime
	}
	_, err = event.Record(ctx, tx, event.Event{CompanyID: s.CompanyID, Source: company.Code, Type: "subscription", Status: status,
		Data: map[string]any{"customerNumber": s.CustomerNumber, "productCode": s.ProductCode, "periodEnd": periodEnd}, Time: now})
	return err
}

func itoa(v int64) string { return strconvFormat(v) }
