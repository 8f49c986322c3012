package store

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrations is one domain package's schema: an fs.FS with a "postgres" and a
// "sqlite" folder of goose SQL files. Each package keeps its own version table
// (goose_<Name>), so packages number their files independently.
type Migrations struct {
	Name string
	FS   fs.FS
}

var migrationName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Migrate applies every pending migration of each set, in the order given:
// a set may refer to tables of the sets before it.
func (db *DB) Migrate(ctx context.Context, sets ...Migrations) error {
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	for _, set := range sets {
		if !migrationName.MatchString(set.Name) {
			return fmt.Errorf("migrations: bad set name %q", set.Name)
		}
		sub, err := fs.Sub(set.FS, string(db.Dialect))
		if err != nil {
			return fmt.Errorf("migrations %s: %w", set.Name, err)
		}
		opts := []goose.ProviderOption{
			goose.WithTableName("goose_" + set.Name),
			goose.WithDisableGlobalRegistry(true),
			goose.WithSlog(slog.New(slog.DiscardHandler)),
		}
		if db.Dialect == Postgres {
			// Several nodes may start at once; an advisory lock lets one migrate.
			locker, err := lock.NewPostgresSessionLocker()
			if err != nil {
				return err
			}
			opts = append(opts, goose.WithSessionLocker(locker))
		}
		p, err := goose.NewProvider(dialect, db.DB, sub, opts...)
		if err != nil {
			return fmt.Errorf("migrations %s: %w", set.Name, err)
		}
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("migrations %s: %w", set.Name, err)
		}
	}
	return nil
}

// MustSub returns the sub-tree dir of an embedded FS; a missing folder is a
// build mistake, so it panics at start-up rather than failing later.
func MustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
