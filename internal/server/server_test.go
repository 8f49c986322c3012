package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/connect-oss/connect/internal/testkit"
)

// signToken signs claims with key under kid, to forge or craft tokens.
func signToken(t *testing.T, key *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

func clientClaims(e *testkit.Env, exp time.Time) map[string]any {
	return map[string]any{
		"iss": e.URL + "/user", "sub": "acme.web", "exp": exp.Unix(), "iat": time.Now().Unix(),
		"jti": "test-" + time.Now().Format("150405.000000000"), "mode": "client", "cid": 1, "cmp": "ACME",
		"client_id": "acme.web", "scp": []string{"read"},
	}
}

func TestTokenEndpointClientAuthStyles(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		form := "grant_type=client_credentials"
		cases := []struct {
			name   string
			build  func() *http.Request
			status int
			errStr string
		}{
			{"basic", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth(testkit.ClientID, testkit.ClientSecret)
				return r
			}, 200, ""},
			{"form fields", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(form+"&client_id=acme.web&client_secret="+testkit.ClientSecret))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			}, 200, ""},
			{"query string", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token?"+form+"&client_id=acme.web&client_secret="+testkit.ClientSecret+"&scope=read", nil)
				return r
			}, 200, ""},
			{"body wins over query", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token?grant_type=password", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth(testkit.ClientID, testkit.ClientSecret)
				return r
			}, 200, ""},
			{"wrong secret", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth(testkit.ClientID, "wrong")
				return r
			}, 401, "invalid_client"},
			{"unknown client", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth("nobody.web", "x")
				return r
			}, 401, "invalid_client"},
			{"no client authentication", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			}, 401, "invalid_client"},
			{"client id not UTF-8", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth("\xe2\x82", "x")
				return r
			}, 401, "invalid_client"},
			{"malformed basic header", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Authorization", "Basic %%%not-base64")
				return r
			}, 401, "invalid_client"},
			{"unsupported grant", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader("grant_type=password&username=a&password=b"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth(testkit.ClientID, testkit.ClientSecret)
				return r
			}, 400, "unsupported_grant_type"},
			{"missing grant type", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader("scope=read"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth(testkit.ClientID, testkit.ClientSecret)
				return r
			}, 400, "invalid_request"},
			{"other scope", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(form+"&scope=admin"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth(testkit.ClientID, testkit.ClientSecret)
				return r
			}, 400, "invalid_scope"},
			{"client without the grant", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth("acme.nocc", "acme-nocc-secret")
				return r
			}, 400, "unauthorized_client"},
			{"public client", func() *http.Request {
				r, _ := http.NewRequest("POST", e.URL+"/user/oauth/token", strings.NewReader(form+"&client_id=acme.app"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			}, 400, "invalid_grant"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := e.Do(tc.build())
				if res.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
				}
				if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
					t.Errorf("token endpoint must answer JSON, got %q", res.Header.Get("Content-Type"))
				}
				var body struct {
					AccessToken string `json:"access_token"`
					TokenType   string `json:"token_type"`
					ExpiresIn   int    `json:"expires_in"`
					Scope       string `json:"scope"`
					Refresh     string `json:"refresh_token"`
					Error       string `json:"error"`
				}
				res.JSON(t, &body)
				if tc.errStr != "" {
					if body.Error != tc.errStr {
						t.Errorf("error %q, want %q", body.Error, tc.errStr)
					}
					if tc.status == 401 && res.Header.Get("WWW-Authenticate") == "" {
						t.Error("401 without WWW-Authenticate")
					}
					return
				}
				if body.AccessToken == "" || !strings.EqualFold(body.TokenType, "bearer") || body.Scope != "read" || body.Refresh != "" {
					t.Errorf("unexpected token response %s", res.Body)
				}
				if body.ExpiresIn < 43000 || body.ExpiresIn > 43200 {
					t.Errorf("expires_in %d, want about 43200", body.ExpiresIn)
				}
				// The token works on a client-mode route.
				list := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product", Token: body.AccessToken, Accept: "application/json"})
				if list.Status != 200 {
					t.Errorf("token rejected by the API: %d %s", list.Status, list.Body)
				}
			})
		}
	})
}

func TestBearerAuthentication(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		current, err := e.App.OAuth.Keys.Current()
		if err != nil {
			t.Fatal(err)
		}
		foreignKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		valid := e.ClientToken()
		revoked := e.ClientToken()
		revokedClaims := decodeClaims(t, revoked)
		if err := e.App.OAuth.Revocations.Revoke(t.Context(), e.App.DB, revokedClaims["jti"].(string), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		userClaims := clientClaims(e, time.Now().Add(time.Hour))
		userClaims["mode"], userClaims["sub"] = "user", "f21942404003447993b198bdd7ba2ef4"

		cases := []struct {
			name   string
			header string
			status int
			error  string
		}{
			{"valid", "Bearer " + valid, 200, ""},
			{"scheme in lower case", "bearer " + valid, 200, ""},
			{"missing", "", 401, "invalid_token"},
			{"basic scheme", "Basic YTpi", 401, "invalid_token"},
			{"junk", "Bearer not.a.token", 401, "invalid_token"},
			{"empty bearer", "Bearer ", 401, "invalid_token"},
			{"huge", "Bearer " + strings.Repeat("a", 100_000), 401, "invalid_token"},
			{"forged with another key", "Bearer " + signToken(t, foreignKey, current.KID, clientClaims(e, time.Now().Add(time.Hour))), 401, "invalid_token"},
			{"unknown key id", "Bearer " + signToken(t, foreignKey, "nosuchkid", clientClaims(e, time.Now().Add(time.Hour))), 401, "invalid_token"},
			{"expired", "Bearer " + signToken(t, current.Private, current.KID, clientClaims(e, time.Now().Add(-time.Minute))), 401, "invalid_token"},
			{"other issuer", "Bearer " + signToken(t, current.Private, current.KID, func() map[string]any {
				c := clientClaims(e, time.Now().Add(time.Hour))
				c["iss"] = "https://evil.example/user"
				return c
			}()), 401, "invalid_token"},
			{"tampered payload", "Bearer " + tamper(valid), 401, "invalid_token"},
			{"revoked", "Bearer " + revoked, 401, "invalid_token"},
			{"user token on a client route", "Bearer " + signToken(t, current.Private, current.KID, userClaims), 403, "insufficient_scope"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product", Accept: "application/json",
					Header: http.Header{"Authorization": {tc.header}}})
				if res.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
				}
				if tc.error == "" {
					return
				}
				var body struct{ Error string }
				res.JSON(t, &body)
				if body.Error != tc.error {
					t.Errorf("error %q, want %q", body.Error, tc.error)
				}
				if tc.status == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", res.Header.Get("WWW-Authenticate"))
				}
			})
		}
	})
}

func decodeClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// tamper changes the payload of a token while keeping its signature.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	parts[1] = strings.TrimRight(parts[1], "A") + "B"
	return strings.Join(parts, ".")
}

func TestKeyRotationKeepsOldTokensValid(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		before := e.ClientToken()
		if _, err := e.App.OAuth.Keys.Rotate(t.Context()); err != nil {
			t.Fatal(err)
		}
		after := e.ClientToken()
		if decodeKID(t, before) == decodeKID(t, after) {
			t.Fatal("rotation did not change the signing key")
		}
		for _, tok := range []string{before, after} {
			res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product", Token: tok, Accept: "application/json"})
			if res.Status != 200 {
				t.Errorf("token rejected after rotation: %d", res.Status)
			}
		}
		var jwks struct {
			Keys []struct{ Kid, Kty, Alg, Crv, D string }
		}
		res := e.Call(testkit.Request{Method: "GET", Path: "/user/.well-known/jwks.json"})
		res.JSON(t, &jwks)
		var es256 []string
		for _, k := range jwks.Keys {
			if k.D != "" {
				t.Fatal("JWKS leaks a private key")
			}
			if k.Alg == "ES256" {
				if k.Kty != "EC" || k.Crv != "P-256" {
					t.Errorf("key %+v", k)
				}
				es256 = append(es256, k.Kid)
			}
		}
		// Both access-token keys are published, the new one first (ID-token
		// keys of other algorithms may be listed too).
		if len(es256) != 2 || es256[0] != decodeKID(t, after) || es256[1] != decodeKID(t, before) {
			t.Fatalf("jwks %s", res.Body)
		}
	})
}

func decodeKID(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Protected.KeyID
}

func TestRateLimits(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		limited := e.Token("acme.limited", "acme-limited-secret")
		var statuses []int
		var last *testkit.Response
		for i := 0; i < 6; i++ {
			last = e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product", Token: limited, Accept: "application/json"})
			statuses = append(statuses, last.Status)
			if last.Status == 200 && last.Header.Get("X-RateLimit-Remaining") == "" {
				t.Error("no X-RateLimit-Remaining on a limited client's response")
			}
		}
		// 3 per second and 5 per minute: whatever the second boundaries, the
		// sixth call of the minute is refused, and at most five succeed.
		ok := 0
		for _, s := range statuses {
			if s == 200 {
				ok++
			} else if s != 429 {
				t.Fatalf("unexpected status %d", s)
			}
		}
		if ok > 5 || ok < 3 || statuses[5] != 429 {
			t.Fatalf("statuses %v", statuses)
		}
		var body struct{ ExceptionType, ErrorMessage string }
		last.JSON(t, &body)
		if body.ExceptionType != "TooManyRequestsException" || last.Header.Get("Retry-After") == "" || last.Header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("429 response: %v %s", last.Header, last.Body)
		}
		// Another client is not affected, and an unlimited one sends no limit headers.
		other := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product", Token: e.ClientToken(), Accept: "application/json"})
		if other.Status != 200 || other.Header.Get("X-RateLimit-Remaining") == "" {
			t.Errorf("other client: %d %v", other.Status, other.Header)
		}
		unlimited := e.Token("acme.unlimited", "acme-unlimited-secret")
		for i := 0; i < 8; i++ {
			res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product", Token: unlimited, Accept: "application/json"})
			if res.Status != 200 || res.Header.Get("X-RateLimit-Remaining") != "" {
				t.Fatalf("unlimited client call %d: %d %v", i, res.Status, res.Header)
			}
		}
	})
}

func TestRateLimitOperatorSwitch(t *testing.T) {
	e := testkit.New(t, "sqlite", testkit.WithoutRateLimits())
	limited := e.Token("acme.limited", "acme-limited-secret")
	for i := 0; i < 8; i++ {
		res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product", Token: limited, Accept: "application/json"})
		if res.Status != 200 {
			t.Fatalf("call %d with limits off: %d", i, res.Status)
		}
	}
}

func TestCommonHeadersAndMisses(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		cases := []struct {
			name, method, path, accept string
			status                     int
			exception                  string
			xml                        bool
		}{
			{"unknown route", "GET", "/capi/v1/nothing/here", "application/json", 404, "NotFoundException", false},
			{"unknown route, XML asked", "GET", "/capi/v1/nothing", "application/xml", 404, "NotFoundException", true},
			{"unknown top level", "GET", "/nope", "", 404, "NotFoundException", false},
			{"wrong method", "DELETE", "/capi/v1/client/product", "application/json", 405, "MethodNotAllowedException", false},
			{"doubled slash", "GET", "/capi//v1/client/product", "application/json", 200, "", false},
			{"trailing slash", "GET", "/capi/v1/client/product/", "application/json", 200, "", false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := e.Call(testkit.Request{Method: tc.method, Path: tc.path, Token: tok, Accept: tc.accept})
				if res.Status != tc.status {
					t.Fatalf("status %d want %d: %s", res.Status, tc.status, res.Body)
				}
				if res.Header.Get("X-Mediaconnect-Api-Version") == "" {
					t.Error("no X-Mediaconnect-Api-Version")
				}
				if tc.status == 405 && !strings.Contains(res.Header.Get("Allow"), "GET") {
					t.Errorf("Allow %q", res.Header.Get("Allow"))
				}
				if tc.exception == "" {
					return
				}
				if tc.xml {
					if !strings.Contains(string(res.Body), "<exceptionType>"+tc.exception+"</exceptionType>") {
						t.Errorf("XML error body %s", res.Body)
					}
					return
				}
				var body struct{ ExceptionType, ErrorMessage string }
				res.JSON(t, &body)
				if body.ExceptionType != tc.exception || body.ErrorMessage == "" {
					t.Errorf("body %s", res.Body)
				}
			})
		}
	})
}

func TestOperationalEndpoints(t *testing.T) {
	e := testkit.New(t, "sqlite")
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/capi/openapi.yaml", "/user/.well-known/jwks.json"} {
		res := e.Call(testkit.Request{Method: "GET", Path: path})
		if res.Status != 200 || len(res.Body) == 0 {
			t.Errorf("%s: %d", path, res.Status)
		}
	}
	// Requests are counted by route pattern, not by raw path.
	e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product/subscription", Token: e.ClientToken()})
	metrics := e.Call(testkit.Request{Method: "GET", Path: "/metrics"})
	if !strings.Contains(string(metrics.Body), `connect_http_requests_total{code="200",route="GET /capi/v1/client/product/{productType}"}`) {
		t.Errorf("metrics lack the route counter:\n%.2000s", metrics.Body)
	}
	// The database going away makes the node unready.
	e.App.DB.Close()
	if res := e.Call(testkit.Request{Method: "GET", Path: "/readyz"}); res.Status != http.StatusServiceUnavailable {
		t.Errorf("readyz with a closed database: %d", res.Status)
	}
}

// TestSecretsNeverLeak: client secrets (even when a client puts them in the
// query string) and tokens appear neither in responses nor in the logs.
func TestSecretsNeverLeak(t *testing.T) {
	var logs syncBuffer
	e := testkit.New(t, "sqlite", testkit.WithLogs(&logs))
	secrets := []string{"wrong-secret-value", testkit.ClientSecret}
	var bodies []string
	for _, secret := range secrets {
		res := e.Call(testkit.Request{Method: "POST", Path: "/user/oauth/token?" + url.Values{
			"grant_type": {"client_credentials"}, "client_id": {"acme.web"}, "client_secret": {secret}}.Encode()})
		bodies = append(bodies, string(res.Body))
	}
	token := e.ClientToken()
	e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product?x=1", Token: token})
	e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product", Token: token + "broken"})
	for _, secret := range secrets {
		for _, b := range bodies {
			if strings.Contains(b, secret) {
				t.Errorf("secret echoed in a response: %s", b)
			}
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("secret %q in the logs", secret)
		}
	}
	if strings.Contains(logs.String(), token[:40]) {
		t.Error("access token in the logs")
	}
	if !strings.Contains(logs.String(), `"path":"/user/oauth/token"`) {
		t.Errorf("access log missing: %.500s", logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCORS(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken() // acme.web: return host localhost, redirect http://localhost:3000/callback
		rival := e.Token(testkit.RivalClientID, testkit.RivalSecret)
		preflight := func(origin string) *http.Response {
			req, _ := http.NewRequest("OPTIONS", e.URL+"/capi/v1/client/product", nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "authorization")
			res, err := e.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res
		}
		if res := preflight("http://localhost:3000"); res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
			!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("registered origin preflight: %d %v", res.StatusCode, res.Header)
		}
		if res := preflight("https://evil.example"); res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("unregistered origin allowed: %v", res.Header)
		}
		for _, tc := range []struct {
			name, origin, token string
			allowed             bool
		}{
			{"registered origin", "http://localhost:3000", tok, true},
			{"return host on another port", "http://localhost:8000", tok, true},
			{"foreign origin", "https://evil.example", tok, false},
			{"origin of another client", "http://localhost:3000", rival, false},
			{"malformed origin", "localhost", tok, false},
		} {
			res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product", Token: tc.token, Accept: "application/json",
				Header: http.Header{"Origin": {tc.origin}}})
			if res.Status != 200 {
				t.Fatalf("%s: %d", tc.name, res.Status)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin") == tc.origin; got != tc.allowed {
				t.Errorf("%s: Access-Control-Allow-Origin %q", tc.name, res.Header.Get("Access-Control-Allow-Origin"))
			}
		}
	})
}
