package subscription

import (
	"context"
	"testing"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/tenant"
)

// TestEntitlementCacheFollowsOtherNodes: a change written by another node
// (simulated by writing the rows and the change log directly, without this
// process's eviction) is seen after the next Sync; local rewrites evict at once.
func TestEntitlementCacheFollowsOtherNodes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := storetest.Open(t, d, tenant.Migrations, catalog.Migrations, customer.Migrations, Migrations)
		if _, err := db.ExecContext(ctx, `INSERT INTO companies (code, name, created_at, updated_at) VALUES ('C', 'C', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		var company int64
		if err := db.QueryRowContext(ctx, `SELECT id FROM companies WHERE code = 'C'`).Scan(&company); err != nil {
			t.Fatal(err)
		}
		cache, err := NewEntitlementCache(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer cache.Close()
		products := func() []string {
			t.Helper()
			grants, err := cache.Entitlements(ctx, company, 7)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, g := range grants {
				out = append(out, g.Product)
			}
			return out
		}
		if got := products(); len(got) != 0 {
			t.Fatalf("new customer has %v", got)
		}
		// Another node grants NEWS: rows and change log, no local eviction.
		if _, err := db.ExecContext(ctx, `INSERT INTO entitlements (company_id, customer_number, product_code, level, source, valid_from)
			VALUES ($1, 7, 'NEWS', 'A', 's1', 0)`, company); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO entitlement_changes (company_id, customer_number, changed_at) VALUES ($1, 7, 0)`, company); err != nil {
			t.Fatal(err)
		}
		if got := products(); len(got) != 0 {
			t.Fatalf("cache should still hold the old rows before a sync, got %v", got)
		}
		if err := cache.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if got := products(); len(got) != 1 || got[0] != "NEWS" {
			t.Fatalf("after sync: %v", got)
		}
		// A company-wide change (customer 0) evicts every customer of it.
		if _, err := db.ExecContext(ctx, `DELETE FROM entitlements`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO entitlement_changes (company_id, customer_number, changed_at) VALUES ($1, 0, 0)`, company); err != nil {
			t.Fatal(err)
		}
		if err := cache.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if got := products(); len(got) != 0 {
			t.Fatalf("after company-wide change: %v", got)
		}
		// A rewrite in this process evicts at once, before any sync.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO entitlements (company_id, customer_number, product_code, level, source, valid_from)
			VALUES ($1, 7, 'PAPER', 'A', 's2', 0)`, company); err != nil {
			t.Fatal(err)
		}
		if err := logChange(ctx, tx, company, 7); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := products(); len(got) != 1 || got[0] != "PAPER" {
			t.Fatalf("local rewrite not seen at once: %v", got)
		}
		// When the change log cannot be read, the cache is bypassed.
		cache.fail()
		if _, err := db.ExecContext(ctx, `DELETE FROM entitlements`); err != nil {
			t.Fatal(err)
		}
		if got := products(); len(got) != 0 {
			t.Fatalf("unhealthy cache served %v", got)
		}
		cache.mu.RLock()
		n := len(cache.entries)
		cache.mu.RUnlock()
		if n != 0 {
			t.Fatalf("unhealthy cache stored %d entries", n)
		}
	})
}
