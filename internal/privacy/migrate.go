package privacy

import (
	"embed"

	"github.com/connect-oss/connect/internal/store"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations is this package's schema. It follows customers, orders and
// billing: subject checks and the private-data export and erasure read (and
// erasure anonymises) their tables.
var Migrations = store.Migrations{Name: "privacy", FS: store.MustSub(migrationsFS, "migrations")}
