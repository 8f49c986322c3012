package order_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/order"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/testkit"
)

// callbackEnv is a server, a clock for callback deliverers and a client's
// callback receiver whose answers a test scripts.
type callbackEnv struct {
	*testkit.Env
	clock    *testkit.Clock
	token    string
	receiver *callbackReceiver
}

// callbackReceiver records the query of every GET it gets and answers with
// answer(n) (n: 0-based request number; nil: 200).
type callbackReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	queries []string
	answer  func(n int, w http.ResponseWriter)
}

func (r *callbackReceiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.queries...)
}

// callbackURL is the receiver's URL on a host the fixture client registered (localhost).
func (r *callbackReceiver) callbackURL() string {
	return "http://localhost:" + port(r.URL) + "/cb?ref=7"
}

// called is the URL the receiver is called with for the outcome status.
func (r *callbackReceiver) called(status string) string {
	return "http://localhost:" + port(r.URL) + "/cb?fulfillmentStatus=" + status + "&ref=7"
}

func port(raw string) string {
	u, _ := url.Parse(raw)
	return u.Port()
}

func runCallbacks(t *testing.T, answer func(n int, w http.ResponseWriter), fn func(t *testing.T, e *callbackEnv)) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		// Orders record their outcome at the real time; the deliverers' clock
		// starts later, so recorded callbacks are due, and moves by hand.
		clock := testkit.NewClock(time.Now().Add(time.Hour))
		e := &callbackEnv{Env: testkit.New(t, d), clock: clock}
		e.token = e.ClientToken()
		r := &callbackReceiver{answer: answer}
		r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			r.mu.Lock()
			n := len(r.queries)
			r.queries = append(r.queries, req.Method+" "+req.URL.RawQuery)
			answer := r.answer
			r.mu.Unlock()
			if answer != nil {
				answer(n, w)
			}
		}))
		t.Cleanup(r.Close)
		e.receiver = r
		fn(t, e)
	})
}

// deliverer is a callback deliverer on the test's clock, refusing the server's own URL.
func (e *callbackEnv) deliverer() *order.CallbackDeliverer {
	return order.NewCallbackDeliverer(e.App.DB, event.Config{Now: e.clock.Now, SelfURLs: []string{e.URL},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// deliverDue runs one pass of d and checks how many callbacks it took.
func (e *callbackEnv) deliverDue(t *testing.T, d *order.CallbackDeliverer, want int) {
	t.Helper()
	n, err := d.DeliverDue(context.Background())
	if err != nil || n != want {
		t.Fatalf("delivery pass took %d callbacks (%v), want %d", n, err, want)
	}
}

// fulfilInvoiceOrder registers an invoice order and fulfils it with the
// receiver's callback URL: it completes at once.
func (e *callbackEnv) fulfilInvoiceOrder(t *testing.T, ext string) int64 {
	t.Helper()
	o := registerOrder(t, e.Env, e.token, newsOrder(ext, "invoice"))
	want(t, call(e.Env, "POST", "/capi/v1/client/order/fulfillment", e.token,
		fmt.Sprintf(`{"orderId":%d,"callbackUrl":%q}`, o.OrderID, e.receiver.callbackURL())), 200, `"fulfillmentStatus":"OK"`)
	return o.OrderID
}

type storedCallback struct {
	url, status, lastError string
	attempts, lastStatus   int
}

func (e *callbackEnv) callback(t *testing.T, orderID int64) storedCallback {
	t.Helper()
	var c storedCallback
	err := e.App.DB.QueryRowContext(context.Background(), `SELECT url, status, attempts, last_status, last_error
		FROM order_callbacks WHERE order_id = $1`, orderID).Scan(&c.url, &c.status, &c.attempts, &c.lastStatus, &c.lastError)
	if err != nil {
		t.Fatalf("callback of order %d: %v", orderID, err)
	}
	return c
}

func TestOrderCallbackIsRecordedWithTheOutcomeAndDelivered(t *testing.T) {
	runCallbacks(t, nil, func(t *testing.T, e *callbackEnv) {
		id := e.fulfilInvoiceOrder(t, "cb-1")
		// Committed with the completed order, before any deliverer ran.
		want(t, call(e.Env, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", id), e.token, ""), 200, `"orderStatus":"completed"`)
		c := e.callback(t, id)
		if c.status != order.CallbackPending || c.attempts != 0 || c.url != e.receiver.called("success") {
			t.Fatalf("recorded %+v", c)
		}
		d := e.deliverer()
		e.deliverDue(t, d, 1)
		if got := e.receiver.got(); len(got) != 1 || got[0] != "GET fulfillmentStatus=success&ref=7" {
			t.Fatalf("receiver got %q", got)
		}
		if c := e.callback(t, id); c.status != order.CallbackDelivered || c.attempts != 1 || c.lastStatus != 200 {
			t.Fatalf("after delivery %+v", c)
		}
		// Delivered callbacks are not called again, and repeating the fulfilment records none.
		want(t, call(e.Env, "POST", "/capi/v1/client/order/fulfillment", e.token,
			fmt.Sprintf(`{"orderId":%d,"callbackUrl":%q}`, id, e.receiver.callbackURL())), 200, `"fulfillmentStatus":"OK"`)
		e.clock.Advance(time.Hour)
		e.deliverDue(t, d, 0)
		if n := len(e.receiver.got()); n != 1 {
			t.Fatalf("receiver called %d times", n)
		}
		// An order without a callbackUrl records none.
		o := registerOrder(t, e.Env, e.token, newsOrder("cb-2", "invoice"))
		want(t, call(e.Env, "POST", "/capi/v1/client/order/fulfillment", e.token, fmt.Sprintf(`{"orderId":%d}`, o.OrderID)), 200, `"fulfillmentStatus":"OK"`)
		if n := count(t, e.Env, `SELECT COUNT(*) FROM order_callbacks WHERE order_id = $1`, o.OrderID); n != 0 {
			t.Fatalf("%d callbacks for an order without callbackUrl", n)
		}
	})
}

func TestOrderCallbackOfADeclinedOrderSaysFailed(t *testing.T) {
	runCallbacks(t, nil, func(t *testing.T, e *callbackEnv) {
		card := func(ticket string) string {
			return fmt.Sprintf(`{"paymentMethod":"creditcardPayex","recurring":true,"paymentInfo":{"ticket":%q,"cardNumberMasked":"xxxx1111"},%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, ticket, payer)
		}
		for _, c := range []struct{ ticket, answer, status string }{
			{"tok-decline", `"fulfillmentStatus":"ERROR"`, "failed"},
			{"tok-ok", `"fulfillmentStatus":"OK"`, "success"},
		} {
			o := registerOrder(t, e.Env, e.token, card(c.ticket))
			want(t, call(e.Env, "POST", "/capi/v1/client/order/fulfillment", e.token,
				fmt.Sprintf(`{"orderId":%d,"callbackUrl":%q}`, o.OrderID, e.receiver.callbackURL())), 200, c.answer)
			if got := e.callback(t, o.OrderID).url; got != e.receiver.called(c.status) {
				t.Fatalf("%s: recorded %s", c.ticket, got)
			}
		}
		e.deliverDue(t, e.deliverer(), 2)
		if got := e.receiver.got(); len(got) != 2 {
			t.Fatalf("receiver got %q", got)
		}
	})
}

func TestOrderCallbackRetriesAfterAServerError(t *testing.T) {
	answer := func(n int, w http.ResponseWriter) {
		if n == 0 {
			http.Error(w, "busy", http.StatusInternalServerError)
		}
	}
	runCallbacks(t, answer, func(t *testing.T, e *callbackEnv) {
		id := e.fulfilInvoiceOrder(t, "cb-retry")
		d := e.deliverer()
		e.deliverDue(t, d, 1)
		if c := e.callback(t, id); c.status != order.CallbackPending || c.attempts != 1 || c.lastStatus != 500 || c.lastError != "HTTP 500: busy" {
			t.Fatalf("after a 500 %+v", c)
		}
		e.deliverDue(t, d, 0) // waits out its 1 s back-off
		e.clock.Advance(time.Second)
		e.deliverDue(t, d, 1)
		if c := e.callback(t, id); c.status != order.CallbackDelivered || c.attempts != 2 || c.lastError != "" {
			t.Fatalf("after the retry %+v", c)
		}
		if n := len(e.receiver.got()); n != 2 {
			t.Fatalf("receiver called %d times, want 2", n)
		}
	})
}

func TestOrderCallbackGivesUpAfterFiveAttempts(t *testing.T) {
	answer := func(n int, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }
	runCallbacks(t, answer, func(t *testing.T, e *callbackEnv) {
		id := e.fulfilInvoiceOrder(t, "cb-give-up")
		d := e.deliverer()
		for _, wait := range []time.Duration{0, time.Second, 10 * time.Second, time.Minute, 10 * time.Minute} {
			e.clock.Advance(wait)
			e.deliverDue(t, d, 1)
		}
		if c := e.callback(t, id); c.status != order.CallbackFailed || c.attempts != 5 || c.lastStatus != 503 {
			t.Fatalf("after five failures %+v", c)
		}
		e.clock.Advance(24 * time.Hour)
		e.deliverDue(t, d, 0)
		if n := len(e.receiver.got()); n != 5 {
			t.Fatalf("receiver called %d times, want 5", n)
		}
	})
}

func TestOrderCallbackSurvivesACrashAfterTheCommit(t *testing.T) {
	runCallbacks(t, nil, func(t *testing.T, e *callbackEnv) {
		// The order commits and this node dies before any call: the
		// callback is in the database, and a fresh deliverer calls it.
		first := e.fulfilInvoiceOrder(t, "cb-crash-1")
		e.deliverDue(t, e.deliverer(), 1)
		if c := e.callback(t, first); c.status != order.CallbackDelivered {
			t.Fatalf("after restart %+v", c)
		}
		// A node dies while calling (its lease stays): another waits for the
		// lease to run out, then calls it once.
		second := e.fulfilInvoiceOrder(t, "cb-crash-2")
		lease := e.clock.Now().Add(30 * time.Second).UnixMilli()
		if _, err := e.App.DB.ExecContext(context.Background(), `UPDATE order_callbacks SET claimed_until = $1, claim_token = 'dead-node'
			WHERE order_id = $2`, lease, second); err != nil {
			t.Fatal(err)
		}
		d := e.deliverer()
		e.deliverDue(t, d, 0)
		e.clock.Advance(31 * time.Second)
		e.deliverDue(t, d, 1)
		if c := e.callback(t, second); c.status != order.CallbackDelivered || c.attempts != 1 {
			t.Fatalf("after the lease ran out %+v", c)
		}
		if n := len(e.receiver.got()); n != 2 {
			t.Fatalf("receiver called %d times, want 2", n)
		}
	})
}

func TestTwoDeliverersCallEachCallbackOnce(t *testing.T) {
	runCallbacks(t, nil, func(t *testing.T, e *callbackEnv) {
		// The first call hangs until the test lets it answer.
		entered, proceed := make(chan struct{}, 1), make(chan struct{})
		e.receiver.mu.Lock()
		e.receiver.answer = func(n int, w http.ResponseWriter) {
			if n == 0 {
				entered <- struct{}{}
				<-proceed
			}
		}
		e.receiver.mu.Unlock()
		id := e.fulfilInvoiceOrder(t, "cb-two")
		a, b := e.deliverer(), e.deliverer()
		done := make(chan int)
		go func() {
			n, _ := a.DeliverDue(context.Background())
			done <- n
		}()
		<-entered // a is calling it: b must leave it alone
		e.deliverDue(t, b, 0)
		close(proceed)
		if n := <-done; n != 1 {
			t.Fatalf("first deliverer took %d", n)
		}
		e.deliverDue(t, b, 0)

		// Racing passes over several callbacks: each is called once.
		var ids []int64
		for i := range 4 {
			ids = append(ids, e.fulfilInvoiceOrder(t, fmt.Sprintf("cb-race-%d", i)))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for _, d := range []*order.CallbackDeliverer{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := d.DeliverDue(context.Background())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		e.deliverDue(t, a, len(ids)-total) // a pass that lost a race on SQLite's write lock leaves its share for later
		if n := len(e.receiver.got()); n != 1+len(ids) {
			t.Fatalf("receiver called %d times, want %d", n, 1+len(ids))
		}
		for _, id := range append(ids, id) {
			if c := e.callback(t, id); c.status != order.CallbackDelivered || c.attempts != 1 {
				t.Fatalf("order %d: %+v", id, c)
			}
		}
	})
}

func TestOrderCallbackAtTheServerItselfIsRefused(t *testing.T) {
	runCallbacks(t, nil, func(t *testing.T, e *callbackEnv) {
		o := registerOrder(t, e.Env, e.token, newsOrder("cb-self", "invoice"))
		self := "http://localhost:" + port(e.URL) + "/capi/v1/client/order/status/1"
		want(t, call(e.Env, "POST", "/capi/v1/client/order/fulfillment", e.token,
			fmt.Sprintf(`{"orderId":%d,"callbackUrl":%q}`, o.OrderID, self)), 400, "callbackUrl")
		want(t, call(e.Env, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", o.OrderID), e.token, ""), 200, `"orderStatus":"preliminary"`)
		if n := count(t, e.Env, `SELECT COUNT(*) FROM order_callbacks`); n != 0 {
			t.Fatalf("%d callbacks recorded", n)
		}
		// A deliverer on a node whose own address is the URL's never calls it.
		id := e.fulfilInvoiceOrder(t, "cb-self-node")
		d := order.NewCallbackDeliverer(e.App.DB, event.Config{Now: e.clock.Now, SelfURLs: []string{e.receiver.URL},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		e.deliverDue(t, d, 1)
		if c := e.callback(t, id); c.status != order.CallbackFailed || c.attempts != 1 || c.lastError == "" {
			t.Fatalf("refused callback %+v", c)
		}
		if n := len(e.receiver.got()); n != 0 {
			t.Fatalf("receiver called %d times", n)
		}
	})
}

func TestServeDeliversOrderCallbacks(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		// As `connect serve` runs: the deliverer starts with event delivery.
		e := testkit.New(t, d, testkit.WithEvents(event.Config{}))
		got := make(chan string, 1)
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case got <- r.URL.RawQuery:
			default: // only the first call is looked at
			}
		}))
		t.Cleanup(receiver.Close)
		tok := e.ClientToken()
		o := registerOrder(t, e, tok, newsOrder("cb-serve", "invoice"))
		want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok,
			fmt.Sprintf(`{"orderId":%d,"callbackUrl":"http://localhost:%s/done"}`, o.OrderID, port(receiver.URL))), 200, `"fulfillmentStatus":"OK"`)
		select {
		case q := <-got:
			if q != "fulfillmentStatus=success" {
				t.Fatalf("called with %q", q)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the callback was not called")
		}
	})
}
