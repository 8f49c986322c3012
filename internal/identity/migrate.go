package identity

import (
	"embed"

	"github.com/connect-oss/connect/internal/store"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations is this package's schema, applied by store.Migrate.
var Migrations = store.Migrations{Name: "identity", FS: store.MustSub(migrationsFS, "migrations")}
