package event

import (
	"context"
	"database/sql"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// Retention is how long an event is kept in the outbox, with its deliveries
// and their attempt log, once it is finished: fanned out and none of its
// deliveries still pending (delivered and failed are final). Events carry
// customer data; see Purge.
const Retention = 30 * 24 * time.Hour

// purgeBatch is how many outbox rows one purge transaction looks at.
const purgeBatch = 1000

// Purge deletes the events recorded (created_at) more than Retention before
// now that are finished: no longer queued in event_pending and without a
// pending delivery. Their deliveries and attempts go with them. It returns
// how many events were deleted. A replay of a purged event is not found.
//
// The outbox is read oldest first by id, purgeBatch rows per transaction, up
// to the first row recorded within Retention: ids and created_at are taken
// together at insert, and created_at has no index, so walking the primary key
// is the cheap way to reach the old rows and to stop. A row committed out of
// order by a few milliseconds is taken at the next run. Old events kept
// because they are still pending are stepped over, not read again in the
// same run. Safe to run on several nodes at once.
func Purge(ctx context.Context, db *store.DB, now time.Time) (int, error) {
	return purge(ctx, db, now, purgeBatch)
}

func purge(ctx context.Context, db *store.DB, now time.Time, batch int) (int, error) {
	cutoff := now.Add(-Retention).UnixMilli()
	total := 0
	var after int64
	for {
		var n int
		var done bool
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			n, after, done, err = purgeBatchTx(ctx, tx, db.Dialect == store.Postgres, cutoff, after, batch)
			return err
		})
		total += n
		if err != nil {
			return total, err
		}
		if done {
			return total, nil
		}
	}
}

// purgeBatchTx purges among the batch outbox rows after id after, and returns
// how many it deleted, the last id it looked at, and whether the old rows
// are all looked at.
func purgeBatchTx(ctx context.Context, tx *sql.Tx, pg bool, cutoff, after int64, batch int) (int, int64, bool, error) {
	// The window: up to batch rows by the key, cut at the first recent one.
	rows, err := tx.QueryContext(ctx, `SELECT id, created_at FROM event_outbox WHERE id > $1 ORDER BY id LIMIT $2`, after, batch)
	if err != nil {
		return 0, after, false, err
	}
	seen, last, done := 0, after, false
	for rows.Next() {
		var id, created int64
		if err := rows.Scan(&id, &created); err != nil {
			rows.Close()
			return 0, after, false, err
		}
		seen++
		if created >= cutoff {
			done = true
			break
		}
		last = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, after, false, err
	}
	if seen < batch {
		done = true
	}
	if last == after {
		return 0, last, true, nil
	}

	// The finished events of the window. On PostgreSQL their rows are locked
	// (a replay adding deliveries to one of them waits for the key lock;
	// one locked by a replay or another node's purge is left for later).
	lock := ``
	if pg {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	rows, err = tx.QueryContext(ctx, `SELECT o.id, o.event_id FROM event_outbox o
		WHERE o.id > $1 AND o.id <= $2 AND o.created_at < $3
		AND NOT EXISTS (SELECT 1 FROM event_pending p WHERE p.id = o.id)
		AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = o.event_id AND d.state = 'pending')
		ORDER BY o.id`+lock, after, last, cutoff)
	if err != nil {
		return 0, last, done, err
	}
	var ids []int64
	var eventIDs []string
	for rows.Next() {
		var id int64
		var eventID string
		if err := rows.Scan(&id, &eventID); err != nil {
			rows.Close()
			return 0, last, done, err
		}
		ids = append(ids, id)
		eventIDs = append(eventIDs, eventID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, last, done, err
	}
	if len(ids) == 0 {
		return 0, last, done, nil
	}

	// Lock their deliveries and look again: a replay may have put one back
	// to pending since the statement above took its snapshot (PostgreSQL
	// waits for a locked row and returns its latest version; SQLite has one
	// writer at a time, so nothing changed).
	args := make([]any, len(eventIDs))
	for i, id := range eventIDs {
		args[i] = id
	}
	lock = ``
	if pg {
		lock = ` FOR UPDATE`
	}
	rows, err = tx.QueryContext(ctx, `SELECT event_id, state FROM event_deliveries WHERE event_id IN (`+
		placeholders(1, len(args))+`)`+lock, args...)
	if err != nil {
		return 0, last, done, err
	}
	busy := map[string]bool{}
	for rows.Next() {
		var eventID, state string
		if err := rows.Scan(&eventID, &state); err != nil {
			rows.Close()
			return 0, last, done, err
		}
		if state == StatePending {
			busy[eventID] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, last, done, err
	}
	if len(busy) > 0 {
		var keepIDs []int64
		args = args[:0]
		for i, e := range eventIDs {
			if !busy[e] {
				keepIDs = append(keepIDs, ids[i])
				args = append(args, e)
			}
		}
		ids = keepIDs
		if len(ids) == 0 {
			return 0, last, done, nil
		}
	}
	in := placeholders(1, len(args))
	if _, err := tx.ExecContext(ctx, `DELETE FROM event_attempts WHERE delivery_id IN
		(SELECT id FROM event_deliveries WHERE event_id IN (`+in+`))`, args...); err != nil {
		return 0, last, done, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM event_deliveries WHERE event_id IN (`+in+`)`, args...); err != nil {
		return 0, last, done, err
	}
	idArgs := make([]any, len(ids))
	for i, id := range ids {
		idArgs[i] = id
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM event_outbox WHERE id IN (`+placeholders(1, len(idArgs))+`)`, idArgs...)
	if err != nil {
		return 0, last, done, err
	}
	n, err := res.RowsAffected()
	return int(n), last, done, err
}
