// Package apitest holds the black-box HTTP tests of the events endpoints; it
// is apart from package event's own tests so those build without the whole
// server.
package apitest

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/testkit"
)

// recordAt commits an event of the fixture company code through the server's database.
func recordAt(t *testing.T, e *testkit.Env, code, typ string) string {
	t.Helper()
	ctx := context.Background()
	c, err := tenant.GetCompanyByCode(ctx, e.App.DB, code)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	err = e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		id, err = event.Record(ctx, tx, event.Event{CompanyID: c.ID, Source: c.Code, Type: typ, Status: "new", Data: map[string]any{"n": 1}, Time: time.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestFailedListAndReplayEndpoints(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		var healthy atomic.Bool
		rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
			if !healthy.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		e := testkit.New(t, d, testkit.WithoutRateLimits(),
			testkit.WithEvents(event.Config{MaxAttempts: 2, Backoff: []time.Duration{time.Millisecond}, PollInterval: 10 * time.Millisecond}))
		ctx := context.Background()
		for _, c := range []string{testkit.ClientID, testkit.RivalClientID} {
			if err := event.SetWebhook(ctx, e.App.DB, c, rcv.URL, "k", nil, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		acmeEvent := recordAt(t, e, testkit.Company, event.TypeOrder)
		rivalEvent := recordAt(t, e, "RIVAL", event.TypeOrder)
		acme, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)

		list := func(token, query string) event.DeliveryList {
			t.Helper()
			res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/events/failed" + query, Token: token, Accept: "application/json"})
			if res.Status != 200 {
				t.Fatalf("list: %d %s", res.Status, res.Body)
			}
			var l event.DeliveryList
			res.JSON(t, &l)
			return l
		}
		// The fixture's own product events may be in the lists too; look for ours.
		find := func(token, id string) *event.Delivery {
			for _, d := range list(token, "?limit=1000").Deliveries {
				if d.EventID == id {
					return &d
				}
			}
			return nil
		}
		waitFor(t, "both failed", func() bool { return find(acme, acmeEvent) != nil && find(rival, rivalEvent) != nil })
		got := *find(acme, acmeEvent)
		if got.ClientID != testkit.ClientID || got.State != "failed" || got.Attempts != 2 || len(got.AttemptLog) != 2 || got.LastStatusCode != 503 {
			t.Errorf("acme's failed delivery: %+v", got)
		}
		for _, d := range list(rival, "?limit=1000").Deliveries {
			if d.Source != "RIVAL" {
				t.Errorf("rival sees %s's event %s", d.Source, d.EventID)
			}
		}
		all := list(acme, "?limit=1000").Deliveries
		if l := list(acme, fmt.Sprintf("?limit=1&offset=%d", len(all)-1)); len(l.Deliveries) != 1 || l.Deliveries[0].EventID != all[len(all)-1].EventID {
			t.Errorf("last page: %+v", l)
		}
		for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x", "?offset=-1"} {
			res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/events/failed" + q, Token: acme, Accept: "application/json"})
			if res.Status != 400 {
				t.Errorf("%s: %d", q, res.Status)
			}
		}
		// RIVAL cannot replay ACME's event: it does not exist for them.
		res := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/events/" + acmeEvent + "/replay", Token: rival, Accept: "application/json"})
		if res.Status != 404 {
			t.Errorf("rival replaying acme's event: %d %s", res.Status, res.Body)
		}
		res = e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/events/not-an-id/replay", Token: acme, Accept: "application/json"})
		if res.Status != 400 || !strings.Contains(string(res.Body), "eventId") {
			t.Errorf("bad id: %d %s", res.Status, res.Body)
		}
		res = e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/events/" + strings.Repeat("0", 32) + "/replay", Token: acme, Accept: "application/json"})
		if res.Status != 404 {
			t.Errorf("unknown id: %d %s", res.Status, res.Body)
		}

		healthy.Store(true)
		res = e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/events/" + acmeEvent + "/replay", Token: acme, Accept: "application/json"})
		if res.Status != 200 {
			t.Fatalf("replay: %d %s", res.Status, res.Body)
		}
		var replayed event.DeliveryList
		res.JSON(t, &replayed)
		if len(replayed.Deliveries) != 1 || replayed.Deliveries[0].State != "pending" || replayed.Deliveries[0].Attempts != 0 {
			t.Errorf("replay answer: %+v", replayed)
		}
		waitFor(t, "acme's replay delivered", func() bool { return find(acme, acmeEvent) == nil })
		if find(rival, rivalEvent) == nil {
			t.Error("acme's replay touched rival's delivery")
		}
		// A user token is the wrong mode.
		user := e.MintUserToken(strings.Repeat("a", 32), 1, 0)
		if res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/events/failed", Token: user, Accept: "application/json"}); res.Status != 403 {
			t.Errorf("user token: %d", res.Status)
		}
	})
}

func TestTenantFileRefusesSelfWebhook(t *testing.T) {
	e := testkit.New(t, store.SQLite)
	file := fmt.Sprintf(`companies:
  - code: ACME
    name: Acme Media
    clients:
      - clientId: acme.hook
        name: Hook
        secret: hook-secret-0123456789
        grantTypes: [client_credentials]
        webhook: {url: "%s/hook", secret: s}
`, e.URL)
	if _, err := e.App.ApplyTenantFile(context.Background(), "t.yaml", []byte(file)); err == nil || !strings.Contains(err.Error(), "points at this server") {
		t.Fatalf("self webhook accepted: %v", err)
	}
	bad := strings.Replace(file, e.URL+"/hook", "ftp://example.com/x", 1)
	if _, err := e.App.ApplyTenantFile(context.Background(), "t.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "webhook.url") {
		t.Fatalf("ftp webhook accepted: %v", err)
	}
	ok := strings.Replace(file, e.URL+"/hook", "https://hooks.example.com/x", 1)
	if _, err := e.App.ApplyTenantFile(context.Background(), "t.yaml", []byte(ok)); err != nil {
		t.Fatalf("good webhook refused: %v", err)
	}
	if err := event.SetWebhook(context.Background(), e.App.DB, "acme.web", e.URL, "s", []string{e.URL}, time.Now()); err == nil {
		t.Error("SetWebhook accepted the server itself")
	}
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// receiver is a webhook endpoint whose answer a test scripts.
func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *httptest.Server {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		answer(int(n.Add(1)-1), w)
	}))
	t.Cleanup(srv.Close)
	return srv
}
