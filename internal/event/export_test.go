package event

import (
	"context"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// PurgeBatch is Purge looking at batch outbox rows per transaction.
func PurgeBatch(ctx context.Context, db *store.DB, now time.Time, batch int) (int, error) {
	return purge(ctx, db, now, batch)
}
