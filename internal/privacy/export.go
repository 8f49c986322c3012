package privacy

// Access private data (spec privacy.md private-data-access): everything the
// calling client's company holds about the logged-in user and the linked
// customer, plus the user's ConnectID account, read from one snapshot.

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/identity"
	"github.com/connect-oss/connect/internal/message"
	"github.com/connect-oss/connect/internal/metadata"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/value"
)

// Export is the response of Access private data. Sections the server has no
// area for yet (complaints, delivery stops) are empty.
type Export struct {
	Generated          int64                        `json:"generated"`
	CompanyCode        string                       `json:"companyCode"`
	User               ExportUser                   `json:"user"`
	Metadata           map[string]any               `json:"metadata"`
	Customer           any                          `json:"customer"`
	Addresses          []customer.Address           `json:"addresses"`
	ExternalReferences []customer.ExternalReference `json:"externalReferences"`
	Subscriptions      []subscription.Subscription  `json:"subscriptions"`
	Orders             any                          `json:"orders"`
	Invoices           []ExportInvoice              `json:"invoices"`
	Reminders          []ExportReminder             `json:"reminders"`
	PaymentMeans       []ExportMeans                `json:"paymentMeans"`
	ConsentEvents      []ExportConsentEvent         `json:"consentEvents"`
	Permissions        []ExportPermissions          `json:"permissions"`
	Privacy            []ExportPurposes             `json:"privacy"`
	Messages           []message.Message            `json:"messages"`
	Complaints         []any                        `json:"complaints"`
	DeliveryStops      []any                        `json:"deliveryStops"`
	Shares             []ExportShare                `json:"shares"`
	AccessLog          []ExportAccess               `json:"accessLog"`
}

// ExportUser is the ConnectID account. Password hashes, tokens and codes are
// never included.
type ExportUser struct {
	UniqueID           string             `json:"uniqueId"`
	UserID             int64              `json:"userId"`
	Created            int64              `json:"created"`
	FirstName          string             `json:"firstName,omitempty"`
	LastName           string             `json:"lastName,omitempty"`
	Credentials        []ExportCredential `json:"credentials"`
	ExternalIdentities []ExportExternal   `json:"externalIdentities"`
	Clients            []ExportClient     `json:"clients"`
}

// ExportCredential is one login credential.
type ExportCredential struct {
	Credential        string `json:"credential"`
	CredentialType    string `json:"credentialType"`
	VerificationLevel string `json:"verificationLevel"`
}

// ExportExternal is what an external identity provider sent at the last login.
type ExportExternal struct {
	Source  string `json:"source"`
	Info    string `json:"info"`
	Updated int64  `json:"updated"`
}

// ExportClient is a client the user logged in through, with the last time.
type ExportClient struct {
	ClientID  string `json:"clientId"`
	LastLogin int64  `json:"lastLogin"`
}

// ExportInvoice is an invoice or credit note of which the customer is the payer.
type ExportInvoice struct {
	InvoiceNumber     string      `json:"invoiceNumber"`
	Kind              string      `json:"kind"` // invoice, credit
	Product           string      `json:"product"`
	ProductName       string      `json:"productName"`
	InvoiceDate       string      `json:"invoiceDate"`
	DueDate           string      `json:"dueDate"`
	PaymentDate       string      `json:"paymentDate,omitempty"`
	Currency          string      `json:"currency"`
	InvoiceAmount     value.Money `json:"invoiceAmount"`
	PaidAmount        value.Money `json:"paidAmount"`
	CreditedAmount    value.Money `json:"creditedAmount"`
	InvoiceStatus     string      `json:"invoiceStatus"`
	PaymentReference  string      `json:"paymentReference"`
	PaymentMethodCode string      `json:"paymentMethod"`
}

// ExportReminder is a reminder of one of the customer's invoices.
type ExportReminder struct {
	InvoiceNumber  int64       `json:"invoiceNumber"`
	Product        string      `json:"product"`
	ReminderNumber int         `json:"reminderNumber"`
	ReminderType   string      `json:"reminderType"`
	ReminderDate   int64       `json:"reminderDate"`
	DueDate        int64       `json:"dueDate"`
	Fee            value.Money `json:"fee"`
	Amount         value.Money `json:"amount"`
}

// ExportMeans is a stored payment means, without its reference (a secret
// that allows charging).
type ExportMeans struct {
	Kind              string `json:"kind"`
	ProductCode       string `json:"productCode"`
	PaymentProviderID int64  `json:"paymentProviderId"`
	MaskedCard        string `json:"maskedCard,omitempty"`
	ExpiryMonth       string `json:"expiryMonth,omitempty"`
	ExpiryYear        string `json:"expiryYear,omitempty"`
	CardType          string `json:"cardType,omitempty"`
	Status            string `json:"status"`
	Created           int64  `json:"created"`
	Ended             *int64 `json:"ended,omitempty"`
}

// ExportConsentEvent is a consent event of the user's subject group, with its evidence.
type ExportConsentEvent struct {
	ConsentEventID       int64  `json:"consentEventId"`
	Issuer               string `json:"issuer"`
	ConsentID            int64  `json:"consentId"`
	Target               string `json:"target"`
	Scope                string `json:"scope"`
	Subject              string `json:"subject"`
	SubjectType          string `json:"subjectType"`
	Action               bool   `json:"action"`
	EventTime            int64  `json:"eventTime"`
	Created              int64  `json:"created"`
	Source               string `json:"source"`
	Data                 string `json:"data,omitempty"`
	ConsentTextHistoryID *int64 `json:"consentTextHistoryId,omitempty"`
}

// ExportPermissions is one level's channel settings and change history;
// null codes are the global level.
type ExportPermissions struct {
	EnterpriseCode *string              `json:"enterpriseCode"`
	OrderType      *string              `json:"orderType"`
	Channels       []ChannelEntry       `json:"channels"`
	History        []ExportChannelEvent `json:"history"`
}

// ExportChannelEvent is one logged change of a channel setting.
type ExportChannelEvent struct {
	Time     int64  `json:"time"`
	ClientID string `json:"clientId,omitempty"`
	Source   string `json:"source,omitempty"`
	Channel  string `json:"channel"`
	OldType  string `json:"oldType,omitempty"`
	NewType  string `json:"newType,omitempty"`
}

// ExportPurposes is one level's privacy purposes.
type ExportPurposes struct {
	EnterpriseCode string   `json:"enterpriseCode"`
	OrderType      *string  `json:"orderType"`
	Purposes       []string `json:"purposes"`
}

// ExportShare is a share the customer sent or received. A received share
// shows nothing of its owner beyond what the recipient already sees.
type ExportShare struct {
	Direction   string `json:"direction"` // sent, received
	ShareCode   string `json:"shareCode,omitempty"`
	ProductCode string `json:"productCode"`
	ShareStatus string `json:"shareStatus"`
	Contact     string `json:"contact,omitempty"`
	ContactType string `json:"contactType,omitempty"`
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	Created     int64  `json:"created"`
	Accepted    *int64 `json:"accepted,omitempty"`
	Ended       *int64 `json:"ended,omitempty"`
}

// ExportAccess is one earlier export (time, client).
type ExportAccess struct {
	Time     int64  `json:"time"`
	ClientID string `json:"clientId"`
}

// exportInterval is the least time between two exports of one user.
const exportInterval = time.Minute

// OrderLister returns the orders section of the export in the shape of the
// order lists: the orders the customer paid or the user was assigned.
// The wiring supplies it (package order imports this one).
type OrderLister func(ctx context.Context, q store.Queryer, companyID, customerNumber, userNumber int64) (any, error)

// claimExport takes the user's export slot for now, or answers 429 with the
// seconds until the next one is allowed. It commits on its own, before the
// snapshot, so concurrent exports wait on the row instead of failing.
func claimExport(ctx context.Context, db *store.DB, userID int64, now time.Time) (retryAfter int64, err error) {
	ms := now.UnixMilli()
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO privacy_export_throttle (user_id, last_export_at) VALUES ($1, $2)
			ON CONFLICT (user_id) DO UPDATE SET last_export_at = excluded.last_export_at
			WHERE privacy_export_throttle.last_export_at <= $3`, userID, ms, ms-exportInterval.Milliseconds())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT last_export_at FROM privacy_export_throttle WHERE user_id = $1`, userID).Scan(&last); err != nil {
			return err
		}
		retryAfter = max(1, (last+exportInterval.Milliseconds()-ms+999)/1000)
		return errs.E(errs.TooManyRequests, "at most one export of private data per minute")
	})
	return retryAfter, err
}

// snapshot runs fn in one transaction that reads a single snapshot of the
// database (repeatable read on PostgreSQL; SQLite transactions always do).
func snapshot(ctx context.Context, db *store.DB, fn func(tx *sql.Tx) error) (err error) {
	var opts *sql.TxOptions
	if db.Dialect == store.Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead}
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return store.Translate(err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return store.Translate(err)
	}
	return store.Translate(tx.Commit())
}

// export builds the export for a user-mode caller and logs it.
func (h Handlers) export(ctx context.Context, p *auth.Principal, now time.Time) (*Export, error) {
	// Due address changes are applied first, as the address list does; this
	// runs in its own transaction, before the snapshot.
	cno, err := customerNumber(ctx, h.DB, p)
	if err != nil {
		return nil, err
	}
	var addresses []customer.Address
	if cno != 0 {
		if addresses, err = customer.Addresses(ctx, h.DB, p.CompanyID, p.CompanyCode, cno, "", now); err != nil {
			return nil, err
		}
	}
	out := &Export{Generated: now.UnixMilli(), CompanyCode: p.CompanyCode, Metadata: map[string]any{}, Customer: struct{}{},
		Addresses: nonNilList(addresses), ExternalReferences: []customer.ExternalReference{}, Subscriptions: []subscription.Subscription{},
		Orders: []any{}, Invoices: []ExportInvoice{}, Reminders: []ExportReminder{}, PaymentMeans: []ExportMeans{},
		ConsentEvents: []ExportConsentEvent{}, Permissions: []ExportPermissions{}, Privacy: []ExportPurposes{},
		Messages: []message.Message{}, Complaints: []any{}, DeliveryStops: []any{}, Shares: []ExportShare{}, AccessLog: []ExportAccess{}}
	err = snapshot(ctx, h.DB, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO privacy_access_log (company_id, user_id, client_id, accessed_at) VALUES ($1, $2, $3, $4)`,
			p.CompanyID, p.UserNumber, p.ClientID, now.UnixMilli()); err != nil {
			return err
		}
		if err := exportUser(ctx, tx, p, &out.User); err != nil {
			return err
		}
		// User Data: the user's metadata from every client of the company.
		md, err := metadata.ForCompany(ctx, tx, p.CompanyID, p.UserNumber)
		if err != nil {
			return err
		}
		out.Metadata = md
		g := &group{uniqueID: p.UserID, userID: p.UserNumber, customer: cno}
		if cno != 0 {
			c, err := customer.Get(ctx, tx, p.CompanyID, cno)
			if err != nil {
				return err
			}
			out.Customer = c
			if out.ExternalReferences, err = customer.ExternalReferences(ctx, tx, p.CompanyID, cno); err != nil {
				return err
			}
			out.ExternalReferences = nonNilList(out.ExternalReferences)
			if out.Subscriptions, err = subscription.ListFor(ctx, tx, p.CompanyID, p.CompanyCode, cno); err != nil {
				return err
			}
			if err := exportBilling(ctx, tx, p.CompanyID, cno, out); err != nil {
				return err
			}
			if err := exportChannels(ctx, tx, p.CompanyID, cno, out); err != nil {
				return err
			}
			if err := exportShares(ctx, tx, p.CompanyID, cno, out); err != nil {
				return err
			}
			// Diverse: the customer's messages to and from customer service.
			if out.Messages, err = message.ListFor(ctx, tx, p.CompanyID, cno); err != nil {
				return err
			}
		}
		if h.Orders != nil {
			orders, err := h.Orders(ctx, tx, p.CompanyID, cno, p.UserNumber)
			if err != nil {
				return err
			}
			out.Orders = orders
		}
		if err := exportConsents(ctx, tx, p.CompanyID, g, out); err != nil {
			return err
		}
		return exportAccessLog(ctx, tx, p.CompanyID, p.UserNumber, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func nonNilList[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func exportUser(ctx context.Context, tx *sql.Tx, p *auth.Principal, u *ExportUser) error {
	usr, err := identity.GetUser(ctx, tx, p.UserNumber)
	if errs.Is(err, errs.NotFound) {
		// A token minted for a user without an account row (tests, tools):
		// the token's identity is all there is.
		*u = ExportUser{UniqueID: p.UserID, UserID: p.UserNumber, Credentials: []ExportCredential{},
			ExternalIdentities: []ExportExternal{}, Clients: []ExportClient{}}
		return nil
	}
	if err != nil {
		return err
	}
	*u = ExportUser{UniqueID: usr.UniqueID, UserID: usr.ID, Created: usr.CreatedAt.UnixMilli(), FirstName: usr.FirstName,
		LastName: usr.LastName, Credentials: []ExportCredential{}, ExternalIdentities: []ExportExternal{}, Clients: []ExportClient{}}
	for _, c := range usr.Credentials {
		u.Credentials = append(u.Credentials, ExportCredential{Credential: c.Credential, CredentialType: c.Type, VerificationLevel: c.VerificationLevel})
	}
	rows, err := tx.QueryContext(ctx, `SELECT source, info, updated_at FROM user_external_profiles WHERE user_id = $1 ORDER BY source`, usr.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var x ExportExternal
		if err := rows.Scan(&x.Source, &x.Info, &x.Updated); err != nil {
			rows.Close()
			return err
		}
		u.ExternalIdentities = append(u.ExternalIdentities, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT client_id, MAX(created_at) FROM (
			SELECT client_id, created_at FROM oauth_access_tokens WHERE user_id = $1
			UNION ALL SELECT client_id, created_at FROM oauth_requests WHERE user_id = $1) logins
		GROUP BY client_id ORDER BY client_id`, usr.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c ExportClient
		if err := rows.Scan(&c.ClientID, &c.LastLogin); err != nil {
			return err
		}
		u.Clients = append(u.Clients, c)
	}
	return rows.Err()
}

// invoiceStatus is the invoiceStatus word of a stored invoice status (payment.md).
func invoiceStatus(s string) string {
	switch s {
	case "open":
		return "Invoiced"
	case "overdue":
		return "Overdue"
	case "reminded":
		return "Reminded"
	case "paid":
		return "Paid"
	case "credited":
		return "Credited"
	case "cancelled":
		return "Cancelled"
	}
	return s
}

func exportBilling(ctx context.Context, tx *sql.Tx, companyID, cno int64, out *Export) error {
	rows, err := tx.QueryContext(ctx, `SELECT invoice_number, kind, product_code, product_name, invoice_date, due_date, payment_date,
		currency, amount + fee_amount, paid_amount, credited_amount, status, payment_reference, method_code
		FROM invoices WHERE company_id = $1 AND customer_number = $2 ORDER BY invoice_date, invoice_number`, companyID, cno)
	if err != nil {
		return err
	}
	for rows.Next() {
		var i ExportInvoice
		var number, amount, paid, credited int64
		var paymentDate sql.NullString
		if err := rows.Scan(&number, &i.Kind, &i.Product, &i.ProductName, &i.InvoiceDate, &i.DueDate, &paymentDate, &i.Currency,
			&amount, &paid, &credited, &i.InvoiceStatus, &i.PaymentReference, &i.PaymentMethodCode); err != nil {
			rows.Close()
			return err
		}
		i.InvoiceNumber, i.PaymentDate = strconv.FormatInt(number, 10), paymentDate.String
		i.InvoiceAmount, i.PaidAmount, i.CreditedAmount = value.Money(amount), value.Money(paid), value.Money(credited)
		i.InvoiceStatus = invoiceStatus(i.InvoiceStatus)
		out.Invoices = append(out.Invoices, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT i.invoice_number, i.product_code, r.reminder_number, r.reminder_type, r.reminder_date,
		r.due_date, r.fee, r.amount FROM invoice_reminders r JOIN invoices i ON i.id = r.invoice_id
		WHERE i.company_id = $1 AND i.customer_number = $2 ORDER BY r.reminder_date, r.id`, companyID, cno)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r ExportReminder
		var fee, amount int64
		if err := rows.Scan(&r.InvoiceNumber, &r.Product, &r.ReminderNumber, &r.ReminderType, &r.ReminderDate, &r.DueDate, &fee, &amount); err != nil {
			rows.Close()
			return err
		}
		r.Fee, r.Amount = value.Money(fee), value.Money(amount)
		out.Reminders = append(out.Reminders, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT kind, product_code, provider_id, masked_card, exp_month, exp_year, card_type, status,
		created_at, ended_at FROM payment_means WHERE company_id = $1 AND customer_number = $2 ORDER BY id`, companyID, cno)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var m ExportMeans
		var ended sql.NullInt64
		if err := rows.Scan(&m.Kind, &m.ProductCode, &m.PaymentProviderID, &m.MaskedCard, &m.ExpiryMonth, &m.ExpiryYear, &m.CardType,
			&m.Status, &m.Created, &ended); err != nil {
			return err
		}
		if ended.Valid {
			m.Ended = &ended.Int64
		}
		out.PaymentMeans = append(out.PaymentMeans, m)
	}
	return rows.Err()
}

func exportChannels(ctx context.Context, tx *sql.Tx, companyID, cno int64, out *Export) error {
	// Every level that has an entry or a logged change, in code order.
	rows, err := tx.QueryContext(ctx, `SELECT enterprise_code, order_type FROM privacy_channel_settings WHERE company_id = $1 AND customer_number = $2
		UNION SELECT enterprise_code, order_type FROM privacy_channel_log WHERE company_id = $1 AND customer_number = $2
		ORDER BY 1, 2`, companyID, cno)
	if err != nil {
		return err
	}
	var levels []level
	for rows.Next() {
		var l level
		if err := rows.Scan(&l.enterprise, &l.orderType); err != nil {
			rows.Close()
			return err
		}
		levels = append(levels, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, l := range levels {
		channels, err := listChannels(ctx, tx, companyID, cno, l)
		if err != nil {
			return err
		}
		e := ExportPermissions{Channels: channels, History: []ExportChannelEvent{}}
		if l.enterprise != "" {
			e.EnterpriseCode = &l.enterprise
		}
		if l.orderType != "" {
			e.OrderType = &l.orderType
		}
		rows, err := tx.QueryContext(ctx, `SELECT changed_at, client_id, source, channel, old_type, new_type FROM privacy_channel_log
			WHERE company_id = $1 AND customer_number = $2 AND enterprise_code = $3 AND order_type = $4 ORDER BY changed_at, id`,
			companyID, cno, l.enterprise, l.orderType)
		if err != nil {
			return err
		}
		for rows.Next() {
			var h ExportChannelEvent
			if err := rows.Scan(&h.Time, &h.ClientID, &h.Source, &h.Channel, &h.OldType, &h.NewType); err != nil {
				rows.Close()
				return err
			}
			e.History = append(e.History, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		out.Permissions = append(out.Permissions, e)
	}
	rows, err = tx.QueryContext(ctx, `SELECT enterprise_code, order_type, purpose FROM privacy_purposes
		WHERE company_id = $1 AND customer_number = $2 ORDER BY enterprise_code, order_type, purpose`, companyID, cno)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var l level
		var purpose string
		if err := rows.Scan(&l.enterprise, &l.orderType, &purpose); err != nil {
			return err
		}
		n := len(out.Privacy)
		if n == 0 || out.Privacy[n-1].EnterpriseCode != l.enterprise || ptrString(out.Privacy[n-1].OrderType) != l.orderType {
			e := ExportPurposes{EnterpriseCode: l.enterprise, Purposes: []string{}}
			if l.orderType != "" {
				ot := l.orderType
				e.OrderType = &ot
			}
			out.Privacy = append(out.Privacy, e)
			n++
		}
		out.Privacy[n-1].Purposes = append(out.Privacy[n-1].Purposes, purpose)
	}
	return rows.Err()
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func exportShares(ctx context.Context, tx *sql.Tx, companyID, cno int64, out *Export) error {
	rows, err := tx.QueryContext(ctx, `SELECT owner_customer, share_code, product_code, status, contact, contact_type, first_name, last_name,
		created_at, accepted_at, ended_at FROM shares WHERE company_id = $1 AND (owner_customer = $2 OR recipient_customer = $2)
		ORDER BY created_at, id`, companyID, cno)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s ExportShare
		var owner int64
		var accepted, ended sql.NullInt64
		if err := rows.Scan(&owner, &s.ShareCode, &s.ProductCode, &s.ShareStatus, &s.Contact, &s.ContactType, &s.FirstName, &s.LastName,
			&s.Created, &accepted, &ended); err != nil {
			return err
		}
		if accepted.Valid {
			s.Accepted = &accepted.Int64
		}
		if ended.Valid {
			s.Ended = &ended.Int64
		}
		if owner == cno {
			s.Direction = "sent"
		} else {
			// The recipient sees the product and the share's state, not who sent it.
			s.Direction, s.ShareCode, s.Contact, s.ContactType, s.FirstName, s.LastName = "received", "", "", "", "", ""
		}
		out.Shares = append(out.Shares, s)
	}
	return rows.Err()
}

func exportConsents(ctx context.Context, tx *sql.Tx, companyID int64, g *group, out *Export) error {
	cond, args := g.where(2)
	rows, err := tx.QueryContext(ctx, `SELECT e.id, i.issuer, e.consent_id, c.target, c.scope, e.subject, e.subject_type, e.action,
		e.event_time, e.created_at, e.source, e.data, e.text_version_id
		FROM consent_events e JOIN consents c ON c.id = e.consent_id JOIN consent_issuers i ON i.id = c.issuer_id
		WHERE e.company_id = $1 AND `+cond+` AND `+notRestricted+` ORDER BY e.event_time, e.id`, append([]any{companyID}, args...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e ExportConsentEvent
		var version sql.NullInt64
		if err := rows.Scan(&e.ConsentEventID, &e.Issuer, &e.ConsentID, &e.Target, &e.Scope, &e.Subject, &e.SubjectType, &e.Action,
			&e.EventTime, &e.Created, &e.Source, &e.Data, &version); err != nil {
			return err
		}
		if version.Valid {
			e.ConsentTextHistoryID = &version.Int64
		}
		out.ConsentEvents = append(out.ConsentEvents, e)
	}
	return rows.Err()
}

func exportAccessLog(ctx context.Context, tx *sql.Tx, companyID, userID int64, out *Export) error {
	rows, err := tx.QueryContext(ctx, `SELECT accessed_at, client_id FROM privacy_access_log WHERE company_id = $1 AND user_id = $2
		ORDER BY accessed_at, id`, companyID, userID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a ExportAccess
		if err := rows.Scan(&a.Time, &a.ClientID); err != nil {
			return err
		}
		out.AccessLog = append(out.AccessLog, a)
	}
	return rows.Err()
}

// customerNumber is the user-mode caller's customer, 0 when none is linked.
func customerNumber(ctx context.Context, q store.Queryer, p *auth.Principal) (int64, error) {
	n, err := customer.NumberFor(ctx, q, p)
	if errs.Is(err, errs.NotFound) {
		return 0, nil
	}
	return n, err
}
