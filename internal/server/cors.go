package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// CORS for publishers' pages that call the API from the browser (a paywall
// checking access): an actual request gets Access-Control-Allow-Origin only
// when its Origin is registered for the client that obtained the token; a
// preflight (which carries no token) is answered for any origin registered
// for any client (spec README §14).

const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE"
	corsHeaders = "Authorization, Content-Type, Accept, Idempotency-Key"
)

// originCache keeps the registered origins for preflights, reloaded at most
// every ttl.
type originCache struct {
	db  *store.DB
	ttl time.Duration

	mu      sync.Mutex
	clients []tenant.ClientRecord
	loaded  time.Time
}

func (c *originCache) allowed(ctx context.Context, origin string) bool {
	c.mu.Lock()
	if time.Since(c.loaded) > c.ttl {
		if clients, err := tenant.AllowedOrigins(ctx, c.db); err == nil {
			c.clients, c.loaded = clients, time.Now()
		}
	}
	clients := c.clients
	c.mu.Unlock()
	for i := range clients {
		if clients[i].OriginAllowed(origin) {
			return true
		}
	}
	return false
}

// preflight answers CORS preflight requests to the API before routing.
func preflight(origins *originCache, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if r.Method != http.MethodOptions || origin == "" || r.Header.Get("Access-Control-Request-Method") == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		if origins.allowed(r.Context(), origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Expose-Headers", "X-RateLimit-Remaining, X-RateLimit-Reset, X-Mediaconnect-Api-Version, X-Request-Id")
			h.Set("Access-Control-Max-Age", "600")
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// allowOrigin adds Access-Control-Allow-Origin to an authenticated response
// when the request's Origin is registered for the token's client.
func allowOrigin(clients *tenant.ClientCache, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		p := auth.FromContext(r.Context())
		if origin != "" && p != nil {
			w.Header().Add("Vary", "Origin")
			if client, err := clients.Get(r.Context(), p.ClientID); err == nil && client.OriginAllowed(origin) {
				w.Header().Set("Access-Control-Allow-Origin", origin)
				w.Header().Set("Access-Control-Expose-Headers", "X-RateLimit-Remaining, X-RateLimit-Reset, X-Mediaconnect-Api-Version, X-Request-Id")
			}
		}
		next.ServeHTTP(w, r)
	})
}
