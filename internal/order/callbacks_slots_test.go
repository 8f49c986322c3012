package order_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/order"
)

// slowReceiver answers callbacks whose ref starts with "slow" only once the
// test releases them, and every other callback at once. It reports the ref
// of each call as it begins.
type slowReceiver struct {
	*httptest.Server
	slow, fast chan string
	release    chan struct{}
	releaseAll sync.Once
}

func newSlowReceiver(t *testing.T) *slowReceiver {
	r := &slowReceiver{slow: make(chan string, 8), fast: make(chan string, 8), release: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ref := req.URL.Query().Get("ref")
		if !strings.HasPrefix(ref, "slow") {
			r.fast <- ref
			return
		}
		r.slow <- ref
		select {
		case <-r.release:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(r.Close)
	t.Cleanup(r.free) // before Close, which waits for the handlers
	return r
}

func (r *slowReceiver) free() { r.releaseAll.Do(func() { close(r.release) }) }

// callbackURL is the receiver's URL on a host the fixture client registered.
func (r *slowReceiver) callbackURL(ref string) string {
	return "http://localhost:" + port(r.URL) + "/cb?ref=" + ref
}

// await is the next call reported on ch; a call that does not come within
// a generous bound fails the test (the deliverers' timeout is far longer).
func await(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("receiver called for %s, want %s", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the callback %s was not called while others were in flight", want)
	}
}

// TestASlowReceiverHoldsOnlyItsOwnSlot: a node calls up to Workers (here 2)
// callbacks at once, and a slot that frees up takes the next due callback
// while a slow call goes on. A callback due while every slot is busy is not
// leased by that node, so another node calls it.
func TestASlowReceiverHoldsOnlyItsOwnSlot(t *testing.T) {
	runCallbacks(t, nil, func(t *testing.T, e *callbackEnv) {
		r := newSlowReceiver(t)
		fulfil := func(ref string) int64 {
			t.Helper()
			o := registerOrder(t, e.Env, e.token, newsOrder("slots-"+ref, "invoice"))
			want(t, call(e.Env, "POST", "/capi/v1/client/order/fulfillment", e.token,
				fmt.Sprintf(`{"orderId":%d,"callbackUrl":%q}`, o.OrderID, r.callbackURL(ref))), 200, `"fulfillmentStatus":"OK"`)
			return o.OrderID
		}
		cfg := event.Config{Now: e.clock.Now, SelfURLs: []string{e.URL}, Workers: 2,
			// Far longer than await's bound: a node that waited for the slow
			// call before calling the next could not pass.
			Timeout: 5 * time.Minute, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		node, other := order.NewCallbackDeliverer(e.App.DB, cfg), order.NewCallbackDeliverer(e.App.DB, cfg)
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			node.Run(ctx)
		}()
		stop := func() {
			cancel()
			<-stopped
		}
		t.Cleanup(stop)

		slow1 := fulfil("slow-1")
		node.Send(ctx, "")
		await(t, r.slow, "slow-1")
		// The second slot calls the next callback while slow-1 hangs, and is free again after it.
		fast1 := fulfil("fast-1")
		node.Send(ctx, "")
		await(t, r.fast, "fast-1")
		slow2 := fulfil("slow-2")
		node.Send(ctx, "")
		await(t, r.slow, "slow-2")

		// Both slots hang: the node leaves the next callback alone, and
		// another node, which cannot take the leased ones, calls it.
		fast2 := fulfil("fast-2")
		node.Send(ctx, "")
		e.deliverDue(t, other, 1)
		await(t, r.fast, "fast-2")
		for _, id := range []int64{fast1, fast2} {
			if c := e.callback(t, id); c.status != order.CallbackDelivered || c.attempts != 1 {
				t.Fatalf("order %d: %+v", id, c)
			}
		}

		// The slow receivers answer and the node shuts down: each slow
		// callback is delivered, or handed back unattempted if the shutdown
		// cut its call short; the other node then calls what was handed back.
		r.free()
		stop()
		for _, id := range []int64{slow1, slow2} {
			c := e.callback(t, id)
			delivered := c.status == order.CallbackDelivered && c.attempts == 1
			handedBack := c.status == order.CallbackPending && c.attempts == 0 &&
				count(t, e.Env, `SELECT COUNT(*) FROM order_callbacks WHERE order_id = $1 AND claimed_until = 0 AND claim_token = ''`, id) == 1
			if !delivered && !handedBack {
				t.Fatalf("order %d after the shutdown: %+v", id, c)
			}
		}
		for {
			n, err := other.DeliverDue(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		for _, id := range []int64{slow1, slow2} {
			if c := e.callback(t, id); c.status != order.CallbackDelivered || c.attempts != 1 {
				t.Fatalf("order %d: %+v", id, c)
			}
		}
	})
}
