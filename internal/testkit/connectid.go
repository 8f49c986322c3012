package testkit

// ConnectID: a browser (cookie jar, redirects not followed) and LoginUser,
// which drives the real login pages and code flow to get user tokens.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// Fixture users (fixture.yaml, declared under RIVAL) and the public client.
const (
	AliceEmail    = "alice@example.com"
	AlicePassword = "alice-password"
	BobEmail      = "bob@example.com"
	BobPhone      = "+4798765432"
	BobPassword   = "bob-password"
	AppClientID   = "acme.app" // public: PKCE required
	RedirectURI   = "http://localhost:3000/callback"
	AppRedirect   = "http://localhost:3000/app/callback"
)

// Browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see every hop of a page flow.
type Browser struct {
	e      *Env
	Client *http.Client
	Lang   string // Accept-Language
}

// NewBrowser returns a fresh browser (no cookies).
func (e *Env) NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: e.HTTP.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Browser{e: e, Client: c, Lang: "en"}
}

// Get requests a URL (absolute, or a path on the server).
func (b *Browser) Get(target string) *Response {
	b.e.T.Helper()
	req, err := http.NewRequest("GET", b.abs(target), nil)
	if err != nil {
		b.e.T.Fatalf("GET %s: %v", target, err)
	}
	req.Header.Set("Accept-Language", b.Lang)
	return b.e.DoWith(b.Client, req, nil)
}

// Post submits a form.
func (b *Browser) Post(target string, form url.Values) *Response {
	b.e.T.Helper()
	body := form.Encode()
	req, err := http.NewRequest("POST", b.abs(target), strings.NewReader(body))
	if err != nil {
		b.e.T.Fatalf("POST %s: %v", target, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", b.Lang)
	return b.e.DoWith(b.Client, req, []byte(body))
}

func (b *Browser) abs(target string) string {
	if strings.HasPrefix(target, "/") {
		return b.e.URL + target
	}
	return target
}

// Cookie returns the value of a cookie the server set for this browser.
func (b *Browser) Cookie(name string) string {
	u, _ := url.Parse(b.e.URL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// Hidden returns the hidden form fields of a page (CSRF token, flow state).
func Hidden(body []byte) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllSubmatch(body, -1) {
		v.Set(string(m[1]), html.UnescapeString(string(m[2])))
	}
	return v
}

// Location is a redirect's target; the test fails when res is not a redirect.
func (e *Env) Location(res *Response) *url.URL {
	e.T.Helper()
	if res.Status != http.StatusFound && res.Status != http.StatusSeeOther {
		e.T.Fatalf("want a redirect, got %d: %.400s", res.Status, res.Body)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		e.T.Fatalf("bad Location %q", res.Header.Get("Location"))
	}
	return u
}

// PKCE returns a fresh code verifier and its S256 challenge.
func PKCE() (verifier, challenge string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	verifier = base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// Tokens is a token endpoint response.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
}

// AuthorizeURL is the authorize request of the fixture's confidential client.
func AuthorizeURL(clientID, redirectURI, state, challenge, scope string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI}, "state": {state}}
	if scope != "" {
		q.Set("scope", scope)
	}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	return "/user/oauth/authorize?" + q.Encode()
}

// Login logs the browser in through the authorize endpoint's login form and
// returns the authorization code (the redirect's code parameter).
func (b *Browser) Login(authorizeURL, credential, password string) string {
	e := b.e
	e.T.Helper()
	res := b.Get(authorizeURL)
	if res.Status == http.StatusOK {
		form := Hidden(res.Body)
		form.Set("j_username", credential)
		form.Set("j_password", password)
		res = b.Post("/user/oauthLogin", form)
		next := e.Location(res)
		res = b.Get(next.String())
	}
	loc := e.Location(res)
	code := loc.Query().Get("code")
	if code == "" {
		e.T.Fatalf("authorize redirect without code: %s", loc)
	}
	return code
}

// Exchange redeems a code at the token endpoint for a confidential client
// (HTTP Basic) or, with an empty secret, a public one.
func (e *Env) Exchange(clientID, secret, code, redirectURI, verifier string) (*Response, Tokens) {
	e.T.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return e.TokenRequest(clientID, secret, form)
}

// TokenRequest posts form to the token endpoint, authenticating by Basic
// (secret given) or by client_id alone (public client).
func (e *Env) TokenRequest(clientID, secret string, form url.Values) (*Response, Tokens) {
	e.T.Helper()
	if secret == "" {
		form.Set("client_id", clientID)
	}
	req, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	res := e.Do(req)
	var t Tokens
	if res.Status == http.StatusOK {
		if err := json.Unmarshal(res.Body, &t); err != nil {
			e.T.Fatalf("token response: %v", err)
		}
	}
	return res, t
}

// LoginUser drives the real flow for the fixture's confidential client
// (login form → authorize → code with PKCE → token) and returns the tokens.
func (e *Env) LoginUser(credential, password string) Tokens {
	e.T.Helper()
	verifier, challenge := PKCE()
	code := e.NewBrowser().Login(AuthorizeURL(ClientID, RedirectURI, "state-1234", challenge, ""), credential, password)
	res, tok := e.Exchange(ClientID, ClientSecret, code, RedirectURI, verifier)
	if res.Status != http.StatusOK || tok.AccessToken == "" || tok.RefreshToken == "" {
		e.T.Fatalf("code exchange: %d %s", res.Status, res.Body)
	}
	return tok
}
