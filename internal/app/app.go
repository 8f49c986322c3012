// Package app is the wiring: it opens the database, runs migrations, builds
// every component and hands them to server.NewServer. Nothing else constructs
// the server's dependencies.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/connect-oss/connect/api"
	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/oauth"
	"github.com/connect-oss/connect/internal/ratelimit"
	"github.com/connect-oss/connect/internal/server"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// Version is the release version, sent as X-Mediaconnect-Api-Version.
var Version = "0.1.0"

// Migrations lists every package's schema in dependency order.
var Migrations = []store.Migrations{
	tenant.Migrations,
	oauth.Migrations,
	audit.Migrations,
	event.Migrations,
	catalog.Migrations,
	customer.Migrations,
}

// Config is the operator's configuration (flags and CONNECT_* variables).
type Config struct {
	DatabaseURL string // sqlite://PATH or postgres://...
	PublicURL   string // base URL that pages, redirects and token issuers use
	RedisURL    string // optional: shared rate limits
	SecretKey   string // optional: pepper for client secret digests
	NoRateLimit bool
	Logger      *slog.Logger
}

// App is a running set of components.
type App struct {
	DB      *store.DB
	OAuth   *oauth.Provider
	Handler http.Handler
	Logger  *slog.Logger

	stop context.CancelFunc
}

// Open connects to the database, migrates it and builds the server.
func Open(ctx context.Context, cfg Config) (*App, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, Migrations...); err != nil {
		db.Close()
		return nil, err
	}
	public := strings.TrimSuffix(cfg.PublicURL, "/")
	provider, err := oauth.New(ctx, db, oauth.Config{Issuer: public + "/user", SecretKey: cfg.SecretKey})
	if err != nil {
		db.Close()
		return nil, err
	}
	var limiter ratelimit.Limiter
	switch {
	case cfg.NoRateLimit:
	case cfg.RedisURL != "":
		client, err := ratelimit.RedisFromURL(cfg.RedisURL)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("redis: %w", err)
		}
		limiter = ratelimit.NewRedis(client, "connect:rl:")
	default:
		limiter = ratelimit.NewMemory()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	bg, stop := context.WithCancel(context.Background())
	go provider.Revocations.Run(bg, 2*time.Second)

	return &App{
		DB:    db,
		OAuth: provider,
		Handler: server.NewServer(server.Deps{
			DB: db, OAuth: provider, Limiter: limiter, Version: Version,
			Logger: log, Metrics: reg, OpenAPI: api.OpenAPI,
		}),
		Logger: log,
		stop:   stop,
	}, nil
}

// Close stops background work and closes the database.
func (a *App) Close() error {
	a.stop()
	return a.DB.Close()
}

// ApplyTenantFile parses and applies a tenant file.
func (a *App) ApplyTenantFile(ctx context.Context, name string, data []byte) (tenant.Result, error) {
	f, err := tenant.Parse(name, data)
	if err != nil {
		return tenant.Result{}, err
	}
	return tenant.Apply(ctx, a.DB, f, tenant.Sections{Digester: a.OAuth.Hasher, Products: catalog.ApplyProducts}, time.Now())
}
