// Package audit writes the audit log: who did what to which object, for every
// security-relevant action. Rows are written in the caller's transaction when
// there is one, so an action and its audit row commit together.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// Entry is one audit row. Detail must never hold secrets.
type Entry struct {
	CompanyID int64  // 0 for server-wide actions
	Actor     string // e.g. "client:demo.web", "user:<uniqueId>", "operator"
	Action    string // e.g. "tenant.apply", "token.issue", "key.rotate"
	Target    string
	Detail    map[string]any
	RemoteIP  string
	RequestID string
	At        time.Time
}

// Record inserts e using q (a *sql.DB or *sql.Tx).
func Record(ctx context.Context, q store.Queryer, e Entry) error {
	if e.Actor == "" || e.Action == "" {
		return fmt.Errorf("audit: actor and action are required")
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
	}
	var company any
	if e.CompanyID != 0 {
		company = e.CompanyID
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log
		(company_id, at, actor, action, target, detail, remote_ip, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		company, e.At.UnixMilli(), e.Actor, e.Action, e.Target, string(detail), e.RemoteIP, e.RequestID)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
