package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// SecretHasher stores client secrets as a keyed SHA-256 (HMAC) digest. Secrets
// are random with ≥ 256 bits, so a slow hash adds nothing but latency; the key
// (a pepper) means a copy of the database alone does not allow offline checks
// when the operator keeps the key outside it (CONNECT_SECRET_KEY).
type SecretHasher struct{ key []byte }

// NewSecretHasher uses key when given, else a key generated once and kept in
// the database (zero-setup default; operators should set CONNECT_SECRET_KEY).
func NewSecretHasher(ctx context.Context, db *store.DB, key string) (*SecretHasher, error) {
	if key != "" {
		if len(key) < 16 {
			return nil, errors.New("secret key: at least 16 characters")
		}
		return &SecretHasher{key: []byte(key)}, nil
	}
	var stored string
	err := db.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = 'client_secret_key'`).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		var b [32]byte
		_, _ = rand.Read(b[:])
		stored = hex.EncodeToString(b[:])
		_, err = db.ExecContext(ctx, `INSERT INTO server_secrets (name, value, created_at) VALUES ('client_secret_key', $1, $2) ON CONFLICT (name) DO NOTHING`, stored, time.Now().UnixMilli())
		if err == nil {
			// Another node may have won the race: read what is stored.
			err = db.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = 'client_secret_key'`).Scan(&stored)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &SecretHasher{key: []byte(stored)}, nil
}

// DigestSecret returns the hex digest stored for a client secret.
func (h *SecretHasher) DigestSecret(secret string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(secret))
	return hex.EncodeToString(m.Sum(nil))
}

// Hash implements fosite.Hasher.
func (h *SecretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return []byte(h.DigestSecret(string(data))), nil
}

// Compare implements fosite.Hasher in constant time.
func (h *SecretHasher) Compare(_ context.Context, hash, data []byte) error {
	if len(hash) == 0 || !hmac.Equal(hash, []byte(h.DigestSecret(string(data)))) {
		return errors.New("secret mismatch")
	}
	return nil
}
