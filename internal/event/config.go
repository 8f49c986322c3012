package event

import (
	"log/slog"
	"time"
)

// Config tunes the dispatcher. Zero fields take the defaults of spec README
// §11 (5 attempts, back-off 1 s, 10 s, 1 min, 10 min, 10 s per attempt).
type Config struct {
	MaxAttempts  int             // attempts per delivery, first one included (default 5)
	Backoff      []time.Duration // wait before attempt 2, 3, ...; the last entry repeats (default 1s, 10s, 1m, 10m)
	Timeout      time.Duration   // per attempt: connect, send and read the response (default 10s)
	PollInterval time.Duration   // how often the outbox and due endpoints are looked at (default 200ms)
	Lease        time.Duration   // how long a node owns an endpoint before another may take it over (default 30s)
	Workers      int             // endpoints delivered to at once on this node (default 16)
	BatchSize    int             // events sent to one endpoint between two commits (default 100)
	MaxBodyRead  int64           // response bytes read from a receiver (default 4 KiB)
	UserAgent    string          // default "Connect-Webhooks"
	// SelfURLs are the server's own base URLs; webhooks pointing at them are refused.
	SelfURLs []string
	// Node names this process in the attempt log (default: host name and pid).
	Node   string
	Now    func() time.Time // injected clock (default time.Now)
	Logger *slog.Logger
	// Stream, when set, receives every event too (NATS JetStream).
	Stream Publisher
	// QueueVacuumAfter and QueueVacuumEvery: PostgreSQL's event_pending is
	// vacuumed by the dispatcher after that many deletions, at most that
	// often (defaults 50,000 and 10s; see Dispatcher.vacuumQueue).
	QueueVacuumAfter int
	QueueVacuumEvery time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 10 * time.Second, time.Minute, 10 * time.Minute}
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.Lease < 2*c.Timeout {
		// A lease must outlive an attempt, or another node could take the
		// endpoint over while a send is still in flight.
		c.Lease = 2 * c.Timeout
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.MaxBodyRead <= 0 {
		c.MaxBodyRead = 4 << 10
	}
	if c.UserAgent == "" {
		c.UserAgent = "Connect-Webhooks"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.QueueVacuumAfter <= 0 {
		c.QueueVacuumAfter = 50_000
	}
	if c.QueueVacuumEvery <= 0 {
		c.QueueVacuumEvery = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// backoff is the wait after the n-th failed attempt (n ≥ 1).
func (c Config) backoff(n int) time.Duration {
	if n-1 < len(c.Backoff) {
		return c.Backoff[n-1]
	}
	return c.Backoff[len(c.Backoff)-1]
}

// WithDefaults is the configuration with zero fields set to their defaults,
// for other deliverers that follow the webhook policy (order callbacks).
func (c Config) WithDefaults() Config { return c.withDefaults() }

// BackoffAfter is the wait after the n-th failed attempt (n ≥ 1).
func (c Config) BackoffAfter(n int) time.Duration { return c.backoff(n) }
