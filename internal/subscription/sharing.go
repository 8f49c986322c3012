package subscription

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"net/http"
	"net/mail"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// Share statuses (product.md, Sharing).
const (
	ShareOK              = "SHARE_OK"
	NoSubscription       = "NO_SUBSCRIPTION"
	SubscriptionStopped  = "SUBSCRIPTION_STOPPED"
	RequestAccepted      = "REQUEST_ACCEPTED"
	RequestDeclined      = "REQUEST_DECLINED"
	SharingEnded         = "SHARING_ENDED"
	ShareCodeNotFound    = "SHARE_CODE_NOT_FOUND"
	ChangeTypeNotSupport = "SHARE_CHANGE_TYPE_NOT_SUPPORTED"
	AlreadyInUse         = "ALREADY_IN_USE"
	ShareLimit           = "SHARE_LIMIT"
	PoolExhausted        = "INVITATIONS_POOL_EXHAUSTED"
)

// ApplyShareRules upserts share rules from a tenant file (tenant.Sections.ShareRules).
func ApplyShareRules(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, rules []tenant.ShareRuleSpec, now time.Time) (int, error) {
	n := 0
	for i, r := range rules {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) > 0 FROM products WHERE company_id = $1 AND code = $2`, companyID, r.Product).Scan(&exists); err != nil {
			return n, store.Translate(err)
		}
		if !exists {
			return n, errs.Field("shareRules["+itoa(int64(i))+"].product", "unknown product %s", r.Product)
		}
		var typ string
		var count int
		err := tx.QueryRowContext(ctx, `SELECT share_type, share_count FROM share_rules WHERE company_id = $1 AND product_code = $2`, companyID, r.Product).Scan(&typ, &count)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO share_rules (company_id, product_code, share_type, share_count) VALUES ($1, $2, $3, $4)`,
				companyID, r.Product, r.ShareType, r.ShareCount)
		case err != nil:
		case typ == r.ShareType && count == r.ShareCount:
			continue
		default:
			_, err = tx.ExecContext(ctx, `UPDATE share_rules SET share_type = $3, share_count = $4 WHERE company_id = $1 AND product_code = $2`,
				companyID, r.Product, r.ShareType, r.ShareCount)
		}
		if err != nil {
			return n, store.Translate(err)
		}
		n++
	}
	return n, nil
}

// ShareEntry is the API shape of a share.
type ShareEntry struct {
	ShareCode   string `json:"shareCode"`
	ProductCode string `json:"productCode"`
	Contact     string `json:"contact"`
	ContactType string `json:"contactType"`
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	ShareStatus string `json:"shareStatus"`
	Created     int64  `json:"created"`
	Accepted    *int64 `json:"accepted,omitempty"`
	Ended       *int64 `json:"ended,omitempty"`
}

type share struct {
	ShareEntry
	id, subscriptionID, owner int64
	recipientCustomer         sql.NullInt64
	recipientUser             sql.NullInt64
	expiresAt                 int64
}

const shareColumns = `id, share_code, subscription_id, owner_customer, product_code, contact, contact_type, first_name, last_name,
	status, recipient_customer, recipient_user, created_at, accepted_at, ended_at, expires_at`

func scanShare(r scanner) (*share, error) {
	var s share
	var acc, end sql.NullInt64
	if err := r.Scan(&s.id, &s.ShareCode, &s.subscriptionID, &s.owner, &s.ProductCode, &s.Contact, &s.ContactType, &s.FirstName, &s.LastName,
		&s.ShareStatus, &s.recipientCustomer, &s.recipientUser, &s.Created, &acc, &end, &s.expiresAt); err != nil {
		return nil, err
	}
	if acc.Valid {
		s.Accepted = &acc.Int64
	}
	if end.Valid {
		s.Ended = &end.Int64
	}
	return &s, nil
}

// effectiveStatus treats a pending invitation past its expiry as ended.
func (s *share) effectiveStatus(now int64) string {
	if s.ShareStatus == "PENDING" && s.expiresAt <= now {
		return "ENDED"
	}
	return s.ShareStatus
}

func shareByCode(ctx context.Context, q store.Queryer, companyID int64, code string) (*share, error) {
	s, err := scanShare(q.QueryRowContext(ctx, `SELECT `+shareColumns+` FROM shares WHERE company_id = $1 AND share_code = $2`,
		companyID, strings.ToUpper(strings.TrimSpace(code))))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return s, store.Translate(err)
}

const shareAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no 0/O, 1/I

func newShareCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = shareAlphabet[int(b[i])%len(shareAlphabet)]
	}
	return string(b)
}

var phoneRe = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// normContact validates and normalises a contact and its type.
func normContact(contact, typ string) (string, string, error) {
	contact = strings.TrimSpace(contact)
	switch strings.ToUpper(typ) {
	case "A", "A_EMAIL":
		typ = "A_EMAIL"
		a, err := mail.ParseAddress(contact)
		if err != nil || a.Address != contact || len(contact) > 255 || !strings.Contains(contact, "@") {
			return "", "", errs.Field("contact", "must be an e-mail address (≤ 255 characters)")
		}
		contact = strings.ToLower(contact)
	case "B", "B_PHONENUMBER":
		typ = "B_PHONENUMBER"
		if !phoneRe.MatchString(contact) {
			return "", "", errs.Field("contact", "must be a mobile number in E.164 form, e.g. +4712345678")
		}
	case "":
		return "", "", errs.Field("contactType", "is required")
	default:
		return "", "", errs.Field("contactType", "must be A_EMAIL or B_PHONENUMBER")
	}
	if contact == "" {
		return "", "", errs.Field("contact", "is required")
	}
	return contact, typ, nil
}

func validNames(first, last string) error {
	if len([]rune(first)) > 30 {
		return errs.Field("firstName", "at most 30 characters")
	}
	if len([]rune(last)) > 30 {
		return errs.Field("lastName", "at most 30 characters")
	}
	return nil
}

type statusReply struct {
	Status    string      `json:"status"`
	ShareCode string      `json:"shareCode,omitempty"`
	Share     *ShareEntry `json:"share,omitempty"`
}

// Invitation is the message of a share invitation.
type Invitation struct {
	Channel string // email or sms
	To      string // e-mail address or E.164 number
	Subject string
	Body    string
}

// invitation builds the message for share s: who shares what, and the code.
func invitation(ctx context.Context, q store.Queryer, companyID int64, s *share, expires int64) (Invitation, error) {
	m := Invitation{Channel: "email", To: s.Contact}
	if s.ContactType == "B_PHONENUMBER" {
		m.Channel = "sms"
	}
	company, err := tenant.GetCompany(ctx, q, companyID)
	if err != nil {
		return m, err
	}
	var first, last, product string
	if err := q.QueryRowContext(ctx, `SELECT first_name, last_name FROM customers WHERE company_id = $1 AND customer_number = $2`,
		companyID, s.owner).Scan(&first, &last); err != nil {
		return m, store.Translate(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT description FROM products WHERE company_id = $1 AND code = $2`,
		companyID, s.ProductCode).Scan(&product); err != nil {
		return m, store.Translate(err)
	}
	if product == "" {
		product = s.ProductCode
	}
	owner := strings.TrimSpace(first + " " + last)
	if owner == "" {
		owner = "A subscriber"
	}
	loc, _ := company.Location()
	if loc == nil {
		loc = time.UTC
	}
	m.Subject = company.Name + ": " + owner + " shares " + product + " with you"
	m.Body = "Hello " + strings.TrimSpace(s.FirstName+" "+s.LastName) + "\n\n" + owner + " invites you to share " + product +
		" from " + company.Name + ". Log in and accept with the code " + s.ShareCode + " before " +
		time.UnixMilli(expires).In(loc).Format(dateLayout) + ".\n"
	return m, nil
}

// send delivers an invitation stored by a committed transaction.
func (h Handlers) send(ctx context.Context, m *Invitation) error {
	if m == nil || h.SendInvitation == nil {
		return nil
	}
	return h.SendInvitation(ctx, *m)
}

// callerCustomer is the user's customer or NotFound "no customer linked to user".
func (h Handlers) callerCustomer(ctx context.Context, q store.Queryer) (*auth.Principal, int64, error) {
	p := auth.FromContext(ctx)
	cno, err := customer.NumberFor(ctx, q, p)
	return p, cno, err
}

func (h Handlers) shareAudit(ctx context.Context, tx *sql.Tx, companyID int64, action string, s *share) error {
	return audit.Record(ctx, tx, audit.Entry{CompanyID: companyID, Actor: actorOf(ctx), Action: "share." + action,
		Target: "share:" + s.ShareCode, Detail: map[string]any{"product": s.ProductCode, "owner": s.owner}, At: Now(ctx)})
}

// ShareInvitationBody is the body of share-invitation-send.
type ShareInvitationBody struct {
	Contact     string `json:"contact"`
	ContactType string `json:"contactType"`
	ProductCode string `json:"productCode"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
}

// ShareSend serves POST /capi/v1/subscription/share/invitation.
func (h Handlers) ShareSend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		var b ShareInvitationBody
		if err := httpx.Decode(r, &b); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if err := validCode("productCode", b.ProductCode); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		contact, ctype, err := normContact(b.Contact, b.ContactType)
		if err == nil {
			err = validNames(b.FirstName, b.LastName)
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		var reply statusReply
		var msg *Invitation
		err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
			msg = nil
			p, owner, err := h.callerCustomer(ctx, tx)
			if err != nil {
				return err
			}
			if err := productExists(ctx, tx, p.CompanyID, b.ProductCode); err != nil {
				return err
			}
			if own, err := h.credentialMatches(ctx, p.CompanyID, owner, contact); err != nil {
				return err
			} else if own {
				return errs.Field("contact", "is your own; invite someone else")
			}
			sub, rule, status, err := sharableSub(ctx, tx, p.CompanyID, owner, b.ProductCode, "USERS")
			if err != nil || status != "" {
				reply.Status = status
				return err
			}
			now := Now(ctx).UnixMilli()
			var inUse, accepted, open int
			if err := tx.QueryRowContext(ctx, `SELECT
				COALESCE(SUM(CASE WHEN contact = $2 AND (status = 'ACCEPTED' OR (status = 'PENDING' AND expires_at > $3)) THEN 1 ELSE 0 END), 0),
				COALESCE(SUM(CASE WHEN status = 'ACCEPTED' THEN 1 ELSE 0 END), 0),
				COALESCE(SUM(CASE WHEN status = 'ACCEPTED' OR (status = 'PENDING' AND expires_at > $3) THEN 1 ELSE 0 END), 0)
				FROM shares WHERE subscription_id = $1`, sub.ID, contact, now).Scan(&inUse, &accepted, &open); err != nil {
				return store.Translate(err)
			}
			settings, err := LoadSettings(ctx, tx, p.CompanyID)
			if err != nil {
				return err
			}
			switch {
			case inUse > 0:
				reply.Status = AlreadyInUse
			case accepted >= rule.ShareCount:
				reply.Status = ShareLimit
			case open >= rule.ShareCount*settings.ShareInvitationPoolFactor:
				reply.Status = PoolExhausted
			}
			if reply.Status != "" {
				return nil
			}
			s := &share{ShareEntry: ShareEntry{ShareCode: newShareCode(), ProductCode: b.ProductCode, Contact: contact, ContactType: ctype,
				FirstName: b.FirstName, LastName: b.LastName}, owner: owner}
			expires := now + int64(settings.ShareInvitationExpiryDays)*24*3600*1000
			if _, err := tx.ExecContext(ctx, `INSERT INTO shares (company_id, share_code, subscription_id, owner_customer, product_code,
				contact, contact_type, first_name, last_name, status, created_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'PENDING', $10, $11)`,
				p.CompanyID, s.ShareCode, sub.ID, owner, b.ProductCode, contact, ctype, b.FirstName, b.LastName, now, expires); err != nil {
				return store.Translate(err)
			}
			m, err := invitation(ctx, tx, p.CompanyID, s, expires)
			if err != nil {
				return err
			}
			msg = &m
			reply.Status, reply.ShareCode = ShareOK, s.ShareCode
			return h.shareAudit(ctx, tx, p.CompanyID, "invite", s)
		})
		if err == nil {
			err = h.send(ctx, msg)
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, reply)
	})
}

func productExists(ctx context.Context, q store.Queryer, companyID int64, code string) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM products WHERE company_id = $1 AND code = $2`, companyID, code).Scan(&n); err != nil {
		return store.Translate(err)
	}
	if n == 0 {
		return errs.E(errs.NotFound, "product %s not found", code)
	}
	return nil
}

// sharableSub finds the owner's current subscription on product with a rule
// of shareType; status is NO_SUBSCRIPTION or SUBSCRIPTION_STOPPED when it
// cannot be shared.
func sharableSub(ctx context.Context, q store.Queryer, companyID, owner int64, product, shareType string) (*Sub, shareRule, string, error) {
	rules, err := shareRules(ctx, q, companyID)
	if err != nil {
		return nil, shareRule{}, "", err
	}
	rule, ok := rules[product]
	if !ok || rule.ShareType != shareType || rule.ShareCount <= 0 {
		return nil, rule, NoSubscription, nil
	}
	sub, err := Current(ctx, q, companyID, owner, product)
	if errs.Is(err, errs.NotFound) || (err == nil && sub.EndTime+1000 <= Now(ctx).UnixMilli()) {
		return nil, rule, NoSubscription, nil
	}
	if err != nil {
		return nil, rule, "", err
	}
	if sub.Status == StatusStopped {
		return nil, rule, SubscriptionStopped, nil
	}
	if shareType == "B2B" {
		rule.ShareCount = sub.Copies
	}
	return sub, rule, "", nil
}

// ShareChangeBody is {shareCode, changeType}.
type ShareChangeBody struct {
	ShareCode  string `json:"shareCode"`
	ChangeType string `json:"changeType"`
}

func decodeChange(r *http.Request) (ShareChangeBody, error) {
	var b ShareChangeBody
	if err := httpx.Decode(r, &b); err != nil {
		return b, err
	}
	if b.ShareCode == "" {
		return b, errs.Field("shareCode", "is required")
	}
	if len(b.ShareCode) > 12 {
		return b, errs.Field("shareCode", "at most 12 characters")
	}
	if b.ChangeType == "" {
		return b, errs.Field("changeType", "is required")
	}
	return b, nil
}

func endedStatus(st string) string {
	switch st {
	case "DECLINED":
		return RequestDeclined
	case "ENDED":
		return SharingEnded
	}
	return ""
}

// shareChange serves a change of one invitation by its share code (accept,
// decline, cancel): decode the body, run change in one transaction, answer
// the status it set.
func (h Handlers) shareChange(change func(ctx context.Context, tx *sql.Tx, p *auth.Principal, b ShareChangeBody, reply *statusReply) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		b, err := decodeChange(r)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		var reply statusReply
		err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
			return change(ctx, tx, auth.FromContext(ctx), b, &reply)
		})
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, reply)
	})
}

// ShareAccept serves PATCH /capi/v1/subscription/share/invitation.
func (h Handlers) ShareAccept() http.Handler {
	return h.shareChange(func(ctx context.Context, tx *sql.Tx, p *auth.Principal, b ShareChangeBody, reply *statusReply) error {
		s, err := shareByCode(ctx, tx, p.CompanyID, b.ShareCode)
		if err != nil {
			return err
		}
		now := Now(ctx).UnixMilli()
		switch {
		case s == nil:
			reply.Status = ShareCodeNotFound
		case !strings.EqualFold(b.ChangeType, "ACCEPT"):
			reply.Status = ChangeTypeNotSupport
		case endedStatus(s.effectiveStatus(now)) != "":
			reply.Status = endedStatus(s.effectiveStatus(now))
		case s.ShareStatus == "ACCEPTED":
			if s.recipientUser.Valid && s.recipientUser.Int64 == p.UserNumber {
				reply.Status = RequestAccepted
			} else {
				reply.Status = AlreadyInUse
			}
		}
		if reply.Status != "" {
			return nil
		}
		cno, err := customer.NumberFor(ctx, tx, p)
		if errs.Is(err, errs.NotFound) {
			// Accepting is the user's first use of the company: link a customer.
			cno, err = customer.EnsureForUser(ctx, tx, p.CompanyID, p.CompanyCode, p.UserNumber, customer.UserDetails{}, Now(ctx))
		}
		if err != nil {
			return err
		}
		if cno == s.owner {
			return errs.Field("shareCode", "is your own invitation")
		}
		sub, rule, status, err := sharableSub(ctx, tx, p.CompanyID, s.owner, s.ProductCode, "USERS")
		if err != nil || status != "" {
			reply.Status = status
			return err
		}
		if sub.ID != s.subscriptionID {
			reply.Status = NoSubscription
			return nil
		}
		var accepted int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM shares WHERE subscription_id = $1 AND status = 'ACCEPTED'`, sub.ID).Scan(&accepted); err != nil {
			return store.Translate(err)
		}
		if accepted >= rule.ShareCount {
			reply.Status = ShareLimit
			return nil
		}
		if err := update(ctx, tx, `UPDATE shares SET status = 'ACCEPTED', recipient_customer = $2, recipient_user = $3, accepted_at = $4
			WHERE id = $1 AND status = 'PENDING'`, s.id, cno, p.UserNumber, now); err != nil {
			return err
		}
		if err := refreshCustomer(ctx, tx, p.CompanyID, cno); err != nil {
			return err
		}
		reply.Status = ShareOK
		return h.shareAudit(ctx, tx, p.CompanyID, "accept", s)
	})
}

// ShareDeclineClient serves PATCH /capi/v1/client/subscription/share/invitation.
func (h Handlers) ShareDeclineClient() http.Handler {
	return h.shareChange(func(ctx context.Context, tx *sql.Tx, p *auth.Principal, b ShareChangeBody, reply *statusReply) error {
		s, err := shareByCode(ctx, tx, p.CompanyID, b.ShareCode)
		if err != nil {
			return err
		}
		now := Now(ctx).UnixMilli()
		switch {
		case s == nil:
			reply.Status = ShareCodeNotFound
		case !strings.EqualFold(b.ChangeType, "DECLINE"):
			reply.Status = ChangeTypeNotSupport
		case s.ShareStatus == "ACCEPTED":
			reply.Status = RequestAccepted
		case endedStatus(s.effectiveStatus(now)) != "":
			reply.Status = endedStatus(s.effectiveStatus(now))
		}
		if reply.Status != "" {
			return nil
		}
		if err := update(ctx, tx, `UPDATE shares SET status = 'DECLINED', ended_at = $2 WHERE id = $1 AND status = 'PENDING'`, s.id, now); err != nil {
			return err
		}
		reply.Status = RequestDeclined
		return h.shareAudit(ctx, tx, p.CompanyID, "decline", s)
	})
}

// ShareCancel serves PATCH /capi/v1/subscription/share: the owner ends a
// pending or accepted share, or the recipient leaves an accepted one.
func (h Handlers) ShareCancel() http.Handler {
	return h.shareChange(func(ctx context.Context, tx *sql.Tx, p *auth.Principal, b ShareChangeBody, reply *statusReply) error {
		cno, err := customer.NumberFor(ctx, tx, p)
		if errs.Is(err, errs.NotFound) {
			cno, err = -1, nil
		}
		if err != nil {
			return err
		}
		s, err := shareByCode(ctx, tx, p.CompanyID, b.ShareCode)
		if err != nil {
			return err
		}
		now := Now(ctx).UnixMilli()
		mine := s != nil && (s.owner == cno || (s.ShareStatus == "ACCEPTED" || s.ShareStatus == "ENDED") && s.recipientUser.Valid && s.recipientUser.Int64 == p.UserNumber)
		switch {
		case !mine:
			reply.Status = ShareCodeNotFound
		case !strings.EqualFold(b.ChangeType, "CANCEL"):
			reply.Status = ChangeTypeNotSupport
		case s.effectiveStatus(now) == "ENDED" || s.ShareStatus == "DECLINED":
			reply.Status = SharingEnded
		}
		if reply.Status != "" {
			return nil
		}
		if err := update(ctx, tx, `UPDATE shares SET status = 'ENDED', ended_at = $2 WHERE id = $1 AND status IN ('PENDING', 'ACCEPTED')`, s.id, now); err != nil {
			return err
		}
		if s.recipientCustomer.Valid {
			if err := refreshCustomer(ctx, tx, p.CompanyID, s.recipientCustomer.Int64); err != nil {
				return err
			}
		}
		reply.Status = SharingEnded
		return h.shareAudit(ctx, tx, p.CompanyID, "cancel", s)
	})
}

// ShareDetailsBody is the body of share-invitation-details-change.
type ShareDetailsBody struct {
	Contact     string `json:"contact"`
	ContactType string `json:"contactType"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	Resend      bool   `json:"resend"`
}

// ShareChange serves PATCH /capi/v1/subscription/share/invitation/{shareCode}.
func (h Handlers) ShareChange() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		code := r.PathValue("shareCode")
		if len(code) > 12 {
			httpx.Fail(w, r, errs.Field("shareCode", "at most 12 characters"))
			return
		}
		var b ShareDetailsBody
		if err := httpx.Decode(r, &b); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if err := validNames(b.FirstName, b.LastName); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		var reply statusReply
		var msg *Invitation
		err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
			msg = nil
			p, owner, err := h.callerCustomer(ctx, tx)
			if errs.Is(err, errs.NotFound) {
				reply.Status = ShareCodeNotFound
				return nil
			}
			if err != nil {
				return err
			}
			s, err := shareByCode(ctx, tx, p.CompanyID, code)
			if err != nil {
				return err
			}
			now := Now(ctx).UnixMilli()
			if s == nil || s.owner != owner {
				reply.Status = ShareCodeNotFound
				return nil
			}
			switch s.effectiveStatus(now) {
			case "ACCEPTED":
				reply.Status = RequestAccepted
			case "DECLINED":
				reply.Status = RequestDeclined
			case "ENDED":
				reply.Status = SharingEnded
			}
			if reply.Status != "" {
				return nil
			}
			newCode := false
			if b.Contact != "" || b.ContactType != "" {
				typ := b.ContactType
				if typ == "" {
					typ = s.ContactType
				}
				contact := b.Contact
				if contact == "" {
					contact = s.Contact
				}
				c, t, err := normContact(contact, typ)
				if err != nil {
					return err
				}
				if own, err := h.credentialMatches(ctx, p.CompanyID, owner, c); err != nil {
					return err
				} else if own {
					return errs.Field("contact", "is your own; invite someone else")
				}
				if c != s.Contact {
					s.ShareCode, newCode = newShareCode(), true // the old code stops working
				}
				s.Contact, s.ContactType = c, t
			}
			if b.FirstName != "" {
				s.FirstName = b.FirstName
			}
			if b.LastName != "" {
				s.LastName = b.LastName
			}
			if b.Resend || newCode {
				// Sent again (or to the new contact): the invitation runs from now.
				settings, err := LoadSettings(ctx, tx, p.CompanyID)
				if err != nil {
					return err
				}
				s.expiresAt = now + int64(settings.ShareInvitationExpiryDays)*24*3600*1000
				m, err := invitation(ctx, tx, p.CompanyID, s, s.expiresAt)
				if err != nil {
					return err
				}
				msg = &m
			}
			if _, err := tx.ExecContext(ctx, `UPDATE shares SET share_code = $2, contact = $3, contact_type = $4, first_name = $5, last_name = $6,
				expires_at = $7 WHERE id = $1`, s.id, s.ShareCode, s.Contact, s.ContactType, s.FirstName, s.LastName, s.expiresAt); err != nil {
				return store.Translate(err)
			}
			reply.Status, reply.Share = ShareOK, &s.ShareEntry
			action := "change"
			if msg != nil {
				action = "resend"
			}
			return h.shareAudit(ctx, tx, p.CompanyID, action, s)
		})
		if err == nil {
			err = h.send(ctx, msg)
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, reply)
	})
}

// ShareList serves GET /capi/v1/subscription/share: the owner's shares.
func (h Handlers) ShareList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		q := r.URL.Query()
		product, status := q.Get("productCode"), strings.ToUpper(q.Get("status"))
		if len(product) > 12 {
			httpx.Fail(w, r, errs.Field("productCode", "at most 12 characters"))
			return
		}
		switch status {
		case "", "PENDING", "ACCEPTED", "DECLINED", "ENDED":
		default:
			httpx.Fail(w, r, errs.Field("status", "must be one of PENDING, ACCEPTED, DECLINED, ENDED"))
			return
		}
		type list struct {
			Shares []ShareEntry `json:"shares"`
		}
		out := list{Shares: []ShareEntry{}}
		p, owner, err := h.callerCustomer(ctx, h.DB)
		if errs.Is(err, errs.NotFound) {
			httpx.Reply(w, r, http.StatusOK, out)
			return
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		rows, err := h.DB.QueryContext(ctx, `SELECT `+shareColumns+` FROM shares WHERE company_id = $1 AND owner_customer = $2
			AND ($3 = '' OR product_code = $3) ORDER BY created_at, id`, p.CompanyID, owner, product)
		if err != nil {
			httpx.Fail(w, r, store.Translate(err))
			return
		}
		defer rows.Close()
		now := Now(ctx).UnixMilli()
		for rows.Next() {
			s, err := scanShare(rows)
			if err != nil {
				httpx.Fail(w, r, err)
				return
			}
			s.ShareStatus = s.effectiveStatus(now)
			if (status == "" && (s.ShareStatus == "PENDING" || s.ShareStatus == "ACCEPTED")) || s.ShareStatus == status {
				out.Shares = append(out.Shares, s.ShareEntry)
			}
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

// SharedSubscription is an entry of subscription-shared-list.
type SharedSubscription struct {
	Product   string     `json:"product"`
	Stopped   bool       `json:"stopped"`
	StartTime int64      `json:"startTime"`
	EndTime   int64      `json:"endTime"`
	ShareType string     `json:"shareType"`
	ShareCode string     `json:"shareCode"`
	Owner     *OwnerName `json:"owner,omitempty"`
}

// OwnerName is the owner of a shared subscription.
type OwnerName struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

// SharedList serves GET /capi/v1/subscription/shared.
func (h Handlers) SharedList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		type list struct {
			Subscriptions []SharedSubscription `json:"subscriptions"`
		}
		out := list{Subscriptions: []SharedSubscription{}}
		p := auth.FromContext(ctx)
		rows, err := h.DB.QueryContext(ctx, `SELECT h.share_code, h.accepted_at, s.product_code, s.status, s.end_time, c.first_name, c.last_name
			FROM shares h JOIN subscriptions s ON s.id = h.subscription_id
			LEFT JOIN customers c ON c.company_id = h.company_id AND c.customer_number = h.owner_customer
			WHERE h.company_id = $1 AND h.recipient_user = $2 AND h.status = 'ACCEPTED' AND s.status <> 'ended'
			ORDER BY h.accepted_at, h.id`, p.CompanyID, p.UserNumber)
		if err != nil {
			httpx.Fail(w, r, store.Translate(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var e SharedSubscription
			var status string
			var fn, ln sql.NullString
			if err := rows.Scan(&e.ShareCode, &e.StartTime, &e.Product, &status, &e.EndTime, &fn, &ln); err != nil {
				httpx.Fail(w, r, err)
				return
			}
			e.Stopped, e.ShareType = status == StatusStopped, "USERS"
			e.Owner = &OwnerName{FirstName: fn.String, LastName: ln.String}
			out.Subscriptions = append(out.Subscriptions, e)
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

var shareTypeLetter = map[string]string{"USERS": "A", "NETS": "B", "B2B": "C"}

// ShareRuleList serves GET /capi/v1/customer/product/share/rule/{productCode}.
func (h Handlers) ShareRuleList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		product := r.PathValue("productCode")
		if err := validCode("productCode", product); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		type rule struct {
			ProductCode     string `json:"productCode"`
			ShareType       string `json:"shareType"`
			ShareCount      int    `json:"shareCount"`
			SharedCount     int    `json:"sharedCount"`
			InvitationsLeft int    `json:"invitationsLeft"`
		}
		type list struct {
			Rules []rule `json:"customerProductShareRules"`
		}
		out := list{Rules: []rule{}}
		p := auth.FromContext(ctx)
		if err := productExists(ctx, h.DB, p.CompanyID, product); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		cno, err := customer.NumberFor(ctx, h.DB, p)
		if errs.Is(err, errs.NotFound) {
			httpx.Reply(w, r, http.StatusOK, out)
			return
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		rules, err := shareRules(ctx, h.DB, p.CompanyID)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		rl, ok := rules[product]
		if !ok {
			httpx.Reply(w, r, http.StatusOK, out)
			return
		}
		sub, rl2, status, err := sharableSub(ctx, h.DB, p.CompanyID, cno, product, rl.ShareType)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if status != NoSubscription && sub != nil {
			var accepted, open int
			now := Now(ctx).UnixMilli()
			if err := h.DB.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN status = 'ACCEPTED' THEN 1 ELSE 0 END), 0),
				COALESCE(SUM(CASE WHEN status = 'ACCEPTED' OR (status = 'PENDING' AND expires_at > $2) THEN 1 ELSE 0 END), 0)
				FROM shares WHERE subscription_id = $1`, sub.ID, now).Scan(&accepted, &open); err != nil {
				httpx.Fail(w, r, store.Translate(err))
				return
			}
			settings, err := LoadSettings(ctx, h.DB, p.CompanyID)
			if err != nil {
				httpx.Fail(w, r, err)
				return
			}
			left := max(0, min(rl2.ShareCount-accepted, rl2.ShareCount*settings.ShareInvitationPoolFactor-open))
			out.Rules = append(out.Rules, rule{ProductCode: product, ShareType: shareTypeLetter[rl.ShareType], ShareCount: rl2.ShareCount,
				SharedCount: accepted, InvitationsLeft: left})
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

// Distribution levels (company codes; see DECISIONS).
var distributionLevels = []struct{ Code, Description string }{{"N", "No paper, digital only"}, {"P", "Paper to the home address"}}

type levelEntry struct {
	DistributionLevel string `json:"distributionLevel"`
	Usage             string `json:"usage"`
	Description       string `json:"description"`
}

type levelList struct {
	DistributionLevels []levelEntry `json:"distributionLevels"`
}

// receivedB2B returns the caller's subscription on product when it is a
// received B2B one (product rule B2B), else nil.
func (h Handlers) receivedB2B(ctx context.Context, q store.Queryer, product string) (*Sub, error) {
	p := auth.FromContext(ctx)
	if err := productExists(ctx, q, p.CompanyID, product); err != nil {
		return nil, err
	}
	cno, err := customer.NumberFor(ctx, q, p)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rules, err := shareRules(ctx, q, p.CompanyID)
	if err != nil {
		return nil, err
	}
	if rules[product].ShareType != "B2B" {
		return nil, nil
	}
	sub, err := Current(ctx, q, p.CompanyID, cno, product)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	return sub, err
}

func levelsOf(s *Sub) levelList {
	out := levelList{DistributionLevels: []levelEntry{}}
	if s == nil {
		return out
	}
	for _, l := range distributionLevels {
		u := "B"
		if l.Code == s.DistributionLevel {
			u = "A"
		}
		out.DistributionLevels = append(out.DistributionLevels, levelEntry{l.Code, u, l.Description})
	}
	return out
}

// DistributionLevelList serves GET /capi/v1/customer/product/share/distributionlevel/{productCode}.
func (h Handlers) DistributionLevelList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		product := r.PathValue("productCode")
		if err := validCode("productCode", product); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		sub, err := h.receivedB2B(ctx, h.DB, product)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, levelsOf(sub))
	})
}

// DistributionLevelChange serves PATCH /capi/v1/customer/product/share/distributionlevel/{productCode}.
func (h Handlers) DistributionLevelChange() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		product := r.PathValue("productCode")
		if err := validCode("productCode", product); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		var b struct {
			DistributionLevel string `json:"distributionLevel"`
		}
		if err := httpx.Decode(r, &b); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		level := strings.ToUpper(b.DistributionLevel)
		known := false
		for _, l := range distributionLevels {
			known = known || l.Code == level
		}
		if !known {
			httpx.Fail(w, r, errs.Field("distributionLevel", "must be one of N, P"))
			return
		}
		var out levelList
		err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
			sub, err := h.receivedB2B(ctx, tx, product)
			if err != nil {
				return err
			}
			if sub == nil {
				return errs.Field("productCode", "is not a received B2B subscription")
			}
			if level == "P" {
				var postal string
				if err := tx.QueryRowContext(ctx, `SELECT postal_code FROM customers WHERE company_id = $1 AND customer_number = $2`,
					sub.CompanyID, sub.CustomerNumber).Scan(&postal); err != nil {
					return store.Translate(err)
				}
				if postal == "" {
					return errs.Field("distributionLevel", "paper needs a complete home address")
				}
			}
			if err := update(ctx, tx, `UPDATE subscriptions SET distribution_level = $3, updated_at = $4 WHERE id = $1 AND updated_at = $2`,
				sub.ID, sub.UpdatedAt, level, Now(ctx).UnixMilli()); err != nil {
				return err
			}
			sub.DistributionLevel = level
			out = levelsOf(sub)
			return changed(ctx, tx, sub, "deliveryplan_changed", map[string]any{"distributionLevel": level})
		})
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

// Net is one share net.
type Net struct {
	NetType string `json:"netType"`
	Value   string `json:"value"`
}

type netList struct {
	ProductCode string `json:"productCode"`
	MaxNets     int    `json:"maxNets"`
	Nets        []Net  `json:"nets"`
}

func (h Handlers) listNets(ctx context.Context, q store.Queryer, product string) (netList, *Sub, error) {
	p := auth.FromContext(ctx)
	out := netList{ProductCode: product, Nets: []Net{}}
	if err := productExists(ctx, q, p.CompanyID, product); err != nil {
		return out, nil, err
	}
	cno, err := customer.NumberFor(ctx, q, p)
	if errs.Is(err, errs.NotFound) {
		return out, nil, nil
	}
	if err != nil {
		return out, nil, err
	}
	sub, rule, status, err := sharableSub(ctx, q, p.CompanyID, cno, product, "NETS")
	if err != nil || status != "" {
		return out, nil, err
	}
	out.MaxNets = rule.ShareCount
	rows, err := q.QueryContext(ctx, `SELECT net_type, value FROM share_nets WHERE company_id = $1 AND subscription_id = $2 ORDER BY net_type, value`,
		p.CompanyID, sub.ID)
	if err != nil {
		return out, nil, store.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n Net
		if err := rows.Scan(&n.NetType, &n.Value); err != nil {
			return out, nil, err
		}
		out.Nets = append(out.Nets, n)
	}
	return out, sub, rows.Err()
}

// ShareNetList serves GET /capi/v1/customer/product/share/net/{productCode}.
func (h Handlers) ShareNetList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		product := r.PathValue("productCode")
		if err := validCode("productCode", product); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		out, _, err := h.listNets(ctx, h.DB, product)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

// Public mail providers: never a share net domain.
var blockedDomains = map[string]bool{"gmail.com": true, "hotmail.com": true, "outlook.com": true, "yahoo.com": true,
	"live.com": true, "icloud.com": true, "online.no": true, "hotmail.no": true, "live.no": true, "me.com": true, "aol.com": true, "protonmail.com": true}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// parseNet validates one net: a domain (lower-cased) or an IP range, with
// its stored range bounds.
func parseNet(n Net, field string) (Net, string, string, error) {
	switch strings.ToLower(n.NetType) {
	case "domain":
		d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n.Value), "."))
		labels := strings.Split(d, ".")
		if len(d) == 0 || len(d) > 255 || len(labels) < 2 {
			return n, "", "", errs.Field(field+".value", "must be a DNS name such as example.no")
		}
		for _, l := range labels {
			if !dnsLabel.MatchString(l) {
				return n, "", "", errs.Field(field+".value", "must be a DNS name such as example.no")
			}
		}
		if blockedDomains[d] {
			return n, "", "", errs.Field(field+".value", "%s is a public mail provider", d)
		}
		return Net{"domain", d}, "", "", nil
	case "ip":
		v := strings.TrimSpace(n.Value)
		var pfx netip.Prefix
		if strings.Contains(v, "/") {
			var err error
			if pfx, err = netip.ParsePrefix(v); err != nil {
				return n, "", "", errs.Field(field+".value", "must be an IP address or CIDR range")
			}
		} else {
			a, err := netip.ParseAddr(v)
			if err != nil {
				return n, "", "", errs.Field(field+".value", "must be an IP address or CIDR range")
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		pfx = pfx.Masked()
		a := pfx.Addr().Unmap()
		if a.Is4() && pfx.Bits() < 16 || !a.Is4() && pfx.Bits() < 48 {
			return n, "", "", errs.Field(field+".value", "range too wide: at most /16 (IPv4) or /48 (IPv6)")
		}
		if pfx.Addr().Is4In6() {
			pfx = netip.PrefixFrom(a, pfx.Bits()-96)
		}
		lo, hi := a, lastAddr(netip.PrefixFrom(a, pfx.Bits()))
		return Net{"ip", netip.PrefixFrom(a, pfx.Bits()).String()}, ipKey(lo), ipKey(hi), nil
	default:
		return n, "", "", errs.Field(field+".netType", "must be domain or ip")
	}
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// ShareNetChange serves POST /capi/v1/customer/product/share/net/{productCode}:
// the body's nets replace the list.
func (h Handlers) ShareNetChange() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		product := r.PathValue("productCode")
		if err := validCode("productCode", product); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		var b struct {
			Nets []Net `json:"nets"`
		}
		if err := httpx.Decode(r, &b); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		type parsed struct {
			Net
			lo, hi string
		}
		var nets []parsed
		seen := map[Net]bool{}
		for i, n := range b.Nets {
			v, lo, hi, err := parseNet(n, "nets["+itoa(int64(i))+"]")
			if err != nil {
				httpx.Fail(w, r, err)
				return
			}
			if !seen[v] {
				seen[v] = true
				nets = append(nets, parsed{v, lo, hi})
			}
		}
		var out netList
		err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
			list, sub, err := h.listNets(ctx, tx, product)
			if err != nil {
				return err
			}
			if sub == nil {
				return errs.Field("productCode", "no subscription on %s shared by nets", product)
			}
			if len(nets) > list.MaxNets {
				return errs.Field("nets", "at most %d nets", list.MaxNets)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM share_nets WHERE company_id = $1 AND subscription_id = $2`, sub.CompanyID, sub.ID); err != nil {
				return store.Translate(err)
			}
			now := Now(ctx).UnixMilli()
			for i, n := range nets {
				_, err := tx.ExecContext(ctx, `INSERT INTO share_nets (company_id, subscription_id, owner_customer, product_code, net_type, value, ip_from, ip_to, created_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, sub.CompanyID, sub.ID, sub.CustomerNumber, product, n.NetType, n.Value, n.lo, n.hi, now)
				if errs.Is(store.Translate(err), errs.Conflict) {
					return &errs.Error{Kind: errs.Conflict, Field: "nets[" + itoa(int64(i)) + "]", Message: n.Value + " is already shared by another customer"}
				}
				if err != nil {
					return store.Translate(err)
				}
			}
			if err := audit.Record(ctx, tx, audit.Entry{CompanyID: sub.CompanyID, Actor: actorOf(ctx), Action: "share.nets",
				Target: "subscription:" + itoa(sub.ID), Detail: map[string]any{"nets": len(nets)}, At: Now(ctx)}); err != nil {
				return err
			}
			out, _, err = h.listNets(ctx, tx, product)
			return err
		})
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}
