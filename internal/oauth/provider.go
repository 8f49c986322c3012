// Package oauth is the OAuth 2.0 server of ConnectID (/user/oauth/...), built on
// ory/fosite: we supply storage on our database, signing keys and the claims of
// our access tokens; fosite does the protocol.
package oauth

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	jose3 "github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/jwt"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/store"
)

// ScopeRead is the one scope of the Connect API ("for all access").
const ScopeRead = "read"

// Config is what the provider needs from the operator.
type Config struct {
	Issuer    string // the public base URL of /user, e.g. http://127.0.0.1:8080/user
	SecretKey string // CONNECT_SECRET_KEY: pepper for client secret digests; optional
}

// Provider is the OAuth 2.0 authorization server.
type Provider struct {
	DB          *store.DB
	Keys        *Keys
	Revocations *Revocations
	Hasher      *SecretHasher
	Storage     *Storage
	Issuer      string

	fosite fosite.OAuth2Provider
	grants map[string]bool // grant types the composed handlers serve
}

// New builds the provider: it loads (or creates) the signing keys and the
// secret digest key, and composes fosite with the grants we serve.
func New(ctx context.Context, db *store.DB, cfg Config) (*Provider, error) {
	keys, err := LoadKeys(ctx, db)
	if err != nil {
		return nil, err
	}
	hasher, err := NewSecretHasher(ctx, db, cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	revs, err := NewRevocations(ctx, db)
	if err != nil {
		return nil, err
	}
	p := &Provider{DB: db, Keys: keys, Revocations: revs, Hasher: hasher, Issuer: cfg.Issuer}
	p.Storage = &Storage{db: db}

	globalSecret := make([]byte, 32)
	_, _ = rand.Read(globalSecret)
	fcfg := &fosite.Config{
		AccessTokenLifespan:         12 * time.Hour,
		RefreshTokenLifespan:        30 * 24 * time.Hour,
		AuthorizeCodeLifespan:       5 * time.Minute,
		AccessTokenIssuer:           cfg.Issuer,
		IDTokenIssuer:               cfg.Issuer,
		ClientSecretsHasher:         hasher,
		ScopeStrategy:               fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:    fosite.DefaultAudienceMatchingStrategy,
		JWTScopeClaimKey:            jwt.JWTScopeFieldList,
		EnforcePKCEForPublicClients: true,
		GlobalSecret:                globalSecret,
		SendDebugMessagesToClients:  false,
		TokenURL:                    cfg.Issuer + "/oauth/token",
	}
	keyGetter := func(context.Context) (interface{}, error) {
		k, err := keys.Current()
		if err != nil {
			return nil, err
		}
		// A JSONWebKey with a KeyID makes go-jose put "kid" in the header,
		// always matching the key that signed.
		return &jose3.JSONWebKey{Key: k.Private, KeyID: k.KID, Algorithm: string(jose3.ES256), Use: "sig"}, nil
	}
	strategy := &compose.CommonStrategy{
		CoreStrategy: compose.NewOAuth2JWTStrategy(keyGetter, compose.NewOAuth2HMACStrategy(fcfg), fcfg),
	}
	p.fosite = compose.Compose(fcfg, p.Storage, strategy,
		compose.OAuth2ClientCredentialsGrantFactory,
	)
	p.grants = map[string]bool{"client_credentials": true}
	return p, nil
}

// Verifier returns the bearer token verifier for the API.
func (p *Provider) Verifier() *auth.Verifier {
	return &auth.Verifier{Keys: p.Keys, Revoked: p.Revocations, Issuer: p.Issuer}
}

// TokenEndpoint serves POST /user/oauth/token. It always answers JSON.
func (p *Provider) TokenEndpoint() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := mergeQueryIntoForm(r); err != nil {
			p.fosite.WriteAccessError(ctx, w, fosite.NewAccessRequest(newSession()), fosite.ErrInvalidRequest.WithHint("The request body could not be parsed."))
			return
		}
		// fosite answers both of these with invalid_request; RFC 6749 §5.2 has
		// the precise codes, which clients act on.
		if gt := r.PostForm.Get("grant_type"); gt != "" && !p.grants[gt] {
			p.writeAccessError(ctx, w, nil, fosite.ErrUnsupportedGrantType.WithHintf("The grant type '%s' is not supported.", gt))
			return
		}
		if _, _, basic := r.BasicAuth(); !basic && r.PostForm.Get("client_id") == "" {
			p.writeAccessError(ctx, w, nil, fosite.ErrInvalidClient.WithHint("Authenticate the client with HTTP Basic or client_id and client_secret."))
			return
		}
		session := newSession()
		ar, err := p.fosite.NewAccessRequest(ctx, r, session)
		if err != nil {
			p.writeAccessError(ctx, w, ar, err)
			return
		}
		client, ok := ar.GetClient().(*Client)
		if !ok {
			p.writeAccessError(ctx, w, ar, fosite.ErrServerError)
			return
		}
		if len(ar.GetRequestedScopes()) == 0 {
			// Real clients send scope=read or an empty scope; both mean read.
			ar.SetRequestedScopes(fosite.Arguments{ScopeRead})
		}
		for _, s := range ar.GetRequestedScopes() {
			ar.GrantScope(s)
		}
		claims := session.JWTClaims
		claims.Extra[auth.ClaimCompanyID] = client.Record.CompanyID
		claims.Extra[auth.ClaimCompanyCode] = client.Record.CompanyCode
		claims.Extra[auth.ClaimClientID] = client.Record.ClientID
		if ar.GetGrantTypes().ExactOne("client_credentials") {
			claims.Subject = client.Record.ClientID
			claims.Extra[auth.ClaimMode] = string(auth.ClientMode)
		}
		resp, err := p.fosite.NewAccessResponse(ctx, ar)
		if err != nil {
			p.writeAccessError(ctx, w, ar, err)
			return
		}
		p.fosite.WriteAccessResponse(ctx, w, ar, resp)
	})
}

func (p *Provider) writeAccessError(ctx context.Context, w http.ResponseWriter, ar fosite.AccessRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		slog.ErrorContext(ctx, "token endpoint failed", "err", err)
	}
	if rfc.ErrorField == fosite.ErrInvalidClient.ErrorField {
		// RFC 6749 §5.2: a failed client authentication answers 401 with a challenge.
		w.Header().Set("WWW-Authenticate", `Basic realm="connectid"`)
	}
	if ar == nil {
		ar = fosite.NewAccessRequest(newSession())
	}
	p.fosite.WriteAccessError(ctx, w, ar, err)
}

func newSession() *oauth2.JWTSession {
	return &oauth2.JWTSession{
		JWTClaims: &jwt.JWTClaims{Extra: map[string]interface{}{}},
		JWTHeader: &jwt.Headers{Extra: map[string]interface{}{}},
		ExpiresAt: map[fosite.TokenType]time.Time{},
	}
}

// mergeQueryIntoForm lets clients that put token parameters in the query string
// (a real PHP client does, even on POST) be served: a parameter missing from
// the body is taken from the query; where both carry it, the body wins.
func mergeQueryIntoForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	if r.PostForm == nil {
		r.PostForm = url.Values{}
	}
	for k, vs := range r.URL.Query() {
		if _, inBody := r.PostForm[k]; !inBody {
			r.PostForm[k] = vs
		}
	}
	return nil
}
