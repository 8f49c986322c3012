package event_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
)

// old is a created_at past the retention.
var old = time.Now().Add(-event.Retention - 24*time.Hour)

// age makes the events look recorded at t.
func (e *env) age(t time.Time, eventIDs ...string) {
	e.t.Helper()
	for _, id := range eventIDs {
		if _, err := e.db.ExecContext(context.Background(), `UPDATE event_outbox SET created_at = $1 WHERE event_id = $2`, t.UnixMilli(), id); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// rows counts the outbox rows, deliveries and attempts of an event.
// deliveryIDs are its deliveries as they were before (attempts are looked up
// by them, so rows left behind a deleted delivery would show).
func (e *env) rows(eventID string, deliveryIDs []int64) (outbox, deliveries, attempts int) {
	e.t.Helper()
	outbox = e.count(`SELECT COUNT(*) FROM event_outbox WHERE event_id = $1`, eventID)
	deliveries = e.count(`SELECT COUNT(*) FROM event_deliveries WHERE event_id = $1`, eventID)
	for _, id := range deliveryIDs {
		attempts += e.count(`SELECT COUNT(*) FROM event_attempts WHERE delivery_id = $1`, id)
	}
	return
}

func (e *env) deliveryIDs(eventID string) []int64 {
	e.t.Helper()
	rows, err := e.db.QueryContext(context.Background(), `SELECT id FROM event_deliveries WHERE event_id = $1`, eventID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// hanging answers 200, except to a body containing "hang": that request
// waits until the test ends, its delivery pending.
func hanging(t *testing.T) *receiver {
	release := make(chan struct{})
	r := newReceiver(t, func(_ int, h hit, w http.ResponseWriter) {
		if bytes.Contains(h.body, []byte("hang")) {
			<-release
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	t.Cleanup(func() { close(release) }) // before the receiver closes
	return r
}

func TestPurgeDeletesFinishedEventsPastRetention(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		ctx := context.Background()
		acme := newReceiver(t, func(_ int, h hit, w http.ResponseWriter) {
			if bytes.Contains(h.body, []byte("fail")) {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		rival := hanging(t)
		e.webhook(e.acme, "acme.web", acme.URL, "k")
		e.webhook(e.rival, "rival.web", rival.URL, "k")
		// BatchSize 1: a result is committed before the next event goes out,
		// so the hanging request does not hold back the one before it.
		e.run(fast(event.Config{MaxAttempts: 1, Timeout: time.Minute, BatchSize: 1}))

		delivered := e.record(e.acme, "ACME", event.TypeCustomer, "new", map[string]any{"customerNumber": 1}, time.Now())
		failed := e.record(e.acme, "ACME", event.TypeCustomer, "update", map[string]any{"customerNumber": 2, "x": "fail"}, time.Now())
		rivalDelivered := e.record(e.rival, "RIVAL", event.TypeCustomer, "new", map[string]any{"customerNumber": 3}, time.Now())
		rivalPending := e.record(e.rival, "RIVAL", event.TypeCustomer, "update", map[string]any{"customerNumber": 4, "x": "hang"}, time.Now())
		recent := e.record(e.acme, "ACME", event.TypeCustomer, "delete", map[string]any{"customerNumber": 5}, time.Now())
		waitFor(t, "deliveries settled", func() bool {
			s1, _ := e.state(delivered, "acme.web")
			s2, _ := e.state(failed, "acme.web")
			s3, _ := e.state(rivalDelivered, "rival.web")
			s4, n4 := e.state(rivalPending, "rival.web")
			s5, _ := e.state(recent, "acme.web")
			return s1 == event.StateDelivered && s2 == event.StateFailed && s3 == event.StateDelivered &&
				s4 == event.StatePending && n4 == 0 && len(rival.all()) == 2 && s5 == event.StateDelivered
		})
		e.age(old, delivered, failed, rivalDelivered, rivalPending)
		before := map[string][]int64{}
		for _, id := range []string{delivered, failed, rivalDelivered, rivalPending, recent} {
			before[id] = e.deliveryIDs(id)
			if _, n, a := e.rows(id, before[id]); n != 1 || (a == 0 && id != rivalPending) {
				t.Fatalf("event %s before the purge: %d deliveries, %d attempts", id, n, a)
			}
		}

		n, err := event.Purge(ctx, e.db, time.Now())
		if err != nil || n != 3 {
			t.Fatalf("purge: %d %v, want 3", n, err)
		}
		for _, id := range []string{delivered, failed, rivalDelivered} {
			if o, dl, a := e.rows(id, before[id]); o+dl+a != 0 {
				t.Errorf("purged event %s left %d outbox, %d deliveries, %d attempts", id, o, dl, a)
			}
		}
		for _, id := range []string{rivalPending, recent} {
			if o, dl, _ := e.rows(id, before[id]); o != 1 || dl != 1 {
				t.Errorf("kept event %s: %d outbox, %d deliveries", id, o, dl)
			}
		}
		if _, _, a := e.rows(recent, before[recent]); a != 1 {
			t.Errorf("recent event's attempts: %d, want 1", a)
		}
		if n := e.count(`SELECT COUNT(*) FROM event_attempts a WHERE NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.id = a.delivery_id)`); n != 0 {
			t.Errorf("%d attempts without their delivery", n)
		}

		// A purged event is gone for its operators too.
		if l, err := event.ListFailed(ctx, e.db, event.ListOptions{}); err != nil || len(l) != 0 {
			t.Errorf("failed list after the purge: %+v %v", l, err)
		}
		_, err = event.Replay(ctx, e.db, e.acme, failed, time.Now())
		var ee *errs.Error
		if !errors.As(err, &ee) || ee.Kind != errs.NotFound {
			t.Errorf("replay of a purged event: %v, want not found", err)
		}

		// Again: nothing more is old and finished.
		if n, err := event.Purge(ctx, e.db, time.Now()); err != nil || n != 0 {
			t.Errorf("second purge: %d %v", n, err)
		}
	})
}

func TestPurgeKeepsQueuedEvents(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		ctx := context.Background()
		a := e.record(e.acme, "ACME", event.TypeCustomer, "new", map[string]any{"customerNumber": 1}, time.Now())
		r := e.record(e.rival, "RIVAL", event.TypeCustomer, "new", map[string]any{"customerNumber": 2}, time.Now())
		e.age(old, a, r)
		// No dispatcher yet: both wait in event_pending.
		if n, err := event.Purge(ctx, e.db, time.Now()); err != nil || n != 0 {
			t.Fatalf("purge of queued events: %d %v", n, err)
		}
		if n := e.count(`SELECT COUNT(*) FROM event_outbox`); n != 2 {
			t.Fatalf("outbox: %d rows, want 2", n)
		}
		// Fanned out to no endpoint, they are finished.
		e.run(fast(event.Config{}))
		waitFor(t, "queue drained", func() bool { return e.count(`SELECT COUNT(*) FROM event_pending`) == 0 })
		if n, err := event.Purge(ctx, e.db, time.Now()); err != nil || n != 2 {
			t.Fatalf("purge after fan-out: %d %v, want 2", n, err)
		}
		if n := e.count(`SELECT COUNT(*) FROM event_outbox`); n != 0 {
			t.Errorf("outbox: %d rows left", n)
		}
	})
}

func TestPurgeWorksInBatches(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		ctx := context.Background()
		rival := hanging(t)
		acme := newReceiver(t, nil)
		e.webhook(e.acme, "acme.web", acme.URL, "k")
		e.webhook(e.rival, "rival.web", rival.URL, "k")
		e.run(fast(event.Config{Timeout: time.Minute, BatchSize: 1}))
		// The first window (2 rows) is kept whole: one in flight, one behind it.
		stuck := []string{
			e.record(e.rival, "RIVAL", event.TypeCustomer, "new", map[string]any{"x": "hang"}, time.Now()),
			e.record(e.rival, "RIVAL", event.TypeCustomer, "update", map[string]any{"customerNumber": 1}, time.Now()),
		}
		var done []string
		for i := range 7 {
			done = append(done, e.record(e.acme, "ACME", event.TypeCustomer, "new", map[string]any{"customerNumber": i}, time.Now()))
		}
		waitFor(t, "deliveries settled", func() bool {
			for _, id := range done {
				if s, _ := e.state(id, "acme.web"); s != event.StateDelivered {
					return false
				}
			}
			for _, id := range stuck {
				if s, _ := e.state(id, "rival.web"); s != event.StatePending {
					return false
				}
			}
			return len(rival.all()) == 1
		})
		e.age(old, append(done, stuck...)...)
		n, err := event.PurgeBatch(ctx, e.db, time.Now(), 2)
		if err != nil || n != len(done) {
			t.Fatalf("purge: %d %v, want %d", n, err, len(done))
		}
		if n := e.count(`SELECT COUNT(*) FROM event_outbox`); n != len(stuck) {
			t.Errorf("outbox: %d rows, want %d", n, len(stuck))
		}
		if n := e.count(`SELECT COUNT(*) FROM event_deliveries WHERE company_id = $1`, e.acme); n != 0 {
			t.Errorf("%d of ACME's deliveries left", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM event_attempts WHERE company_id = $1`, e.acme); n != 0 {
			t.Errorf("%d of ACME's attempts left", n)
		}
	})
}
