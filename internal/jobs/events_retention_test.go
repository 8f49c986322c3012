package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/testkit"
)

// RunOnce purges events past event.Retention once they are fanned out (the
// fixture has no webhooks, so the dispatcher finishes them at once).
func TestRunOncePurgesOldEvents(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, testkit.New(t, d, testkit.WithEvents(event.Config{PollInterval: 10 * time.Millisecond})))
		ctx := context.Background()
		var oldID, newID string
		err := f.e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			ids, err := event.RecordBatch(ctx, tx, []event.Event{
				{CompanyID: f.company, Source: testkit.Company, Type: event.TypeCustomer, Status: "new", Data: map[string]any{"customerNumber": 1}},
				{CompanyID: f.company, Source: testkit.Company, Type: event.TypeCustomer, Status: "new", Data: map[string]any{"customerNumber": 2}},
			})
			if err == nil {
				oldID, newID = ids[0], ids[1]
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// The first event and those before it (the fixture's) were recorded
		// past the retention: ids and created_at rise together.
		if _, err := f.e.App.DB.ExecContext(ctx, `UPDATE event_outbox SET created_at = $1
			WHERE id <= (SELECT id FROM event_outbox WHERE event_id = $2)`,
			time.Now().Add(-event.Retention-time.Hour).UnixMilli(), oldID); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(20 * time.Second)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for f.count(t, `SELECT COUNT(*) FROM event_pending`) != 0 {
			select {
			case <-deadline:
				t.Fatal("the dispatcher did not fan the events out")
			case <-tick.C:
			}
		}
		want := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE id <= (SELECT id FROM event_outbox WHERE event_id = $1)`, oldID)
		rep, err := f.runner.RunOnce(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Events != want || !strings.HasSuffix(rep.String(), fmt.Sprintf(" events=%d", want)) {
			t.Errorf("report: %s, want events=%d", rep, want)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE event_id = $1`, oldID); n != 0 {
			t.Errorf("old event still in the outbox")
		}
		if n := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE event_id = $1`, newID); n != 1 {
			t.Errorf("recent event purged")
		}
	})
}
