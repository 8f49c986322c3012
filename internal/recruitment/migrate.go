package recruitment

import (
	"embed"

	"github.com/connect-oss/connect/internal/store"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations is this package's schema. It follows orders and billing:
// recruitments refer to orders and read their status.
var Migrations = store.Migrations{Name: "recruitment", FS: store.MustSub(migrationsFS, "migrations")}
