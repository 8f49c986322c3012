// Package storetest gives each test a fresh, migrated database: a SQLite file
// in the test's temp dir, or, when CONNECT_TEST_POSTGRES_URL is set, a new
// PostgreSQL database created for the test and dropped after it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/connect-oss/connect/internal/store"
)

// Dialects lists the databases the suite runs on: SQLite always, PostgreSQL
// when CONNECT_TEST_POSTGRES_URL is set.
func Dialects() []store.Dialect {
	if os.Getenv("CONNECT_TEST_POSTGRES_URL") != "" {
		return []store.Dialect{store.SQLite, store.Postgres}
	}
	return []store.Dialect{store.SQLite}
}

// Open returns a fresh database of the given dialect with sets migrated.
func Open(t testing.TB, dialect store.Dialect, sets ...store.Migrations) *store.DB {
	t.Helper()
	ctx := context.Background()
	dsn := NewDSN(t, dialect)
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, sets...); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return db
}

// NewDSN creates an empty database of the dialect for this test and returns its DSN.
func NewDSN(t testing.TB, dialect store.Dialect) string {
	t.Helper()
	if dialect == store.SQLite {
		return "sqlite://" + filepath.Join(t.TempDir(), "connect.db")
	}
	base := os.Getenv("CONNECT_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("CONNECT_TEST_POSTGRES_URL not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "connect_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("CONNECT_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	// Tests run in parallel against one server (max_connections is 100 by
	// default): a small pool per test database keeps well under it.
	q := u.Query()
	q.Set("max_conns", "4")
	u.RawQuery = q.Encode()
	return u.String()
}

// ForEach runs fn as a parallel subtest on every dialect of Dialects.
func ForEach(t *testing.T, fn func(t *testing.T, dialect store.Dialect)) {
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}
