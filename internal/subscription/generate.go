package subscription

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// GenerateBench gives every second synthetic customer of the company (odd
// customer numbers) an active monthly subscription on product, with its
// entitlement, in two set-based statements (benchmarks: `connect demo
// --customers N`). Customers that already hold the product are skipped.
// No events or audit rows: this is bulk test data, not business activity.
func GenerateBench(ctx context.Context, db *store.DB, companyCode, product string, now time.Time) (int64, error) {
	var companyID int64
	var zone, currency string
	if err := db.QueryRowContext(ctx, `SELECT id, time_zone, currency FROM companies WHERE code = $1`, companyCode).Scan(&companyID, &zone, &currency); err != nil {
		return 0, fmt.Errorf("company %s: %w", companyCode, store.Translate(err))
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return 0, err
	}
	start := dayStart(now, loc)
	end := lastDayBefore(addPeriods(start, 1, 1, Month))
	ms := now.UnixMilli()
	var n int64
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (company_id, customer_number, product_code, status, start_time, end_time,
			anchor_date, periods, period_length, period_type, price, currency, paid, distribution_level, created_at, updated_at)
			SELECT c.company_id, c.customer_number, $2, 'active', $3, $4, $5, 1, 1, 'month', 0, $6, TRUE, 'N', $7, $7
			FROM customers c WHERE c.company_id = $1 AND c.customer_number % 2 = 1
			AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.company_id = c.company_id AND s.customer_number = c.customer_number
				AND s.product_code = $2 AND s.status <> 'ended')`,
			companyID, product, start.UnixMilli(), end.UnixMilli(), start.Format(dateLayout), currency, ms)
		if err != nil {
			return store.Translate(err)
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `INSERT INTO entitlements (company_id, customer_number, product_code, level, source, valid_from, valid_until)
			SELECT company_id, customer_number, product_code, 'A', 's' || CAST(id AS TEXT), start_time, NULL
			FROM subscriptions WHERE company_id = $1 AND product_code = $2 AND status <> 'ended' AND created_at = $3
			ON CONFLICT DO NOTHING`, companyID, product, ms)
		if err != nil {
			return store.Translate(err)
		}
		return logChange(ctx, tx, companyID, 0)
	})
	return n, err
}
