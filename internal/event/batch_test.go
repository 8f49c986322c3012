package event_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
)

// TestRecordBatch: a batch is recorded in the caller's transaction, in
// order, as Record would record each event (over several multi-row
// inserts when large), and is delivered like any other events; a bad event
// in a batch records nothing once the transaction rolls back.
func TestRecordBatch(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		ctx := context.Background()
		at := time.UnixMilli(1738364400000)
		const n = 1201 // three inserts of at most 500 rows
		batch := make([]event.Event, n)
		for i := range batch {
			batch[i] = event.Event{CompanyID: e.acme, Source: "ACME", Type: "invoice", Status: "issued",
				Data: map[string]any{"invoiceNumber": fmt.Sprint(1000001 + i)}, Time: at}
		}
		var ids []string
		if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			ids, err = event.RecordBatch(ctx, tx, batch)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(ids) != n {
			t.Fatalf("%d ids for %d events", len(ids), n)
		}
		rows, err := e.db.QueryContext(ctx, `SELECT event_id, company_id, type, source, status, data, time,
			(SELECT COUNT(*) FROM event_pending p WHERE p.id = event_outbox.id AND p.event_id = event_outbox.event_id) FROM event_outbox ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		i := 0
		for rows.Next() {
			var id, typ, source, status, data string
			var company, ms, queued int64
			if err := rows.Scan(&id, &company, &typ, &source, &status, &data, &ms, &queued); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf(`{"invoiceNumber":"%d"}`, 1000001+i)
			if id != ids[i] || seen[id] || company != e.acme || typ != "invoice" || source != "ACME" || status != "issued" ||
				data != want || ms != at.UnixMilli() || queued != 1 {
				t.Fatalf("row %d: %s %d %s %s %s %s %d queued %d", i, id, company, typ, source, status, data, ms, queued)
			}
			seen[id] = true
			i++
		}
		rows.Close()
		if i != n {
			t.Fatalf("%d rows, want %d", i, n)
		}

		// A batch with an invalid event fails, and its transaction leaves nothing.
		err = e.db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := event.RecordBatch(ctx, tx, []event.Event{batch[0], {CompanyID: e.acme, Source: "ACME", Status: "issued"}})
			return err
		})
		if err == nil {
			t.Fatal("an event without a type was recorded")
		}
		var count int
		if err := e.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM event_outbox`).Scan(&count); err != nil || count != n {
			t.Fatalf("rows after the failed batch: %d %v", count, err)
		}
		if ids, err := event.RecordBatch(ctx, e.db, nil); err != nil || ids != nil {
			t.Fatalf("empty batch: %v %v", ids, err)
		}

		// Delivered in order, like events recorded one by one.
		e = newEnv(t, d)
		rcv := newReceiver(t, nil)
		e.webhook(e.acme, "acme.web", rcv.URL, "k")
		e.run(fast(event.Config{}))
		for i := range 3 {
			batch[i].CompanyID = e.acme
		}
		if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := event.RecordBatch(ctx, tx, batch[:3])
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			var env event.Envelope
			if err := json.Unmarshal(rcv.next(t).body, &env); err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf(`{"invoiceNumber":"%d"}`, 1000001+i); string(env.Data) != want || env.Type != "invoice" || env.Status != "issued" {
				t.Fatalf("delivery %d: %+v %s", i, env, env.Data)
			}
		}
	})
}
