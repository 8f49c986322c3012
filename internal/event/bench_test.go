package event_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
)

// BenchmarkWebhookDelivery measures events delivered per second to local
// receivers and the commit → receipt lag while 8 writers commit one event
// per transaction, as API requests do. Run once per setting:
//
//	go test -run XXX -bench WebhookDelivery -benchtime 1x ./internal/event/
//	CONNECT_TEST_POSTGRES_URL=postgres://... (same) for PostgreSQL
//	BENCH_EVENTS=20000 (default) · BENCH_ENDPOINTS=1,4 (default)
func BenchmarkWebhookDelivery(b *testing.B) {
	total := 20000
	if s := os.Getenv("BENCH_EVENTS"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	endpointSets := []int{1, 4}
	dialect := store.SQLite
	if os.Getenv("CONNECT_TEST_POSTGRES_URL") != "" {
		dialect = store.Postgres
	}
	for _, endpoints := range endpointSets {
		b.Run(fmt.Sprintf("%s/endpoints=%d", dialect, endpoints), func(b *testing.B) {
			for b.Loop() {
				benchDelivery(b, dialect, total, endpoints)
			}
		})
	}
}

func benchDelivery(b *testing.B, d store.Dialect, total, endpoints int) {
	env := newEnv(b, d)
	var committed sync.Map // event id → commit time
	var lags []time.Duration
	var mu sync.Mutex
	var received atomic.Int64
	done := make(chan struct{})
	want := int64(total * endpoints)
	var last time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		id := r.Header.Get(event.HeaderEventID)
		if v, ok := committed.Load(id); ok {
			mu.Lock()
			lags = append(lags, now.Sub(v.(time.Time)))
			last = now
			mu.Unlock()
		}
		if received.Add(1) == want {
			close(done)
		}
	}))
	defer srv.Close()
	for i := range endpoints {
		env.webhook(env.acme, fmt.Sprintf("bench.%d", i), fmt.Sprintf("%s/%d", srv.URL, i), "k")
	}
	ctx, cancel := context.WithCancel(context.Background())
	disp := event.NewDispatcher(env.db, event.Config{})
	stopped := make(chan struct{})
	go func() { defer close(stopped); disp.Run(ctx) }()
	defer func() { cancel(); <-stopped }()

	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				var id string
				err := env.db.Tx(ctx, func(tx *sql.Tx) error {
					var err error
					id, err = event.Record(ctx, tx, event.Event{CompanyID: env.acme, Source: "ACME", Type: "order", Status: "new", Data: map[string]int{"orderId": 1}})
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
				committed.Store(id, time.Now())
			}
		}()
	}
	wg.Wait()
	writeEnd := time.Now()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d deliveries arrived", received.Load(), want)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lags)
	elapsed := last.Sub(start)
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(total)/writeEnd.Sub(start).Seconds(), "commits/s")
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-lag-ms")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-lag-ms")
	b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1000, "max-lag-ms")
}

// BenchmarkWebhookBacklog measures how fast a queued backlog drains: events
// are committed first (500 per transaction), then one dispatcher starts.
func BenchmarkWebhookBacklog(b *testing.B) {
	total := 20000
	if s := os.Getenv("BENCH_EVENTS"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	dialect := store.SQLite
	if os.Getenv("CONNECT_TEST_POSTGRES_URL") != "" {
		dialect = store.Postgres
	}
	for _, endpoints := range []int{1, 4} {
		b.Run(fmt.Sprintf("%s/endpoints=%d", dialect, endpoints), func(b *testing.B) {
			for b.Loop() {
				env := newEnv(b, dialect)
				var received atomic.Int64
				want := int64(total * endpoints)
				done := make(chan struct{})
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if received.Add(1) == want {
						close(done)
					}
				}))
				for i := range endpoints {
					env.webhook(env.acme, fmt.Sprintf("bench.%d", i), fmt.Sprintf("%s/%d", srv.URL, i), "k")
				}
				ctx := context.Background()
				for i := 0; i < total; i += 500 {
					err := env.db.Tx(ctx, func(tx *sql.Tx) error {
						for j := i; j < min(i+500, total); j++ {
							if _, err := event.Record(ctx, tx, event.Event{CompanyID: env.acme, Source: "ACME", Type: "order", Status: "new", Data: map[string]int{"orderId": j}}); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				start := time.Now()
				rctx, cancel := context.WithCancel(ctx)
				stopped := make(chan struct{})
				go func() { defer close(stopped); event.NewDispatcher(env.db, event.Config{}).Run(rctx) }()
				select {
				case <-done:
				case <-time.After(5 * time.Minute):
					b.Fatalf("only %d of %d deliveries arrived", received.Load(), want)
				}
				b.ReportMetric(float64(want)/time.Since(start).Seconds(), "deliveries/s")
				cancel()
				<-stopped
				srv.Close()
			}
		})
	}
}
