package tenant

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"
)

// Recruitment: a company's member-gets-member campaigns (spec recruitment.md:
// "a company setting managed outside this API"). Package recruitment applies
// them (RecruitmentApplier); the shapes live here because tenant parses the
// file.

// RecruitmentCampaignSpec is one recruitment campaign.
type RecruitmentCampaignSpec struct {
	Campaign             string                   `yaml:"campaign"` // ≤ 12, unique in the company
	Description          string                   `yaml:"description"`
	StartDate            string                   `yaml:"startDate"` // YYYY-MM-DD, company zone
	EndDate              string                   `yaml:"endDate"`   // optional, inclusive
	PointsPerRecruitment int                      `yaml:"pointsPerRecruitment"`
	QuarantineDays       *int                     `yaml:"quarantineDays"` // default 180
	Offers               []RecruitmentOfferSpec   `yaml:"offers"`
	Premiums             []RecruitmentPremiumSpec `yaml:"premiums"`
}

// RecruitmentOfferSpec is a product one may recruit for, with the coupon the
// recruited person gets (a coupon of that product in the catalog).
type RecruitmentOfferSpec struct {
	Product      string `yaml:"product"`
	CouponCode   string `yaml:"couponCode"`
	CouponNumber int    `yaml:"couponNumber"`
}

// RecruitmentPremiumSpec is a premium a recruiter may want for their points.
type RecruitmentPremiumSpec struct {
	PremiumCode string `yaml:"premiumCode"`
	Description string `yaml:"description"`
	Points      int    `yaml:"points"`
}

// DefaultQuarantineDays is how long after a subscription ends its customer
// still counts as an existing subscriber.
const DefaultQuarantineDays = 180

// RecruitmentApplier writes one company's campaigns inside the apply
// transaction and counts what it created or changed.
type RecruitmentApplier func(ctx context.Context, tx *sql.Tx, companyID int64, campaigns []RecruitmentCampaignSpec, now time.Time) (changed int, err error)

var recruitmentCode = regexp.MustCompile(`^[A-Za-z0-9_-]{1,12}$`)

func validateRecruitment(c Company, cp string, bad func(field, format string, args ...any)) {
	seen := map[string]bool{}
	for i, s := range c.RecruitmentCampaigns {
		p := fmt.Sprintf("%s.recruitmentCampaigns[%d]", cp, i)
		switch {
		case !recruitmentCode.MatchString(s.Campaign):
			bad(p+".campaign", "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
		case seen[s.Campaign]:
			bad(p+".campaign", "duplicate campaign %q", s.Campaign)
		}
		seen[s.Campaign] = true
		if utf8.RuneCountInString(s.Description) > 255 {
			bad(p+".description", "at most 255 characters")
		}
		start, err := time.Parse(time.DateOnly, s.StartDate)
		if err != nil {
			bad(p+".startDate", "is required, as YYYY-MM-DD")
		}
		if s.EndDate != "" {
			end, err2 := time.Parse(time.DateOnly, s.EndDate)
			switch {
			case err2 != nil:
				bad(p+".endDate", "must be YYYY-MM-DD")
			case err == nil && end.Before(start):
				bad(p+".endDate", "must not be before startDate")
			}
		}
		if s.PointsPerRecruitment < 0 {
			bad(p+".pointsPerRecruitment", "must not be negative")
		}
		if s.QuarantineDays != nil && (*s.QuarantineDays < 0 || *s.QuarantineDays > 3650) {
			bad(p+".quarantineDays", "must be from 0 to 3650")
		}
		if len(s.Offers) == 0 {
			bad(p+".offers", "at least one offer is required")
		}
		products := map[string]bool{}
		for j, o := range s.Offers {
			op := fmt.Sprintf("%s.offers[%d]", p, j)
			switch {
			case o.Product == "" || utf8.RuneCountInString(o.Product) > 12:
				bad(op+".product", "is required, at most 12 characters")
			case products[o.Product]:
				bad(op+".product", "duplicate product %q", o.Product)
			}
			products[o.Product] = true
			if o.CouponCode == "" || o.CouponNumber <= 0 {
				bad(op+".couponCode", "couponCode and couponNumber are required")
			}
		}
		premiums := map[string]bool{}
		for j, pr := range s.Premiums {
			pp := fmt.Sprintf("%s.premiums[%d]", p, j)
			switch {
			case !recruitmentCode.MatchString(pr.PremiumCode):
				bad(pp+".premiumCode", "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
			case premiums[pr.PremiumCode]:
				bad(pp+".premiumCode", "duplicate premium %q", pr.PremiumCode)
			}
			premiums[pr.PremiumCode] = true
			if pr.Points < 0 {
				bad(pp+".points", "must not be negative")
			}
			if utf8.RuneCountInString(pr.Description) > 255 {
				bad(pp+".description", "at most 255 characters")
			}
		}
	}
}
