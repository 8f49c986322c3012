package store

import (
	"context"
	"database/sql"
	"sync"
)

// SQLite parses every statement anew unless it is prepared, and parsing is
// most of a small query's cost; pgx already caches prepared statements per
// connection. So on SQLite, queries run outside a transaction go through
// prepared statements kept by their text. The cache is bounded: queries built
// with varying text (filters) stop being cached once it is full.
const maxCachedStatements = 512

type stmtCache struct {
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func (db *DB) prepared(ctx context.Context, query string) *sql.Stmt {
	if db.Dialect != SQLite {
		return nil
	}
	db.cache.mu.RLock()
	st := db.cache.stmts[query]
	full := len(db.cache.stmts) >= maxCachedStatements
	db.cache.mu.RUnlock()
	if st != nil || full {
		return st
	}
	st, err := db.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil // the plain call reports the error
	}
	db.cache.mu.Lock()
	defer db.cache.mu.Unlock()
	if prev := db.cache.stmts[query]; prev != nil {
		st.Close()
		return prev
	}
	if db.cache.stmts == nil {
		db.cache.stmts = map[string]*sql.Stmt{}
	}
	db.cache.stmts[query] = st
	return st
}

// QueryContext runs a query, through a cached prepared statement on SQLite.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := db.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query for one row, through a cached prepared statement on SQLite.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.DB.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement, through a cached prepared statement on SQLite.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := db.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return db.DB.ExecContext(ctx, query, args...)
}

// Close closes the cached statements and the database.
func (db *DB) Close() error {
	db.cache.mu.Lock()
	for _, st := range db.cache.stmts {
		st.Close()
	}
	db.cache.stmts = nil
	db.cache.mu.Unlock()
	return db.DB.Close()
}
