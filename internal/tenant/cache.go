package tenant

import (
	"context"
	"sync"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// ClientCache keeps client records for a short while, so the hot paths (the
// token endpoint, rate limits, CORS) cost no database round trip per request.
// A changed tenant file takes effect within the TTL. Unknown client ids are
// not cached. Records are shared: callers must not modify them.
type ClientCache struct {
	db  store.Queryer
	ttl time.Duration

	mu sync.RWMutex
	m  map[string]cachedClient
}

type cachedClient struct {
	rec   *ClientRecord
	until time.Time
}

// NewClientCache caches GetClient results for ttl.
func NewClientCache(db store.Queryer, ttl time.Duration) *ClientCache {
	return &ClientCache{db: db, ttl: ttl, m: map[string]cachedClient{}}
}

// Get returns the client, from the cache when fresh.
func (c *ClientCache) Get(ctx context.Context, clientID string) (*ClientRecord, error) {
	now := time.Now()
	c.mu.RLock()
	e, ok := c.m[clientID]
	c.mu.RUnlock()
	if ok && now.Before(e.until) {
		return e.rec, nil
	}
	rec, err := GetClient(ctx, c.db, clientID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= 10_000 { // clients are few; a flood of ids must not grow memory
		c.m = map[string]cachedClient{}
	}
	c.m[clientID] = cachedClient{rec: rec, until: now.Add(c.ttl)}
	c.mu.Unlock()
	return rec, nil
}
