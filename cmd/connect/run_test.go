package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, env(map[string]string{"CONNECT_LOG_LEVEL": "error"}), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestCommands(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		db := storetest.NewDSN(t, d)
		if out, err := runCmd(t, "version"); err != nil || !strings.HasPrefix(out, "connect ") {
			t.Fatalf("version: %q %v", out, err)
		}
		if out, err := runCmd(t, "migrate", "--db", db); err != nil || !strings.Contains(out, "migrations applied") {
			t.Fatalf("migrate: %q %v", out, err)
		}
		out, err := runCmd(t, "demo", "--db", db)
		if err != nil || !strings.Contains(out, "demo tenant applied") || !strings.Contains(out, "demo@example.com now subscribes to DIGI") {
			t.Fatalf("demo: %q %v", out, err)
		}
		if out, err := runCmd(t, "demo", "--db", db); err != nil || !strings.Contains(out, "already up to date") {
			t.Fatalf("demo is not idempotent: %q %v", out, err)
		}
		if out, err := runCmd(t, "demo", "--db", db, "--customers", "250"); err != nil || !strings.Contains(out, "created 250 synthetic customers") {
			t.Fatalf("demo --customers: %q %v", out, err)
		}
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		os.WriteFile(bad, []byte("companies:\n  - code: X\n    name: X\n    colour: red\n"), 0o644)
		if _, err := runCmd(t, "apply", "--db", db, "-f", bad); err == nil || !strings.Contains(err.Error(), "bad.yaml:4") {
			t.Fatalf("apply of a bad file: %v", err)
		}
		if out, err := runCmd(t, "keys", "rotate", "--db", db); err != nil || !strings.Contains(out, "new signing key") {
			t.Fatalf("keys rotate: %q %v", out, err)
		}
		if _, err := os.Stat("connect.db"); err == nil {
			t.Fatal("a command ignored --db and wrote ./connect.db")
		}
	})
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"keys"}, {"keys", "--db", "x"}, {"apply", "--db", "sqlite://" + filepath.Join(t.TempDir(), "x.db")}, {"serve", "--db", "mysql://x"}, {"serve", "--log-level", "loud"}} {
		if _, err := runCmd(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestServeAndShutdown starts the server as `connect serve --demo` would, gets
// a token and a product list, then stops it through the context (SIGTERM).
func TestServeAndShutdown(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "serve.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--db", db, "--addr", "127.0.0.1:0", "--debug-addr", "127.0.0.1:0"}, env(map[string]string{"CONNECT_LOG_LEVEL": "error"}), pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var base, profiler string
	for lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), "Profiler:"); ok {
			profiler = strings.Fields(rest)[0]
		}
		if _, rest, ok := strings.Cut(lines.Text(), "listening on "); ok {
			base = strings.Fields(rest)[0]
			break
		}
	}
	if base == "" {
		t.Fatal("no listening line")
	}
	go io.Copy(io.Discard, pr)
	req, _ := http.NewRequest("POST", base+"/user/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("demo.web", "demo-secret")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("token from demo server: %v %v", res, err)
	}
	res.Body.Close()
	// The profiler answers on its own address only.
	for url, status := range map[string]int{profiler + "cmdline": 200, base + "/debug/pprof/cmdline": 404} {
		res, err := http.Get(url)
		if err != nil || res.StatusCode != status {
			t.Fatalf("GET %s: %v %v, want %d", url, res, err, status)
		}
		res.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}
