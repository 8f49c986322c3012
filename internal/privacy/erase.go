package privacy

// Remove private data (spec privacy.md private-data-remove): erase at once
// what no law requires us to keep; anonymise or restrict the rest, and
// delete it when the need ends. See docs/DECISIONS.md "Privacy" for what is
// kept and why.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/message"
	"github.com/connect-oss/connect/internal/metadata"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// Erasure statuses.
const (
	ErasureCompleted = "completed"
	ErasureScheduled = "scheduled"
)

// ErasureReport is the response of Remove private data.
type ErasureReport struct {
	UniqueID             string                `json:"uniqueId"`
	CustomerNumber       *int64                `json:"customerNumber,omitempty"`
	DryRun               bool                  `json:"dryRun"`
	Status               string                `json:"status"`
	CompletesAt          *int64                `json:"completesAt"`
	OpenInvoices         []string              `json:"openInvoices"`
	StoppedSubscriptions []StoppedSubscription `json:"stoppedSubscriptions"`
	Retained             []Retained            `json:"retained"`
}

// StoppedSubscription is a subscription the erasure stopped at the end of its
// paid period. CustomerNumber is the receiver when it is not the erased
// customer (who paid for it).
type StoppedSubscription struct {
	ProductCode    string `json:"productCode"`
	CustomerNumber int64  `json:"customerNumber,omitempty"`
	EndTime        int64  `json:"endTime"`
}

// Retained is data kept after the erasure, why, and until when (a date).
type Retained struct {
	DataType    string `json:"dataType"`
	Count       int    `json:"count"`
	Reason      string `json:"reason"`
	RetainUntil string `json:"retainUntil"`
}

// Reasons of Retained.
const (
	ReasonAccounting     = "accounting"
	ReasonProofOfConsent = "proofOfConsent"
	erasureSource        = "erasure"
	erasureCreditReason  = "private data removed"
	dateLayout           = "2006-01-02"
)

// errDryRun rolls a dry run's transaction back after its report is built.
var errDryRun = errors.New("dry run")

// afterCommit is work that must follow a committed erasure: in-memory token
// revocations and revocations at payment providers.
type afterCommit struct {
	jtis  map[string]int64 // jti → expiry (epoch ms)
	means []meansToRevoke
}

type meansToRevoke struct {
	kind string
	view billing.MeansView
}

// meansKinds maps stored means kinds to their provider.
var meansKinds = map[string]string{"klarnaToken": "klarna", "nexiSubscription": "nexi", "payexToken": "payex", "vippsAgreement": "vipps"}

// erase runs Remove private data for a user-mode caller. A dry run builds
// the same report in a transaction that is rolled back.
func (h Handlers) erase(ctx context.Context, p *auth.Principal, dryRun bool, now time.Time) (*ErasureReport, error) {
	cno, err := customerNumber(ctx, h.DB, p)
	if err != nil {
		return nil, err
	}
	after := &afterCommit{jtis: map[string]int64{}}
	// Stored means are read (decrypted) before the transaction so that they
	// can be revoked at the provider once the erasure has committed. That
	// revocation is a courtesy to the provider: a means that cannot be read
	// is still revoked on our side.
	if cno != 0 && !dryRun && h.Billing != nil {
		for kind := range meansKinds {
			views, err := h.Billing.ListMeans(ctx, p.CompanyID, cno, kind)
			if err != nil {
				h.log().WarnContext(ctx, "erasure: reading payment means", "kind", kind, "err", err)
				continue
			}
			for _, v := range views {
				after.means = append(after.means, meansToRevoke{kind: kind, view: v})
			}
		}
	}
	var report *ErasureReport
	err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
		s, err := LoadSettings(ctx, tx, p.CompanyID)
		if err != nil {
			return err
		}
		e := &eraser{tx: tx, dialect: h.DB.Dialect, s: s, p: p, customer: cno, now: now, after: after}
		if report, err = e.run(ctx); err != nil {
			return err
		}
		report.DryRun = dryRun
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, err
	}
	if dryRun {
		return report, nil
	}
	h.finish(ctx, p.CompanyID, after)
	return report, nil
}

// finish applies the in-memory token revocations and revokes stored means
// at their providers. The erasure has committed: failures are logged only
// (the tokens are on the revocation list in the database, which every node
// reads within seconds; the means are no longer usable on our side).
func (h Handlers) finish(ctx context.Context, companyID int64, after *afterCommit) {
	if h.OAuth != nil {
		for jti, exp := range after.jtis {
			if err := h.OAuth.Revocations.Revoke(ctx, h.DB, jti, time.UnixMilli(exp)); err != nil {
				h.log().WarnContext(ctx, "erasure: token revocation", "err", err)
			}
		}
	}
	if h.Billing == nil {
		return
	}
	for _, m := range after.means {
		p, err := billing.ProviderOf(ctx, h.DB, companyID, meansKinds[m.kind])
		if err != nil {
			h.log().WarnContext(ctx, "erasure: payment provider", "kind", m.kind, "err", err)
			continue
		}
		gw, err := h.Billing.Gateways(p)
		if err == nil {
			err = gw.Revoke(ctx, billing.Means{Kind: m.kind, Reference: m.view.Reference, ProviderID: m.view.ProviderID, MerchantID: m.view.MerchantID})
		}
		if err != nil {
			h.log().WarnContext(ctx, "erasure: payment means revocation", "kind", m.kind, "ref", billing.Redact(m.view.Reference), "err", err)
		}
	}
}

// eraser is one erasure inside its transaction.
type eraser struct {
	tx       *sql.Tx
	dialect  store.Dialect
	s        *Settings
	p        *auth.Principal
	customer int64
	now      time.Time
	after    *afterCommit
	counts   map[string]int
}

func (e *eraser) exec(ctx context.Context, count, query string, args ...any) error {
	res, err := e.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return store.Translate(err)
	}
	if count != "" {
		n, _ := res.RowsAffected()
		e.counts[count] += int(n)
	}
	return nil
}

func (e *eraser) run(ctx context.Context) (*ErasureReport, error) {
	e.counts = map[string]int{}
	r := &ErasureReport{UniqueID: e.p.UserID, OpenInvoices: []string{}, StoppedSubscriptions: []StoppedSubscription{}, Retained: []Retained{}}
	if e.customer != 0 {
		n := e.customer
		r.CustomerNumber = &n
		if done, err := erased(ctx, e.tx, e.s.CompanyID, n); err != nil || done {
			if err == nil {
				err = errs.E(errs.Conflict, "customer %d is already being erased", n)
			}
			return nil, err
		}
	}
	// 2. Consents first, while the account still links the subject group.
	evidence, err := e.consents(ctx)
	if err != nil {
		return nil, err
	}
	// 1. The account.
	if err := e.account(ctx); err != nil {
		return nil, err
	}
	if e.customer != 0 {
		// 3. Stored payment means.
		// Valid means become revoked; every means loses its reference and card details.
		if err := e.exec(ctx, "paymentMeans", `UPDATE payment_means SET status = CASE WHEN status = 'valid' THEN 'revoked' ELSE status END,
			ended_at = COALESCE(ended_at, $3), reference_enc = '', reference_mac = '', masked_card = '', exp_month = '', exp_year = '', card_type = ''
			WHERE company_id = $1 AND customer_number = $2 AND (status = 'valid' OR reference_enc <> '')`,
			e.s.CompanyID, e.customer, e.now.UnixMilli()); err != nil {
			return nil, err
		}
		// 4. Permissions, shields, purposes and shares.
		for _, table := range []string{"privacy_channel_settings", "privacy_channel_log", "privacy_purposes"} {
			if err := e.exec(ctx, table, `DELETE FROM `+table+` WHERE company_id = $1 AND customer_number = $2`, e.s.CompanyID, e.customer); err != nil {
				return nil, err
			}
		}
		if err := e.shares(ctx); err != nil {
			return nil, err
		}
		// Diverse: messages to and from customer service.
		n, err := message.EraseFor(ctx, e.tx, e.s.CompanyID, e.customer)
		if err != nil {
			return nil, err
		}
		e.counts["messages"] += n
		// 5. Subscriptions and invoices for periods not yet started.
		if r.StoppedSubscriptions, err = e.subscriptions(ctx); err != nil {
			return nil, err
		}
		if err := e.creditFuture(ctx); err != nil {
			return nil, err
		}
		if r.OpenInvoices, err = openInvoices(ctx, e.tx, e.s.CompanyID, e.customer); err != nil {
			return nil, err
		}
	}
	// What is kept, and until when.
	if evidence > 0 {
		r.Retained = append(r.Retained, Retained{DataType: "consentEvent", Count: evidence, Reason: ReasonProofOfConsent,
			RetainUntil: e.now.In(e.s.Location).AddDate(e.s.EvidenceYears, 0, 0).Format(dateLayout)})
	}
	if e.customer != 0 {
		var count int
		var last sql.NullString
		if err := e.tx.QueryRowContext(ctx, `SELECT COUNT(*), MAX(invoice_date) FROM invoices WHERE company_id = $1 AND customer_number = $2`,
			e.s.CompanyID, e.customer).Scan(&count, &last); err != nil {
			return nil, store.Translate(err)
		}
		if count > 0 && last.Valid && len(last.String) >= 4 {
			year, _ := strconv.Atoi(last.String[:4])
			r.Retained = append(r.Retained, Retained{DataType: "invoice", Count: count, Reason: ReasonAccounting,
				RetainUntil: strconv.Itoa(year+e.s.RetentionYears) + "-12-31"})
		}
	}
	// Completion: at once when nothing is pending, else when the last paid
	// period has ended and no invoice is open (CompleteDueErasures).
	r.Status = ErasureCompleted
	nowMs := e.now.UnixMilli()
	completes := nowMs
	if e.customer != 0 {
		last, err := lastPaidEnd(ctx, e.tx, e.s.CompanyID, e.customer)
		if err != nil {
			return nil, err
		}
		switch {
		case len(r.OpenInvoices) > 0:
			r.Status = ErasureScheduled
		case last > nowMs:
			r.Status, completes = ErasureScheduled, last
		}
	}
	if len(r.OpenInvoices) == 0 {
		r.CompletesAt = &completes
	}
	counts, _ := json.Marshal(e.counts)
	var number any
	if e.customer != 0 {
		number = e.customer
	}
	var completedAt any
	if r.Status == ErasureCompleted {
		completedAt = nowMs
	}
	if _, err := e.tx.ExecContext(ctx, `INSERT INTO privacy_erasures (company_id, customer_number, client_id, requested_at, status,
		completes_at, completed_at, counts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.s.CompanyID, number, e.p.ClientID, nowMs, r.Status, r.CompletesAt, completedAt, string(counts)); err != nil {
		return nil, store.Translate(err)
	}
	if r.Status == ErasureCompleted && e.customer != 0 {
		if err := anonymise(ctx, e.tx, e.s, e.customer, e.now); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// consents withdraws every consent given in the user's subject group (a
// withdrawal under CONNECTID, source "erasure") and then restricts all the
// group's events. It returns how many events are kept as proof.
func (e *eraser) consents(ctx context.Context) (int, error) {
	g := &group{uniqueID: e.p.UserID, userID: e.p.UserNumber, customer: e.customer}
	events, err := groupEvents(ctx, e.tx, e.s.CompanyID, 0, g)
	if err != nil {
		return 0, err
	}
	given := states(events)
	ids := make([]int64, 0, len(given))
	for id, action := range given {
		if action {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	nowMs := e.now.UnixMilli()
	for _, id := range ids {
		var issuer string
		if err := e.tx.QueryRowContext(ctx, `SELECT i.issuer FROM consents c JOIN consent_issuers i ON i.id = c.issuer_id WHERE c.id = $1`,
			id).Scan(&issuer); err != nil {
			return 0, store.Translate(err)
		}
		version, err := versionInForce(ctx, e.tx, id, e.s.DefaultLanguage, nowMs)
		if err != nil {
			return 0, err
		}
		rec := eventRecord{companyID: e.s.CompanyID, companyCode: e.s.CompanyCode, issuer: issuer, typ: SubjectConnectID,
			subject: e.p.UserID, eventTime: nowMs, created: nowMs, source: erasureSource, client: e.p.ClientID}
		if _, err := rec.insert(ctx, e.tx, id, version, sql.NullInt64{}); err != nil {
			return 0, err
		}
	}
	cond, args := g.where(4)
	res, err := e.tx.ExecContext(ctx, `INSERT INTO consent_event_restrictions (event_id, company_id, restricted_at, delete_after)
		SELECT e.id, e.company_id, $2, $3 FROM consent_events e WHERE e.company_id = $1 AND `+cond+` AND `+notRestricted,
		append([]any{e.s.CompanyID, nowMs, e.now.AddDate(e.s.EvidenceYears, 0, 0).UnixMilli()}, args...)...)
	if err != nil {
		return 0, store.Translate(err)
	}
	n, _ := res.RowsAffected()
	e.counts["consentEventsRestricted"] = int(n)
	return int(n), nil
}

// account deletes the ConnectID account's personal data and login state.
// The users row stays, emptied and blocked: its userId and uniqueId are
// never reused. Every company linked to the account gets user/delete.
func (e *eraser) account(ctx context.Context) error {
	uid, user := e.p.UserID, e.p.UserNumber
	// The caller's own token, whether or not it was registered at issuance.
	e.after.jtis[e.p.TokenID] = e.p.ExpiresAt.UnixMilli()
	rows, err := e.tx.QueryContext(ctx, `SELECT jti, expires_at FROM oauth_access_tokens WHERE user_id = $1 AND expires_at > $2`,
		user, time.Now().UnixMilli())
	if err != nil {
		return store.Translate(err)
	}
	for rows.Next() {
		var jti string
		var exp int64
		if err := rows.Scan(&jti, &exp); err != nil {
			rows.Close()
			return store.Translate(err)
		}
		e.after.jtis[jti] = exp
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	created := time.Now().UnixMilli()
	for jti, exp := range e.after.jtis {
		if jti == "" {
			continue
		}
		if _, err := e.tx.ExecContext(ctx, `INSERT INTO token_revocations (jti, expires_at, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (jti) DO NOTHING`, jti, exp, created); err != nil {
			return store.Translate(err)
		}
	}
	// Linked companies, read before the links change.
	type link struct {
		company  int64
		code     string
		customer int64
	}
	var links []link
	rows, err = e.tx.QueryContext(ctx, `SELECT c.company_id, co.code, c.customer_number FROM customers c JOIN companies co ON co.id = c.company_id
		WHERE c.user_id = $1 ORDER BY c.company_id`, user)
	if err != nil {
		return store.Translate(err)
	}
	for rows.Next() {
		var l link
		if err := rows.Scan(&l.company, &l.code, &l.customer); err != nil {
			rows.Close()
			return store.Translate(err)
		}
		links = append(links, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	hasCaller := false
	for _, l := range links {
		hasCaller = hasCaller || l.company == e.s.CompanyID
	}
	if !hasCaller {
		links = append(links, link{company: e.s.CompanyID, code: e.s.CompanyCode, customer: e.customer})
	}
	var credentials []any
	rows, err = e.tx.QueryContext(ctx, `SELECT credential FROM user_credentials WHERE user_id = $1`, user)
	if err != nil {
		return store.Translate(err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return store.Translate(err)
		}
		credentials = append(credentials, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	if len(credentials) > 0 {
		in := placeholders(1, len(credentials))
		for _, stmt := range []string{
			`DELETE FROM verification_codes WHERE credential IN (` + in + `)`,
			`DELETE FROM outbound_messages WHERE recipient IN (` + in + `)`,
		} {
			if err := e.exec(ctx, "", stmt, credentials...); err != nil {
				return err
			}
		}
	}
	actor := "user:" + uid
	for _, st := range []struct{ count, query string }{
		{"credentials", `DELETE FROM user_credentials WHERE user_id = $1`},
		{"externalProfiles", `DELETE FROM user_external_profiles WHERE user_id = $1`},
		{"", `DELETE FROM verification_codes WHERE user_id = $1`},
		{"sessions", `DELETE FROM login_sessions WHERE user_id = $1`},
		{"rememberTokens", `DELETE FROM remember_tokens WHERE user_id = $1`},
		{"grants", `DELETE FROM oauth_requests WHERE user_id = $1`},
		{"", `DELETE FROM oauth_access_tokens WHERE user_id = $1`},
		{"", `DELETE FROM oauth_extid_codes WHERE user_id = $1`},
		{"", `DELETE FROM privacy_access_log WHERE user_id = $1`},
		{"", `DELETE FROM privacy_export_throttle WHERE user_id = $1`},
	} {
		if err := e.exec(ctx, st.count, st.query, user); err != nil {
			return err
		}
	}
	// User Data: every client's metadata about the account, in every company.
	n, err := metadata.DeleteUser(ctx, e.tx, user)
	if err != nil {
		return err
	}
	e.counts["metadata"] += n
	// Login history is deleted; the rest of the audit trail keeps what was
	// done, without the IP addresses it was done from.
	if err := e.exec(ctx, "loginHistory", `DELETE FROM audit_log WHERE action LIKE 'login.%' AND (actor = $1 OR target = $1)`, actor); err != nil {
		return err
	}
	if err := e.exec(ctx, "", `UPDATE audit_log SET remote_ip = '' WHERE (actor = $1 OR target = $1) AND remote_ip <> ''`, actor); err != nil {
		return err
	}
	if err := e.exec(ctx, "", `UPDATE users SET password_hash = NULL, first_name = '', last_name = '', blocked = TRUE, updated_at = $2
		WHERE id = $1`, user, e.now.UnixMilli()); err != nil {
		return err
	}
	for _, l := range links {
		if _, err := event.RecordUser(ctx, e.tx, l.company, l.code, event.UserDelete, event.UserData{UniqueID: uid, CustomerNumber: l.customer}, e.now); err != nil {
			return err
		}
	}
	return nil
}

// shares ends the customer's shares (sent and received) and deletes the
// contact data they hold. Access through an ended share is taken back: its
// entitlement rows are removed and the change logged, so every node's
// access cache drops them (subscription's entitlement change log).
func (e *eraser) shares(ctx context.Context) error {
	type share struct {
		id        int64
		recipient sql.NullInt64
	}
	rows, err := e.tx.QueryContext(ctx, `SELECT id, recipient_customer FROM shares WHERE company_id = $1 AND (owner_customer = $2 OR recipient_customer = $2)`,
		e.s.CompanyID, e.customer)
	if err != nil {
		return store.Translate(err)
	}
	var list []share
	for rows.Next() {
		var s share
		if err := rows.Scan(&s.id, &s.recipient); err != nil {
			rows.Close()
			return store.Translate(err)
		}
		list = append(list, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	nowMs := e.now.UnixMilli()
	for _, s := range list {
		if err := e.exec(ctx, "shares", `UPDATE shares SET status = CASE WHEN status IN ('PENDING', 'ACCEPTED') THEN 'ENDED' ELSE status END,
			ended_at = COALESCE(ended_at, $2), contact = '', first_name = '', last_name = '' WHERE id = $1`, s.id, nowMs); err != nil {
			return err
		}
		if !s.recipient.Valid {
			continue
		}
		res, err := e.tx.ExecContext(ctx, `DELETE FROM entitlements WHERE company_id = $1 AND customer_number = $2 AND source = $3`,
			e.s.CompanyID, s.recipient.Int64, "h"+strconv.FormatInt(s.id, 10))
		if err != nil {
			return store.Translate(err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if _, err := e.tx.ExecContext(ctx, `INSERT INTO entitlement_changes (company_id, customer_number, changed_at) VALUES ($1, $2, $3)`,
				e.s.CompanyID, s.recipient.Int64, time.Now().UnixMilli()); err != nil {
				return store.Translate(err)
			}
		}
	}
	return nil
}

// subscriptions stops, at the end of the paid period, every running
// subscription the customer receives or paid for through an order.
func (e *eraser) subscriptions(ctx context.Context) ([]StoppedSubscription, error) {
	rows, err := e.tx.QueryContext(ctx, `SELECT id FROM subscriptions WHERE company_id = $1 AND status IN ('active', 'paused')
		AND (customer_number = $2 OR order_id IN (SELECT id FROM orders WHERE company_id = $1 AND payer_customer_number = $2))
		ORDER BY id`, e.s.CompanyID, e.customer)
	if err != nil {
		return nil, store.Translate(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, store.Translate(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, store.Translate(err)
	}
	ctx = subscription.WithActor(subscription.WithClock(ctx, func() time.Time { return e.now }), "user:"+e.p.UserID)
	out := []StoppedSubscription{}
	for _, id := range ids {
		if err := subscription.Stop(ctx, e.tx, e.s.CompanyID, id, time.Time{}); err != nil {
			return nil, err
		}
		var st StoppedSubscription
		var receiver int64
		if err := e.tx.QueryRowContext(ctx, `SELECT product_code, customer_number, end_time FROM subscriptions WHERE id = $1`, id).Scan(
			&st.ProductCode, &receiver, &st.EndTime); err != nil {
			return nil, store.Translate(err)
		}
		if receiver != e.customer {
			st.CustomerNumber = receiver
		}
		out = append(out, st)
	}
	e.counts["subscriptionsStopped"] = len(out)
	return out, nil
}

// creditFuture credits issued invoices of the customer whose period has not
// started yet.
func (e *eraser) creditFuture(ctx context.Context) error {
	today := e.now.In(e.s.Location).Format(dateLayout)
	rows, err := e.tx.QueryContext(ctx, `SELECT id, from_date FROM invoices WHERE company_id = $1 AND customer_number = $2 AND kind = 'invoice'
		AND status NOT IN ('credited', 'cancelled') AND from_date > $3 ORDER BY id`, e.s.CompanyID, e.customer, today)
	if err != nil {
		return store.Translate(err)
	}
	type inv struct {
		id   int64
		from string
	}
	var list []inv
	for rows.Next() {
		var i inv
		if err := rows.Scan(&i.id, &i.from); err != nil {
			rows.Close()
			return store.Translate(err)
		}
		list = append(list, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	for _, i := range list {
		number, err := billing.CreditFrom(ctx, e.tx, e.dialect, e.s.CompanyID, i.id, i.from, erasureCreditReason)
		if err != nil {
			return err
		}
		if number != 0 {
			e.counts["invoicesCredited"]++
		}
	}
	return nil
}

// openInvoices are the numbers of the customer's invoices with a balance.
func openInvoices(ctx context.Context, q store.Queryer, companyID, customer int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT invoice_number FROM invoices WHERE company_id = $1 AND customer_number = $2 AND kind = 'invoice'
		AND status IN ('open', 'overdue', 'reminded') AND amount + fee_amount - paid_amount - credited_amount > 0 ORDER BY invoice_number`,
		companyID, customer)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, store.Translate(err)
		}
		out = append(out, strconv.FormatInt(n, 10))
	}
	return out, store.Translate(rows.Err())
}

// lastPaidEnd is the end of the last paid period of the subscriptions the
// customer receives or paid for (0 when none runs).
func lastPaidEnd(ctx context.Context, q store.Queryer, companyID, customer int64) (int64, error) {
	var last sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT MAX(end_time) FROM subscriptions WHERE company_id = $1 AND status <> 'ended'
		AND (customer_number = $2 OR order_id IN (SELECT id FROM orders WHERE company_id = $1 AND payer_customer_number = $2))`,
		companyID, customer).Scan(&last)
	return last.Int64, store.Translate(err)
}

// anonymise removes the customer's personal data; the customer number stays
// (marked anonymised by its completed erasure). Orders it paid lose their
// payer data; invoices keep theirs (accounting law). Emits customer/delete.
func anonymise(ctx context.Context, tx *sql.Tx, s *Settings, customer int64, now time.Time) error {
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM customers WHERE company_id = $1 AND customer_number = $2`, s.CompanyID, customer).Scan(&id); err != nil {
		return store.Translate(err)
	}
	for _, stmt := range []string{
		`DELETE FROM customer_addresses WHERE customer_id = $1`,
		`DELETE FROM customer_categories WHERE customer_id = $1`,
		`DELETE FROM customer_external_refs WHERE customer_id = $1`,
	} {
		if _, err := tx.ExecContext(ctx, stmt, id); err != nil {
			return store.Translate(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE customers SET first_name = '', middle_name = '', last_name = '', email = '', phone = '',
		postal_code = '', company_registration_number = '', company_name = '', department = '', department_name = '',
		care_of_address = '', street_address = '', street_number = NULL, entrance = '', floor_type = '', floor = NULL, suite = '',
		postal_place = '', postal_address = '', postal_address_postal_code = '', postal_address_postal_place = '', country_code = '',
		birth_date = '', sex = '', emails = '[]', phone_numbers = '[]', invoice_email = '', search_first = '', search_last = '',
		search_company = '', search_street = '', user_id = NULL, updated_at = $2 WHERE id = $1`, id, now.UnixMilli()); err != nil {
		return store.Translate(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET user_id = NULL, customer_reference = '', campaign_parameters = '', payment_info = '{}',
		payment_token = '', callback_url = '', status_message = '', updated_at = $3
		WHERE company_id = $1 AND payer_customer_number = $2`, s.CompanyID, customer, now.UnixMilli()); err != nil {
		return store.Translate(err)
	}
	// Callback URLs may carry the client's own reference to the customer;
	// one still pending is delivered first (the client needs the outcome).
	if _, err := tx.ExecContext(ctx, `UPDATE order_callbacks SET url = '', last_error = '', updated_at = $3
		WHERE company_id = $1 AND status <> 'pending' AND order_id IN (SELECT id FROM orders WHERE company_id = $1 AND payer_customer_number = $2)`,
		s.CompanyID, customer, now.UnixMilli()); err != nil {
		return store.Translate(err)
	}
	_, err := event.Record(ctx, tx, event.Event{CompanyID: s.CompanyID, Source: s.CompanyCode, Type: event.TypeCustomer, Status: "delete",
		Data: map[string]any{"customerNumber": customer}, Time: now})
	return err
}

// CompleteDueErasures anonymises the customers of scheduled erasures whose
// last paid period has ended and who have no open invoice (the daily job;
// now is the business time). It returns how many it completed.
func CompleteDueErasures(ctx context.Context, db *store.DB, now time.Time) (int, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, company_id, customer_number FROM privacy_erasures
		WHERE status = $1 AND customer_number IS NOT NULL ORDER BY id`, ErasureScheduled)
	if err != nil {
		return 0, store.Translate(err)
	}
	type due struct{ id, company, customer int64 }
	var list []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.company, &d.customer); err != nil {
			rows.Close()
			return 0, store.Translate(err)
		}
		list = append(list, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, store.Translate(err)
	}
	done := 0
	for _, d := range list {
		completed := false
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			open, err := openInvoices(ctx, tx, d.company, d.customer)
			if err != nil || len(open) > 0 {
				return err
			}
			last, err := lastPaidEnd(ctx, tx, d.company, d.customer)
			if err != nil || last > now.UnixMilli() {
				return err
			}
			s, err := LoadSettings(ctx, tx, d.company)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE privacy_erasures SET status = $2, completed_at = $3, completes_at = COALESCE(completes_at, $3)
				WHERE id = $1 AND status = $4`, d.id, ErasureCompleted, now.UnixMilli(), ErasureScheduled)
			if err != nil {
				return store.Translate(err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // completed by another node
			}
			completed = true
			return anonymise(ctx, tx, s, d.customer, now)
		})
		if err != nil {
			return done, err
		}
		if completed {
			done++
		}
	}
	return done, nil
}

// PurgeExpiredEvidence deletes consent events whose restriction (erasure)
// has passed its consentEvidenceYears: the only deletion of consent history.
func PurgeExpiredEvidence(ctx context.Context, db *store.DB, now time.Time) (int, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM consent_events WHERE id IN (SELECT event_id FROM consent_event_restrictions WHERE delete_after <= $1)`,
		now.UnixMilli())
	if err != nil {
		return 0, store.Translate(err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
