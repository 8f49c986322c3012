package oauth

import (
	"encoding/json"
	"strconv"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/connect-oss/connect/internal/auth"
)

// UserTokenClaims describe a user-mode access token minted outside the
// authorization flows: for tests and benchmark tools, which need a token for a
// given customer without driving the login pages.
type UserTokenClaims struct {
	Issuer         string
	CompanyID      int64
	CompanyCode    string
	ClientID       string
	UniqueID       string
	UserNumber     int64
	CustomerNumber int64
	TTL            time.Duration
}

// MintUserToken signs claims as the authorization-code grant would, with key
// (the current ES256 key). The token is not registered for revocation by
// session; it expires after TTL.
func MintUserToken(key *SigningKey, c UserTokenClaims) (string, error) {
	now := time.Now()
	claims := map[string]any{
		"iss": c.Issuer, "sub": c.UniqueID, "exp": now.Add(c.TTL).Unix(), "iat": now.Unix(),
		"jti": "minted-" + strconv.FormatInt(now.UnixNano(), 36), auth.ClaimMode: string(auth.UserMode),
		auth.ClaimCompanyID: c.CompanyID, auth.ClaimCompanyCode: c.CompanyCode, auth.ClaimClientID: c.ClientID,
		auth.ClaimUserNumber: c.UserNumber, auth.ClaimCustomerNumber: c.CustomerNumber, auth.ClaimScopes: []string{ScopeRead},
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key.Private, KeyID: key.KID}}, nil)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
