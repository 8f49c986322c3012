package event_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
)

func TestDeliversSignedEnvelope(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		rcv := newReceiver(t, nil)
		e.webhook(e.acme, "acme.web", rcv.URL+"/hook?x=1", "s3cret")
		e.run(fast(event.Config{UserAgent: "Connect-Webhooks/test"}))
		at := time.UnixMilli(1610665200000)
		id := e.record(e.acme, "ACME", event.TypeSubscription, "start",
			map[string]any{"customerNumber": 12345, "productCode": "PROD1", "periodEnd": 1610665200000}, at)

		h := rcv.next(t)
		if got := h.header.Get(event.HeaderEventID); got != id {
			t.Errorf("event id header %q, want %q", got, id)
		}
		if ct := h.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
		if ua := h.header.Get("User-Agent"); ua != "Connect-Webhooks/test" {
			t.Errorf("user agent %q", ua)
		}
		sig, ts := h.header.Get(event.HeaderSignature), h.header.Get(event.HeaderTimestamp)
		if err := event.Verify("s3cret", sig, ts, h.body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("signature does not verify: %v (sig %q ts %q)", err, sig, ts)
		}
		if err := event.Verify("wrong", sig, ts, h.body, time.Now(), 5*time.Minute); err == nil {
			t.Error("signature verifies with the wrong secret")
		}
		tampered := bytes.Replace(h.body, []byte("12345"), []byte("12346"), 1)
		if err := event.Verify("s3cret", sig, ts, tampered, time.Now(), 5*time.Minute); err == nil {
			t.Error("signature verifies a tampered body")
		}
		want := `{"time":1610665200000,"type":"subscription","source":"ACME","status":"start","data":{"customerNumber":12345,"periodEnd":1610665200000,"productCode":"PROD1"}}`
		if string(h.body) != want {
			t.Errorf("body\n got %s\nwant %s", h.body, want)
		}
		waitFor(t, "delivered state", func() bool { s, _ := e.state(id, "acme.web"); return s == event.StateDelivered })
		if s, n := e.state(id, "acme.web"); n != 1 {
			t.Errorf("state %s attempts %d, want 1", s, n)
		}
	})
}

func TestRetriesUntilTheReceiverRecovers(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		rcv := newReceiver(t, func(n int, _ hit, w http.ResponseWriter) {
			if n < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("busy"))
			}
		})
		e.webhook(e.acme, "acme.web", rcv.URL, "k")
		e.run(fast(event.Config{}))
		id := e.record(e.acme, "ACME", event.TypeOrder, "new", map[string]any{"orderId": 1}, time.Now())
		waitFor(t, "delivery", func() bool { s, _ := e.state(id, "acme.web"); return s == event.StateDelivered })
		hits := rcv.all()
		if len(hits) != 4 {
			t.Fatalf("%d requests, want 4", len(hits))
		}
		for i, h := range hits {
			if h.header.Get(event.HeaderEventID) != id {
				t.Errorf("attempt %d: other event id", i+1)
			}
			if got := h.header.Get(event.HeaderAttempt); got != []string{"1", "2", "3", "4"}[i] {
				t.Errorf("attempt %d: %s header %q", i+1, event.HeaderAttempt, got)
			}
			if err := event.Verify("k", h.header.Get(event.HeaderSignature), h.header.Get(event.HeaderTimestamp), h.body, time.Now(), time.Minute); err != nil {
				t.Errorf("attempt %d: %v", i+1, err)
			}
		}
		if _, n := e.state(id, "acme.web"); n != 4 {
			t.Errorf("attempts %d, want 4", n)
		}
		var codes []int
		rows, err := e.db.QueryContext(context.Background(), `SELECT a.status_code FROM event_attempts a JOIN event_deliveries d ON d.id = a.delivery_id WHERE d.event_id = $1 ORDER BY a.id`, id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c int
			rows.Scan(&c)
			codes = append(codes, c)
		}
		rows.Close()
		if len(codes) != 4 || codes[0] != 503 || codes[3] != 200 {
			t.Errorf("attempt log codes %v", codes)
		}
	})
}

func TestGivesUpThenReplays(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		var healthy atomic.Bool
		rcv := newReceiver(t, func(_ int, _ hit, w http.ResponseWriter) {
			if !healthy.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		e.webhook(e.acme, "acme.web", rcv.URL, "k")
		e.webhook(e.rival, "rival.web", rcv.URL, "k")
		e.run(fast(event.Config{MaxAttempts: 3}))
		id := e.record(e.acme, "ACME", event.TypeCustomer, "new", map[string]any{"customerNumber": 7}, time.Now())
		rid := e.record(e.rival, "RIVAL", event.TypeCustomer, "new", map[string]any{"customerNumber": 8}, time.Now())
		waitFor(t, "failed state", func() bool {
			a, _ := e.state(id, "acme.web")
			r, _ := e.state(rid, "rival.web")
			return a == event.StateFailed && r == event.StateFailed
		})
		ctx := context.Background()
		list, err := event.ListFailed(ctx, e.db, event.ListOptions{CompanyID: e.acme})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].EventID != id || list[0].ClientID != "acme.web" || list[0].Attempts != 3 ||
			len(list[0].AttemptLog) != 3 || list[0].LastStatusCode != 500 || list[0].LastError != "HTTP 500" {
			t.Fatalf("failed list: %+v", list)
		}
		if all, _ := event.ListFailed(ctx, e.db, event.ListOptions{}); len(all) != 2 {
			t.Errorf("every company: %d failed, want 2", len(all))
		}
		// Another company cannot replay ACME's event.
		if _, err := event.Replay(ctx, e.db, e.rival, id, time.Now()); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("rival replay of acme's event: %v", err)
		}
		healthy.Store(true)
		got, err := event.Replay(ctx, e.db, e.acme, id, time.Now())
		if err != nil || len(got) != 1 || got[0].State != event.StatePending {
			t.Fatalf("replay: %+v %v", got, err)
		}
		waitFor(t, "replayed delivery", func() bool { s, _ := e.state(id, "acme.web"); return s == event.StateDelivered })
		if s, _ := e.state(rid, "rival.web"); s != event.StateFailed {
			t.Errorf("rival's delivery is %s, want it left failed", s)
		}
		n, err := event.ReplayFailed(ctx, e.db, 0, time.Now())
		if err != nil || n != 1 {
			t.Fatalf("replay all failed: %d %v", n, err)
		}
		waitFor(t, "rival delivered", func() bool { s, _ := e.state(rid, "rival.web"); return s == event.StateDelivered })
		if l, _ := event.ListFailed(ctx, e.db, event.ListOptions{}); len(l) != 0 {
			t.Errorf("still failed: %+v", l)
		}
	})
}

func TestTimeoutIsAFailedAttempt(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		release := make(chan struct{})
		defer close(release)
		rcv := newReceiver(t, func(_ int, _ hit, w http.ResponseWriter) {
			select {
			case <-release:
			case <-time.After(time.Minute):
			}
		})
		e.webhook(e.acme, "acme.web", rcv.URL, "k")
		e.run(fast(event.Config{MaxAttempts: 1, Timeout: 100 * time.Millisecond}))
		id := e.record(e.acme, "ACME", event.TypeOrder, "new", nil, time.Now())
		waitFor(t, "failure", func() bool { s, _ := e.state(id, "acme.web"); return s == event.StateFailed })
		list, _ := event.ListFailed(context.Background(), e.db, event.ListOptions{CompanyID: e.acme})
		if len(list) != 1 || !strings.Contains(list[0].LastError, "no answer within") {
			t.Errorf("failed list: %+v", list)
		}
	})
}

func TestRedirectsAndHugeBodies(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		elsewhere := newReceiver(t, nil)
		redirect := newReceiver(t, func(_ int, _ hit, w http.ResponseWriter) {
			w.Header().Set("Location", elsewhere.URL)
			w.WriteHeader(http.StatusTemporaryRedirect)
		})
		huge := bytes.Repeat([]byte("x"), 8<<20)
		bigOK := newReceiver(t, func(_ int, _ hit, w http.ResponseWriter) { w.Write(huge) })
		bigErr := newReceiver(t, func(_ int, _ hit, w http.ResponseWriter) {
			w.WriteHeader(http.StatusBadGateway)
			w.Write(huge)
		})
		e.webhook(e.acme, "a.redirect", redirect.URL, "k")
		e.webhook(e.acme, "a.bigok", bigOK.URL, "k")
		e.webhook(e.acme, "a.bigerr", bigErr.URL, "k")
		e.run(fast(event.Config{MaxAttempts: 1}))
		id := e.record(e.acme, "ACME", event.TypeProduct, "update", map[string]any{"productCode": "P"}, time.Now())
		waitFor(t, "all three settled", func() bool {
			a, _ := e.state(id, "a.redirect")
			b, _ := e.state(id, "a.bigok")
			c, _ := e.state(id, "a.bigerr")
			return a == event.StateFailed && b == event.StateDelivered && c == event.StateFailed
		})
		if n := len(elsewhere.all()); n != 0 {
			t.Errorf("the redirect was followed (%d requests)", n)
		}
		list, _ := event.ListFailed(context.Background(), e.db, event.ListOptions{CompanyID: e.acme})
		for _, l := range list {
			switch l.ClientID {
			case "a.redirect":
				if l.LastStatusCode != 307 || !strings.Contains(l.LastError, "redirects are not followed") {
					t.Errorf("redirect: %+v", l)
				}
			case "a.bigerr":
				if l.LastStatusCode != 502 || len(l.LastError) > 400 {
					t.Errorf("huge error body kept: %d bytes", len(l.LastError))
				}
			}
		}
	})
}

func TestOrderPerEndpoint(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		rcv := newReceiver(t, func(n int, _ hit, w http.ResponseWriter) {
			if n == 0 {
				w.WriteHeader(http.StatusServiceUnavailable) // the first event's first attempt
			}
		})
		e.webhook(e.acme, "acme.web", rcv.URL, "k")
		base := time.Now()
		var ids []string
		// Recorded before the dispatcher starts, so all are queued when the first fails.
		for i := range 5 {
			ids = append(ids, e.record(e.acme, "ACME", event.TypeOrder, "new", map[string]any{"orderId": i}, base.Add(time.Duration(i)*time.Millisecond)))
		}
		e.run(fast(event.Config{Backoff: []time.Duration{50 * time.Millisecond}}))
		waitFor(t, "all delivered", func() bool { s, _ := e.state(ids[4], "acme.web"); return s == event.StateDelivered })
		var got []string
		for _, h := range rcv.all() {
			got = append(got, h.header.Get(event.HeaderEventID))
		}
		want := append([]string{ids[0]}, ids...)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("arrival order\n got %v\nwant %v", got, want)
		}
	})
}

func TestSlowEndpointDoesNotBlockOthers(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		release := make(chan struct{})
		var once sync.Once
		free := func() { once.Do(func() { close(release) }) }
		defer free()
		slow := newReceiver(t, func(_ int, _ hit, w http.ResponseWriter) { <-release })
		quick := newReceiver(t, nil)
		e.webhook(e.acme, "a.slow", slow.URL, "k")
		e.webhook(e.acme, "a.quick", quick.URL, "k")
		e.run(fast(event.Config{Timeout: time.Minute}))
		var ids []string
		for i := range 3 {
			ids = append(ids, e.record(e.acme, "ACME", event.TypeOrder, "new", map[string]any{"orderId": i}, time.Now()))
		}
		slow.next(t) // the slow endpoint now hangs on the first event
		for i := range 3 {
			h := quick.next(t)
			if h.header.Get(event.HeaderEventID) != ids[i] {
				t.Errorf("quick endpoint got event %d out of order", i)
			}
		}
		if s, _ := e.state(ids[0], "a.slow"); s != event.StatePending {
			t.Errorf("slow endpoint's first event is %s while its receiver still hangs", s)
		}
		if n := len(slow.all()); n != 1 {
			t.Errorf("slow endpoint got %d requests while its first hangs, want 1", n)
		}
		free()
		waitFor(t, "slow catches up", func() bool { s, _ := e.state(ids[2], "a.slow"); return s == event.StateDelivered })
	})
}

func TestRefusesWebhooksAtTheServerItself(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		rcv := newReceiver(t, nil)
		e.webhook(e.acme, "acme.web", rcv.URL, "k")
		e.webhook(e.acme, "acme.ftp", "ftp://example.com/x", "k")
		// The dispatcher is told the receiver is the server itself.
		self := strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1) + "/"
		e.run(fast(event.Config{MaxAttempts: 1, SelfURLs: []string{self}}))
		id := e.record(e.acme, "ACME", event.TypeOrder, "new", nil, time.Now())
		waitFor(t, "refusals", func() bool {
			a, _ := e.state(id, "acme.web")
			b, _ := e.state(id, "acme.ftp")
			return a == event.StateFailed && b == event.StateFailed
		})
		if n := len(rcv.all()); n != 0 {
			t.Errorf("%d requests went to the server itself", n)
		}
		list, _ := event.ListFailed(context.Background(), e.db, event.ListOptions{CompanyID: e.acme})
		for _, l := range list {
			if !strings.HasPrefix(l.LastError, "refused: ") || l.Attempts != 1 {
				t.Errorf("%s: %+v", l.ClientID, l)
			}
		}
	})
}

func TestCheckWebhookURL(t *testing.T) {
	self := []string{"http://127.0.0.1:8080", "https://connect.example.com"}
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"https://hooks.example.com/connect", true},
		{"http://127.0.0.1:9000/hook", true},
		{"http://127.0.0.1:8080/hook", false},
		{"http://localhost:8080/", false},
		{"http://[::1]:8080/x", false},
		{"https://connect.example.com/hook", false},
		{"https://CONNECT.example.com:443/hook", false},
		{"http://connect.example.com/hook", true}, // another port
		{"ftp://example.com", false},
		{"/relative", false},
		{"https://user:pw@example.com/", false},
		{"", false},
	} {
		if err := event.CheckWebhookURL(c.url, self); (err == nil) != c.ok {
			t.Errorf("%q: %v, want ok=%v", c.url, err, c.ok)
		}
	}
}

func TestSignatureIsOverTimestampAndBody(t *testing.T) {
	// Documented in DECISIONS.md: HMAC-SHA256(secret, "<timestamp>.<body>"), hex.
	got := event.Sign("secret", "1700000000", []byte(`{"a":1}`))
	// printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
	const want = "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
	if got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
	if err := event.Verify("secret", got, "1700000000", []byte(`{"a":1}`), time.Unix(1700000100, 0), 5*time.Minute); err != nil {
		t.Error(err)
	}
	if err := event.Verify("secret", got, "1700000000", []byte(`{"a":1}`), time.Unix(1700001000, 0), 5*time.Minute); err == nil {
		t.Error("an old timestamp verifies")
	}
}

func TestUserEventHelper(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		rcv := newReceiver(t, nil)
		e.webhook(e.acme, "acme.web", rcv.URL, "k")
		e.run(fast(event.Config{}))
		err := e.db.Tx(context.Background(), func(tx *sql.Tx) error {
			_, err := event.RecordUser(context.Background(), tx, e.acme, "ACME", event.UserLogin, event.UserData{UniqueID: "0123456789abcdef0123456789abcdef"}, time.UnixMilli(5))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var env event.Envelope
		if err := json.Unmarshal(rcv.next(t).body, &env); err != nil {
			t.Fatal(err)
		}
		if env.Type != "user" || env.Status != "login" || string(env.Data) != `{"uniqueId":"0123456789abcdef0123456789abcdef"}` {
			t.Errorf("user event %+v %s", env, env.Data)
		}
	})
}
