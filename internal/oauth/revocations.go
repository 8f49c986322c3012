package oauth

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// Revocations is the list of access tokens revoked before expiry, held in
// memory so verification needs no database round trip. Revocations made on
// this node apply at once; those of other nodes arrive with the next Sync.
type Revocations struct {
	db *store.DB

	mu     sync.RWMutex
	jtis   map[string]int64 // jti → expiry (epoch ms)
	lastID int64

	// prune also deletes expired grant rows (set by New).
	prune func(ctx context.Context, now time.Time) error
}

// NewRevocations loads the current list.
func NewRevocations(ctx context.Context, db *store.DB) (*Revocations, error) {
	r := &Revocations{db: db, jtis: map[string]int64{}}
	return r, r.Sync(ctx)
}

// IsRevoked implements auth.RevocationList.
func (r *Revocations) IsRevoked(jti string) bool {
	r.mu.RLock()
	_, ok := r.jtis[jti]
	r.mu.RUnlock()
	return ok
}

// Revoke records jti (valid until expiresAt) as revoked, within q's transaction
// when q is one; the in-memory list is updated at once.
func (r *Revocations) Revoke(ctx context.Context, q store.Queryer, jti string, expiresAt time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO token_revocations (jti, expires_at, created_at) VALUES ($1, $2, $3) ON CONFLICT (jti) DO NOTHING`,
		jti, expiresAt.UnixMilli(), time.Now().UnixMilli())
	if err != nil {
		return store.Translate(err)
	}
	r.mu.Lock()
	r.jtis[jti] = expiresAt.UnixMilli()
	r.mu.Unlock()
	return nil
}

// Sync loads revocations added since the last sync and forgets expired ones.
func (r *Revocations) Sync(ctx context.Context) error {
	r.mu.RLock()
	after := r.lastID
	r.mu.RUnlock()
	rows, err := r.db.QueryContext(ctx, `SELECT id, jti, expires_at FROM token_revocations WHERE id > $1 ORDER BY id`, after)
	if err != nil {
		return err
	}
	defer rows.Close()
	type row struct {
		id, exp int64
		jti     string
	}
	var fresh []row
	for rows.Next() {
		var x row
		if err := rows.Scan(&x.id, &x.jti, &x.exp); err != nil {
			return err
		}
		fresh = append(fresh, x)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	r.mu.Lock()
	for _, x := range fresh {
		r.jtis[x.jti] = x.exp
		r.lastID = max(r.lastID, x.id)
	}
	for jti, exp := range r.jtis {
		if exp < now {
			delete(r.jtis, jti)
		}
	}
	r.mu.Unlock()
	return nil
}

// Run syncs every interval until ctx ends, and prunes expired rows hourly.
func (r *Revocations) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Sync(ctx); err != nil && ctx.Err() == nil {
				slog.WarnContext(ctx, "revocation sync failed", "err", err)
			}
			if time.Since(lastPrune) > time.Hour {
				lastPrune = time.Now()
				_, _ = r.db.ExecContext(ctx, `DELETE FROM token_revocations WHERE expires_at < $1`, time.Now().Add(-time.Minute).UnixMilli())
				if r.prune != nil {
					if err := r.prune(ctx, time.Now()); err != nil && ctx.Err() == nil {
						slog.WarnContext(ctx, "pruning expired grants failed", "err", err)
					}
				}
			}
		}
	}
}
