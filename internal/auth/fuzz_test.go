package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/connect-oss/connect/internal/errs"
)

type oneKey struct {
	kid string
	key *ecdsa.PrivateKey
}

func (k oneKey) PublicKey(_ context.Context, kid string) (*ecdsa.PublicKey, bool) {
	if kid != k.kid {
		return nil, false
	}
	return &k.key.PublicKey, true
}

type revoked map[string]bool

func (r revoked) IsRevoked(jti string) bool { return r[jti] }

func sign(t testing.TB, k oneKey, claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k.key, KeyID: k.kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, _ := signer.Sign(b)
	s, _ := jws.CompactSerialize()
	return s
}

func testVerifier(t testing.TB) (*Verifier, oneKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k := oneKey{kid: "k1", key: key}
	return &Verifier{Keys: k, Revoked: revoked{"gone": true}, Issuer: "http://x/user"}, k
}

func validClaims() map[string]any {
	return map[string]any{"iss": "http://x/user", "sub": "acme.web", "exp": time.Now().Add(time.Hour).Unix(),
		"jti": "j1", "mode": "client", "cid": 1, "cmp": "ACME", "client_id": "acme.web", "scp": "read"}
}

func TestVerifyClaims(t *testing.T) {
	v, k := testVerifier(t)
	with := func(key string, val any) map[string]any {
		c := validClaims()
		if val == nil {
			delete(c, key)
		} else {
			c[key] = val
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"valid", validClaims(), true},
		{"no expiry", with("exp", nil), false},
		{"no jti", with("jti", nil), false},
		{"revoked", with("jti", "gone"), false},
		{"unknown mode", with("mode", "admin"), false},
		{"no company", with("cid", nil), false},
		{"user without subject", func() map[string]any { c := with("mode", "user"); delete(c, "sub"); return c }(), false},
		{"wrong issuer", with("iss", "http://y/user"), false},
		{"exp as string", with("exp", "soon"), false},
	} {
		p, err := v.Verify(context.Background(), sign(t, k, tc.claims))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.name, err)
		}
		if err != nil && errs.KindOf(err) != errs.Unauthenticated {
			t.Errorf("%s: kind %d", tc.name, errs.KindOf(err))
		}
		if tc.ok && (p.ClientID != "acme.web" || len(p.Scopes) != 1 || p.Mode != ClientMode) {
			t.Errorf("%s: principal %+v", tc.name, p)
		}
	}
}

// FuzzBearerToken feeds arbitrary Authorization headers through the parser
// and the verifier: they must answer an Unauthenticated error, never panic.
func FuzzBearerToken(f *testing.F) {
	v, k := testVerifier(f)
	valid := sign(f, k, validClaims())
	for _, seed := range []string{"", "Bearer", "Bearer ", "Bearer " + valid, "bearer " + valid, "Basic YTpi",
		"Bearer a.b.c", "Bearer ....", "Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer " + valid + "x", "Bearer \x00\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, err := BearerToken(header)
		if err != nil {
			if errs.KindOf(err) != errs.Unauthenticated {
				t.Fatalf("parser error of kind %d", errs.KindOf(err))
			}
			return
		}
		p, err := v.Verify(context.Background(), token)
		if err != nil {
			if errs.KindOf(err) != errs.Unauthenticated {
				t.Fatalf("verify error of kind %d", errs.KindOf(err))
			}
			return
		}
		if token != valid || p.ClientID != "acme.web" {
			t.Fatalf("accepted a token that was not issued: %q", token)
		}
	})
}

// TestVerifyCacheKeepsChecking: a token verified once is still refused once it
// expires or is revoked.
func TestVerifyCacheKeepsChecking(t *testing.T) {
	v, k := testVerifier(t)
	now := time.Now()
	v.Now = func() time.Time { return now }
	c := validClaims()
	c["exp"] = now.Add(time.Minute).Unix()
	c["jti"] = "later-revoked"
	token := sign(t, k, c)
	p, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	p.ClientID = "mutated" // a caller's copy must not change the cache
	if p2, err := v.Verify(context.Background(), token); err != nil || p2.ClientID != "acme.web" {
		t.Fatalf("second verify: %+v %v", p2, err)
	}
	v.Revoked = revoked{"later-revoked": true}
	if _, err := v.Verify(context.Background(), token); err == nil {
		t.Fatal("revoked token accepted from the cache")
	}
	v.Revoked = revoked{}
	now = now.Add(2 * time.Minute)
	if _, err := v.Verify(context.Background(), token); err == nil {
		t.Fatal("expired token accepted from the cache")
	}
}
