package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/connect-oss/connect/examples"
	"github.com/connect-oss/connect/internal/app"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
)

const usage = `usage: connect <command> [flags]

commands:
  serve     run the server (--demo applies the demo tenant first)
  migrate   apply database migrations and exit
  apply     apply a tenant file: connect apply -f FILE
  demo      apply the demo tenant; --customers N adds N synthetic customers
  keys      signing keys: connect keys rotate
  events    failed webhook deliveries: connect events failed [--company CODE]
            connect events replay (--id EVENT_ID | --all-failed) [--company CODE]
  jobs      connect jobs run-once [--at DATE]: subscription changes, renewals and dunning, once
  version   print the version

common flags (and environment):
  --db URL           CONNECT_DATABASE_URL   sqlite://./connect.db (default) or postgres://...
  --addr HOST:PORT   CONNECT_ADDR           127.0.0.1:8080
  --public-url URL   CONNECT_PUBLIC_URL     base URL for pages and redirects (default http://ADDR)
  --redis URL        CONNECT_REDIS_URL      share rate limits across nodes
  --no-rate-limit    CONNECT_RATE_LIMIT=off turn rate limits off (benchmarks)
  --log-level LEVEL  CONNECT_LOG_LEVEL      debug, info (default), warn, error
  CONNECT_SECRET_KEY  pepper for client secret digests (recommended in production)
  CONNECT_PAYMENT_KEY key encrypting stored payment tokens (recommended in production)

serve flags (events):
  --nats URL          CONNECT_NATS_URL          also publish every event to NATS JetStream
  --demo-webhook URL  CONNECT_DEMO_WEBHOOK_URL  with --demo: send the demo company's events there
`

// options are the flags shared by every command.
type options struct {
	db, addr, publicURL, redis, logLevel, secretKey string
	noRateLimit                                     bool
}

func (o *options) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&o.db, "db", envOr(getenv, "CONNECT_DATABASE_URL", "sqlite://./connect.db"), "database URL")
	fs.StringVar(&o.addr, "addr", envOr(getenv, "CONNECT_ADDR", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&o.publicURL, "public-url", getenv("CONNECT_PUBLIC_URL"), "public base URL")
	fs.StringVar(&o.redis, "redis", getenv("CONNECT_REDIS_URL"), "Redis URL for shared rate limits")
	fs.StringVar(&o.logLevel, "log-level", envOr(getenv, "CONNECT_LOG_LEVEL", "info"), "log level")
	fs.BoolVar(&o.noRateLimit, "no-rate-limit", strings.EqualFold(getenv("CONNECT_RATE_LIMIT"), "off"), "turn rate limits off")
	o.secretKey = getenv("CONNECT_SECRET_KEY")
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("connect "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	o.register(fs, getenv)
	var (
		demo      bool
		file      string
		customers int
		// Events.
		natsURL, demoWebhook string
		debugAddr            string
		orderWriters         int
		ev                   eventsFlags
		jobsFlags            jobsOptions // Payment Services
	)
	switch cmd {
	case "serve":
		fs.BoolVar(&demo, "demo", false, "apply the demo tenant before serving")
		fs.StringVar(&natsURL, "nats", getenv("CONNECT_NATS_URL"), "NATS URL: publish events to JetStream")
		fs.StringVar(&demoWebhook, "demo-webhook", getenv("CONNECT_DEMO_WEBHOOK_URL"), "with --demo: the demo client's webhook URL")
		fs.StringVar(&debugAddr, "debug-addr", getenv("CONNECT_DEBUG_ADDR"), "serve Go's profiler (/debug/pprof/) on this address; keep it private")
		fs.IntVar(&orderWriters, "order-writers", 0, "order batch writers (PostgreSQL; 0: the default, 2)")
	case "apply":
		fs.StringVar(&file, "f", "", "tenant file (YAML)")
	case "demo":
		fs.IntVar(&customers, "customers", 0, "also create N synthetic customers")
	case "events":
		// The action comes before the flags: connect events failed --db URL.
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			ev.action, args = args[0], args[1:]
		}
		fs.StringVar(&ev.id, "id", "", "replay: the event id")
		fs.BoolVar(&ev.allFailed, "all-failed", false, "replay: every failed delivery")
		fs.StringVar(&ev.company, "company", "", "only this company (code)")
		fs.IntVar(&ev.limit, "limit", 1000, "failed: at most this many")
	// Payment Services: the action comes first: connect jobs run-once --at DATE.
	case "jobs":
		if len(args) == 0 || args[0] != "run-once" {
			return errors.New("jobs: usage: connect jobs run-once [--at DATE] [--workers N]")
		}
		args = args[1:]
		jobsFlags.register(fs)
	case "keys":
		// The action comes first as well: connect keys rotate --db URL.
		if len(args) == 0 || args[0] != "rotate" {
			return errors.New("keys: usage: connect keys rotate [flags]")
		}
		args = args[1:]
	case "migrate":
	case "version":
		fmt.Fprintln(stdout, "connect", app.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	logs := newLogWriter(stderr, 200*time.Millisecond)
	defer logs.Close()
	log, err := newLogger(o.logLevel, logs)
	if err != nil {
		return err
	}
	if o.publicURL == "" {
		o.publicURL = "http://" + o.addr
	}
	if cmd == "apply" && file == "" {
		return errors.New("apply: -f FILE is required")
	}
	a, err := app.Open(ctx, app.Config{
		DatabaseURL: o.db, PublicURL: o.publicURL, RedisURL: o.redis,
		SecretKey: o.secretKey, NoRateLimit: o.noRateLimit, Logger: log,
		DeliverEvents: cmd == "serve", NATSURL: natsURL, OrderWriters: orderWriters,
		// ConnectID: the demo mailbox page.
		Demo: demo,
		// Payment Services.
		PaymentKey: getenv("CONNECT_PAYMENT_KEY"),
	})
	if err != nil {
		return err
	}
	defer a.Close()

	switch cmd {
	case "migrate":
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "events":
		return runEvents(ctx, a, append([]string{ev.action}, fs.Args()...), ev, stdout)
	case "jobs": // Payment Services.
		return runJobs(ctx, a, jobsFlags, stdout)
	case "keys":
		kid, err := a.OAuth.Keys.Rotate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "new signing key:", kid)
		return nil
	case "apply":
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		res, err := a.ApplyTenantFile(ctx, filepath.Base(file), data)
		if err != nil {
			return err
		}
		printResult(stdout, file, res)
		return nil
	case "demo":
		if err := applyDemo(ctx, a, stdout); err != nil {
			return err
		}
		if customers > 0 {
			start := time.Now()
			n, err := customer.Generate(ctx, a.DB, "DEMO", customers)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created %d synthetic customers in %s\n", n, time.Since(start).Round(time.Millisecond))
			// Subscriptions, access and sharing: half of them subscribe to DIGI.
			start = time.Now()
			subs, err := subscription.GenerateBench(ctx, a.DB, "DEMO", "DIGI", time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created %d DIGI subscriptions in %s\n", subs, time.Since(start).Round(time.Millisecond))
		}
		return nil
	}

	// serve
	if demo {
		if err := applyDemo(ctx, a, stdout); err != nil {
			return err
		}
	}
	if demoWebhook != "" {
		if !demo {
			return errors.New("--demo-webhook needs --demo")
		}
		if err := setDemoWebhook(ctx, a, demoWebhook, o.publicURL, stdout); err != nil {
			return err
		}
	}
	tuneGC(getenv)
	if debugAddr != "" {
		stop, err := serveDebug(debugAddr, stdout)
		if err != nil {
			return err
		}
		defer stop()
	}
	return serve(ctx, a, o, demo, stdout)
}

// serveDebug serves the Go profiler on its own listener, never on the API's
// address, so that production exposes it only where the operator chooses.
func serveDebug(addr string, stdout io.Writer) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug address: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(stdout, "  Profiler:   http://%s/debug/pprof/\n", ln.Addr())
	return func() { _ = srv.Close() }, nil
}

func applyDemo(ctx context.Context, a *app.App, stdout io.Writer) error {
	res, err := a.ApplyTenantFile(ctx, "demo-tenant.yaml", examples.DemoTenant)
	if err != nil {
		return err
	}
	printResult(stdout, "demo tenant", res)
	started, err := a.SeedDemo(ctx)
	if err != nil {
		return fmt.Errorf("demo subscription: %w", err)
	}
	if started {
		fmt.Fprintf(stdout, "demo subscription: %s now subscribes to DIGI\n", app.DemoSubscriber)
	}
	return nil
}

func printResult(w io.Writer, what string, r tenant.Result) {
	if r.Unchanged {
		fmt.Fprintf(w, "%s: already up to date\n", what)
		return
	}
	fmt.Fprintf(w, "%s applied: companies +%d ~%d, clients +%d ~%d, products +%d ~%d\n", what,
		r.CompaniesCreated, r.CompaniesUpdated, r.ClientsCreated, r.ClientsUpdated, r.ProductsCreated, r.ProductsUpdated)
	// ConnectID.
	if r.UsersCreated+r.UsersUpdated > 0 {
		fmt.Fprintf(w, "%s users: +%d ~%d\n", what, r.UsersCreated, r.UsersUpdated)
	}
}

// tuneGC trades memory for tail latency unless the operator set GOGC or
// GOMEMLIMIT: API requests allocate little but many, so the default GC
// target makes the collector run constantly at thousands of requests a second.
// The memory limit keeps the larger target from growing the heap unbounded.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" && getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(1 << 30)
	}
}

func serve(ctx context.Context, a *app.App, o options, demo bool, stdout io.Writer) error {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	base := strings.TrimSuffix(o.publicURL, "/")
	fmt.Fprintf(stdout, "Connect %s listening on http://%s (database %s)\n", app.Version, ln.Addr(), redact(o.db))
	fmt.Fprintf(stdout, "  API:        %s/capi/v1/   (OpenAPI: %s/capi/openapi.yaml)\n", base, base)
	fmt.Fprintf(stdout, "  ConnectID:  %s/user/      (token endpoint: %s/user/oauth/token)\n", base, base)
	if demo {
		fmt.Fprintf(stdout, "  Demo client: demo.web / demo-secret   e.g.\n")
		fmt.Fprintf(stdout, "    curl -s -u demo.web:demo-secret -d grant_type=client_credentials %s/user/oauth/token\n", base)
		// ConnectID.
		fmt.Fprintf(stdout, "  Demo users: demo@example.com / demo-password, other@example.com / other-password\n")
		fmt.Fprintf(stdout, "    log in: %s/user/oauth/authorize?response_type=code&client_id=demo.web&redirect_uri=http://localhost:3000/callback&state=xyz123\n", base)
		fmt.Fprintf(stdout, "    account: %s/user/account   demo mailbox (codes): %s/user/dev/mailbox\n", base, base)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// In-flight requests finish; new connections are refused.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(stdout, "stopped")
	return nil
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// redact hides a password in a database URL before printing it.
func redact(dsn string) string {
	if i := strings.Index(dsn, "@"); i > 0 && strings.Contains(dsn[:i], "://") {
		scheme, rest, _ := strings.Cut(dsn[:i], "://")
		if user, _, ok := strings.Cut(rest, ":"); ok {
			return scheme + "://" + user + ":***" + dsn[i:]
		}
	}
	return dsn
}
