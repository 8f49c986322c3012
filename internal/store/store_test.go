package store_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
)

var things = store.Migrations{Name: "things", FS: fstest.MapFS{
	"postgres/00001_things.sql": {Data: []byte(schema("BIGSERIAL PRIMARY KEY"))},
	"sqlite/00001_things.sql":   {Data: []byte(schema("INTEGER PRIMARY KEY AUTOINCREMENT"))},
}}

func schema(id string) string {
	return `-- +goose Up
CREATE TABLE parents (id ` + id + `, name TEXT NOT NULL UNIQUE);
CREATE TABLE things (id ` + id + `, parent_id BIGINT NOT NULL REFERENCES parents(id), n INTEGER NOT NULL CHECK (n >= 0));
-- +goose Down
DROP TABLE things;
DROP TABLE parents;
`
}

func TestTranslateAndTx(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := storetest.Open(t, d, things)
		var parent int64
		if err := db.QueryRowContext(ctx, `INSERT INTO parents (name) VALUES ($1) RETURNING id`, "a").Scan(&parent); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			run  func() error
			kind errs.Kind
		}{
			{"unique violation is a conflict", func() error {
				_, err := db.ExecContext(ctx, `INSERT INTO parents (name) VALUES ('a')`)
				return store.Translate(err)
			}, errs.Conflict},
			{"no rows is not found", func() error {
				var n int
				return store.Translate(db.QueryRowContext(ctx, `SELECT n FROM things WHERE id = $1`, 999).Scan(&n))
			}, errs.NotFound},
			{"foreign key violation is invalid", func() error {
				_, err := db.ExecContext(ctx, `INSERT INTO things (parent_id, n) VALUES ($1, 1)`, 12345)
				return store.Translate(err)
			}, errs.Invalid},
			{"check violation is invalid", func() error {
				_, err := db.ExecContext(ctx, `INSERT INTO things (parent_id, n) VALUES ($1, -1)`, parent)
				return store.Translate(err)
			}, errs.Invalid},
		}
		for _, tc := range cases {
			if err := tc.run(); errs.KindOf(err) != tc.kind {
				t.Errorf("%s: got %v (kind %d)", tc.name, err, errs.KindOf(err))
			}
		}
		// A failing transaction leaves nothing behind.
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO things (parent_id, n) VALUES ($1, 1)`, parent); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO parents (name) VALUES ('a')`)
			return err
		})
		if errs.KindOf(err) != errs.Conflict {
			t.Fatalf("tx error %v", err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM things`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("rolled-back rows remain: %d %v", n, err)
		}
		// A panic inside rolls back and is re-raised.
		func() {
			defer func() {
				if recover() == nil {
					t.Error("panic swallowed")
				}
			}()
			_ = db.Tx(ctx, func(tx *sql.Tx) error {
				_, _ = tx.ExecContext(ctx, `INSERT INTO things (parent_id, n) VALUES ($1, 2)`, parent)
				panic("boom")
			})
		}()
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM things`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("rows after panic: %d %v", n, err)
		}
		// Errors that already carry a kind pass through unchanged.
		own := errs.E(errs.Forbidden, "no")
		if got := store.Translate(own); !errors.Is(got, own) {
			t.Error("kinded error altered")
		}
	})
}

func TestOpenRefusesBadURLs(t *testing.T) {
	for _, dsn := range []string{"mysql://x", "sqlite://:memory:", "sqlite://", "", "postgres://user:hunter2@127.0.0.1:1/db"} {
		_, err := store.Open(context.Background(), dsn)
		if err == nil {
			t.Errorf("%q opened", dsn)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("password leaked in %v", err)
		}
	}
}
