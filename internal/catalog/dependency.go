package catalog

// Product dependency discounts (spec product.md "ProductDependency"): a
// product is cheaper for a customer who holds, or buys in the same order, a
// product it depends on (e.g. the paper at half price for digital
// subscribers). The rules come from the tenant file.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/value"
)

// Discount types of a product dependency.
const (
	DiscountPercent = "percent"
	DiscountAmount  = "amount"
)

var dependencyCode = regexp.MustCompile(`^[A-Za-z0-9_-]{1,12}$`)

// Dependency is one rule as stored: Value is hundredths of a percent or
// minor units.
type Dependency struct {
	Product, RequiredProduct, Type string
	Value                          int64
}

// Dependencies returns product's rules by required product.
func Dependencies(ctx context.Context, q store.Queryer, companyID int64, product string) ([]Dependency, error) {
	return queryDependencies(ctx, q, `AND product_code = $2`, companyID, product)
}

// CompanyDependencies returns every rule of the company by product, each
// product's in Dependencies' order, in one query (the renewal run).
func CompanyDependencies(ctx context.Context, q store.Queryer, companyID int64) (map[string][]Dependency, error) {
	list, err := queryDependencies(ctx, q, ``, companyID)
	if err != nil {
		return nil, err
	}
	out := map[string][]Dependency{}
	for _, d := range list {
		out[d.Product] = append(out[d.Product], d)
	}
	return out, nil
}

// queryDependencies reads the company's ($1) rules matching cond, ordered by
// product and required product.
func queryDependencies(ctx context.Context, q store.Queryer, cond string, args ...any) ([]Dependency, error) {
	rows, err := q.QueryContext(ctx, `SELECT product_code, required_product, discount_type, discount_value FROM product_dependencies
		WHERE company_id = $1 `+cond+` ORDER BY product_code, required_product`, args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var out []Dependency
	for rows.Next() {
		var d Dependency
		if err := rows.Scan(&d.Product, &d.RequiredProduct, &d.Type, &d.Value); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Off is the discount d gives on price (minor units), never more than price;
// a percentage rounds half up to the øre.
func (d Dependency) Off(price int64) int64 {
	off := d.Value
	if d.Type == DiscountPercent {
		off = (price*d.Value + 5000) / 10000
	}
	return min(off, price)
}

// BestDependency picks, among the rules met (met reports whether a required
// product is held or ordered), the one with the largest discount on price:
// its index in rules and its discount, or -1 and 0 when none is met. Ties
// go to the earlier rule, so without a price (0) the first met rule counts.
// The check endpoint and order pricing (package order) both use it.
func BestDependency(rules []Dependency, price int64, met func(requiredProduct string) bool) (int, int64) {
	best, bestOff := -1, int64(-1)
	for i, d := range rules {
		if !met(d.RequiredProduct) {
			continue
		}
		if off := d.Off(price); off > bestOff {
			best, bestOff = i, off
		}
	}
	if best < 0 {
		return -1, 0
	}
	return best, bestOff
}

// DependencyPrice is price less the largest discount of the rules met (see
// BestDependency): what a line of the product costs.
func DependencyPrice(rules []Dependency, price int64, met func(requiredProduct string) bool) int64 {
	_, off := BestDependency(rules, price, met)
	return price - off
}

// ApplyDependencies writes the product dependencies of a tenant file
// (tenant.Sections.ProductDependencies): for every product the file names,
// its rules become the file's; other products' rules are kept.
func ApplyDependencies(ctx context.Context, tx *sql.Tx, companyID int64, _ string, specs []tenant.ProductDependencySpec, now time.Time) (int, error) {
	want := map[string][]Dependency{}
	for i, s := range specs {
		for _, code := range []string{s.Product, s.RequiredProduct} {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM products WHERE company_id = $1 AND code = $2`, companyID, code).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return 0, errs.Field(fmt.Sprintf("productDependencies[%d]", i), "unknown product %q", code)
			}
			if err != nil {
				return 0, store.Translate(err)
			}
		}
		v, err := s.DiscountValue.Scaled(tenant.MoneyPlaces, tenant.MaxMoney)
		if err != nil {
			return 0, errs.Field(fmt.Sprintf("productDependencies[%d].discountValue", i), "%s", err)
		}
		want[s.Product] = append(want[s.Product], Dependency{Product: s.Product, RequiredProduct: s.RequiredProduct, Type: s.DiscountType, Value: v})
	}
	products := make([]string, 0, len(want))
	for p := range want {
		products = append(products, p)
	}
	sort.Strings(products)
	n := 0
	for _, p := range products {
		rules := want[p]
		sort.Slice(rules, func(i, j int) bool { return rules[i].RequiredProduct < rules[j].RequiredProduct })
		have, err := Dependencies(ctx, tx, companyID, p)
		if err != nil {
			return n, err
		}
		if fmt.Sprint(have) == fmt.Sprint(rules) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM product_dependencies WHERE company_id = $1 AND product_code = $2`, companyID, p); err != nil {
			return n, store.Translate(err)
		}
		for _, d := range rules {
			if _, err := tx.ExecContext(ctx, `INSERT INTO product_dependencies (company_id, product_code, required_product, discount_type,
				discount_value, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`, companyID, p, d.RequiredProduct, d.Type, d.Value, now.UnixMilli()); err != nil {
				return n, store.Translate(err)
			}
		}
		n++
	}
	return n, nil
}

// DependencyCheck is the body of product-dependency-discount-check-client.
type DependencyCheck struct {
	Product        string   `json:"product"`
	CustomerNumber *int64   `json:"customerNumber"`
	Products       []string `json:"products"`
	CouponCode     string   `json:"couponCode"`
	CouponNumber   *int64   `json:"couponNumber"`
}

// DependencyResult is one rule in the answer. applied (ours) marks the rule
// whose discount counts (only the largest applies).
type DependencyResult struct {
	RequiredProduct string        `json:"requiredProduct"`
	Fulfilled       bool          `json:"fulfilled"`
	DiscountType    string        `json:"discountType"`
	DiscountValue   value.Percent `json:"discountValue"` // two decimals: a percentage or an amount
	Applied         bool          `json:"applied"`
}

// DependencyDiscount is the answer of product-dependency-discount-check-client.
type DependencyDiscount struct {
	Product         string             `json:"product"`
	Discount        bool               `json:"discount"`
	Price           *value.Money       `json:"price,omitempty"`
	DiscountedPrice *value.Money       `json:"discountedPrice,omitempty"`
	Currency        string             `json:"currency,omitempty"`
	Dependencies    []DependencyResult `json:"dependencies"`
}

// HeldProducts are the products the customer holds at now through a
// current, not stopped subscription (its product and those it grants): what
// meets a dependency rule besides the products of the same order.
func HeldProducts(ctx context.Context, q store.Queryer, companyID, customer int64, now time.Time) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT product_code, access_products FROM subscriptions
		WHERE company_id = $1 AND customer_number = $2 AND status IN ('active', 'paused') AND stop_time IS NULL AND start_time <= $3`,
		companyID, customer, now.UnixMilli())
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	held := map[string]bool{}
	for rows.Next() {
		var code, extra string
		if err := rows.Scan(&code, &extra); err != nil {
			return nil, err
		}
		held[code] = true
		for _, p := range strings.Split(extra, ",") {
			if p != "" {
				held[p] = true
			}
		}
	}
	return held, rows.Err()
}

// DependencyHandlers serves the ProductDependency group. Now is the
// business clock (subscription.Now; catalog cannot import subscription).
type DependencyHandlers struct {
	DB  *store.DB
	Now func(context.Context) time.Time
}

// DependencyDiscountCheck serves POST /capi/v1/client/productdependency/discount
// (product-dependency-discount-check-client).
func (h DependencyHandlers) DependencyDiscountCheck() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		var in DependencyCheck
		if err := httpx.Decode(r, &in); err != nil {
			return nil, err
		}
		if in.Product == "" {
			return nil, errs.Field("product", "is required")
		}
		if !dependencyCode.MatchString(in.Product) {
			return nil, errs.Field("product", "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
		}
		for i, code := range in.Products {
			if !dependencyCode.MatchString(code) {
				return nil, errs.Field(fmt.Sprintf("products[%d]", i), "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
			}
		}
		if (in.CouponCode == "") != (in.CouponNumber == nil) {
			return nil, errs.Field("couponCode", "couponCode and couponNumber go together")
		}
		if in.CustomerNumber != nil && *in.CustomerNumber <= 0 {
			return nil, errs.Field("customerNumber", "must be a positive integer")
		}
		var price sql.NullInt64
		var currency string
		err := h.DB.QueryRowContext(ctx, `SELECT retail_price, currency FROM products WHERE company_id = $1 AND code = $2`,
			p.CompanyID, in.Product).Scan(&price, &currency)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.E(errs.NotFound, "product %s not found", in.Product)
		}
		if err != nil {
			return nil, store.Translate(err)
		}
		if in.CouponCode != "" {
			var couponProduct string
			var couponPrice int64
			err := h.DB.QueryRowContext(ctx, `SELECT product_code, price FROM coupons WHERE company_id = $1 AND coupon_code = $2 AND coupon_number = $3`,
				p.CompanyID, in.CouponCode, *in.CouponNumber).Scan(&couponProduct, &couponPrice)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && couponProduct != in.Product) {
				return nil, errs.E(errs.NotFound, "coupon %s/%d of %s not found", in.CouponCode, *in.CouponNumber, in.Product)
			}
			if err != nil {
				return nil, store.Translate(err)
			}
			price = sql.NullInt64{Int64: couponPrice, Valid: true}
		}
		held := map[string]bool{}
		for _, code := range in.Products {
			held[code] = true
		}
		if in.CustomerNumber != nil {
			var one int
			err := h.DB.QueryRowContext(ctx, `SELECT 1 FROM customers WHERE company_id = $1 AND customer_number = $2`, p.CompanyID, *in.CustomerNumber).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, errs.E(errs.NotFound, "customer %d not found", *in.CustomerNumber)
			}
			if err != nil {
				return nil, store.Translate(err)
			}
			subs, err := HeldProducts(ctx, h.DB, p.CompanyID, *in.CustomerNumber, h.Now(ctx))
			if err != nil {
				return nil, err
			}
			for code := range subs {
				held[code] = true
			}
		}
		rules, err := Dependencies(ctx, h.DB, p.CompanyID, in.Product)
		if err != nil {
			return nil, err
		}
		out := DependencyDiscount{Product: in.Product, Currency: currency, Dependencies: []DependencyResult{}}
		for _, d := range rules {
			out.Dependencies = append(out.Dependencies, DependencyResult{RequiredProduct: d.RequiredProduct, Fulfilled: held[d.RequiredProduct],
				DiscountType: d.Type, DiscountValue: value.Percent(d.Value)})
			out.Discount = out.Discount || held[d.RequiredProduct]
		}
		// Without a price (0) the first fulfilled rule counts.
		best, bestOff := BestDependency(rules, price.Int64, func(code string) bool { return held[code] })
		if best >= 0 {
			out.Dependencies[best].Applied = true
		}
		if price.Valid {
			full := value.Money(price.Int64)
			out.Price = &full
			discounted := full
			if best >= 0 {
				discounted = value.Money(price.Int64 - bestOff)
			}
			out.DiscountedPrice = &discounted
		}
		return out, nil
	})
}
