package auth

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/connect-oss/connect/internal/errs"
)

// KeySource finds the public key for a key id.
type KeySource interface {
	PublicKey(ctx context.Context, kid string) (*ecdsa.PublicKey, bool)
}

// RevocationList tells whether a token id was revoked before it expired.
type RevocationList interface {
	IsRevoked(jti string) bool
}

// Verifier checks access tokens without a database round trip: signature by
// a known key, expiry, issuer, and the in-memory revocation list.
type Verifier struct {
	Keys    KeySource
	Revoked RevocationList
	Issuer  string
	Now     func() time.Time

	// A client uses one access token for hours, and checking an ES256
	// signature costs more than the rest of a typical API call, so tokens
	// whose signature and claims checked out are remembered (bounded). Expiry
	// and revocation are still checked on every use.
	mu       sync.RWMutex
	verified map[string]*Principal
}

// maxVerified bounds the verified-token cache; when full it starts afresh.
const maxVerified = 100_000

// maxTokenLen bounds what we try to parse; our tokens are well under 1 KiB.
const maxTokenLen = 4096

type accessClaims struct {
	Issuer         string          `json:"iss"`
	Subject        string          `json:"sub"`
	Expiry         int64           `json:"exp"`
	IssuedAt       int64           `json:"iat"`
	JTI            string          `json:"jti"`
	Mode           Mode            `json:"mode"`
	CompanyID      int64           `json:"cid"`
	CompanyCode    string          `json:"cmp"`
	ClientID       string          `json:"client_id"`
	UserNumber     int64           `json:"unum"`
	CustomerNumber int64           `json:"cno"`
	Scopes         json.RawMessage `json:"scp"`
}

// BearerToken extracts the token of an "Authorization: Bearer <token>" header.
// The scheme is case-insensitive (RFC 7235); anything else is an error.
func BearerToken(header string) (string, error) {
	if header == "" {
		return "", errs.E(errs.Unauthenticated, "missing bearer token")
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errs.E(errs.Unauthenticated, "authorization header must be \"Bearer <token>\"")
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxTokenLen || strings.ContainsAny(token, " \t") {
		return "", errs.E(errs.Unauthenticated, "malformed bearer token")
	}
	return token, nil
}

// Verify checks token and returns its Principal, or an Unauthenticated error.
// The Principal is the caller's own copy.
func (v *Verifier) Verify(ctx context.Context, token string) (*Principal, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	v.mu.RLock()
	p, ok := v.verified[token]
	v.mu.RUnlock()
	if !ok {
		var err error
		if p, err = v.verifySignature(ctx, token, now()); err != nil {
			return nil, err
		}
		v.mu.Lock()
		if v.verified == nil || len(v.verified) >= maxVerified {
			v.verified = make(map[string]*Principal, 1024)
		}
		v.verified[token] = p
		v.mu.Unlock()
	}
	if !now().Before(p.ExpiresAt) {
		return nil, errs.E(errs.Unauthenticated, "token expired")
	}
	if v.Revoked != nil && v.Revoked.IsRevoked(p.TokenID) {
		return nil, errs.E(errs.Unauthenticated, "token revoked")
	}
	cp := *p
	return &cp, nil
}

// verifySignature checks the signature and claims of a token not seen before.
func (v *Verifier) verifySignature(ctx context.Context, token string, now time.Time) (*Principal, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errs.E(errs.Unauthenticated, "malformed token")
	}
	kid := jws.Signatures[0].Protected.KeyID
	key, ok := v.Keys.PublicKey(ctx, kid)
	if !ok {
		return nil, errs.E(errs.Unauthenticated, "token signed by an unknown key")
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, errs.E(errs.Unauthenticated, "bad token signature")
	}
	var c accessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errs.E(errs.Unauthenticated, "malformed token claims")
	}
	if c.Expiry == 0 || now.Unix() >= c.Expiry {
		return nil, errs.E(errs.Unauthenticated, "token expired")
	}
	if v.Issuer != "" && c.Issuer != v.Issuer {
		return nil, errs.E(errs.Unauthenticated, "token from another issuer")
	}
	if c.JTI == "" || c.CompanyID == 0 || c.ClientID == "" || (c.Mode != ClientMode && c.Mode != UserMode) {
		return nil, errs.E(errs.Unauthenticated, "token is not a Connect access token")
	}
	if c.Mode == UserMode && c.Subject == "" {
		return nil, errs.E(errs.Unauthenticated, "user token without subject")
	}
	p := &Principal{
		Mode:        c.Mode,
		CompanyID:   c.CompanyID,
		CompanyCode: c.CompanyCode,
		ClientID:    c.ClientID,
		TokenID:     c.JTI,
		ExpiresAt:   time.Unix(c.Expiry, 0),
		Scopes:      parseScopes(c.Scopes),
	}
	if c.Mode == UserMode {
		p.UserID, p.UserNumber, p.CustomerNumber = c.Subject, c.UserNumber, c.CustomerNumber
	}
	return p, nil
}

// parseScopes accepts the scope claim as a list or a space-separated string.
func parseScopes(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.Fields(s)
	}
	return nil
}
