package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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

// Signing algorithms. Access tokens are ES256 (signing costs microseconds);
// ID tokens are RS256, which every OpenID Connect library accepts by default.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// SigningKey is one key pair; per algorithm only the newest unretired key signs.
type SigningKey struct {
	KID       string
	Algorithm string            // ES256 or RS256
	Private   *ecdsa.PrivateKey // ES256 keys
	RSA       *rsa.PrivateKey   // RS256 keys
	CreatedAt time.Time
	RetiredAt *time.Time
}

// Public is the verification key.
func (k *SigningKey) Public() crypto.PublicKey {
	if k.RSA != nil {
		return &k.RSA.PublicKey
	}
	return &k.Private.PublicKey
}

// Signer is the private key, whatever its algorithm.
func (k *SigningKey) Signer() crypto.Signer {
	if k.RSA != nil {
		return k.RSA
	}
	return k.Private
}

// Keys caches the signing keys of the database. Verification looks keys up
// here without a database round trip; an unknown kid triggers a reload (at
// most once a second) so keys rotated by another node are found.
type Keys struct {
	db *store.DB

	mu         sync.RWMutex
	current    map[string]*SigningKey // by algorithm
	byKID      map[string]*SigningKey
	lastReload time.Time
}

// LoadKeys reads the keys, creating the first of each algorithm when there is none.
func LoadKeys(ctx context.Context, db *store.DB) (*Keys, error) {
	k := &Keys{db: db}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	for _, alg := range []string{AlgES256, AlgRS256} {
		if k.current[alg] == nil {
			if _, err := k.RotateAlg(ctx, alg); err != nil {
				return nil, err
			}
		}
	}
	return k, nil
}

// Rotate creates a new access-token (ES256) and ID-token (RS256) key and
// retires the previous ones for signing; it returns the new ES256 key id.
// Retired keys keep verifying: they stay in the JWKS until pruned.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	if _, err := k.RotateAlg(ctx, AlgRS256); err != nil {
		return "", err
	}
	return k.RotateAlg(ctx, AlgES256)
}

// RotateAlg creates a new signing key of one algorithm.
func (k *Keys) RotateAlg(ctx context.Context, alg string) (string, error) {
	var pemBlock *pem.Block
	switch alg {
	case AlgES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", err
		}
		der, err := x509.MarshalECPrivateKey(priv)
		if err != nil {
			return "", err
		}
		pemBlock = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case AlgRS256:
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", err
		}
		pemBlock = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}
	default:
		return "", fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	kid := hex.EncodeToString(id[:])
	now := time.Now().UnixMilli()
	pemText := string(pem.EncodeToMemory(pemBlock))
	err := k.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND algorithm = $2`, now, alg); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, algorithm, private_pem, created_at) VALUES ($1, $2, $3, $4)`, kid, alg, pemText, now)
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
	current := map[string]*SigningKey{}
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
		switch sk.Algorithm {
		case AlgES256:
			priv, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return fmt.Errorf("signing key %s: %w", sk.KID, err)
			}
			sk.Private = priv
		case AlgRS256:
			priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return fmt.Errorf("signing key %s: %w", sk.KID, err)
			}
			sk.RSA = priv
		default:
			return fmt.Errorf("signing key %s: unsupported algorithm %q", sk.KID, sk.Algorithm)
		}
		sk.CreatedAt = time.UnixMilli(created)
		if retiredN.Valid {
			t := time.UnixMilli(retiredN.Int64)
			sk.RetiredAt = &t
		} else {
			current[sk.Algorithm] = &sk
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

// Current is the key that signs new access tokens (ES256).
func (k *Keys) Current() (*SigningKey, error) { return k.CurrentAlg(AlgES256) }

// CurrentAlg is the key of an algorithm that signs new tokens.
func (k *Keys) CurrentAlg(alg string) (*SigningKey, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.current[alg] == nil {
		return nil, errors.New("no signing key for " + alg)
	}
	return k.current[alg], nil
}

// ecPublic is the ES256 verification key of sk; access tokens are never
// accepted with another algorithm.
func ecPublic(sk *SigningKey) (*ecdsa.PublicKey, bool) {
	if sk.Algorithm != AlgES256 || sk.Private == nil {
		return nil, false
	}
	return &sk.Private.PublicKey, true
}

// PublicKey returns the ES256 verification key for kid (auth.KeySource).
func (k *Keys) PublicKey(ctx context.Context, kid string) (*ecdsa.PublicKey, bool) {
	k.mu.RLock()
	sk, ok := k.byKID[kid]
	stale := time.Since(k.lastReload) > time.Second
	k.mu.RUnlock()
	if ok {
		return ecPublic(sk)
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
		return ecPublic(sk)
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
