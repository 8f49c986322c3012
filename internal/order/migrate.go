package order

import (
	"embed"

	"github.com/connect-oss/connect/internal/store"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations is this package's schema, applied by store.Migrate after
// tenant, catalog and customer.
var Migrations = store.Migrations{Name: "order", FS: store.MustSub(migrationsFS, "migrations")}
