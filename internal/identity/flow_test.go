package identity_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/testkit"
)

func profile(t *testing.T, e *testkit.Env, token, accept string) *testkit.Response {
	t.Helper()
	return e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/profile", Token: token, Accept: accept})
}

// TestBrowserFlow drives login form → authorize → code → token → profile →
// refresh → reuse detection → logout, as a browser and a client would.
func TestBrowserFlow(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		b := e.NewBrowser()
		verifier, challenge := testkit.PKCE()
		auth := testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "xyz-state", challenge, "")

		// No session: the login page, with the client's name and a CSRF token.
		res := b.Get(auth)
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), "Acme Web") {
			t.Fatalf("login page: %d %.300s", res.Status, res.Body)
		}
		form := testkit.Hidden(res.Body)
		if form.Get("csrf") == "" || !strings.HasPrefix(form.Get("continue"), "/user/oauth/authorize?") {
			t.Fatalf("form fields: %v", form)
		}
		// A wrong password re-renders the form with a message and no session.
		bad := url.Values{"csrf": {form.Get("csrf")}, "continue": {form.Get("continue")}, "j_username": {testkit.AliceEmail}, "j_password": {"nope-nope"}}
		if res := b.Post("/user/oauthLogin", bad); res.Status != http.StatusUnauthorized || b.Cookie("connectid_session") != "" {
			t.Fatalf("wrong password: %d", res.Status)
		}
		form.Set("j_username", " Alice@Example.com ")
		form.Set("j_password", testkit.AlicePassword)
		res = b.Post("/user/oauthLogin", form)
		next := e.Location(res)
		if next.String() != form.Get("continue") {
			t.Fatalf("after login: %s", next)
		}
		session := b.Cookie("connectid_session")
		if session == "" {
			t.Fatal("no session cookie")
		}
		res = b.Get(next.String())
		loc := e.Location(res)
		if !strings.HasPrefix(loc.String(), testkit.RedirectURI+"?") || loc.Query().Get("state") != "xyz-state" {
			t.Fatalf("redirect: %s", loc)
		}
		code := loc.Query().Get("code")

		// Code → tokens.
		res, tok := e.Exchange(testkit.ClientID, testkit.ClientSecret, code, testkit.RedirectURI, verifier)
		if res.Status != 200 || tok.RefreshToken == "" || tok.ExpiresIn != 43200 || tok.Scope != "read" || tok.TokenType != "bearer" {
			t.Fatalf("exchange: %d %s", res.Status, res.Body)
		}
		// The code works once; a second use revokes what the first issued.
		if res, _ := e.Exchange(testkit.ClientID, testkit.ClientSecret, code, testkit.RedirectURI, verifier); res.Status != 400 || !strings.Contains(string(res.Body), "invalid_grant") {
			t.Fatalf("reused code: %d %s", res.Status, res.Body)
		}
		if res := profile(t, e, tok.AccessToken, "application/json"); res.Status != 401 {
			t.Fatalf("token of a reused code still works: %d", res.Status)
		}

		// A fresh login (the session is reused: no form) → tokens → profile.
		verifier, challenge = testkit.PKCE()
		code = b.Login(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "s2-state", challenge, ""), "", "")
		_, tok = e.Exchange(testkit.ClientID, testkit.ClientSecret, code, testkit.RedirectURI, verifier)
		res = profile(t, e, tok.AccessToken, "application/json")
		if res.Status != 200 {
			t.Fatalf("profile: %d %s", res.Status, res.Body)
		}
		var p struct {
			UniqueID       string `json:"uniqueId"`
			UserID         int64  `json:"userId"`
			CustomerNumber int64  `json:"customerNumber"`
			Emails         []string
			Name           struct{ FirstName, LastName string }
			Credential     struct{ Credential, CredentialType string }
		}
		res.JSON(t, &p)
		if len(p.UniqueID) != 32 || p.UserID <= 0 || p.CustomerNumber <= 0 || p.Emails[0] != testkit.AliceEmail ||
			p.Name.FirstName != "Alice" || p.Credential.Credential != testkit.AliceEmail || p.Credential.CredentialType != "A" {
			t.Fatalf("profile: %s", res.Body)
		}
		// XML by default, root <profile>, also at the doubled-slash path.
		res = e.Call(testkit.Request{Method: "GET", Path: "/capi//v1/customer/profile", Token: tok.AccessToken})
		x := string(res.Body)
		if res.Status != 200 || !strings.Contains(res.Header.Get("Content-Type"), "xml") || !strings.Contains(x, "<profile>") ||
			!strings.Contains(x, "<emails><email>alice@example.com</email></emails>") || !strings.Contains(x, "<userId>") {
			t.Fatalf("xml profile: %d %s", res.Status, x)
		}

		// Refresh rotates; the old token's successor used → the old one is a replay.
		res, tok2 := e.TokenRequest(testkit.ClientID, testkit.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
		if res.Status != 200 || tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken || tok2.ExpiresIn != 43200 {
			t.Fatalf("refresh: %d %s", res.Status, res.Body)
		}
		res, tok3 := e.TokenRequest(testkit.ClientID, testkit.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}})
		if res.Status != 200 {
			t.Fatalf("second refresh: %d %s", res.Status, res.Body)
		}
		res, _ = e.TokenRequest(testkit.ClientID, testkit.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
		if res.Status != 400 || !strings.Contains(string(res.Body), "invalid_grant") {
			t.Fatalf("replayed refresh token: %d %s", res.Status, res.Body)
		}
		// The whole family is revoked: the newest refresh token and its access token too.
		if res, _ := e.TokenRequest(testkit.ClientID, testkit.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok3.RefreshToken}}); res.Status != 400 {
			t.Fatalf("family not revoked: %d %s", res.Status, res.Body)
		}
		if res := profile(t, e, tok3.AccessToken, "application/json"); res.Status != 401 {
			t.Fatalf("access token of a revoked family: %d", res.Status)
		}

		// Logout: session ends, its tokens are revoked, loginCheck says no.
		verifier, challenge = testkit.PKCE()
		code = b.Login(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "s3-state", challenge, ""), "", "")
		_, tok = e.Exchange(testkit.ClientID, testkit.ClientSecret, code, testkit.RedirectURI, verifier)
		check := "/user/loginCheck?" + url.Values{"clientId": {testkit.ClientID}, "returnUrl": {"http://localhost:3000/yes"}, "errorUrl": {"http://localhost:3000/no"}}.Encode()
		if loc := e.Location(b.Get(check)); loc.Path != "/yes" {
			t.Fatalf("loginCheck while logged in: %s", loc)
		}
		out := "/user/logout?" + url.Values{"clientId": {testkit.ClientID}, "returnUrl": {"http://localhost:3000/bye"}, "errorUrl": {"http://localhost:3000/err"}}.Encode()
		if loc := e.Location(b.Get(out)); loc.Path != "/bye" {
			t.Fatalf("logout: %s", loc)
		}
		if res := profile(t, e, tok.AccessToken, "application/json"); res.Status != 401 {
			t.Fatalf("access token after logout: %d", res.Status)
		}
		if res, _ := e.TokenRequest(testkit.ClientID, testkit.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}); res.Status != 400 {
			t.Fatalf("refresh after logout: %d", res.Status)
		}
		if loc := e.Location(b.Get(check)); loc.Path != "/no" {
			t.Fatalf("loginCheck after logout: %s", loc)
		}
		_ = json.Valid
	})
}
