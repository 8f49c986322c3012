package order

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// catalogReader is what registration reads of a company's catalog: the
// company row, coupons, products, payment-method gateways, article prices,
// category codes and product dependency rules. Reads go
// through q (the caller's transaction, or the pool outside one).
type catalogReader interface {
	company(ctx context.Context, q store.Queryer, companyID int64) (*companyInfo, error)
	coupon(ctx context.Context, q store.Queryer, companyID int64, code string, number int64) (*catalog.Coupon, error)
	product(ctx context.Context, q store.Queryer, companyID int64, code string) (*catalog.ProductInfo, error)
	gateway(ctx context.Context, q store.Queryer, companyID int64, method string) (string, error)
	article(ctx context.Context, q store.Queryer, companyID int64, product, category string) (*catalog.ArticlePrice, error)
	categoryCode(ctx context.Context, q store.Queryer, companyID int64, code string) (bool, error)
	// dependencies are the product's dependency discount rules (none: nil).
	dependencies(ctx context.Context, q store.Queryer, companyID int64, product string) ([]catalog.Dependency, error)
}

// companyInfo is the company row with its parsed time zone.
type companyInfo struct {
	*tenant.CompanyRecord
	loc *time.Location
}

// dbCatalog reads every time (no cache configured).
type dbCatalog struct{}

func (dbCatalog) company(ctx context.Context, q store.Queryer, companyID int64) (*companyInfo, error) {
	co, err := tenant.GetCompany(ctx, q, companyID)
	if err != nil {
		return nil, err
	}
	loc, err := co.Location()
	if err != nil {
		loc = time.UTC
	}
	return &companyInfo{CompanyRecord: co, loc: loc}, nil
}

func (dbCatalog) coupon(ctx context.Context, q store.Queryer, companyID int64, code string, number int64) (*catalog.Coupon, error) {
	return catalog.GetCoupon(ctx, q, companyID, code, number)
}

func (dbCatalog) product(ctx context.Context, q store.Queryer, companyID int64, code string) (*catalog.ProductInfo, error) {
	return catalog.GetProductInfo(ctx, q, companyID, code)
}

func (dbCatalog) gateway(ctx context.Context, q store.Queryer, companyID int64, method string) (string, error) {
	return catalog.GatewayFor(ctx, q, companyID, method)
}

func (dbCatalog) article(ctx context.Context, q store.Queryer, companyID int64, product, category string) (*catalog.ArticlePrice, error) {
	return catalog.GetArticlePrice(ctx, q, companyID, product, category)
}

func (dbCatalog) categoryCode(ctx context.Context, q store.Queryer, companyID int64, code string) (bool, error) {
	return catalog.CategoryCodeExists(ctx, q, companyID, code)
}

func (dbCatalog) dependencies(ctx context.Context, q store.Queryer, companyID int64, product string) ([]catalog.Dependency, error) {
	return catalog.Dependencies(ctx, q, companyID, product)
}

// CatalogCache keeps what order registration reads of each company's catalog
// (company row, coupons, products, article prices, payment-method gateways,
// category codes, product dependency rules, "none" included), so a typical
// registration reads nothing but the payer. That data changes only when a
// tenant file is applied, and an apply bumps the company's row in
// order_catalog_versions in its own transaction (CatalogChanged). Freshness:
//   - on the applying node, Sync runs right after the commit (the wiring
//     calls it), so the next registration sees the new catalog;
//   - every node polls the version table (Run) and drops a company whose
//     version moved, so other nodes follow within one poll interval;
//   - when polling fails the cache empties and is bypassed until a poll
//     succeeds, because this node can no longer tell what changed.
//
// Validity windows (coupon start/end, product start/end) are evaluated at
// use from the cached rows, so they stay exact. Vouchers and rewards are not
// cached: orders use them up. Cached records are
// shared: callers must not modify them.
type CatalogCache struct {
	db *store.DB

	mu        sync.RWMutex
	companies map[int64]*companyCatalog
	versions  map[int64]int64 // last version seen per company (absent: 0)
	healthy   bool
}

// companyCatalog is one company's cached rows. Dropping a company replaces
// its entry and marks the old one dropped, so a load that read the database
// before the drop cannot store into the entry that replaced it.
type companyCatalog struct {
	mu       sync.RWMutex
	dropped  bool
	company  *companyInfo
	coupons  map[couponKey]*catalog.Coupon
	products map[string]*catalog.ProductInfo
	gateways map[string]string
	articles map[articleKey]*catalog.ArticlePrice
	codes    map[string]bool
	deps     map[string][]catalog.Dependency // by product; nil: no rules
}

type articleKey struct{ product, category string }

type couponKey struct {
	code   string
	number int64
}

// maxCachedPerCompany bounds each map of a company: catalogs are small, and
// lookups of unknown codes are never stored.
const maxCachedPerCompany = 10_000

// NewCatalogCache starts empty, knowing the current versions.
func NewCatalogCache(ctx context.Context, db *store.DB) (*CatalogCache, error) {
	c := &CatalogCache{db: db, companies: map[int64]*companyCatalog{}, versions: map[int64]int64{}}
	if err := c.Sync(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// CatalogChanged records inside tx that the company's catalog changed; it is
// the tenant apply hook (tenant.Sections.Changed). Caches drop the company
// when they next Sync.
func CatalogChanged(ctx context.Context, tx *sql.Tx, companyID int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO order_catalog_versions (company_id, version) VALUES ($1, 1)
		ON CONFLICT (company_id) DO UPDATE SET version = order_catalog_versions.version + 1`, companyID)
	return store.Translate(err)
}

// Sync reads the versions and drops every company whose version moved.
func (c *CatalogCache) Sync(ctx context.Context) error {
	rows, err := c.db.QueryContext(ctx, `SELECT company_id, version FROM order_catalog_versions`)
	if err != nil {
		c.fail()
		return store.Translate(err)
	}
	seen := map[int64]int64{}
	for rows.Next() {
		var id, v int64
		if err := rows.Scan(&id, &v); err != nil {
			rows.Close()
			c.fail()
			return err
		}
		seen[id] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		c.fail()
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, v := range seen {
		if c.versions[id] != v {
			c.dropLocked(id)
		}
	}
	for id := range c.versions {
		if _, ok := seen[id]; !ok { // a restored or rebuilt database
			c.dropLocked(id)
		}
	}
	c.versions = seen
	c.healthy = true
	return nil
}

func (c *CatalogCache) dropLocked(companyID int64) {
	if e := c.companies[companyID]; e != nil {
		e.mu.Lock()
		e.dropped = true
		e.mu.Unlock()
		delete(c.companies, companyID)
	}
}

// fail empties the cache and bypasses it until the next successful Sync.
func (c *CatalogCache) fail() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.companies {
		c.dropLocked(id)
	}
	c.healthy = false
}

// Run syncs every interval until ctx ends.
func (c *CatalogCache) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.Sync(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "order catalog cache: cannot read catalog versions; bypassing the cache", "err", err)
		}
	}
}

// entry returns the company's live entry, or nil while the cache is bypassed.
func (c *CatalogCache) entry(companyID int64) *companyCatalog {
	c.mu.RLock()
	e, healthy := c.companies[companyID], c.healthy
	c.mu.RUnlock()
	if !healthy {
		return nil
	}
	if e != nil {
		return e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.healthy {
		return nil
	}
	if e = c.companies[companyID]; e == nil {
		e = &companyCatalog{coupons: map[couponKey]*catalog.Coupon{}, products: map[string]*catalog.ProductInfo{},
			gateways: map[string]string{}, articles: map[articleKey]*catalog.ArticlePrice{}, codes: map[string]bool{},
			deps: map[string][]catalog.Dependency{}}
		c.companies[companyID] = e
	}
	return e
}

// cached looks a value up in e, or loads it and stores it unless e was
// dropped meanwhile (the load may predate the change that dropped it).
func cached[K comparable, V any](e *companyCatalog, m func(*companyCatalog) map[K]V, key K, load func() (V, error)) (V, error) {
	if e == nil {
		return load()
	}
	e.mu.RLock()
	v, ok := m(e)[key]
	e.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	e.mu.Lock()
	if !e.dropped {
		if len(m(e)) >= maxCachedPerCompany {
			clear(m(e))
		}
		m(e)[key] = v
	}
	e.mu.Unlock()
	return v, nil
}

func (c *CatalogCache) company(ctx context.Context, q store.Queryer, companyID int64) (*companyInfo, error) {
	e := c.entry(companyID)
	if e != nil {
		e.mu.RLock()
		co := e.company
		e.mu.RUnlock()
		if co != nil {
			return co, nil
		}
	}
	co, err := dbCatalog{}.company(ctx, q, companyID)
	if err != nil || e == nil {
		return co, err
	}
	e.mu.Lock()
	if !e.dropped {
		e.company = co
	}
	e.mu.Unlock()
	return co, nil
}

func (c *CatalogCache) coupon(ctx context.Context, q store.Queryer, companyID int64, code string, number int64) (*catalog.Coupon, error) {
	return cached(c.entry(companyID), func(e *companyCatalog) map[couponKey]*catalog.Coupon { return e.coupons },
		couponKey{code, number}, func() (*catalog.Coupon, error) { return catalog.GetCoupon(ctx, q, companyID, code, number) })
}

func (c *CatalogCache) product(ctx context.Context, q store.Queryer, companyID int64, code string) (*catalog.ProductInfo, error) {
	return cached(c.entry(companyID), func(e *companyCatalog) map[string]*catalog.ProductInfo { return e.products },
		code, func() (*catalog.ProductInfo, error) { return catalog.GetProductInfo(ctx, q, companyID, code) })
}

// gateway caches "not set up" ("") too: methods are a short fixed list.
func (c *CatalogCache) gateway(ctx context.Context, q store.Queryer, companyID int64, method string) (string, error) {
	return cached(c.entry(companyID), func(e *companyCatalog) map[string]string { return e.gateways },
		method, func() (string, error) { return catalog.GatewayFor(ctx, q, companyID, method) })
}

func (c *CatalogCache) article(ctx context.Context, q store.Queryer, companyID int64, product, category string) (*catalog.ArticlePrice, error) {
	return cached(c.entry(companyID), func(e *companyCatalog) map[articleKey]*catalog.ArticlePrice { return e.articles },
		articleKey{product, category}, func() (*catalog.ArticlePrice, error) {
			return catalog.GetArticlePrice(ctx, q, companyID, product, category)
		})
}

// categoryCode caches unknown codes too; the map is bounded.
func (c *CatalogCache) categoryCode(ctx context.Context, q store.Queryer, companyID int64, code string) (bool, error) {
	return cached(c.entry(companyID), func(e *companyCatalog) map[string]bool { return e.codes },
		code, func() (bool, error) { return catalog.CategoryCodeExists(ctx, q, companyID, code) })
}

// dependencies caches a product without rules too (a nil slice), so pricing
// a line of such a product reads nothing. Rules change only with a tenant
// apply (catalog.ApplyDependencies), which bumps the company's version.
func (c *CatalogCache) dependencies(ctx context.Context, q store.Queryer, companyID int64, product string) ([]catalog.Dependency, error) {
	return cached(c.entry(companyID), func(e *companyCatalog) map[string][]catalog.Dependency { return e.deps },
		product, func() ([]catalog.Dependency, error) { return catalog.Dependencies(ctx, q, companyID, product) })
}

// productExists answers through the product cache.
func productExists(ctx context.Context, cat catalogReader, q store.Queryer, companyID int64, code string) (bool, error) {
	_, err := cat.product(ctx, q, companyID, code)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	return err == nil, err
}
