package jobs_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/testkit"
)

// A weekly subscription renews twice within the 14 days of grace after an
// invoice's due date, so its unpaid invoice is never the current period's
// when the grace ends. It is suspended all the same, and paying that invoice
// gives access back without counting the current, unpaid week as paid.
func TestWeeklySubscriptionIsSuspendedWhenUnpaid(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		cno, sid := f.subscribeEvery(t, "2025-01-01", 5000, "week")
		var suspendedOn string
		for d := day("2025-01-01"); d.Before(day("2025-03-01")) && suspendedOn == ""; d = d.AddDate(0, 0, 1) {
			date := d.Format("2006-01-02")
			if rep := f.run(t, date); rep.Suspended == 1 {
				suspendedOn = date
			} else if rep.Suspended != 0 || rep.Lapsed != 0 {
				t.Fatalf("%s: %+v", date, rep)
			}
		}
		if suspendedOn == "" {
			t.Fatal("an unpaid weekly subscription was never suspended")
		}
		s := f.sub(t, sid)
		if s.Status != subscription.StatusPaused {
			t.Fatalf("suspended on %s: %+v", suspendedOn, s)
		}
		var invID, period int64
		if err := e.App.DB.QueryRow(`SELECT b.invoice_id, i.period_no FROM billing_suspensions b JOIN invoices i ON i.id = b.invoice_id
			WHERE b.subscription_id = $1`, sid).Scan(&invID, &period); err != nil {
			t.Fatal(err)
		}
		if period != 2 || int64(s.Periods) < period {
			t.Fatalf("suspended on %s for the invoice of period %d, subscription at period %d", suspendedOn, period, s.Periods)
		}
		// The oldest unpaid invoice (the second week's) is paid online.
		inv := f.invoice(t, sid, 2)
		body := fmt.Sprintf(`{"invoiceNumber":"%d","productCode":"NEWS","companyCode":"ACME","paymentMethod":"creditcardPayex"}`, inv.Number)
		var started billing.FlowStarted
		if st := f.call(t, "POST", "/capi/v1/customer/payment/invoice", f.user(cno), body, &started); st != 200 || !started.Success {
			t.Fatalf("invoice-pay: %d %+v", st, started)
		}
		paidOn := day(suspendedOn).Add(time.Hour).Format("2006-01-02")
		if st := f.finish(t, started.TransactionID, "approve", paidOn); st != "finished" {
			t.Fatalf("flow: %s", st)
		}
		after := f.sub(t, sid)
		if after.Status != subscription.StatusActive || after.Periods != s.Periods+1 || after.Paid {
			t.Fatalf("after paying week 2's invoice: %+v (suspended: %+v)", after, s)
		}
	})
}
