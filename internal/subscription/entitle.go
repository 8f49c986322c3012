package subscription

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
)

// Sub is a subscription as stored.
type Sub struct {
	ID                 int64
	CompanyID          int64
	CustomerNumber     int64
	ProductCode        string
	CouponCode         string
	CouponNumber       int64
	Copies             int
	Status             string
	StartTime, EndTime int64
	AnchorDate         string
	AnchorPeriod       int // the period that begins on AnchorDate
	Periods            int
	FixedEnd           bool
	PeriodLength       int
	PeriodType         string
	Price              int64
	Currency           string
	// The coupon's renewal terms, until the first renewal switches to them
	// (NULL: the first period's terms continue).
	RenewalPrice          sql.NullInt64
	RenewalLength         sql.NullInt64
	RenewalType           sql.NullString
	Paid                  bool
	StopTime              sql.NullInt64
	PauseFrom, PauseUntil sql.NullInt64
	PauseExtend           bool // the planned pause moves the paid period's end (vacationStopPolicy extend)
	OrderID               int64
	DistributionLevel     string
	DeliveryPlanID        sql.NullInt64
	AccessProducts        []string
	CustomerReference     string
	SalesPerson           string
	UpdatedAt             int64
}

const subColumns = `id, company_id, customer_number, product_code, coupon_code, coupon_number, copies, status,
	start_time, end_time, anchor_date, anchor_period, periods, fixed_end, period_length, period_type, price, currency, paid,
	stop_time, pause_from, pause_until, pause_extend, order_id, distribution_level, product_delivery_plan_id, access_products,
	customer_reference, sales_person, updated_at, renewal_price, renewal_period_length, renewal_period_type`

type scanner interface{ Scan(dest ...any) error }

// scanSub scans the subColumns of one row, after the columns of before
// (a query that selects other columns first).
func scanSub(r scanner, before ...any) (*Sub, error) {
	var s Sub
	var access string
	dest := append(before, &s.ID, &s.CompanyID, &s.CustomerNumber, &s.ProductCode, &s.CouponCode, &s.CouponNumber, &s.Copies, &s.Status,
		&s.StartTime, &s.EndTime, &s.AnchorDate, &s.AnchorPeriod, &s.Periods, &s.FixedEnd, &s.PeriodLength, &s.PeriodType, &s.Price, &s.Currency, &s.Paid,
		&s.StopTime, &s.PauseFrom, &s.PauseUntil, &s.PauseExtend, &s.OrderID, &s.DistributionLevel, &s.DeliveryPlanID, &access,
		&s.CustomerReference, &s.SalesPerson, &s.UpdatedAt, &s.RenewalPrice, &s.RenewalLength, &s.RenewalType)
	err := r.Scan(dest...)
	if err != nil {
		return nil, err
	}
	s.AccessProducts = splitList(access)
	return &s, nil
}

// load reads one subscription of the company.
func load(ctx context.Context, q store.Queryer, companyID, id int64) (*Sub, error) {
	s, err := scanSub(q.QueryRowContext(ctx, `SELECT `+subColumns+` FROM subscriptions WHERE company_id = $1 AND id = $2`, companyID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "subscription not found")
	}
	return s, store.Translate(err)
}

// Current returns the customer's current-or-future subscription on product,
// or NotFound.
func Current(ctx context.Context, q store.Queryer, companyID, customer int64, product string) (*Sub, error) {
	s, err := scanSub(q.QueryRowContext(ctx, `SELECT `+subColumns+` FROM subscriptions
		WHERE company_id = $1 AND customer_number = $2 AND product_code = $3 AND status <> 'ended'`, companyID, customer, product))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no subscription on %s", product)
	}
	return s, store.Translate(err)
}

// Products are the products s grants access to.
func (s *Sub) Products() []string {
	return append([]string{s.ProductCode}, s.AccessProducts...)
}

// window is the access s grants: from (inclusive) and until (exclusive, 0 =
// open: type A). ok is false when it grants nothing.
func (s *Sub) window() (from, until int64, ok bool) {
	if s.Status == StatusEnded {
		return 0, 0, false
	}
	paidEnd := s.EndTime + 1000 // through the last second of the last paid day
	switch {
	case s.Status == StatusStopped || s.FixedEnd:
		until = paidEnd
	case s.Status == StatusPaused:
		// Nothing renews during a pause: access ends with the paid period
		// (moved later by the pause itself with vacationStopPolicy extend).
		// A planned pause changes nothing until it begins.
		until = paidEnd
	}
	return s.StartTime, until, true
}

// refreshCustomer rewrites every entitlement of one customer from its
// sources: own subscriptions (level A), temporary grants (level A) and
// accepted shares (level B). It runs in the transaction of each change.
func refreshCustomer(ctx context.Context, tx *sql.Tx, companyID, customer int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM entitlements WHERE company_id = $1 AND customer_number = $2`, companyID, customer); err != nil {
		return store.Translate(err)
	}
	if err := logChange(ctx, tx, companyID, customer); err != nil {
		return err
	}
	type row struct {
		product, level, source string
		from, until            int64
	}
	var rows []row
	subs, err := tx.QueryContext(ctx, `SELECT `+subColumns+` FROM subscriptions
		WHERE company_id = $1 AND customer_number = $2 AND status <> 'ended'`, companyID, customer)
	if err != nil {
		return store.Translate(err)
	}
	for subs.Next() {
		s, err := scanSub(subs)
		if err != nil {
			subs.Close()
			return err
		}
		if from, until, ok := s.window(); ok {
			for _, p := range s.Products() {
				rows = append(rows, row{p, "A", "s" + itoa(s.ID), from, until})
			}
		}
	}
	subs.Close()
	if err := subs.Err(); err != nil {
		return err
	}
	now := Now(ctx).UnixMilli()
	grants, err := tx.QueryContext(ctx, `SELECT id, product_code, valid_from, valid_until FROM access_grants
		WHERE company_id = $1 AND customer_number = $2 AND valid_until > $3`, companyID, customer, now)
	if err != nil {
		return store.Translate(err)
	}
	for grants.Next() {
		var r row
		var id int64
		if err := grants.Scan(&id, &r.product, &r.from, &r.until); err != nil {
			grants.Close()
			return err
		}
		r.level, r.source = "A", "g"+itoa(id)
		rows = append(rows, r)
	}
	grants.Close()
	shared, err := tx.QueryContext(ctx, `SELECT h.id, `+prefixedColumns("s")+` FROM shares h
		JOIN subscriptions s ON s.id = h.subscription_id
		WHERE h.company_id = $1 AND h.recipient_customer = $2 AND h.status = 'ACCEPTED'`, companyID, customer)
	if err != nil {
		return store.Translate(err)
	}
	for shared.Next() {
		var hid int64
		s, err := scanSub(shared, &hid)
		if err != nil {
			shared.Close()
			return err
		}
		if from, until, ok := s.window(); ok {
			for _, p := range s.Products() {
				rows = append(rows, row{p, "B", "h" + itoa(hid), from, until})
			}
		}
	}
	shared.Close()
	for _, r := range rows {
		var until any
		if r.until != 0 {
			until = r.until
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO entitlements (company_id, customer_number, product_code, level, source, valid_from, valid_until)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, companyID, customer, r.product, r.level, r.source, r.from, until); err != nil {
			return store.Translate(err)
		}
	}
	return nil
}

// refreshForSubscription refreshes the owner of s and everyone who holds an
// accepted share of it.
func refreshForSubscription(ctx context.Context, tx *sql.Tx, s *Sub) error {
	if err := refreshCustomer(ctx, tx, s.CompanyID, s.CustomerNumber); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT recipient_customer FROM shares
		WHERE subscription_id = $1 AND status = 'ACCEPTED' AND recipient_customer IS NOT NULL`, s.ID)
	if err != nil {
		return store.Translate(err)
	}
	var recipients []int64
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		recipients = append(recipients, c)
	}
	rows.Close()
	for _, c := range recipients {
		if err := refreshCustomer(ctx, tx, s.CompanyID, c); err != nil {
			return err
		}
	}
	return nil
}

// GrantTemporary gives a customer access to product for seconds from from
// (an order line's allowAccessProduct + allowAccessSeconds, at most 31 days),
// inside tx. Type B access.
func GrantTemporary(ctx context.Context, tx *sql.Tx, companyID, customer int64, product string, from time.Time, seconds int64, orderID int64) error {
	if err := validCode("allowAccessProduct", product); err != nil {
		return err
	}
	if seconds <= 0 || seconds > 31*24*3600 {
		return errs.Field("allowAccessSeconds", "must be between 1 and %d (31 days)", 31*24*3600)
	}
	if ok, _, err := productActive(ctx, tx, companyID, product, from); err != nil {
		return err
	} else if !ok {
		return errs.Field("allowAccessProduct", "unknown product %s", product)
	}
	start := from.UnixMilli()
	if _, err := tx.ExecContext(ctx, `INSERT INTO access_grants (company_id, customer_number, product_code, valid_from, valid_until, order_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, companyID, customer, product, start, start+seconds*1000, orderID, Now(ctx).UnixMilli()); err != nil {
		return store.Translate(err)
	}
	return refreshCustomer(ctx, tx, companyID, customer)
}
