package stock_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/testkit"
)

type env struct {
	*testkit.Env
	clock         *testkit.Clock
	client, rival string
}

// t0 is the business time the tests start at: a day after the wall clock,
// so the fixture's seeds (applied at wall-clock time) are older.
var t0 = time.Now().UTC().Add(24 * time.Hour).Truncate(time.Hour)

func run(t *testing.T, fn func(t *testing.T, e *env), opts ...testkit.Option) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		c := testkit.NewClock(t0)
		te := testkit.New(t, d, append(opts, testkit.WithClock(c))...)
		fn(t, &env{Env: te, clock: c, client: te.ClientToken(), rival: te.Token(testkit.RivalClientID, testkit.RivalSecret)})
	})
}

func (e *env) call(method, path, token, body string) *testkit.Response {
	e.T.Helper()
	return e.Call(testkit.Request{Method: method, Path: path, Token: token, Accept: "application/json",
		ContentType: "application/json", Body: body})
}

func want(t testing.TB, r *testkit.Response, status int, contains ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want %d, got %d %s", status, r.Status, r.Body)
	}
	for _, c := range contains {
		if !strings.Contains(string(r.Body), c) {
			t.Fatalf("want %d containing %q, got %s", status, c, r.Body)
		}
	}
}

type entry struct {
	ProductID string `json:"productId"`
	Location  string `json:"location"`
	Quantity  int64  `json:"quantity"`
	Updated   int64  `json:"updated"`
}

// levels lists path and renders the levels as "PRODUCT/LOCATION=N,...".
func (e *env) levels(path, token string) string {
	e.T.Helper()
	r := e.call("GET", path, token, "")
	want(e.T, r, 200)
	var list []entry
	r.JSON(e.T, &list)
	out := []string{}
	for _, l := range list {
		if l.Updated == 0 {
			e.T.Fatalf("entry without updated: %s", r.Body)
		}
		out = append(out, fmt.Sprintf("%s/%s=%d", l.ProductID, l.Location, l.Quantity))
	}
	return strings.Join(out, ",")
}

func TestChangeAndList(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		// Fixture seeds: ACME BOOK1/MAIN=10, RIVAL RIVALNEWS/STHLM=5.
		if got := e.levels("/capi/v1/client/stock", e.client); got != "BOOK1/MAIN=10" {
			t.Fatalf("ACME: %s", got)
		}
		if got := e.levels("/capi/v1/client/stock", e.rival); got != "RIVALNEWS/STHLM=5" {
			t.Fatalf("RIVAL: %s", got)
		}
		e.clock.Advance(time.Hour)
		want(t, e.call("POST", "/capi/v1/client/stock/update", e.client, `{"updates":[
			{"productId":"NEWS","quantity":120},
			{"productId":"BOOK1","adjustment":-3},
			{"productId":"BOOK1","location":"OSLO","adjustment":7},
			{"productId":"PAPER","location":"BERGEN","quantity":0}]}`), 200, `{"status":"ok"}`)
		if got := e.levels("/capi/v1/client/stock", e.client); got != "BOOK1/MAIN=7,BOOK1/OSLO=7,NEWS/MAIN=120,PAPER/BERGEN=0" {
			t.Fatalf("after update: %s", got)
		}
		if got := e.levels("/capi/v1/client/stock/BOOK1", e.client); got != "BOOK1/MAIN=7,BOOK1/OSLO=7" {
			t.Fatalf("BOOK1: %s", got)
		}
		// A set replaces, an adjustment adds; updated is the business time.
		want(t, e.call("POST", "/capi/v1/client/stock/update", e.client, `{"updates":[{"productId":"NEWS","quantity":5},{"productId":"BOOK1","location":"OSLO","adjustment":-7}]}`), 200)
		r := e.call("GET", "/capi/v1/client/stock/NEWS", e.client, "")
		want(t, r, 200, fmt.Sprintf(`[{"productId":"NEWS","location":"MAIN","quantity":5,"updated":%d}]`, t0.Add(time.Hour).UnixMilli()))
		if got := e.levels("/capi/v1/client/stock/BOOK1", e.client); got != "BOOK1/MAIN=7,BOOK1/OSLO=0" {
			t.Fatalf("BOOK1 at 0: %s", got)
		}
		// The rival's levels are untouched and its product is not ACME's.
		if got := e.levels("/capi/v1/client/stock", e.rival); got != "RIVALNEWS/STHLM=5" {
			t.Fatalf("RIVAL after ACME's updates: %s", got)
		}
		want(t, e.call("GET", "/capi/v1/client/stock/RIVALNEWS", e.client, ""), 404, "NotFoundException")
		want(t, e.call("GET", "/capi/v1/client/stock/NOPE", e.client, ""), 404, "NotFoundException")
		want(t, e.call("GET", "/capi/v1/client/stock/ABCDEFGHIJKLM", e.client, ""), 400, "productId")
		// A product of the company without levels: [].
		want(t, e.call("GET", "/capi/v1/client/stock/OLD", e.client, ""), 200, `[]`)
		// XML: a bare array is <items><item>.
		x := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/stock/BOOK1", Token: e.client, Accept: "application/xml"})
		want(t, x, 200, "<items><item><productId>BOOK1</productId><location>MAIN</location><quantity>7</quantity>")
		// An XML request body with <item0> entries.
		x = e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/stock/update", Token: e.client, Accept: "application/json", ContentType: "application/xml",
			Body: `<data><updates><item0><productId>BOOK1</productId><adjustment>3</adjustment></item0></updates></data>`})
		want(t, x, 200, `"ok"`)
		if got := e.levels("/capi/v1/client/stock/BOOK1", e.client); got != "BOOK1/MAIN=10,BOOK1/OSLO=0" {
			t.Fatalf("after XML update: %s", got)
		}
		// User tokens may not use client mode.
		user := e.MintUserToken(strings.Repeat("a", 32), 7001, 0)
		want(t, e.call("GET", "/capi/v1/client/stock", user, ""), 403, "insufficient_scope")
		want(t, e.call("POST", "/capi/v1/client/stock/update", user, `{"updates":[{"productId":"BOOK1","quantity":1}]}`), 403)
	})
}

func TestChangedAfter(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.clock.Advance(time.Hour)
		want(t, e.call("POST", "/capi/v1/client/stock/update", e.client, `{"updates":[{"productId":"NEWS","quantity":1}]}`), 200)
		e.clock.Advance(time.Hour)
		want(t, e.call("POST", "/capi/v1/client/stock/update", e.client, `{"updates":[{"productId":"PAPER","quantity":2}]}`), 200)
		after := t0.Add(time.Hour).UnixMilli()
		if got := e.levels(fmt.Sprintf("/capi/v1/client/stock?changedAfter=%d", after), e.client); got != "PAPER/MAIN=2" {
			t.Fatalf("changedAfter %d: %s", after, got)
		}
		if got := e.levels("/capi/v1/client/stock?changedAfter="+t0.Add(30*time.Minute).Format(time.RFC3339), e.client); got != "NEWS/MAIN=1,PAPER/MAIN=2" {
			t.Fatalf("changedAfter ISO: %s", got)
		}
		want(t, e.call("GET", "/capi/v1/client/stock?changedAfter=yesterday", e.client, ""), 400, "changedAfter")
	})
}

func TestChangeValidation(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		many := make([]string, 1001)
		for i := range many {
			many[i] = fmt.Sprintf(`{"productId":"BOOK1","location":"L%d","quantity":1}`, i)
		}
		cases := []struct{ name, body, want string }{
			{"no updates", `{}`, "updates: required"},
			{"empty updates", `{"updates":[]}`, "updates: must hold 1 to 1000"},
			{"too many", `{"updates":[` + strings.Join(many, ",") + `]}`, "updates: must hold 1 to 1000"},
			{"no productId", `{"updates":[{"quantity":1}]}`, "updates[0].productId: required"},
			{"productId too long", `{"updates":[{"productId":"ABCDEFGHIJKLM","quantity":1}]}`, "updates[0].productId: at most 12"},
			{"unknown product", `{"updates":[{"productId":"BOOK1","quantity":1},{"productId":"NOPE","quantity":1}]}`, "updates[1].productId: unknown product NOPE"},
			{"another company's product", `{"updates":[{"productId":"RIVALNEWS","quantity":1}]}`, "updates[0].productId: unknown product"},
			{"neither", `{"updates":[{"productId":"BOOK1"}]}`, "updates[0].quantity: give quantity or adjustment"},
			{"both", `{"updates":[{"productId":"BOOK1","quantity":1,"adjustment":1}]}`, "not both"},
			{"negative quantity", `{"updates":[{"productId":"BOOK1","quantity":-1}]}`, "updates[0].quantity: must be from 0"},
			{"huge quantity", `{"updates":[{"productId":"BOOK1","quantity":9223372036854775807}]}`, "updates[0].quantity"},
			{"zero adjustment", `{"updates":[{"productId":"BOOK1","adjustment":0}]}`, "updates[0].adjustment: must not be 0"},
			{"fractional quantity", `{"updates":[{"productId":"BOOK1","quantity":1.5}]}`, "quantity"},
			{"text quantity", `{"updates":[{"productId":"BOOK1","quantity":"many"}]}`, "quantity"},
			{"bad location", `{"updates":[{"productId":"BOOK1","location":"OS LO","quantity":1}]}`, "updates[0].location"},
			{"duplicate", `{"updates":[{"productId":"BOOK1","quantity":1},{"productId":"BOOK1","location":"MAIN","adjustment":2}]}`, "updates[1].productId: BOOK1 at MAIN is already updated by updates[0]"},
			{"below zero", `{"updates":[{"productId":"NEWS","quantity":4},{"productId":"BOOK1","adjustment":-11}]}`, "updates[1].adjustment: stock would go below 0"},
			{"missing level decreased", `{"updates":[{"productId":"BOOK1","location":"NEW","adjustment":-1}]}`, "updates[0].adjustment: stock would go below 0"},
			{"malformed", `{"updates":[`, "ValidationException"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				want(t, e.call("POST", "/capi/v1/client/stock/update", e.client, c.body), 400, "ValidationException", c.want)
			})
		}
		// All or nothing: the valid items of the failed requests left no trace.
		if got := e.levels("/capi/v1/client/stock", e.client); got != "BOOK1/MAIN=10" {
			t.Fatalf("after failed updates: %s", got)
		}
		// Taking the last ones is fine.
		want(t, e.call("POST", "/capi/v1/client/stock/update", e.client, `{"updates":[{"productId":"BOOK1","adjustment":-10}]}`), 200)
		if got := e.levels("/capi/v1/client/stock", e.client); got != "BOOK1/MAIN=0" {
			t.Fatalf("emptied: %s", got)
		}
	})
}

// Concurrent adjustments of the same levels (in opposite orders, so that
// lock order matters) all count: none is lost, none deadlocks.
func TestConcurrentAdjustments(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		const workers, rounds = 8, 5
		bodies := []string{
			`{"updates":[{"productId":"BOOK1","adjustment":1},{"productId":"NEWS","adjustment":2}]}`,
			`{"updates":[{"productId":"NEWS","adjustment":2},{"productId":"BOOK1","adjustment":1}]}`,
		}
		var wg sync.WaitGroup
		errs := make(chan string, workers*rounds)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < rounds; i++ {
					req, _ := http.NewRequest("POST", e.URL+"/capi/v1/client/stock/update", strings.NewReader(bodies[(w+i)%2]))
					req.Header.Set("Authorization", "Bearer "+e.client)
					req.Header.Set("Content-Type", "application/json")
					res, err := e.HTTP.Do(req)
					if err != nil {
						errs <- err.Error()
						continue
					}
					res.Body.Close()
					if res.StatusCode != 200 {
						errs <- res.Status
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for msg := range errs {
			t.Errorf("concurrent update: %s", msg)
		}
		n := workers * rounds
		if got, want := e.levels("/capi/v1/client/stock", e.client), fmt.Sprintf("BOOK1/MAIN=%d,NEWS/MAIN=%d", 10+n, 2*n); got != want {
			t.Fatalf("after %d concurrent updates: %s, want %s", n, got, want)
		}
	}, testkit.WithoutRateLimits())
}

func TestTenantSeeds(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		want(t, e.call("POST", "/capi/v1/client/stock/update", e.client, `{"updates":[{"productId":"BOOK1","quantity":3}]}`), 200)
		file := `companies:
  - code: ACME
    name: Acme Media
    country: NO
    stock:
      - {productId: BOOK1, quantity: 999}
      - {productId: BOOK1, location: OSLO, quantity: 4}
`
		res, err := e.App.ApplyTenantFile(context.Background(), "stock.yaml", []byte(file))
		if err != nil || res.CatalogUpdated != 1 {
			t.Fatalf("apply: %+v, %v", res, err)
		}
		// The warehouse's level stays; only the missing one is seeded.
		if got := e.levels("/capi/v1/client/stock", e.client); got != "BOOK1/MAIN=3,BOOK1/OSLO=4" {
			t.Fatalf("after seeding: %s", got)
		}
		if res, err := e.App.ApplyTenantFile(context.Background(), "stock.yaml", []byte(file)); err != nil || !res.Unchanged {
			t.Fatalf("re-apply: %+v, %v", res, err)
		}
		for bad, msg := range map[string]string{
			"{productId: RIVALNEWS, quantity: 1}":                                              "unknown product RIVALNEWS",
			"{productId: BOOK1, quantity: -1}":                                                 "stock[0].quantity",
			"{productId: BOOK1, location: 'A B', quantity: 1}":                                 "stock[0].location",
			"{productId: BOOK1, location: MAIN, quantity: 1}, {productId: BOOK1, quantity: 2}": "duplicate stock level",
		} {
			f := strings.Replace(file, "      - {productId: BOOK1, quantity: 999}\n      - {productId: BOOK1, location: OSLO, quantity: 4}\n", "      - "+strings.ReplaceAll(bad, "}, {", "}\n      - {")+"\n", 1)
			if _, err := e.App.ApplyTenantFile(context.Background(), "bad.yaml", []byte(f)); err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("%s: %v, want %q", bad, err, msg)
			}
		}
	})
}
