package event_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/tenant"
)

// env is a database with two companies (ACME, RIVAL) and no clients yet.
type env struct {
	t     testing.TB
	db    *store.DB
	acme  int64
	rival int64
}

func newEnv(t testing.TB, d store.Dialect) *env {
	t.Helper()
	db := storetest.Open(t, d, tenant.Migrations, event.Migrations)
	e := &env{t: t, db: db}
	for _, c := range []struct {
		code string
		id   *int64
	}{{"ACME", &e.acme}, {"RIVAL", &e.rival}} {
		err := db.QueryRowContext(context.Background(), `INSERT INTO companies (code, name, created_at, updated_at) VALUES ($1, $1, 0, 0) RETURNING id`, c.code).Scan(c.id)
		if err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// webhook adds a client of the company whose webhook is url.
func (e *env) webhook(company int64, clientID, url, secret string) {
	e.t.Helper()
	_, err := e.db.ExecContext(context.Background(), `INSERT INTO clients (company_id, client_id, name, webhook_url, webhook_secret, created_at, updated_at)
		VALUES ($1, $2, $2, $3, $4, 0, 0)`, company, clientID, url, secret)
	if err != nil {
		e.t.Fatal(err)
	}
}

// record commits one event and returns its id.
func (e *env) record(company int64, code, typ, status string, data any, at time.Time) string {
	e.t.Helper()
	var id string
	err := e.db.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = event.Record(context.Background(), tx, event.Event{CompanyID: company, Source: code, Type: typ, Status: status, Data: data, Time: at})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// run starts a dispatcher and stops it (waiting) when the test ends.
func (e *env) run(cfg event.Config) {
	e.t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testLogOut, nil))
	}
	d := event.NewDispatcher(e.db, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// state returns the delivery state and attempt count of (event, client).
func (e *env) state(eventID, clientID string) (string, int) {
	e.t.Helper()
	var state string
	var attempts int
	err := e.db.QueryRowContext(context.Background(), `SELECT d.state, d.attempts FROM event_deliveries d
		JOIN event_endpoints p ON p.id = d.endpoint_id WHERE d.event_id = $1 AND p.target = $2`, eventID, "webhook:"+clientID).Scan(&state, &attempts)
	if err == sql.ErrNoRows {
		return "", 0
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return state, attempts
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint whose answer a test scripts.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []hit
	answer func(n int, h hit, w http.ResponseWriter) // n: 0-based request number
	got    chan hit
}

func newReceiver(t *testing.T, answer func(n int, h hit, w http.ResponseWriter)) *receiver {
	r := &receiver{answer: answer, got: make(chan hit, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		h := hit{header: req.Header.Clone(), body: body}
		r.mu.Lock()
		n := len(r.hits)
		r.hits = append(r.hits, h)
		r.mu.Unlock()
		r.got <- h
		if r.answer != nil {
			r.answer(n, h, w)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) all() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

// next waits for the receiver's next request.
func (r *receiver) next(t *testing.T) hit {
	t.Helper()
	select {
	case h := <-r.got:
		return h
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for a delivery")
		return hit{}
	}
}

// fast is a test config: tiny back-off, short polls.
func fast(c event.Config) event.Config {
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Millisecond}
	}
	return c
}

// testLogOut receives dispatcher logs; CONNECT_TEST_LOG=1 shows them.
var testLogOut = func() io.Writer {
	if os.Getenv("CONNECT_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}()
