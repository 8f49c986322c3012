package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
)

// Throttle limits failed attempts (passwords, one-time codes) per credential
// and per IP address in fixed windows kept in the database, so every node
// shares them. Unknown credentials are counted like known ones, so the
// answers tell nothing about which accounts exist.
type Throttle struct {
	DB            *store.DB
	Window        time.Duration // 15 minutes
	PerCredential int           // failures per credential per window (10)
	PerIP         int           // failures per IP per window (100)
}

// CredentialKey and IPKey name the counters; credentials are hashed so the
// table holds no e-mail addresses.
func CredentialKey(credential string) string {
	h := sha256.Sum256([]byte(credential))
	return "c:" + hex.EncodeToString(h[:16])
}

// IPKey is the counter of an IP address.
func IPKey(ip string) string { return "ip:" + ip }

func (t *Throttle) limit(key string) int {
	if len(key) > 3 && key[:3] == "ip:" {
		return t.PerIP
	}
	return t.PerCredential
}

// Check answers TooManyRequests when any key is over its limit.
func (t *Throttle) Check(ctx context.Context, now time.Time, keys ...string) error {
	for _, k := range keys {
		var start int64
		var failures int
		err := t.DB.QueryRowContext(ctx, `SELECT window_start, failures FROM login_throttle WHERE key = $1`, k).Scan(&start, &failures)
		if err != nil {
			continue // no row (or a read failure): not throttled
		}
		end := time.UnixMilli(start).Add(t.Window)
		if now.Before(end) && failures >= t.limit(k) {
			mins := int(end.Sub(now).Minutes()) + 1
			return errs.E(errs.TooManyRequests, "too many attempts; try again in %d minutes", mins)
		}
	}
	return nil
}

// Fail counts a failed attempt against every key.
func (t *Throttle) Fail(ctx context.Context, now time.Time, keys ...string) error {
	ms := now.UnixMilli()
	cutoff := now.Add(-t.Window).UnixMilli()
	for _, k := range keys {
		_, err := t.DB.ExecContext(ctx, `INSERT INTO login_throttle (key, window_start, failures) VALUES ($1, $2, 1)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN login_throttle.window_start < $3 THEN 1 ELSE login_throttle.failures + 1 END,
				window_start = CASE WHEN login_throttle.window_start < $3 THEN $2 ELSE login_throttle.window_start END`,
			k, ms, cutoff)
		if err != nil {
			return store.Translate(err)
		}
	}
	return nil
}

// Reset clears a key's failures (after a successful login with that credential).
func (t *Throttle) Reset(ctx context.Context, key string) {
	_, _ = t.DB.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, key)
}
