package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/testkit"
)

// addCard stores a PayEx card for the customer's NEWS subscription through
// the hosted flow.
func (f *fixture) addCard(t *testing.T, cno int64, on string) {
	t.Helper()
	var started billing.FlowStarted
	if st := f.call(t, "POST", "/capi/v1/api/payment/payex/token", f.user(cno), `{"tokenType":"card","productCode":"NEWS"}`, &started); st != 200 || !started.Success {
		t.Fatalf("payex add: %d %+v", st, started)
	}
	if st := f.finish(t, started.TransactionID, "approve", on); st != "finished" {
		t.Fatalf("card flow: %s", st)
	}
}

// payOnline pays an invoice's open balance through the hosted flow.
func (f *fixture) payOnline(t *testing.T, cno int64, inv *billing.Invoice, on string) {
	t.Helper()
	body := fmt.Sprintf(`{"invoiceNumber":"%d","productCode":"NEWS","companyCode":"ACME","paymentMethod":"creditcardPayex"}`, inv.Number)
	var started billing.FlowStarted
	if st := f.call(t, "POST", "/capi/v1/customer/payment/invoice", f.user(cno), body, &started); st != 200 || !started.Success {
		t.Fatalf("invoice-pay: %d %+v", st, started)
	}
	if st := f.finish(t, started.TransactionID, "approve", on); st != "finished" {
		t.Fatalf("payment flow: %s", st)
	}
}

// midnight is 00:00 of a date in Oslo, in epoch ms.
func midnight(date string) int64 {
	d, err := time.ParseInLocation("2006-01-02", date, oslo)
	if err != nil {
		panic(err)
	}
	return d.UnixMilli()
}

// TestCatchUpAfterGap: the jobs did not run from late December to 20 April.
// One pass then does what each subscription's periods call for:
//   - a period invoiced before the gap is renewed and dunned as if the runs
//     had happened: unpaid, it is suspended; paid later, the period comes
//     back and the next pass restarts the run;
//   - periods that were never invoiced and are over are never billed: the
//     run restarts on the day of the pass (startTime moves there, as after
//     any unpaid gap) with a whole period invoiced, and charged when a card
//     is stored;
//   - a period that has begun but is not over is invoiced late, as it is;
//   - a period still ahead is invoiced in its lead time, as always;
//   - a pause planned for later stays planned.
func TestCatchUpAfterGap(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		invoicedCno, invoiced := f.subscribe(t, "2024-12-01", 19900)
		if rep := f.run(t, "2024-12-18"); rep.Issued != 1 {
			t.Fatalf("the last run before the gap: %+v", rep)
		}
		byInvoiceCno, byInvoice := f.subscribe(t, "2025-01-01", 19900)
		cardCno, byCard := f.subscribe(t, "2025-01-01", 19900)
		f.addCard(t, cardCno, "2025-01-05")
		_, planned := f.subscribe(t, "2025-01-01", 19900)
		ctx := subscription.WithClock(context.Background(), func() time.Time { return day("2025-01-02") })
		if err := e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			return subscription.Pause(ctx, tx, f.company, planned, day("2025-06-01"), day("2025-06-15"), false)
		}); err != nil {
			t.Fatalf("plan a pause: %v", err)
		}
		_, current := f.subscribe(t, "2025-03-10", 19900)
		_, ahead := f.subscribe(t, "2025-03-25", 19900)

		rep := f.run(t, "2025-04-20")
		if rep.Restarted != 3 || rep.Issued != 5 || rep.Charged != 1 || rep.Renewed != 5 || rep.Overdue != 1 ||
			rep.Reminded != 1 || rep.Suspended != 1 {
			t.Fatalf("catch-up pass: %+v", rep)
		}

		// Never invoiced, over: restarted today with a whole period.
		for _, sid := range []int64{byInvoice, byCard, planned} {
			if n := f.count(t, `SELECT COUNT(*) FROM invoices WHERE subscription_id = $1`, sid); n != 1 {
				t.Fatalf("subscription %d: %d invoices, want only the restart's", sid, n)
			}
			inv := f.invoice(t, sid, 2)
			if inv.InvoiceDate != "2025-04-20" || inv.FromDate != "2025-04-20" || inv.InclDate != "2025-05-19" || inv.Amount != 19900 {
				t.Fatalf("restart invoice of %d: %+v", sid, inv)
			}
			s := f.sub(t, sid)
			if s.Status != subscription.StatusActive || s.Periods != 2 || s.StartTime != midnight("2025-04-20") ||
				s.EndTime != midnight("2025-05-20")-1000 || s.Paid != (sid == byCard) {
				t.Fatalf("restarted subscription %d: %+v", sid, s)
			}
		}
		if s := f.sub(t, planned); s.PauseFrom.Int64 != midnight("2025-06-01") || s.PauseUntil.Int64 != midnight("2025-06-15") {
			t.Fatalf("the planned pause was not kept: %+v", s)
		}
		if inv := f.invoice(t, byInvoice, 2); inv.Status != billing.StatusOpen || inv.DueDate != "2025-05-04" {
			t.Fatalf("restart invoice to the payer: %+v", inv)
		}
		if inv := f.invoice(t, byCard, 2); inv.Status != billing.StatusPaid || inv.PaymentDate.String != "2025-04-20" {
			t.Fatalf("restart invoice charged: %+v", inv)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM simulated_gateway_charges`); n != 1 {
			t.Fatalf("gateway charges: %d, want the restart period's only", n)
		}
		// The API shows the new run: startTime moved, the period unpaid.
		var list subscription.SubscriptionList
		if st := f.get(t, e.ClientToken(), fmt.Sprintf("/capi/v1/client/subscription/%d", byInvoiceCno), "application/json", &list); st != 200 ||
			len(list.Subscriptions) != 1 || list.Subscriptions[0].StartTime != midnight("2025-04-20") ||
			list.Subscriptions[0].EndTime != midnight("2025-05-20")-1000 || list.Subscriptions[0].Paid {
			t.Fatalf("subscription list: %d %+v", st, list)
		}
		// The restart is the lifecycle's pause and resume, told to receivers
		// and audited as the jobs' doing.
		for _, st := range []string{"pause", "resume"} {
			if n := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE type = 'subscription' AND status = $1`, st); n != 3 {
				t.Fatalf("subscription/%s events: %d", st, n)
			}
		}
		if n := f.count(t, `SELECT COUNT(*) FROM audit_log WHERE actor = 'system:renewal-restart' AND action = 'subscription.resume'`); n != 3 {
			t.Fatalf("audited restarts: %d", n)
		}

		// Invoiced before the gap: renewed, overdue, reminded, suspended.
		inv := f.invoice(t, invoiced, 2)
		if inv.FromDate != "2025-01-01" || inv.Status != billing.StatusReminded || inv.FeeAmount != 4900 {
			t.Fatalf("invoice from before the gap: %+v", inv)
		}
		if s := f.sub(t, invoiced); s.Status != subscription.StatusPaused || s.Periods != 1 {
			t.Fatalf("suspended subscription: %+v", s)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM invoices WHERE subscription_id = $1`, invoiced); n != 1 {
			t.Fatalf("a suspended subscription was invoiced again: %d", n)
		}

		// Begun, not over: invoiced late for the period as it is.
		if inv := f.invoice(t, current, 2); inv.InvoiceDate != "2025-04-20" || inv.FromDate != "2025-04-10" || inv.InclDate != "2025-05-09" {
			t.Fatalf("late invoice: %+v", inv)
		}
		if s := f.sub(t, current); s.Periods != 2 || s.StartTime != midnight("2025-03-10") {
			t.Fatalf("late-invoiced subscription: %+v", s)
		}
		// Ahead: invoiced in its lead time, not renewed yet.
		if inv := f.invoice(t, ahead, 2); inv.FromDate != "2025-04-25" || inv.InclDate != "2025-05-24" {
			t.Fatalf("invoice ahead: %+v", inv)
		}
		if s := f.sub(t, ahead); s.Periods != 1 {
			t.Fatalf("renewed ahead of time: %+v", s)
		}

		if rep := f.run(t, "2025-04-20"); rep != (jobs.Report{}) {
			t.Fatalf("a rerun changed something: %+v", rep)
		}

		// Paying the suspended invoice gives the January period back; the
		// next pass restarts the run, billing none of February to April.
		f.payOnline(t, invoicedCno, inv, "2025-04-21")
		if s := f.sub(t, invoiced); s.Status != subscription.StatusActive || s.Periods != 2 || !s.Paid {
			t.Fatalf("resumed subscription: %+v", s)
		}
		if rep := f.run(t, "2025-04-21"); rep.Restarted != 1 || rep.Issued != 1 || rep.Renewed != 1 {
			t.Fatalf("pass after the payment: %+v", rep)
		}
		if inv := f.invoice(t, invoiced, 3); inv.FromDate != "2025-04-21" || inv.InclDate != "2025-05-20" {
			t.Fatalf("restart after the payment: %+v", inv)
		}
		if s := f.sub(t, invoiced); s.Periods != 3 || s.StartTime != midnight("2025-04-21") {
			t.Fatalf("restarted after the payment: %+v", s)
		}
	})
}
