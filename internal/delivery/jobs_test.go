package delivery_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// TestVacationStopThroughJobs: a planned temporary stop begins and ends
// through the jobs (vacationStopPolicy extend): while it runs the paid
// period's end moves later by the stopped days and access continues to it;
// a running stop cannot be removed; the next stop is planned once the
// subscription is active again.
func TestVacationStopThroughJobs(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, day("2025-01-10").Add(10*time.Hour), "")
		alice := e.newUser(t, 7201, "alice@firm.no")
		e.start(t, alice.customer, "PAPER", "2025-01-01", 0)
		first := e.stops(t, "POST", registerPath, alice.token, temporary("PAPER", "2025-01-20", "2025-01-25"))[0]

		e.clock.Set(day("2025-01-19").Add(12 * time.Hour))
		e.jobs(t)
		if s := e.subscription(t, alice.token, "PAPER"); s.Paused || e.access(t, alice.token, "PAPER") != "A" {
			t.Fatalf("before the stop: %+v", s)
		}
		e.clock.Set(day("2025-01-20").Add(6 * time.Hour))
		e.jobs(t)
		s := e.subscription(t, alice.token, "PAPER")
		if !s.Paused || s.EndTime != lastSecond("2025-02-06") { // 31 January + 6 stopped days
			t.Fatalf("stop begun: %+v (end %v)", s, time.UnixMilli(s.EndTime).In(oslo))
		}
		if a := e.access(t, alice.token, "PAPER"); a != "B until 2025-02-06" {
			t.Errorf("access during the stop = %s", a)
		}
		if st, m := e.call(t, "POST", fmt.Sprintf("/capi/v1/product/stop/delivery/delete/%d", first.ID), alice.token, ""); st != 400 {
			t.Errorf("removing a running stop: %d %v", st, m)
		}
		// A second stop registered while the first runs waits for its turn.
		e.stops(t, "POST", registerPath, alice.token, temporary("PAPER", "2025-02-03", "2025-02-04"))

		e.clock.Set(day("2025-01-26").Add(6 * time.Hour))
		e.jobs(t)
		s = e.subscription(t, alice.token, "PAPER")
		if s.Paused || s.EndTime != lastSecond("2025-02-06") || s.PauseFrom != day("2025-02-03").UnixMilli() || s.StartTime != day("2025-01-01").UnixMilli() {
			t.Fatalf("resumed, next stop planned: %+v", s)
		}
		if a := e.access(t, alice.token, "PAPER"); a != "A" {
			t.Errorf("access after the stop = %s", a)
		}
		e.clock.Set(day("2025-02-03").Add(6 * time.Hour))
		e.jobs(t)
		if s = e.subscription(t, alice.token, "PAPER"); !s.Paused || s.EndTime != lastSecond("2025-02-08") {
			t.Fatalf("second stop begun: %+v", s)
		}
		e.clock.Set(day("2025-02-05").Add(6 * time.Hour))
		e.jobs(t)
		// The free subscription renews from the moved end: 9 February on.
		e.clock.Set(day("2025-02-09").Add(6 * time.Hour))
		e.jobs(t)
		if s = e.subscription(t, alice.token, "PAPER"); s.Paused || s.EndTime != lastSecond("2025-03-08") {
			t.Errorf("renewed after the stops: %+v (end %v)", s, time.UnixMilli(s.EndTime).In(oslo))
		}
		list := e.stops(t, "GET", "/capi/v1/product/stop/delivery/PAPER", alice.token, "")
		if len(list) != 2 {
			t.Errorf("ended stops stay listed: %+v", list)
		}
		// The moved end is announced as a renewal (spec: subscription/renew with the new periodEnd).
		if got := e.events(t); got != "start,renew,pause,resume,renew,pause,resume,renew" {
			t.Errorf("events = %s", got)
		}
		var data string
		_ = e.App.DB.QueryRow(`SELECT data FROM event_outbox WHERE type = 'subscription' AND status = 'renew' ORDER BY id LIMIT 1`).Scan(&data)
		if !strings.Contains(data, fmt.Sprintf(`"periodEnd":%d`, lastSecond("2025-02-06"))) {
			t.Errorf("renew event data = %s", data)
		}
	})
}

// TestVacationStopPolicies: with vacationStopPolicy none a stop that outlasts
// the paid period keeps access only until the period ends, and the
// subscription starts a new run on the resume day (nothing is billed for
// the days between); with credit, the stopped paid days are credited.
func TestVacationStopPolicies(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, day("2025-01-10").Add(10*time.Hour), settingsYAML("{vacationStopPolicy: none}"))
		alice := e.newUser(t, 7301, "alice@firm.no")
		e.start(t, alice.customer, "PAPER", "2025-01-01", 0)
		e.stops(t, "POST", registerPath, alice.token, temporary("PAPER", "2025-01-25", "2025-02-09"))
		e.clock.Set(day("2025-01-25").Add(6 * time.Hour))
		e.jobs(t)
		if a := e.access(t, alice.token, "PAPER"); a != "B until 2025-01-31" {
			t.Errorf("paused inside the paid period: %s", a)
		}
		e.clock.Set(day("2025-02-02").Add(6 * time.Hour))
		e.jobs(t)
		if a := e.access(t, alice.token, "PAPER"); a != "D" {
			t.Errorf("paused after the paid period: %s", a)
		}
		e.clock.Set(day("2025-02-10").Add(6 * time.Hour))
		e.jobs(t)
		s := e.subscription(t, alice.token, "PAPER")
		if s.Paused || s.StartTime != day("2025-02-10").UnixMilli() || s.EndTime != lastSecond("2025-03-09") || e.access(t, alice.token, "PAPER") != "A" {
			t.Errorf("resumed after the paid period: %+v", s)
		}

		// credit: the paid days of the stop are recorded for the next invoice.
		e2 := newEnv(t, d, day("2025-01-10").Add(10*time.Hour), settingsYAML("{vacationStopPolicy: credit}"))
		bob := e2.newUser(t, 7302, "bob@firm.no")
		e2.start(t, bob.customer, "PAPER", "2025-01-01", 31000) // 310 kr for 31 days
		e2.stops(t, "POST", registerPath, bob.token, temporary("PAPER", "2025-01-28", "2025-02-05"))
		e2.clock.Set(day("2025-01-28").Add(6 * time.Hour))
		e2.jobs(t)
		list := e2.stops(t, "GET", "/capi/v1/product/stop/delivery/PAPER", bob.token, "")
		if len(list) != 1 || list[0].CreditDays != 4 || list[0].CreditAmount != 40 {
			t.Errorf("credit for 28–31 January: %+v", list)
		}
		if s := e2.subscription(t, bob.token, "PAPER"); s.EndTime != lastSecond("2025-01-31") {
			t.Errorf("credit does not extend: %+v", s)
		}
	})
}

// TestPermanentStopAsRequested: a subscription started on invoice
// (allowInvoiceStart) and stopped as requested inside its period ends the
// day before the stop; when the stop begins the unused paid days of the
// period's invoice are credited.
func TestPermanentStopAsRequested(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, day("2025-01-10").Add(10*time.Hour), settingsYAML("{permanentStopPolicy: asRequested, allowInvoiceStart: true}"))
		alice := e.newUser(t, 7401, "alice@firm.no")
		// PAPER/1: 449 kr for three months, on invoice.
		if st, m := e.call(t, "POST", "/capi/v1/subscription", alice.token, `{"product":"PAPER","couponCode":"PAPER","couponNumber":1}`); st != 200 || m["status"] != "OK" {
			t.Fatalf("start on invoice: %d %v", st, m)
		}
		var invoices, amount int64
		_ = e.App.DB.QueryRow(`SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM invoices WHERE customer_number = $1 AND kind = 'invoice'`, alice.customer).Scan(&invoices, &amount)
		if invoices != 1 || amount != 44900 {
			t.Fatalf("start invoice: %d invoices, %d øre", invoices, amount)
		}
		s := e.subscription(t, alice.token, "PAPER")
		if s.Paid || s.StartTime != day("2025-01-10").UnixMilli() || s.EndTime != lastSecond("2025-04-09") || e.access(t, alice.token, "NEWS") != "A" {
			t.Fatalf("started: %+v", s)
		}
		list := e.stops(t, "POST", registerPath, alice.token, permanent("PAPER", "2025-02-10"))
		if len(list) != 1 || list[0].StopTime != day("2025-02-10").UnixMilli() || list[0].RequestedStopTime != 0 {
			t.Fatalf("as requested: %+v", list)
		}
		if a := e.access(t, alice.token, "PAPER"); a != "B until 2025-02-09" {
			t.Errorf("access after the stop = %s", a)
		}
		e.clock.Set(day("2025-02-10").Add(6 * time.Hour))
		e.jobs(t)
		if a := e.access(t, alice.token, "PAPER"); a != "D" {
			t.Errorf("access after the end = %s", a)
		}
		list = e.stops(t, "GET", "/capi/v1/product/stop/delivery/PAPER", alice.token, "")
		// 10 February – 9 April: 59 of 90 days of 449 kr.
		if len(list) != 1 || list[0].CreditDays != 59 || list[0].CreditAmount != 294.34 {
			t.Errorf("credited: %+v", list)
		}
		var credited int64
		_ = e.App.DB.QueryRow(`SELECT credited_amount FROM invoices WHERE customer_number = $1 AND kind = 'invoice'`, alice.customer).Scan(&credited)
		if credited != 29434 {
			t.Errorf("invoice credited %d øre", credited)
		}
		if got := e.events(t); !strings.HasPrefix(got, "start,stop") || !strings.HasSuffix(got, "expire") {
			t.Errorf("events = %s", got)
		}
	})
}
