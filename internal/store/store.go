// Package store opens the database (SQLite or PostgreSQL), runs the embedded
// migrations of every domain package, runs transactions and translates driver
// errors into internal/errs kinds at one boundary.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/connect-oss/connect/internal/errs"
)

// Dialect names the SQL flavour of an open database.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database with its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
	DSN     string

	cache stmtCache
}

// Open connects to the database named by dsn: "sqlite://PATH" (relative or
// absolute; "sqlite://:memory:" is refused because every connection would see
// another database) or "postgres://..." / "postgresql://...".
func Open(ctx context.Context, dsn string) (*DB, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		pgDSN, maxConns, err := poolSize(dsn, 64)
		if err != nil {
			return nil, err
		}
		db, err := sql.Open("pgx", pgDSN)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(maxConns)
		db.SetMaxIdleConns(maxConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("connect to postgres: %w", err)
		}
		return &DB{DB: db, Dialect: Postgres, DSN: dsn}, nil
	case strings.HasPrefix(dsn, "sqlite://"), strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" || strings.HasPrefix(path, ":memory:") {
			return nil, errors.New("sqlite: a file path is required (e.g. sqlite://./connect.db)")
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("sqlite: %w", err)
			}
		}
		// WAL lets readers run beside the one writer; IMMEDIATE transactions take
		// the write lock up front so two writers queue on busy_timeout instead of
		// failing with SQLITE_BUSY when both try to upgrade a read lock.
		q := url.Values{}
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		return &DB{DB: db, Dialect: SQLite, DSN: dsn}, nil
	default:
		return nil, fmt.Errorf("unsupported database URL %q: use sqlite://PATH or postgres://", redactDSN(dsn))
	}
}

// poolSize takes our own "max_conns" parameter out of a PostgreSQL URL (pgx
// would send it to the server as a setting) and returns the pool size.
func poolSize(dsn string, def int) (string, int, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", 0, errors.New("postgres: malformed database URL")
	}
	q := u.Query()
	v := q.Get("max_conns")
	if v == "" {
		return dsn, def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return "", 0, errors.New("postgres: max_conns must be a number from 1 to 1000")
	}
	q.Del("max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// redactDSN hides a password in a DSN so it can be shown in an error.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}

// Queryer is what both *sql.DB and *sql.Tx offer; read helpers take it so they
// work inside and outside a transaction.
type Queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx runs fn in one transaction: committed when fn returns nil, rolled back
// otherwise (and on panic, which is re-raised). The returned error is translated.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Translate(err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return Translate(err)
	}
	return Translate(tx.Commit())
}

// Translate maps driver errors to errs kinds: no rows → NotFound, unique
// violation → Conflict, foreign key violation → Invalid. Errors that already
// carry a kind, and nil, pass through.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Wrap(errs.NotFound, err, "not found")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return errs.Wrap(errs.Conflict, err, "already exists")
		case "23503":
			return errs.Wrap(errs.Invalid, err, "refers to something that does not exist")
		case "23514", "22001", "22003":
			return errs.Wrap(errs.Invalid, err, "value out of range")
		}
		return err
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errs.Wrap(errs.Conflict, err, "already exists")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errs.Wrap(errs.Invalid, err, "refers to something that does not exist")
		case sqlite3.SQLITE_CONSTRAINT_CHECK:
			return errs.Wrap(errs.Invalid, err, "value out of range")
		}
	}
	return err
}
