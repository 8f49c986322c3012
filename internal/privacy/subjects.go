package privacy

// Consent subjects and subject groups (spec privacy.md "Issuers and
// subjects"): a customer number, the uniqueId of its linked user and the ids
// of the orders it paid are one group; history and state cover the group.

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
)

// Subject types (spec privacy.md).
const (
	SubjectConnect   = "CONNECT"
	SubjectConnectID = "CONNECTID"
	SubjectExternal  = "EXTERNAL"
	SubjectOrder     = "ORDER"
)

var uniqueIDShape = regexp.MustCompile(`^[0-9a-f]{32}$`)

// subjectType reads a subjectType in any case.
func subjectType(field, s string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	switch u {
	case SubjectConnect, SubjectConnectID, SubjectExternal, SubjectOrder:
		return u, nil
	case "":
		return "", errs.Field(field, "is required")
	}
	return "", errs.Field(field, "must be CONNECT, CONNECTID, EXTERNAL or ORDER")
}

// digits parses a subject that must be a number.
func digits(field, s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, errs.Field(field, "must be a number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errs.Field(field, "must be a number")
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errs.Field(field, "must be a number")
	}
	return n, nil
}

// group is a subject group. customer is 0 and uniqueID "" when absent;
// external is set only for an EXTERNAL subject, which is a group of its own.
type group struct {
	customer int64
	uniqueID string
	userID   int64
	external string
}

// customerExists reports whether number is one of the company's customers.
func customerExists(ctx context.Context, q store.Queryer, companyID, number int64) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM customers WHERE company_id = $1 AND customer_number = $2`, companyID, number).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, store.Translate(err)
}

// resolveSubject checks a subject for the company (404 when it fails its
// check; 400 when malformed) and returns its normalised form and group.
// field names the subject in errors.
func resolveSubject(ctx context.Context, q store.Queryer, companyID int64, typ, subject, field string) (string, *group, error) {
	subject = strings.TrimSpace(subject)
	if subject == "" {
		return "", nil, errs.Field(field, "is required")
	}
	if len(subject) > 255 {
		return "", nil, errs.Field(field, "must be at most 255 characters")
	}
	switch typ {
	case SubjectConnect:
		n, err := digits(field, subject)
		if err != nil {
			return "", nil, err
		}
		ok, err := customerExists(ctx, q, companyID, n)
		if err != nil {
			return "", nil, err
		}
		if !ok {
			return "", nil, errs.E(errs.NotFound, "no customer %d", n)
		}
		g, err := customerGroup(ctx, q, companyID, n)
		return strconv.FormatInt(n, 10), g, err
	case SubjectConnectID:
		uid := strings.ToLower(subject)
		if !uniqueIDShape.MatchString(uid) {
			return "", nil, errs.E(errs.NotFound, "no user %s", subject)
		}
		var userID int64
		err := q.QueryRowContext(ctx, `SELECT u.id FROM users u WHERE u.unique_id = $1 AND (u.created_company_id = $2
			OR EXISTS (SELECT 1 FROM customers c WHERE c.company_id = $2 AND c.user_id = u.id)
			OR EXISTS (SELECT 1 FROM oauth_requests r WHERE r.company_id = $2 AND r.user_id = u.id))`, uid, companyID).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil, errs.E(errs.NotFound, "no user %s", uid)
		}
		if err != nil {
			return "", nil, store.Translate(err)
		}
		g, err := userGroup(ctx, q, companyID, userID, uid)
		return uid, g, err
	case SubjectOrder:
		id, err := digits(field, subject)
		if err != nil {
			return "", nil, err
		}
		var payer int64
		err = q.QueryRowContext(ctx, `SELECT payer_customer_number FROM orders WHERE company_id = $1 AND id = $2`, companyID, id).Scan(&payer)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil, errs.E(errs.NotFound, "no order %d", id)
		}
		if err != nil {
			return "", nil, store.Translate(err)
		}
		g, err := customerGroup(ctx, q, companyID, payer)
		return strconv.FormatInt(id, 10), g, err
	}
	return subject, &group{external: subject}, nil
}

// customerGroup is the group of a customer: it, its linked user and its orders.
func customerGroup(ctx context.Context, q store.Queryer, companyID, number int64) (*group, error) {
	g := &group{customer: number}
	var userID sql.NullInt64
	var uid sql.NullString
	err := q.QueryRowContext(ctx, `SELECT c.user_id, u.unique_id FROM customers c LEFT JOIN users u ON u.id = c.user_id
		WHERE c.company_id = $1 AND c.customer_number = $2`, companyID, number).Scan(&userID, &uid)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, store.Translate(err)
	}
	if userID.Valid && uid.Valid {
		g.userID, g.uniqueID = userID.Int64, uid.String
	}
	return g, nil
}

// userGroup is the group of a user: it, and its customer at the company with
// that customer's orders when one is linked.
func userGroup(ctx context.Context, q store.Queryer, companyID, userID int64, uniqueID string) (*group, error) {
	g := &group{uniqueID: uniqueID, userID: userID}
	err := q.QueryRowContext(ctx, `SELECT customer_number FROM customers WHERE company_id = $1 AND user_id = $2`, companyID, userID).Scan(&g.customer)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, store.Translate(err)
	}
	return g, nil
}

// where is the SQL condition selecting the group's events in table alias e;
// its placeholders start at $next.
func (g *group) where(next int) (string, []any) {
	ph := func() string {
		s := "$" + strconv.Itoa(next)
		next++
		return s
	}
	if g.external != "" {
		return `(e.subject_type = 'EXTERNAL' AND e.subject = ` + ph() + `)`, []any{g.external}
	}
	var parts []string
	var args []any
	if g.customer != 0 {
		parts = append(parts, `(e.subject_type = 'CONNECT' AND e.subject = `+ph()+`)`)
		args = append(args, strconv.FormatInt(g.customer, 10))
		parts = append(parts, `(e.subject_type = 'ORDER' AND e.subject IN (SELECT CAST(o.id AS TEXT) FROM orders o
			WHERE o.company_id = e.company_id AND o.payer_customer_number = `+ph()+`))`)
		args = append(args, g.customer)
	}
	if g.uniqueID != "" {
		parts = append(parts, `(e.subject_type = 'CONNECTID' AND e.subject = `+ph()+`)`)
		args = append(args, g.uniqueID)
	}
	if len(parts) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// notRestricted leaves out events restricted by erasure.
const notRestricted = `NOT EXISTS (SELECT 1 FROM consent_event_restrictions r WHERE r.event_id = e.id)`
