package order_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/order"
	"github.com/connect-oss/connect/internal/testkit"
)

// fulfilWithCallback asks the fulfillment API to fulfil the order with the
// receiver's callback URL and checks the answer.
func (e *callbackEnv) fulfilWithCallback(t *testing.T, orderID int64, answer string) {
	t.Helper()
	want(t, call(e.Env, "POST", "/capi/v1/client/order/fulfillment", e.token,
		fmt.Sprintf(`{"orderId":%d,"callbackUrl":%q}`, orderID, e.receiver.callbackURL())), 200, answer)
}

// callbacks counts the order's recorded callbacks.
func (e *callbackEnv) callbacks(t *testing.T, orderID int64) int {
	t.Helper()
	return count(t, e.Env, `SELECT COUNT(*) FROM order_callbacks WHERE order_id = $1`, orderID)
}

// cardOrderWithCallback registers a card order without a ticket, whose
// payer has nothing stored: the fulfillment API answers ERROR (nothing to
// charge) but keeps the callbackUrl, and the order stays preliminary for the
// fulfillment page.
func (e *callbackEnv) cardOrderWithCallback(t *testing.T, ext string) int64 {
	t.Helper()
	o := registerOrder(t, e.Env, e.token, cardOrder(ext))
	e.fulfilWithCallback(t, o.OrderID, `"fulfillmentStatus":"ERROR"`)
	if s := orderStatus(t, e.Env, e.token, o.OrderID); s != "preliminary" || e.callbacks(t, o.OrderID) != 0 {
		t.Fatalf("after the API's ERROR the order is %s with %d callbacks", s, e.callbacks(t, o.OrderID))
	}
	return o.OrderID
}

// cancelAtPage opens the fulfillment page and cancels the order.
func cancelAtPage(t *testing.T, e *testkit.Env, b *testkit.Browser, orderID int64) {
	t.Helper()
	res := b.Get(fulfillmentQuery(orderID))
	form := testkit.Hidden(res.Body)
	form.Set("action", "cancel")
	if got := e.Location(b.Post("/user/fulfillment", form)).String(); got != "http://localhost:3000/done?fulfillmentStatus=cancel&x=1" {
		t.Fatalf("cancel went to %s", got)
	}
}

func TestOrderCallbackOfAnOrderEndedOnTheFulfillmentPage(t *testing.T) {
	runCallbacks(t, nil, func(t *testing.T, e *callbackEnv) {
		alice := loggedIn(t, e.Env, "alice@example.com", "alice-password")
		for i, c := range []struct {
			name, orderStatus, callback string
			end                         func(orderID int64)
		}{
			{"cancelled on the page", "cancelled", "failed", func(id int64) { cancelAtPage(t, e.Env, alice, id) }},
			{"paid at the provider", "completed", "success", func(id int64) {
				tx := toProvider(t, e.Env, confirmAtPage(t, e.Env, alice, id))
				backAtPage(t, e.Env, alice, atProvider(t, alice, tx, id, "approve"), tx, "success")
			}},
			{"cancelled at the provider", "cancelled", "failed", func(id int64) {
				tx := toProvider(t, e.Env, confirmAtPage(t, e.Env, alice, id))
				backAtPage(t, e.Env, alice, atProvider(t, alice, tx, id, "cancel"), tx, "cancel")
			}},
			{"refused at the provider", "failed", "failed", func(id int64) {
				tx := toProvider(t, e.Env, confirmAtPage(t, e.Env, alice, id))
				backAtPage(t, e.Env, alice, atProvider(t, alice, tx, id, "fail"), tx, "error")
			}},
		} {
			id := e.cardOrderWithCallback(t, fmt.Sprintf("page-%d", i))
			c.end(id)
			if s := orderStatus(t, e.Env, e.token, id); s != c.orderStatus {
				t.Fatalf("%s: order %s, want %s", c.name, s, c.orderStatus)
			}
			// Committed with the order's end, before any deliverer ran.
			if cb := e.callback(t, id); cb.status != order.CallbackPending || cb.url != e.receiver.called(c.callback) {
				t.Fatalf("%s: recorded %+v", c.name, cb)
			}
			before := len(e.receiver.got())
			e.deliverDue(t, e.deliverer(), 1)
			if got := e.receiver.got(); len(got) != before+1 || got[before] != "GET fulfillmentStatus="+c.callback+"&ref=7" {
				t.Fatalf("%s: receiver got %q", c.name, got)
			}
			if cb := e.callback(t, id); cb.status != order.CallbackDelivered || cb.attempts != 1 {
				t.Fatalf("%s: after delivery %+v", c.name, cb)
			}
		}
		// A page that ends an order whose client gave no callbackUrl records none.
		o := registerOrder(t, e.Env, e.token, cardOrder("page-no-callback"))
		cancelAtPage(t, e.Env, alice, o.OrderID)
		if n := e.callbacks(t, o.OrderID); n != 0 {
			t.Fatalf("%d callbacks for an order without callbackUrl", n)
		}
	})
}

func TestOrderCallbackOfAnExpiredOrderSaysFailed(t *testing.T) {
	runCallbacks(t, nil, func(t *testing.T, e *callbackEnv) {
		// Preliminary: the API could not charge it. Pending: a payment
		// request to the payer's phone that nobody answers.
		preliminary := e.cardOrderWithCallback(t, "expire-preliminary")
		sms := registerOrder(t, e.Env, e.token, fmt.Sprintf(`{"paymentMethod":"sms",%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer))
		e.fulfilWithCallback(t, sms.OrderID, `"fulfillmentStatus":"OK"`)
		pending := sms.OrderID
		if s := orderStatus(t, e.Env, e.token, pending); s != "pending" || e.callbacks(t, pending) != 0 {
			t.Fatalf("sms order %s with %d callbacks", s, e.callbacks(t, pending))
		}

		// After a day the pending order fails; the preliminary one waits a week.
		ctx := context.Background()
		if _, err := order.ExpireStale(ctx, e.App.DB, time.Now().Add(25*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if s := orderStatus(t, e.Env, e.token, pending); s != "failed" {
			t.Fatalf("pending order after a day: %s", s)
		}
		if cb := e.callback(t, pending); cb.url != e.receiver.called("failed") {
			t.Fatalf("expired pending order recorded %+v", cb)
		}
		if n := e.callbacks(t, preliminary); n != 0 {
			t.Fatalf("a preliminary order of a day has %d callbacks", n)
		}
		// The jobs runner (connect jobs run-once) is what expires orders.
		runner := &jobs.Runner{DB: e.App.DB, Billing: e.App.Billing}
		if rep, err := runner.RunOnce(ctx, time.Now().Add(8*24*time.Hour)); err != nil || rep.Expired != 1 {
			t.Fatalf("jobs expired %d orders (%v), want the preliminary one", rep.Expired, err)
		}
		if s := orderStatus(t, e.Env, e.token, preliminary); s != "cancelled" {
			t.Fatalf("preliminary order after a week: %s", s)
		}
		if cb := e.callback(t, preliminary); cb.url != e.receiver.called("failed") {
			t.Fatalf("expired preliminary order recorded %+v", cb)
		}

		// Recorded at the expiry's time: due once the deliverers' clock gets there.
		d := e.deliverer()
		e.deliverDue(t, d, 0)
		e.clock.Advance(9 * 24 * time.Hour)
		e.deliverDue(t, d, 2)
		if got := e.receiver.got(); len(got) != 2 || got[0] != "GET fulfillmentStatus=failed&ref=7" || got[1] != got[0] {
			t.Fatalf("receiver got %q", got)
		}
		// An expired order stays called back once: expiring again records nothing new.
		if _, err := order.ExpireStale(ctx, e.App.DB, time.Now().Add(30*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(30 * 24 * time.Hour)
		e.deliverDue(t, d, 0)
	})
}

func TestDoneOrderCallbacksArePurgedAfterTheirRetention(t *testing.T) {
	runCallbacks(t, nil, func(t *testing.T, e *callbackEnv) {
		ctx := context.Background()
		delivered := e.fulfilInvoiceOrder(t, "purge-delivered")
		e.deliverDue(t, e.deliverer(), 1)
		deliveredAt := e.clock.Now()

		// Given up at once: a deliverer on a node whose own address is the receiver's.
		failed := e.fulfilInvoiceOrder(t, "purge-failed")
		e.clock.Advance(time.Hour)
		refusing := order.NewCallbackDeliverer(e.App.DB, event.Config{Now: e.clock.Now, SelfURLs: []string{e.receiver.URL},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		e.deliverDue(t, refusing, 1)
		if c := e.callback(t, failed); c.status != order.CallbackFailed {
			t.Fatalf("given-up callback %+v", c)
		}
		failedAt := e.clock.Now()

		// Never delivered: pending callbacks are kept however old.
		pending := e.fulfilInvoiceOrder(t, "purge-pending")

		runner := &jobs.Runner{DB: e.App.DB, Billing: e.App.Billing}
		run := func(at time.Time) jobs.Report {
			t.Helper()
			rep, err := runner.RunOnce(ctx, at)
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}
		if rep := run(deliveredAt.Add(order.CallbackRetention - time.Minute)); rep.Callbacks != 0 {
			t.Fatalf("purged %d callbacks inside their retention", rep.Callbacks)
		}
		if rep := run(deliveredAt.Add(order.CallbackRetention + time.Minute)); rep.Callbacks != 1 {
			t.Fatalf("purged %d callbacks, want the delivered one", rep.Callbacks)
		}
		if e.callbacks(t, delivered) != 0 || e.callbacks(t, failed) != 1 || e.callbacks(t, pending) != 1 {
			t.Fatal("the delivered callback is not the one purged")
		}
		if n, err := order.PurgeCallbacks(ctx, e.App.DB, failedAt.Add(order.CallbackRetention+time.Minute)); err != nil || n != 1 {
			t.Fatalf("purged %d (%v), want the given-up one", n, err)
		}
		if n, err := order.PurgeCallbacks(ctx, e.App.DB, failedAt.Add(10*order.CallbackRetention)); err != nil || n != 0 {
			t.Fatalf("purged %d (%v), want none: the rest is pending", n, err)
		}
		if c := e.callback(t, pending); c.status != order.CallbackPending {
			t.Fatalf("pending callback %+v", c)
		}
		// The order itself stays.
		want(t, call(e.Env, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", delivered), e.token, ""), 200, `"orderStatus":"completed"`)
	})
}
