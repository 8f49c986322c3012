package stock

import (
	"embed"

	"github.com/connect-oss/connect/internal/store"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations is this package's schema: stock levels. It follows the catalog.
var Migrations = store.Migrations{Name: "stock", FS: store.MustSub(migrationsFS, "migrations")}
