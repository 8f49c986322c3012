package stock

import (
	"database/sql"
	"net/http"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/value"
)

// Handlers serves the Stock group of the Diverse area (client mode).
type Handlers struct {
	DB *store.DB
}

// StatusOK is the response of stock-change-client.
type StatusOK struct {
	Status string `json:"status"`
}

// Change is stock-change-client: every update or none, answered after they
// are stored.
func (h Handlers) Change() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req ChangeRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		changes, err := req.validate()
		if err != nil {
			return nil, err
		}
		now := subscription.Now(r.Context())
		if err := h.DB.Tx(r.Context(), func(tx *sql.Tx) error {
			return apply(r.Context(), tx, p.CompanyID, changes, now)
		}); err != nil {
			return nil, err
		}
		return StatusOK{Status: "ok"}, nil
	})
}

// List is stock-list-client: a bare array of every level of the company.
func (h Handlers) List() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var after int64
		if s := r.URL.Query().Get("changedAfter"); s != "" {
			in, err := value.ParseInstant(s)
			if err != nil {
				return nil, errs.Field("changedAfter", "%v", err)
			}
			loc, err := h.companyLocation(r, p)
			if err != nil {
				return nil, err
			}
			after = in.Time(loc).UnixMilli()
		}
		return list(r.Context(), h.DB, p.CompanyID, "", after)
	})
}

// ProductList is stock-product-list-client: one product's levels by
// location; another company's or an unknown product is 404.
func (h Handlers) ProductList() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		product := r.PathValue("productId")
		if strings.TrimSpace(product) == "" || len([]rune(product)) > 12 {
			return nil, errs.Field("productId", "must be 1 to 12 characters")
		}
		ok, err := catalog.ProductExists(r.Context(), h.DB, p.CompanyID, product)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.E(errs.NotFound, "no product %s", product)
		}
		return list(r.Context(), h.DB, p.CompanyID, product, 0)
	})
}

// companyLocation is the company's time zone: a bare date in changedAfter
// means 00:00 there (README §6.1).
func (h Handlers) companyLocation(r *http.Request, p *auth.Principal) (*time.Location, error) {
	co, err := tenant.GetCompany(r.Context(), h.DB, p.CompanyID)
	if err != nil {
		return nil, err
	}
	loc, err := co.Location()
	if err != nil {
		return time.UTC, nil
	}
	return loc, nil
}
