package app_test

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/app"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
)

// columns lists "table.column" of every table of the database.
func columns(t *testing.T, db *store.DB) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	if db.Dialect == store.Postgres {
		rows, err := db.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var tbl, col string
			if err := rows.Scan(&tbl, &col); err != nil {
				t.Fatal(err)
			}
			out = append(out, tbl+"."+col)
		}
	} else {
		rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			tables = append(tables, name)
		}
		rows.Close()
		for _, tbl := range tables {
			cols, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info($1)`, tbl)
			if err != nil {
				t.Fatal(err)
			}
			for cols.Next() {
				var col string
				if err := cols.Scan(&col); err != nil {
					t.Fatal(err)
				}
				out = append(out, tbl+"."+col)
			}
			cols.Close()
		}
	}
	sort.Strings(out)
	return out
}

// TestDialectsHaveTheSameSchema migrates both databases and compares their
// tables and columns, so per-dialect migration files cannot drift apart.
func TestDialectsHaveTheSameSchema(t *testing.T) {
	if os.Getenv("CONNECT_TEST_POSTGRES_URL") == "" {
		t.Skip("CONNECT_TEST_POSTGRES_URL not set: nothing to compare SQLite with")
	}
	lite := columns(t, storetest.Open(t, store.SQLite, app.Migrations...))
	pg := columns(t, storetest.Open(t, store.Postgres, app.Migrations...))
	onlyIn := func(a, b []string) []string {
		in := map[string]bool{}
		for _, x := range b {
			in[x] = true
		}
		var d []string
		for _, x := range a {
			if !in[x] {
				d = append(d, x)
			}
		}
		return d
	}
	if d := onlyIn(lite, pg); len(d) > 0 {
		t.Errorf("only in SQLite: %s", strings.Join(d, ", "))
	}
	if d := onlyIn(pg, lite); len(d) > 0 {
		t.Errorf("only in PostgreSQL: %s", strings.Join(d, ", "))
	}
	if len(lite) < 50 {
		t.Errorf("suspiciously few columns: %d", len(lite))
	}
}

// TestMigrationsAreRepeatable runs every migration twice: the second run has
// nothing to do and must not fail (nodes run migrations at every start).
func TestMigrationsAreRepeatable(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		db := storetest.Open(t, d, app.Migrations...)
		if err := db.Migrate(context.Background(), app.Migrations...); err != nil {
			t.Fatal(err)
		}
	})
}
