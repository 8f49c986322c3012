package billing

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
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

// Sealer encrypts stored payment references (tokens, agreement ids) with
// AES-256-GCM and digests them with a keyed HMAC for look-ups. The key comes
// from CONNECT_PAYMENT_KEY; without it one is generated once and kept in the
// database (zero setup, like the client-secret pepper), which protects less:
// a copy of the database then holds the key too. Production should set it.
type Sealer struct {
	aead cipher.AEAD
	mac  []byte
}

// NewSealer builds a Sealer from key (≥ 16 characters) or the stored fallback.
func NewSealer(ctx context.Context, db *store.DB, key string) (*Sealer, error) {
	if key == "" {
		var err error
		if key, err = storedKey(ctx, db); err != nil {
			return nil, err
		}
	} else if len(key) < 16 {
		return nil, errors.New("payment key: at least 16 characters")
	}
	return newSealer(key)
}

func newSealer(key string) (*Sealer, error) {
	// Separate sub-keys for encryption and look-up digests.
	enc := sha256.Sum256([]byte("connect/payment/enc\x00" + key))
	mac := sha256.Sum256([]byte("connect/payment/mac\x00" + key))
	block, err := aes.NewCipher(enc[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, mac: mac[:]}, nil
}

func storedKey(ctx context.Context, db *store.DB) (string, error) {
	var stored string
	err := db.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = 'payment_key'`).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		var b [32]byte
		_, _ = rand.Read(b[:])
		stored = hex.EncodeToString(b[:])
		_, err = db.ExecContext(ctx, `INSERT INTO server_secrets (name, value, created_at) VALUES ('payment_key', $1, $2) ON CONFLICT (name) DO NOTHING`,
			stored, time.Now().UnixMilli())
		if err == nil {
			// Another node may have won the race: use what is stored.
			err = db.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = 'payment_key'`).Scan(&stored)
		}
	}
	if err != nil {
		return "", fmt.Errorf("payment key: %w", err)
	}
	return stored, nil
}

// Seal encrypts plain; the additional data binds the ciphertext to its row's
// owner, so a ciphertext copied to another customer's row does not open.
func (s *Sealer) Seal(plain, bind string) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, []byte(plain), []byte(bind))
	return base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value from Seal.
func (s *Sealer) Open(sealed, bind string) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("payment reference: malformed ciphertext")
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte(bind))
	if err != nil {
		return "", errors.New("payment reference: cannot decrypt (wrong CONNECT_PAYMENT_KEY?)")
	}
	return string(plain), nil
}

// Digest is the keyed look-up digest of a reference within a company.
func (s *Sealer) Digest(companyID int64, ref string) string {
	m := hmac.New(sha256.New, s.mac)
	fmt.Fprintf(m, "%d\x00%s", companyID, ref)
	return hex.EncodeToString(m.Sum(nil))
}

// Redact shortens a reference for logs and audit rows: never the whole value.
func Redact(ref string) string {
	if len(ref) <= 4 {
		return "****"
	}
	return "****" + ref[len(ref)-4:]
}
