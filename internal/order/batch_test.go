package order_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/testkit"
)

// metric reads one unlabelled value from /metrics.
func metric(t *testing.T, e *testkit.Env, name string) float64 {
	t.Helper()
	r := e.Call(testkit.Request{Method: "GET", Path: "/metrics"})
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestBatchWriterKeepsEachOrdersOutcome queues many single-statement
// registrations behind one blocked writer, so that they are written as one
// batch, and checks that every order in it gets exactly its own outcome:
// its own payer and lines, 404 for an unknown payer, one order for a key
// sent twice, the first order for a replayed key and 409 for a key reused
// with another body.
func TestBatchWriterKeepsEachOrdersOutcome(t *testing.T) {
	e := testkit.New(t, store.Postgres, testkit.WithOrderWriters(1))
	ctx := context.Background()
	tok := e.ClientToken()
	keyed := func(key, body string) *testkit.Response {
		return e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/order", Token: tok, Accept: "application/json",
			ContentType: "application/json", Body: body, Header: http.Header{"Idempotency-Key": {key}}})
	}
	var payers []int64
	for i := 0; i < 10; i++ {
		r := call(e, "POST", "/capi/v1/client/customer", tok, fmt.Sprintf(`{"lastName":"Batch%d","postalCode":"0150","emails":["batch%d@example.no"]}`, i, i))
		want(t, r, 200, "customerNumber")
		var out struct{ CustomerNumber int64 }
		r.JSON(t, &out)
		payers = append(payers, out.CustomerNumber)
	}
	used := keyed("used", payerOrder("", payers[0], newsLine))
	want(t, used, 200, "orderId")
	var first registered
	used.JSON(t, &first)

	// Hold the writer: its order's key is being inserted by an open
	// transaction, so its statement waits for that transaction.
	var company int64
	if err := e.App.DB.QueryRowContext(ctx, `SELECT company_id FROM clients WHERE client_id = $1`, testkit.ClientID).Scan(&company); err != nil {
		t.Fatal(err)
	}
	blocker, err := e.App.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback()
	if _, err := blocker.ExecContext(ctx, `INSERT INTO order_claims (client_id, claim_key, company_id, kind, request_hash, expires_at, created_at)
		VALUES ($1, 'hdr:block', $2, 'order', 'x', $3, $3)`, testkit.ClientID, company, time.Now().Add(time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var blocked *testkit.Response
	wg.Add(1)
	go func() {
		defer wg.Done()
		blocked = keyed("block", payerOrder("", payers[9], newsLine))
	}()
	waitFor(t, func() bool {
		var n int
		_ = e.App.DB.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`).Scan(&n)
		return n > 0
	})

	type sent struct {
		key, body string
		res       *testkit.Response
	}
	var orders []*sent
	for i := 0; i < 8; i++ { // distinct payers, two lines for the odd ones
		lines := newsLine
		if i%2 == 1 {
			lines += `,{"productSpecType":"product","product":"BOOK1","quantity":2}`
		}
		orders = append(orders, &sent{body: payerOrder("", payers[i], lines)})
	}
	orders = append(orders,
		&sent{body: payerOrder("", 99999999, newsLine)},                     // unknown payer
		&sent{key: "dup", body: payerOrder("", payers[8], newsLine)},        // the same key twice
		&sent{key: "dup", body: payerOrder("", payers[8], newsLine)},        //
		&sent{key: "used", body: payerOrder("", payers[0], newsLine)},       // a replay
		&sent{key: "used", body: payerOrder("", payers[1], newsLine)},       // the key with another body
		&sent{key: "fresh", body: payerOrder("ext-b", payers[2], newsLine)}, // externalOrderId and key: the transaction
	)
	for _, o := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o.key == "" {
				o.res = call(e, "POST", "/capi/v1/client/order", tok, o.body)
			} else {
				o.res = keyed(o.key, o.body)
			}
		}()
	}
	// Every single-statement order is queued (the last one has two keys and
	// takes the transactional path) before the writer is let go.
	waitFor(t, func() bool { return metric(t, e, "connect_order_batch_queued") == float64(len(orders)-1) })
	batchesBefore, ordersBefore := metric(t, e, "connect_order_batches_total"), metric(t, e, "connect_order_batch_orders_total")
	if err := blocker.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	want(t, blocked, 200, "orderId")
	for i, o := range orders[:8] {
		want(t, o.res, 200, "orderId")
		var r registered
		o.res.JSON(t, &r)
		lines := 1 + i%2
		if r.CustomerNumber != payers[i] || count(t, e, `SELECT count(*) FROM orders WHERE id = $1 AND payer_customer_number = $2`, r.OrderID, payers[i]) != 1 ||
			count(t, e, `SELECT count(*) FROM order_lines WHERE order_id = $1 AND receiver_customer_number = $2`, r.OrderID, payers[i]) != lines ||
			count(t, e, `SELECT count(*) FROM event_outbox WHERE type = 'order' AND data LIKE $1`, fmt.Sprintf(`%%"customerNumber":%d,%%"orderId":%d}`, payers[i], r.OrderID)) != 1 {
			t.Fatalf("order %d for payer %d: %+v not stored as sent", i, payers[i], r)
		}
	}
	want(t, orders[8].res, 404, "no customer 99999999")
	var d1, d2, replay registered
	want(t, orders[9].res, 200, "orderId")
	want(t, orders[10].res, 200, "orderId")
	orders[9].res.JSON(t, &d1)
	orders[10].res.JSON(t, &d2)
	if d1.OrderID != d2.OrderID || count(t, e, `SELECT count(*) FROM orders WHERE payer_customer_number = $1`, payers[8]) != 1 {
		t.Fatalf("one key sent twice: orders %d and %d", d1.OrderID, d2.OrderID)
	}
	want(t, orders[11].res, 200, "orderId")
	orders[11].res.JSON(t, &replay)
	if replay.OrderID != first.OrderID {
		t.Fatalf("replay gave order %d, want %d", replay.OrderID, first.OrderID)
	}
	want(t, orders[12].res, 409, "Idempotency-Key")
	want(t, orders[13].res, 200, "orderId")

	// Every order event the batches recorded waits for the dispatcher.
	if n, queued := count(t, e, `SELECT count(*) FROM event_outbox WHERE type = 'order'`),
		count(t, e, `SELECT count(*) FROM event_pending p JOIN event_outbox o ON o.id = p.id AND o.event_id = p.event_id WHERE o.type = 'order'`); n != queued {
		t.Fatalf("%d order events, %d queued for the dispatcher", n, queued)
	}

	// The queued orders shared statements.
	batches := metric(t, e, "connect_order_batches_total") - batchesBefore
	written := metric(t, e, "connect_order_batch_orders_total") - ordersBefore
	if written < float64(len(orders)-1) || batches >= written/2 {
		t.Fatalf("%v orders in %v statements: not batched", written, batches)
	}
}

// waitFor polls cond until it holds (or fails the test after 20 s).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
