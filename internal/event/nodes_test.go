package event_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
)

// Two dispatchers on one database (two nodes) deliver every attempt once.
func TestTwoDispatchersDeliverEachEventOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		var mu sync.Mutex
		seen := map[string]int{}
		rcv := newReceiver(t, func(_ int, h hit, w http.ResponseWriter) {
			mu.Lock()
			seen[h.header.Get(event.HeaderEventID)+" "+h.header.Get("X-Endpoint")]++
			mu.Unlock()
		})
		const endpoints, events = 4, 150
		for i := range endpoints {
			e.webhook(e.acme, fmt.Sprintf("acme.%d", i), fmt.Sprintf("%s/%d", rcv.URL, i), "k")
		}
		e.run(fast(event.Config{Node: "node-a", BatchSize: 7, Workers: 2}))
		e.run(fast(event.Config{Node: "node-b", BatchSize: 7, Workers: 2}))
		for i := range events {
			e.record(e.acme, "ACME", event.TypeOrder, "new", map[string]any{"orderId": i}, time.Now())
		}
		ctx := context.Background()
		waitFor(t, "every delivery", func() bool {
			var n int
			e.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM event_deliveries WHERE state = 'delivered'`).Scan(&n)
			return n == endpoints*events
		})
		if n := len(rcv.all()); n != endpoints*events {
			t.Errorf("%d requests for %d deliveries", n, endpoints*events)
		}
		var attempts, nodes int
		e.db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT node) FROM event_attempts`).Scan(&attempts, &nodes)
		if attempts != endpoints*events {
			t.Errorf("%d attempts logged for %d deliveries", attempts, endpoints*events)
		}
		t.Logf("%d attempts by %d nodes", attempts, nodes)
	})
}

// A node that stops mid-delivery (killed, or hung) keeps its endpoint only
// until its lease ends; another node then delivers the event, and the stale
// node's late result is not recorded.
func TestLeaseExpiryHandsTheEndpointOver(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		hung := make(chan struct{})
		release := make(chan struct{})
		var first atomic.Bool
		rcv := newReceiver(t, func(_ int, h hit, w http.ResponseWriter) {
			if first.CompareAndSwap(false, true) {
				close(hung)
				<-release // node A's request never gets an answer while the test runs
			}
		})
		defer close(release)
		e.webhook(e.acme, "acme.web", rcv.URL, "k")
		e.run(fast(event.Config{Node: "node-a", Timeout: time.Hour}))
		id := e.record(e.acme, "ACME", event.TypeOrder, "new", nil, time.Now())
		<-hung
		// Node B's clock is past node A's lease.
		later := func() time.Time { return time.Now().Add(3 * time.Hour) }
		e.run(fast(event.Config{Node: "node-b", Now: later}))
		waitFor(t, "node B delivers", func() bool { s, _ := e.state(id, "acme.web"); return s == event.StateDelivered })
		var node string
		var n int
		e.db.QueryRowContext(context.Background(), `SELECT COUNT(*), MAX(node) FROM event_attempts`).Scan(&n, &node)
		if n != 1 || node != "node-b" {
			t.Errorf("attempt log: %d rows, node %q; want one by node-b", n, node)
		}
		if got := len(rcv.all()); got != 2 {
			t.Errorf("%d requests, want 2 (node A's unanswered one and node B's)", got)
		}
	})
}
