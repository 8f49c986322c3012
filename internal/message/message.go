// Package message is the Diverse area's correspondence (spec diverse.md):
// messages between a customer and the company's customer service, and the
// service notices (status messages) a company shows its customers.
package message

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
)

// Directions of a message.
const (
	In  = "IN"  // from the customer
	Out = "OUT" // a reply from customer service
)

// Field limits (diverse.md message-send).
const (
	maxProduct = 12
	maxSubject = 40
	maxContent = 32000
)

// EventType is the outbox event of a new message from a customer: the
// company's customer-service systems receive it by webhook (ours; README §11
// has no message type).
const EventType = "message"

// Message is one message of a customer's thread.
type Message struct {
	ID             int64  `json:"id"`
	Date           int64  `json:"date"`
	Direction      string `json:"direction"`
	Product        string `json:"product,omitempty"`
	CaseType       string `json:"caseType,omitempty"`
	MessageSubject string `json:"messageSubject,omitempty"`
	MessageContent string `json:"messageContent"`
}

// Thread is the response of message-list and message-send.
type Thread struct {
	Messages []Message `json:"messages"`
}

// SendRequest is the body of message-send and message-send-client.
type SendRequest struct {
	CustomerNumber *int64  `json:"customerNumber"` // client mode only
	Product        *string `json:"product"`
	CaseType       *string `json:"caseType"`
	MessageSubject *string `json:"messageSubject"`
	MessageContent *string `json:"messageContent"`
}

// EventData is the data of a message/new event.
type EventData struct {
	MessageID      int64  `json:"messageId"`
	CustomerNumber int64  `json:"customerNumber"`
	Direction      string `json:"direction"`
	Product        string `json:"product,omitempty"`
	CaseType       string `json:"caseType,omitempty"`
	MessageSubject string `json:"messageSubject,omitempty"`
	MessageContent string `json:"messageContent"`
	ClientID       string `json:"clientId"`
	Date           int64  `json:"date"`
}

// newMessage is a validated message from a customer.
type newMessage struct {
	product, caseType, subject, content string
}

func text(field string, s *string, max int, required bool) (string, error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		if required {
			return "", errs.Field(field, "required")
		}
		return "", nil
	}
	v := *s
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return "", errs.Field(field, "must be text without NUL characters")
	}
	if utf8.RuneCountInString(v) > max {
		return "", errs.Field(field, "at most %d characters", max)
	}
	return v, nil
}

// validate checks a message's fields; productRequired is true in user mode.
func (req *SendRequest) validate(productRequired bool) (newMessage, error) {
	var m newMessage
	var err error
	if m.product, err = text("product", req.Product, maxProduct, productRequired); err != nil {
		return m, err
	}
	m.product = strings.TrimSpace(m.product)
	if m.caseType, err = text("caseType", req.CaseType, 1, false); err != nil {
		return m, err
	}
	m.caseType = strings.ToUpper(m.caseType)
	if m.caseType != "" && m.caseType != "A" && m.caseType != "B" {
		return m, errs.Field("caseType", "must be A (complaint follow-up) or B (cancellation)")
	}
	if m.subject, err = text("messageSubject", req.MessageSubject, maxSubject, false); err != nil {
		return m, err
	}
	if m.content, err = text("messageContent", req.MessageContent, maxContent, true); err != nil {
		return m, err
	}
	return m, nil
}

// send stores a customer's message and its event, then returns the thread.
// The product must be one of the company's.
func send(ctx context.Context, tx *sql.Tx, companyID int64, companyCode, clientID string, customerNumber int64, m newMessage, now time.Time) (Thread, error) {
	if m.product != "" {
		ok, err := catalog.ProductExists(ctx, tx, companyID, m.product)
		if err != nil {
			return Thread{}, err
		}
		if !ok {
			return Thread{}, errs.Field("product", "unknown product %s", m.product)
		}
	}
	ms := now.UnixMilli()
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO customer_messages (company_id, customer_number, direction, product_code,
		case_type, subject, content, client_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		companyID, customerNumber, In, m.product, m.caseType, m.subject, m.content, clientID, ms).Scan(&id); err != nil {
		return Thread{}, store.Translate(err)
	}
	if _, err := event.Record(ctx, tx, event.Event{CompanyID: companyID, Source: companyCode, Type: EventType, Status: "new",
		Time: now, Data: EventData{MessageID: id, CustomerNumber: customerNumber, Direction: In, Product: m.product,
			CaseType: m.caseType, MessageSubject: m.subject, MessageContent: m.content, ClientID: clientID, Date: ms}}); err != nil {
		return Thread{}, err
	}
	msgs, err := ListFor(ctx, tx, companyID, customerNumber)
	return Thread{Messages: msgs}, err
}

// ListFor returns a customer's messages, oldest first (by date, then id).
// The privacy export uses it too.
func ListFor(ctx context.Context, q store.Queryer, companyID, customerNumber int64) ([]Message, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, created_at, direction, product_code, case_type, subject, content
		FROM customer_messages WHERE company_id = $1 AND customer_number = $2 ORDER BY created_at, id`, companyID, customerNumber)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		var m Message
		if err := rows.Scan(&m.ID, &m.Date, &m.Direction, &m.Product, &m.CaseType, &m.MessageSubject, &m.MessageContent); err != nil {
			return nil, store.Translate(err)
		}
		out = append(out, m)
	}
	return out, store.Translate(rows.Err())
}

// EraseFor deletes a customer's messages (privacy erasure) and returns how
// many there were.
func EraseFor(ctx context.Context, tx *sql.Tx, companyID, customerNumber int64) (int, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM customer_messages WHERE company_id = $1 AND customer_number = $2`, companyID, customerNumber)
	if err != nil {
		return 0, store.Translate(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, store.Translate(err)
	}
	return int(n), scrubEvents(ctx, tx, companyID, customerNumber)
}

// scrubEvents blanks the subject and text of the customer's message events
// in the outbox: the events stay (deliveries refer to them), the personal
// text goes with the messages.
func scrubEvents(ctx context.Context, tx *sql.Tx, companyID, customerNumber int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, data FROM event_outbox WHERE company_id = $1 AND type = $2 AND data LIKE $3`,
		companyID, EventType, fmt.Sprintf(`%%"customerNumber":%d,%%`, customerNumber))
	if err != nil {
		return store.Translate(err)
	}
	scrubbed := map[int64]string{}
	for rows.Next() {
		var id int64
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return err
		}
		var d EventData
		if err := json.Unmarshal([]byte(raw), &d); err != nil || d.CustomerNumber != customerNumber {
			continue // another customer whose number shares the text, or not ours to read
		}
		d.MessageSubject, d.MessageContent = "", ""
		b, err := json.Marshal(d)
		if err != nil {
			rows.Close()
			return err
		}
		scrubbed[id] = string(b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	for id, data := range scrubbed {
		if _, err := tx.ExecContext(ctx, `UPDATE event_outbox SET data = $1 WHERE id = $2`, data, id); err != nil {
			return store.Translate(err)
		}
	}
	return nil
}
