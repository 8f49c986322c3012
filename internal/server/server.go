// Package server assembles the HTTP handler: every route of routes.go with the
// middleware each needs. NewServer is the only constructor of the API.
package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/identity"
	"github.com/connect-oss/connect/internal/identity/pages"
	"github.com/connect-oss/connect/internal/oauth"
	"github.com/connect-oss/connect/internal/order"
	"github.com/connect-oss/connect/internal/ratelimit"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
)

// Mode is who may call a route.
type Mode int

const (
	Public     Mode = iota // no token (health, OAuth endpoints, pages)
	ClientOnly             // a client_credentials token
	UserOnly               // a user token
)

// Route is one operation: method, full path pattern, who may call it, its
// default representation and its handler.
type Route struct {
	ID         string // the operation's id in spec/endpoints.tsv, or ours
	Method     string
	Path       string
	Mode       Mode
	DefaultXML bool // the legacy set of spec README §5.2 answers XML by default
	Handler    http.Handler
	// Serves lists the documented operations behind a pattern that stands
	// for several (README §14): "operationId METHOD /path" of api/openapi.yaml.
	// Empty: the route is the operation ID at Method Path.
	Serves []string
}

// Deps are the server's dependencies, built by the wiring (internal/app).
type Deps struct {
	DB      *store.DB
	OAuth   *oauth.Provider
	Limiter ratelimit.Limiter // nil: no rate limits (operator switch)
	Version string
	Logger  *slog.Logger
	Metrics *prometheus.Registry
	OpenAPI []byte           // api/openapi.yaml
	Clock   func() time.Time // business clock of every request; nil = time.Now
	// ConnectID: accounts and the login pages (nil when listing routes).
	Identity *identity.Service
	Pages    *pages.Pages
	// Customers and orders: gateways, subscriptions, ConnectID users.
	Orders order.Deps
	// Subscriptions: the entitlement cache of the access check (nil: none).
	Entitlements *subscription.EntitlementCache
	// Payment Services.
	Billing billing.Handlers
}

// NewServer returns the handler serving every route.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = prometheus.NewRegistry()
	}
	m := newMetrics(d.Metrics)
	clients := tenant.NewClientCache(d.DB, 10*time.Second)
	origins := &originCache{db: d.DB, ttl: 10 * time.Second}
	var verifier = d.OAuth.Verifier()

	mux := http.NewServeMux()
	for _, rt := range Routes(d) {
		h := rt.Handler
		if rt.Mode != Public {
			if d.Limiter != nil {
				h = rateLimit(d.Limiter, clients, d.Logger, h)
			}
			h = allowOrigin(clients, h)
			h = authenticate(verifier, rt.Mode, h)
		}
		if d.Clock != nil {
			h = withClock(d.Clock, h)
		}
		h = m.instrument(rt.Method+" "+rt.Path, h)
		mux.Handle(rt.Method+" "+rt.Path, withOptions(httpx.Options{DefaultXML: rt.DefaultXML}, h))
	}
	return cleanPath(common(d.Version, d.Logger, utf8URL(preflight(origins, documentedMisses(mux)))))
}

// withClock gives the request the business clock that subscriptions and
// billing read (subscription.Now).
func withClock(now func() time.Time, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(subscription.WithClock(r.Context(), now)))
	})
}

func withOptions(o httpx.Options, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, httpx.WithRouteOptions(r, o))
	})
}

// documentedMisses answers unknown paths (404) and wrong methods (405, with
// Allow) with the documented error body instead of ServeMux's plain text.
func documentedMisses(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No pattern matched: let the mux decide between 404 and 405 (it sets
		// Allow for 405), but replace its body.
		probe := &missProbe{header: http.Header{}}
		mux.ServeHTTP(probe, r)
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		if probe.status == http.StatusMethodNotAllowed {
			httpx.Fail(w, r, errs.E(errs.MethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path))
			return
		}
		httpx.Fail(w, r, errs.E(errs.NotFound, "no such resource: %s", r.URL.Path))
	})
}

type missProbe struct {
	header http.Header
	status int
}

func (p *missProbe) Header() http.Header         { return p.header }
func (p *missProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *missProbe) WriteHeader(code int)        { p.status = code }

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "connect_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *metrics) instrument(route string, next http.Handler) http.Handler {
	observe := m.duration.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw, ok := w.(*statusWriter)
		if !ok {
			sw = &statusWriter{ResponseWriter: w}
		}
		next.ServeHTTP(sw, r)
		observe.Observe(time.Since(start).Seconds())
		code := sw.status
		if code == 0 {
			code = http.StatusOK
		}
		m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	})
}
