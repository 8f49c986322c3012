package identity

import (
	"context"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// Message is an e-mail or SMS to a user (verification codes, password reset).
type Message struct {
	Channel string // "email" or "sms"
	To      string // e-mail address or E.164 number
	Subject string
	Body    string
}

// Sender delivers messages to users. The default records them in the
// database (outbound_messages), where the demo mailbox page shows them; SMTP
// or SMS adapters implement the same interface.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// DBSender is the default Sender: it stores each message and sends nothing.
type DBSender struct{ DB *store.DB }

// Send implements Sender.
func (s DBSender) Send(ctx context.Context, m Message) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO outbound_messages (channel, recipient, subject, body, created_at)
		VALUES ($1, $2, $3, $4, $5)`, m.Channel, m.To, m.Subject, m.Body, time.Now().UnixMilli())
	return store.Translate(err)
}

// StoredMessage is a message recorded by DBSender.
type StoredMessage struct {
	ID        int64
	Channel   string
	To        string
	Subject   string
	Body      string
	CreatedAt time.Time
}

// RecentMessages returns the newest recorded messages, newest first (demo mailbox).
func RecentMessages(ctx context.Context, q store.Queryer, limit int) ([]StoredMessage, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, channel, recipient, subject, body, created_at FROM outbound_messages
		ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StoredMessage
	for rows.Next() {
		var m StoredMessage
		var at int64
		if err := rows.Scan(&m.ID, &m.Channel, &m.To, &m.Subject, &m.Body, &at); err != nil {
			return nil, err
		}
		m.CreatedAt = time.UnixMilli(at)
		out = append(out, m)
	}
	return out, rows.Err()
}
