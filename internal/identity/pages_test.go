package identity_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/testkit"
)

var sixDigits = regexp.MustCompile(`\b([0-9]{6})\b`)

// lastCode reads the newest one-time code the default sender recorded for to.
func lastCode(t *testing.T, e *testkit.Env, to string) string {
	t.Helper()
	var body string
	if err := e.App.DB.QueryRow(`SELECT body FROM outbound_messages WHERE recipient = $1 ORDER BY id DESC LIMIT 1`, to).Scan(&body); err != nil {
		t.Fatalf("no message to %s: %v", to, err)
	}
	return sixDigits.FindStringSubmatch(body)[1]
}

func TestCreateUserResetAndThrottle(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		flow := url.Values{"clientId": {testkit.ClientID}, "returnUrl": {"http://localhost:3000/welcome"}, "errorUrl": {"http://localhost:3000/err"}}
		b := e.NewBrowser()
		// credentialSubmit sends the code at once.
		q := url.Values{"credential": {"New.Reader@Example.com"}, "credentialSubmit": {"true"}}
		for k, v := range flow {
			q[k] = v
		}
		res := b.Get("/user/createUser?" + q.Encode())
		if res.Status != 200 || !strings.Contains(string(res.Body), "new.reader@example.com") || !strings.Contains(string(res.Body), `name="code"`) {
			t.Fatalf("code step: %d %.400s", res.Status, res.Body)
		}
		form := testkit.Hidden(res.Body)
		form.Set("code", "000000")
		if res := b.Post("/user/createUser", form); res.Status != 400 {
			t.Fatalf("wrong code: %d", res.Status)
		}
		form.Set("code", lastCode(t, e, "new.reader@example.com"))
		res = b.Post("/user/createUser", form)
		if res.Status != 200 || !strings.Contains(string(res.Body), `name="password"`) {
			t.Fatalf("profile step: %d %.300s", res.Status, res.Body)
		}
		form = testkit.Hidden(res.Body)
		form.Set("firstName", "New")
		form.Set("lastName", "Reader")
		form.Set("password", "short")
		if res := b.Post("/user/createUser", form); res.Status != 400 {
			t.Fatalf("short password: %d", res.Status)
		}
		form.Set("password", "a-good-password")
		if loc := e.Location(b.Post("/user/createUser", form)); loc.String() != "http://localhost:3000/welcome" {
			t.Fatalf("created: %s", loc)
		}
		// Logged in already: createUser goes straight to returnUrl.
		if loc := e.Location(b.Get("/user/createUser?" + flow.Encode())); loc.Path != "/welcome" {
			t.Fatalf("createUser while logged in: %s", loc)
		}
		tok := e.LoginUser("new.reader@example.com", "a-good-password")
		if res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/user/profile", Token: tok.AccessToken}); !strings.Contains(string(res.Body), `"verificationLevel":"verificationCode"`) {
			t.Fatalf("new user profile: %s", res.Body)
		}

		// Password reset: same answer for unknown accounts; the new password
		// works and every old token is revoked.
		r := e.NewBrowser()
		res = r.Get("/user/reset")
		f := testkit.Hidden(res.Body)
		f.Set("credential", "nobody@example.com")
		unknown := r.Post("/user/reset", f)
		f.Set("credential", "new.reader@example.com")
		known := r.Post("/user/reset", f)
		if unknown.Status != 200 || known.Status != 200 || !strings.Contains(string(unknown.Body), `name="code"`) {
			t.Fatalf("reset step 1: %d %d", unknown.Status, known.Status)
		}
		f = testkit.Hidden(known.Body)
		f.Set("code", lastCode(t, e, "new.reader@example.com"))
		f.Set("password", "another-password")
		if res := r.Post("/user/reset", f); res.Status != 302 {
			t.Fatalf("reset: %d %.300s", res.Status, res.Body)
		}
		if res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/user/profile", Token: tok.AccessToken}); res.Status != 401 {
			t.Fatalf("token after password reset: %d", res.Status)
		}
		e.LoginUser("new.reader@example.com", "another-password")
		// The account page shows the user and changes the name.
		res = r.Get("/user/account")
		if !strings.Contains(string(res.Body), "new.reader@example.com") {
			t.Fatalf("account: %.300s", res.Body)
		}
		af := testkit.Hidden(res.Body)
		af.Set("action", "name")
		af.Set("firstName", "Renamed")
		af.Set("lastName", "Reader")
		if res := r.Post("/user/account", af); res.Status != 200 || !strings.Contains(string(res.Body), `value="Renamed"`) {
			t.Fatalf("rename: %d", res.Status)
		}

		// Throttling: 10 wrong passwords lock the credential (known or not) with the same message.
		for _, cred := range []string{testkit.BobEmail, "ghost@example.com"} {
			tb := e.NewBrowser()
			page := tb.Get("/user/login?" + flow.Encode())
			lf := testkit.Hidden(page.Body)
			lf.Set("j_username", cred)
			lf.Set("j_password", "wrong-password")
			for i := 0; i < 10; i++ {
				if res := tb.Post("/user/oauthLogin", lf); res.Status != 401 {
					t.Fatalf("%s attempt %d: %d", cred, i, res.Status)
				}
			}
			lf.Set("j_password", testkit.BobPassword)
			res := tb.Post("/user/oauthLogin", lf)
			if res.Status != 429 || !strings.Contains(string(res.Body), "too many attempts") {
				t.Fatalf("%s throttled: %d", cred, res.Status)
			}
		}
	})
}
