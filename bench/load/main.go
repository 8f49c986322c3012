// Command load is a small closed-loop HTTP load generator for the benchmarks
// in bench/ (DESIGN.md §7, §7a). It only talks to loopback addresses.
//
// Each of -c workers sends one request at a time over a shared keep-alive
// http.Transport, reads the response body fully and sends the next one. A
// warm-up phase (-warmup, not measured) precedes the measured phase, which
// ends after -d or after -n requests, whichever comes first.
//
// Several targets can be measured in one run (-target name=[METHOD:]URL[@flags],
// repeatable); they run one after another with the same settings and every
// target is compared to the first one, the bare reference:
//
//	load -d 10s -c 64 -H 'Accept: application/json' \
//	  -token-url http://127.0.0.1:18080/user/oauth/token -client-id demo.web -client-secret demo-secret \
//	  -basic demo.web:demo-secret -form grant_type=client_credentials \
//	  -target bare=http://127.0.0.1:18081/ \
//	  -target products=http://127.0.0.1:18080/capi/v1/client/product@auth \
//	  -target token=POST:http://127.0.0.1:18080/user/oauth/token@basic
//
// Target flags: "auth" adds "Authorization: Bearer <token>" (token fetched once
// before the run from -token-url with client_credentials); "basic" adds HTTP
// Basic auth from -basic. The body (-body, -body-file or -form) is sent only by
// targets whose method is not GET or HEAD.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Bounds that keep every run finite.
const (
	maxConns     = 4096
	maxDuration  = time.Hour
	maxWarmup    = 10 * time.Minute
	maxRequests  = 1_000_000_000
	maxTargets   = 32
	maxBodyBytes = 64 << 20
	maxTimeout   = 5 * time.Minute
	maxRate      = 1_000_000
)

// target is one endpoint to measure.
type target struct {
	Name   string
	Method string // empty: use the -m default
	URL    string
	Auth   bool // add the Bearer token
	Basic  bool // add -basic credentials
}

type config struct {
	Conns    int
	Duration time.Duration
	Warmup   time.Duration
	MaxReqs  int64
	Rate     float64 // requests per second, open loop; 0: closed loop
	Timeout  time.Duration
	Method   string
	Headers  http.Header
	Body     []byte
	BodyType string // Content-Type for Body unless set by -H
	Targets  []target

	TokenURL     string
	ClientID     string
	ClientSecret string
	TokenScope   string
	BasicUser    string
	BasicPass    string
	HasBasic     bool

	JSON       bool
	PrintToken bool
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	cfg, err := parseArgs(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func parseArgs(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg      config
		headers  multiFlag
		targets  multiFlag
		forms    multiFlag
		body     string
		bodyFile string
		single   string
		basic    string
	)
	fs.IntVar(&cfg.Conns, "c", 64, "number of connections (concurrent closed-loop workers)")
	fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "measured duration per target")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "warm-up per target, not measured (0 to skip)")
	fs.Int64Var(&cfg.MaxReqs, "n", 0, "cap on measured requests per target (0: no cap, -d still applies)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: start this many requests per second on a fixed schedule, each latency\n"+
		"counted from its scheduled start (so a slow server cannot hide its queue); -c bounds the\n"+
		"requests in flight (0: closed loop, each connection sends its next request when the last ends)")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.StringVar(&cfg.Method, "m", "GET", "HTTP method for targets without a METHOD: prefix")
	fs.Var(&headers, "H", "request header 'Name: value' for every target (repeatable)")
	fs.StringVar(&body, "body", "", "request body (sent by non-GET/HEAD targets)")
	fs.StringVar(&bodyFile, "body-file", "", "read the request body from this file")
	fs.Var(&forms, "form", "form field(s) 'k=v&k2=v2' sent url-encoded as the body (repeatable)")
	fs.StringVar(&single, "url", "", "single target URL (alternative to -target)")
	fs.Var(&targets, "target", "name=[METHOD:]URL[@auth][@basic] (repeatable; the first one is the reference)")
	fs.StringVar(&cfg.TokenURL, "token-url", "", "fetch a client_credentials token from this URL before the run")
	fs.StringVar(&cfg.ClientID, "client-id", "", "client id for -token-url (HTTP Basic)")
	fs.StringVar(&cfg.ClientSecret, "client-secret", "", "client secret for -token-url (HTTP Basic)")
	fs.StringVar(&cfg.TokenScope, "token-scope", "", "optional scope for -token-url")
	fs.StringVar(&basic, "basic", "", "user:pass for HTTP Basic auth on targets flagged @basic (and on -url)")
	fs.BoolVar(&cfg.JSON, "json", false, "also print the results as one JSON object")
	fs.BoolVar(&cfg.PrintToken, "print-token", false, "fetch the token from -token-url, print it and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	switch {
	case cfg.Conns < 1 || cfg.Conns > maxConns:
		return nil, fmt.Errorf("-c must be in 1..%d", maxConns)
	case cfg.Duration <= 0 || cfg.Duration > maxDuration:
		return nil, fmt.Errorf("-d must be in (0, %s]", maxDuration)
	case cfg.Warmup < 0 || cfg.Warmup > maxWarmup:
		return nil, fmt.Errorf("-warmup must be in [0, %s]", maxWarmup)
	case cfg.MaxReqs < 0 || cfg.MaxReqs > maxRequests:
		return nil, fmt.Errorf("-n must be in 0..%d", maxRequests)
	case cfg.Rate < 0 || cfg.Rate > maxRate:
		return nil, fmt.Errorf("-rate must be in 0..%d", maxRate)
	case cfg.Timeout <= 0 || cfg.Timeout > maxTimeout:
		return nil, fmt.Errorf("-timeout must be in (0, %s]", maxTimeout)
	}
	cfg.Method = strings.ToUpper(cfg.Method)
	if !validMethod(cfg.Method) {
		return nil, fmt.Errorf("bad -m %q", cfg.Method)
	}

	cfg.Headers = make(http.Header)
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("bad -H %q: want 'Name: value'", h)
		}
		cfg.Headers.Add(k, strings.TrimSpace(v))
	}

	nBodies := 0
	if body != "" {
		nBodies++
		cfg.Body = []byte(body)
		cfg.BodyType = "application/json"
	}
	if bodyFile != "" {
		nBodies++
		b, err := readFileLimited(bodyFile, maxBodyBytes)
		if err != nil {
			return nil, err
		}
		cfg.Body = b
		cfg.BodyType = "application/json"
	}
	if len(forms) > 0 {
		nBodies++
		vals := url.Values{}
		for _, f := range forms {
			q, err := url.ParseQuery(f)
			if err != nil {
				return nil, fmt.Errorf("bad -form %q: %v", f, err)
			}
			for k, vs := range q {
				vals[k] = append(vals[k], vs...)
			}
		}
		cfg.Body = []byte(vals.Encode())
		cfg.BodyType = "application/x-www-form-urlencoded"
	}
	if nBodies > 1 {
		return nil, errors.New("use only one of -body, -body-file, -form")
	}

	if basic != "" {
		u, p, ok := strings.Cut(basic, ":")
		if !ok {
			return nil, errors.New("-basic wants user:pass")
		}
		cfg.BasicUser, cfg.BasicPass, cfg.HasBasic = u, p, true
	}

	if cfg.TokenURL != "" {
		if err := checkLoopbackURL(cfg.TokenURL); err != nil {
			return nil, fmt.Errorf("-token-url: %w", err)
		}
		if cfg.ClientID == "" {
			return nil, errors.New("-token-url needs -client-id")
		}
	}
	if cfg.PrintToken {
		if cfg.TokenURL == "" {
			return nil, errors.New("-print-token needs -token-url")
		}
		return &cfg, nil
	}

	if single != "" && len(targets) > 0 {
		return nil, errors.New("use either -url or -target, not both")
	}
	if single != "" {
		if err := checkLoopbackURL(single); err != nil {
			return nil, fmt.Errorf("-url: %w", err)
		}
		targets = append(targets, "url="+single)
	}
	if len(targets) == 0 {
		return nil, errors.New("no target: use -url or -target")
	}
	if len(targets) > maxTargets {
		return nil, fmt.Errorf("at most %d targets", maxTargets)
	}
	seen := map[string]bool{}
	for _, s := range targets {
		t, err := parseTarget(s)
		if err != nil {
			return nil, err
		}
		if single != "" { // -url: credentials given on the command line apply to it
			t.Auth = t.Auth || cfg.TokenURL != ""
			t.Basic = t.Basic || cfg.HasBasic
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("duplicate target name %q", t.Name)
		}
		seen[t.Name] = true
		if t.Auth && cfg.TokenURL == "" {
			return nil, fmt.Errorf("target %q wants @auth but -token-url is not set", t.Name)
		}
		if t.Basic && !cfg.HasBasic {
			return nil, fmt.Errorf("target %q wants @basic but -basic is not set", t.Name)
		}
		cfg.Targets = append(cfg.Targets, t)
	}
	return &cfg, nil
}

// parseTarget parses name=[METHOD:]URL[@flag]... where flag is auth or basic.
func parseTarget(s string) (target, error) {
	var t target
	name, rest, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t/") {
		return t, fmt.Errorf("bad -target %q: want name=[METHOD:]URL[@auth][@basic]", s)
	}
	t.Name = name
	// Trailing @flags. URLs with userinfo are refused anyway, so '@' after the
	// host can only be a flag; flags are matched from the end.
	for {
		i := strings.LastIndexByte(rest, '@')
		if i < 0 {
			break
		}
		switch strings.ToLower(rest[i+1:]) {
		case "auth":
			t.Auth = true
		case "basic":
			t.Basic = true
		default:
			return t, fmt.Errorf("bad -target %q: unknown flag @%s (want @auth or @basic)", s, rest[i+1:])
		}
		rest = rest[:i]
	}
	if m, u, ok := strings.Cut(rest, ":"); ok && !strings.HasPrefix(u, "//") {
		m = strings.ToUpper(m)
		if !validMethod(m) {
			return t, fmt.Errorf("bad -target %q: bad method %q", s, m)
		}
		t.Method, rest = m, u
	}
	if err := checkLoopbackURL(rest); err != nil {
		return t, fmt.Errorf("bad -target %q: %w", s, err)
	}
	t.URL = rest
	return t, nil
}

func validMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return true
	}
	return false
}

// checkLoopbackURL refuses anything but http(s) URLs to localhost or a
// loopback IP: this tool must never send traffic off the machine.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q: scheme must be http or https", raw)
	}
	if u.User != nil {
		return fmt.Errorf("URL %q: userinfo not allowed (use -basic)", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("URL %q: only loopback hosts (localhost, 127.0.0.0/8, ::1) are allowed", raw)
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// newClient returns a keep-alive client whose dialer also refuses any
// non-loopback address (so a "localhost" resolving elsewhere cannot leak) and
// which never follows redirects (3xx counts as non-2xx).
func newClient(conns int, timeout time.Duration) (*http.Client, *http.Transport) {
	dialer := &net.Dialer{
		Timeout:   5 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("refusing to dial non-loopback address %s", address)
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy:               nil, // never use a proxy from the environment
		DialContext:         dialer.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		DisableKeepAlives:   false,
		ForceAttemptHTTP2:   false,
	}
	c := &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return c, tr
}

// fetchToken gets a client_credentials access token (client_secret_basic).
func fetchToken(ctx context.Context, c *http.Client, cfg *config) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if cfg.TokenScope != "" {
		form.Set("scope", cfg.TokenScope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint answered %s: %s", resp.Status, truncate(string(b), 300))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &tok); err != nil {
		return "", fmt.Errorf("token response: %w", err)
	}
	if tok.AccessToken == "" {
		return "", errors.New("token response has no access_token")
	}
	return tok.AccessToken, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// result is the measurement of one target.
type result struct {
	Name      string         `json:"name"`
	Method    string         `json:"method"`
	URL       string         `json:"url"`
	Requests  uint64         `json:"requests"` // responses received, any status
	Non2xx    uint64         `json:"non2xx"`
	Errors    uint64         `json:"errors"`
	Seconds   float64        `json:"seconds"`
	RPS       float64        `json:"req_per_s"`
	P50ms     float64        `json:"p50_ms"`
	P90ms     float64        `json:"p90_ms"`
	P99ms     float64        `json:"p99_ms"`
	P999ms    float64        `json:"p999_ms"`
	MaxMs     float64        `json:"max_ms"`
	MeanMs    float64        `json:"mean_ms"`
	Status    map[string]int `json:"status"`
	FirstErrs []string       `json:"first_errors,omitempty"`
}

type ratio struct {
	Name      string  `json:"name"`
	Reference string  `json:"reference"`
	Ratio     float64 `json:"ratio"`
}

type report struct {
	Conns    int      `json:"conns"`
	Duration string   `json:"duration"`
	Warmup   string   `json:"warmup"`
	MaxReqs  int64    `json:"max_requests,omitempty"`
	Rate     float64  `json:"rate_per_s,omitempty"`
	Started  string   `json:"started"`
	Results  []result `json:"results"`
	Ratios   []ratio  `json:"ratios,omitempty"`
}

func run(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	client, tr := newClient(cfg.Conns, cfg.Timeout)
	defer tr.CloseIdleConnections()

	var token string
	if cfg.TokenURL != "" {
		var err error
		if token, err = fetchToken(ctx, client, cfg); err != nil {
			return err
		}
		if cfg.PrintToken {
			fmt.Fprintln(stdout, token)
			return nil
		}
	}

	rep := report{
		Conns:    cfg.Conns,
		Duration: cfg.Duration.String(),
		Warmup:   cfg.Warmup.String(),
		MaxReqs:  cfg.MaxReqs,
		Rate:     cfg.Rate,
		Started:  time.Now().UTC().Format(time.RFC3339),
	}
	width := 0
	for _, t := range cfg.Targets {
		width = max(width, len(t.Name))
	}
	for _, t := range cfg.Targets {
		spec := buildSpec(cfg, t, token)
		if cfg.Warmup > 0 {
			measure(ctx, client, spec, cfg.Conns, cfg.Warmup, 0, cfg.Rate)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		r := measure(ctx, client, spec, cfg.Conns, cfg.Duration, cfg.MaxReqs, cfg.Rate)
		r.Name = t.Name
		rep.Results = append(rep.Results, r)
		fmt.Fprintln(stdout, formatResult(r, width))
		for _, e := range r.FirstErrs {
			fmt.Fprintf(stderr, "  %s: error: %s\n", t.Name, e)
		}
		if r.Non2xx > 0 {
			fmt.Fprintf(stderr, "  %s: status counts: %v\n", t.Name, r.Status)
		}
		tr.CloseIdleConnections() // each target starts from fresh connections
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if len(rep.Results) > 1 {
		ref := rep.Results[0]
		for _, r := range rep.Results[1:] {
			x := 0.0
			if ref.RPS > 0 {
				x = r.RPS / ref.RPS
			}
			rep.Ratios = append(rep.Ratios, ratio{Name: r.Name, Reference: ref.Name, Ratio: x})
			fmt.Fprintln(stdout, formatRatio(r.Name, ref.Name, x))
		}
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	return nil
}

func formatResult(r result, width int) string {
	return fmt.Sprintf("%-*s  req/s=%.1f  p50=%.3fms  p99=%.3fms  non2xx=%d  errors=%d  requests=%d",
		width, r.Name, r.RPS, r.P50ms, r.P99ms, r.Non2xx, r.Errors, r.Requests)
}

func formatRatio(name, ref string, x float64) string {
	return fmt.Sprintf("ratio %s/%s = %.2f (%.1f%%)", name, ref, x, 100*x)
}

// reqSpec is everything needed to build one target's requests.
type reqSpec struct {
	method string
	url    string
	header http.Header
	body   []byte
}

func buildSpec(cfg *config, t target, token string) reqSpec {
	s := reqSpec{method: t.Method, url: t.URL, header: cfg.Headers.Clone()}
	if s.method == "" {
		s.method = cfg.Method
	}
	if s.method != http.MethodGet && s.method != http.MethodHead && cfg.Body != nil {
		s.body = cfg.Body
		if s.header.Get("Content-Type") == "" {
			s.header.Set("Content-Type", cfg.BodyType)
		}
	}
	if t.Basic {
		creds := base64.StdEncoding.EncodeToString([]byte(cfg.BasicUser + ":" + cfg.BasicPass))
		s.header.Set("Authorization", "Basic "+creds)
	}
	if t.Auth {
		s.header.Set("Authorization", "Bearer "+token)
	}
	return s
}

// workerStats is owned by one worker; merged after all workers stop.
type workerStats struct {
	hist   histogram
	non2xx uint64
	errors uint64
	status map[int]int
	errs   []string
}

const maxErrSamples = 3

// measure runs conns workers against spec for d or until maxReqs requests
// were started (0: no cap). Closed loop (rate 0): each worker sends its next
// request when the previous one ends. Open loop: request n is due at
// start + n/rate, and its latency counts from then, so time spent waiting for
// a free worker is counted (no coordinated omission). Requests already in
// flight when the duration ends are completed and counted; elapsed time
// includes them.
func measure(ctx context.Context, c *http.Client, spec reqSpec, conns int, d time.Duration, maxReqs int64, rate float64) result {
	var (
		wg      sync.WaitGroup
		tickets atomic.Int64
		stats   = make([]*workerStats, conns)
	)
	start := time.Now()
	deadline := start.Add(d)
	for i := range conns {
		ws := &workerStats{status: map[int]int{}}
		stats[i] = ws
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n := tickets.Add(1)
				if maxReqs > 0 && n > maxReqs {
					return
				}
				t0 := time.Now()
				if rate > 0 {
					t0 = start.Add(time.Duration(float64(n-1) * float64(time.Second) / rate))
					if !t0.Before(deadline) || !sleepUntil(ctx, t0) {
						return
					}
				} else if !t0.Before(deadline) {
					return
				}
				doOne(ctx, c, spec, ws, t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	var (
		h      histogram
		status = map[int]int{}
		r      = result{Method: spec.method, URL: spec.url, Seconds: elapsed.Seconds()}
	)
	for _, ws := range stats {
		h.merge(&ws.hist)
		r.Non2xx += ws.non2xx
		r.Errors += ws.errors
		for k, v := range ws.status {
			status[k] += v
		}
		for _, e := range ws.errs {
			if len(r.FirstErrs) < maxErrSamples && !contains(r.FirstErrs, e) {
				r.FirstErrs = append(r.FirstErrs, e)
			}
		}
	}
	r.Requests = h.total
	if elapsed > 0 {
		r.RPS = float64(h.total) / elapsed.Seconds()
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.P50ms = ms(h.percentile(50))
	r.P90ms = ms(h.percentile(90))
	r.P99ms = ms(h.percentile(99))
	r.P999ms = ms(h.percentile(99.9))
	r.MaxMs = ms(time.Duration(h.max))
	r.MeanMs = ms(h.mean())
	r.Status = map[string]int{}
	codes := make([]int, 0, len(status))
	for k := range status {
		codes = append(codes, k)
	}
	sort.Ints(codes)
	for _, k := range codes {
		r.Status[strconv.Itoa(k)] = status[k]
	}
	return r
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// doOne sends one request, reads and discards the body, and records it.
func doOne(ctx context.Context, c *http.Client, spec reqSpec, ws *workerStats, t0 time.Time) {
	var body io.Reader
	if spec.body != nil {
		body = bytes.NewReader(spec.body)
	}
	req, err := http.NewRequestWithContext(ctx, spec.method, spec.url, body)
	if err != nil {
		ws.fail(err)
		return
	}
	req.Header = spec.header.Clone()
	resp, err := c.Do(req)
	if err != nil {
		ws.fail(err)
		return
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		ws.fail(err)
		return
	}
	ws.hist.record(time.Since(t0))
	ws.status[resp.StatusCode]++
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ws.non2xx++
	}
}

// sleepUntil waits until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	wait := time.Until(t)
	if wait <= 0 {
		return true
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (ws *workerStats) fail(err error) {
	ws.errors++
	if len(ws.errs) < maxErrSamples {
		ws.errs = append(ws.errs, err.Error())
	}
}
