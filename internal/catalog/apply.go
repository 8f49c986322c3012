package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/tenant"
)

// The tenant-file product shape lives in package tenant, which parses the
// file; catalog imports tenant (for company lookups), so the reverse import
// would be a cycle. These aliases make them catalog's names too.
type (
	ProductSpec  = tenant.ProductSpec
	Decimal      = tenant.Decimal
	FieldProblem = tenant.FieldProblem
)

// ValidateProduct checks a product spec on its own; see tenant.ValidateProduct.
func ValidateProduct(p ProductSpec) []FieldProblem { return tenant.ValidateProduct(p) }

// productRow is a product as stored.
type productRow struct {
	description, productType   string
	startTime                  int64
	endTime                    sql.NullInt64
	currency                   string
	retailPrice, webOfferPrice sql.NullInt64
	vatPercent, weightGrams    sql.NullInt64
	campaigns                  string
	digital, shop              bool
}

func scaled(d *Decimal, places int, max int64) (sql.NullInt64, error) {
	if d == nil {
		return sql.NullInt64{}, nil
	}
	v, err := d.Scaled(places, max)
	return sql.NullInt64{Int64: v, Valid: true}, err
}

// toRow converts a valid spec with the company's defaults.
func toRow(p ProductSpec, loc *time.Location, currency string) (productRow, error) {
	r := productRow{
		description: p.Description,
		productType: p.ProductType,
		currency:    p.Currency,
		campaigns:   strings.Join(p.Campaigns, ","),
		digital:     p.Digital,
		shop:        p.Shop,
	}
	if r.productType == "" {
		r.productType = "subscription"
	}
	if r.currency == "" {
		r.currency = currency
	}
	var errl [6]error
	var start time.Time
	start, errl[0] = tenant.ProductTime(p.StartTime, loc, false)
	r.startTime = start.UnixMilli()
	if p.EndTime != "" {
		var end time.Time
		end, errl[1] = tenant.ProductTime(p.EndTime, loc, true)
		r.endTime = sql.NullInt64{Int64: end.UnixMilli(), Valid: true}
	}
	r.retailPrice, errl[2] = scaled(p.RetailPrice, tenant.MoneyPlaces, tenant.MaxMoney)
	r.webOfferPrice, errl[3] = scaled(p.WebOfferPrice, tenant.MoneyPlaces, tenant.MaxMoney)
	r.vatPercent, errl[4] = scaled(p.VatPercent, tenant.VatPlaces, tenant.MaxVat)
	r.weightGrams, errl[5] = scaled(p.Weight, tenant.WeightPlaces, tenant.MaxWeight)
	return r, errors.Join(errl[:]...)
}

// ApplyProducts upserts specs for one company by (company_id, code) inside tx.
// changed_at moves to now only when a stored value differs, and each create or
// update records a "product" event ("new" / "update"), so re-applying the same
// specs writes nothing. Products missing from specs are left alone: products
// are never deleted (an endTime retires them). Dates are read in the company's
// time zone; an empty currency is the company's.
func ApplyProducts(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, specs []ProductSpec, now time.Time) (created, updated int, err error) {
	if len(specs) == 0 {
		return 0, 0, nil
	}
	for i, p := range specs {
		if probs := ValidateProduct(p); len(probs) > 0 {
			return 0, 0, errs.Field(fmt.Sprintf("products[%d].%s", i, probs[0].Field), "%s", probs[0].Message)
		}
	}
	company, err := tenant.GetCompany(ctx, tx, companyID)
	if err != nil {
		return 0, 0, fmt.Errorf("company %d: %w", companyID, err)
	}
	loc, err := time.LoadLocation(company.TimeZone)
	if err != nil {
		return 0, 0, fmt.Errorf("company %s time zone: %w", companyCode, err)
	}
	ms := now.UnixMilli()
	for _, p := range specs {
		want, err := toRow(p, loc, company.Currency)
		if err != nil {
			return created, updated, errs.Field("product", "%s: %v", p.Product, err)
		}
		var have productRow
		err = tx.QueryRowContext(ctx, `SELECT description, product_type, start_time, end_time, currency,
			retail_price, web_offer_price, vat_percent, weight_grams, campaigns, digital, shop
			FROM products WHERE company_id = $1 AND code = $2`, companyID, p.Product).
			Scan(&have.description, &have.productType, &have.startTime, &have.endTime, &have.currency,
				&have.retailPrice, &have.webOfferPrice, &have.vatPercent, &have.weightGrams,
				&have.campaigns, &have.digital, &have.shop)
		args := []any{companyID, p.Product, want.description, want.productType, want.startTime, want.endTime,
			want.currency, want.retailPrice, want.webOfferPrice, want.vatPercent, want.weightGrams,
			want.campaigns, want.digital, want.shop, ms}
		status := "update"
		switch {
		case errors.Is(err, sql.ErrNoRows):
			status = "new"
			_, err = tx.ExecContext(ctx, `INSERT INTO products (company_id, code, description, product_type,
				start_time, end_time, currency, retail_price, web_offer_price, vat_percent, weight_grams,
				campaigns, digital, shop, changed_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, args...)
			if err != nil {
				return created, updated, fmt.Errorf("insert product %s: %w", p.Product, err)
			}
			created++
		case err != nil:
			return created, updated, fmt.Errorf("read product %s: %w", p.Product, err)
		case have == want:
			continue
		default:
			_, err = tx.ExecContext(ctx, `UPDATE products SET description = $3, product_type = $4,
				start_time = $5, end_time = $6, currency = $7, retail_price = $8, web_offer_price = $9,
				vat_percent = $10, weight_grams = $11, campaigns = $12, digital = $13, shop = $14,
				changed_at = $15
				WHERE company_id = $1 AND code = $2`, args...)
			if err != nil {
				return created, updated, fmt.Errorf("update product %s: %w", p.Product, err)
			}
			updated++
		}
		if _, err := event.Record(ctx, tx, event.Event{
			CompanyID: companyID,
			Source:    companyCode,
			Type:      "product",
			Status:    status,
			Data:      map[string]string{"productCode": p.Product, "companyCode": companyCode},
			Time:      now,
		}); err != nil {
			return created, updated, err
		}
	}
	return created, updated, nil
}
