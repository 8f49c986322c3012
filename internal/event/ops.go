package event

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
)

// Delivery is one (event, endpoint) pair as operators see it.
type Delivery struct {
	EventID        string    `json:"eventId"`
	Type           string    `json:"type"`
	Status         string    `json:"status"`
	Time           int64     `json:"time"`
	Source         string    `json:"source"`
	Target         string    `json:"target"`             // "webhook" or "nats"
	ClientID       string    `json:"clientId,omitempty"` // the webhook's client
	State          string    `json:"state"`              // pending, delivered, failed
	Attempts       int       `json:"attempts"`           // since the last replay
	NextAttemptAt  int64     `json:"nextAttemptAt,omitempty"`
	LastStatusCode int       `json:"lastStatusCode"` // 0 when no HTTP answer came
	LastError      string    `json:"lastError"`
	LastAttemptAt  int64     `json:"lastAttemptAt"`
	AttemptLog     []Attempt `json:"attemptLog"` // every attempt, replays included, oldest first

	id        int64
	companyID int64
}

// Attempt is one entry of the delivery log.
type Attempt struct {
	Attempt    int    `json:"attempt"`
	Time       int64  `json:"time"`
	DurationMs int64  `json:"durationMs"`
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
}

// CompanyID is the company the delivery belongs to.
func (d Delivery) CompanyID() int64 { return d.companyID }

// ListOptions selects failed deliveries. CompanyID 0 means every company
// (operators' CLI only; the API always passes the caller's company).
type ListOptions struct {
	CompanyID int64
	Limit     int // default 100
	Offset    int
}

const deliveryColumns = `d.id, d.company_id, d.event_id, o.type, o.status, o.time, o.source, e.target, d.state,
	d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.last_attempt_at`

const deliveryFrom = ` FROM event_deliveries d JOIN event_outbox o ON o.event_id = d.event_id
	JOIN event_endpoints e ON e.id = d.endpoint_id`

// ListFailed returns failed deliveries, oldest event first, with their logs.
func ListFailed(ctx context.Context, q store.Queryer, o ListOptions) ([]Delivery, error) {
	if o.Limit <= 0 {
		o.Limit = 100
	}
	args := []any{o.Limit, o.Offset}
	where := `d.state = 'failed'`
	if o.CompanyID != 0 {
		where += ` AND d.company_id = $3`
		args = append(args, o.CompanyID)
	}
	return queryDeliveries(ctx, q, `SELECT `+deliveryColumns+deliveryFrom+` WHERE `+where+
		` ORDER BY d.event_time, d.id LIMIT $1 OFFSET $2`, args...)
}

func queryDeliveries(ctx context.Context, q store.Queryer, query string, args ...any) ([]Delivery, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	out := []Delivery{}
	for rows.Next() {
		var d Delivery
		var target string
		if err := rows.Scan(&d.id, &d.companyID, &d.EventID, &d.Type, &d.Status, &d.Time, &d.Source, &target, &d.State,
			&d.Attempts, &d.NextAttemptAt, &d.LastStatusCode, &d.LastError, &d.LastAttemptAt); err != nil {
			rows.Close()
			return nil, err
		}
		if id, ok := strings.CutPrefix(target, targetWebhook); ok {
			d.Target, d.ClientID = "webhook", id
		} else {
			d.Target = target
		}
		if d.State != StatePending {
			d.NextAttemptAt = 0
		}
		d.AttemptLog = []Attempt{}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	byID := map[int64]*Delivery{}
	ids := make([]any, len(out))
	for i := range out {
		byID[out[i].id] = &out[i]
		ids[i] = out[i].id
	}
	rows, err = q.QueryContext(ctx, `SELECT delivery_id, attempt, started_at, duration_ms, status_code, error
		FROM event_attempts WHERE delivery_id IN (`+placeholders(1, len(ids))+`) ORDER BY delivery_id, id`, ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var a Attempt
		if err := rows.Scan(&id, &a.Attempt, &a.Time, &a.DurationMs, &a.StatusCode, &a.Error); err != nil {
			return nil, err
		}
		d := byID[id]
		d.AttemptLog = append(d.AttemptLog, a)
	}
	return out, rows.Err()
}

var eventIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidEventID reports whether s has the shape of an event id.
func ValidEventID(s string) bool { return eventIDRe.MatchString(s) }

// Replay sends the event again, from its first attempt, to every webhook of
// its company configured now and to every endpoint it went to before
// (delivered or failed; deliveries still pending are left as they are). It
// returns the event's deliveries. companyID 0 finds the event in any company
// (CLI); an event outside companyID is errs.NotFound.
func Replay(ctx context.Context, db *store.DB, companyID int64, eventID string, now time.Time) ([]Delivery, error) {
	if !ValidEventID(eventID) {
		return nil, errs.Field("eventId", "must be 32 lower-case hex characters")
	}
	var out []Delivery
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var seq, company, evTime int64
		q := `SELECT id, company_id, time FROM event_outbox WHERE event_id = $1`
		args := []any{eventID}
		if companyID != 0 {
			q += ` AND company_id = $2`
			args = append(args, companyID)
		}
		if db.Dialect == store.Postgres {
			// Held until commit: the retention purge (which locks the rows it
			// deletes) skips the event meanwhile, or, when it got there first,
			// this waits and finds it gone (404).
			q += ` FOR SHARE`
		}
		if err := tx.QueryRowContext(ctx, q, args...).Scan(&seq, &company, &evTime); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errs.E(errs.NotFound, "event %s not found", eventID)
			}
			return err
		}
		ms := now.UnixMilli()
		// Webhooks added since the event was fanned out get it too.
		rows, err := tx.QueryContext(ctx, `SELECT client_id FROM clients WHERE company_id = $1 AND webhook_url <> '' ORDER BY client_id`, company)
		if err != nil {
			return err
		}
		var clients []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return err
			}
			clients = append(clients, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var vals []any
		for _, c := range clients {
			ep, err := upsertEndpoint(ctx, tx, company, targetWebhook+c, ms)
			if err != nil {
				return err
			}
			vals = append(vals, eventID, company, ep, seq, evTime, ms)
		}
		if err := insertDeliveries(ctx, tx, vals); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE event_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1,
			updated_at = $1 WHERE event_id = $2 AND company_id = $3 AND state <> 'pending'`, ms, eventID, company); err != nil {
			return err
		}
		if err := wake(ctx, tx, `SELECT endpoint_id FROM event_deliveries WHERE event_id = $2 AND company_id = $3`, ms, eventID, company); err != nil {
			return err
		}
		out, err = queryDeliveries(ctx, tx, `SELECT `+deliveryColumns+deliveryFrom+
			` WHERE d.event_id = $1 AND d.company_id = $2 ORDER BY e.target`, eventID, company)
		return err
	})
	return out, err
}

// wake makes the endpoints selected by sub (which may use $2...) due at $1,
// and bumps their version so a worker releasing them meanwhile looks again.
func wake(ctx context.Context, tx store.Queryer, sub string, now int64, args ...any) error {
	_, err := tx.ExecContext(ctx, `UPDATE event_endpoints SET version = version + 1,
		next_due = CASE WHEN next_due > $1 THEN $1 ELSE next_due END
		WHERE id IN (`+sub+`)`, append([]any{now}, args...)...)
	return err
}

// ReplayFailed puts every failed delivery (of one company, or of all when
// companyID is 0) back in the queue, from its first attempt. It returns how
// many were requeued.
func ReplayFailed(ctx context.Context, db *store.DB, companyID int64, now time.Time) (int, error) {
	var n int64
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		ms := now.UnixMilli()
		filter, args := ``, []any{}
		if companyID != 0 {
			filter, args = ` AND company_id = $2`, []any{companyID}
		}
		if err := wake(ctx, tx, `SELECT endpoint_id FROM event_deliveries WHERE state = 'failed'`+filter, ms, args...); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE event_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1,
			updated_at = $1 WHERE state = 'failed'`+filter, append([]any{ms}, args...)...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// SetWebhook points a client's webhook at url, signed with secret (the demo's
// --demo-webhook; operators otherwise use the tenant file). An empty url
// turns the client's webhook off.
func SetWebhook(ctx context.Context, db *store.DB, clientID, url, secret string, self []string, now time.Time) error {
	if url != "" {
		if err := CheckWebhookURL(url, self); err != nil {
			return errs.Field("webhook.url", "%s", err.Error())
		}
		if secret == "" {
			return errs.Field("webhook.secret", "is required to sign deliveries")
		}
	}
	res, err := db.ExecContext(ctx, `UPDATE clients SET webhook_url = $1, webhook_secret = $2, updated_at = $3 WHERE client_id = $4`,
		url, secret, now.UnixMilli(), clientID)
	if err != nil {
		return store.Translate(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "client %s not found", clientID)
	}
	return nil
}
