package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/httpx"
)

// discovery is the OpenID Provider Metadata (OpenID Connect Discovery 1.0).
type discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	UILocalesSupported                []string `json:"ui_locales_supported"`
}

// Discovery serves GET /user/.well-known/openid-configuration.
func (p *Provider) Discovery() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss := p.Issuer
		w.Header().Set("Cache-Control", "public, max-age=300")
		httpx.WriteJSON(w, http.StatusOK, discovery{
			Issuer:                            iss,
			AuthorizationEndpoint:             iss + "/oauth/authorize",
			TokenEndpoint:                     iss + "/oauth/token",
			UserinfoEndpoint:                  iss + "/oauth/userinfo",
			JWKSURI:                           iss + "/.well-known/jwks.json",
			RevocationEndpoint:                iss + "/oauth/revoke",
			IntrospectionEndpoint:             iss + "/oauth/introspect",
			EndSessionEndpoint:                iss + "/logout",
			ScopesSupported:                   []string{ScopeRead, "openid", "profile", "email", "phone", "offline_access"},
			ResponseTypesSupported:            []string{"code"},
			ResponseModesSupported:            []string{"query"},
			GrantTypesSupported:               []string{"authorization_code", "refresh_token", "client_credentials", GrantExtIDCode},
			SubjectTypesSupported:             []string{"public"},
			IDTokenSigningAlgValuesSupported:  []string{AlgRS256},
			TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "none"},
			CodeChallengeMethodsSupported:     []string{"S256"},
			ClaimsSupported: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "given_name",
				"family_name", "email", "email_verified", "phone_number", "phone_number_verified", "user_id"},
			UILocalesSupported: []string{"nb", "en"},
		})
	})
}

// auditGrantFailure writes the security-relevant token failures to the audit
// log: a reused authorization code or refresh token (whose family fosite has
// just revoked). Ordinary failures are not audited one by one.
func (p *Provider) auditGrantFailure(ctx context.Context, r *http.Request, ar fosite.AccessRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	var action string
	switch {
	case errors.Is(err, fosite.ErrInactiveToken) || strings.Contains(rfc.HintField, "refresh token was already used"):
		action = "token.refresh_reuse"
	case strings.Contains(rfc.HintField, "authorization code has already been used"):
		action = "token.code_reuse"
	default:
		return
	}
	e := audit.Entry{Actor: "client", Action: action, RemoteIP: remoteIP(r), At: time.Now(),
		Detail: map[string]any{"revoked": "grant family"}}
	if ar != nil {
		if c, ok := ar.GetClient().(*Client); ok {
			e.CompanyID, e.Actor = c.Record.CompanyID, "client:"+c.GetID()
		}
	}
	_ = audit.Record(ctx, p.DB, e)
}
