package jobs_test

import (
	"context"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/testkit"
)

// node is a second server on the same database: its own connection pool,
// billing engine and runner.
func (f *fixture) node(t *testing.T) *jobs.Runner {
	t.Helper()
	db, err := store.Open(context.Background(), f.e.App.DB.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng := *f.e.App.Billing
	eng.DB = db
	return &jobs.Runner{DB: db, Billing: &eng, Batch: 4, Workers: 3}
}

// together runs one pass of every runner at the same business date at once:
// all start when all are ready, and each runner's first committed batch
// waits until every other runner has committed one too (or has finished),
// so their claims overlap. It fails the test on any error and returns the
// reports.
func together(t *testing.T, date string, runners ...*jobs.Runner) []jobs.Report {
	t.Helper()
	n := len(runners)
	reports, failures := make([]jobs.Report, n), make([]error, n)
	arrived := make([]chan struct{}, n)
	for i := range arrived {
		arrived[i] = make(chan struct{})
	}
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i, base := range runners {
		r := *base
		arrive := sync.OnceFunc(func() { close(arrived[i]) })
		r.OnBatch = func(string) {
			arrive()
			for _, ch := range arrived {
				<-ch
			}
		}
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			defer arrive()
			ready.Done()
			<-start
			reports[i], failures[i] = r.RunOnce(context.Background(), day(date))
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	for i, err := range failures {
		if err != nil {
			t.Fatalf("node %d on %s: %v", i, date, err)
		}
	}
	return reports
}

func sum(reports []jobs.Report) jobs.Report {
	var s jobs.Report
	for _, r := range reports {
		s.Issued += r.Issued
		s.Charged += r.Charged
		s.Declined += r.Declined
		s.Renewed += r.Renewed
		s.Overdue += r.Overdue
		s.Reminded += r.Reminded
		s.Suspended += r.Suspended
		s.Restarted += r.Restarted
	}
	return s
}

// TestTwoNodesAtOnce: two nodes (separate connection pools) run every pass
// of a renewal cycle at the same instant against the same due set. Each
// subscription is invoiced, charged, renewed and dunned exactly once: one
// invoice and one invoice/issued event per subscription, one charge per
// attempt at the provider, one renewal, and each dunning event once; a
// payment resumes a suspended subscription once.
func TestTwoNodesAtOnce(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		const total, cards, declining = 24, 8, 2
		customers := map[int64]int64{} // subscription → customer
		var sids []int64
		for i := range total {
			price := int64(19900)
			if i >= cards && i < cards+declining {
				price = 19913 // the simulated provider declines it
			}
			cno, sid := f.subscribe(t, "2025-01-01", price)
			customers[sid] = cno
			sids = append(sids, sid)
			if i < cards+declining {
				f.addCard(t, cno, "2025-01-05")
			}
		}
		a := *f.runner
		a.Batch, a.Workers = 4, 3
		nodes := []*jobs.Runner{&a, f.node(t)}
		payers := total - cards - declining

		if s := sum(together(t, "2025-01-18", nodes...)); s.Issued != total {
			t.Fatalf("issue: %+v", s)
		}
		if s := sum(together(t, "2025-02-01", nodes...)); s.Charged != cards || s.Declined != declining || s.Renewed != total {
			t.Fatalf("charge and renew: %+v", s)
		}
		if s := sum(together(t, "2025-02-02", nodes...)); s.Overdue != payers || s.Declined != declining {
			t.Fatalf("overdue and first retry: %+v", s)
		}
		if s := sum(together(t, "2025-02-04", nodes...)); s.Declined != declining {
			t.Fatalf("second retry: %+v", s)
		}
		if s := sum(together(t, "2025-02-08", nodes...)); s.Reminded != payers {
			t.Fatalf("reminders: %+v", s)
		}
		// The paying ones' next period is invoiced in its lead time the same day.
		if s := sum(together(t, "2025-02-15", nodes...)); s.Suspended != payers || s.Issued != cards+declining {
			t.Fatalf("suspension: %+v", s)
		}
		// Every pass again, both nodes: nothing happens twice.
		for _, date := range []string{"2025-01-18", "2025-02-01", "2025-02-02", "2025-02-04", "2025-02-08", "2025-02-15"} {
			if s := sum(together(t, date, nodes...)); s != (jobs.Report{}) {
				t.Fatalf("rerun of %s: %+v", date, s)
			}
		}

		for _, sid := range sids {
			if n := f.count(t, `SELECT COUNT(*) FROM invoices WHERE subscription_id = $1 AND kind = 'invoice' AND period_no = 2`, sid); n != 1 {
				t.Fatalf("subscription %d has %d invoices for period 2", sid, n)
			}
			if n := f.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'subscription.renew' AND target = $1`, "subscription:"+strconv.FormatInt(sid, 10)); n != 1 {
				t.Fatalf("subscription %d renewed %d times", sid, n)
			}
		}
		issued := total + cards + declining
		if n := f.count(t, `SELECT COUNT(DISTINCT invoice_number) FROM invoices WHERE kind = 'invoice'`); n != issued {
			t.Fatalf("distinct invoice numbers: %d", n)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM simulated_gateway_charges WHERE calls <> 1`); n != 0 {
			t.Fatalf("%d charges were sent more than once", n)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM simulated_gateway_charges WHERE outcome = 'succeeded'`); n != cards {
			t.Fatalf("charged at the provider: %d", n)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM payments WHERE status = 'succeeded'`); n != cards {
			t.Fatalf("booked payments: %d", n)
		}
		for _, c := range []struct {
			typ, status string
			want        int
		}{
			{"invoice", "issued", issued},
			{"invoice", "paid", cards},
			{"invoice", "overdue", payers},
			{"invoice", "reminded", payers},
			{"payment", "failed", 3 * declining}, // three attempts each
			{"subscription", "renew", total},
			{"subscription", "suspended", payers},
		} {
			if n := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE type = $1 AND status = $2`, c.typ, c.status); n != c.want {
				t.Errorf("%s/%s events: %d, want %d", c.typ, c.status, n, c.want)
			}
		}

		// A payment resumes a suspended subscription once; a second
		// confirmation of the same transaction and later passes change nothing.
		sid := sids[total-1]
		inv := f.invoice(t, sid, 2)
		f.payOnline(t, customers[sid], inv, "2025-02-16")
		var txn int64
		if err := e.App.DB.QueryRow(`SELECT id FROM payment_transactions WHERE invoice_id = $1`, inv.ID).Scan(&txn); err != nil {
			t.Fatal(err)
		}
		ctx := subscription.WithClock(context.Background(), func() time.Time { return day("2025-02-16") })
		if _, err := e.App.Billing.FinishFlow(ctx, txn, url.Values{"outcome": {"approve"}}); err == nil {
			t.Fatal("a transaction finished twice")
		}
		together(t, "2025-02-16", nodes...)
		if s := f.sub(t, sid); s.Status != subscription.StatusActive || s.Periods != 2 || !s.Paid {
			t.Fatalf("resumed subscription: %+v", s)
		}
		if got := f.invoice(t, sid, 2); got.Status != billing.StatusPaid {
			t.Fatalf("paid invoice: %+v", got)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE type = 'subscription' AND status = 'resumed'`); n != 1 {
			t.Fatalf("subscription/resumed events: %d", n)
		}
	})
}
