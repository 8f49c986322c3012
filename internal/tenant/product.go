package tenant

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ProductSpec is a product as declared in a tenant file (field names follow the
// API's Product shape). It is defined here and aliased as catalog.ProductSpec
// because catalog imports tenant for company lookups, so tenant cannot import
// catalog. Numbers are kept as written (Decimal) so money converts exactly.
type ProductSpec struct {
	Product       string   `yaml:"product"`
	Description   string   `yaml:"description"`
	ProductType   string   `yaml:"productType"` // default subscription
	StartTime     string   `yaml:"startTime"`   // "2024-01-01" (company time zone) or RFC 3339
	EndTime       string   `yaml:"endTime"`     // optional; a date means the end of that day
	Currency      string   `yaml:"currency"`    // default: the company's currency
	RetailPrice   *Decimal `yaml:"retailPrice"` // main units, ≤ 2 decimals
	WebOfferPrice *Decimal `yaml:"webOfferPrice"`
	VatPercent    *Decimal `yaml:"vatPercent"` // e.g. 25 or 12.5; stored in hundredths
	Weight        *Decimal `yaml:"weight"`     // kg, ≤ 3 decimals; stored in grams
	Campaigns     []string `yaml:"campaigns"`
	Digital       bool     `yaml:"digital"`
	Shop          bool     `yaml:"shop"`
}

// Decimal is a non-negative number exactly as written ("299", "84.54").
type Decimal string

// UnmarshalYAML accepts a YAML number or a quoted number and keeps its text.
func (d *Decimal) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float" && n.Tag != "!!str") {
		return errors.New("must be a number")
	}
	*d = Decimal(strings.TrimSpace(n.Value))
	return nil
}

var decimalText = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// Scaled returns d × 10^places as an integer, parsed from the text so that
// 84.54 is exactly 8454; more than places decimals, or more than max, is an error.
func (d Decimal) Scaled(places int, max int64) (int64, error) {
	s := string(d)
	if !decimalText.MatchString(s) {
		return 0, errors.New("must be a non-negative number like 299 or 84.54")
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > places {
		return 0, fmt.Errorf("must have at most %d decimals", places)
	}
	frac += strings.Repeat("0", places-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || v > max {
		return 0, errors.New("is too large")
	}
	return v, nil
}

// Limits and scales of the product numbers: money in minor units, VAT in
// hundredths of a percent, weight in grams.
const (
	MoneyPlaces  = 2
	VatPlaces    = 2
	WeightPlaces = 3
	MaxVat       = 100_00
	MaxWeight    = math.MaxInt32
	MaxMoney     = math.MaxInt64
)

// ProductTime reads a product date or instant: a date is midnight in loc (with
// endOfDay, the next midnight, so "endTime: 2023-12-31" keeps the product
// active through that day); otherwise an RFC 3339 instant.
func ProductTime(s string, loc *time.Location, endOfDay bool) (time.Time, error) {
	if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("must be a date (2024-01-01) or an RFC 3339 instant")
	}
	return t, nil
}

// FieldProblem is one product validation failure; Field is relative to the
// product ("retailPrice", "campaigns[1]").
type FieldProblem struct {
	Field   string
	Message string
}

var (
	productTypes = map[string]bool{"subscription": true, "series": true, "single": true, "article": true}
	productCode  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,12}$`)
)

// ValidateProduct checks p on its own (no database, no company defaults).
func ValidateProduct(p ProductSpec) []FieldProblem {
	var out []FieldProblem
	bad := func(field, format string, args ...any) {
		out = append(out, FieldProblem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case p.Product == "":
		bad("product", "is required")
	case !productCode.MatchString(p.Product):
		bad("product", "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
	}
	if len(p.Description) > 255 {
		bad("description", "must be at most 255 characters")
	}
	if p.ProductType != "" && !productTypes[p.ProductType] {
		bad("productType", "must be one of subscription, series, single, article")
	}
	var start time.Time
	var startErr error
	if p.StartTime == "" {
		bad("startTime", "is required")
	} else if start, startErr = ProductTime(p.StartTime, time.UTC, false); startErr != nil {
		bad("startTime", "%s", startErr)
	}
	if p.EndTime != "" {
		if end, err := ProductTime(p.EndTime, time.UTC, true); err != nil {
			bad("endTime", "%s", err)
		} else if p.StartTime != "" && startErr == nil && !end.After(start) {
			bad("endTime", "must be after startTime")
		}
	}
	if p.Currency != "" && !currencyRe.MatchString(p.Currency) {
		bad("currency", "must be an ISO 4217 code such as NOK")
	}
	num := func(field string, d *Decimal, places int, max int64) {
		if d != nil {
			if _, err := d.Scaled(places, max); err != nil {
				bad(field, "%s", err)
			}
		}
	}
	num("retailPrice", p.RetailPrice, MoneyPlaces, MaxMoney)
	num("webOfferPrice", p.WebOfferPrice, MoneyPlaces, MaxMoney)
	num("vatPercent", p.VatPercent, VatPlaces, MaxVat)
	num("weight", p.Weight, WeightPlaces, MaxWeight)
	seen := map[string]bool{}
	for i, c := range p.Campaigns {
		field := fmt.Sprintf("campaigns[%d]", i)
		switch {
		case c == "" || strings.ContainsAny(c, ", \t\n"):
			// Stored and served comma-separated, so a code cannot hold a comma.
			bad(field, "must be a non-empty code without commas or spaces")
		case seen[c]:
			bad(field, "duplicate campaign %q", c)
		}
		seen[c] = true
	}
	return out
}

// ProductApplier writes one company's products inside the apply transaction
// and counts what it created and updated.
type ProductApplier func(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, specs []ProductSpec, now time.Time) (created, updated int, err error)
