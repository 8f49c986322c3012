package oauth

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/x/errorsx"

	"github.com/connect-oss/connect/internal/store"
)

// ExtIDCodeLifetime is how long an extidCode can be redeemed (spec README §3.2).
const ExtIDCodeLifetime = 5 * time.Minute

// ExtIDGrant is what an extidCode stands for.
type ExtIDGrant struct {
	ClientID       string
	CompanyID      int64
	UserID         int64
	UniqueID       string
	Credential     string // PREFIX:externalId
	CustomerNumber int64
}

// IssueExtIDCode creates a single-use code for the extid_code grant inside
// the caller's transaction and returns it (only its hash is stored).
func (p *Provider) IssueExtIDCode(ctx context.Context, q store.Queryer, g ExtIDGrant, now time.Time) (string, error) {
	code := randomToken(32)
	_, err := q.ExecContext(ctx, `INSERT INTO oauth_extid_codes
		(code_hash, client_id, company_id, user_id, subject, credential, customer_number, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		hashToken(code), g.ClientID, g.CompanyID, g.UserID, g.UniqueID, g.Credential, g.CustomerNumber,
		now.Add(ExtIDCodeLifetime).UnixMilli(), now.UnixMilli())
	if err != nil {
		return "", store.Translate(err)
	}
	return code, nil
}

// extIDHandler serves grant_type https://connectid.no/oauth2/grant_type/extid_code:
// a code from Register external Id buys a user-mode token for the user behind
// the external id.
type extIDHandler struct {
	p       *Provider
	access  oauth2.AccessTokenStrategy
	refresh oauth2.RefreshTokenStrategy
}

func (h *extIDHandler) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (h *extIDHandler) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne(GrantExtIDCode)
}

func (h *extIDHandler) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return errorsx.WithStack(fosite.ErrUnknownRequest)
	}
	client, ok := r.GetClient().(*Client)
	if !ok {
		return fosite.ErrServerError
	}
	if !client.GetGrantTypes().Has(GrantExtIDCode) {
		return errorsx.WithStack(fosite.ErrUnauthorizedClient.WithHint("The client is not allowed to use the extid_code grant."))
	}
	code := r.GetRequestForm().Get("code")
	if code == "" || len(code) > 200 {
		return errorsx.WithStack(fosite.ErrInvalidRequest.WithHint("The parameter 'code' is required."))
	}
	// Redeem atomically: a code works once, before it expires, for the client
	// that registered it; every other case is the same invalid_grant.
	now := time.Now()
	var g ExtIDGrant
	err := h.p.DB.QueryRowContext(ctx, `UPDATE oauth_extid_codes SET used_at = $1
		WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 AND client_id = $3
		RETURNING company_id, user_id, subject, credential, customer_number`,
		now.UnixMilli(), hashToken(code), client.GetID()).
		Scan(&g.CompanyID, &g.UserID, &g.UniqueID, &g.Credential, &g.CustomerNumber)
	if errors.Is(err, sql.ErrNoRows) {
		return errorsx.WithStack(fosite.ErrInvalidGrant.WithHint("The extid code is unknown, expired, already used or was issued to another client."))
	}
	if err != nil {
		return errorsx.WithStack(fosite.ErrServerError.WithWrap(err))
	}
	sess, _ := r.GetSession().(*Session)
	if sess == nil {
		return fosite.ErrServerError
	}
	sess.ensure()
	sess.User = &User{ID: g.UserID, UniqueID: g.UniqueID, Credential: g.Credential, CredentialType: "D",
		AuthTime: now, CustomerNumber: g.CustomerNumber}
	sess.Subject = g.UniqueID
	atLifespan := fosite.GetEffectiveLifespan(client, fosite.GrantType(GrantExtIDCode), fosite.AccessToken, h.p.config.AccessTokenLifespan)
	sess.SetExpiresAt(fosite.AccessToken, now.UTC().Add(atLifespan).Round(time.Second))
	rtLifespan := fosite.GetEffectiveLifespan(client, fosite.GrantType(GrantExtIDCode), fosite.RefreshToken, h.p.config.RefreshTokenLifespan)
	sess.SetExpiresAt(fosite.RefreshToken, now.UTC().Add(rtLifespan).Round(time.Second))
	return nil
}

func (h *extIDHandler) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) (err error) {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return errorsx.WithStack(fosite.ErrUnknownRequest)
	}
	access, accessSig, err := h.access.GenerateAccessToken(ctx, r)
	if err != nil {
		return errorsx.WithStack(fosite.ErrServerError.WithWrap(err))
	}
	var refresh, refreshSig string
	if r.GetClient().GetGrantTypes().Has("refresh_token") {
		if refresh, refreshSig, err = h.refresh.GenerateRefreshToken(ctx, r); err != nil {
			return errorsx.WithStack(fosite.ErrServerError.WithWrap(err))
		}
	}
	st := h.p.Storage
	ctx, err = st.BeginTX(ctx)
	if err != nil {
		return errorsx.WithStack(fosite.ErrServerError.WithWrap(err))
	}
	defer func() {
		if err != nil {
			_ = st.Rollback(ctx)
		}
	}()
	if err = st.CreateAccessTokenSession(ctx, accessSig, r.Sanitize(nil)); err != nil {
		return errorsx.WithStack(fosite.ErrServerError.WithWrap(err))
	}
	if refreshSig != "" {
		if err = st.CreateRefreshTokenSession(ctx, refreshSig, accessSig, r.Sanitize(nil)); err != nil {
			return errorsx.WithStack(fosite.ErrServerError.WithWrap(err))
		}
	}
	if err = st.Commit(ctx); err != nil {
		return errorsx.WithStack(fosite.ErrServerError.WithWrap(err))
	}
	resp.SetAccessToken(access)
	resp.SetTokenType("bearer")
	resp.SetExpiresIn(time.Until(r.GetSession().GetExpiresAt(fosite.AccessToken)).Round(time.Second))
	resp.SetScopes(r.GetGrantedScopes())
	if refresh != "" {
		resp.SetExtra("refresh_token", refresh)
	}
	return nil
}
