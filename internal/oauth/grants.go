package oauth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"

	"github.com/connect-oss/connect/internal/store"
)

// Kinds of rows in oauth_requests.
const (
	kindCode    = "code"
	kindPKCE    = "pkce"
	kindOIDC    = "oidc"
	kindRefresh = "refresh"
)

// storedRequest is a fosite request as kept in oauth_requests.data.
type storedRequest struct {
	ID                string          `json:"id"`
	RequestedAt       time.Time       `json:"requestedAt"`
	ClientID          string          `json:"clientId"`
	RequestedScope    []string        `json:"requestedScope"`
	GrantedScope      []string        `json:"grantedScope"`
	Form              url.Values      `json:"form"`
	RequestedAudience []string        `json:"requestedAudience"`
	GrantedAudience   []string        `json:"grantedAudience"`
	Session           json.RawMessage `json:"session"`
}

type txKey struct{}

// q is the transaction fosite opened (BeginTX), or the database.
func (s *Storage) q(ctx context.Context) store.Queryer {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	return s.db
}

// BeginTX implements fosite's storage.Transactional, so that rotating a
// refresh token and storing its successor commit together.
func (s *Storage) BeginTX(ctx context.Context) (context.Context, error) {
	if _, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return ctx, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, txKey{}, tx), nil
}

// Commit implements storage.Transactional.
func (s *Storage) Commit(ctx context.Context) error {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx.Commit()
	}
	return nil
}

// Rollback implements storage.Transactional.
func (s *Storage) Rollback(ctx context.Context) error {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		err := tx.Rollback()
		if errors.Is(err, sql.ErrTxDone) {
			return nil
		}
		return err
	}
	return nil
}

func sessionOf(r fosite.Requester) *Session {
	if r == nil {
		return nil
	}
	s, _ := r.GetSession().(*Session)
	return s
}

// put stores a request of a kind under signature.
func (s *Storage) put(ctx context.Context, kind, signature string, r fosite.Requester, expires time.Time) error {
	client, ok := r.GetClient().(*Client)
	if !ok {
		return fmt.Errorf("oauth: unexpected client type %T", r.GetClient())
	}
	sess := sessionOf(r)
	rawSession, err := json.Marshal(r.GetSession())
	if err != nil {
		return err
	}
	data, err := json.Marshal(storedRequest{
		ID: r.GetID(), RequestedAt: r.GetRequestedAt(), ClientID: client.GetID(),
		RequestedScope: r.GetRequestedScopes(), GrantedScope: r.GetGrantedScopes(), Form: r.GetRequestForm(),
		RequestedAudience: r.GetRequestedAudience(), GrantedAudience: r.GetGrantedAudience(), Session: rawSession,
	})
	if err != nil {
		return err
	}
	var userID sql.NullInt64
	sessionID := ""
	if sess != nil && sess.User != nil {
		userID = sql.NullInt64{Int64: sess.User.ID, Valid: true}
		sessionID = sess.User.SessionID
	}
	if expires.IsZero() {
		expires = time.Now().Add(time.Hour)
	}
	_, err = s.q(ctx).ExecContext(ctx, `INSERT INTO oauth_requests
		(kind, signature, request_id, client_id, company_id, user_id, session_id, data, active, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $10)`,
		kind, signature, r.GetID(), client.GetID(), client.Record.CompanyID, userID, sessionID, string(data),
		expires.UnixMilli(), time.Now().UnixMilli())
	return store.Translate(err)
}

// row is one oauth_requests row.
type row struct {
	requestID  string
	data       string
	active     bool
	revoked    bool
	rotatedSeq int64
	rotatedAt  sql.NullInt64
}

func (s *Storage) get(ctx context.Context, kind, signature string) (*row, error) {
	var x row
	err := s.q(ctx).QueryRowContext(ctx, `SELECT request_id, data, active, revoked, rotated_seq, rotated_at
		FROM oauth_requests WHERE kind = $1 AND signature = $2`, kind, signature).
		Scan(&x.requestID, &x.data, &x.active, &x.revoked, &x.rotatedSeq, &x.rotatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &x, nil
}

// decode rebuilds the fosite request of a row into session.
func (s *Storage) decode(ctx context.Context, x *row, session fosite.Session) (fosite.Requester, error) {
	var sr storedRequest
	if err := json.Unmarshal([]byte(x.data), &sr); err != nil {
		return nil, fmt.Errorf("oauth: stored request: %w", err)
	}
	client, err := s.GetClient(ctx, sr.ClientID)
	if err != nil {
		return nil, err // a deleted client's grants are void
	}
	if session == nil {
		session = newSession()
	}
	if err := json.Unmarshal(sr.Session, session); err != nil {
		return nil, fmt.Errorf("oauth: stored session: %w", err)
	}
	if ours, ok := session.(*Session); ok {
		ours.ensure()
	}
	if sr.Form == nil {
		sr.Form = url.Values{}
	}
	return &fosite.Request{
		ID: sr.ID, RequestedAt: sr.RequestedAt, Client: client,
		RequestedScope: sr.RequestedScope, GrantedScope: sr.GrantedScope, Form: sr.Form,
		RequestedAudience: sr.RequestedAudience, GrantedAudience: sr.GrantedAudience, Session: session,
	}, nil
}

func (s *Storage) del(ctx context.Context, kind, signature string) error {
	_, err := s.q(ctx).ExecContext(ctx, `DELETE FROM oauth_requests WHERE kind = $1 AND signature = $2`, kind, signature)
	return err
}

func expiry(r fosite.Requester, tt fosite.TokenType, fallback time.Duration) time.Time {
	if t := r.GetSession().GetExpiresAt(tt); !t.IsZero() {
		return t
	}
	return time.Now().Add(fallback)
}

// CreateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s *Storage) CreateAuthorizeCodeSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.put(ctx, kindCode, code, r, expiry(r, fosite.AuthorizeCode, 5*time.Minute))
}

// GetAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage: a used code
// answers ErrInvalidatedAuthorizeCode with its request, so fosite revokes
// what the first use issued.
func (s *Storage) GetAuthorizeCodeSession(ctx context.Context, code string, session fosite.Session) (fosite.Requester, error) {
	x, err := s.get(ctx, kindCode, code)
	if err != nil {
		return nil, err
	}
	r, err := s.decode(ctx, x, session)
	if err != nil {
		return nil, err
	}
	if !x.active {
		return r, fosite.ErrInvalidatedAuthorizeCode
	}
	return r, nil
}

// InvalidateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage. The
// conditional update makes two concurrent redemptions of one code fail one.
func (s *Storage) InvalidateAuthorizeCodeSession(ctx context.Context, code string) error {
	res, err := s.q(ctx).ExecContext(ctx, `UPDATE oauth_requests SET active = FALSE
		WHERE kind = $1 AND signature = $2 AND active`, kindCode, code)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fosite.ErrInvalidatedAuthorizeCode
	}
	return nil
}

// CreatePKCERequestSession implements pkce.PKCERequestStorage.
func (s *Storage) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.put(ctx, kindPKCE, signature, r, expiry(r, fosite.AuthorizeCode, 5*time.Minute))
}

// GetPKCERequestSession implements pkce.PKCERequestStorage.
func (s *Storage) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	x, err := s.get(ctx, kindPKCE, signature)
	if err != nil {
		return nil, err
	}
	return s.decode(ctx, x, session)
}

// DeletePKCERequestSession implements pkce.PKCERequestStorage.
func (s *Storage) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return s.del(ctx, kindPKCE, signature)
}

// CreateOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *Storage) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.put(ctx, kindOIDC, code, r, expiry(r, fosite.AuthorizeCode, 5*time.Minute))
}

// GetOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *Storage) GetOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) (fosite.Requester, error) {
	x, err := s.get(ctx, kindOIDC, code)
	if err != nil {
		return nil, err
	}
	return s.decode(ctx, x, r.GetSession())
}

// DeleteOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *Storage) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.del(ctx, kindOIDC, code)
}

// CreateAccessTokenSession implements oauth2.AccessTokenStorage. Access
// tokens are self-contained signed JWTs checked without the database; user
// tokens are registered by jti so logout, reuse detection and erasure can
// revoke them. Client-credentials tokens are not written at all (hot path).
func (s *Storage) CreateAccessTokenSession(ctx context.Context, _ string, r fosite.Requester) error {
	sess := sessionOf(r)
	if sess == nil || sess.User == nil || sess.JWTClaims == nil || sess.JWTClaims.JTI == "" {
		return nil
	}
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO oauth_access_tokens
		(jti, request_id, client_id, user_id, session_id, credential, credential_type, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		sess.JWTClaims.JTI, r.GetID(), r.GetClient().GetID(), sess.User.ID, sess.User.SessionID,
		sess.User.Credential, sess.User.CredentialType,
		expiry(r, fosite.AccessToken, 12*time.Hour).UnixMilli(), time.Now().UnixMilli())
	return store.Translate(err)
}

// LoginCredential returns the credential a user logged in with to obtain the
// access token jti (ok false for tokens not issued by a login, e.g. minted in tests).
func (s *Storage) LoginCredential(ctx context.Context, jti string) (credential, typ string, ok bool) {
	err := s.db.QueryRowContext(ctx, `SELECT credential, credential_type FROM oauth_access_tokens WHERE jti = $1`, jti).Scan(&credential, &typ)
	return credential, typ, err == nil && credential != ""
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage; see CreateAccessTokenSession.
func (s *Storage) GetAccessTokenSession(context.Context, string, fosite.Session) (fosite.Requester, error) {
	return nil, fosite.ErrNotFound
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage; see CreateAccessTokenSession.
func (s *Storage) DeleteAccessTokenSession(context.Context, string) error { return nil }

// CreateRefreshTokenSession implements oauth2.RefreshTokenStorage.
func (s *Storage) CreateRefreshTokenSession(ctx context.Context, signature string, _ string, r fosite.Requester) error {
	return s.put(ctx, kindRefresh, signature, r, expiry(r, fosite.RefreshToken, 30*24*time.Hour))
}

// GetRefreshTokenSession implements oauth2.RefreshTokenStorage. A rotated
// token is still honoured for a short grace while its successor has not been
// used, so two concurrent refreshes by one client both succeed; any later use
// is a replay, answered with ErrInactiveToken (fosite then revokes the family).
func (s *Storage) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	x, err := s.get(ctx, kindRefresh, signature)
	if err != nil {
		return nil, err
	}
	r, err := s.decode(ctx, x, session)
	if err != nil {
		return nil, err
	}
	switch {
	case x.revoked:
		return r, fosite.ErrInactiveToken
	case x.active:
		return r, nil
	}
	if x.rotatedAt.Valid && time.Since(time.UnixMilli(x.rotatedAt.Int64)) <= s.grace {
		var later int
		err := s.q(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM oauth_requests
			WHERE kind = $1 AND request_id = $2 AND (rotated_seq > $3 OR revoked)`, kindRefresh, x.requestID, x.rotatedSeq).Scan(&later)
		if err != nil {
			return nil, err
		}
		if later == 0 {
			return r, nil
		}
	}
	return r, fosite.ErrInactiveToken
}

// DeleteRefreshTokenSession implements oauth2.RefreshTokenStorage. fosite
// calls it on a replayed token; the row is kept, revoked, for the record.
func (s *Storage) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	_, err := s.q(ctx).ExecContext(ctx, `UPDATE oauth_requests SET active = FALSE, revoked = TRUE
		WHERE kind = $1 AND signature = $2`, kindRefresh, signature)
	return err
}

// RotateRefreshToken implements oauth2.RefreshTokenStorage: the used token
// becomes inactive, numbered in its family's order of rotation. Access
// tokens issued before are left to expire (revoking them would break a
// client's other threads still using them); reuse, logout and revocation
// revoke them.
func (s *Storage) RotateRefreshToken(ctx context.Context, requestID string, signature string) error {
	now := time.Now().UnixMilli()
	_, err := s.q(ctx).ExecContext(ctx, `UPDATE oauth_requests SET active = FALSE, rotated_at = $1,
		rotated_seq = (SELECT COALESCE(MAX(o.rotated_seq), 0) + 1 FROM oauth_requests o WHERE o.kind = $2 AND o.request_id = $3)
		WHERE kind = $2 AND signature = $4 AND request_id = $3 AND rotated_seq = 0`, now, kindRefresh, requestID, signature)
	return err
}

// RevokeRefreshToken implements oauth2.TokenRevocationStorage: every refresh
// token of the grant family.
func (s *Storage) RevokeRefreshToken(ctx context.Context, requestID string) error {
	_, err := s.q(ctx).ExecContext(ctx, `UPDATE oauth_requests SET active = FALSE, revoked = TRUE
		WHERE kind = $1 AND request_id = $2`, kindRefresh, requestID)
	return err
}

// RevokeAccessToken implements oauth2.TokenRevocationStorage: every access
// token of the grant family goes on the revocation list.
func (s *Storage) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.revokeAccessWhere(ctx, s.q(ctx), `request_id = $1`, requestID)
}

func (s *Storage) revokeAccessWhere(ctx context.Context, q store.Queryer, where string, arg any) error {
	rows, err := q.QueryContext(ctx, `SELECT jti, expires_at FROM oauth_access_tokens WHERE `+where+` AND expires_at > $2`, arg, time.Now().UnixMilli())
	if err != nil {
		return err
	}
	type tok struct {
		jti string
		exp int64
	}
	var toks []tok
	for rows.Next() {
		var t tok
		if err := rows.Scan(&t.jti, &t.exp); err != nil {
			rows.Close()
			return err
		}
		toks = append(toks, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range toks {
		if err := s.revs.Revoke(ctx, q, t.jti, time.UnixMilli(t.exp)); err != nil {
			return err
		}
	}
	return nil
}

// RevokeSession revokes every token issued under a login session (logout):
// its refresh tokens and its access tokens. It returns how many refresh
// tokens were active.
func (s *Storage) RevokeSession(ctx context.Context, q store.Queryer, sessionID string) (int, error) {
	if sessionID == "" {
		return 0, nil
	}
	res, err := q.ExecContext(ctx, `UPDATE oauth_requests SET active = FALSE, revoked = TRUE
		WHERE kind = $1 AND session_id = $2 AND NOT revoked`, kindRefresh, sessionID)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), s.revokeAccessWhere(ctx, q, `session_id = $1`, sessionID)
}

// RevokeUser revokes every token of a user, on every client (password reset,
// erasure).
func (s *Storage) RevokeUser(ctx context.Context, q store.Queryer, userID int64) error {
	if _, err := q.ExecContext(ctx, `UPDATE oauth_requests SET active = FALSE, revoked = TRUE
		WHERE kind = $1 AND user_id = $2 AND NOT revoked`, kindRefresh, userID); err != nil {
		return err
	}
	return s.revokeAccessWhere(ctx, q, `user_id = $1`, userID)
}

// Prune deletes expired grant rows and access-token registrations.
func (s *Storage) Prune(ctx context.Context, now time.Time) error {
	cutoff := now.Add(-time.Hour).UnixMilli()
	for _, stmt := range []string{
		`DELETE FROM oauth_requests WHERE expires_at < $1`,
		`DELETE FROM oauth_access_tokens WHERE expires_at < $1`,
		`DELETE FROM oauth_extid_codes WHERE expires_at < $1`,
	} {
		if _, err := s.db.ExecContext(ctx, stmt, cutoff); err != nil {
			return err
		}
	}
	return nil
}
