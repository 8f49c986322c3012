package main

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/app"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/tenant"
)

func TestEventsCommands(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		dsn := storetest.NewDSN(t, d)
		if out, err := runCmd(t, "demo", "--db", dsn); err != nil {
			t.Fatalf("demo: %s %v", out, err)
		}
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
		defer down.Close()
		ctx := context.Background()
		a, err := app.Open(ctx, app.Config{DatabaseURL: dsn, PublicURL: "http://127.0.0.1:1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			DeliverEvents: true, Events: event.Config{MaxAttempts: 1, PollInterval: 10 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if err := event.SetWebhook(ctx, a.DB, "demo.web", down.URL, "k", nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		company, _ := tenant.GetCompanyByCode(ctx, a.DB, "DEMO")
		var id string
		a.DB.Tx(ctx, func(tx *sql.Tx) error {
			id, err = event.Record(ctx, tx, event.Event{CompanyID: company.ID, Source: "DEMO", Type: "order", Status: "new", Data: map[string]int{"orderId": 1}})
			return err
		})
		deadline := time.Now().Add(20 * time.Second)
		for {
			out, err := runCmd(t, "events", "failed", "--db", dsn, "--company", "DEMO")
			if err != nil {
				t.Fatalf("events failed: %s %v", out, err)
			}
			if strings.Contains(out, id) && strings.Contains(out, "HTTP 500") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("failed delivery not listed: %s", out)
			}
			time.Sleep(20 * time.Millisecond) // polling with a deadline
		}
		if out, err := runCmd(t, "events", "replay", "--db", dsn, "--id", id); err != nil || !strings.Contains(out, "queued again for 1 endpoints") {
			t.Fatalf("replay --id: %s %v", out, err)
		}
		for _, bad := range [][]string{{"events"}, {"events", "replay"}, {"events", "replay", "--id", id, "--all-failed"}, {"events", "frob"},
			{"events", "failed", "--company", "NOPE"}, {"events", "replay", "--id", "zz"}} {
			if out, err := runCmd(t, append(bad, "--db", dsn)...); err == nil {
				t.Errorf("%v: accepted: %s", bad, out)
			}
		}
		out, err := runCmd(t, "events", "replay", "--all-failed", "--db", dsn)
		if err != nil || !strings.Contains(out, "failed deliveries queued again") {
			t.Fatalf("replay --all-failed: %s %v", out, err)
		}
	})
}
