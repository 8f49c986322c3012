package billing

import (
	"embed"

	"github.com/connect-oss/connect/internal/store"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations is this package's schema, applied after tenant, catalog,
// customer and subscription (it refers to companies only, but its jobs read
// the others' tables).
var Migrations = store.Migrations{Name: "billing", FS: store.MustSub(migrationsFS, "migrations")}
