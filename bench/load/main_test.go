package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBucketIndexBounds(t *testing.T) {
	// Every value falls in its bucket's [lo, hi), buckets are contiguous and
	// their width is within 1/64 of the lower bound above the linear range.
	check := func(v int64) {
		t.Helper()
		i := bucketIndex(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketIndex(%d) = %d out of range", v, i)
		}
		lo, hi := bucketBounds(i)
		if v < lo || v >= hi && hi != 1<<63-1 {
			t.Fatalf("value %d in bucket %d = [%d,%d)", v, i, lo, hi)
		}
		if lo >= subCount && float64(hi-lo)/float64(lo) > 1.0/64+1e-12 {
			t.Fatalf("bucket %d [%d,%d) too wide", i, lo, hi)
		}
	}
	for v := int64(0); v < 100_000; v++ {
		check(v)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		check(r.Int64N(1 << 62))
	}
	check(1<<63 - 1)
	for i := 1; i < bucketIndex(1<<62); i++ {
		_, prevHi := bucketBounds(i - 1)
		lo, _ := bucketBounds(i)
		if lo != prevHi {
			t.Fatalf("gap between bucket %d and %d: %d != %d", i-1, i, prevHi, lo)
		}
	}
}

func TestPercentiles(t *testing.T) {
	var h histogram
	if h.percentile(50) != 0 {
		t.Fatal("empty histogram: want 0")
	}
	// 1..10000 µs, shuffled.
	vals := make([]time.Duration, 10000)
	for i := range vals {
		vals[i] = time.Duration(i+1) * time.Microsecond
	}
	r := rand.New(rand.NewPCG(3, 4))
	r.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	// Record into two histograms and merge, to exercise merge too.
	var a, b histogram
	for i, v := range vals {
		if i%2 == 0 {
			a.record(v)
		} else {
			b.record(v)
		}
	}
	h.merge(&a)
	h.merge(&b)
	if h.total != 10000 {
		t.Fatalf("total = %d", h.total)
	}
	if h.min != int64(time.Microsecond) || h.max != int64(10000*time.Microsecond) {
		t.Fatalf("min/max = %d/%d", h.min, h.max)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{
		{50, 5000 * time.Microsecond},
		{90, 9000 * time.Microsecond},
		{99, 9900 * time.Microsecond},
		{99.9, 9990 * time.Microsecond},
		{100, 10000 * time.Microsecond},
		{0, time.Microsecond},
	} {
		got := h.percentile(tc.p)
		// The reported value is the bucket's highest equivalent value: never
		// below the exact answer, at most 1/64 above it.
		if got < tc.want || float64(got-tc.want) > float64(tc.want)/64 {
			t.Errorf("p%v = %v, want %v (+1.6%%)", tc.p, got, tc.want)
		}
	}
	if m := h.mean(); m < 5000*time.Microsecond || m > 5001*time.Microsecond {
		t.Errorf("mean = %v, want 5000.5µs", m)
	}

	// Small values are exact.
	var s histogram
	for _, v := range []time.Duration{5, 1, 3, 2, 4} {
		s.record(v)
	}
	for p, want := range map[float64]time.Duration{20: 1, 40: 2, 50: 3, 60: 3, 61: 4, 80: 4, 99: 5} {
		if got := s.percentile(p); got != want {
			t.Errorf("small: p%v = %v, want %v", p, got, want)
		}
	}
	// A single value is reported exactly, not as its bucket's upper bound.
	var one histogram
	one.record(1234567)
	if got := one.percentile(50); got != 1234567 {
		t.Errorf("single value: p50 = %v", got)
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want target
	}{
		{"bare=http://127.0.0.1:18081/", target{Name: "bare", URL: "http://127.0.0.1:18081/"}},
		{"api=http://127.0.0.1:18080/capi/v1/client/product@auth",
			target{Name: "api", URL: "http://127.0.0.1:18080/capi/v1/client/product", Auth: true}},
		{"token=POST:http://localhost:18080/user/oauth/token@basic",
			target{Name: "token", Method: "POST", URL: "http://localhost:18080/user/oauth/token", Basic: true}},
		{"x=put:http://[::1]:1/a?b=c@auth@basic",
			target{Name: "x", Method: "PUT", URL: "http://[::1]:1/a?b=c", Auth: true, Basic: true}},
	} {
		got, err := parseTarget(tc.in)
		if err != nil {
			t.Errorf("parseTarget(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseTarget(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{
		"http://127.0.0.1/",                  // no name
		"=http://127.0.0.1/",                 // empty name
		"a=http://example.com/",              // not loopback
		"a=http://10.0.0.1/",                 // not loopback
		"a=http://127.0.0.1.example.com/",    // not loopback
		"a=ftp://127.0.0.1/",                 // scheme
		"a=FETCH:http://127.0.0.1/",          // method
		"a=http://127.0.0.1/@nope",           // unknown flag
		"a=http://u:p@127.0.0.1/",            // userinfo
		"a=http://127.0.0.1@example.com/x",   // userinfo trick
		"a=POST:http://evil.example@auth",    // not loopback
		"a=localhost:8080/x",                 // no scheme
		"a b=http://127.0.0.1/",              // space in name
		"a=http://localhost.evil.example/x",  // not loopback
		"a=http://0x7f000001.example.com/x",  // not loopback
		"a=https://[2001:db8::1]:443/path/x", // not loopback
	} {
		if got, err := parseTarget(bad); err == nil {
			t.Errorf("parseTarget(%q) = %+v, want error", bad, got)
		}
	}
}

func TestParseArgs(t *testing.T) {
	cfg, err := parseArgs([]string{
		"-c", "8", "-d", "1s", "-warmup", "0", "-n", "100",
		"-H", "Accept: application/json",
		"-token-url", "http://127.0.0.1:18080/user/oauth/token", "-client-id", "demo.web", "-client-secret", "s",
		"-basic", "demo.web:demo-secret", "-form", "grant_type=client_credentials",
		"-target", "bare=http://127.0.0.1:18081/",
		"-target", "products=http://127.0.0.1:18080/capi/v1/client/product@auth",
		"-target", "token=POST:http://127.0.0.1:18080/user/oauth/token@basic",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Conns != 8 || cfg.Duration != time.Second || cfg.Warmup != 0 || cfg.MaxReqs != 100 {
		t.Fatalf("cfg = %+v", cfg)
	}
	if len(cfg.Targets) != 3 || cfg.Targets[0].Name != "bare" || !cfg.Targets[1].Auth || !cfg.Targets[2].Basic {
		t.Fatalf("targets = %+v", cfg.Targets)
	}
	if string(cfg.Body) != "grant_type=client_credentials" || cfg.BodyType != "application/x-www-form-urlencoded" {
		t.Fatalf("body = %q (%s)", cfg.Body, cfg.BodyType)
	}

	// Per-target request building: GET gets no body, POST gets form + Basic.
	bare := buildSpec(cfg, cfg.Targets[0], "TOK")
	if bare.method != "GET" || bare.body != nil || bare.header.Get("Authorization") != "" ||
		bare.header.Get("Accept") != "application/json" {
		t.Errorf("bare spec = %+v", bare)
	}
	api := buildSpec(cfg, cfg.Targets[1], "TOK")
	if api.header.Get("Authorization") != "Bearer TOK" || api.body != nil {
		t.Errorf("api spec = %+v", api)
	}
	tok := buildSpec(cfg, cfg.Targets[2], "TOK")
	if tok.method != "POST" || string(tok.body) != "grant_type=client_credentials" ||
		tok.header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		tok.header.Get("Authorization") != "Basic ZGVtby53ZWI6ZGVtby1zZWNyZXQ=" {
		t.Errorf("token spec = %+v", tok)
	}

	for _, bad := range [][]string{
		{},                                       // no target
		{"-url", "http://example.com/"},          // not loopback
		{"-url", "http://127.0.0.1/", "-c", "0"}, // bad -c
		{"-url", "http://127.0.0.1/", "-d", "0"}, // bad -d
		{"-url", "http://127.0.0.1/", "-d", "2h"},
		{"-url", "http://127.0.0.1/", "-n", "-1"},
		{"-url", "http://127.0.0.1/", "-rate", "-1"},
		{"-url", "http://127.0.0.1/", "-H", "NoColon"},
		{"-url", "http://127.0.0.1/", "-body", "{}", "-form", "a=b"},
		{"-url", "http://127.0.0.1/", "-target", "a=http://127.0.0.1/"},
		{"-target", "a=http://127.0.0.1/@auth"}, // @auth without -token-url
		{"-target", "a=http://127.0.0.1/@basic"},
		{"-target", "a=http://127.0.0.1/", "-target", "a=http://127.0.0.1/x"}, // duplicate
		{"-url", "http://127.0.0.1/", "-token-url", "http://example.com/token", "-client-id", "x"},
		{"-url", "http://127.0.0.1/", "extra"},
	} {
		if _, err := parseArgs(bad, io.Discard); err == nil {
			t.Errorf("parseArgs(%q): want error", bad)
		}
	}
}

func TestRatioFormat(t *testing.T) {
	if got, want := formatRatio("api", "bare", 0.4236), "ratio api/bare = 0.42 (42.4%)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	line := formatResult(result{Name: "bare", RPS: 1234.56, P50ms: 0.5, P99ms: 2.25, Requests: 10}, 6)
	if !strings.HasPrefix(line, "bare    req/s=1234.6  p50=0.500ms  p99=2.250ms  non2xx=0  errors=0") {
		t.Errorf("result line = %q", line)
	}
}

// TestRunAgainstServer runs a short load against httptest servers: a bare
// JSON handler, an endpoint needing a Bearer token, and a token endpoint
// taking a form POST with Basic auth.
func TestRunAgainstServer(t *testing.T) {
	var tokenCalls, apiCalls, bareCalls atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, _ *http.Request) {
		bareCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok","products":[]}`)
	})
	mux.HandleFunc("GET /capi/v1/client/product", func(w http.ResponseWriter, r *http.Request) {
		apiCalls.Add(1)
		if r.Header.Get("Authorization") != "Bearer T0K" || r.Header.Get("Accept") != "application/json" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"items":[]}`)
	})
	mux.HandleFunc("POST /user/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		tokenCalls.Add(1)
		u, p, ok := r.BasicAuth()
		if !ok || u != "demo.web" || p != "demo-secret" || r.PostFormValue("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"access_token":"T0K","token_type":"Bearer","expires_in":3600}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cfg, err := parseArgs([]string{
		"-d", "300ms", "-c", "4", "-warmup", "50ms", "-json",
		"-H", "Accept: application/json",
		"-token-url", srv.URL + "/user/oauth/token", "-client-id", "demo.web", "-client-secret", "demo-secret",
		"-basic", "demo.web:demo-secret", "-form", "grant_type=client_credentials",
		"-target", "bare=" + srv.URL + "/",
		"-target", "products=" + srv.URL + "/capi/v1/client/product@auth",
		"-target", "token=POST:" + srv.URL + "/user/oauth/token@basic",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), cfg, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	t.Logf("output:\n%s%s", out.String(), errOut.String())

	text, js, ok := strings.Cut(out.String(), "{")
	if !ok {
		t.Fatal("no JSON object in output")
	}
	var rep report
	if err := json.Unmarshal([]byte("{"+js), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 || len(rep.Ratios) != 2 {
		t.Fatalf("report = %+v", rep)
	}
	for _, r := range rep.Results {
		if r.Requests == 0 || r.RPS <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms {
			t.Errorf("%s: %+v", r.Name, r)
		}
		if r.Errors != 0 || r.Non2xx != 0 {
			t.Errorf("%s: errors=%d non2xx=%d status=%v first=%v", r.Name, r.Errors, r.Non2xx, r.Status, r.FirstErrs)
		}
	}
	if bareCalls.Load() < int64(rep.Results[0].Requests) || apiCalls.Load() < int64(rep.Results[1].Requests) ||
		tokenCalls.Load() < int64(rep.Results[2].Requests)+1 {
		t.Errorf("server saw bare=%d api=%d token=%d", bareCalls.Load(), apiCalls.Load(), tokenCalls.Load())
	}
	for _, want := range []string{"bare      req/s=", "products  req/s=", "token     req/s=",
		"ratio products/bare = ", "ratio token/bare = "} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestRunCapAndStatus checks the -n cap and that non-2xx answers are counted
// apart from transport errors.
func TestRunCapAndStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	cfg, err := parseArgs([]string{"-d", "30s", "-c", "4", "-warmup", "0", "-n", "50", "-url", srv.URL}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "non2xx=50  errors=0  requests=50") {
		t.Errorf("output = %q", out.String())
	}

	// A closed server gives transport errors, not non-2xx.
	srv.Close()
	cfg.MaxReqs = 5
	out.Reset()
	if err := run(context.Background(), cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "non2xx=0  errors=5  requests=0") {
		t.Errorf("output = %q", out.String())
	}
}

// Open loop: requests start on the schedule, never more than it allows,
// whatever the server's speed.
func TestRunOpenLoopKeepsTheSchedule(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
	}))
	defer srv.Close()
	cfg, err := parseArgs([]string{"-d", "300ms", "-c", "4", "-warmup", "0", "-rate", "100", "-url", srv.URL}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rate != 100 {
		t.Fatalf("rate %v", cfg.Rate)
	}
	var out bytes.Buffer
	if err := run(context.Background(), cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	// Due times 0, 10, ..., 290 ms: at most 30 requests in 300 ms.
	if n := served.Load(); n < 1 || n > 30 {
		t.Fatalf("%d requests at 100/s in 300 ms; output %q", n, out.String())
	}
	if !strings.Contains(out.String(), fmt.Sprintf("requests=%d", served.Load())) {
		t.Errorf("output = %q", out.String())
	}
}
