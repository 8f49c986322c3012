package oauth

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/ory/fosite"
)

// AuthorizeRequest is a parsed, validated authorization request waiting for a
// logged-in user.
type AuthorizeRequest struct {
	fosite.AuthorizeRequester
	Client *Client
}

// AuthorizeError is a failed authorization request. Safe tells whether the
// error may be sent to the redirect_uri (the client and redirect_uri were
// valid); otherwise the page must show it and never redirect.
type AuthorizeError struct {
	Err  error
	Safe bool
	ar   fosite.AuthorizeRequester
}

func (e *AuthorizeError) Error() string { return e.Err.Error() }

// Description is the RFC 6749 error code and its description, for the page.
func (e *AuthorizeError) Description() (code, description string) {
	rfc := fosite.ErrorToRFC6749Error(e.Err)
	return rfc.ErrorField, rfc.GetDescription()
}

// ParseAuthorize validates GET /user/oauth/authorize (client, redirect_uri,
// response_type, scope, PKCE). An empty scope means "read".
func (p *Provider) ParseAuthorize(ctx context.Context, r *http.Request) (*AuthorizeRequest, *AuthorizeError) {
	q := r.URL.Query()
	if q.Get("scope") == "" {
		q.Set("scope", ScopeRead)
		r.URL.RawQuery = q.Encode()
		r.Form = nil
	}
	ar, err := p.fosite.NewAuthorizeRequest(ctx, r)
	if err != nil {
		return nil, &AuthorizeError{Err: err, Safe: ar != nil && ar.IsRedirectURIValid(), ar: ar}
	}
	client, ok := ar.GetClient().(*Client)
	if !ok {
		return nil, &AuthorizeError{Err: fosite.ErrServerError, ar: ar}
	}
	// fosite checks PKCE only when issuing the code; check it before the
	// login page, so the user is not asked to log in for a doomed request.
	form := ar.GetRequestForm()
	method, challenge := form.Get("code_challenge_method"), form.Get("code_challenge")
	switch {
	case challenge == "" && client.IsPublic():
		return nil, &AuthorizeError{Err: fosite.ErrInvalidRequest.WithHint("Clients without a secret must use PKCE (code_challenge with code_challenge_method=S256)."), Safe: true, ar: ar}
	case challenge != "" && method != "S256":
		return nil, &AuthorizeError{Err: fosite.ErrInvalidRequest.WithHint("Only code_challenge_method=S256 is supported."), Safe: true, ar: ar}
	case challenge == "" && method != "":
		return nil, &AuthorizeError{Err: fosite.ErrInvalidRequest.WithHint("code_challenge_method without code_challenge."), Safe: true, ar: ar}
	}
	if !client.GetGrantTypes().Has("authorization_code") {
		return nil, &AuthorizeError{Err: fosite.ErrUnauthorizedClient.WithHint("The client may not use the authorization code grant."), Safe: true, ar: ar}
	}
	return &AuthorizeRequest{AuthorizeRequester: ar, Client: client}, nil
}

// WriteAuthorizeError redirects a safe error to the client (RFC 6749
// §4.1.2.1). Callers show unsafe errors on a page themselves.
func (p *Provider) WriteAuthorizeError(ctx context.Context, w http.ResponseWriter, e *AuthorizeError) {
	p.fosite.WriteAuthorizeError(ctx, w, e.ar, e.Err)
}

// CompleteAuthorize issues the code for the logged-in user and redirects to
// the client. Every requested scope is granted (there is no consent screen:
// the publisher's own clients), and "read" always, so an OpenID Connect
// client's token also works on the API.
func (p *Provider) CompleteAuthorize(ctx context.Context, w http.ResponseWriter, ar *AuthorizeRequest, u *User) {
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	if !slices.Contains(ar.GetGrantedScopes(), ScopeRead) {
		ar.GrantScope(ScopeRead)
	}
	sess := newSession()
	sess.User = u
	sess.Subject = u.UniqueID
	sess.JWTClaims.Subject = u.UniqueID
	idc := sess.IDTokenClaims()
	idc.Subject = u.UniqueID
	idc.AuthTime = u.AuthTime.UTC().Truncate(time.Second)
	idc.RequestedAt = time.Now().UTC()
	for k, v := range u.Claims {
		idc.Extra[k] = v
	}
	resp, err := p.fosite.NewAuthorizeResponse(ctx, ar.AuthorizeRequester, sess)
	if err != nil {
		p.fosite.WriteAuthorizeError(ctx, w, ar.AuthorizeRequester, err)
		return
	}
	p.fosite.WriteAuthorizeResponse(ctx, w, ar.AuthorizeRequester, resp)
}

// Deny redirects an error for a valid request to the client (e.g.
// login_required for prompt=none without a session).
func (p *Provider) Deny(ctx context.Context, w http.ResponseWriter, ar *AuthorizeRequest, err error) {
	p.fosite.WriteAuthorizeError(ctx, w, ar.AuthorizeRequester, err)
}
