// Package oauth is the OAuth 2.0 server of ConnectID (/user/oauth/...), built on
// ory/fosite: we supply storage on our database, signing keys and the claims of
// our access tokens; fosite does the protocol.
package oauth

import (
	"context"
	"errors"
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
	"github.com/connect-oss/connect/internal/tenant"
)

// ScopeRead is the one scope of the Connect API ("for all access").
const ScopeRead = "read"

// Config is what the provider needs from the operator.
type Config struct {
	Issuer    string // the public base URL of /user, e.g. http://127.0.0.1:8080/user
	SecretKey string // CONNECT_SECRET_KEY: pepper for client secret digests; optional
	// RefreshGrace is how long a rotated refresh token is still honoured while
	// its successor is unused (concurrent refreshes); 0 means 10 seconds.
	RefreshGrace time.Duration
}

// Provider is the OAuth 2.0 authorization server.
type Provider struct {
	DB          *store.DB
	Keys        *Keys
	Revocations *Revocations
	Hasher      *SecretHasher
	Storage     *Storage
	Issuer      string

	fosite  *fosite.Fosite
	config  *fosite.Config
	refresh *oauth2.HMACSHAStrategy
	grants  map[string]bool // grant types the composed handlers serve
}

// Grant types beyond fosite's names.
const GrantExtIDCode = "https://connectid.no/oauth2/grant_type/extid_code"

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
	grace := cfg.RefreshGrace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	p := &Provider{DB: db, Keys: keys, Revocations: revs, Hasher: hasher, Issuer: cfg.Issuer}
	p.Storage = &Storage{db: db, clients: tenant.NewClientCache(db, 10*time.Second), revs: revs, grace: grace}
	revs.prune = p.Storage.Prune

	// The HMAC secret of codes and refresh tokens must be the same on every
	// node and across restarts, so it lives in the database like the digest key.
	globalSecret, err := serverSecret(ctx, db, "oauth_hmac_secret")
	if err != nil {
		return nil, err
	}
	fcfg := &fosite.Config{
		AccessTokenLifespan:         12 * time.Hour,
		RefreshTokenLifespan:        30 * 24 * time.Hour,
		AuthorizeCodeLifespan:       5 * time.Minute,
		IDTokenLifespan:             time.Hour,
		AccessTokenIssuer:           cfg.Issuer,
		IDTokenIssuer:               cfg.Issuer,
		ClientSecretsHasher:         hasher,
		ScopeStrategy:               fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:    fosite.DefaultAudienceMatchingStrategy,
		JWTScopeClaimKey:            jwt.JWTScopeFieldList,
		EnforcePKCEForPublicClients: true,
		// Refresh tokens come with every code grant (spec README §3.2), not
		// only with scope offline_access.
		RefreshTokenScopes: []string{},
		// state is recommended, not required: deployed clients may omit it.
		MinParameterEntropy:        -1,
		GlobalSecret:               globalSecret,
		SendDebugMessagesToClients: false,
		TokenURL:                   cfg.Issuer + "/oauth/token",
	}
	p.config = fcfg
	accessKey := func(context.Context) (interface{}, error) {
		k, err := keys.CurrentAlg(AlgES256)
		if err != nil {
			return nil, err
		}
		// A JSONWebKey with a KeyID makes go-jose put "kid" in the header,
		// always matching the key that signed.
		return &jose3.JSONWebKey{Key: k.Private, KeyID: k.KID, Algorithm: string(jose3.ES256), Use: "sig"}, nil
	}
	idKey := func(context.Context) (interface{}, error) {
		k, err := keys.CurrentAlg(AlgRS256)
		if err != nil {
			return nil, err
		}
		return &jose3.JSONWebKey{Key: k.RSA, KeyID: k.KID, Algorithm: string(jose3.RS256), Use: "sig"}, nil
	}
	hmacStrategy := compose.NewOAuth2HMACStrategy(fcfg)
	p.refresh = hmacStrategy
	strategy := &compose.CommonStrategy{
		CoreStrategy:               claimsStrategy{compose.NewOAuth2JWTStrategy(accessKey, hmacStrategy, fcfg)},
		OpenIDConnectTokenStrategy: compose.NewOpenIDConnectStrategy(idKey, fcfg),
		Signer:                     &jwt.DefaultSigner{GetPrivateKey: idKey},
	}
	f := compose.Compose(fcfg, p.Storage, strategy,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2PKCEFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
	).(*fosite.Fosite)
	ext := &extIDHandler{p: p, access: strategy.CoreStrategy, refresh: hmacStrategy}
	fcfg.TokenEndpointHandlers.Append(ext)
	p.fosite = f
	p.grants = map[string]bool{"client_credentials": true, "authorization_code": true, "refresh_token": true, GrantExtIDCode: true}
	return p, nil
}

// Verifier returns the bearer token verifier for the API.
func (p *Provider) Verifier() *auth.Verifier {
	return &auth.Verifier{Keys: p.Keys, Revoked: p.Revocations, Issuer: p.Issuer}
}

// claimsStrategy sets our access-token claims just before fosite signs a
// token, in every flow: fosite re-reads stored sessions between validating a
// request and issuing its tokens, so claims set earlier would be overwritten.
type claimsStrategy struct{ oauth2.CoreStrategy }

func (s claimsStrategy) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	client, ok := r.GetClient().(*Client)
	sess, ok2 := r.GetSession().(*Session)
	if !ok || !ok2 {
		return "", "", errors.New("oauth: unexpected client or session type")
	}
	sess.ensure()
	claims := sess.JWTClaims
	claims.Extra[auth.ClaimCompanyID] = client.Record.CompanyID
	claims.Extra[auth.ClaimCompanyCode] = client.Record.CompanyCode
	claims.Extra[auth.ClaimClientID] = client.Record.ClientID
	if sess.User == nil {
		claims.Subject = client.Record.ClientID
		claims.Extra[auth.ClaimMode] = string(auth.ClientMode)
		claims.JTI = "" // fosite draws a random one
	} else {
		claims.Subject = sess.User.UniqueID
		sess.Subject = sess.User.UniqueID
		claims.Extra[auth.ClaimMode] = string(auth.UserMode)
		claims.Extra[auth.ClaimUserNumber] = sess.User.ID
		claims.Extra[auth.ClaimCustomerNumber] = sess.User.CustomerNumber
		// A fresh id per access token: the registry maps it to the grant
		// family and login session for revocation.
		claims.JTI = randomToken(16)
	}
	return s.CoreStrategy.GenerateAccessToken(ctx, r)
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
		gt := r.PostForm.Get("grant_type")
		if gt != "" && !p.grants[gt] {
			p.writeAccessError(ctx, w, nil, fosite.ErrUnsupportedGrantType.WithHintf("The grant type '%s' is not supported.", gt))
			return
		}
		if _, _, basic := r.BasicAuth(); !basic && r.PostForm.Get("client_id") == "" {
			p.writeAccessError(ctx, w, nil, fosite.ErrInvalidClient.WithHint("Authenticate the client with HTTP Basic or client_id and client_secret."))
			return
		}
		if gt == "authorization_code" && r.PostForm.Get("code") == "" {
			p.writeAccessError(ctx, w, nil, fosite.ErrInvalidRequest.WithHint("The parameter 'code' is required."))
			return
		}
		session := newSession()
		ar, err := p.fosite.NewAccessRequest(ctx, r, session)
		if err != nil {
			p.auditGrantFailure(ctx, r, ar, err)
			p.writeAccessError(ctx, w, ar, err)
			return
		}
		if _, ok := ar.GetClient().(*Client); !ok {
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
		// User grants must carry the user (claims are set when the token is
		// signed, see claimsStrategy).
		if !ar.GetGrantTypes().ExactOne("client_credentials") {
			if sess, _ := ar.GetSession().(*Session); sess == nil || sess.User == nil || sess.User.UniqueID == "" {
				p.writeAccessError(ctx, w, ar, fosite.ErrInvalidGrant.WithHint("The grant has no user."))
				return
			}
		}
		resp, err := p.fosite.NewAccessResponse(ctx, ar)
		if err != nil {
			p.writeAccessError(ctx, w, ar, err)
			return
		}
		// fosite truncates the seconds left (43199); clients expect the
		// lifetime (43200): round up, never beyond the configured lifetime.
		if exp := ar.GetSession().GetExpiresAt(fosite.AccessToken); !exp.IsZero() {
			left := time.Until(exp)
			up := (left + time.Second - 1).Truncate(time.Second)
			life := fosite.GetEffectiveLifespan(ar.GetClient(), fosite.GrantType(ar.GetGrantTypes()[0]), fosite.AccessToken, p.config.AccessTokenLifespan)
			resp.SetExpiresIn(min(up, life))
		}
		p.fosite.WriteAccessResponse(ctx, w, ar, resp)
	})
}

func (p *Provider) writeAccessError(ctx context.Context, w http.ResponseWriter, ar fosite.AccessRequester, err error) {
	if errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
		// Two concurrent redemptions of one code: the loser is told so.
		err = fosite.ErrInvalidGrant.WithHint("The authorization code has already been used.")
	}
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
