package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
)

// healthz answers while the process runs (liveness).
func healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// readyz answers 200 only while the database answers (readiness).
func readyz(db *store.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if db == nil || db.PingContext(ctx) != nil {
			httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

// openAPI serves the OpenAPI document.
func openAPI(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml; charset=UTF-8")
		_, _ = w.Write(doc)
	})
}

// metricsHandler serves Prometheus metrics.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	if reg == nil {
		return unavailable()
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// unavailable stands in for a handler whose dependency was not supplied
// (Routes is also called without dependencies, to list the routes).
func unavailable() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.Fail(w, r, errs.E(errs.Internal, "handler not configured"))
	})
}
