package event

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// Delivery states.
const (
	StatePending   = "pending"
	StateDelivered = "delivered"
	StateFailed    = "failed"
)

const (
	targetNATS    = "nats"
	targetWebhook = "webhook:" // + clientId
	// idleDue marks an endpoint with nothing to send.
	idleDue int64 = 1 << 62
	// fanOutBatch is how many outbox rows one fan-out transaction takes.
	fanOutBatch = 500
	// claimBudget bounds how long a worker keeps one endpoint, so endpoints
	// beyond the worker count get their turn.
	claimBudget = 5 * time.Second
)

// Dispatcher moves events from the outbox to their endpoints. Any number of
// dispatchers (one per node) may run against one PostgreSQL database: the
// outbox is fanned out under FOR UPDATE SKIP LOCKED, and each endpoint is
// leased to one node at a time, which keeps its events in order. A node that
// dies leaves its lease to expire; the endpoint's unfinished delivery is then
// sent again by another node (at-least-once).
type Dispatcher struct {
	db   *store.DB
	cfg  Config
	http *http.Client
	poke chan struct{}

	// The queue's deletions since its last vacuum, and that vacuum's time.
	deleted    int
	vacuumedAt time.Time
	vacuuming  atomic.Bool
}

// NewDispatcher builds a dispatcher; Run starts it.
func NewDispatcher(db *store.DB, cfg Config) *Dispatcher {
	cfg = cfg.withDefaults()
	if cfg.Node == "" {
		host, _ := os.Hostname()
		cfg.Node = host + ":" + strconv.Itoa(os.Getpid())
	}
	return &Dispatcher{db: db, cfg: cfg, http: NewHTTPClient(cfg.Timeout), poke: make(chan struct{}, 1)}
}

// NewHTTPClient is the client of outgoing deliveries (webhooks, order
// callbacks): connect, TLS and response headers each bounded by timeout, and
// redirects not followed.
func NewHTTPClient(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: transport,
		// A redirect is an answer, not a delivery: following it would send
		// signed events to a place the publisher never configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Poke wakes the dispatcher before its next poll (e.g. after a replay on this node).
func (d *Dispatcher) Poke() {
	select {
	case d.poke <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is cancelled, then waits for in-flight sends to stop.
// Sends cut short by the shutdown are not counted as attempts; their endpoints
// are released so another node continues at once.
func (d *Dispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	done := make(chan struct{}, d.cfg.Workers)
	inflight := 0
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for {
		if err := d.fanOutAll(ctx); err != nil && ctx.Err() == nil {
			d.cfg.Logger.Warn("events: fan-out failed", "error", err)
		}
		d.vacuumQueue(ctx, &wg)
		if free := d.cfg.Workers - inflight; free > 0 && ctx.Err() == nil {
			claims, err := d.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				d.cfg.Logger.Warn("events: claiming endpoints failed", "error", err)
			}
			for _, c := range claims {
				inflight++
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.work(ctx, c)
					done <- struct{}{}
				}()
			}
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-done:
			inflight--
		case <-tick.C:
		case <-d.poke:
		}
	}
}

func (d *Dispatcher) nowMs() int64 { return d.cfg.Now().UnixMilli() }

func (d *Dispatcher) pg() bool { return d.db.Dialect == store.Postgres }

// fanOutAll turns pending outbox rows into deliveries until none are left.
func (d *Dispatcher) fanOutAll(ctx context.Context) error {
	for {
		n, err := d.fanOut(ctx)
		if err == nil {
			d.deleted += n
		}
		if err != nil || n < fanOutBatch {
			return err
		}
	}
}

// vacuumQueue vacuums event_pending (PostgreSQL) in the background once the
// dispatcher has deleted QueueVacuumAfter rows from it, at most every
// QueueVacuumEvery.
// Why: every event passes through the queue, so under load it is mostly
// deleted rows, and until a vacuum removes them every claim walks their index
// entries; autovacuum comes at most once a minute by default, or never where
// it is off. Measured on order registration: PostgreSQL's time per order rose
// from 76 to 96 µs over 500,000 deleted rows, and to 150–180 µs at a million.
// SKIP_LOCKED: a vacuum already running (another node's, autovacuum's) is
// enough.
func (d *Dispatcher) vacuumQueue(ctx context.Context, wg *sync.WaitGroup) {
	if !d.pg() || d.deleted < d.cfg.QueueVacuumAfter || time.Since(d.vacuumedAt) < d.cfg.QueueVacuumEvery ||
		!d.vacuuming.CompareAndSwap(false, true) {
		return
	}
	d.deleted, d.vacuumedAt = 0, time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer d.vacuuming.Store(false)
		if _, err := d.db.ExecContext(ctx, `VACUUM (SKIP_LOCKED) event_pending`); err != nil && ctx.Err() == nil {
			d.cfg.Logger.Warn("events: vacuuming the queue failed", "error", err)
		}
	}()
}

type outboxRow struct {
	id, companyID, time int64
	eventID             string
}

// fanOut creates one delivery per (event, endpoint) for a batch of outbox
// rows: every client of the event's company with a webhook URL, and the
// stream when one is configured.
func (d *Dispatcher) fanOut(ctx context.Context) (int, error) {
	// A read first, so an idle poll never takes SQLite's write lock. By the
	// key: the queue's deleted rows wait for vacuum, and a plain scan would
	// read through all of them at every poll (measured: PostgreSQL's time
	// per order doubled with a million of them).
	var one int
	err := d.db.QueryRowContext(ctx, `SELECT 1 FROM event_pending ORDER BY id LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	var n int
	err = d.db.Tx(ctx, func(tx *sql.Tx) error {
		q := `SELECT id, event_id, company_id, time FROM event_pending ORDER BY id LIMIT ` + strconv.Itoa(fanOutBatch)
		if d.pg() {
			q += ` FOR UPDATE SKIP LOCKED`
		}
		rows, err := tx.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		var events []outboxRow
		for rows.Next() {
			var r outboxRow
			if err := rows.Scan(&r.id, &r.eventID, &r.companyID, &r.time); err != nil {
				rows.Close()
				return err
			}
			events = append(events, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(events)
		if n == 0 {
			return nil
		}
		companies := map[int64]bool{}
		for _, e := range events {
			companies[e.companyID] = true
		}
		endpoints, err := d.endpointsFor(ctx, tx, companies)
		if err != nil {
			return err
		}
		now := d.nowMs()
		var vals []any
		for _, e := range events {
			for _, ep := range endpoints[e.companyID] {
				vals = append(vals, e.eventID, e.companyID, ep, e.id, e.time, now)
			}
		}
		if err := insertDeliveries(ctx, tx, vals); err != nil {
			return err
		}
		ids := make([]any, len(events))
		for i, e := range events {
			ids[i] = e.id
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM event_pending WHERE id IN (`+placeholders(1, len(ids))+`)`, ids...)
		return err
	})
	return n, err
}

// endpointsFor upserts the endpoints of the companies and returns their ids
// by company. Rows are touched in a fixed order so that two nodes fanning out
// at once cannot deadlock.
func (d *Dispatcher) endpointsFor(ctx context.Context, tx *sql.Tx, companies map[int64]bool) (map[int64][]int64, error) {
	ids := make([]any, 0, len(companies))
	for id := range companies {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].(int64) < ids[j].(int64) })
	type key struct {
		company int64
		target  string
	}
	var keys []key
	rows, err := tx.QueryContext(ctx, `SELECT company_id, client_id FROM clients
		WHERE webhook_url <> '' AND company_id IN (`+placeholders(1, len(ids))+`) ORDER BY company_id, client_id`, ids...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.company, &k.target); err != nil {
			rows.Close()
			return nil, err
		}
		k.target = targetWebhook + k.target
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if d.cfg.Stream != nil {
		for _, id := range ids {
			keys = append(keys, key{id.(int64), targetNATS})
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].company != keys[j].company {
			return keys[i].company < keys[j].company
		}
		return keys[i].target < keys[j].target
	})
	out := map[int64][]int64{}
	now := d.nowMs()
	for _, k := range keys {
		id, err := upsertEndpoint(ctx, tx, k.company, k.target, now)
		if err != nil {
			return nil, err
		}
		out[k.company] = append(out[k.company], id)
	}
	return out, nil
}

// upsertEndpoint makes sure the endpoint exists, marks new work (version) and
// wakes it if it was idle; one waiting out a back-off keeps waiting.
func upsertEndpoint(ctx context.Context, tx store.Queryer, companyID int64, target string, now int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO event_endpoints (company_id, target, next_due, version, created_at)
		VALUES ($1, $2, $3, 1, $3)
		ON CONFLICT (company_id, target) DO UPDATE SET version = event_endpoints.version + 1,
			next_due = CASE WHEN event_endpoints.next_due >= $4 THEN $3 ELSE event_endpoints.next_due END
		RETURNING id`, companyID, target, now, idleDue).Scan(&id)
	return id, err
}

// insertDeliveries inserts rows of (event_id, company_id, endpoint_id,
// event_seq, event_time, now) values; existing pairs are left alone.
func insertDeliveries(ctx context.Context, tx store.Queryer, vals []any) error {
	const cols = 6
	const chunk = 500
	for len(vals) > 0 {
		n := min(len(vals)/cols, chunk)
		var b strings.Builder
		b.WriteString(`INSERT INTO event_deliveries (event_id, company_id, endpoint_id, event_seq, event_time, next_attempt_at, created_at, updated_at) VALUES `)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			p := i*cols + 1
			fmt.Fprintf(&b, "($%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)", p, p+1, p+2, p+3, p+4, p+5, p+5, p+5)
		}
		b.WriteString(` ON CONFLICT (event_id, endpoint_id) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, b.String(), vals[:n*cols]...); err != nil {
			return err
		}
		vals = vals[n*cols:]
	}
	return nil
}

func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// claim is one endpoint leased to this node.
type claim struct {
	id, companyID int64
	target, token string
	until         int64 // lease end, epoch ms
}

// claim leases up to n due endpoints that no live lease holds.
func (d *Dispatcher) claim(ctx context.Context, n int) ([]*claim, error) {
	now := d.nowMs()
	filter := ``
	if d.cfg.Stream == nil {
		filter = ` AND target <> 'nats'` // this node cannot publish; leave them to one that can
	}
	var one int
	err := d.db.QueryRowContext(ctx, `SELECT 1 FROM event_endpoints WHERE next_due <= $1 AND claimed_until < $1`+filter+` LIMIT 1`, now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	lock := ``
	if d.pg() {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	token := newToken()
	until := now + d.cfg.Lease.Milliseconds()
	rows, err := d.db.QueryContext(ctx, `UPDATE event_endpoints SET claimed_until = $1, claim_token = $2
		WHERE id IN (SELECT id FROM event_endpoints WHERE next_due <= $3 AND claimed_until < $3`+filter+`
			ORDER BY next_due LIMIT $4`+lock+`)
		RETURNING id, company_id, target`, until, token, now, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*claim
	for rows.Next() {
		c := &claim{token: token, until: until}
		if err := rows.Scan(&c.id, &c.companyID, &c.target); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// pendingEvent is a delivery with its event, ready to send.
type pendingEvent struct {
	deliveryID    int64
	eventID       string
	attempts      int
	nextAttemptAt int64
	typ, source   string
	body          []byte
}

// result is one finished attempt.
type result struct {
	ev       *pendingEvent
	started  int64
	duration time.Duration
	status   int
	err      string
}

func (r result) ok() bool { return r.err == "" }

var errLeaseLost = errors.New("lease lost")

// work sends an endpoint's due events in order, stopping at the first
// failure (its successors wait for it: per-endpoint ordering), and releases
// the endpoint.
func (d *Dispatcher) work(ctx context.Context, c *claim) {
	started := time.Now()
	var dest *destination
	for ctx.Err() == nil {
		if c.until-d.nowMs() < (d.cfg.Timeout + d.cfg.Timeout/2).Milliseconds() {
			if err := d.renew(ctx, c); err != nil {
				d.logLease(c, err)
				return
			}
		}
		batch, err := d.loadBatch(ctx, c)
		if err != nil || len(batch) == 0 {
			if err != nil && ctx.Err() == nil {
				d.cfg.Logger.Warn("events: loading deliveries failed", "endpoint", c.target, "error", err)
			}
			break
		}
		if dest == nil {
			if dest, err = d.destination(ctx, c); err != nil {
				d.cfg.Logger.Warn("events: reading endpoint failed", "endpoint", c.target, "error", err)
				break
			}
		}
		var results []result
		stop := false
		for _, ev := range batch {
			now := d.cfg.Now()
			if ev.nextAttemptAt > now.UnixMilli() {
				stop = true // the head waits out its back-off, and everything behind it too
				break
			}
			if c.until-now.UnixMilli() < d.cfg.Timeout.Milliseconds()+1000 {
				break // renew before the next send
			}
			r := d.attempt(ctx, dest, ev)
			if ctx.Err() != nil {
				stop = true // cut short by shutdown: not an attempt
				break
			}
			results = append(results, r)
			if !r.ok() {
				stop = true
				break
			}
		}
		if len(results) > 0 {
			if err := d.record(context.WithoutCancel(ctx), c, results); err != nil {
				d.logLease(c, err)
				return
			}
		}
		if stop || time.Since(started) > claimBudget {
			break
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.release(rctx, c); err != nil {
		d.logLease(c, err)
	}
}

func (d *Dispatcher) logLease(c *claim, err error) {
	if errors.Is(err, errLeaseLost) {
		d.cfg.Logger.Warn("events: endpoint lease lost; another node continues", "endpoint", c.target)
		return
	}
	d.cfg.Logger.Warn("events: recording delivery failed", "endpoint", c.target, "error", err)
}

func (d *Dispatcher) loadBatch(ctx context.Context, c *claim) ([]*pendingEvent, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT d.id, d.event_id, d.attempts, d.next_attempt_at, o.type, o.source, o.status, o.data, o.time
		FROM event_deliveries d JOIN event_outbox o ON o.event_id = d.event_id
		WHERE d.endpoint_id = $1 AND d.state = 'pending'
		ORDER BY d.event_time, d.event_seq LIMIT $2`, c.id, d.cfg.BatchSize)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*pendingEvent
	for rows.Next() {
		var ev pendingEvent
		var env Envelope
		var data string
		if err := rows.Scan(&ev.deliveryID, &ev.eventID, &ev.attempts, &ev.nextAttemptAt, &env.Type, &env.Source, &env.Status, &data, &env.Time); err != nil {
			return nil, err
		}
		env.Data = json.RawMessage(data)
		if ev.body, err = json.Marshal(env); err != nil {
			return nil, fmt.Errorf("event %s: %w", ev.eventID, err)
		}
		ev.typ, ev.source = env.Type, env.Source
		out = append(out, &ev)
	}
	return out, rows.Err()
}

// destination is where a claimed endpoint's events go, read once per claim
// so a changed URL or secret applies from the next claim on.
type destination struct {
	nats          bool
	clientID      string
	url, secret   string
	missingReason string
}

func (d *Dispatcher) destination(ctx context.Context, c *claim) (*destination, error) {
	if c.target == targetNATS {
		return &destination{nats: true}, nil
	}
	clientID, _ := strings.CutPrefix(c.target, targetWebhook)
	dest := &destination{clientID: clientID}
	err := d.db.QueryRowContext(ctx, `SELECT webhook_url, webhook_secret FROM clients WHERE company_id = $1 AND client_id = $2`,
		c.companyID, clientID).Scan(&dest.url, &dest.secret)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		dest.missingReason = "client " + clientID + " no longer exists"
	case err != nil:
		return nil, err
	case dest.url == "":
		dest.missingReason = "client " + clientID + " has no webhook URL any more"
	}
	return dest, nil
}

// attempt makes one delivery attempt.
func (d *Dispatcher) attempt(ctx context.Context, dest *destination, ev *pendingEvent) result {
	start := d.cfg.Now()
	wall := time.Now()
	r := result{ev: ev, started: start.UnixMilli()}
	actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	if dest.nats {
		if err := d.cfg.Stream.Publish(actx, ev.source, ev.typ, ev.eventID, ev.body); err != nil {
			r.err = "publish: " + clip(err.Error())
		}
		r.duration = time.Since(wall)
		return r
	}
	r.status, r.err = d.post(actx, dest, ev, start)
	r.duration = time.Since(wall)
	return r
}

// post sends one signed webhook request and judges the answer: only 2xx is a
// delivery. At most MaxBodyRead bytes of the answer are read.
func (d *Dispatcher) post(ctx context.Context, dest *destination, ev *pendingEvent, now time.Time) (int, string) {
	if dest.missingReason != "" {
		return 0, dest.missingReason
	}
	if err := CheckWebhookURL(dest.url, d.cfg.SelfURLs); err != nil {
		return 0, "refused: " + err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest.url, bytes.NewReader(ev.body))
	if err != nil {
		return 0, "bad webhook URL: " + clip(err.Error())
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.cfg.UserAgent)
	req.Header.Set(HeaderEventID, ev.eventID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(dest.secret, ts, ev.body))
	req.Header.Set(HeaderAttempt, strconv.Itoa(ev.attempts+1))
	res, err := d.http.Do(req)
	return JudgeAnswer(res, err, d.cfg.Timeout, d.cfg.MaxBodyRead)
}

// JudgeAnswer judges one delivery attempt from the client's Do results:
// only 2xx is a delivery (status, ""); otherwise the status (0 when there was
// no answer) and a short error text. At most maxBody bytes of the answer are
// read, and the body is closed.
func JudgeAnswer(res *http.Response, err error, timeout time.Duration, maxBody int64) (int, string) {
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return 0, fmt.Sprintf("no answer within %s", timeout)
		}
		return 0, clip(err.Error())
	}
	defer res.Body.Close()
	snippet, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil && res.StatusCode/100 == 2 {
		// The receiver answered 2xx; a slow or broken body after that does not undo it.
		err = nil
	}
	switch {
	case res.StatusCode/100 == 2:
		return res.StatusCode, ""
	case res.StatusCode/100 == 3:
		return res.StatusCode, fmt.Sprintf("HTTP %d: redirects are not followed (Location %q)", res.StatusCode, clip(res.Header.Get("Location")))
	default:
		msg := fmt.Sprintf("HTTP %d", res.StatusCode)
		if s := strings.TrimSpace(string(snippet)); s != "" {
			msg += ": " + clip(s)
		}
		return res.StatusCode, msg
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// clip keeps stored error texts short.
func clip(s string) string {
	const max = 300
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// renew extends the lease if this node still holds it.
func (d *Dispatcher) renew(ctx context.Context, c *claim) error {
	until := d.nowMs() + d.cfg.Lease.Milliseconds()
	res, err := d.db.ExecContext(ctx, `UPDATE event_endpoints SET claimed_until = $1 WHERE id = $2 AND claim_token = $3`, until, c.id, c.token)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errLeaseLost
	}
	c.until = until
	return nil
}

// record writes a batch of attempts in one transaction, but only while this
// node still holds the endpoint (else another node owns it and decides).
func (d *Dispatcher) record(ctx context.Context, c *claim, rs []result) error {
	now := d.nowMs()
	until := now + d.cfg.Lease.Milliseconds()
	err := d.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE event_endpoints SET claimed_until = $1 WHERE id = $2 AND claim_token = $3`, until, c.id, c.token)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errLeaseLost
		}
		delivered := map[int][]any{} // by status code
		var log []any
		for _, r := range rs {
			n := r.ev.attempts + 1
			log = append(log, r.ev.deliveryID, c.companyID, n, r.started, r.duration.Milliseconds(), r.status, r.err, d.cfg.Node)
			if r.ok() {
				delivered[r.status] = append(delivered[r.status], r.ev.deliveryID)
				continue
			}
			state, next := StatePending, r.started+d.cfg.backoff(n).Milliseconds()
			if n >= d.cfg.MaxAttempts {
				state, next = StateFailed, 0
				d.cfg.Logger.Warn("events: delivery failed for good", "event", r.ev.eventID, "endpoint", c.target, "attempts", n, "error", r.err)
			}
			_, err := tx.ExecContext(ctx, `UPDATE event_deliveries SET state = $1, attempts = $2, next_attempt_at = $3,
				last_status = $4, last_error = $5, last_attempt_at = $6, updated_at = $7 WHERE id = $8 AND state = 'pending'`,
				state, n, next, r.status, r.err, r.started, now, r.ev.deliveryID)
			if err != nil {
				return err
			}
		}
		for status, ids := range delivered {
			args := append([]any{status, now}, ids...)
			_, err := tx.ExecContext(ctx, `UPDATE event_deliveries SET state = 'delivered', attempts = attempts + 1,
				last_status = $1, last_error = '', last_attempt_at = $2, delivered_at = $2, updated_at = $2
				WHERE state = 'pending' AND id IN (`+placeholders(3, len(ids))+`)`, args...)
			if err != nil {
				return err
			}
		}
		const cols = 8
		var b strings.Builder
		b.WriteString(`INSERT INTO event_attempts (delivery_id, company_id, attempt, started_at, duration_ms, status_code, error, node) VALUES `)
		for i := 0; i < len(log)/cols; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			b.WriteString(placeholders(i*cols+1, cols))
			b.WriteByte(')')
		}
		_, err = tx.ExecContext(ctx, b.String(), log...)
		return err
	})
	if err == nil {
		c.until = until
	}
	return err
}

// release hands the endpoint back with the time its head is due. If work was
// added meanwhile (version moved), it is due now, so no wake-up is lost.
func (d *Dispatcher) release(ctx context.Context, c *claim) error {
	var version int64
	if err := d.db.QueryRowContext(ctx, `SELECT version FROM event_endpoints WHERE id = $1`, c.id).Scan(&version); err != nil {
		return err
	}
	due := idleDue
	err := d.db.QueryRowContext(ctx, `SELECT next_attempt_at FROM event_deliveries
		WHERE endpoint_id = $1 AND state = 'pending' ORDER BY event_time, event_seq LIMIT 1`, c.id).Scan(&due)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	res, err := d.db.ExecContext(ctx, `UPDATE event_endpoints SET claimed_until = 0, claim_token = '',
		next_due = CASE WHEN version = $1 THEN CAST($2 AS BIGINT) ELSE CAST($3 AS BIGINT) END
		WHERE id = $4 AND claim_token = $5`, version, due, d.nowMs(), c.id, c.token)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errLeaseLost
	}
	return nil
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
