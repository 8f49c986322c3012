package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPanicRecovery: a panicking handler answers 500 with the documented
// body, logs the stack with the request id, and leaks nothing.
func TestPanicRecovery(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := cleanPath(common("test", log, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret internal detail")
	})))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/capi/v1/x", nil)
	req.Header.Set("Accept", "application/json")
	h.ServeHTTP(rec, req)
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, `"exceptionType":"InternalException"`) || strings.Contains(body, "secret internal detail") {
		t.Errorf("body %s", body)
	}
	if rec.Header().Get("X-Mediaconnect-Api-Version") != "test" {
		t.Error("version header missing on a 500")
	}
	id := rec.Header().Get("X-Request-Id")
	if id == "" || !strings.Contains(logs.String(), id) || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("log lacks the request id or stack: %s", logs.String())
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"/capi//v1/customer/profile": "/capi/v1/customer/profile",
		"///capi///v1//x//":          "/capi/v1/x",
		"/capi/v1/x/":                "/capi/v1/x",
		"/":                          "/",
		"/capi/v1/x":                 "/capi/v1/x",
	} {
		var got string
		h := cleanPath(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.URL.Path }))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://h"+in, nil))
		if got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}
