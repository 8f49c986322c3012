package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/testkit"
)

// These benchmarks call the handler in-process (no sockets), to profile the
// pipeline itself; bench/run.sh measures over loopback against the bare handler.

func BenchmarkProductList(b *testing.B) {
	e := testkit.New(b, "sqlite", testkit.WithoutRateLimits())
	tok := e.ClientToken()
	h := e.App.Handler
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", "/capi/v1/client/product", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Accept", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}

func BenchmarkTokenClientCredentials(b *testing.B) {
	e := testkit.New(b, "sqlite", testkit.WithoutRateLimits())
	h := e.App.Handler
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/user/oauth/token", strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(testkit.ClientID, testkit.ClientSecret)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			_, _ = io.Copy(io.Discard, rec.Body)
		}
	})
}
