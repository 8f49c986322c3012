package catalog

// The Category group of Customer Data (spec/customer.md "Category"): the
// company's catalogue of customer category types and codes.

import (
	"context"
	"net/http"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
)

// CategoryType is one category type.
type CategoryType struct {
	CategoryType string `json:"categoryType"`
	Description  string `json:"description,omitempty"`
}

// CategoryCode is one code of a type.
type CategoryCode struct {
	CategoryType string `json:"categoryType"`
	CategoryCode string `json:"categoryCode"`
	Description  string `json:"description,omitempty"`
}

// CategoryTypeList is {"categoryTypes":[...]}.
type CategoryTypeList struct {
	CategoryTypes []CategoryType `json:"categoryTypes"`
}

// CategoryCodeList is {"categoryCodes":[...]}.
type CategoryCodeList struct {
	CategoryCodes []CategoryCode `json:"categoryCodes"`
}

// ListCategoryTypes returns the company's category types by type.
func ListCategoryTypes(ctx context.Context, q store.Queryer, companyID int64) ([]CategoryType, error) {
	rows, err := q.QueryContext(ctx, `SELECT category_type, description FROM category_types
		WHERE company_id = $1 ORDER BY category_type`, companyID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []CategoryType{}
	for rows.Next() {
		var t CategoryType
		if err := rows.Scan(&t.CategoryType, &t.Description); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ListCategoryCodes returns the company's codes by type, then code; a
// non-empty typ narrows to that type.
func ListCategoryCodes(ctx context.Context, q store.Queryer, companyID int64, typ string) ([]CategoryCode, error) {
	query := `SELECT category_type, category_code, description FROM category_codes WHERE company_id = $1`
	args := []any{companyID}
	if typ != "" {
		query += ` AND category_type = $2`
		args = append(args, typ)
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY category_type, category_code`, args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []CategoryCode{}
	for rows.Next() {
		var c CategoryCode
		if err := rows.Scan(&c.CategoryType, &c.CategoryCode, &c.Description); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CategoryTypes serves GET /capi/v1/customer/category/type.
func (h Handlers) CategoryTypes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		list, err := ListCategoryTypes(r.Context(), h.DB, p.CompanyID)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, CategoryTypeList{CategoryTypes: list})
	})
}

// CategoryCodes serves GET /capi/v1/customer/category/code and
// /capi/v1/customer/category/code/{categoryType} (an unknown type gives an
// empty list).
func (h Handlers) CategoryCodes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		typ := r.PathValue("categoryType")
		if len(typ) > maxCodeLen {
			httpx.Fail(w, r, errs.Field("categoryType", "at most %d characters", maxCodeLen))
			return
		}
		list, err := ListCategoryCodes(r.Context(), h.DB, p.CompanyID, typ)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, CategoryCodeList{CategoryCodes: list})
	})
}
