// Package recruitment is the Recruitment area (spec recruitment.md):
// member-gets-member campaigns from the tenant file, recruitments registered
// by a client or by the recruiting user, each eligible recruited person's
// order (through package order, in the same transaction), points and
// premium preferences. An order line sent with a recruiter also becomes a
// recruitment (Hook). A registered recruitment reads as approved or
// cancelled from its order's status, so order completion and failure need
// no call back into this package.
package recruitment

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/store"
)

// Statuses of a recruitment (spec "Recruitment entry").
const (
	Registered = "registered"
	Approved   = "approved"
	Rejected   = "rejected"
	Cancelled  = "cancelled"
)

// Reasons a recruited person is not eligible.
const (
	SelfRecruitment    = "selfRecruitment"
	ExistingSubscriber = "existingSubscriber"
	Duplicate          = "duplicate"
)

// statusSQL derives a recruitment's status: stored rejections stay; the rest
// follow their order (completed: the subscription started; cancelled or
// failed, or the subscription stopped within its first period: cancelled).
const statusSQL = `CASE WHEN r.status = 'rejected' THEN 'rejected'
	WHEN o.status IN ('cancelled', 'failed') THEN 'cancelled'
	WHEN o.status = 'completed' AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.company_id = r.company_id
		AND s.order_id = r.order_id AND s.status = 'stopped' AND s.periods <= 1) THEN 'cancelled'
	WHEN o.status = 'completed' THEN 'approved'
	ELSE 'registered' END`

// person is a recruiter or recruited person as checked for eligibility.
type person struct {
	number    int64 // 0: not a customer yet
	firstName string
	lastName  string
	contacts  []string // normalised e-mail addresses and phone numbers
}

func normContacts(emails, phones []string) []string {
	var out []string
	for _, e := range emails {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			out = append(out, e)
		}
	}
	for _, p := range phones {
		if p = strings.Join(strings.Fields(p), ""); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// customerPerson reads an existing customer's name and contacts.
func customerPerson(ctx context.Context, q store.Queryer, companyID, number int64) (person, error) {
	c, err := customer.Get(ctx, q, companyID, number)
	if err != nil {
		return person{}, err
	}
	return person{number: number, firstName: c.FirstName, lastName: c.LastName, contacts: normContacts(c.Emails, c.PhoneNumbers)}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// rejectReason checks a recruited person against the spec's rules; "" when eligible.
func rejectReason(ctx context.Context, tx *sql.Tx, companyID int64, c *campaign, product string, recruiter, p person, now time.Time) (string, error) {
	if p.number != 0 && p.number == recruiter.number {
		return SelfRecruitment, nil
	}
	for _, a := range p.contacts {
		for _, b := range recruiter.contacts {
			if a == b {
				return SelfRecruitment, nil
			}
		}
	}
	if p.number != 0 {
		cutoff := now.AddDate(0, 0, -c.Quarantine).UnixMilli()
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM subscriptions WHERE company_id = $1 AND customer_number = $2
			AND product_code = $3 AND (status IN ('active', 'paused') OR COALESCE(stop_time, end_time) > $4)`,
			companyID, p.number, product, cutoff).Scan(&n); err != nil {
			return "", store.Translate(err)
		}
		if n > 0 {
			return ExistingSubscriber, nil
		}
	}
	// Earlier recruitments that still count: not rejected, order not failed.
	args := []any{c.ID, product, p.number}
	marks := make([]string, len(p.contacts))
	for i, ct := range p.contacts {
		args = append(args, ct)
		marks[i] = fmt.Sprintf("$%d", len(args))
	}
	contactClause := ""
	if len(marks) > 0 {
		contactClause = ` OR r.id IN (SELECT recruitment_id FROM recruitment_contacts WHERE campaign_id = $1 AND product_code = $2
			AND contact IN (` + strings.Join(marks, ", ") + `))`
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM recruitments r LEFT JOIN orders o ON o.id = r.order_id
		WHERE r.campaign_id = $1 AND r.product_code = $2 AND r.status = 'registered'
		AND (o.status IS NULL OR o.status NOT IN ('cancelled', 'failed'))
		AND ((r.recruited_customer_number IS NOT NULL AND r.recruited_customer_number = $3)`+contactClause+`)`, args...).Scan(&n); err != nil {
		return "", store.Translate(err)
	}
	if n > 0 {
		return Duplicate, nil
	}
	return "", nil
}

// insert stores one recruitment with its contacts and returns its id.
func insert(ctx context.Context, tx *sql.Tx, companyID int64, c *campaign, product string, recruiter int64, p person,
	reason string, orderID int64, now time.Time) (int64, error) {
	status := Registered
	if reason != "" {
		status = Rejected
	}
	var recruited, order any
	if p.number != 0 {
		recruited = p.number
	}
	if orderID != 0 {
		order = orderID
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO recruitments (company_id, campaign_id, product_code, recruiter_customer_number,
		recruited_customer_number, first_name, last_name, status, reject_reason, points, order_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`, companyID, c.ID, product, recruiter,
		recruited, p.firstName, p.lastName, status, reason, c.Points, order, now.UnixMilli()).Scan(&id); err != nil {
		return 0, store.Translate(err)
	}
	seen := map[string]bool{}
	for _, ct := range p.contacts {
		if seen[ct] {
			continue
		}
		seen[ct] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO recruitment_contacts (recruitment_id, campaign_id, product_code, contact)
			VALUES ($1, $2, $3, $4)`, id, c.ID, product, ct); err != nil {
			return 0, store.Translate(err)
		}
	}
	return id, nil
}
