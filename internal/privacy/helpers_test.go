package privacy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/testkit"
)

// t0 is the business time the tests start at: now, because orders and
// their invoices are dated by the wall clock.
var t0 = time.Now().UTC().Truncate(time.Second)

// oslo is the fixture company's zone.
var oslo, _ = time.LoadLocation("Europe/Oslo")

// env is a server on the business clock, with the fixture's tokens.
type env struct {
	*testkit.Env
	clock  *testkit.Clock
	client string // acme.web, client mode
	rival  string // rival.web, client mode
}

// run runs fn on every dialect with a fresh server on a clock at t0.
func run(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		c := testkit.NewClock(t0)
		te := testkit.New(t, d, testkit.WithClock(c))
		fn(t, &env{Env: te, clock: c, client: te.ClientToken(), rival: te.Token(testkit.RivalClientID, testkit.RivalSecret)})
	})
}

func (e *env) call(method, path, token, body string) *testkit.Response {
	e.T.Helper()
	return e.Call(testkit.Request{Method: method, Path: path, Token: token, Accept: "application/json",
		ContentType: "application/json", Body: body})
}

func (e *env) xml(method, path, token, body string) *testkit.Response {
	e.T.Helper()
	r := testkit.Request{Method: method, Path: path, Token: token, Accept: "application/xml"}
	if body != "" {
		r.ContentType, r.Body = "application/xml", body
	}
	return e.Call(r)
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

func (e *env) count(query string, args ...any) int {
	e.T.Helper()
	var n int
	if err := e.App.DB.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		e.T.Fatal(err)
	}
	return n
}

func (e *env) companyID(code string) int64 {
	e.T.Helper()
	var id int64
	if err := e.App.DB.QueryRowContext(context.Background(), `SELECT id FROM companies WHERE code = $1`, code).Scan(&id); err != nil {
		e.T.Fatal(err)
	}
	return id
}

// register creates a customer of the token's company (client mode).
func (e *env) register(token, lastName string) int64 {
	e.T.Helper()
	r := e.call("POST", "/capi/v1/client/customer", token,
		fmt.Sprintf(`{"firstName":"Kari","lastName":%q,"postalCode":"0179","emails":["%s@example.no"]}`, lastName, strings.ToLower(lastName)))
	want(e.T, r, 200, "customerNumber")
	var out struct{ CustomerNumber int64 }
	r.JSON(e.T, &out)
	return out.CustomerNumber
}

// user is a logged-in ConnectID user with an ACME customer.
type user struct {
	token    string
	uniqueID string
	userID   int64
	customer int64
}

// login logs a fixture user in through acme.web (which makes them an ACME
// customer) and reads who they are.
func (e *env) login(email, password string) user {
	e.T.Helper()
	tok := e.LoginUser(email, password).AccessToken
	var p struct {
		UniqueID string `json:"uniqueId"`
	}
	u := user{token: tok}
	e.call("GET", "/capi/v1/user/profile", tok, "").JSON(e.T, &p)
	u.uniqueID = p.UniqueID
	if err := e.App.DB.QueryRowContext(context.Background(), `SELECT id FROM users WHERE unique_id = $1`, u.uniqueID).Scan(&u.userID); err != nil {
		e.T.Fatalf("user %q: %v", u.uniqueID, err)
	}
	var c struct{ CustomerNumber int64 }
	r := e.call("GET", "/capi/v1/customer/info", tok, "")
	want(e.T, r, 200, "customerNumber")
	r.JSON(e.T, &c)
	u.customer = c.CustomerNumber
	return u
}

// minted is a user-mode token of a user without an account row.
func (e *env) minted(n int, customer int64) user {
	uid := fmt.Sprintf("%032x", 0xabc000+n)
	return user{token: e.MintUserToken(uid, int64(900000+n), customer), uniqueID: uid, userID: int64(900000 + n), customer: customer}
}

func decode[T any](t testing.TB, r *testkit.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.Body)
	}
	return v
}
