package delivery_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/examples"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/testkit"
)

// TestAccessStory is the demo of issue 6 (examples/access-story.sh runs the
// same story with curl): on the demo tenant, demo@example.com starts Demo
// Pluss, shares it with other@example.com, goes on holiday (a vacation
// stop: the subscription is paused, then resumed), cancels (a permanent
// stop), changes their mind, cancels again, and the subscription ends.
// Every step is an API call with real tokens on a business clock, and the
// jobs run where time passes; the log is the timeline of both users' access
// to PLUSS (A: open, B: until a date, D: none).
func TestAccessStory(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		clock := testkit.NewClock(day("2025-03-03").Add(9 * time.Hour))
		e := &env{Env: testkit.New(t, d, testkit.WithClock(clock)), clock: clock}
		if _, err := e.App.ApplyTenantFile(context.Background(), "demo-tenant.yaml", examples.DemoTenant); err != nil {
			t.Fatal(err)
		}
		login := func(credential, password string) string {
			verifier, challenge := testkit.PKCE()
			code := e.NewBrowser().Login(testkit.AuthorizeURL("demo.web", testkit.RedirectURI, "access-story", challenge, "read"), credential, password)
			res, tok := e.Exchange("demo.web", "demo-secret", code, testkit.RedirectURI, verifier)
			if res.Status != 200 {
				t.Fatalf("login %s: %d %s", credential, res.Status, res.Body)
			}
			return tok.AccessToken
		}
		owner, friend := login("demo@example.com", "demo-password"), login("other@example.com", "other-password")

		// state is the owner's subscription as subscription-list shows it.
		state := func() string {
			res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/subscription", Token: owner, Accept: "application/json"})
			var out struct{ Subscriptions []sub }
			res.JSON(t, &out)
			for _, s := range out.Subscriptions {
				if s.Product != "PLUSS" {
					continue
				}
				end := time.UnixMilli(s.EndTime).In(oslo).Format("01-02")
				switch {
				case s.Stopped:
					return "stopped, to " + end
				case s.Paused:
					return "paused, paid to " + end
				}
				return "active, paid to " + end
			}
			return "none"
		}
		t.Logf("%-10s  %-55s  %-21s  %-18s  %s", "date", "step", "owner's subscription", "owner PLUSS", "friend PLUSS")
		step := func(date, what, wantOwner, wantFriend string, action func()) {
			t.Helper()
			clock.Set(day(date).Add(9 * time.Hour))
			if action != nil {
				action()
			}
			gotOwner, gotFriend := e.access(t, owner, "PLUSS"), e.access(t, friend, "PLUSS")
			t.Logf("%-10s  %-55s  %-21s  %-18s  %s", date, what, state(), gotOwner, gotFriend)
			if gotOwner != wantOwner || gotFriend != wantFriend {
				t.Errorf("%s %s: owner %s, friend %s; want %s, %s", date, what, gotOwner, gotFriend, wantOwner, wantFriend)
			}
		}
		ok := func(method, path, token, body string) map[string]any {
			t.Helper()
			st, m := e.call(t, method, path, token, body)
			if st != 200 {
				t.Fatalf("%s %s %s: %d %v", method, path, body, st, m)
			}
			return m
		}
		var permanentID int64

		step("2025-03-03", "before: the owner has no Demo Pluss", "D", "D", nil)
		step("2025-03-03", "owner starts Demo Pluss (free month to 2025-04-02)", "A", "D", func() {
			ok("POST", "/capi/v1/subscription", owner, `{"product":"PLUSS","couponCode":"PLUSSFRI","couponNumber":1}`)
		})
		step("2025-03-03", "owner shares it with other@example.com, who accepts", "A", "A", func() {
			m := ok("POST", "/capi/v1/subscription/share/invitation", owner, `{"contact":"other@example.com","contactType":"A","productCode":"PLUSS"}`)
			code, _ := m["shareCode"].(string)
			if m := ok("PATCH", "/capi/v1/subscription/share/invitation", friend, fmt.Sprintf(`{"shareCode":%q,"changeType":"ACCEPT"}`, code)); m["status"] != "SHARE_OK" {
				t.Fatalf("accept: %v", m)
			}
		})
		step("2025-03-04", "owner registers a vacation stop 13–19 March", "A", "A", func() {
			e.stops(t, "POST", registerPath, owner, temporary("PLUSS", "2025-03-13", "2025-03-19"))
			if s := e.subscription(t, owner, "PLUSS"); s.PauseFrom != day("2025-03-13").UnixMilli() || s.Paused {
				t.Errorf("planned pause: %+v", s)
			}
		})
		step("2025-03-13", "jobs: the stop begins; paused, paid period +7 days", "B until 2025-04-09", "B until 2025-04-09", func() {
			e.jobs(t)
			if s := e.subscription(t, owner, "PLUSS"); !s.Paused || s.EndTime != lastSecond("2025-04-09") {
				t.Errorf("paused: %+v", s)
			}
		})
		step("2025-03-14", "a running stop cannot be removed (400)", "B until 2025-04-09", "B until 2025-04-09", func() {
			list := e.stops(t, "GET", "/capi/v1/product/stop/delivery/PLUSS", owner, "")
			if st, _ := e.call(t, "POST", fmt.Sprintf("/capi/v1/product/stop/delivery/delete/%d", list[0].ID), owner, ""); st != 400 {
				t.Errorf("removing the running stop: %d", st)
			}
		})
		step("2025-03-20", "jobs: the stop ends; resumed", "A", "A", func() { e.jobs(t) })
		step("2025-03-24", "owner cancels from 31 March: moved past the paid period", "B until 2025-04-09", "B until 2025-04-09", func() {
			list := e.stops(t, "POST", registerPath, owner, permanent("PLUSS", "2025-03-31"))
			last := list[len(list)-1]
			if last.StopType != "permanent" || last.StopTime != day("2025-04-10").UnixMilli() || last.RequestedStopTime != day("2025-03-31").UnixMilli() {
				t.Errorf("permanent stop: %+v", list)
			}
			permanentID = last.ID
		})
		step("2025-03-25", "owner changes their mind: removes the stop", "A", "A", func() {
			e.stops(t, "POST", fmt.Sprintf("/capi/v1/product/stop/delivery/delete/%d", permanentID), owner, "")
		})
		step("2025-03-26", "owner cancels again", "B until 2025-04-09", "B until 2025-04-09", func() {
			e.stops(t, "POST", registerPath, owner, permanent("PLUSS", "2025-03-31"))
		})
		step("2025-04-09", "jobs: last day of access", "B until 2025-04-09", "B until 2025-04-09", func() { e.jobs(t) })
		step("2025-04-10", "jobs: the subscription ends, and the share with it", "D", "D", func() {
			e.jobs(t)
			if s := e.subscription(t, owner, "PLUSS"); !s.Stopped {
				t.Errorf("ended: %+v", s)
			}
			if st, m := e.call(t, "GET", "/capi/v1/subscription/shared", friend, ""); st != 200 || len(m["subscriptions"].([]any)) != 0 {
				t.Errorf("shared list after the end: %d %v", st, m)
			}
		})
		if got := eventsOf(t, e, "DEMO"); got != "start,renew,pause,resume,stop,stop_reset,stop,expire" {
			t.Errorf("subscription events = %s", got)
		}
	})
}

// eventsOf lists the statuses of a company's subscription events, in order.
func eventsOf(t *testing.T, e *env, companyCode string) string {
	t.Helper()
	rows, err := e.App.DB.Query(`SELECT o.status FROM event_outbox o JOIN companies c ON c.id = o.company_id
		WHERE c.code = $1 AND o.type = 'subscription' ORDER BY o.id`, companyCode)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return strings.Join(out, ",")
}
