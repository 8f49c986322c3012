package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/oauth"
	"github.com/connect-oss/connect/internal/store"
)

// Session and remember-me lifetimes (spec README §4).
const (
	SessionIdle    = 30 * time.Minute
	RememberMeLife = 90 * 24 * time.Hour
)

// Service is ConnectID's account logic, shared by the login pages and the API.
type Service struct {
	DB       *store.DB
	OAuth    *oauth.Provider
	Sender   Sender
	Throttle *Throttle
	Demo     bool // demo mode: the /user/dev/mailbox page is served
	Now      func() time.Time

	key []byte // HMAC key of one-time codes
}

// NewService builds the service with the default sender and throttle.
func NewService(ctx context.Context, db *store.DB, provider *oauth.Provider, demo bool) (*Service, error) {
	key, err := provider.ServerSecret(ctx, "identity_code_key")
	if err != nil {
		return nil, err
	}
	return &Service{
		DB: db, OAuth: provider, Sender: DBSender{DB: db}, Demo: demo, key: key,
		Throttle: &Throttle{DB: db, Window: 15 * time.Minute, PerCredential: 10, PerIP: 100},
	}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ErrBadLogin is the one answer to a wrong credential or password, whether
// the account exists or not.
var ErrBadLogin = errs.E(errs.Unauthenticated, "wrong e-mail address, mobile number or password")

// Authenticate checks a credential and password, throttled per credential and
// per IP. It verifies a password hash even for unknown credentials, so the
// answer's timing does not reveal which accounts exist.
func (s *Service) Authenticate(ctx context.Context, rawCredential, password, ip string, companyID int64) (*User, string, error) {
	now := s.now()
	credential, _, nerr := Normalize("credential", rawCredential)
	if nerr != nil {
		credential = rawCredential
	}
	keys := []string{CredentialKey(credential), IPKey(ip)}
	if err := s.Throttle.Check(ctx, now, keys...); err != nil {
		return nil, "", err
	}
	var u *User
	if nerr == nil {
		var err error
		u, err = FindByCredential(ctx, s.DB, credential)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return nil, "", err
		}
	}
	ok := false
	if u != nil {
		ok = u.CheckPasswordOf(password) && !u.Blocked
	} else {
		VerifyPassword(dummyHash, password)
	}
	if !ok {
		_ = s.Throttle.Fail(ctx, now, keys...)
		e := audit.Entry{CompanyID: companyID, Actor: "anonymous", Action: "login.failure", RemoteIP: ip, At: now,
			Detail: map[string]any{"credentialKey": CredentialKey(credential)}}
		if u != nil {
			e.Target = "user:" + u.UniqueID
		}
		_ = audit.Record(ctx, s.DB, e)
		return nil, "", ErrBadLogin
	}
	s.Throttle.Reset(ctx, CredentialKey(credential))
	return u, credential, nil
}

// LoginSession is a browser session of the login host.
type LoginSession struct {
	ID         string // SHA-256 of the cookie value; also the id grants carry
	UserID     int64
	Credential string
	AuthTime   time.Time
}

func randomValue() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func digest(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// StartSession creates a new session (a new id at every login) and returns
// the cookie value; only its digest is stored.
func (s *Service) StartSession(ctx context.Context, q store.Queryer, userID int64, credential, ip string, authTime time.Time) (string, *LoginSession, error) {
	now := s.now()
	v := randomValue()
	ls := &LoginSession{ID: digest(v), UserID: userID, Credential: credential, AuthTime: authTime}
	_, err := q.ExecContext(ctx, `INSERT INTO login_sessions (id_hash, user_id, credential, auth_time, last_seen_at, expires_at, remote_ip, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $5)`, ls.ID, userID, credential, authTime.UnixMilli(), now.UnixMilli(),
		now.Add(SessionIdle).UnixMilli(), ip)
	if err != nil {
		return "", nil, store.Translate(err)
	}
	return v, ls, nil
}

// Session looks up a live session by cookie value and extends its idle
// expiry (written at most once a minute, to keep page views cheap).
func (s *Service) Session(ctx context.Context, cookie string) (*LoginSession, error) {
	if cookie == "" || len(cookie) > 100 {
		return nil, nil
	}
	now := s.now()
	id := digest(cookie)
	var ls LoginSession
	var auth, seen, expires int64
	err := s.DB.QueryRowContext(ctx, `SELECT s.user_id, s.credential, s.auth_time, s.last_seen_at, s.expires_at
		FROM login_sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1 AND s.ended_at IS NULL AND NOT u.blocked`, id).Scan(&ls.UserID, &ls.Credential, &auth, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	if now.UnixMilli() >= expires {
		return nil, nil
	}
	ls.ID, ls.AuthTime = id, time.UnixMilli(auth)
	if now.Sub(time.UnixMilli(seen)) > time.Minute {
		_, _ = s.DB.ExecContext(ctx, `UPDATE login_sessions SET last_seen_at = $1, expires_at = $2 WHERE id_hash = $3`,
			now.UnixMilli(), now.Add(SessionIdle).UnixMilli(), id)
	}
	return &ls, nil
}

// EndSession ends a session and revokes every token issued under it.
func (s *Service) EndSession(ctx context.Context, tx *sql.Tx, sessionID string) (int, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE login_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL`,
		s.now().UnixMilli(), sessionID); err != nil {
		return 0, err
	}
	return s.OAuth.Storage.RevokeSession(ctx, tx, sessionID)
}

// Remember creates a remember-me token of a client for the user.
func (s *Service) Remember(ctx context.Context, q store.Queryer, userID int64, clientID, credential string) (string, error) {
	now := s.now()
	v := randomValue()
	_, err := q.ExecContext(ctx, `INSERT INTO remember_tokens (token_hash, user_id, client_id, credential, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, digest(v), userID, clientID, credential, now.Add(RememberMeLife).UnixMilli(), now.UnixMilli())
	return v, store.Translate(err)
}

// Remembered returns the user and credential of a live remember-me token of the client.
func (s *Service) Remembered(ctx context.Context, token, clientID string) (int64, string, bool) {
	if token == "" || len(token) > 100 {
		return 0, "", false
	}
	var userID int64
	var credential string
	err := s.DB.QueryRowContext(ctx, `SELECT r.user_id, r.credential FROM remember_tokens r JOIN users u ON u.id = r.user_id
		WHERE r.token_hash = $1 AND r.client_id = $2 AND r.revoked_at IS NULL AND r.expires_at > $3 AND NOT u.blocked`,
		digest(token), clientID, s.now().UnixMilli()).Scan(&userID, &credential)
	if err != nil {
		return 0, "", false
	}
	return userID, credential, true
}

// Forget revokes a remember-me token.
func (s *Service) Forget(ctx context.Context, q store.Queryer, token string) error {
	if token == "" {
		return nil
	}
	_, err := q.ExecContext(ctx, `UPDATE remember_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL`,
		s.now().UnixMilli(), digest(token))
	return err
}

// EndAllSessions ends every session and remember-me token of a user and
// revokes all its tokens (password reset).
func (s *Service) EndAllSessions(ctx context.Context, tx *sql.Tx, userID int64) error {
	now := s.now().UnixMilli()
	if _, err := tx.ExecContext(ctx, `UPDATE login_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL`, now, userID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE remember_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, now, userID); err != nil {
		return err
	}
	return s.OAuth.Storage.RevokeUser(ctx, tx, userID)
}
