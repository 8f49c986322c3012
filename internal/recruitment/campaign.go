package recruitment

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// Offer is a product of a campaign with the coupon the recruited person gets.
type Offer struct {
	Product      string `json:"product"`
	CouponCode   string `json:"couponCode"`
	CouponNumber int64  `json:"couponNumber"`
}

// Premium is what a recruiter may want for their points.
type Premium struct {
	PremiumCode string `json:"premiumCode"`
	Description string `json:"description"`
	Points      int64  `json:"points"`
}

// campaign is a stored recruitment campaign.
type campaign struct {
	ID          int64
	Code        string
	Description string
	StartDate   string
	EndDate     string // "" when open-ended
	Points      int64
	Quarantine  int
	Offers      []Offer   // by product
	Premiums    []Premium // by points, then code
}

// activeOn reports whether the campaign runs on day (YYYY-MM-DD).
func (c *campaign) activeOn(day string) bool {
	return c.StartDate <= day && (c.EndDate == "" || day <= c.EndDate)
}

func (c *campaign) offer(product string) *Offer {
	for i := range c.Offers {
		if c.Offers[i].Product == product {
			return &c.Offers[i]
		}
	}
	return nil
}

func (c *campaign) premium(code string) *Premium {
	for i := range c.Premiums {
		if c.Premiums[i].PremiumCode == code {
			return &c.Premiums[i]
		}
	}
	return nil
}

func (c *campaign) products() []string {
	out := make([]string, len(c.Offers))
	for i, o := range c.Offers {
		out[i] = o.Product
	}
	return out
}

const campaignColumns = `id, code, description, start_date, COALESCE(end_date, ''), points_per_recruitment, quarantine_days`

// loadCampaign returns the company's campaign by code; errs.NotFound when missing.
func loadCampaign(ctx context.Context, q store.Queryer, companyID int64, code string) (*campaign, error) {
	c := &campaign{}
	err := q.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM recruitment_campaigns WHERE company_id = $1 AND code = $2`,
		companyID, code).Scan(&c.ID, &c.Code, &c.Description, &c.StartDate, &c.EndDate, &c.Points, &c.Quarantine)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no recruitment campaign %s", code)
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	return c, loadDetails(ctx, q, c)
}

// listCampaigns returns the company's campaigns by start date, then code.
func listCampaigns(ctx context.Context, q store.Queryer, companyID int64) ([]*campaign, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+campaignColumns+` FROM recruitment_campaigns WHERE company_id = $1
		ORDER BY start_date, code`, companyID)
	if err != nil {
		return nil, store.Translate(err)
	}
	var out []*campaign
	for rows.Next() {
		c := &campaign{}
		if err := rows.Scan(&c.ID, &c.Code, &c.Description, &c.StartDate, &c.EndDate, &c.Points, &c.Quarantine); err != nil {
			rows.Close()
			return nil, store.Translate(err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, store.Translate(err)
	}
	for _, c := range out {
		if err := loadDetails(ctx, q, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func loadDetails(ctx context.Context, q store.Queryer, c *campaign) error {
	rows, err := q.QueryContext(ctx, `SELECT product_code, coupon_code, coupon_number FROM recruitment_offers
		WHERE campaign_id = $1 ORDER BY product_code`, c.ID)
	if err != nil {
		return store.Translate(err)
	}
	c.Offers = []Offer{}
	for rows.Next() {
		var o Offer
		if err := rows.Scan(&o.Product, &o.CouponCode, &o.CouponNumber); err != nil {
			rows.Close()
			return store.Translate(err)
		}
		c.Offers = append(c.Offers, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	rows, err = q.QueryContext(ctx, `SELECT premium_code, description, points FROM recruitment_premiums
		WHERE campaign_id = $1 ORDER BY points, premium_code`, c.ID)
	if err != nil {
		return store.Translate(err)
	}
	defer rows.Close()
	c.Premiums = []Premium{}
	for rows.Next() {
		var p Premium
		if err := rows.Scan(&p.PremiumCode, &p.Description, &p.Points); err != nil {
			return store.Translate(err)
		}
		c.Premiums = append(c.Premiums, p)
	}
	return store.Translate(rows.Err())
}

// today is the company's current date (YYYY-MM-DD) and zone.
func today(ctx context.Context, q store.Queryer, companyID int64, now time.Time) (string, *time.Location, error) {
	co, err := tenant.GetCompany(ctx, q, companyID)
	if err != nil {
		return "", nil, err
	}
	loc, err := co.Location()
	if err != nil {
		loc = time.UTC
	}
	return now.In(loc).Format(time.DateOnly), loc, nil
}

// ApplyTenant writes a company's recruitment campaigns from the tenant file
// (tenant.RecruitmentApplier). Each offer's coupon must be a catalog coupon
// of its product. Campaigns not in the file are left alone; an unchanged
// campaign is not written.
func ApplyTenant(ctx context.Context, tx *sql.Tx, companyID int64, specs []tenant.RecruitmentCampaignSpec, now time.Time) (int, error) {
	changed := 0
	for i, s := range specs {
		p := fmt.Sprintf("recruitmentCampaigns[%d]", i)
		for j, o := range s.Offers {
			cp, err := catalog.GetCoupon(ctx, tx, companyID, o.CouponCode, int64(o.CouponNumber))
			if errs.Is(err, errs.NotFound) {
				return 0, errs.Field(fmt.Sprintf("%s.offers[%d].couponCode", p, j), "unknown coupon %s/%d", o.CouponCode, o.CouponNumber)
			}
			if err != nil {
				return 0, err
			}
			if cp.ProductCode != o.Product {
				return 0, errs.Field(fmt.Sprintf("%s.offers[%d].couponCode", p, j), "coupon %s/%d is for product %s", o.CouponCode, o.CouponNumber, cp.ProductCode)
			}
		}
		quarantine := tenant.DefaultQuarantineDays
		if s.QuarantineDays != nil {
			quarantine = *s.QuarantineDays
		}
		s.QuarantineDays = &quarantine
		b, err := json.Marshal(s)
		if err != nil {
			return 0, err
		}
		sum := sha256.Sum256(b)
		digest := hex.EncodeToString(sum[:])
		var id int64
		var have string
		err = tx.QueryRowContext(ctx, `SELECT id, spec_digest FROM recruitment_campaigns WHERE company_id = $1 AND code = $2`,
			companyID, s.Campaign).Scan(&id, &have)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := tx.QueryRowContext(ctx, `INSERT INTO recruitment_campaigns (company_id, code, description, start_date, end_date,
				points_per_recruitment, quarantine_days, spec_digest, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`, companyID, s.Campaign, s.Description, s.StartDate,
				nullIfEmpty(s.EndDate), s.PointsPerRecruitment, quarantine, digest, now.UnixMilli()).Scan(&id); err != nil {
				return 0, store.Translate(err)
			}
		case err != nil:
			return 0, store.Translate(err)
		case have == digest:
			continue
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE recruitment_campaigns SET description = $2, start_date = $3, end_date = $4,
				points_per_recruitment = $5, quarantine_days = $6, spec_digest = $7, updated_at = $8 WHERE id = $1`,
				id, s.Description, s.StartDate, nullIfEmpty(s.EndDate), s.PointsPerRecruitment, quarantine, digest, now.UnixMilli()); err != nil {
				return 0, store.Translate(err)
			}
			for _, table := range []string{"recruitment_offers", "recruitment_premiums"} {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE campaign_id = $1`, id); err != nil {
					return 0, store.Translate(err)
				}
			}
		}
		for _, o := range s.Offers {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recruitment_offers (campaign_id, product_code, coupon_code, coupon_number)
				VALUES ($1, $2, $3, $4)`, id, o.Product, o.CouponCode, o.CouponNumber); err != nil {
				return 0, store.Translate(err)
			}
		}
		for _, pr := range s.Premiums {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recruitment_premiums (campaign_id, premium_code, description, points)
				VALUES ($1, $2, $3, $4)`, id, pr.PremiumCode, pr.Description, pr.Points); err != nil {
				return 0, store.Translate(err)
			}
		}
		changed++
	}
	return changed, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
