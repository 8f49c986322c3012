package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// randomToken returns n random bytes, base64url-encoded without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is the stored form of a one-time code (codes are random, so a
// plain SHA-256 is enough to make a database copy useless).
func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// serverSecret returns the named 32-byte secret kept in server_secrets,
// generating it on first use (the first node to insert wins).
func serverSecret(ctx context.Context, db *store.DB, name string) ([]byte, error) {
	var stored string
	err := db.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		var b [32]byte
		_, _ = rand.Read(b[:])
		_, err = db.ExecContext(ctx, `INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
			name, hex.EncodeToString(b[:]), time.Now().UnixMilli())
		if err == nil {
			err = db.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&stored)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("server secret %s: %w", name, err)
	}
	b, err := hex.DecodeString(stored)
	if err != nil || len(b) < 32 {
		return nil, fmt.Errorf("server secret %s: malformed", name)
	}
	return b, nil
}

// ServerSecret exposes serverSecret to the login pages (CSRF key).
func (p *Provider) ServerSecret(ctx context.Context, name string) ([]byte, error) {
	return serverSecret(ctx, p.DB, name)
}
