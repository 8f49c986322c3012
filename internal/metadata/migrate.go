package metadata

import (
	"embed"

	"github.com/connect-oss/connect/internal/store"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations is this package's schema. It follows tenant (clients) and
// identity (users).
var Migrations = store.Migrations{Name: "metadata", FS: store.MustSub(migrationsFS, "migrations")}
