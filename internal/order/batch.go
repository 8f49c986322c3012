package order

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
)

// BatchWriter writes the single-statement registrations (an existing payer,
// at most one idempotency key; see registerInOneStatement) of orders that
// arrive together as one statement and one commit on PostgreSQL.
//
// Why: a registration's database work is dominated by what every statement
// and commit costs (parse, executor start-up, WAL flush), not by its rows. A
// writer takes every registration queued while it was busy (natural
// batching): alone, an order is written at once, as before; under load,
// tens of orders share a statement, which is several times cheaper per order.
//
// Each order in a batch keeps its own outcome: its payer check and its
// idempotency key are evaluated per order inside the statement, and an order
// the statement does not write (unknown payer, key taken) goes on to the
// transactional path exactly as without batching. When a batch fails as a
// whole (a unique violation, a deadlock, a bad value), its orders are
// retried one by one, so one order can never fail another.
type BatchWriter struct {
	db       *store.DB
	writers  int
	maxBatch int
	jobs     chan *writeJob

	orders, batches prometheus.Counter

	mu      sync.RWMutex
	closed  bool
	drain   chan struct{}
	running sync.WaitGroup
}

// writeJob is one order waiting for a writer.
type writeJob struct {
	ctx  context.Context
	row  batchRow
	done chan writeOutcome // buffered: a writer never blocks on it
}

type writeOutcome struct {
	id  int64 // 0: not written (payer unknown or key taken)
	err error
}

// Defaults: two writers, so one builds its batch while the other waits for
// its commit; more writers only make smaller batches, and a batch's fixed
// cost (executor start-up of a large statement, the commit) is most of what
// PostgreSQL spends (measured: 8 orders a batch with 4 writers, 15 with 2,
// 30 with 1 at 64 connections; PostgreSQL time per order 103–114, 81–83 and
// 67–72 µs; one writer alone stalls on a slow commit). 64 orders bound a
// statement's size and latency.
const (
	defaultBatchWriters = 2
	defaultMaxBatch     = 64
	batchTimeout        = 30 * time.Second
)

// NewBatchWriter returns a writer for db with that many writers (0: the
// default); Run starts it. A writer that is not running (SQLite, or after
// Run returned) writes each order directly.
func NewBatchWriter(db *store.DB, writers int) *BatchWriter {
	if writers <= 0 {
		writers = defaultBatchWriters
	}
	b := &BatchWriter{db: db, writers: writers, maxBatch: defaultMaxBatch,
		jobs: make(chan *writeJob, 256), drain: make(chan struct{}), closed: true,
		orders: prometheus.NewCounter(prometheus.CounterOpts{Name: "connect_order_batch_orders_total",
			Help: "Orders written by the order batch writer."}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Name: "connect_order_batches_total",
			Help: "Statements the order batch writer ran (orders / batches is the mean batch size)."}),
	}
	return b
}

// Collectors are the writer's metrics: orders and batches written, and the
// orders waiting for a writer.
func (b *BatchWriter) Collectors() []prometheus.Collector {
	return []prometheus.Collector{b.orders, b.batches, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "connect_order_batch_queued", Help: "Orders waiting for the order batch writer."},
		func() float64 { return float64(len(b.jobs)) })}
}

// Run writes queued orders until ctx ends, then writes what is still queued
// and returns.
func (b *BatchWriter) Run(ctx context.Context) {
	if b.db.Dialect != store.Postgres {
		return
	}
	b.mu.Lock()
	b.closed = false
	b.mu.Unlock()
	for i := 0; i < b.writers; i++ {
		b.running.Add(1)
		go b.loop()
	}
	<-ctx.Done()
	b.mu.Lock() // waits for every enqueue in progress
	b.closed = true
	b.mu.Unlock()
	close(b.drain)
	b.running.Wait()
}

// insert writes one order through a writer, or directly when none runs.
func (b *BatchWriter) insert(ctx context.Context, row batchRow) (int64, error) {
	j := &writeJob{ctx: ctx, row: row, done: make(chan writeOutcome, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		ids, err := b.write(ctx, []batchRow{row})
		if err != nil {
			return 0, err
		}
		return ids[0], nil
	}
	select {
	case b.jobs <- j:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return 0, ctx.Err()
	}
	// Once queued, the order is written or refused by a writer, which
	// always answers: its statement has its own timeout.
	out := <-j.done
	return out.id, out.err
}

func (b *BatchWriter) loop() {
	defer b.running.Done()
	var carry []*writeJob // duplicates of a key already in the last batch
	for {
		batch := carry
		carry = nil
		if len(batch) == 0 {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			case <-b.drain:
				for {
					select {
					case j := <-b.jobs:
						b.writeJobs([]*writeJob{j})
					default:
						return
					}
				}
			}
		}
	fill:
		for len(batch) < b.maxBatch {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		batch, carry = splitDuplicateKeys(batch)
		b.writeJobs(batch)
	}
}

// splitDuplicateKeys keeps the first order of each idempotency key in the
// batch and returns the others for the next one: one statement cannot claim
// a key twice, and the later order must see the earlier one's claim.
func splitDuplicateKeys(batch []*writeJob) (keep, later []*writeJob) {
	seen := map[[2]string]bool{}
	keep = batch[:0:0]
	for _, j := range batch {
		if cl := j.row.opts.claim; cl != nil {
			k := [2]string{j.row.c.ClientID, cl.key}
			if seen[k] {
				later = append(later, j)
				continue
			}
			seen[k] = true
		}
		keep = append(keep, j)
	}
	return keep, later
}

// writeJobs writes a batch and answers each of its orders.
func (b *BatchWriter) writeJobs(batch []*writeJob) {
	live := batch[:0:0]
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil { // the caller gave up while queued
			j.done <- writeOutcome{err: err}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	rows := make([]batchRow, len(live))
	for i, j := range live {
		rows[i] = j.row
	}
	ids, err := b.write(ctx, rows)
	if err == nil {
		b.batches.Inc()
		b.orders.Add(float64(len(rows)))
		for i, j := range live {
			j.done <- writeOutcome{id: ids[i]}
		}
		return
	}
	if len(live) == 1 {
		live[0].done <- writeOutcome{err: err}
		return
	}
	// One order may have failed them all: each on its own.
	for _, j := range live {
		ids, err := b.write(ctx, []batchRow{j.row})
		if err != nil {
			j.done <- writeOutcome{err: err}
		} else {
			j.done <- writeOutcome{id: ids[0]}
		}
	}
}

// batchRow is one order as the batch statement takes it.
type batchRow struct {
	c    Caller
	req  *RegisterRequest
	o    *resolved
	hash string
	opts writeOptions
	now  time.Time
}

// write runs the batch statement for rows (one transaction) and returns each
// row's order id, 0 for a row it did not write.
func (b *BatchWriter) write(ctx context.Context, rows []batchRow) ([]int64, error) {
	args, err := batchArgs(rows)
	if err != nil {
		return nil, err
	}
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer conn.Close()
	ids := make([]int64, len(rows))
	err = conn.Raw(func(driverConn any) error {
		res, err := driverConn.(*stdlib.Conn).Conn().Query(ctx, batchInsertSQL, args...)
		if err != nil {
			return err
		}
		defer res.Close()
		for res.Next() {
			var idx, id int64
			if err := res.Scan(&idx, &id); err != nil {
				return err
			}
			if idx < 1 || int(idx) > len(ids) {
				return fmt.Errorf("order batch: row %d of %d", idx, len(ids))
			}
			ids[idx-1] = id
		}
		return res.Err()
	})
	if err != nil {
		return nil, store.Translate(err)
	}
	return ids, nil
}

// The batch statement's per-order columns: the orders columns (orderColumns,
// in orderValues' order) and what the guards and the event need. Each is one
// array parameter, so the statement's text never changes and PostgreSQL
// parses and plans it once per connection.
var (
	batchOrderTypes = strings.Fields(`bigint text text text bigint text text boolean boolean bigint text bigint bigint
		text bigint text text text text text text text text text bigint bigint bigint`)
	batchLineTypes = strings.Fields(`bigint integer text text bigint text integer bigint bigint bigint text text text text
		text bigint text bigint bigint text text text text bigint text`)
)

// batchExtra are the per-order values after the orders columns.
const batchExtra = `check_payer, claim_key, claim_expires, event_id, event_source, event_prefix, event_time, event_wall`

var batchExtraTypes = strings.Fields(`boolean text bigint text text text bigint bigint`)

var batchInsertSQL = func() string {
	orderCols := strings.Split(strings.Join(strings.Fields(orderColumns), ""), ",")
	lineCols := strings.Split(strings.Join(strings.Fields(lineColumns), ""), ",")
	extra := strings.Split(strings.Join(strings.Fields(batchExtra), ""), ",")
	if len(orderCols) != len(batchOrderTypes) || len(lineCols) != len(batchLineTypes) || len(extra) != len(batchExtraTypes) {
		panic("order: batch column types out of step with orderColumns/lineColumns")
	}
	n := 0
	unnest := func(types []string) string {
		parts := make([]string, len(types))
		for i, t := range types {
			n++
			parts[i] = fmt.Sprintf("$%d::%s[]", n, t)
		}
		return strings.Join(parts, ", ")
	}
	orderArrays := unnest(append(append([]string{}, batchOrderTypes...), batchExtraTypes...))
	lineArrays := unnest(append([]string{"bigint"}, batchLineTypes...))
	orderList := strings.Join(orderCols, ", ")
	return `WITH v AS MATERIALIZED (
	SELECT u.*, nextval(pg_get_serial_sequence('orders', 'id')) AS id,
		(NOT u.check_payer OR EXISTS (SELECT 1 FROM customers c
			WHERE c.company_id = u.company_id AND c.customer_number = u.payer_customer_number)) AS payer_ok
	FROM unnest(` + orderArrays + `) WITH ORDINALITY AS u(` + orderList + `, ` + batchExtra + `, idx)),
claim AS (INSERT INTO order_claims (client_id, claim_key, company_id, kind, request_hash, result_id, expires_at, created_at)
	SELECT client_id, claim_key, company_id, 'order', request_hash, id, claim_expires, created_at FROM v
	WHERE claim_key IS NOT NULL AND payer_ok
	ORDER BY client_id, claim_key
	ON CONFLICT (client_id, claim_key) DO UPDATE SET request_hash = excluded.request_hash, result_id = excluded.result_id,
		expires_at = excluded.expires_at, created_at = excluded.created_at
	WHERE order_claims.expires_at IS NOT NULL AND order_claims.expires_at < excluded.created_at
	RETURNING result_id),
ok AS MATERIALIZED (SELECT * FROM v WHERE payer_ok AND (claim_key IS NULL OR id IN (SELECT result_id FROM claim))),
o AS (INSERT INTO orders (id, ` + orderList + `) SELECT id, ` + orderList + ` FROM ok ORDER BY idx RETURNING id),
l AS (INSERT INTO order_lines (order_id, ` + strings.Join(lineCols, ", ") + `)
	SELECT ok.id, ` + prefixedList("u.", lineCols) + `
	FROM unnest(` + lineArrays + `) AS u(order_idx, ` + strings.Join(lineCols, ", ") + `) JOIN ok ON ok.idx = u.order_idx),
e AS (INSERT INTO event_outbox (event_id, company_id, type, source, status, data, time, next_attempt_at, created_at)
	SELECT event_id, company_id, '` + event.TypeOrder + `', event_source, status, event_prefix || id::text || '}', event_time,
		event_wall, event_wall FROM ok)
SELECT ok.idx, ok.id FROM ok JOIN o ON o.id = ok.id`
}()

func prefixedList(prefix string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = prefix + c
	}
	return strings.Join(out, ", ")
}

// batchArgs turns rows into the statement's array parameters.
func batchArgs(rows []batchRow) ([]any, error) {
	orderCols := columnsOf(append(append([]string{}, batchOrderTypes...), batchExtraTypes...))
	lineCols := columnsOf(append([]string{"bigint"}, batchLineTypes...))
	wall := time.Now().UnixMilli()
	for i, r := range rows {
		values := orderValues(r.c, r.req, r.o, r.hash, r.now)
		prefix, err := orderEventDataPrefix(r.req.ExternalOrderID, r.o.payer, r.c.ClientID)
		if err != nil {
			return nil, err
		}
		var claimKey, claimExpires any
		if r.opts.claim != nil {
			claimKey, claimExpires = r.opts.claim.key, r.opts.claim.expiresAt
		}
		values = append(values, r.opts.checkPayer, claimKey, claimExpires, event.NewID(), r.c.CompanyCode, prefix,
			r.now.UnixMilli(), wall)
		for k, v := range values {
			if err := orderCols[k].add(v); err != nil {
				return nil, fmt.Errorf("order batch: column %d: %w", k, err)
			}
		}
		for _, l := range r.o.lines {
			lv := append([]any{int64(i + 1)}, lineValues(r.c.CompanyID, l)...)
			for k, v := range lv {
				if err := lineCols[k].add(v); err != nil {
					return nil, fmt.Errorf("order batch: line column %d: %w", k, err)
				}
			}
		}
	}
	args := make([]any, 0, len(orderCols)+len(lineCols))
	for _, c := range append(orderCols, lineCols...) {
		args = append(args, c.array())
	}
	return args, nil
}

// column collects one array parameter of an SQL type. Values are kept
// unboxed with a validity flag (NULL) in pgtype's array of its own type,
// which pgx encodes without reflection and without a pointer per value.
type column struct {
	sqlType string
	ints    pgtype.FlatArray[pgtype.Int8]
	strs    pgtype.FlatArray[pgtype.Text]
	bools   []bool
}

func columnsOf(types []string) []column {
	cols := make([]column, len(types))
	for i, t := range types {
		cols[i].sqlType = t
	}
	return cols
}

func (c *column) add(v any) error {
	switch c.sqlType {
	case "bigint", "integer":
		var n pgtype.Int8
		switch x := v.(type) {
		case nil:
		case int:
			n = pgtype.Int8{Int64: int64(x), Valid: true}
		case int64:
			n = pgtype.Int8{Int64: x, Valid: true}
		case *int64:
			if x != nil {
				n = pgtype.Int8{Int64: *x, Valid: true}
			}
		default:
			return fmt.Errorf("%T for %s", v, c.sqlType)
		}
		c.ints = append(c.ints, n)
	case "text":
		var t pgtype.Text
		switch x := v.(type) {
		case nil:
		case string:
			t = pgtype.Text{String: x, Valid: true}
		case *string:
			if x != nil {
				t = pgtype.Text{String: *x, Valid: true}
			}
		default:
			return fmt.Errorf("%T for text", v)
		}
		c.strs = append(c.strs, t)
	case "boolean":
		x, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%T for boolean", v)
		}
		c.bools = append(c.bools, x)
	default:
		return fmt.Errorf("unknown type %s", c.sqlType)
	}
	return nil
}

func (c *column) array() any {
	switch c.sqlType {
	case "text":
		return c.strs
	case "boolean":
		return c.bools
	}
	return c.ints
}
