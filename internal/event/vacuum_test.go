package event_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
)

// TestDispatcherVacuumsItsQueue: on PostgreSQL the dispatcher vacuums
// event_pending itself once it has deleted enough queued events, so the
// queue's dead rows do not pile up where autovacuum is slow or off.
func TestDispatcherVacuumsItsQueue(t *testing.T) {
	if os.Getenv("CONNECT_TEST_POSTGRES_URL") == "" {
		t.Skip("PostgreSQL only (SQLite reuses deleted space by itself)")
	}
	e := newEnv(t, store.Postgres)
	vacuums := func() int64 {
		var n int64
		if err := e.db.QueryRowContext(context.Background(), `SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'event_pending'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := vacuums()
	for i := 0; i < 30; i++ {
		e.record(e.acme, "ACME", event.TypeOrder, "preliminary", map[string]any{"orderId": i}, time.Now())
	}
	e.run(event.Config{QueueVacuumAfter: 20, QueueVacuumEvery: time.Millisecond})
	waitFor(t, "the queue to be vacuumed", func() bool { return vacuums() > before })
	var left int
	if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM event_pending`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("queued events left: %d (%v)", left, err)
	}
}
