package event_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
)

// TestReplayWaitsForAPurgeOfItsEvent: a replay of an event that the
// retention purge is deleting waits for the purge's lock and then answers
// 404, instead of reading the doomed row and answering 200 with nothing.
func TestReplayWaitsForAPurgeOfItsEvent(t *testing.T) {
	if os.Getenv("CONNECT_TEST_POSTGRES_URL") == "" {
		t.Skip("PostgreSQL only (SQLite has one writer at a time)")
	}
	e := newEnv(t, store.Postgres)
	ctx := context.Background()
	id := e.record(e.acme, "ACME", event.TypeOrder, "preliminary", map[string]any{"orderId": 1}, time.Now())
	if _, err := e.db.ExecContext(ctx, `DELETE FROM event_pending`); err != nil { // fanned out, to no endpoint
		t.Fatal(err)
	}
	purge, err := e.db.BeginTx(ctx, nil) // as event.Purge: lock the row, delete it
	if err != nil {
		t.Fatal(err)
	}
	defer purge.Rollback()
	if _, err := purge.ExecContext(ctx, `SELECT id FROM event_outbox WHERE event_id = $1 FOR UPDATE`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := purge.ExecContext(ctx, `DELETE FROM event_outbox WHERE event_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	replayed := make(chan error, 1)
	go func() {
		_, err := event.Replay(ctx, e.db, e.acme, id, time.Now())
		replayed <- err
	}()
	waitFor(t, "the replay to wait for the purge's lock", func() bool {
		return e.count(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%FROM event_outbox%FOR SHARE%'`) > 0
	})
	if err := purge.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-replayed; !errs.Is(err, errs.NotFound) {
		t.Fatalf("replay of a purged event: %v, want not found", err)
	}
}
