package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// SigningKey is one key pair; only the newest unretired key signs.
type SigningKey struct {
	KID       string
	Algorithm string // ES256
	Private   *ecdsa.PrivateKey
	CreatedAt time.Time
	RetiredAt *time.Time
}

// Keys caches the signing keys of the database. Verification looks keys up
// here without a database round trip; an unknown kid triggers a reload (at
// most once a second) so keys rotated by another node are found.
type Keys struct {
	db *store.DB

	mu         sync.RWMutex
	current    *SigningKey
	byKID      map[string]*SigningKey
	lastReload time.Time
}

// LoadKeys reads the keys, creating the first one when there is none.
func LoadKeys(ctx context.Context, db *store.DB) (*Keys, error) {
	k := &Keys{db: db}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	if k.current == nil {
		if _, err := k.Rotate(ctx); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Rotate creates a new signing key and retires the previous ones for signing.
// Retired keys keep verifying: they stay in the JWKS until pruned.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return "", err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	kid := hex.EncodeToString(id[:])
	now := time.Now().UnixMilli()
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	err = k.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, algorithm, private_pem, created_at) VALUES ($1, 'ES256', $2, $3)`, kid, pemText, now)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	return kid, k.reload(ctx)
}

func (k *Keys) reload(ctx context.Context) error {
	rows, err := k.db.QueryContext(ctx, `SELECT kid, algorithm, private_pem, created_at, retired_at FROM signing_keys ORDER BY created_at`)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	defer rows.Close()
	byKID := map[string]*SigningKey{}
	var current *SigningKey
	for rows.Next() {
		var (
			sk       SigningKey
			pemText  string
			created  int64
			retiredN sql.NullInt64
		)
		if err := rows.Scan(&sk.KID, &sk.Algorithm, &pemText, &created, &retiredN); err != nil {
			return err
		}
		block, _ := pem.Decode([]byte(pemText))
		if block == nil {
			return fmt.Errorf("signing key %s: bad PEM", sk.KID)
		}
		priv, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", sk.KID, err)
		}
		sk.Private = priv
		sk.CreatedAt = time.UnixMilli(created)
		if retiredN.Valid {
			t := time.UnixMilli(retiredN.Int64)
			sk.RetiredAt = &t
		} else {
			current = &sk
		}
		byKID[sk.KID] = &sk
	}
	if err := rows.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	k.byKID, k.current, k.lastReload = byKID, current, time.Now()
	k.mu.Unlock()
	return nil
}

// Current is the key that signs new tokens.
func (k *Keys) Current() (*SigningKey, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.current == nil {
		return nil, errors.New("no signing key")
	}
	return k.current, nil
}

// PublicKey returns the verification key for kid.
func (k *Keys) PublicKey(ctx context.Context, kid string) (*ecdsa.PublicKey, bool) {
	k.mu.RLock()
	sk, ok := k.byKID[kid]
	stale := time.Since(k.lastReload) > time.Second
	k.mu.RUnlock()
	if ok {
		return &sk.Private.PublicKey, true
	}
	if !stale || kid == "" || len(kid) > 64 {
		return nil, false
	}
	if err := k.reload(ctx); err != nil {
		return nil, false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if sk, ok := k.byKID[kid]; ok {
		return &sk.Private.PublicKey, true
	}
	return nil, false
}

// All returns every known key, newest last (for the JWKS).
func (k *Keys) All() []*SigningKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]*SigningKey, 0, len(k.byKID))
	for _, sk := range k.byKID {
		out = append(out, sk)
	}
	sortKeys(out)
	return out
}

func sortKeys(keys []*SigningKey) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j].CreatedAt.Before(keys[j-1].CreatedAt); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}
