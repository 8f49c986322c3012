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
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/connect-oss/connect/examples"
	"github.com/connect-oss/connect/internal/app"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/tenant"
)

const usage = `usage: connect <command> [flags]

commands:
  serve     run the server (--demo applies the demo tenant first)
  migrate   apply database migrations and exit
  apply     apply a tenant file: connect apply -f FILE
  demo      apply the demo tenant; --customers N adds N synthetic customers
  keys      signing keys: connect keys rotate
  version   print the version

common flags (and environment):
  --db URL           CONNECT_DATABASE_URL   sqlite://./connect.db (default) or postgres://...
  --addr HOST:PORT   CONNECT_ADDR           127.0.0.1:8080
  --public-url URL   CONNECT_PUBLIC_URL     base URL for pages and redirects (default http://ADDR)
  --redis URL        CONNECT_REDIS_URL      share rate limits across nodes
  --no-rate-limit    CONNECT_RATE_LIMIT=off turn rate limits off (benchmarks)
  --log-level LEVEL  CONNECT_LOG_LEVEL      debug, info (default), warn, error
  CONNECT_SECRET_KEY  pepper for client secret digests (recommended in production)
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
	)
	switch cmd {
	case "serve":
		fs.BoolVar(&demo, "demo", false, "apply the demo tenant before serving")
	case "apply":
		fs.StringVar(&file, "f", "", "tenant file (YAML)")
	case "demo":
		fs.IntVar(&customers, "customers", 0, "also create N synthetic customers")
	case "migrate", "keys":
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
	log, err := newLogger(o.logLevel, stderr)
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
	})
	if err != nil {
		return err
	}
	defer a.Close()

	switch cmd {
	case "migrate":
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "keys":
		if fs.Arg(0) != "rotate" {
			return errors.New("keys: usage: connect keys rotate")
		}
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
		}
		return nil
	}

	// serve
	if demo {
		if err := applyDemo(ctx, a, stdout); err != nil {
			return err
		}
	}
	return serve(ctx, a, o, demo, stdout)
}

func applyDemo(ctx context.Context, a *app.App, stdout io.Writer) error {
	res, err := a.ApplyTenantFile(ctx, "demo-tenant.yaml", examples.DemoTenant)
	if err != nil {
		return err
	}
	printResult(stdout, "demo tenant", res)
	return nil
}

func printResult(w io.Writer, what string, r tenant.Result) {
	if r.Unchanged {
		fmt.Fprintf(w, "%s: already up to date\n", what)
		return
	}
	fmt.Fprintf(w, "%s applied: companies +%d ~%d, clients +%d ~%d, products +%d ~%d\n", what,
		r.CompaniesCreated, r.CompaniesUpdated, r.ClientsCreated, r.ClientsUpdated, r.ProductsCreated, r.ProductsUpdated)
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
