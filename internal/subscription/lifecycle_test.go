package subscription

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/value"
)

var oslo, _ = time.LoadLocation("Europe/Oslo")

func date(s string) time.Time { t, _ := time.ParseInLocation(dateLayout, s, oslo); return t }

func TestAddPeriods(t *testing.T) {
	tests := []struct {
		anchor string
		n, l   int
		typ    string
		want   string
	}{
		{"2024-01-31", 1, 1, Month, "2024-02-29"}, // leap year
		{"2023-01-31", 1, 1, Month, "2023-02-28"},
		{"2024-01-31", 2, 1, Month, "2024-03-31"}, // keeps the anchor's day
		{"2024-01-31", 3, 1, Month, "2024-04-30"},
		{"2024-02-29", 1, 1, Year, "2025-02-28"},
		{"2024-02-29", 4, 1, Year, "2028-02-29"},
		{"2024-12-15", 1, 1, Month, "2025-01-15"},
		{"2024-12-30", 1, 2, Week, "2025-01-13"},
		{"2024-02-28", 1, 1, Day, "2024-02-29"},
		{"2024-03-30", 1, 1, Day, "2024-03-31"}, // DST change day in Oslo
		{"2024-01-01", 1, 3, Month, "2024-04-01"},
	}
	for _, tt := range tests {
		got := addPeriods(date(tt.anchor), tt.n, tt.l, tt.typ).Format(dateLayout)
		if got != tt.want {
			t.Errorf("addPeriods(%s, %d×%d %s) = %s, want %s", tt.anchor, tt.n, tt.l, tt.typ, got, tt.want)
		}
	}
}

type env struct {
	db       *store.DB
	company  int64
	customer int64
	now      time.Time
}

func (e *env) ctx() context.Context {
	return WithClock(context.Background(), func() time.Time { return e.now })
}

func setup(t *testing.T, d store.Dialect) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, d, tenant.Migrations, audit.Migrations, event.Migrations, catalog.Migrations, customer.Migrations, Migrations)
	f := &tenant.File{Companies: []tenant.Company{{Code: "ACME", Name: "Acme", Country: "NO",
		Products: []tenant.ProductSpec{{Product: "DIGI", StartTime: "2020-01-01"}, {Product: "PLUS", StartTime: "2020-01-01"}}}}}
	if _, err := tenant.Apply(ctx, db, f, tenant.Sections{Products: catalog.ApplyProducts}, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	c, err := tenant.GetCompanyByCode(ctx, db, "ACME")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := customer.Generate(ctx, db, "ACME", 2); err != nil {
		t.Fatal(err)
	}
	return &env{db: db, company: c.ID, customer: 100001, now: date("2024-01-31").Add(10 * time.Hour)}
}

func (e *env) tx(t *testing.T, fn func(tx *sql.Tx) error) error {
	t.Helper()
	return e.db.Tx(e.ctx(), fn)
}

// access answers from the entitlement rows as the hot path does.
func (e *env) access(t *testing.T, customer int64, product string) bool {
	t.Helper()
	ents, err := loadEntitlements(e.ctx(), e.db, e.company, customer)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range ents {
		if en.Product == product && en.validAt(e.now.UnixMilli()) {
			return true
		}
	}
	return false
}

func TestStartRenewAndBoundaries(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := setup(t, d)
		var id int64
		err := e.tx(t, func(tx *sql.Tx) (err error) {
			id, err = Start(e.ctx(), tx, StartRequest{CompanyID: e.company, CustomerNumber: e.customer, ProductCode: "DIGI",
				StartDate: date("2024-01-31"), PeriodLength: 1, PeriodType: Month, Price: 19900, Paid: true, AccessProducts: []string{"PLUS"}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := load(e.ctx(), e.db, e.company, id)
		if want := time.Date(2024, 2, 28, 23, 59, 59, 0, oslo).UnixMilli(); s.EndTime != want || s.StartTime != date("2024-01-31").UnixMilli() {
			t.Fatalf("start/end = %v/%v", time.UnixMilli(s.StartTime), time.UnixMilli(s.EndTime))
		}
		if !e.access(t, e.customer, "DIGI") || !e.access(t, e.customer, "PLUS") || e.access(t, e.customer+1, "DIGI") {
			t.Fatal("access after start wrong")
		}
		// A second start on the same product conflicts.
		err = e.tx(t, func(tx *sql.Tx) error {
			_, err := Start(e.ctx(), tx, StartRequest{CompanyID: e.company, CustomerNumber: e.customer, ProductCode: "DIGI",
				StartDate: date("2024-02-01"), PeriodLength: 1, PeriodType: Month})
			return err
		})
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("second start: %v", err)
		}

		// Two renewals of the same period at once: one period.
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = e.db.Tx(e.ctx(), func(tx *sql.Tx) error {
					_, err := Renew(e.ctx(), tx, e.company, id, s.EndTime, true)
					return err
				})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			if err == nil {
				ok++
			} else if !errs.Is(err, errs.Conflict) {
				t.Fatalf("renew: %v", err)
			}
		}
		s2, _ := load(e.ctx(), e.db, e.company, id)
		if ok != 1 || s2.Periods != 2 || s2.EndTime != time.Date(2024, 3, 30, 23, 59, 59, 0, oslo).UnixMilli() {
			t.Fatalf("after concurrent renew: ok=%d periods=%d end=%v", ok, s2.Periods, time.UnixMilli(s2.EndTime).In(oslo))
		}

		// Stop at the end of the paid period: access through 23:59:59.999 on 30 March, none a second later.
		if err := e.tx(t, func(tx *sql.Tx) error { return Stop(e.ctx(), tx, e.company, id, time.Time{}) }); err != nil {
			t.Fatal(err)
		}
		e.now = time.Date(2024, 3, 30, 23, 59, 59, 999e6, oslo)
		if !e.access(t, e.customer, "DIGI") {
			t.Error("no access in the last second of the paid day")
		}
		e.now = time.Date(2024, 3, 31, 0, 0, 0, 0, oslo)
		if e.access(t, e.customer, "DIGI") {
			t.Error("access on the first second after")
		}
		// Start again on a stopped subscription: stop reset.
		e.now = date("2024-03-20")
		err = e.tx(t, func(tx *sql.Tx) error {
			got, err := Start(e.ctx(), tx, StartRequest{CompanyID: e.company, CustomerNumber: e.customer, ProductCode: "DIGI",
				StartDate: date("2024-03-20"), PeriodLength: 1, PeriodType: Month})
			if got != id {
				t.Errorf("stop reset id = %d, want %d", got, id)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var events int
		_ = e.db.QueryRow(`SELECT COUNT(*) FROM event_outbox WHERE type = 'subscription'`).Scan(&events)
		var audits int
		_ = e.db.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'subscription.%'`).Scan(&audits)
		if events != 4 || audits != 4 { // start, renew, stop, stop_reset
			t.Errorf("events, audits = %d, %d; want 4, 4", events, audits)
		}
	})
}

func TestPauseResume(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := setup(t, d)
		e.now = date("2024-02-10").Add(time.Hour)
		var id int64
		err := e.tx(t, func(tx *sql.Tx) (err error) {
			id, err = Start(e.ctx(), tx, StartRequest{CompanyID: e.company, CustomerNumber: e.customer, ProductCode: "DIGI",
				StartDate: date("2024-02-10"), PeriodLength: 14, PeriodType: Day, Paid: true})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// Plan a pause from 1 March to 15 March (the first free period ends
		// 23 February; daily runs renew it to 8 March before the pause).
		if err := e.tx(t, func(tx *sql.Tx) error {
			return Pause(e.ctx(), tx, e.company, id, date("2024-03-01"), date("2024-03-15"), false)
		}); err != nil {
			t.Fatal(err)
		}
		e.now = date("2024-02-29").Add(23 * time.Hour)
		if !e.access(t, e.customer, "DIGI") {
			t.Error("no access before the planned pause")
		}
		e.now = date("2024-03-01")
		if n, err := Advance(e.ctx(), e.db); err != nil || n != 2 {
			t.Fatalf("advance (renew, pause): %d %v", n, err)
		}
		s, _ := load(e.ctx(), e.db, e.company, id)
		if s.Status != StatusPaused || s.Periods != 2 || s.EndTime != time.Date(2024, 3, 8, 23, 59, 59, 0, oslo).UnixMilli() {
			t.Fatalf("paused: %s periods %d end %v", s.Status, s.Periods, time.UnixMilli(s.EndTime).In(oslo))
		}
		if !e.access(t, e.customer, "DIGI") {
			t.Error("no access in the paid days of the pause")
		}
		e.now = date("2024-03-10")
		if e.access(t, e.customer, "DIGI") {
			t.Error("access after the paid period, during the pause")
		}
		e.now = date("2024-03-15").Add(time.Minute)
		if _, err := Advance(e.ctx(), e.db); err != nil {
			t.Fatal(err)
		}
		s, _ = load(e.ctx(), e.db, e.company, id)
		if s.Status != StatusActive || s.StartTime != date("2024-03-15").UnixMilli() || !e.access(t, e.customer, "DIGI") ||
			s.Periods != 3 || s.EndTime != time.Date(2024, 3, 28, 23, 59, 59, 0, oslo).UnixMilli() {
			t.Errorf("after resume: %s start %v end %v periods %d access %v", s.Status, time.UnixMilli(s.StartTime).In(oslo),
				time.UnixMilli(s.EndTime).In(oslo), s.Periods, e.access(t, e.customer, "DIGI"))
		}
		// Bad input: a pause in the past.
		err = e.tx(t, func(tx *sql.Tx) error {
			return Pause(e.ctx(), tx, e.company, id, date("2024-03-01"), time.Time{}, false)
		})
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("pause in the past: %v", err)
		}
	})
}

// TestPauseExtends: a pause with extend that begins inside a paid period
// moves its end later by the paused days; renewals follow the moved end.
func TestPauseExtends(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := setup(t, d)
		e.now = date("2024-02-10").Add(time.Hour)
		var id int64
		err := e.tx(t, func(tx *sql.Tx) (err error) {
			id, err = Start(e.ctx(), tx, StartRequest{CompanyID: e.company, CustomerNumber: e.customer, ProductCode: "DIGI",
				StartDate: date("2024-02-10"), PeriodLength: 1, PeriodType: Month, Price: 19900, Paid: true})
			if err != nil {
				return err
			}
			// Stopped 20–29 February: 10 days; resume day 1 March.
			return Pause(e.ctx(), tx, e.company, id, date("2024-02-20"), date("2024-03-01"), true)
		})
		if err != nil {
			t.Fatal(err)
		}
		// Renewals ignore a pause that begins after the next period starts only.
		e.now = date("2024-02-20").Add(time.Hour)
		if _, err := Advance(e.ctx(), e.db); err != nil {
			t.Fatal(err)
		}
		s, _ := load(e.ctx(), e.db, e.company, id)
		wantEnd := time.Date(2024, 3, 19, 23, 59, 59, 0, oslo).UnixMilli() // 9 March + 10 days
		if s.Status != StatusPaused || s.EndTime != wantEnd || s.AnchorDate != "2024-03-20" || s.AnchorPeriod != 2 {
			t.Fatalf("begun: %s end %v anchor %s/%d", s.Status, time.UnixMilli(s.EndTime).In(oslo), s.AnchorDate, s.AnchorPeriod)
		}
		if !e.access(t, e.customer, "DIGI") {
			t.Error("no access during a paid pause")
		}
		e.now = date("2024-03-01").Add(time.Hour)
		if _, err := Advance(e.ctx(), e.db); err != nil {
			t.Fatal(err)
		}
		s, _ = load(e.ctx(), e.db, e.company, id)
		if s.Status != StatusActive || s.EndTime != wantEnd || s.StartTime != date("2024-02-10").UnixMilli() {
			t.Fatalf("resumed: %s end %v start %v", s.Status, time.UnixMilli(s.EndTime).In(oslo), time.UnixMilli(s.StartTime).In(oslo))
		}
		from, end, _ := s.PeriodBounds(oslo, 2)
		if from.Format(dateLayout) != "2024-03-20" || end.Format(dateLayout) != "2024-04-19" {
			t.Errorf("period 2 = %s – %s", from.Format(dateLayout), end.Format(dateLayout))
		}
		if _, end1, _ := s.PeriodBounds(oslo, 1); end1.UnixMilli() != wantEnd {
			t.Errorf("end of period 1 = %v", end1)
		}
		var newEnd int64
		if err := e.tx(t, func(tx *sql.Tx) (err error) {
			newEnd, err = Renew(e.ctx(), tx, e.company, id, wantEnd, true)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if newEnd != time.Date(2024, 4, 19, 23, 59, 59, 0, oslo).UnixMilli() {
			t.Errorf("renewed to %v", time.UnixMilli(newEnd).In(oslo))
		}
		var statuses []string
		rows, _ := e.db.Query(`SELECT status FROM event_outbox WHERE type = 'subscription' ORDER BY id`)
		for rows.Next() {
			var st string
			_ = rows.Scan(&st)
			statuses = append(statuses, st)
		}
		rows.Close()
		if got := strings.Join(statuses, ","); got != "start,renew,pause,resume,renew" {
			t.Errorf("events = %s", got)
		}
	})
}

func TestStartValidation(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := setup(t, d)
		ok := StartRequest{CompanyID: e.company, CustomerNumber: e.customer, ProductCode: "DIGI", StartDate: date("2024-02-01"), PeriodLength: 1, PeriodType: Month}
		tests := []struct {
			name string
			edit func(r *StartRequest)
			kind errs.Kind
			msg  string
		}{
			{"unknown product", func(r *StartRequest) { r.ProductCode = "NOPE" }, errs.NotFound, "product NOPE not found"},
			{"bad product", func(r *StartRequest) { r.ProductCode = "TOO-LONG-CODE" }, errs.Invalid, "product: must be 1–12 characters of A–Z, a–z, 0–9, _ or -"},
			{"period type", func(r *StartRequest) { r.PeriodType = "fortnight" }, errs.Invalid, "periodType: must be one of day, week, month, year"},
			{"period length", func(r *StartRequest) { r.PeriodLength = 0 }, errs.Invalid, "periodLength: must be between 1 and 366"},
			{"customer", func(r *StartRequest) { r.CustomerNumber = 999 }, errs.NotFound, "customer 999 not found"},
			{"copies", func(r *StartRequest) { r.Copies = 100 }, errs.Invalid, "copies: must be between 1 and 99"},
			{"end before start", func(r *StartRequest) { r.EndDate = date("2024-01-01") }, errs.Invalid, "endTime: must be after startTime"},
			{"bundle", func(r *StartRequest) { r.AccessProducts = []string{"NOPE"} }, errs.Invalid, "accessProducts[0]: unknown product NOPE"},
		}
		for _, tt := range tests {
			r := ok
			tt.edit(&r)
			err := e.tx(t, func(tx *sql.Tx) error { _, err := Start(e.ctx(), tx, r); return err })
			var pe *errs.Error
			if !errs.Is(err, tt.kind) || !asErr(err, &pe) || pe.PublicMessage() != tt.msg {
				t.Errorf("%s: %v", tt.name, err)
			}
		}
		var n int
		_ = e.db.QueryRow(`SELECT COUNT(*) FROM subscriptions`).Scan(&n)
		if n != 0 {
			t.Errorf("subscriptions after bad input = %d", n)
		}
	})
}

// A trial coupon ("four weeks for 1 krone, then 199 a month") renews at its
// renewal price and period: the second period is a month from the trial's
// end, and the subscription's terms switch at that renewal.
func TestRenewalTerms(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := setup(t, d)
		renewal := value.Money(19900)
		var id int64
		err := e.tx(t, func(tx *sql.Tx) (err error) {
			id, err = Start(e.ctx(), tx, StartRequest{CompanyID: e.company, CustomerNumber: e.customer, ProductCode: "DIGI",
				StartDate: date("2024-01-31"), PeriodLength: 4, PeriodType: Week, Price: 100, Paid: true,
				RenewalPrice: &renewal, RenewalPeriodLength: 1, RenewalPeriodType: Month})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := load(e.ctx(), e.db, e.company, id)
		if price, l, typ := s.TermsOf(1); price != 100 || l != 4 || typ != Week {
			t.Errorf("terms of period 1 = %d %d %s", price, l, typ)
		}
		if price, l, typ := s.TermsOf(2); price != 19900 || l != 1 || typ != Month {
			t.Errorf("terms of period 2 = %d %d %s", price, l, typ)
		}
		// Period 1: 31 Jan to 27 Feb (four weeks); period 2: 28 Feb to 27 March.
		for n, want := range map[int][2]string{1: {"2024-01-31", "2024-02-27"}, 2: {"2024-02-28", "2024-03-27"}, 3: {"2024-03-28", "2024-04-27"}} {
			from, end, err := s.PeriodBounds(oslo, n)
			if err != nil || from.Format(dateLayout) != want[0] || end.Format(dateLayout) != want[1] {
				t.Errorf("period %d = %s to %s (%v), want %v", n, from.Format(dateLayout), end.Format(dateLayout), err, want)
			}
		}
		if err := e.tx(t, func(tx *sql.Tx) error {
			_, err := Renew(e.ctx(), tx, e.company, id, s.EndTime, true)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		s2, _ := load(e.ctx(), e.db, e.company, id)
		if s2.Price != 19900 || s2.PeriodLength != 1 || s2.PeriodType != Month || s2.renewalPending() {
			t.Fatalf("after the first renewal: price %d, period %d %s, pending %v", s2.Price, s2.PeriodLength, s2.PeriodType, s2.renewalPending())
		}
		if want := time.Date(2024, 3, 27, 23, 59, 59, 0, oslo).UnixMilli(); s2.EndTime != want {
			t.Errorf("end after renewal = %v", time.UnixMilli(s2.EndTime).In(oslo))
		}
		// The periods keep their numbers and dates after the switch.
		for n, want := range map[int][2]string{2: {"2024-02-28", "2024-03-27"}, 3: {"2024-03-28", "2024-04-27"}} {
			from, end, err := s2.PeriodBounds(oslo, n)
			if err != nil || from.Format(dateLayout) != want[0] || end.Format(dateLayout) != want[1] {
				t.Errorf("after switch, period %d = %s to %s (%v), want %v", n, from.Format(dateLayout), end.Format(dateLayout), err, want)
			}
		}
		// A free first period with a renewal price is billed, not renewed for free.
		err = e.tx(t, func(tx *sql.Tx) error {
			_, err := Start(e.ctx(), tx, StartRequest{CompanyID: e.company, CustomerNumber: e.customer, ProductCode: "PLUS",
				StartDate: date("2024-01-31"), PeriodLength: 1, PeriodType: Month, Price: 0, Paid: true, RenewalPrice: &renewal})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		e.now = date("2024-03-01").Add(time.Hour)
		if _, err := Advance(e.ctx(), e.db); err != nil {
			t.Fatal(err)
		}
		plus, err := Current(e.ctx(), e.db, e.company, e.customer, "PLUS")
		if err != nil || plus.Periods != 1 {
			t.Errorf("a free trial with a renewal price was renewed free: %+v, %v", plus, err)
		}
		// Bad renewal terms are refused.
		err = e.tx(t, func(tx *sql.Tx) error {
			_, err := Start(e.ctx(), tx, StartRequest{CompanyID: e.company, CustomerNumber: e.customer + 1, ProductCode: "DIGI",
				StartDate: date("2024-01-31"), PeriodLength: 1, PeriodType: Month, RenewalPeriodLength: 0, RenewalPeriodType: "fortnight"})
			return err
		})
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("bad renewal period: %v", err)
		}
	})
}
