package jobs_test

import (
	"testing"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/testkit"
)

// events counts the outbox events of a type and status.
func (f *fixture) events(t *testing.T, typ, status string) int {
	t.Helper()
	return f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE type = $1 AND status = $2`, typ, status)
}

// TestLapseCancelsLaterInvoices: with a grace period longer than the lead
// time (suspendAfterDays 30), the next period is invoiced and begins before
// the unpaid one would suspend. When the unpaid renewal offer lapses, the
// subscription ends and the later period's invoice, issued ahead of a
// renewal that will not come, is cancelled with it instead of being
// reminded and lapsing on its own. Every pass runs twice: each dunning
// event exists once.
func TestLapseCancelsLaterInvoices(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		if _, err := e.App.DB.Exec(`UPDATE billing_settings SET suspend_after_days = 60 WHERE company_id = $1`, f.company); err != nil {
			t.Fatal(err)
		}
		_, sid := f.subscribe(t, "2025-01-01", 19900)
		want := map[string]jobs.Report{
			"2025-01-18": {Issued: 1},   // February
			"2025-02-01": {Renewed: 1},  // February begins unpaid
			"2025-02-02": {Overdue: 1},  // February's invoice
			"2025-02-08": {Reminded: 1}, // reminder 1, due 2025-02-22
			"2025-02-15": {Issued: 1},   // March, in its lead time
			"2025-02-23": {Reminded: 1}, // reminder 2, due 2025-03-09
			"2025-03-01": {Renewed: 1},  // March begins unpaid
			"2025-03-02": {Overdue: 1},  // March's invoice
			"2025-03-08": {Reminded: 1}, // March's reminder 1
			"2025-03-10": {Lapsed: 1},   // February's offer lapses: the subscription stops
			"2025-03-23": {},            // March's invoice is cancelled: no reminder 2
			"2025-04-01": {Advanced: 1}, // the stopped subscription ends
			"2025-04-15": {},            // nothing more
		}
		for _, date := range []string{"2025-01-18", "2025-02-01", "2025-02-02", "2025-02-08", "2025-02-15", "2025-02-23",
			"2025-03-01", "2025-03-02", "2025-03-08", "2025-03-10", "2025-03-23", "2025-04-01", "2025-04-15"} {
			if rep := f.run(t, date); rep != want[date] {
				t.Fatalf("%s: %+v, want %+v", date, rep, want[date])
			}
			if rep := f.run(t, date); rep != (jobs.Report{}) {
				t.Fatalf("%s again: %+v", date, rep)
			}
		}
		feb, mar := f.invoice(t, sid, 2), f.invoice(t, sid, 3)
		if feb.Status != billing.StatusCancelled || feb.Balance() != 0 || mar.Status != billing.StatusCancelled || mar.Balance() != 0 {
			t.Fatalf("invoices after the lapse: %+v %+v", feb, mar)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM invoices WHERE kind = 'credit' AND credits_invoice_id = $1`, mar.ID); n != 1 {
			t.Fatalf("credit notes of March: %d", n)
		}
		if s := f.sub(t, sid); s.Status != subscription.StatusEnded {
			t.Fatalf("subscription after the lapse: %+v", s)
		}
		for _, c := range []struct {
			typ, status string
			want        int
		}{
			{"invoice", "issued", 2}, {"invoice", "overdue", 2}, {"invoice", "reminded", 3},
			{"subscription", "renew", 2}, {"subscription", "stop", 1}, {"subscription", "expire", 1},
		} {
			if n := f.events(t, c.typ, c.status); n != c.want {
				t.Errorf("%s/%s events: %d, want %d", c.typ, c.status, n, c.want)
			}
		}
	})
}
