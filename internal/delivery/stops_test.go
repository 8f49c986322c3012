package delivery_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/testkit"
)

const registerPath = "/capi/v1/product/stop/delivery"

// TestDeliveryStopRules: validation, lead days, longest stop, overlaps, the
// earliest stop holding the subscription's pause, removal and who may see
// and remove what.
func TestDeliveryStopRules(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, day("2025-01-10").Add(10*time.Hour), settingsYAML("{stopLeadDays: 2, maxTemporaryStopDays: 30}"))
		alice := e.newUser(t, 7001, "alice@firm.no")
		bob := e.newUser(t, 7002, "bob@firm.no")
		e.start(t, alice.customer, "PAPER", "2025-01-01", 44900)
		e.start(t, alice.customer, "NEWS", "2025-01-01", 19900)

		for _, tc := range []struct {
			name, token, body string
			status            int
			field             string
		}{
			{"empty body", alice.token, `{}`, 400, "product"},
			{"no stopType", alice.token, `{"deliveryStop":{"product":"PAPER","stopTime":"2025-01-20"}}`, 400, "stopType"},
			{"unknown stopType", alice.token, `{"deliveryStop":{"product":"PAPER","stopTime":"2025-01-20","stopEndTime":"2025-01-22","stopType":"vacation"}}`, 400, "stopType"},
			{"no stopTime", alice.token, `{"deliveryStop":{"product":"PAPER","stopEndTime":"2025-01-22","stopType":"temporary"}}`, 400, "stopTime"},
			{"bad stopTime", alice.token, `{"deliveryStop":{"product":"PAPER","stopTime":"soon","stopEndTime":"2025-01-22","stopType":"temporary"}}`, 400, "stopTime"},
			{"temporary without end", alice.token, `{"deliveryStop":{"product":"PAPER","stopTime":"2025-01-20","stopType":"temporary"}}`, 400, "stopEndTime"},
			{"inside the lead days", alice.token, temporary("PAPER", "2025-01-11", "2025-01-12"), 400, "stopTime"},
			{"end before start", alice.token, temporary("PAPER", "2025-01-20", "2025-01-19"), 400, "stopEndTime"},
			{"longer than 30 days", alice.token, temporary("PAPER", "2025-01-20", "2025-02-19"), 400, "stopEndTime"},
			{"digital product", alice.token, temporary("NEWS", "2025-01-20", "2025-01-22"), 400, "product"},
			{"no subscription", alice.token, temporary("BOOK1", "2025-01-20", "2025-01-22"), 400, "product"},
			{"someone else's product", bob.token, temporary("PAPER", "2025-01-20", "2025-01-22"), 400, "product"},
			{"unknown product", alice.token, temporary("NOPE", "2025-01-20", "2025-01-22"), 404, ""},
			{"product too long", alice.token, temporary("PAPERPAPERPAPER", "2025-01-20", "2025-01-22"), 400, "product"},
			{"channel too long", alice.token, `{"deliveryStop":{"product":"PAPER","stopTime":"2025-01-20","stopEndTime":"2025-01-22","stopType":"temporary","deliveryStopChannel":"A-VERY-LONG-CHANNEL"}}`, 400, "deliveryStopChannel"},
			{"client token", e.ClientToken(), temporary("PAPER", "2025-01-20", "2025-01-22"), 403, ""},
		} {
			st, m := e.call(t, "POST", registerPath, tc.token, tc.body)
			if st != tc.status {
				t.Errorf("%s: %d %v", tc.name, st, m)
				continue
			}
			if msg, _ := m["errorMessage"].(string); tc.field != "" && !strings.HasPrefix(msg, tc.field+":") && !strings.Contains(msg, "."+tc.field+":") {
				t.Errorf("%s: errorMessage %q does not name %s", tc.name, msg, tc.field)
			}
		}
		var rows int
		_ = e.App.DB.QueryRow(`SELECT COUNT(*) FROM delivery_stops`).Scan(&rows)
		if rows != 0 {
			t.Fatalf("refused stops left %d rows", rows)
		}

		// A stop from the first allowed day (today + 2), unwrapped, times as epoch ms.
		list := e.stops(t, "POST", registerPath, alice.token, fmt.Sprintf(`{"product":"PAPER","stopTime":%d,"stopEndTime":%d,"stopType":"temporary","deliveryStopReason":"BS"}`,
			day("2025-01-20").Add(15*time.Hour).UnixMilli(), day("2025-01-25").Add(time.Hour).UnixMilli()))
		if len(list) != 1 || list[0].StopTime != day("2025-01-20").UnixMilli() || list[0].StopEndTime != lastSecond("2025-01-25") ||
			list[0].Channel != "WEB" || list[0].Reason != "BS" || list[0].StopType != "temporary" || list[0].ID == 0 {
			t.Fatalf("registered: %+v", list)
		}
		first := list[0].ID
		if s := e.subscription(t, alice.token, "PAPER"); s.PauseFrom != day("2025-01-20").UnixMilli() || s.PauseUntil != day("2025-01-26").UnixMilli() || s.Paused {
			t.Errorf("planned pause: %+v", s)
		}
		// Overlaps are refused; a stop right after is fine.
		if st, m := e.call(t, "POST", registerPath, alice.token, temporary("PAPER", "2025-01-24", "2025-01-28")); st != 400 ||
			!strings.Contains(fmt.Sprint(m["errorMessage"]), fmt.Sprintf("overlaps delivery stop %d", first)) {
			t.Errorf("overlap: %d %v", st, m)
		}
		if got := e.stops(t, "POST", registerPath, alice.token, temporary("PAPER", "2025-01-26", "2025-01-27")); len(got) != 2 {
			t.Errorf("adjacent stop: %+v", got)
		}
		// An earlier stop takes the subscription's pause; the later ones wait.
		list = e.stops(t, "POST", registerPath, alice.token, temporary("PAPER", "2025-01-13", "2025-01-14"))
		if len(list) != 3 || list[0].StopTime != day("2025-01-13").UnixMilli() {
			t.Fatalf("by stopTime: %+v", list)
		}
		early := list[0].ID
		if s := e.subscription(t, alice.token, "PAPER"); s.PauseFrom != day("2025-01-13").UnixMilli() || s.PauseUntil != day("2025-01-15").UnixMilli() {
			t.Errorf("earliest stop not planned: %+v", s)
		}

		// XML in and out.
		res := e.Call(testkit.Request{Method: "POST", Path: registerPath, Token: alice.token, ContentType: "application/xml", Accept: "application/xml",
			Body: `<data><deliveryStop><product>PAPER</product><stopTime>2025-02-10</stopTime><stopEndTime>2025-02-12</stopEndTime><stopType>temporary</stopType><deliveryStopChannel>EMAIL</deliveryStopChannel></deliveryStop></data>`})
		if res.Status != 200 || !strings.Contains(string(res.Body), "<deliveryStops><deliveryStop><id>") ||
			!strings.Contains(string(res.Body), fmt.Sprintf("<stopTime>%d</stopTime><stopEndTime>%d</stopEndTime><stopType>temporary</stopType><deliveryStopChannel>EMAIL</deliveryStopChannel>",
				day("2025-02-10").UnixMilli(), lastSecond("2025-02-12"))) {
			t.Errorf("xml register: %d %s", res.Status, res.Body)
		}
		res = e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/product/stop/delivery/PAPER", Token: alice.token, Accept: "application/xml"})
		if res.Status != 200 || strings.Count(string(res.Body), "<deliveryStop>") != 4 {
			t.Errorf("xml list: %d %s", res.Status, res.Body)
		}

		// Lists: the product must be the company's; no subscription, no stops.
		if got := e.stops(t, "GET", "/capi/v1/product/stop/delivery/PAPER", alice.token, ""); len(got) != 4 {
			t.Errorf("list: %+v", got)
		}
		if got := e.stops(t, "GET", "/capi/v1/product/stop/delivery/NEWS", alice.token, ""); len(got) != 0 {
			t.Errorf("NEWS list: %+v", got)
		}
		if got := e.stops(t, "GET", "/capi/v1/product/stop/delivery/PAPER", bob.token, ""); len(got) != 0 {
			t.Errorf("bob sees %+v", got)
		}
		for path, want := range map[string]int{"/capi/v1/product/stop/delivery/NOPE": 404, "/capi/v1/product/stop/delivery/BAD%20CODE": 400} {
			if st, m := e.call(t, "GET", path, alice.token, ""); st != want {
				t.Errorf("GET %s: %d %v", path, st, m)
			}
		}

		// Removal: only the customer's own stop, by a positive id.
		remove := func(id any) string { return fmt.Sprintf("/capi/v1/product/stop/delivery/delete/%v", id) }
		for _, tc := range []struct {
			name, path, token string
			status            int
		}{
			{"another customer's stop", remove(early), bob.token, 404},
			{"unknown id", remove(987654), alice.token, 404},
			{"malformed id", remove("abc"), alice.token, 400},
			{"negative id", remove(-3), alice.token, 400},
			{"client token", remove(early), e.ClientToken(), 403},
		} {
			if st, m := e.call(t, "POST", tc.path, tc.token, ""); st != tc.status {
				t.Errorf("remove, %s: %d %v", tc.name, st, m)
			}
		}
		list = e.stops(t, "POST", remove(early), alice.token, "")
		if len(list) != 3 || list[0].ID != first {
			t.Errorf("after removal: %+v", list)
		}
		if s := e.subscription(t, alice.token, "PAPER"); s.PauseFrom != day("2025-01-20").UnixMilli() {
			t.Errorf("the next stop should hold the pause again: %+v", s)
		}
		if st, _ := e.call(t, "POST", remove(early), alice.token, ""); st != 404 {
			t.Errorf("removing twice: %d", st)
		}

		// One permanent stop: endOfPeriod moves a stop inside the paid period
		// (January) to the day after it, and later vacation stops go.
		list = e.stops(t, "POST", registerPath, alice.token, permanent("PAPER", "2025-01-25"))
		var perm stop
		for _, s := range list {
			if s.StopType == "permanent" {
				perm = s
			}
		}
		if perm.StopTime != day("2025-02-01").UnixMilli() || perm.RequestedStopTime != day("2025-01-25").UnixMilli() || len(list) != 3 {
			t.Fatalf("permanent stop: %+v", list)
		}
		s := e.subscription(t, alice.token, "PAPER")
		if !s.Stopped || s.StopTime != day("2025-02-01").UnixMilli() || s.EndTime != lastSecond("2025-01-31") || s.PauseFrom != 0 {
			t.Errorf("stopped subscription: %+v", s)
		}
		if a := e.access(t, alice.token, "PAPER"); a != "B until 2025-01-31" {
			t.Errorf("access after the stop = %s", a)
		}
		if st, m := e.call(t, "POST", registerPath, alice.token, permanent("PAPER", "2025-01-28")); st != 400 {
			t.Errorf("second permanent stop: %d %v", st, m)
		}
		if st, m := e.call(t, "POST", registerPath, alice.token, temporary("PAPER", "2025-01-30", "2025-02-03")); st != 400 {
			t.Errorf("vacation past the end: %d %v", st, m)
		}
		// Removing it undoes the stop (stop_reset) and the vacation stop holds the pause again.
		list = e.stops(t, "POST", remove(perm.ID), alice.token, "")
		if len(list) != 2 {
			t.Errorf("after removing the permanent stop: %+v", list)
		}
		s = e.subscription(t, alice.token, "PAPER")
		if s.Stopped || s.StopTime != 0 || s.EndTime != lastSecond("2025-01-31") || s.PauseFrom != day("2025-01-20").UnixMilli() {
			t.Errorf("after stop reset: %+v", s)
		}
		if a := e.access(t, alice.token, "PAPER"); a != "A" {
			t.Errorf("access after stop reset = %s", a)
		}
		if got := e.events(t); !strings.HasSuffix(got, ",stop,stop_reset") {
			t.Errorf("events = %s", got)
		}
		var audits int
		_ = e.App.DB.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'deliverystop.%'`).Scan(&audits)
		if audits != 7 { // 5 registered, 2 removed
			t.Errorf("audit rows = %d", audits)
		}
	})
}

// TestDeliveryStopListClient: a client lists a customer's stops of every
// product or of one; other companies' customers are not found.
func TestDeliveryStopListClient(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, day("2025-03-03").Add(9*time.Hour), "")
		alice := e.newUser(t, 7101, "alice@firm.no")
		e.start(t, alice.customer, "PAPER", "2025-03-01", 0)
		e.start(t, alice.customer, "NEWS", "2025-03-01", 0)
		e.stops(t, "POST", registerPath, alice.token, temporary("PAPER", "2025-03-20", "2025-03-22"))
		e.stops(t, "POST", registerPath, alice.token, temporary("PAPER", "2025-03-10", "2025-03-11"))
		e.stops(t, "POST", registerPath, alice.token, permanent("NEWS", "2025-03-15"))
		ct := e.ClientToken()
		path := fmt.Sprintf("/capi/v1/client/stop/delivery/%d", alice.customer)
		all := e.stops(t, "GET", path, ct, "")
		if len(all) != 3 || all[0].Product != "NEWS" || all[1].StopTime != day("2025-03-10").UnixMilli() || all[2].StopTime != day("2025-03-20").UnixMilli() {
			t.Errorf("all stops: %+v", all)
		}
		if got := e.stops(t, "GET", path+"?productCode=PAPER", ct, ""); len(got) != 2 || got[0].Product != "PAPER" {
			t.Errorf("PAPER stops: %+v", got)
		}
		rival := e.Token(testkit.RivalClientID, testkit.RivalSecret)
		for _, tc := range []struct {
			name, path, token string
			status            int
		}{
			{"another company's client", path, rival, 404},
			{"unknown customer", "/capi/v1/client/stop/delivery/987654321", ct, 404},
			{"malformed customer", "/capi/v1/client/stop/delivery/x1", ct, 400},
			{"unknown product", path + "?productCode=NOPE", ct, 404},
			{"malformed product", path + "?productCode=NO%20PE", ct, 400},
			{"user token", path, alice.token, 403},
		} {
			if st, m := e.call(t, "GET", tc.path, tc.token, ""); st != tc.status {
				t.Errorf("%s: %d %v", tc.name, st, m)
			}
		}
	})
}
