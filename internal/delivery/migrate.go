package delivery

import (
	"embed"

	"github.com/connect-oss/connect/internal/store"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations is this package's schema, applied by store.Migrate after
// subscription (stops refer to subscriptions).
var Migrations = store.Migrations{Name: "delivery", FS: store.MustSub(migrationsFS, "migrations")}
