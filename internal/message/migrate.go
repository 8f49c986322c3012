package message

import (
	"embed"

	"github.com/connect-oss/connect/internal/store"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations is this package's schema: customer messages and service
// notices. It follows customers and the catalog.
var Migrations = store.Migrations{Name: "message", FS: store.MustSub(migrationsFS, "migrations")}
