package tenant

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Subscriptions, access and sharing: how a company's products may be shared
// (spec product.md, Sharing). Package subscription applies them
// (ShareRulesApplier); the shape lives here because tenant parses the file.

// ShareRuleSpec lets subscribers of Product share it: USERS (named people),
// NETS (e-mail domains and IP ranges) or B2B (seats = the subscription's
// copies), up to ShareCount shares or nets.
type ShareRuleSpec struct {
	Product    string `yaml:"product"`
	ShareType  string `yaml:"shareType"`
	ShareCount int    `yaml:"shareCount"`
}

// ShareRulesApplier upserts a company's share rules inside tx and returns how
// many it created or changed.
type ShareRulesApplier func(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, rules []ShareRuleSpec, now time.Time) (int, error)

func validateShareRules(c Company, cp string, bad func(field, format string, args ...any)) {
	seen := map[string]bool{}
	for i, r := range c.ShareRules {
		p := fmt.Sprintf("%s.shareRules[%d]", cp, i)
		switch {
		case r.Product == "":
			bad(p+".product", "is required")
		case !productCode.MatchString(r.Product):
			bad(p+".product", "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
		case seen[r.Product]:
			bad(p+".product", "duplicate share rule for %q", r.Product)
		}
		seen[r.Product] = true
		switch r.ShareType {
		case "USERS", "NETS", "B2B":
		default:
			bad(p+".shareType", "must be one of USERS, NETS, B2B")
		}
		if r.ShareCount < 0 || r.ShareCount > 1000 {
			bad(p+".shareCount", "must be between 0 and 1000")
		}
	}
}
