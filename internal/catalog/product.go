// Package catalog owns the product catalogue: products and, in later areas,
// coupons, vouchers, articles and rewards. This file serves the Product group
// of the Product & Services area (spec/product.md).
package catalog

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/value"
)

// Product is the API shape of a product (spec/product.md "Product").
type Product struct {
	CompanyCode   string         `json:"companyCode"`
	Product       string         `json:"product"`
	Description   string         `json:"description,omitempty"`
	ProductType   string         `json:"productType"`
	StartTime     int64          `json:"startTime"`
	EndTime       *int64         `json:"endTime,omitempty"`
	Currency      string         `json:"currency,omitempty"`
	RetailPrice   *value.Money   `json:"retailPrice,omitempty"`
	WebOfferPrice *value.Money   `json:"webOfferPrice,omitempty"`
	VatPercent    *value.Percent `json:"vatPercent,omitempty"`
	Weight        *float64       `json:"weight,omitempty"`
	Campaigns     string         `json:"campaigns,omitempty"`
	Digital       bool           `json:"digital"`
	Shop          bool           `json:"shop"`
	Changed       int64          `json:"changed"`
}

// ProductList is the list wrapper {"products":[...]}.
type ProductList struct {
	Products []Product `json:"products"`
}

// ProductFilter narrows a product listing; zero values mean "any".
type ProductFilter struct {
	Code         string
	ProductType  string
	ShopOnly     bool
	ChangedAfter *time.Time
	ActiveAt     *time.Time // only products whose start–end contains this instant
	ByChange     bool       // order by change time, then code (product-check-client)
}

// ListProducts returns the company's products matching f, ordered by code
// (or by change time when f.ByChange).
func ListProducts(ctx context.Context, q store.Queryer, companyID int64, companyCode string, f ProductFilter) ([]Product, error) {
	var sb strings.Builder
	sb.WriteString(`SELECT code, description, product_type, start_time, end_time, currency,
		retail_price, web_offer_price, vat_percent, weight_grams, campaigns, digital, shop, changed_at
		FROM products WHERE company_id = $1`)
	args := []any{companyID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Code != "" {
		sb.WriteString(" AND code = " + arg(f.Code))
	}
	if f.ProductType != "" {
		sb.WriteString(" AND product_type = " + arg(f.ProductType))
	}
	if f.ShopOnly {
		sb.WriteString(" AND shop = " + arg(true))
	}
	if f.ChangedAfter != nil {
		sb.WriteString(" AND changed_at > " + arg(f.ChangedAfter.UnixMilli()))
	}
	if f.ActiveAt != nil {
		at := f.ActiveAt.UnixMilli()
		sb.WriteString(" AND start_time <= " + arg(at) + " AND (end_time IS NULL OR end_time >= " + arg(at) + ")")
	}
	if f.ByChange {
		sb.WriteString(" ORDER BY changed_at, code")
	} else {
		sb.WriteString(" ORDER BY code")
	}
	rows, err := q.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	products := []Product{}
	for rows.Next() {
		var (
			p                   Product
			end                 sql.NullInt64
			retail, web, vat, g sql.NullInt64
		)
		if err := rows.Scan(&p.Product, &p.Description, &p.ProductType, &p.StartTime, &end, &p.Currency,
			&retail, &web, &vat, &g, &p.Campaigns, &p.Digital, &p.Shop, &p.Changed); err != nil {
			return nil, err
		}
		p.CompanyCode = companyCode
		if end.Valid {
			p.EndTime = &end.Int64
		}
		if retail.Valid {
			m := value.Money(retail.Int64)
			p.RetailPrice = &m
		}
		if web.Valid {
			m := value.Money(web.Int64)
			p.WebOfferPrice = &m
		}
		if vat.Valid {
			v := value.Percent(vat.Int64)
			p.VatPercent = &v
		}
		if g.Valid {
			kg := float64(g.Int64) / 1000
			p.Weight = &kg
		}
		products = append(products, p)
	}
	return products, rows.Err()
}

// Handlers serves the Product group.
type Handlers struct {
	DB *store.DB
}

// maxCodeLen is the documented limit of product codes and types.
const maxCodeLen = 12

// parseListQuery reads productId and shop, shared by the product listings.
func parseListQuery(r *http.Request) (ProductFilter, error) {
	q := r.URL.Query()
	f := ProductFilter{Code: q.Get("productId")}
	if len(f.Code) > maxCodeLen {
		return f, errs.Field("productId", "at most %d characters", maxCodeLen)
	}
	if s := q.Get("shop"); s != "" {
		shop, err := strconv.ParseBool(s)
		if err != nil {
			return f, errs.Field("shop", "must be true or false")
		}
		f.ShopOnly = shop
	}
	return f, nil
}

// List serves GET /capi/v1/client/product (product-list-client).
func (h Handlers) List() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		f, err := parseListQuery(r)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		products, err := ListProducts(r.Context(), h.DB, p.CompanyID, p.CompanyCode, f)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, ProductList{Products: products})
	})
}

// ListByType serves GET /capi/v1/client/product/{productType} (product-specific-list-client).
func (h Handlers) ListByType() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		f, err := parseListQuery(r)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		f.ProductType = r.PathValue("productType")
		if len(f.ProductType) > maxCodeLen {
			httpx.Fail(w, r, errs.Field("productType", "at most %d characters", maxCodeLen))
			return
		}
		products, err := ListProducts(r.Context(), h.DB, p.CompanyID, p.CompanyCode, f)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, ProductList{Products: products})
	})
}

// CheckRequest is the body of product-check-client; every field is optional.
type CheckRequest struct {
	ChangedAfter value.Instant `json:"changedAfter"`
	OnlyActive   bool          `json:"onlyActive"`
}

// Check serves POST /capi/v1/client/product (product-check-client).
func (h Handlers) Check() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		f, err := parseListQuery(r)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		var body CheckRequest
		if err := httpx.Decode(r, &body); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		f.ByChange = true
		if !body.ChangedAfter.IsZero() {
			// A bare date means midnight in the company's time zone.
			company, err := tenant.GetCompany(r.Context(), h.DB, p.CompanyID)
			if err != nil {
				httpx.Fail(w, r, err)
				return
			}
			loc, err := time.LoadLocation(company.TimeZone)
			if err != nil {
				loc = time.UTC
			}
			t := body.ChangedAfter.Time(loc)
			f.ChangedAfter = &t
		}
		if body.OnlyActive {
			now := time.Now()
			f.ActiveAt = &now
		}
		products, err := ListProducts(r.Context(), h.DB, p.CompanyID, p.CompanyCode, f)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, ProductList{Products: products})
	})
}
