package tenant

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Diverse (spec diverse.md): service notices and seeded stock levels. The
// status notices are "company settings, managed outside this API"; package
// message applies them (StatusMessagesApplier). Stock levels belong to the
// publisher's warehouse system, so the file only seeds levels that do not
// exist yet (package stock, StockApplier).

// StatusMessageSpec is one service notice (status-message-list).
type StatusMessageSpec struct {
	ID          int      `yaml:"id"`        // > 0, unique in the company; the API's id
	Title       string   `yaml:"title"`     // ≤ 100
	Message     string   `yaml:"message"`   // ≤ 2000
	Severity    string   `yaml:"severity"`  // info, warning or critical
	StartTime   string   `yaml:"startTime"` // a date (00:00, company zone) or RFC 3339
	EndTime     string   `yaml:"endTime"`   // optional; a date means the end of that day
	Products    []string `yaml:"products"`  // optional targets: product codes
	PostalCodes []string `yaml:"postalCodes"`
}

// StockSpec is an initial stock level: written only when the product has no
// level at the location yet, so re-applying a file never undoes the
// warehouse's updates.
type StockSpec struct {
	ProductID string `yaml:"productId"`
	Location  string `yaml:"location"` // default MAIN
	Quantity  int    `yaml:"quantity"`
}

// StatusMessagesApplier writes one company's notices inside the apply
// transaction and counts what it created or changed.
type StatusMessagesApplier func(ctx context.Context, tx *sql.Tx, companyID int64, country string, notices []StatusMessageSpec, now time.Time) (changed int, err error)

// StockApplier seeds one company's stock levels inside the apply transaction
// and counts the levels it created.
type StockApplier func(ctx context.Context, tx *sql.Tx, companyID int64, levels []StockSpec, now time.Time) (created int, err error)

// StatusSeverities are the notice severities, most urgent first.
var StatusSeverities = []string{"critical", "warning", "info"}

// StockLocationRe is a stock location code.
var StockLocationRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,12}$`)

// MaxStockQuantity bounds a stock level (and every adjustment), far below
// int64 overflow and within JSON's exact integers.
const MaxStockQuantity = 1_000_000_000_000

var postalCodeRe = regexp.MustCompile(`^[0-9]{3,10}$`)

func validateDiverse(c Company, cp string, bad func(field, format string, args ...any)) {
	ids := map[int]bool{}
	for i, s := range c.StatusMessages {
		p := fmt.Sprintf("%s.statusMessages[%d]", cp, i)
		switch {
		case s.ID <= 0:
			bad(p+".id", "is required, a positive whole number")
		case ids[s.ID]:
			bad(p+".id", "duplicate id %d", s.ID)
		}
		ids[s.ID] = true
		if n := utf8.RuneCountInString(strings.TrimSpace(s.Title)); n == 0 || n > 100 {
			bad(p+".title", "is required, at most 100 characters")
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(s.Message)); n == 0 || n > 2000 {
			bad(p+".message", "is required, at most 2000 characters")
		}
		if !validSeverity(s.Severity) {
			bad(p+".severity", "must be one of %s", strings.Join(StatusSeverities, ", "))
		}
		start, err := ProductTime(s.StartTime, time.UTC, false)
		if s.StartTime == "" || err != nil {
			bad(p+".startTime", "is required, as a date (2024-01-01) or an RFC 3339 instant")
		}
		if s.EndTime != "" {
			end, err2 := ProductTime(s.EndTime, time.UTC, true)
			switch {
			case err2 != nil:
				bad(p+".endTime", "must be a date (2024-01-01) or an RFC 3339 instant")
			case err == nil && s.StartTime != "" && !end.After(start):
				bad(p+".endTime", "must be after startTime")
			}
		}
		for j, code := range s.Products {
			if !productCode.MatchString(code) {
				bad(fmt.Sprintf("%s.products[%d]", p, j), "must be a product code (1–12 characters)")
			}
		}
		for j, code := range s.PostalCodes {
			if !postalCodeRe.MatchString(code) {
				bad(fmt.Sprintf("%s.postalCodes[%d]", p, j), "must be 3 to 10 digits (quote it to keep leading zeros)")
			}
		}
	}
	seen := map[string]bool{}
	for i, s := range c.Stock {
		p := fmt.Sprintf("%s.stock[%d]", cp, i)
		if !productCode.MatchString(s.ProductID) {
			bad(p+".productId", "is required, a product code (1–12 characters)")
		}
		loc := s.Location
		if loc == "" {
			loc = "MAIN"
		}
		if !StockLocationRe.MatchString(loc) {
			bad(p+".location", "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
		}
		if seen[s.ProductID+"\x00"+loc] {
			bad(p+".location", "duplicate stock level for %s at %s", s.ProductID, loc)
		}
		seen[s.ProductID+"\x00"+loc] = true
		if s.Quantity < 0 || int64(s.Quantity) > MaxStockQuantity {
			bad(p+".quantity", "must be from 0 to %d", int64(MaxStockQuantity))
		}
	}
}

func validSeverity(s string) bool {
	for _, v := range StatusSeverities {
		if s == v {
			return true
		}
	}
	return false
}
