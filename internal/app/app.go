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
	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/delivery"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/identity"
	"github.com/connect-oss/connect/internal/identity/pages"
	"github.com/connect-oss/connect/internal/message"
	"github.com/connect-oss/connect/internal/metadata"
	"github.com/connect-oss/connect/internal/oauth"
	"github.com/connect-oss/connect/internal/order"
	"github.com/connect-oss/connect/internal/privacy"
	"github.com/connect-oss/connect/internal/ratelimit"
	"github.com/connect-oss/connect/internal/recruitment"
	"github.com/connect-oss/connect/internal/server"
	"github.com/connect-oss/connect/internal/stock"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
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
	// Subscriptions, access and sharing; delivery stops and plans (refer to subscriptions).
	subscription.Migrations,
	delivery.Migrations,
	// ConnectID: users, credentials, sessions (customers.user_id refers to users.id).
	identity.Migrations,
	// Customers and orders.
	order.Migrations,
	// Payment Services: invoices, payments, stored means (after customers, subscriptions, orders).
	billing.Migrations,
	// Privacy: consents, permissions, purposes, erasure (reads and anonymises the tables above).
	privacy.Migrations,
	// Recruitment: campaigns and recruitments (each recruitment's order decides its status).
	recruitment.Migrations,
	// Diverse: customer messages and service notices; stock levels (refer to customers and products).
	message.Migrations,
	stock.Migrations,
	// User Data: metadata per (client, user) (refers to clients and users).
	metadata.Migrations,
}

// Config is the operator's configuration (flags and CONNECT_* variables).
type Config struct {
	DatabaseURL string // sqlite://PATH or postgres://...
	PublicURL   string // base URL that pages, redirects and token issuers use
	RedisURL    string // optional: shared rate limits
	SecretKey   string // optional: pepper for client secret digests
	NoRateLimit bool
	// Events: DeliverEvents runs the webhook/stream dispatcher (connect serve);
	// NATSURL also publishes every event to JetStream.
	DeliverEvents bool
	Events        event.Config
	NATSURL       string
	Logger        *slog.Logger
	// ConnectID: Demo serves the /user/dev/mailbox page (connect serve --demo).
	Demo bool
	// Payment Services: key of stored payment references (CONNECT_PAYMENT_KEY);
	// empty: a key generated once and kept in the database.
	PaymentKey string
	// Clock is the business clock of every request (subscriptions, access,
	// billing); nil is time.Now. Tests move it; tokens keep real time.
	Clock func() time.Time
	// OrderWriters is the number of order batch writers (PostgreSQL; 0: 2).
	OrderWriters int
}

// App is a running set of components.
type App struct {
	DB      *store.DB
	OAuth   *oauth.Provider
	Handler http.Handler
	Logger  *slog.Logger
	// Payment Services: the billing engine (jobs use it too).
	Billing *billing.Engine

	stop context.CancelFunc
	// Events.
	publicURL  string
	eventsDone chan struct{} // closed when the dispatcher has stopped; nil when none runs
	nats       *event.NATS

	// Customers and orders: synced right after a tenant apply on this node.
	orderCatalog *order.CatalogCache
	writerDone   chan struct{} // the order batch writer has written what was queued
}

// Open connects to the database, migrates it and builds the server.
func Open(ctx context.Context, cfg Config) (_ *App, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	// Background work runs until Close; a failed Open undoes what it started.
	bg, stop := context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			stop()
			db.Close()
		}
	}()
	if err := db.Migrate(ctx, Migrations...); err != nil {
		return nil, err
	}
	public := strings.TrimSuffix(cfg.PublicURL, "/")
	provider, err := oauth.New(ctx, db, oauth.Config{Issuer: public + "/user", SecretKey: cfg.SecretKey})
	if err != nil {
		return nil, err
	}
	var limiter ratelimit.Limiter
	switch {
	case cfg.NoRateLimit:
	case cfg.RedisURL != "":
		client, err := ratelimit.RedisFromURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		limiter = ratelimit.NewRedis(client, "connect:rl:")
	default:
		limiter = ratelimit.NewMemory()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// ConnectID: accounts and the login pages.
	ids, err := identity.NewService(ctx, db, provider, cfg.Demo)
	if err != nil {
		return nil, err
	}
	loginPages, err := pages.New(ctx, ids, public)
	if err != nil {
		return nil, err
	}

	go provider.Revocations.Run(bg, 2*time.Second)

	// Subscriptions: the access check reads entitlements through a cache that
	// follows the change log (other nodes' changes within 100 ms).
	entitlements, err := subscription.NewEntitlementCache(ctx, db)
	if err != nil {
		return nil, err
	}
	go entitlements.Run(bg, 100*time.Millisecond, log)

	// Customers and orders: registration reads the catalog through a cache
	// that follows tenant applies (other nodes' within a second).
	orderCatalog, err := order.NewCatalogCache(ctx, db)
	if err != nil {
		return nil, err
	}
	go orderCatalog.Run(bg, time.Second, log)

	// Events: the dispatcher delivers the outbox while the app runs.
	var eventsDone chan struct{}
	var stream *event.NATS
	var orderCallbacks *order.CallbackDeliverer
	if cfg.DeliverEvents {
		ecfg := cfg.Events
		if cfg.NATSURL != "" {
			stream, err = event.DialNATS(ctx, event.NATSConfig{URL: cfg.NATSURL})
			if err != nil {
				return nil, err
			}
			ecfg.Stream = stream
		}
		ecfg.SelfURLs = append(ecfg.SelfURLs, public)
		if ecfg.UserAgent == "" {
			ecfg.UserAgent = "Connect-Webhooks/" + Version
		}
		if ecfg.Logger == nil {
			ecfg.Logger = log
		}
		eventsDone = make(chan struct{})
		dispatcher := event.NewDispatcher(db, ecfg)
		// Customers and orders: order callbacks are delivered with the webhook policy.
		orderCallbacks = order.NewCallbackDeliverer(db, ecfg)
		go func() {
			defer close(eventsDone)
			callbacksDone := make(chan struct{})
			go func() {
				defer close(callbacksDone)
				orderCallbacks.Run(bg)
			}()
			dispatcher.Run(bg)
			<-callbacksDone
		}()
	}

	// Payment Services.
	sealer, err := billing.NewSealer(ctx, db, cfg.PaymentKey)
	if err != nil {
		return nil, err
	}
	engine := &billing.Engine{DB: db, Sealer: sealer, Gateways: billing.SimulatedGateways(db, public), Log: log}
	// Customers and orders: an order paid at the provider (orderPayment) is
	// settled when its flow finishes.
	orders := withCatalog(orderDeps(db, ids, public, engine), orderCatalog)
	// Registrations that arrive together share a statement and a commit.
	orders.Writer = order.NewBatchWriter(db, cfg.OrderWriters)
	reg.MustRegister(orders.Writer.Collectors()...)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		orders.Writer.Run(bg)
	}()
	if orderCallbacks != nil {
		orders.Callbacks = orderCallbacks // wakes it when an order's outcome commits
	}
	engine.OrderFlowFinished = order.HostedPaymentSettler(db, orders)
	engine.OrderMeansProducts = order.MeansProducts

	return &App{
		DB:      db,
		OAuth:   provider,
		Billing: engine,
		Handler: server.NewServer(server.Deps{
			DB: db, OAuth: provider, Limiter: limiter, Version: Version,
			Logger: log, Metrics: reg, OpenAPI: api.OpenAPI, Clock: cfg.Clock,
			// ConnectID.
			Identity: ids, Pages: loginPages,
			// Customers and orders.
			Orders: orders,
			// Subscriptions, access and sharing.
			Entitlements: entitlements,
			// Payment Services.
			Billing: billing.Handlers{Engine: engine, PublicURL: public},
		}),
		Logger: log,
		stop: func() {
			stop()
			entitlements.Close()
		},

		publicURL:  public,
		eventsDone: eventsDone,
		nats:       stream,

		orderCatalog: orderCatalog,
		writerDone:   writerDone,
	}, nil
}

// Close stops background work and closes the database.
func (a *App) Close() error {
	a.stop()
	<-a.writerDone
	if a.eventsDone != nil {
		<-a.eventsDone // in-flight deliveries stop and release their endpoints
	}
	if a.nats != nil {
		a.nats.Close()
	}
	return a.DB.Close()
}

// ApplyTenantFile parses and applies a tenant file.
func (a *App) ApplyTenantFile(ctx context.Context, name string, data []byte) (tenant.Result, error) {
	return a.ApplyTenantFileAt(ctx, name, data, time.Now())
}

// ApplyTenantFileAt is ApplyTenantFile at a given time (the change time
// recorded; tests check idempotence across re-applies).
func (a *App) ApplyTenantFileAt(ctx context.Context, name string, data []byte, at time.Time) (tenant.Result, error) {
	f, err := tenant.Parse(name, data)
	if err != nil {
		return tenant.Result{}, err
	}
	// Events: a webhook must not point at this server.
	for _, c := range f.Companies {
		for _, cl := range c.Clients {
			if cl.Webhook == nil {
				continue
			}
			if err := event.CheckWebhookURL(cl.Webhook.URL, []string{a.publicURL}); err != nil {
				return tenant.Result{}, &tenant.FileError{Problems: []tenant.Problem{{File: name, Field: "clients." + cl.ClientID + ".webhook.url", Message: err.Error()}}}
			}
		}
	}
	res, err := tenant.Apply(ctx, a.DB, f, tenant.Sections{Digester: a.OAuth.Hasher, Products: catalog.ApplyProducts,
		// Customers and orders: the order catalog cache learns of the change.
		Changed: order.CatalogChanged,
		// Subscriptions, access and sharing.
		ShareRules: subscription.ApplyShareRules, ProductSettings: subscription.ApplySettings,
		// Delivery plans.
		DeliveryPlans: delivery.ApplyPlans,
		// Product & Services: issue calendars with complaint options; dependency discounts.
		Publications: delivery.ApplyPublications, ProductDependencies: catalog.ApplyDependencies,
		// ConnectID.
		Identity: identity.ApplyTenant,
		// Customers and orders: coupons, vouchers, articles, rewards, categories, payment methods.
		Catalog: catalog.ApplyOffers,
		// Payment Services: payment providers and billing settings.
		Billing: billing.ApplyTenant,
		// Privacy: consent definitions, channel and purpose catalogues.
		Privacy: privacy.ApplyTenant,
		// Recruitment: campaigns (their coupons come from the catalog).
		Recruitment: recruitment.ApplyTenant,
		// Diverse: service notices and seeded stock levels.
		StatusMessages: message.ApplyStatusMessages, Stock: stock.ApplyTenant}, at)
	if err == nil {
		if err := a.orderCatalog.Sync(ctx); err != nil {
			a.Logger.WarnContext(ctx, "order catalog cache: sync after tenant apply failed; bypassing the cache", "err", err)
		}
	}
	return res, err
}

// withCatalog gives order registration the catalog cache.
func withCatalog(d order.Deps, c *order.CatalogCache) order.Deps {
	d.Catalog = c
	return d
}

// orderDeps wires orders to subscriptions, the payment gateways (billing's
// engine: one gateway interface for orders and billing) and ConnectID.
func orderDeps(db *store.DB, ids *identity.Service, public string, payments *billing.Engine) order.Deps {
	d := order.NewDeps(db).WithPayments(payments)
	d.PublicURL = public
	d.Recruitments = recruitment.Hook // an order line's recruiter becomes a recruitment
	if ids != nil {
		users := order.IdentityUsers{Service: ids, PublicURL: public}
		d.Users, d.Sessions = users, users
	}
	return d
}
