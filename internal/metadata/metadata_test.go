package metadata_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/testkit"
)

const (
	userPath   = "/capi/v1/customer/metadata"
	clientPath = "/capi/v1/client/metadata/"
)

func call(e *testkit.Env, method, path, token, body string) *testkit.Response {
	e.T.Helper()
	r := testkit.Request{Method: method, Path: path, Token: token, Accept: "application/json", Body: body}
	if body != "" {
		r.ContentType = "application/json"
	}
	return e.Call(r)
}

// wantJSON checks the status, that the body is JSON whatever was asked, and
// that it equals want (compared as JSON values).
func wantJSON(t *testing.T, r *testkit.Response, status int, want string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want %d %s, got %d %s", status, want, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON: %s", ct, r.Body)
	}
	var got, exp any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body is not JSON: %s", r.Body)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %s", want)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("got %s, want %s", r.Body, want)
	}
}

func wantError(t *testing.T, r *testkit.Response, status int, contains string) {
	t.Helper()
	if r.Status != status || !strings.Contains(string(r.Body), contains) {
		t.Fatalf("want %d containing %q, got %d %s", status, contains, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q, want JSON: %s", ct, r.Body)
	}
}

func uniqueIDOf(e *testkit.Env, email string) string {
	e.T.Helper()
	var uid string
	if err := e.App.DB.QueryRowContext(context.Background(), `SELECT u.unique_id FROM users u
		JOIN user_credentials c ON c.user_id = u.id WHERE c.credential = $1`, email).Scan(&uid); err != nil {
		e.T.Fatal(err)
	}
	return uid
}

func rows(e *testkit.Env) int {
	e.T.Helper()
	var n int
	if err := e.App.DB.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM user_metadata`).Scan(&n); err != nil {
		e.T.Fatal(err)
	}
	return n
}

func TestUserMode(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.LoginUser("alice@example.com", "alice-password").AccessToken

		// Nothing stored: {}; removing nothing is harmless.
		wantJSON(t, call(e, "GET", userPath, tok, ""), 200, `{}`)
		wantJSON(t, call(e, "DELETE", userPath, tok, ""), 200, `{}`)

		// A free-form object, numbers kept exactly.
		obj := `{"foo":"some text","price":84.540,"big":12345678901234567890,"tags":["a","<b>"],"nested":{"ok":true,"none":null}}`
		r := call(e, "POST", userPath, tok, obj)
		wantJSON(t, r, 200, obj)
		if !strings.Contains(string(r.Body), `84.540`) || !strings.Contains(string(r.Body), `12345678901234567890`) {
			t.Errorf("not stored as sent: %s", r.Body)
		}
		wantJSON(t, call(e, "GET", userPath, tok, ""), 200, obj)

		// JSON only: Accept XML still gets JSON.
		wantJSON(t, e.Call(testkit.Request{Method: "GET", Path: userPath, Token: tok, Accept: "application/xml"}), 200, obj)

		// A full replace: keys not sent are gone.
		wantJSON(t, call(e, "POST", userPath, tok, `{"bar":1}`), 200, `{"bar":1}`)
		wantJSON(t, call(e, "GET", userPath, tok, ""), 200, `{"bar":1}`)

		// Remove answers the removed object, then {}.
		wantJSON(t, call(e, "DELETE", userPath, tok, ""), 200, `{"bar":1}`)
		wantJSON(t, call(e, "GET", userPath, tok, ""), 200, `{}`)
		wantJSON(t, call(e, "DELETE", userPath, tok, ""), 200, `{}`)
		if n := rows(e); n != 0 {
			t.Fatalf("%d rows after remove", n)
		}

		// {} is stored as an empty object.
		wantJSON(t, call(e, "POST", userPath, tok, `{}`), 200, `{}`)
		if n := rows(e); n != 1 {
			t.Fatalf("%d rows after storing {}", n)
		}

		// A user without a customer has metadata too (user mode needs no customer).
		var bobID int64
		bobUID := uniqueIDOf(e, "bob@example.com")
		if err := e.App.DB.QueryRowContext(context.Background(), `SELECT id FROM users WHERE unique_id = $1`, bobUID).Scan(&bobID); err != nil {
			t.Fatal(err)
		}
		bob := e.MintUserToken(bobUID, bobID, 0)
		wantJSON(t, call(e, "POST", userPath, bob, `{"bob":[1,2]}`), 200, `{"bob":[1,2]}`)
		wantJSON(t, call(e, "GET", userPath, bob, ""), 200, `{"bob":[1,2]}`)
		wantJSON(t, call(e, "GET", userPath, tok, ""), 200, `{}`)

		// Wrong mode, a token of an account that does not exist.
		wantError(t, call(e, "GET", userPath, e.ClientToken(), ""), 403, "insufficient_scope")
		ghost := e.MintUserToken(strings.Repeat("cd", 16), 987654, 0)
		wantError(t, call(e, "POST", userPath, ghost, `{"a":1}`), 404, "NotFoundException")
		wantError(t, call(e, "GET", userPath, ghost, ""), 404, "NotFoundException")
	})
}

func TestClientMode(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		acme := e.ClientToken()
		acmeOther := e.Token("acme.unlimited", "acme-unlimited-secret")
		rival := e.Token(testkit.RivalClientID, testkit.RivalSecret)
		alice := uniqueIDOf(e, "alice@example.com")

		// Alice was created by RIVAL: ACME does not know her yet.
		wantError(t, call(e, "GET", clientPath+alice, acme, ""), 404, "NotFoundException")
		wantError(t, call(e, "POST", clientPath+alice, acme, `{"a":1}`), 404, "NotFoundException")
		wantError(t, call(e, "DELETE", clientPath+alice, acme, ""), 404, "NotFoundException")
		wantJSON(t, call(e, "POST", clientPath+alice, rival, `{"rival":true}`), 200, `{"rival":true}`)

		// Logging in through an ACME client makes her ACME's user.
		tok := e.LoginUser("alice@example.com", "alice-password").AccessToken
		wantJSON(t, call(e, "GET", clientPath+alice, acme, ""), 200, `{}`)
		wantJSON(t, call(e, "POST", clientPath+alice, acme, `{"plan":"gold"}`), 200, `{"plan":"gold"}`)
		// The user's token came from acme.web: the same object.
		wantJSON(t, call(e, "GET", userPath, tok, ""), 200, `{"plan":"gold"}`)
		// Another client of the same company, and another company, see their own only.
		wantJSON(t, call(e, "GET", clientPath+alice, acmeOther, ""), 200, `{}`)
		wantJSON(t, call(e, "GET", clientPath+alice, rival, ""), 200, `{"rival":true}`)
		// The uniqueId is case-insensitive.
		wantJSON(t, call(e, "GET", clientPath+strings.ToUpper(alice), acme, ""), 200, `{"plan":"gold"}`)

		wantJSON(t, call(e, "DELETE", clientPath+alice, acme, ""), 200, `{"plan":"gold"}`)
		wantJSON(t, call(e, "GET", userPath, tok, ""), 200, `{}`)
		wantJSON(t, call(e, "GET", clientPath+alice, rival, ""), 200, `{"rival":true}`)

		// Malformed ids are 400, unknown ones 404; user tokens are the wrong mode.
		for _, bad := range []string{"x", strings.Repeat("g", 32), strings.Repeat("a", 31), strings.Repeat("a", 33)} {
			wantError(t, call(e, "GET", clientPath+bad, acme, ""), 400, "uniqueId")
		}
		wantError(t, call(e, "GET", clientPath+strings.Repeat("0", 32), acme, ""), 404, "NotFoundException")
		wantError(t, call(e, "GET", clientPath+alice, tok, ""), 403, "insufficient_scope")
	})
}

func TestValidation(t *testing.T) {
	deep := func(levels int) string { // levels nested objects, the body being the first
		return strings.Repeat(`{"k":`, levels-1) + `{}` + strings.Repeat(`}`, levels-1)
	}
	deepArray := `{"a":` + strings.Repeat("[", 9) + strings.Repeat("]", 9) + `}` // 10 levels: OK
	key := func(n int) string { return strings.Repeat("é", n) }
	big := func(n int) string { // a serialised object of exactly n bytes
		return `{"k":"` + strings.Repeat("x", n-len(`{"k":""}`)) + `"}`
	}
	cases := []struct {
		name, contentType, body string
		status                  int
		contains                string // error text; "" means a success
	}{
		{"empty object", "application/json", `{}`, 200, ""},
		{"10 levels", "application/json", deep(10), 200, ""},
		{"10 levels with arrays", "application/json", deepArray, 200, ""},
		{"100-character key", "application/json", `{"` + key(100) + `":1}`, 200, ""},
		{"exactly 64 KiB", "application/json", big(64 << 10), 200, ""},
		{"no Content-Type, JSON body", "", `{"a":1}`, 200, ""},
		{"JSON with charset", "application/json; charset=UTF-8", `{"a":1}`, 200, ""},
		{"11 levels", "application/json", deep(11), 400, "nested deeper than 10 levels"},
		{"11 levels in arrays", "application/json", `{"a":` + strings.Repeat("[", 10) + strings.Repeat("]", 10) + `}`, 400, "nested deeper"},
		{"101-character key", "application/json", `{"` + key(101) + `":1}`, 400, "keys have 1 to 100"},
		{"empty key", "application/json", `{"":1}`, 400, "keys have 1 to 100"},
		{"nested empty key", "application/json", `{"a":[{"":1}]}`, 400, "metadata.a[0]: key"},
		{"over 64 KiB", "application/json", big(64<<10 + 1), 400, "at most 65536"},
		{"array", "application/json", `[1,2]`, 400, "must be a JSON object"},
		{"string", "application/json", `"text"`, 400, "must be a JSON object"},
		{"null", "application/json", `null`, 400, "must be a JSON object"},
		{"empty body", "application/json", ``, 400, "required"},
		{"malformed", "application/json", `{"a":`, 400, "malformed JSON"},
		{"trailing data", "application/json", `{"a":1} {"b":2}`, 400, "data after the object"},
		{"invalid UTF-8", "application/json", "{\"a\":\"\xff\"}", 400, "UTF-8"},
		{"XML", "application/xml", `<data><a>1</a></data>`, 415, "JSON only"},
		{"text/xml", "text/xml", `<data/>`, 415, "JSON only"},
		{"XML without Content-Type", "", `<data><a>1</a></data>`, 415, "JSON only"},
		{"plain text", "text/plain", `{"a":1}`, 415, "JSON only"},
		{"over 1 MiB", "application/json", big(1<<20 + 10), 413, "exceeds"},
	}
	// About 80 calls in a second: without the per-client rate limit.
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := testkit.New(t, d, testkit.WithoutRateLimits())
		acme := e.ClientToken()
		e.LoginUser("bob@example.com", "bob-password") // bob becomes ACME's user
		path := clientPath + uniqueIDOf(e, "bob@example.com")
		const kept = `{"kept":true}`
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				wantJSON(t, call(e, "POST", path, acme, kept), 200, kept)
				// Accept XML: errors are JSON all the same.
				r := e.Call(testkit.Request{Method: "POST", Path: path, Token: acme, Accept: "application/xml",
					ContentType: c.contentType, Body: c.body})
				if c.contains == "" {
					want := c.body
					if want == "" {
						want = "{}"
					}
					wantJSON(t, r, c.status, want)
					wantJSON(t, call(e, "GET", path, acme, ""), 200, want)
					return
				}
				wantError(t, r, c.status, c.contains)
				if c.status == 400 && !strings.Contains(string(r.Body), "ValidationException") {
					t.Errorf("400 without ValidationException: %s", r.Body)
				}
				// A refused body changes nothing.
				wantJSON(t, call(e, "GET", path, acme, ""), 200, kept)
			})
		}
	})
}

func TestConcurrentWritesLastWins(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.LoginUser("alice@example.com", "alice-password").AccessToken
		done := make(chan *testkit.Response, 8)
		for i := range 8 {
			go func() { done <- call(e, "POST", userPath, tok, fmt.Sprintf(`{"writer":%d}`, i)) }()
		}
		for range 8 {
			if r := <-done; r.Status != 200 {
				t.Errorf("concurrent write: %d %s", r.Status, r.Body)
			}
		}
		r := call(e, "GET", userPath, tok, "")
		if r.Status != 200 || !strings.HasPrefix(string(r.Body), `{"writer":`) {
			t.Fatalf("after concurrent writes: %d %s", r.Status, r.Body)
		}
		if n := rows(e); n != 1 {
			t.Fatalf("%d rows after concurrent writes, want 1", n)
		}
	})
}
