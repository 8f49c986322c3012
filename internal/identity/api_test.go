package identity_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/testkit"
)

func TestProfilesAndCredentialCheck(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.LoginUser(testkit.BobPhone, testkit.BobPassword)
		res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/user/profile", Token: tok.AccessToken})
		var p struct {
			UniqueID        string
			LoginCredential struct{ Credential, CredentialType string }
			UserCredentials []struct{ Credential, CredentialType string }
			PhoneNumbers    []struct{ PhoneNumber, PhoneNumberType string }
			Emails          []string
		}
		res.JSON(t, &p)
		if res.Status != 200 || p.LoginCredential.Credential != testkit.BobPhone || p.LoginCredential.CredentialType != "phone" ||
			len(p.UserCredentials) != 2 || p.UserCredentials[0].CredentialType != "email" || p.PhoneNumbers[0].PhoneNumberType != "personal" {
			t.Fatalf("profile: %d %s", res.Status, res.Body)
		}
		res = e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/profile", Token: tok.AccessToken, Accept: "application/json"})
		if !strings.Contains(string(res.Body), `"credentialType":"B"`) || !strings.Contains(string(res.Body), `"phoneNumberType":"mobile"`) {
			t.Fatalf("legacy profile: %s", res.Body)
		}
		res = e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/user/profile/external", Token: tok.AccessToken})
		if res.Status != 200 || string(res.Body) != "{\"externalProfileList\":[]}\n" {
			t.Fatalf("external: %d %s", res.Status, res.Body)
		}
		// A client token on a user route: 403; no token: 401.
		ct := e.ClientToken()
		if res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/user/profile", Token: ct}); res.Status != 403 {
			t.Fatalf("client token: %d", res.Status)
		}
		if res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/user/profile"}); res.Status != 401 {
			t.Fatalf("no token: %d", res.Status)
		}

		// Credential check.
		for _, c := range []struct {
			body, want string
			status     int
		}{
			{`{"credential":" BOB@example.com "}`, `"exists":true`, 200},
			{`{"credential":"+47 987 65 432"}`, `"credentialType":"B"`, 200},
			{`{"credential":"nobody@example.com"}`, `"exists":false`, 200},
			{`{"credential":"not a credential"}`, `credential`, 400},
			{`{}`, `credential: is required`, 400},
			{`{"credential":"` + strings.Repeat("a", 60) + `@example.com"}`, `at most 60`, 400},
		} {
			res := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/credential/check", Token: ct, Body: c.body, ContentType: "application/json", Accept: "application/json"})
			if res.Status != c.status || !strings.Contains(string(res.Body), c.want) {
				t.Errorf("check %s: %d %s", c.body, res.Status, res.Body)
			}
		}
		res = e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/credential/check", Token: ct, Body: `{"credential":"bob@example.com"}`, ContentType: "application/json"})
		if !strings.Contains(string(res.Body), `"passwordSet":true`) || !strings.Contains(string(res.Body), `"customerNumber":`) {
			t.Errorf("check after login: %s", res.Body)
		}
		if res := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/credential/check", Token: tok.AccessToken, Body: `{"credential":"bob@example.com"}`, ContentType: "application/json"}); res.Status != 403 {
			t.Errorf("user token on client route: %d", res.Status)
		}
	})
}

func TestExternalIdentity(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		ct := e.ClientToken()
		call := func(path, body string) *testkit.Response {
			return e.Call(testkit.Request{Method: "POST", Path: path, Token: ct, Body: body, ContentType: "application/json", Accept: "application/json"})
		}
		res := call("/capi/v1/client/extid", `{"externalId":"ext-42","credentialType":"D"}`)
		var x struct {
			Credential, UniqueID, ExtidCode string
			NewUser, CanLogin, Enabled      bool
			CustomerNumber                  int64
		}
		res.JSON(t, &x)
		if res.Status != 200 || x.Credential != "AID:ext-42" || !x.NewUser || !x.CanLogin || x.Enabled || x.ExtidCode == "" || x.CustomerNumber != 0 {
			t.Fatalf("register: %d %s", res.Status, res.Body)
		}
		// The code buys a user token once, for this client only.
		grant := url.Values{"grant_type": {"https://connectid.no/oauth2/grant_type/extid_code"}, "code": {x.ExtidCode}}
		if res, _ := e.TokenRequest(testkit.RivalClientID, testkit.RivalSecret, url.Values{"grant_type": grant["grant_type"], "code": grant["code"]}); res.Status != 400 {
			t.Fatalf("other client redeemed: %d %s", res.Status, res.Body)
		}
		res, tok := e.TokenRequest(testkit.ClientID, testkit.ClientSecret, grant)
		if res.Status != 200 || tok.RefreshToken == "" {
			t.Fatalf("extid grant: %d %s", res.Status, res.Body)
		}
		if res, _ := e.TokenRequest(testkit.ClientID, testkit.ClientSecret, grant); res.Status != 400 || !strings.Contains(string(res.Body), "invalid_grant") {
			t.Fatalf("reused extid code: %d %s", res.Status, res.Body)
		}
		res = e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/user/profile", Token: tok.AccessToken})
		if !strings.Contains(string(res.Body), `"loginCredential":{"credential":"AID:ext-42","credentialType":"external"`) {
			t.Fatalf("extid profile: %s", res.Body)
		}
		// Second registration: same user, not new.
		res = call("/capi/v1/client/extid", `{"externalId":"ext-42"}`)
		if !strings.Contains(string(res.Body), `"newUser":false`) || !strings.Contains(string(res.Body), x.UniqueID) {
			t.Fatalf("second register: %s", res.Body)
		}
		// Link a customer: Alice becomes an ACME customer by logging in.
		alice := e.LoginUser(testkit.AliceEmail, testkit.AlicePassword)
		var ap struct{ CustomerNumber int64 }
		e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/profile", Token: alice.AccessToken, Accept: "application/json"}).JSON(t, &ap)
		if res := call("/capi/v1/client/extid/customer", fmt.Sprintf(`{"externalId":"ext-42","customerNumber":%d}`, ap.CustomerNumber)); res.Status != 409 {
			t.Fatalf("customer of another user: %d %s", res.Status, res.Body)
		}
		if res := call("/capi/v1/client/extid/customer", `{"externalId":"ext-42","customerNumber":999999999}`); res.Status != 404 {
			t.Fatalf("unknown customer: %d %s", res.Status, res.Body)
		}
		for body, status := range map[string]int{
			`{"externalId":""}`: 400, `{"externalId":"a b"}`: 400, `{"externalId":"x","credentialType":"A"}`: 400,
			`{"externalId":"` + strings.Repeat("x", 60) + `"}`: 400,
		} {
			if res := call("/capi/v1/client/extid", body); res.Status != status {
				t.Errorf("%s: %d %s", body, res.Status, res.Body)
			}
		}
		// RIVAL has a prefix too, but another company's client sees its own users only.
		rt := e.Token(testkit.RivalClientID, testkit.RivalSecret)
		res = e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/extid", Token: rt, Body: `{"externalId":"ext-42"}`, ContentType: "application/json", Accept: "application/json"})
		if res.Status != 200 || !strings.Contains(string(res.Body), `"credential":"RID:ext-42"`) || !strings.Contains(string(res.Body), `"newUser":true`) {
			t.Fatalf("rival register: %d %s", res.Status, res.Body)
		}
	})
}

func TestAuthorizeRedirectChecks(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		b := e.NewBrowser()
		_, challenge := testkit.PKCE()
		// Unknown client or unregistered redirect_uri: an error page, never a redirect.
		for _, u := range []string{
			testkit.AuthorizeURL("nobody", testkit.RedirectURI, "s1234567", challenge, ""),
			testkit.AuthorizeURL(testkit.ClientID, "http://evil.example/cb", "s1234567", challenge, ""),
			testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI+"/x", "s1234567", challenge, ""),
		} {
			if res := b.Get(u); res.Status != 400 || res.Header.Get("Location") != "" || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
				t.Errorf("%s: %d %s", u, res.Status, res.Header.Get("Location"))
			}
		}
		// Other errors redirect with error=...
		res := b.Get(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "s1234567", challenge, "admin"))
		if loc := e.Location(res); loc.Query().Get("error") != "invalid_scope" || loc.Query().Get("state") != "s1234567" {
			t.Errorf("bad scope: %s", loc)
		}
		// A public client must use PKCE.
		res = b.Get(testkit.AuthorizeURL(testkit.AppClientID, testkit.AppRedirect, "s1234567", "", ""))
		if loc := e.Location(res); loc.Query().Get("error") != "invalid_request" {
			t.Errorf("public client without PKCE: %s", loc)
		}
		// A plain challenge method is refused.
		res = b.Get(testkit.AuthorizeURL(testkit.AppClientID, testkit.AppRedirect, "s1234567", "", "") + "&code_challenge=" + strings.Repeat("a", 43) + "&code_challenge_method=plain")
		if loc := e.Location(res); loc.Query().Get("error") == "" {
			t.Errorf("plain PKCE: %s", loc)
		}
		// prompt=none without a session: login_required.
		res = b.Get(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "s1234567", challenge, "") + "&prompt=none")
		if loc := e.Location(res); loc.Query().Get("error") != "login_required" {
			t.Errorf("prompt=none: %s", loc)
		}

		// Pages: returnUrl/errorUrl only to registered hosts.
		for _, q := range []url.Values{
			{"clientId": {testkit.ClientID}, "returnUrl": {"https://evil.example/x"}, "errorUrl": {"http://localhost:3000/e"}},
			{"clientId": {testkit.ClientID}, "returnUrl": {"http://localhost:3000/x"}, "errorUrl": {"//evil.example/e"}},
			{"clientId": {"nobody"}, "returnUrl": {"http://localhost:3000/x"}, "errorUrl": {"http://localhost:3000/e"}},
			{"clientId": {testkit.ClientID}, "returnUrl": {"javascript:alert(1)"}, "errorUrl": {"http://localhost:3000/e"}},
			{"clientId": {testkit.ClientID}},
		} {
			for _, page := range []string{"/user/login", "/user/loginCheck", "/user/createUser"} {
				if res := b.Get(page + "?" + q.Encode()); res.Status != 400 || res.Header.Get("Location") != "" {
					t.Errorf("%s?%s: %d %s", page, q.Encode(), res.Status, res.Header.Get("Location"))
				}
			}
		}
		// Logout with a foreign returnUrl goes to the (valid) errorUrl.
		q := url.Values{"clientId": {testkit.ClientID}, "returnUrl": {"https://evil.example/x"}, "errorUrl": {"http://localhost:3000/e"}}
		if loc := e.Location(b.Get("/user/logout?" + q.Encode())); loc.String() != "http://localhost:3000/e" {
			t.Errorf("logout bad returnUrl: %s", loc)
		}
		// Forms refuse a missing CSRF token.
		if res := b.Post("/user/oauthLogin", url.Values{"j_username": {testkit.AliceEmail}, "j_password": {testkit.AlicePassword}}); res.Status != 403 || b.Cookie("connectid_session") != "" {
			t.Errorf("no csrf: %d", res.Status)
		}
		// Norwegian by Accept-Language.
		b.Lang = "nb-NO,nb;q=0.9,en;q=0.5"
		if res := b.Get("/user/login?clientId=acme.web&returnUrl=http://localhost:3000/r&errorUrl=http://localhost:3000/e"); !strings.Contains(string(res.Body), "Logg inn") {
			t.Errorf("norwegian: %s", res.Body)
		}
	})
}

func TestPKCEAndClientAuth(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		b := e.NewBrowser()
		// Public client: code + verifier, no secret.
		verifier, challenge := testkit.PKCE()
		code := b.Login(testkit.AuthorizeURL(testkit.AppClientID, testkit.AppRedirect, "st-123456", challenge, ""), testkit.AliceEmail, testkit.AlicePassword)
		if res, _ := e.Exchange(testkit.AppClientID, "", code, testkit.AppRedirect, ""); res.Status != 400 {
			t.Fatalf("missing verifier: %d %s", res.Status, res.Body)
		}
		code = b.Login(testkit.AuthorizeURL(testkit.AppClientID, testkit.AppRedirect, "st-123456", challenge, ""), "", "")
		if res, _ := e.Exchange(testkit.AppClientID, "", code, testkit.AppRedirect, strings.Repeat("x", 43)); res.Status != 400 || !strings.Contains(string(res.Body), "invalid_grant") {
			t.Fatalf("wrong verifier: %d %s", res.Status, res.Body)
		}
		code = b.Login(testkit.AuthorizeURL(testkit.AppClientID, testkit.AppRedirect, "st-123456", challenge, ""), "", "")
		if res, tok := e.Exchange(testkit.AppClientID, "", code, testkit.AppRedirect, verifier); res.Status != 200 || tok.RefreshToken == "" {
			t.Fatalf("public exchange: %d %s", res.Status, res.Body)
		}
		// Confidential client: form credentials and query-string parameters.
		code = b.Login(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "st-123456", "", ""), "", "")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testkit.RedirectURI},
			"client_id": {testkit.ClientID}, "client_secret": {testkit.ClientSecret}}
		req, _ := http.NewRequest("POST", e.URL+"/user/oauth/token?"+form.Encode(), nil)
		if res := e.Do(req); res.Status != 200 {
			t.Fatalf("query-string exchange: %d %s", res.Status, res.Body)
		}
		code = b.Login(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "st-123456", "", ""), "", "")
		for name, f := range map[string]url.Values{
			"wrong secret": {"client_id": {testkit.ClientID}, "client_secret": {"nope"}},
			"other client": {"client_id": {"acme.nocc"}, "client_secret": {"acme-nocc-secret"}},
		} {
			f.Set("grant_type", "authorization_code")
			f.Set("code", code)
			f.Set("redirect_uri", testkit.RedirectURI)
			req, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res := e.Do(req)
			if res.Status < 400 || res.Status >= 500 {
				t.Errorf("%s: %d %s", name, res.Status, res.Body)
			}
		}
		// Wrong redirect_uri at the token endpoint.
		if res, _ := e.Exchange(testkit.ClientID, testkit.ClientSecret, code, "http://localhost:3000/other", ""); res.Status != 400 {
			t.Errorf("redirect mismatch: %d %s", res.Status, res.Body)
		}
		// Malformed Authorization header, unknown grant, garbage refresh token.
		req, _ = http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader("grant_type=authorization_code&code=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Basic !!!")
		if res := e.Do(req); res.Status != 401 {
			t.Errorf("malformed basic: %d %s", res.Status, res.Body)
		}
		if res, _ := e.TokenRequest(testkit.ClientID, testkit.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"garbage"}}); res.Status != 400 {
			t.Errorf("garbage refresh: %d %s", res.Status, res.Body)
		}
	})
}

func TestRevocationIntrospectionOIDC(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		post := func(path string, form url.Values, user, pass string) *testkit.Response {
			req, _ := http.NewRequest("POST", e.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if user != "" {
				req.SetBasicAuth(user, pass)
			}
			return e.Do(req)
		}
		tok := e.LoginUser(testkit.AliceEmail, testkit.AlicePassword)
		res := post("/user/oauth/introspect", url.Values{"token": {tok.AccessToken}}, testkit.ClientID, testkit.ClientSecret)
		if res.Status != 200 || !strings.Contains(string(res.Body), `"active":true`) || !strings.Contains(string(res.Body), `"mode":"user"`) {
			t.Fatalf("introspect access: %d %s", res.Status, res.Body)
		}
		res = post("/user/oauth/introspect", url.Values{"token": {tok.RefreshToken}}, testkit.ClientID, testkit.ClientSecret)
		if !strings.Contains(string(res.Body), `"active":true`) || !strings.Contains(string(res.Body), `"token_type":"refresh_token"`) {
			t.Fatalf("introspect refresh: %s", res.Body)
		}
		// Another company's client sees nothing.
		res = post("/user/oauth/introspect", url.Values{"token": {tok.AccessToken}}, testkit.RivalClientID, testkit.RivalSecret)
		if string(res.Body) != "{\"active\":false}\n" {
			t.Fatalf("rival introspect: %s", res.Body)
		}
		if res := post("/user/oauth/revoke", url.Values{"token": {tok.RefreshToken}}, testkit.RivalClientID, testkit.RivalSecret); res.Status != 400 {
			t.Fatalf("rival revoke: %d", res.Status)
		}
		if res := post("/user/oauth/revoke", url.Values{"token": {tok.RefreshToken}}, testkit.ClientID, testkit.ClientSecret); res.Status != 200 {
			t.Fatalf("revoke: %d %s", res.Status, res.Body)
		}
		// Revoking the refresh token revoked the family's access token too.
		if res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/user/profile", Token: tok.AccessToken}); res.Status != 401 {
			t.Fatalf("access after revoke: %d", res.Status)
		}
		if res := post("/user/oauth/revoke", url.Values{"token": {"unknown"}}, testkit.ClientID, testkit.ClientSecret); res.Status != 200 {
			t.Fatalf("revoke unknown: %d", res.Status)
		}
		if res := post("/user/oauth/revoke", url.Values{"token": {"x"}}, "", ""); res.Status != 401 {
			t.Fatalf("revoke without client: %d", res.Status)
		}

		// OpenID Connect: discovery, ID token (RS256, in the JWKS), userinfo.
		res = e.Call(testkit.Request{Method: "GET", Path: "/user/.well-known/openid-configuration"})
		var d struct {
			AuthorizationEndpoint string `json:"authorization_endpoint"`
		}
		res.JSON(t, &d)
		if !strings.HasSuffix(d.AuthorizationEndpoint, "/user/oauth/authorize") {
			t.Fatalf("discovery: %s", res.Body)
		}
		b := e.NewBrowser()
		verifier, challenge := testkit.PKCE()
		code := b.Login(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "st-123456", challenge, "openid email profile")+"&nonce=n-0123456789", testkit.AliceEmail, testkit.AlicePassword)
		res, tok = e.Exchange(testkit.ClientID, testkit.ClientSecret, code, testkit.RedirectURI, verifier)
		if res.Status != 200 || tok.IDToken == "" {
			t.Fatalf("oidc exchange: %d %s", res.Status, res.Body)
		}
		parts := strings.Split(tok.IDToken, ".")
		hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
		body, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims map[string]any
		_ = json.Unmarshal(body, &claims)
		if !strings.Contains(string(hdr), `"RS256"`) || claims["nonce"] != "n-0123456789" || claims["aud"] == nil || claims["email"] != testkit.AliceEmail {
			t.Fatalf("id token: %s %s", hdr, body)
		}
		kid := regexp.MustCompile(`"kid":"([^"]+)"`).FindStringSubmatch(string(hdr))[1]
		if jwks := e.Call(testkit.Request{Method: "GET", Path: "/user/.well-known/jwks.json"}); !strings.Contains(string(jwks.Body), kid) {
			t.Fatalf("id token key %s not in JWKS", kid)
		}
		res = e.Call(testkit.Request{Method: "GET", Path: "/user/oauth/userinfo", Token: tok.AccessToken})
		if res.Status != 200 || !strings.Contains(string(res.Body), `"email":"alice@example.com"`) {
			t.Fatalf("userinfo: %d %s", res.Status, res.Body)
		}
		if res := e.Call(testkit.Request{Method: "GET", Path: "/user/oauth/userinfo", Token: e.ClientToken()}); res.Status != 403 {
			t.Fatalf("userinfo with client token: %d", res.Status)
		}
	})
}
