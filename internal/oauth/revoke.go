package oauth

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/httpx"
)

// authenticateClient authenticates the calling client of revocation and
// introspection the same ways as the token endpoint (Basic, form, query).
func (p *Provider) authenticateClient(w http.ResponseWriter, r *http.Request) (*Client, bool) {
	ctx := r.Context()
	if err := mergeQueryIntoForm(r); err != nil {
		p.writeAccessError(ctx, w, nil, fosite.ErrInvalidRequest.WithHint("The request body could not be parsed."))
		return nil, false
	}
	if _, _, basic := r.BasicAuth(); !basic && r.PostForm.Get("client_id") == "" {
		p.writeAccessError(ctx, w, nil, fosite.ErrInvalidClient.WithHint("Authenticate the client with HTTP Basic or client_id and client_secret."))
		return nil, false
	}
	c, err := p.fosite.AuthenticateClient(ctx, r, r.PostForm)
	if err != nil {
		p.writeAccessError(ctx, w, nil, err)
		return nil, false
	}
	client, ok := c.(*Client)
	if !ok {
		p.writeAccessError(ctx, w, nil, fosite.ErrServerError)
		return nil, false
	}
	return client, true
}

// looksLikeJWT tells our access tokens (three dot-separated parts) from
// opaque refresh tokens (fosite's HMAC tokens have one dot).
func looksLikeJWT(t string) bool { return strings.Count(t, ".") == 2 }

// refreshRow is a refresh token's family and state.
type refreshRow struct {
	requestID, clientID string
	companyID           int64
	data                string
	active, revoked     bool
	expiresAt           int64
}

func (p *Provider) findRefresh(ctx context.Context, token string) (*refreshRow, bool) {
	if token == "" || len(token) > 512 {
		return nil, false
	}
	sig := p.refresh.RefreshTokenSignature(ctx, token)
	var x refreshRow
	err := p.DB.QueryRowContext(ctx, `SELECT request_id, client_id, company_id, data, active, revoked, expires_at
		FROM oauth_requests WHERE kind = $1 AND signature = $2`, kindRefresh, sig).
		Scan(&x.requestID, &x.clientID, &x.companyID, &x.data, &x.active, &x.revoked, &x.expiresAt)
	if err != nil {
		return nil, false
	}
	// The stored signature is an HMAC of the token's random part: check the
	// whole token too, as fosite does when refreshing, so a copy of the
	// database alone cannot revoke or introspect.
	if p.refresh.Enigma.Validate(ctx, strings.TrimPrefix(token, "ory_rt_")) != nil {
		return nil, false
	}
	return &x, true
}

// RevocationEndpoint serves POST /user/oauth/revoke (RFC 7009). A refresh
// token revokes its whole grant family (every refresh and access token of
// that login at that client); an access token is put on the revocation list.
// Unknown or already invalid tokens answer 200 as the RFC requires.
func (p *Provider) RevocationEndpoint() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		client, ok := p.authenticateClient(w, r)
		if !ok {
			return
		}
		token := r.PostForm.Get("token")
		if token == "" {
			p.writeAccessError(ctx, w, nil, fosite.ErrInvalidRequest.WithHint("The parameter 'token' is required."))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if !looksLikeJWT(token) {
			x, found := p.findRefresh(ctx, token)
			if found {
				if x.clientID != client.GetID() {
					p.writeAccessError(ctx, w, nil, fosite.ErrUnauthorizedClient.WithHint("The token was issued to another client."))
					return
				}
				if err := p.revokeFamily(ctx, r, client, x.requestID, "token.revoke"); err != nil {
					p.writeAccessError(ctx, w, nil, fosite.ErrServerError.WithWrap(err))
					return
				}
			}
			w.WriteHeader(http.StatusOK)
			return
		}
		v := &auth.Verifier{Keys: p.Keys, Issuer: p.Issuer} // no revocation check: revoking twice is fine
		pr, err := v.Verify(ctx, token)
		if err == nil {
			if pr.ClientID != client.GetID() {
				p.writeAccessError(ctx, w, nil, fosite.ErrUnauthorizedClient.WithHint("The token was issued to another client."))
				return
			}
			err := p.DB.Tx(ctx, func(tx *sql.Tx) error {
				if err := p.Revocations.Revoke(ctx, tx, pr.TokenID, pr.ExpiresAt); err != nil {
					return err
				}
				return audit.Record(ctx, tx, audit.Entry{CompanyID: client.Record.CompanyID, Actor: "client:" + client.GetID(),
					Action: "token.revoke", Target: "access:" + pr.TokenID, RemoteIP: remoteIP(r), At: time.Now()})
			})
			if err != nil {
				p.writeAccessError(ctx, w, nil, fosite.ErrServerError.WithWrap(err))
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
}

// revokeFamily revokes every token of a grant family in one transaction.
func (p *Provider) revokeFamily(ctx context.Context, r *http.Request, client *Client, requestID, action string) error {
	return p.DB.Tx(ctx, func(tx *sql.Tx) error {
		tctx := context.WithValue(ctx, txKey{}, tx)
		if err := p.Storage.RevokeRefreshToken(tctx, requestID); err != nil {
			return err
		}
		if err := p.Storage.RevokeAccessToken(tctx, requestID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{CompanyID: client.Record.CompanyID, Actor: "client:" + client.GetID(),
			Action: action, Target: "grant:" + requestID, RemoteIP: remoteIP(r), At: time.Now()})
	})
}

// introspection is the RFC 7662 response.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Expires   int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Mode      string `json:"mode,omitempty"`
	UserID    int64  `json:"userId,omitempty"`
	Customer  int64  `json:"customerNumber,omitempty"`
}

// IntrospectionEndpoint serves POST /user/oauth/introspect (RFC 7662) for
// confidential clients. A client sees tokens of its own company only; any
// other token, like an invalid one, is {"active":false}.
func (p *Provider) IntrospectionEndpoint() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		client, ok := p.authenticateClient(w, r)
		if !ok {
			return
		}
		if client.IsPublic() {
			p.writeAccessError(ctx, w, nil, fosite.ErrInvalidClient.WithHint("Introspection is for confidential clients."))
			return
		}
		token := r.PostForm.Get("token")
		if token == "" {
			p.writeAccessError(ctx, w, nil, fosite.ErrInvalidRequest.WithHint("The parameter 'token' is required."))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		out := introspection{}
		if looksLikeJWT(token) {
			if pr, err := p.Verifier().Verify(ctx, token); err == nil && pr.CompanyID == client.Record.CompanyID {
				out = introspection{Active: true, Scope: strings.Join(pr.Scopes, " "), ClientID: pr.ClientID,
					Expires: pr.ExpiresAt.Unix(), Issuer: p.Issuer, TokenType: "access_token", Mode: string(pr.Mode)}
				if pr.Mode == auth.UserMode {
					out.Subject, out.UserID, out.Customer = pr.UserID, pr.UserNumber, pr.CustomerNumber
				} else {
					out.Subject = pr.ClientID
				}
			}
		} else if x, found := p.findRefresh(ctx, token); found && x.companyID == client.Record.CompanyID &&
			x.active && !x.revoked && x.expiresAt > time.Now().UnixMilli() {
			req, err := p.Storage.decode(ctx, &row{requestID: x.requestID, data: x.data}, newSession())
			if err == nil {
				out = introspection{Active: true, Scope: strings.Join(req.GetGrantedScopes(), " "), ClientID: x.clientID,
					Expires: x.expiresAt / 1000, IssuedAt: req.GetRequestedAt().Unix(), Issuer: p.Issuer, TokenType: "refresh_token", Mode: string(auth.UserMode)}
				if s := sessionOf(req); s != nil && s.User != nil {
					out.Subject, out.UserID = s.User.UniqueID, s.User.ID
				}
			}
		}
		httpx.WriteJSON(w, http.StatusOK, out)
	})
}

// remoteIP is the caller's address without the port.
func remoteIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
