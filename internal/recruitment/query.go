package recruitment

import (
	"context"
	"database/sql"
	"errors"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
)

const entryColumns = `r.id, r.created_at, r.product_code, r.first_name, r.last_name, ` + statusSQL + `, r.reject_reason, r.points, r.order_id`

const entryFrom = ` FROM recruitments r LEFT JOIN orders o ON o.id = r.order_id`

func scanEntry(row interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	var points int64
	var orderID sql.NullInt64
	if err := row.Scan(&e.RecruitmentID, &e.Created, &e.Product, &e.Name.FirstName, &e.Name.LastName, &e.Status,
		&e.RejectReason, &points, &orderID); err != nil {
		return Entry{}, err
	}
	if e.Status == Approved {
		e.Points = points // points are earned on approval
	}
	if orderID.Valid {
		e.OrderID = &orderID.Int64
	}
	return e, nil
}

func entry(ctx context.Context, q store.Queryer, companyID, id int64) (Entry, error) {
	e, err := scanEntry(q.QueryRowContext(ctx, `SELECT `+entryColumns+entryFrom+` WHERE r.company_id = $1 AND r.id = $2`, companyID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, errs.E(errs.NotFound, "no recruitment %d", id)
	}
	return e, store.Translate(err)
}

// points is what a recruiter has earned in a campaign: the points of their
// approved recruitments (premiums are handed out outside this API).
func points(ctx context.Context, q store.Queryer, companyID, campaignID, recruiter int64) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(r.points), 0)`+entryFrom+` WHERE r.company_id = $1 AND r.campaign_id = $2
		AND r.recruiter_customer_number = $3 AND `+statusSQL+` = 'approved'`, companyID, campaignID, recruiter).Scan(&n)
	return n, store.Translate(err)
}

// page lists a recruiter's recruitments in a campaign.
func page(ctx context.Context, q store.Queryer, companyID, campaignID, recruiter int64, limit, offset int, ascending bool) ([]Entry, int, error) {
	var total int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM recruitments WHERE company_id = $1 AND campaign_id = $2
		AND recruiter_customer_number = $3`, companyID, campaignID, recruiter).Scan(&total); err != nil {
		return nil, 0, store.Translate(err)
	}
	dir := "DESC"
	if ascending {
		dir = "ASC"
	}
	rows, err := q.QueryContext(ctx, `SELECT `+entryColumns+entryFrom+` WHERE r.company_id = $1 AND r.campaign_id = $2
		AND r.recruiter_customer_number = $3 ORDER BY r.created_at `+dir+`, r.id `+dir+` LIMIT $4 OFFSET $5`,
		companyID, campaignID, recruiter, limit, offset)
	if err != nil {
		return nil, 0, store.Translate(err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, 0, store.Translate(err)
		}
		out = append(out, e)
	}
	return out, total, store.Translate(rows.Err())
}

func preferences(ctx context.Context, q store.Queryer, campaignID, customerNumber int64) ([]Preference, error) {
	rows, err := q.QueryContext(ctx, `SELECT premium_code, quantity FROM recruitment_preferences
		WHERE campaign_id = $1 AND customer_number = $2 ORDER BY position`, campaignID, customerNumber)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []Preference{}
	for rows.Next() {
		var p Preference
		var n int
		if err := rows.Scan(&p.PremiumCode, &n); err != nil {
			return nil, store.Translate(err)
		}
		p.Quantity = &n
		out = append(out, p)
	}
	return out, store.Translate(rows.Err())
}
