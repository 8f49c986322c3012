package order

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/tenant"
)

// catalogFile is a one-company tenant file with the NEWS coupon at price.
func catalogFile(t *testing.T, currency string, price int) *tenant.File {
	t.Helper()
	f, err := tenant.Parse("t.yaml", []byte(fmt.Sprintf(`companies:
  - code: SHOP
    name: Shop
    country: NO
    currency: %s
    products:
      - {product: NEWS, description: News, startTime: 2024-01-01, retailPrice: 99}
    coupons:
      - {product: NEWS, couponCode: NEWS, couponNumber: 1, price: %d, periodLength: 1, periodType: month, startTime: 2024-01-01}
    paymentMethods:
      - {method: creditcardPayex, gateway: simulated}
`, currency, price)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func applyCatalog(t *testing.T, db *store.DB, f *tenant.File) {
	t.Helper()
	if _, err := tenant.Apply(context.Background(), db, f, tenant.Sections{Products: catalog.ApplyProducts,
		Catalog: catalog.ApplyOffers, Changed: CatalogChanged}, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
}

func companyID(t *testing.T, db *store.DB) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRowContext(context.Background(), `SELECT id FROM companies WHERE code = 'SHOP'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func couponPrice(t *testing.T, c *CatalogCache, db *store.DB, company int64) int64 {
	t.Helper()
	cp, err := c.coupon(context.Background(), db, company, "NEWS", 1)
	if err != nil {
		t.Fatal(err)
	}
	return int64(cp.Price)
}

// Two caches on one database stand for two nodes: a tenant apply reaches
// each of them at its next Sync, and not before.
func TestCatalogCacheFollowsTenantApplies(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := storetest.Open(t, d, tenant.Migrations, audit.Migrations, event.Migrations, catalog.Migrations, Migrations)
		applyCatalog(t, db, catalogFile(t, "NOK", 199))
		id := companyID(t, db)
		nodeA, err := NewCatalogCache(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		nodeB, err := NewCatalogCache(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*CatalogCache{nodeA, nodeB} {
			if p := couponPrice(t, c, db, id); p != 19900 {
				t.Fatalf("price %d", p)
			}
			if co, err := c.company(ctx, db, id); err != nil || co.Currency != "NOK" {
				t.Fatalf("company %+v %v", co, err)
			}
			if g, err := c.gateway(ctx, db, id, "creditcardPayex"); err != nil || g != "simulated" {
				t.Fatalf("gateway %q %v", g, err)
			}
		}

		applyCatalog(t, db, catalogFile(t, "SEK", 249))
		if p := couponPrice(t, nodeB, db, id); p != 19900 {
			t.Fatalf("before its Sync a node answers from its cache: %d", p)
		}
		for _, c := range []*CatalogCache{nodeA, nodeB} {
			if err := c.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if p := couponPrice(t, c, db, id); p != 24900 {
				t.Fatalf("after Sync: price %d", p)
			}
			if co, _ := c.company(ctx, db, id); co.Currency != "SEK" {
				t.Fatalf("after Sync: currency %s", co.Currency)
			}
		}

		// Applying the same file again changes nothing, so nothing is dropped.
		var version int64
		read := func() int64 {
			if err := db.QueryRowContext(ctx, `SELECT version FROM order_catalog_versions WHERE company_id = $1`, id).Scan(&version); err != nil {
				t.Fatal(err)
			}
			return version
		}
		before := read()
		applyCatalog(t, db, catalogFile(t, "SEK", 249))
		if after := read(); after != before {
			t.Fatalf("an unchanged apply moved the version %d → %d", before, after)
		}

		// Unknown codes are not cached: they may be added by the next apply.
		if _, err := nodeA.coupon(ctx, db, id, "NOPE", 1); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown coupon: %v", err)
		}
		if len(nodeA.entry(id).coupons) != 1 {
			t.Fatalf("cached coupons: %v", nodeA.entry(id).coupons)
		}
	})
}

// A load that read the database before a change but finishes after the
// change dropped the company must not store what it read.
func TestCatalogCacheDropsLoadsThatRacedAChange(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := storetest.Open(t, d, tenant.Migrations, audit.Migrations, event.Migrations, catalog.Migrations, Migrations)
		applyCatalog(t, db, catalogFile(t, "NOK", 199))
		id := companyID(t, db)
		c, err := NewCatalogCache(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		e := c.entry(id)
		stale, err := cached(e, func(e *companyCatalog) map[couponKey]*catalog.Coupon { return e.coupons }, couponKey{"NEWS", 1},
			func() (*catalog.Coupon, error) {
				cp, err := catalog.GetCoupon(ctx, db, id, "NEWS", 1)
				// The change commits and this node syncs while the load is under way.
				applyCatalog(t, db, catalogFile(t, "NOK", 249))
				if err := c.Sync(ctx); err != nil {
					t.Fatal(err)
				}
				return cp, err
			})
		if err != nil || stale.Price != 19900 {
			t.Fatalf("load: %+v %v", stale, err)
		}
		if p := couponPrice(t, c, db, id); p != 24900 {
			t.Fatalf("the stale load was kept: price %d", p)
		}
	})
}

// When the version table cannot be read the cache is bypassed (every read
// goes to the database) until a Sync succeeds again.
func TestCatalogCacheBypassedWhileSyncFails(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := storetest.Open(t, d, tenant.Migrations, audit.Migrations, event.Migrations, catalog.Migrations, Migrations)
		applyCatalog(t, db, catalogFile(t, "NOK", 199))
		id := companyID(t, db)
		c, err := NewCatalogCache(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		couponPrice(t, c, db, id)
		exec := func(q string) {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		exec(`ALTER TABLE order_catalog_versions RENAME TO order_catalog_versions_away`)
		if err := c.Sync(ctx); err == nil {
			t.Fatal("Sync without the version table succeeded")
		}
		exec(`UPDATE coupons SET price = 12300 WHERE coupon_code = 'NEWS'`) // a change no version records
		if p := couponPrice(t, c, db, id); p != 12300 {
			t.Fatalf("bypassed cache answered %d", p)
		}
		if c.entry(id) != nil {
			t.Fatal("an unhealthy cache hands out entries")
		}
		exec(`ALTER TABLE order_catalog_versions_away RENAME TO order_catalog_versions`)
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if p := couponPrice(t, c, db, id); p != 12300 || len(c.entry(id).coupons) != 1 {
			t.Fatalf("after recovery: %d", p)
		}
	})
}

// The single statement writes the event data by appending the order id to a
// prefix; it must be what event.Record stores for orderEventData.
func TestOrderEventDataPrefix(t *testing.T) {
	for _, ext := range []string{"", "ext-1", `quote " and <tag> & ø`, "\u2028"} {
		for _, client := range []string{"acme.web", `a"b`} {
			prefix, err := orderEventDataPrefix(ext, 100001, client)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(orderEventData(987654321, ext, 100001, client))
			if got := prefix + "987654321}"; got != string(want) {
				t.Errorf("prefix gives %s, want %s", got, want)
			}
		}
	}
}
