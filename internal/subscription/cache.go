package subscription

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// EntitlementCache keeps customers' entitlement rows in memory so that an
// access check, the paywall's question on every page view, usually needs no
// database round trip at all. Validity windows are still evaluated at check
// time from the cached rows, so expiry is exact; what the cache must learn
// about are rewrites:
//   - on this node, a rewrite evicts the customer at once (refreshCustomer);
//   - every rewrite also appends to entitlement_changes in its transaction,
//     and each node polls that log (Run) to evict what other nodes changed.
//
// A read racing a rewrite on this node, and any rewrite on another node, is
// therefore visible within one poll interval. When polling fails the cache
// empties and is bypassed until a poll succeeds again.
type EntitlementCache struct {
	db *store.DB

	mu      sync.RWMutex
	entries map[cacheKey][]Entitlement
	lastID  int64
	healthy bool

	// epoch moves on every eviction; a load that saw another epoch when it
	// started may hold rows from before the eviction and is not stored.
	epoch atomic.Uint64
}

type cacheKey struct{ company, customer int64 }

// maxCachedCustomers bounds memory: about 200 bytes per customer.
const maxCachedCustomers = 1_000_000

// live lists the caches of this process, so refreshCustomer (which only has
// a transaction) can evict from them. A process normally has one.
var live struct {
	sync.RWMutex
	caches map[*EntitlementCache]bool
}

// NewEntitlementCache starts empty, reading only changes logged from now on.
func NewEntitlementCache(ctx context.Context, db *store.DB) (*EntitlementCache, error) {
	c := &EntitlementCache{db: db, entries: map[cacheKey][]Entitlement{}}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM entitlement_changes`).Scan(&c.lastID); err != nil {
		return nil, store.Translate(err)
	}
	c.healthy = true
	live.Lock()
	if live.caches == nil {
		live.caches = map[*EntitlementCache]bool{}
	}
	live.caches[c] = true
	live.Unlock()
	return c, nil
}

// Close unregisters the cache.
func (c *EntitlementCache) Close() {
	live.Lock()
	delete(live.caches, c)
	live.Unlock()
}

// Entitlements returns the customer's entitlement rows.
func (c *EntitlementCache) Entitlements(ctx context.Context, companyID, customer int64) ([]Entitlement, error) {
	key := cacheKey{companyID, customer}
	c.mu.RLock()
	grants, hit := c.entries[key]
	healthy := c.healthy
	c.mu.RUnlock()
	if hit {
		return grants, nil
	}
	epoch := c.epoch.Load()
	grants, err := loadEntitlements(ctx, c.db, companyID, customer)
	if err != nil || !healthy {
		return grants, err
	}
	if grants == nil {
		grants = []Entitlement{} // cache "none" too: most visitors subscribe to nothing
	}
	c.mu.Lock()
	if c.epoch.Load() == epoch && c.healthy {
		if len(c.entries) >= maxCachedCustomers {
			c.entries = map[cacheKey][]Entitlement{}
		}
		c.entries[key] = grants
	}
	c.mu.Unlock()
	return grants, nil
}

// evict forgets one customer, or with customer 0 every customer of the company.
func (c *EntitlementCache) evict(companyID, customer int64) {
	c.epoch.Add(1)
	c.mu.Lock()
	if customer == 0 {
		for k := range c.entries {
			if k.company == companyID {
				delete(c.entries, k)
			}
		}
	} else {
		delete(c.entries, cacheKey{companyID, customer})
	}
	c.mu.Unlock()
}

// evictEverywhere evicts from every cache of the process.
func evictEverywhere(companyID, customer int64) {
	live.RLock()
	defer live.RUnlock()
	for c := range live.caches {
		c.evict(companyID, customer)
	}
}

// logChange records a rewrite of a customer's entitlements (0: all of the
// company's) inside tx and evicts this process's cached copies.
func logChange(ctx context.Context, tx *sql.Tx, companyID, customer int64) error {
	evictEverywhere(companyID, customer)
	_, err := tx.ExecContext(ctx, `INSERT INTO entitlement_changes (company_id, customer_number, changed_at) VALUES ($1, $2, $3)`,
		companyID, customer, time.Now().UnixMilli())
	return store.Translate(err)
}

// Sync reads the change log written since the last sync and evicts.
func (c *EntitlementCache) Sync(ctx context.Context) error {
	c.mu.RLock()
	after := c.lastID
	c.mu.RUnlock()
	rows, err := c.db.QueryContext(ctx, `SELECT id, company_id, customer_number FROM entitlement_changes WHERE id > $1 ORDER BY id LIMIT 10000`, after)
	if err != nil {
		c.fail()
		return err
	}
	defer rows.Close()
	type change struct{ id, company, customer int64 }
	var changes []change
	for rows.Next() {
		var ch change
		if err := rows.Scan(&ch.id, &ch.company, &ch.customer); err != nil {
			c.fail()
			return err
		}
		changes = append(changes, ch)
	}
	if err := rows.Err(); err != nil {
		c.fail()
		return err
	}
	for _, ch := range changes {
		c.evict(ch.company, ch.customer)
	}
	c.mu.Lock()
	if len(changes) > 0 {
		c.lastID = changes[len(changes)-1].id
	}
	c.healthy = true
	c.mu.Unlock()
	return nil
}

// fail empties the cache and bypasses it until the next successful Sync: a
// node that cannot read the change log cannot know what changed.
func (c *EntitlementCache) fail() {
	c.epoch.Add(1)
	c.mu.Lock()
	c.entries = map[cacheKey][]Entitlement{}
	c.healthy = false
	c.mu.Unlock()
}

// Run syncs every interval until ctx ends, and prunes the change log of rows
// older than an hour (every node has long read them).
func (c *EntitlementCache) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.Sync(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "entitlement cache: cannot read the change log; bypassing the cache", "err", err)
		}
		if time.Since(lastPrune) > 10*time.Minute {
			lastPrune = time.Now()
			_, _ = c.db.ExecContext(ctx, `DELETE FROM entitlement_changes WHERE changed_at < $1`, time.Now().Add(-time.Hour).UnixMilli())
		}
	}
}
