package order

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
)

// Order callback states (order_callbacks.status).
const (
	CallbackPending   = "pending"
	CallbackDelivered = "delivered"
	CallbackFailed    = "failed"
)

// callbackWithStatus is the order's callbackUrl with the fulfilment outcome
// (success or failed) in its fulfillmentStatus query parameter.
func callbackWithStatus(callback, status string) (string, error) {
	u, err := url.Parse(callback)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("fulfillmentStatus", status)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// callbackOutcome is the fulfillmentStatus an order's callback carries when
// the order reaches status, or "" while the outcome is open. The callback
// knows two outcomes (spec order.md: success|failed): an order cancelled by
// the user or expired is stopped like a failed one, so it is called back
// with failed.
func callbackOutcome(status string) string {
	switch status {
	case Completed:
		return "success"
	case Failed, Cancelled:
		return "failed"
	}
	return ""
}

// recordCallback records the order's callback in tx, the transaction that
// gives it its final status (setStatus), so the outcome is called back even
// if this process stops right after the commit. Orders without a callbackUrl
// record nothing; an order has one callback (its first final outcome).
func recordCallback(ctx context.Context, tx *sql.Tx, o *record, status string, now time.Time) error {
	if o.CallbackURL == "" {
		return nil
	}
	target, err := callbackWithStatus(o.CallbackURL, status)
	if err != nil {
		return nil // checked when stored; an unparsable URL cannot be called
	}
	ms := now.UnixMilli()
	_, err = tx.ExecContext(ctx, `INSERT INTO order_callbacks (company_id, order_id, url, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4, $4) ON CONFLICT (company_id, order_id) DO NOTHING`, o.CompanyID, o.ID, target, ms)
	return store.Translate(err)
}

// CallbackDeliverer calls recorded order callbacks with GET under the webhook
// policy of package event (attempts, back-off, timeout, no redirects, small
// reply read, never the server itself). Any number of deliverers (one per
// node) may share a database: a callback is leased to one of them while it
// is called (FOR UPDATE SKIP LOCKED on PostgreSQL), so it is never called
// twice at once. A deliverer that dies leaves its lease to expire and the
// callback is called again by another (at-least-once).
type CallbackDeliverer struct {
	db   *store.DB
	cfg  event.Config
	http *http.Client
	poke chan struct{}
}

// NewCallbackDeliverer builds a deliverer with the webhook configuration cfg
// (zero fields take the defaults of spec README §11); Run starts it.
func NewCallbackDeliverer(db *store.DB, cfg event.Config) *CallbackDeliverer {
	cfg = cfg.WithDefaults()
	return &CallbackDeliverer{db: db, cfg: cfg, http: event.NewHTTPClient(cfg.Timeout), poke: make(chan struct{}, 1)}
}

// Send implements CallbackSender: a callback was just committed, so the
// deliverer looks for due callbacks now rather than at its next poll.
func (d *CallbackDeliverer) Send(context.Context, string) {
	select {
	case d.poke <- struct{}{}:
	default:
	}
}

// Run delivers due callbacks until ctx is cancelled, then waits for calls in
// flight (a call cut short by the shutdown hands its callback back). Up to
// Workers callbacks are called at once; a slot that frees up takes the next
// due callback at once, so a slow receiver (up to the timeout) holds only
// its own slot, never the callbacks behind it. A callback is leased only when
// a slot is free to call it, so its lease (at least twice the timeout) runs
// from the moment its call starts.
func (d *CallbackDeliverer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	done := make(chan struct{}, d.cfg.Workers)
	inflight := 0
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for {
		if free := d.cfg.Workers - inflight; free > 0 && ctx.Err() == nil {
			token, due, err := d.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				d.cfg.Logger.Warn("order callbacks: claiming due callbacks failed", "error", err)
			}
			for _, c := range due {
				inflight++
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.deliver(ctx, token, c)
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

// dueCallback is one callback leased to this deliverer.
type dueCallback struct {
	id, companyID, orderID int64
	url                    string
	attempts               int
}

// DeliverDue is one pass: it leases up to Workers due callbacks, calls them
// at once, waits for the outcomes and returns how many it leased. Run does
// not wait for a whole pass; tests and tools use this.
func (d *CallbackDeliverer) DeliverDue(ctx context.Context) (int, error) {
	token, due, err := d.claim(ctx, d.cfg.Workers)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, c := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliver(ctx, token, c)
		}()
	}
	wg.Wait()
	return len(due), nil
}

// claim leases up to limit due callbacks that no live lease holds, oldest
// due first.
func (d *CallbackDeliverer) claim(ctx context.Context, limit int) (string, []dueCallback, error) {
	now := d.cfg.Now().UnixMilli()
	// A read first, so an idle poll never takes SQLite's write lock.
	var one int
	err := d.db.QueryRowContext(ctx, `SELECT 1 FROM order_callbacks
		WHERE status = 'pending' AND next_attempt_at <= $1 AND claimed_until < $1 LIMIT 1`, now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	} else if err != nil {
		return "", nil, err
	}
	lock := ``
	if d.db.Dialect == store.Postgres {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	token := newClaimToken()
	rows, err := d.db.QueryContext(ctx, `UPDATE order_callbacks SET claimed_until = $1, claim_token = $2
		WHERE id IN (SELECT id FROM order_callbacks WHERE status = 'pending' AND next_attempt_at <= $3 AND claimed_until < $3
			ORDER BY next_attempt_at LIMIT $4`+lock+`)
		RETURNING id, company_id, order_id, url, attempts`, now+d.cfg.Lease.Milliseconds(), token, now, limit)
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	var out []dueCallback
	for rows.Next() {
		var c dueCallback
		if err := rows.Scan(&c.id, &c.companyID, &c.orderID, &c.url, &c.attempts); err != nil {
			return "", nil, err
		}
		out = append(out, c)
	}
	return token, out, rows.Err()
}

// deliver makes one attempt and records it while the lease is still ours.
// A callback at the server itself is failed without a call: retrying cannot
// change that.
func (d *CallbackDeliverer) deliver(ctx context.Context, token string, c dueCallback) {
	started := d.cfg.Now()
	status, msg, final := 0, "", false
	if err := event.CheckWebhookURL(c.url, d.cfg.SelfURLs); err != nil {
		msg, final = "refused: "+err.Error(), true
	} else {
		status, msg = d.call(ctx, c.url)
		if ctx.Err() != nil {
			// Cut short by shutdown: not an attempt; hand it back at once.
			d.release(context.WithoutCancel(ctx), token, c)
			return
		}
	}
	n := c.attempts + 1
	state, next := CallbackPending, started.Add(d.cfg.BackoffAfter(n)).UnixMilli()
	var deliveredAt any
	switch {
	case msg == "":
		state, next, deliveredAt = CallbackDelivered, 0, started.UnixMilli()
	case final || n >= d.cfg.MaxAttempts:
		state, next = CallbackFailed, 0
		d.cfg.Logger.Warn("order callback failed for good", "order", c.orderID, "attempts", n, "error", msg)
	}
	now := d.cfg.Now().UnixMilli()
	_, err := d.db.ExecContext(context.WithoutCancel(ctx), `UPDATE order_callbacks SET status = $1, attempts = $2,
		next_attempt_at = $3, last_status = $4, last_error = $5, last_attempt_at = $6, delivered_at = $7,
		claimed_until = 0, claim_token = '', updated_at = $8
		WHERE id = $9 AND claim_token = $10 AND status = 'pending'`,
		state, n, next, status, msg, started.UnixMilli(), deliveredAt, now, c.id, token)
	if err != nil {
		d.cfg.Logger.Warn("order callbacks: recording an attempt failed", "order", c.orderID, "error", err)
	}
}

// call makes the GET and judges the answer like a webhook delivery.
func (d *CallbackDeliverer) call(ctx context.Context, target string) (int, string) {
	actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, target, nil)
	if err != nil {
		return 0, "bad callback URL: " + err.Error()
	}
	req.Header.Set("User-Agent", d.cfg.UserAgent)
	res, err := d.http.Do(req)
	return event.JudgeAnswer(res, err, d.cfg.Timeout, d.cfg.MaxBodyRead)
}

func (d *CallbackDeliverer) release(ctx context.Context, token string, c dueCallback) {
	_, err := d.db.ExecContext(ctx, `UPDATE order_callbacks SET claimed_until = 0, claim_token = ''
		WHERE id = $1 AND claim_token = $2`, c.id, token)
	if err != nil {
		d.cfg.Logger.Warn("order callbacks: releasing a lease failed", "order", c.orderID, "error", err)
	}
}

// CallbackRetention is how long a delivered or given-up callback is kept
// after its last attempt (what was called, when, with what answer) before
// PurgeCallbacks deletes it.
const CallbackRetention = 30 * 24 * time.Hour

// purgeBatch bounds the rows one purge statement deletes, so a first purge of
// a large backlog holds no long write lock.
const purgeBatch = 1000

// PurgeCallbacks deletes the delivered and given-up callbacks whose last
// change is more than CallbackRetention before now and returns how many.
// Pending callbacks are kept however old. `connect jobs run-once` runs it.
func PurgeCallbacks(ctx context.Context, db *store.DB, now time.Time) (int, error) {
	cutoff := now.Add(-CallbackRetention).UnixMilli()
	total := 0
	for {
		res, err := db.ExecContext(ctx, `DELETE FROM order_callbacks WHERE id IN (SELECT id FROM order_callbacks
			WHERE status <> 'pending' AND updated_at < $1 ORDER BY updated_at LIMIT $2)`, cutoff, purgeBatch)
		if err != nil {
			return total, store.Translate(err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
		if n < purgeBatch {
			return total, nil
		}
	}
}

func newClaimToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// checkCallbackURL refuses a callbackUrl the deliverer would refuse too: not
// an absolute http(s) URL, or one at this server (public), which would make
// the server call itself.
func checkCallbackURL(callback, public string) error {
	if callback == "" {
		return nil
	}
	if event.CheckWebhookURL(callback, nil) != nil {
		return errs.Field("callbackUrl", "must be an absolute http(s) URL without credentials")
	}
	if public != "" && event.CheckWebhookURL(callback, []string{public}) != nil {
		return errs.Field("callbackUrl", "must not point at this server")
	}
	return nil
}
