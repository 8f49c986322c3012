package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
)

// Purposes of one-time codes.
const (
	PurposeRegister = "register" // prove a new account's credential
	PurposeReset    = "reset"    // set a new password
	PurposeLogin    = "login"    // log in without a password
)

// Code rules: 6 digits, 15 minutes, 5 wrong tries kill a code.
const (
	CodeLifetime    = 15 * time.Minute
	CodeMaxAttempts = 5
)

func newCode() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%06d", binary.BigEndian.Uint64(b[:])%1_000_000)
}

func (s *Service) codeHash(purpose, credential, code string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose + "\x00" + credential + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// IssueCode creates a one-time code for a credential (replacing any earlier
// unused one of the same purpose) and sends it by e-mail or SMS.
func (s *Service) IssueCode(ctx context.Context, purpose, credential, typ string, userID int64, lang string) error {
	now := s.now()
	code := newCode()
	var uid any
	if userID != 0 {
		uid = userID
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE verification_codes SET used_at = $1
			WHERE credential = $2 AND purpose = $3 AND used_at IS NULL`, now.UnixMilli(), credential, purpose); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO verification_codes (purpose, credential, user_id, code_hash, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, purpose, credential, uid, s.codeHash(purpose, credential, code),
			now.Add(CodeLifetime).UnixMilli(), now.UnixMilli())
		return err
	})
	if err != nil {
		return err
	}
	m := codeMessage(purpose, code, lang)
	m.To = credential
	m.Channel = "email"
	if typ == TypePhone {
		m.Channel, m.Subject = "sms", ""
	}
	return s.Sender.Send(ctx, m)
}

func codeMessage(purpose, code, lang string) Message {
	nb := lang == "nb"
	var subject, body string
	switch purpose {
	case PurposeReset:
		subject, body = "Reset your ConnectID password", "Your code to set a new password is %s. It is valid for 15 minutes."
		if nb {
			subject, body = "Nytt passord for ConnectID", "Koden for å sette nytt passord er %s. Den gjelder i 15 minutter."
		}
	default:
		subject, body = "Your ConnectID code", "Your ConnectID code is %s. It is valid for 15 minutes."
		if nb {
			subject, body = "Din ConnectID-kode", "Din ConnectID-kode er %s. Den gjelder i 15 minutter."
		}
	}
	return Message{Subject: subject, Body: fmt.Sprintf(body, code)}
}

// VerifyCode consumes a matching code. Wrong codes count against the code
// and the credential's throttle; every failure gives the same error.
func (s *Service) VerifyCode(ctx context.Context, purpose, credential, code, ip string) error {
	now := s.now()
	keys := []string{CredentialKey(credential), IPKey(ip)}
	if err := s.Throttle.Check(ctx, now, keys...); err != nil {
		return err
	}
	bad := errs.Field("code", "the code is wrong or has expired")
	var id int64
	var hash string
	var attempts int
	err := s.DB.QueryRowContext(ctx, `SELECT id, code_hash, attempts FROM verification_codes
		WHERE credential = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
		ORDER BY id DESC LIMIT 1`, credential, purpose, now.UnixMilli()).Scan(&id, &hash, &attempts)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && attempts >= CodeMaxAttempts) {
		_ = s.Throttle.Fail(ctx, now, keys...)
		return bad
	}
	if err != nil {
		return store.Translate(err)
	}
	if !hmac.Equal([]byte(hash), []byte(s.codeHash(purpose, credential, code))) {
		_, _ = s.DB.ExecContext(ctx, `UPDATE verification_codes SET attempts = attempts + 1 WHERE id = $1`, id)
		_ = s.Throttle.Fail(ctx, now, keys...)
		return bad
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE verification_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL`, now.UnixMilli(), id)
	if err != nil {
		return store.Translate(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return bad // used concurrently
	}
	return nil
}
