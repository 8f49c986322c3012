package jobs_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/testkit"
)

// BenchmarkRenewalRun is the renewal run of DESIGN §7a on PostgreSQL:
// BENCH_RENEWALS active monthly subscriptions (default 1,000,000) due in the
// lead window; one `jobs run-once` pass issues every next-period invoice
// (lines, KID, payer snapshot, invoice/issued event). It reports invoices/s
// and the total time; the data set is generated once, outside the timing.
// Then half the invoices are marked paid and the pass on the period's first
// day is timed: it extends every subscription by a period (paid or not).
// NEWS has a product dependency rule met by every second customer (a PAPER
// subscription that is not due); BENCH_DEPENDENCIES=0 leaves both out.
//
//	CONNECT_TEST_POSTGRES_URL=... BENCH_RENEWALS=1000000 go test -run '^$' -bench RenewalRun -benchtime 1x ./internal/jobs
func BenchmarkRenewalRun(b *testing.B) {
	if os.Getenv("CONNECT_TEST_POSTGRES_URL") == "" {
		b.Skip("CONNECT_TEST_POSTGRES_URL not set")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("BENCH_RENEWALS")); err == nil && v > 0 {
		n = v
	}
	workers := 4
	if v, err := strconv.Atoi(os.Getenv("BENCH_WORKERS")); err == nil && v > 0 {
		workers = v
	}
	e := testkit.New(b, store.Postgres)
	ctx := context.Background()
	if _, err := customer.Generate(ctx, e.App.DB, testkit.Company, n); err != nil {
		b.Fatal(err)
	}
	// One monthly NEWS subscription per customer, period 1 = January 2025.
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, oslo).UnixMilli()
	end := time.Date(2025, 1, 31, 23, 59, 59, 0, oslo).UnixMilli()
	if _, err := e.App.DB.ExecContext(ctx, `INSERT INTO subscriptions (company_id, customer_number, product_code, status,
		start_time, end_time, anchor_date, periods, period_length, period_type, price, currency, paid, created_at, updated_at)
		SELECT company_id, customer_number, 'NEWS', 'active', $1, $2, '2025-01-01', 1, 1, 'month', 19900, 'NOK', TRUE, $1, $1
		FROM customers`, start, end); err != nil {
		b.Fatal(err)
	}
	// Product dependency discounts (BENCH_DEPENDENCIES=0 leaves them out):
	// NEWS is half price with PAPER, and every second customer holds a
	// yearly PAPER subscription that is not due, so every claimed batch
	// reads its customers' holdings and half the invoices get a discount line.
	dependencies := os.Getenv("BENCH_DEPENDENCIES") != "0"
	if dependencies {
		if _, err := e.App.DB.ExecContext(ctx, `INSERT INTO product_dependencies (company_id, product_code, required_product,
			discount_type, discount_value, updated_at) SELECT id, 'NEWS', 'PAPER', 'percent', 5000, 0 FROM companies WHERE code = $1`,
			testkit.Company); err != nil {
			b.Fatal(err)
		}
		if _, err := e.App.DB.ExecContext(ctx, `INSERT INTO subscriptions (company_id, customer_number, product_code, status,
			start_time, end_time, anchor_date, periods, period_length, period_type, price, currency, paid, created_at, updated_at)
			SELECT company_id, customer_number, 'PAPER', 'active', $1, $2, '2024-07-01', 1, 1, 'year', 449000, 'NOK', TRUE, $1, $1
			FROM customers WHERE customer_number % 2 = 0`, time.Date(2024, 7, 1, 0, 0, 0, 0, oslo).UnixMilli(),
			time.Date(2025, 6, 30, 23, 59, 59, 0, oslo).UnixMilli()); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := e.App.DB.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	r := &jobs.Runner{DB: e.App.DB, Billing: e.App.Billing, Workers: workers, Batch: 500}
	b.ResetTimer()
	t0 := time.Now()
	rep, err := r.RunOnce(ctx, day("2025-01-18"))
	elapsed := time.Since(t0)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if rep.Issued != n {
		b.Fatalf("issued %d of %d", rep.Issued, n)
	}
	if dependencies {
		var discounted int
		if err := e.App.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM invoice_lines WHERE description = 'Product dependency discount'`).Scan(&discounted); err != nil {
			b.Fatal(err)
		}
		if discounted != n/2 {
			b.Fatalf("%d discounted invoices of %d, want half", discounted, n)
		}
	}
	b.ReportMetric(float64(rep.Issued)/elapsed.Seconds(), "invoices/s")
	b.ReportMetric(elapsed.Seconds(), "s-total")
	b.Logf("renewal run: %d subscriptions, %d invoices in %s (%.0f invoices/s, %d workers)", n, rep.Issued, elapsed.Round(time.Millisecond),
		float64(rep.Issued)/elapsed.Seconds(), workers)

	// The renewal day: paid and unpaid periods both renew.
	if _, err := e.App.DB.ExecContext(ctx, `UPDATE invoices SET status = 'paid' WHERE kind = 'invoice' AND id % 2 = 0`); err != nil {
		b.Fatal(err)
	}
	if _, err := e.App.DB.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	t0 = time.Now()
	rep, err = r.RunOnce(ctx, day("2025-02-01"))
	elapsed = time.Since(t0)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if rep.Renewed != n {
		b.Fatalf("renewed %d of %d", rep.Renewed, n)
	}
	b.ReportMetric(float64(rep.Renewed)/elapsed.Seconds(), "renewals/s")
	b.ReportMetric(elapsed.Seconds(), "s-renewal-day")
	b.Logf("renewal day: %d subscriptions renewed in %s (%.0f renewals/s, %d workers)", rep.Renewed, elapsed.Round(time.Millisecond),
		float64(rep.Renewed)/elapsed.Seconds(), workers)
}
