package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/testkit"
)

// TestOrderInvoiceSuspendsEverySubscription: an order of two subscription
// products on one invoice, left unpaid, suspends both subscriptions once the
// grace after its due date is over (the invoice names only the first), and
// paying it gives both back.
func TestOrderInvoiceSuspendsEverySubscription(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		tok := e.ClientToken()
		var order struct{ OrderID, CustomerNumber int64 }
		body := `{"paymentMethod":"invoice","payer":{"firstName":"Kari","lastName":"Nordmann","postalCode":"0150","emails":["kari@example.no"]},
			"orderLines":[{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1},
				{"productSpecType":"coupon","productSpecCode":"PAPER","productSpecNo":1}]}`
		if st := f.call(t, "POST", "/capi/v1/client/order", tok, body, &order); st != 200 || order.OrderID == 0 {
			t.Fatalf("order: %d %+v", st, order)
		}
		if st := f.call(t, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, order.OrderID), nil); st != 200 {
			t.Fatalf("fulfilment: %d", st)
		}
		var subs []int64
		rows, err := e.App.DB.Query(`SELECT subscription_id FROM order_lines WHERE order_id = $1 ORDER BY line_no`, order.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			subs = append(subs, id)
		}
		rows.Close()
		if len(subs) != 2 {
			t.Fatalf("subscriptions of the order: %v", subs)
		}
		var invoiceID, amount int64
		if err := e.App.DB.QueryRow(`SELECT id, amount FROM invoices WHERE order_id = $1 AND kind = 'invoice'`, order.OrderID).Scan(&invoiceID, &amount); err != nil {
			t.Fatal(err)
		}
		// The orders are dated by the wall clock: run the jobs day by day from tomorrow.
		today := time.Now().UTC().Truncate(24 * time.Hour)
		suspendedOn := ""
		for d := 1; d <= 60 && suspendedOn == ""; d++ {
			date := today.AddDate(0, 0, d).Format("2006-01-02")
			if rep := f.run(t, date); rep.Suspended > 0 {
				if rep.Suspended != 2 {
					t.Fatalf("%s: %d suspended, want both subscriptions of the order at once", date, rep.Suspended)
				}
				suspendedOn = date
			}
		}
		if suspendedOn == "" {
			t.Fatal("the unpaid order invoice suspended nothing in 60 days")
		}
		for _, id := range subs {
			if s := f.sub(t, id); s.Status != subscription.StatusPaused {
				t.Fatalf("subscription %d after %s: %s, want paused", id, suspendedOn, s.Status)
			}
		}
		if n := f.count(t, `SELECT COUNT(*) FROM billing_suspensions WHERE invoice_id = $1`, invoiceID); n != 2 {
			t.Fatalf("suspensions for the order's invoice: %d", n)
		}
		// The balance: the amount and the reminder fees the dunning added.
		if err := e.App.DB.QueryRow(`SELECT amount + fee_amount FROM invoices WHERE id = $1`, invoiceID).Scan(&amount); err != nil {
			t.Fatal(err)
		}
		ctx := subscription.WithClock(context.Background(), func() time.Time { return day(suspendedOn).Add(time.Hour) })
		if err := e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			return billing.BookPayment(ctx, tx, e.App.DB.Dialect, f.company, invoiceID, billing.PaymentRecord{
				Key: "bank-order", Source: "manual", Amount: amount, MethodCode: "A", Attempt: 1})
		}); err != nil {
			t.Fatal(err)
		}
		for _, id := range subs {
			if s := f.sub(t, id); s.Status != subscription.StatusActive || !s.Paid {
				t.Fatalf("subscription %d after paying: %s, paid %v; want active and paid", id, s.Status, s.Paid)
			}
		}
		if n := f.count(t, `SELECT COUNT(*) FROM billing_suspensions`); n != 0 {
			t.Fatalf("suspensions left: %d", n)
		}
	})
}
