package delivery_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/testkit"
	"github.com/connect-oss/connect/internal/value"
)

var oslo, _ = time.LoadLocation("Europe/Oslo")

// day is 00:00 of a date in Oslo (the fixture company's zone).
func day(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02", s, oslo)
	if err != nil {
		panic(err)
	}
	return t
}

// lastSecond is 23:59:59 of a date in Oslo, as endTime and stopEndTime are.
func lastSecond(s string) int64 { return day(s).Add(24*time.Hour - time.Second).UnixMilli() }

// env is a server on a business clock with extra tenant settings applied.
type env struct {
	*testkit.Env
	clock   *testkit.Clock
	company int64
}

// settingsYAML gives ACME its product settings for a test.
func settingsYAML(settings string) string {
	return "companies:\n  - code: ACME\n    name: Acme Media\n    country: NO\n    productSettings: " + settings + "\n"
}

func newEnv(t *testing.T, d store.Dialect, now time.Time, extraYAML string) *env {
	t.Helper()
	clock := testkit.NewClock(now)
	e := testkit.New(t, d, testkit.WithClock(clock))
	if extraYAML != "" {
		if _, err := e.App.ApplyTenantFile(context.Background(), "extra.yaml", []byte(extraYAML)); err != nil {
			t.Fatalf("apply extra tenant: %v", err)
		}
	}
	c, err := tenant.GetCompanyByCode(context.Background(), e.App.DB, testkit.Company)
	if err != nil {
		t.Fatal(err)
	}
	return &env{Env: e, clock: clock, company: c.ID}
}

// each runs fn on every dialect.
func each(t *testing.T, fn func(t *testing.T, d store.Dialect)) { storetest.ForEach(t, fn) }

type user struct {
	token    string
	customer int64
}

// newUser links a customer to a fresh user number at ACME and mints its token.
func (e *env) newUser(t *testing.T, userNo int64, email string) user {
	t.Helper()
	ctx := context.Background()
	var cno int64
	err := e.App.DB.Tx(ctx, func(tx *sql.Tx) (err error) {
		cno, err = customer.EnsureForUser(ctx, tx, e.company, testkit.Company, userNo,
			customer.UserDetails{FirstName: "U", LastName: fmt.Sprint(userNo), Email: email}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return user{token: e.MintUserToken(fmt.Sprintf("%032x", userNo), userNo, cno), customer: cno}
}

// start gives the customer a paid monthly subscription from the date from
// (price in minor units per period; 0 renews free).
func (e *env) start(t *testing.T, cno int64, product, from string, price int64) int64 {
	t.Helper()
	ctx := subscription.WithClock(context.Background(), e.clock.Now)
	var id int64
	err := e.App.DB.Tx(ctx, func(tx *sql.Tx) (err error) {
		id, err = subscription.Start(ctx, tx, subscription.StartRequest{CompanyID: e.company, CustomerNumber: cno, ProductCode: product,
			StartDate: day(from), PeriodLength: 1, PeriodType: "month", Price: value.Money(price), Paid: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// jobs runs `connect jobs run-once` at the clock's time.
func (e *env) jobs(t *testing.T) {
	t.Helper()
	r := &jobs.Runner{DB: e.App.DB, Billing: e.App.Billing}
	if _, err := r.RunOnce(context.Background(), e.clock.Now()); err != nil {
		t.Fatalf("jobs at %s: %v", e.clock.Now(), err)
	}
}

// call makes a JSON API call and decodes a JSON object answer.
func (e *env) call(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	res := e.Call(testkit.Request{Method: method, Path: path, Token: token, ContentType: "application/json", Accept: "application/json", Body: body})
	var m map[string]any
	_ = json.Unmarshal(res.Body, &m)
	return res.Status, m
}

type stop struct {
	ID                int64   `json:"id"`
	Product           string  `json:"product"`
	StopTime          int64   `json:"stopTime"`
	StopEndTime       int64   `json:"stopEndTime"`
	StopType          string  `json:"stopType"`
	Channel           string  `json:"deliveryStopChannel"`
	Reason            string  `json:"deliveryStopReason"`
	RequestedStopTime int64   `json:"requestedStopTime"`
	CreditDays        int     `json:"creditDays"`
	CreditAmount      float64 `json:"creditAmount"`
}

// stops calls a stop endpoint that answers {"deliveryStops":[...]}, failing unless 200.
func (e *env) stops(t *testing.T, method, path, token, body string) []stop {
	t.Helper()
	res := e.Call(testkit.Request{Method: method, Path: path, Token: token, ContentType: "application/json", Accept: "application/json", Body: body})
	if res.Status != 200 {
		t.Fatalf("%s %s %s: %d %s", method, path, body, res.Status, res.Body)
	}
	var out struct {
		DeliveryStops []stop `json:"deliveryStops"`
	}
	res.JSON(t, &out)
	return out.DeliveryStops
}

func temporary(product, from, to string) string {
	return fmt.Sprintf(`{"deliveryStop":{"product":%q,"stopTime":%q,"stopEndTime":%q,"stopType":"temporary"}}`, product, from, to)
}

func permanent(product, from string) string {
	return fmt.Sprintf(`{"deliveryStop":{"product":%q,"stopTime":%q,"stopType":"permanent"}}`, product, from)
}

// sub is the customer's subscription on product as the user sees it.
type sub struct {
	Product    string `json:"product"`
	Stopped    bool   `json:"stopped"`
	StartTime  int64  `json:"startTime"`
	EndTime    int64  `json:"endTime"`
	Paid       bool   `json:"paid"`
	StopTime   int64  `json:"stopTime"`
	Paused     bool   `json:"paused"`
	PauseFrom  int64  `json:"pauseFrom"`
	PauseUntil int64  `json:"pauseUntil"`
}

func (e *env) subscription(t *testing.T, token, product string) sub {
	t.Helper()
	res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/subscription", Token: token, Accept: "application/json"})
	var out struct {
		Subscriptions []sub `json:"subscriptions"`
	}
	res.JSON(t, &out)
	for _, s := range out.Subscriptions {
		if s.Product == product {
			return s
		}
	}
	t.Fatalf("no %s subscription: %s", product, res.Body)
	return sub{}
}

// access is the user's level-A and level-B access to product, as
// "A", "B until 2025-02-06" or "D".
func (e *env) access(t *testing.T, token, product string) string {
	t.Helper()
	res := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/customer/access", Token: token, ContentType: "application/json",
		Body: fmt.Sprintf(`{"product":%q}`, product)})
	if res.Status != 200 {
		t.Fatalf("access: %d %s", res.Status, res.Body)
	}
	var a struct {
		Accesses []struct {
			Access     bool   `json:"access"`
			AccessType string `json:"accessType"`
			EndTime    int64  `json:"endTime"`
		} `json:"accesses"`
	}
	res.JSON(t, &a)
	for _, x := range a.Accesses {
		if x.Access {
			if x.AccessType == "B" {
				return "B until " + time.UnixMilli(x.EndTime).In(oslo).Format("2006-01-02")
			}
			return x.AccessType
		}
	}
	return "D"
}

// events are the statuses of the company's subscription events, in order.
func (e *env) events(t *testing.T) string {
	t.Helper()
	rows, err := e.App.DB.Query(`SELECT status FROM event_outbox WHERE company_id = $1 AND type = 'subscription' ORDER BY id`, e.company)
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
