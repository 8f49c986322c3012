// Package event is the transactional outbox: domain code records an event in
// the same transaction as the change it describes, so an event exists exactly
// when the change committed. Delivery (webhooks, streams) reads the outbox later.
package event

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/connect-oss/connect/internal/store"
)

// Event is one change, in the envelope of spec README §11.
type Event struct {
	CompanyID int64
	Source    string // the company's tenant code
	Type      string // subscription, product, order, coupon, customer, consent, user
	Status    string // e.g. start, new, update, delete
	Data      any    // type-specific fields; marshalled as JSON
	Time      time.Time
}

// Event types of spec README §11.
const (
	TypeSubscription = "subscription"
	TypeProduct      = "product"
	TypeOrder        = "order"
	TypeCoupon       = "coupon"
	TypeCustomer     = "customer"
	TypeConsent      = "consent"
	TypeUser         = "user" // ConnectID events
)

// Statuses of TypeUser events. new, update and delete are the spec's
// proposal; login, logout and credential_changed are ours (DECISIONS.md,
// "Events"), so receivers can tell a profile change from a sign-in.
const (
	UserNew               = "new"
	UserLogin             = "login"
	UserLogout            = "logout"
	UserCredentialChanged = "credential_changed"
	UserUpdate            = "update"
	UserDelete            = "delete"
)

// UserData is the data of a TypeUser event. CustomerNumber is the user's
// customer at the event's company, omitted when none is linked.
type UserData struct {
	UniqueID       string `json:"uniqueId"`
	CustomerNumber int64  `json:"customerNumber,omitempty"`
}

// RecordUser records a ConnectID event for the company through whose client
// the user acted (a user is global; events belong to a company).
func RecordUser(ctx context.Context, tx store.Queryer, companyID int64, companyCode, status string, d UserData, at time.Time) (string, error) {
	return Record(ctx, tx, Event{CompanyID: companyID, Source: companyCode, Type: TypeUser, Status: status, Data: d, Time: at})
}

// Envelope is the JSON body delivered to receivers.
type Envelope struct {
	Time   int64           `json:"time"`
	Type   string          `json:"type"`
	Source string          `json:"source"`
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
}

// Record writes e to the outbox inside tx and returns its unique event id.
func Record(ctx context.Context, tx store.Queryer, e Event) (string, error) {
	ids, err := RecordBatch(ctx, tx, []Event{e})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// recordBatchRows bounds one multi-row insert: 9 parameters a row keeps a
// statement far below PostgreSQL's 65,535 and SQLite's 32,766 parameters.
const recordBatchRows = 500

// RecordBatch writes events to the outbox inside tx, in order, and returns
// their ids. It is Record for many changes of one transaction: a multi-row
// insert per 500 events instead of a round trip per event. The rows are the
// ones Record writes, so delivery sees no difference. On error nothing of the
// batch is meant to commit: the caller's transaction must roll back.
func RecordBatch(ctx context.Context, tx store.Queryer, events []Event) ([]string, error) {
	if len(events) == 0 {
		return nil, nil
	}
	ids := make([]string, len(events))
	now := time.Now().UnixMilli()
	for lo := 0; lo < len(events); lo += recordBatchRows {
		hi := min(lo+recordBatchRows, len(events))
		var b strings.Builder
		b.WriteString(`INSERT INTO event_outbox
		(event_id, company_id, type, source, status, data, time, next_attempt_at, created_at) VALUES `)
		args := make([]any, 0, (hi-lo)*9)
		for i := lo; i < hi; i++ {
			e := events[i]
			if e.CompanyID == 0 || e.Type == "" || e.Status == "" {
				return nil, fmt.Errorf("event: company, type and status are required")
			}
			data, err := json.Marshal(e.Data)
			if err != nil {
				return nil, fmt.Errorf("event data: %w", err)
			}
			if e.Time.IsZero() {
				e.Time = time.Now()
			}
			ids[i] = NewID()
			if i > lo {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			b.WriteString(placeholders(len(args)+1, 9))
			b.WriteByte(')')
			args = append(args, ids[i], e.CompanyID, e.Type, e.Source, e.Status, string(data), e.Time.UnixMilli(), now, now)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return nil, fmt.Errorf("record event: %w", err)
		}
	}
	return ids, nil
}

// NewID returns a new event id: a UUIDv7 as 32 lower-case hex characters.
// Why time-ordered: event ids are a unique index of the outbox, the largest
// table; random ids land on random pages of that index (cache misses and,
// after each checkpoint, a full-page image per insert), while ids that grow
// with time are appended at its right edge.
func NewID() string {
	u, err := uuid.NewV7()
	if err != nil { // the system's random source failed: no id can be made
		panic(fmt.Sprintf("event id: %v", err))
	}
	return hex.EncodeToString(u[:])
}
