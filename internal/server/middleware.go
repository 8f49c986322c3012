package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/ratelimit"
	"github.com/connect-oss/connect/internal/tenant"
)

type requestIDKey struct{}

// RequestID returns the id of the request in ctx ("" outside a request).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// statusWriter records the status and size written, for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// cleanPath collapses doubled slashes and drops a trailing slash before
// routing: a real client calls /capi//v1/customer/profile. ServeMux would
// answer such paths with a redirect, which API clients do not follow on POST.
func cleanPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.Contains(p, "//") || (len(p) > 1 && strings.HasSuffix(p, "/")) {
			for strings.Contains(p, "//") {
				p = strings.ReplaceAll(p, "//", "/")
			}
			if len(p) > 1 {
				p = strings.TrimSuffix(p, "/")
			}
			r.URL.Path = p
			r.URL.RawPath = ""
		}
		next.ServeHTTP(w, r)
	})
}

// utf8URL refuses an API request whose path or query is not UTF-8 with a
// 400: PostgreSQL refuses invalid UTF-8 in text parameters, so no such value
// may reach a query. (The login pages validate their own parameters and
// answer with pages.)
func utf8URL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/capi/v1/") && !validUTF8URL(r) {
			httpx.Fail(w, r, errs.E(errs.Invalid, "the request URL is not valid UTF-8"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validUTF8URL reports whether the decoded path and every query key and value are UTF-8.
func validUTF8URL(r *http.Request) bool {
	if !utf8.ValidString(r.URL.Path) {
		return false
	}
	if r.URL.RawQuery == "" {
		return true
	}
	for k, vs := range r.URL.Query() {
		if !utf8.ValidString(k) {
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}

// common wraps every request: request id, access log, panic recovery and the
// version header.
func common(version string, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = newRequestID()
		}
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Request-Id", id)
		sw.Header().Set("X-Mediaconnect-Api-Version", version)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(ctx, "panic", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					httpx.Fail(sw, r, fmt.Errorf("panic: %v", p))
				}
			}
			if log.Enabled(ctx, slog.LevelInfo) {
				log.LogAttrs(ctx, slog.LevelInfo, "request",
					slog.String("request_id", id),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", sw.status),
					slog.Int("bytes", sw.bytes),
					slog.Duration("duration", time.Since(start)),
					slog.String("remote", r.RemoteAddr),
				)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// authenticate turns the bearer token into a Principal and enforces the
// route's mode: no or bad token → 401, a token of the wrong mode → 403.
func authenticate(v *auth.Verifier, mode Mode, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := auth.BearerToken(r.Header.Get("Authorization"))
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		p, err := v.Verify(r.Context(), token)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		switch {
		case mode == ClientOnly && p.Mode != auth.ClientMode:
			httpx.WriteInsufficientScope(w, r, "this endpoint needs a client token (client_credentials grant)", httpx.RouteOptions(r))
			return
		case mode == UserOnly && p.Mode != auth.UserMode:
			httpx.WriteInsufficientScope(w, r, "this endpoint needs a user token", httpx.RouteOptions(r))
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

// rateLimit counts every authenticated call against the client that obtained
// the token. A limiter failure (Redis down) lets the call through: refusing
// all traffic would be worse than briefly not limiting.
func rateLimit(limiter ratelimit.Limiter, clients *tenant.ClientCache, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		if p == nil {
			next.ServeHTTP(w, r)
			return
		}
		client, err := clients.Get(r.Context(), p.ClientID)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if client.RateUnlimited {
			next.ServeHTTP(w, r)
			return
		}
		limit := ratelimit.Limit{PerSecond: client.RatePerSecond, PerMinute: client.RatePerMinute}
		d, err := limiter.Allow(r.Context(), p.ClientID, limit, time.Now())
		if err != nil {
			log.WarnContext(r.Context(), "rate limiter unavailable; not limiting", "err", err)
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
		h.Set("X-RateLimit-Reset", strconv.Itoa(d.Reset))
		if !d.Allowed {
			h.Set("Retry-After", strconv.Itoa(max(d.RetryAfter, 1)))
			httpx.Fail(w, r, errs.E(errs.TooManyRequests, "rate limit exceeded for client %s", p.ClientID))
			return
		}
		next.ServeHTTP(w, r)
	})
}
