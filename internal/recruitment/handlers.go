package recruitment

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
	"github.com/connect-oss/connect/internal/order"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// Handlers serves the Recruitment area.
type Handlers struct {
	DB *store.DB
	// Orders creates and completes each recruited person's order.
	Orders order.Deps
}

// List limits (spec: limit default 50, 1 to 200).
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

func now(r *http.Request) time.Time { return subscription.Now(r.Context()) }

func caller(p *auth.Principal) Caller {
	return Caller{CompanyID: p.CompanyID, CompanyCode: p.CompanyCode, ClientID: p.ClientID,
		UserMode: p.Mode == auth.UserMode, UserNumber: p.UserNumber, CustomerNo: p.CustomerNumber}
}

func boolQuery(r *http.Request, name string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(r.URL.Query().Get(name))) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, errs.Field(name, "must be true or false")
}

func intQuery(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, errs.Field(name, "must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

// campaignOf reads the path's campaign: unknown → 404.
func campaignOf(ctx context.Context, q store.Queryer, r *http.Request, companyID int64) (*campaign, error) {
	code := r.PathValue("campaign")
	if err := checkCode("campaign", code); err != nil {
		return nil, err
	}
	return loadCampaign(ctx, q, companyID, code)
}

// Register is recruitment-register-client and recruitment-register.
func (h Handlers) Register() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req RegisterRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		return Register(r.Context(), h.DB, h.Orders, caller(p), &req, now(r))
	})
}

// ListResult is the response of List recruitments.
type ListResult struct {
	Campaign     string   `json:"campaign"`
	Points       int64    `json:"points"`
	Products     []string `json:"products"`
	TotalCount   int      `json:"totalCount"`
	Recruitments []Entry  `json:"recruitments"`
}

// List is recruitment-list: the caller's recruitments in a campaign.
func (h Handlers) List() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		limit, err := intQuery(r, "limit", DefaultLimit, 1, MaxLimit)
		if err != nil {
			return nil, err
		}
		offset, err := intQuery(r, "offset", 0, 0, 1<<31-1)
		if err != nil {
			return nil, err
		}
		asc, err := boolQuery(r, "ascending")
		if err != nil {
			return nil, err
		}
		c := caller(p)
		camp, err := campaignOf(ctx, h.DB, r, c.CompanyID)
		if err != nil {
			return nil, err
		}
		res := ListResult{Campaign: camp.Code, Products: camp.products(), Recruitments: []Entry{}}
		n, err := userCustomer(ctx, h.DB, c)
		if err != nil || n == 0 {
			return res, err
		}
		if res.Points, err = points(ctx, h.DB, c.CompanyID, camp.ID, n); err != nil {
			return nil, err
		}
		res.Recruitments, res.TotalCount, err = page(ctx, h.DB, c.CompanyID, camp.ID, n, limit, offset, asc)
		return res, err
	})
}

// PremiumResult is the response of the premium list and change.
type PremiumResult struct {
	Campaign    string       `json:"campaign"`
	Points      int64        `json:"points"`
	Premiums    []Premium    `json:"premiums"`
	Preferences []Preference `json:"recruitmentPremiumPreferences"`
}

func premiumResult(ctx context.Context, q store.Queryer, companyID int64, camp *campaign, recruiter int64) (PremiumResult, error) {
	res := PremiumResult{Campaign: camp.Code, Premiums: camp.Premiums, Preferences: []Preference{}}
	if recruiter == 0 {
		return res, nil
	}
	var err error
	if res.Points, err = points(ctx, q, companyID, camp.ID, recruiter); err != nil {
		return res, err
	}
	res.Preferences, err = preferences(ctx, q, camp.ID, recruiter)
	return res, err
}

// PremiumList is recruitment-premium-list.
func (h Handlers) PremiumList() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		c := caller(p)
		camp, err := campaignOf(ctx, h.DB, r, c.CompanyID)
		if err != nil {
			return nil, err
		}
		n, err := userCustomer(ctx, h.DB, c)
		if err != nil {
			return nil, err
		}
		return premiumResult(ctx, h.DB, c.CompanyID, camp, n)
	})
}

// PremiumChangeRequest is the body of Change premium recruitments.
type PremiumChangeRequest struct {
	Preferences *[]Preference `json:"recruitmentPremiumPreferences"`
}

// PremiumChange is recruitment-premium-change: a full replace of the
// caller's preferences in a campaign that has not ended.
func (h Handlers) PremiumChange() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req PremiumChangeRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		if req.Preferences == nil {
			return nil, errs.Field("recruitmentPremiumPreferences", "required")
		}
		if err := validatePreferences(*req.Preferences, nil); err != nil {
			return nil, err
		}
		c := caller(p)
		var res PremiumResult
		err := h.DB.Tx(r.Context(), func(tx *sql.Tx) error {
			ctx := r.Context()
			camp, err := campaignOf(ctx, tx, r, c.CompanyID)
			if err != nil {
				return err
			}
			n, err := userCustomer(ctx, tx, c)
			if err != nil {
				return err
			}
			if n == 0 {
				return errs.E(errs.NotFound, "no customer linked to user")
			}
			day, _, err := today(ctx, tx, c.CompanyID, now(r))
			if err != nil {
				return err
			}
			if camp.EndDate != "" && camp.EndDate < day {
				return errs.Field("campaign", "campaign %s has ended", camp.Code)
			}
			if err := validatePreferences(*req.Preferences, camp); err != nil {
				return err
			}
			if err := storePreferences(ctx, tx, camp.ID, n, *req.Preferences); err != nil {
				return err
			}
			res, err = premiumResult(ctx, tx, c.CompanyID, camp, n)
			return err
		})
		return res, err
	})
}

// CampaignView is one campaign in the client's list.
type CampaignView struct {
	Campaign             string    `json:"campaign"`
	Description          string    `json:"description"`
	StartDate            string    `json:"startDate"`
	EndDate              string    `json:"endDate,omitempty"`
	Active               bool      `json:"active"`
	PointsPerRecruitment int64     `json:"pointsPerRecruitment"`
	Products             []string  `json:"products"`
	Offers               []Offer   `json:"offers"`
	Premiums             []Premium `json:"premiums"`
}

// CampaignListResult is the response of List recruitment campaign.
type CampaignListResult struct {
	RecruitmentCampaigns []CampaignView `json:"recruitmentCampaigns"`
}

// CampaignList is recruitment-campaign-list-client.
func (h Handlers) CampaignList() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		onlyActive, err := boolQuery(r, "onlyActive")
		if err != nil {
			return nil, err
		}
		day, _, err := today(ctx, h.DB, p.CompanyID, now(r))
		if err != nil {
			return nil, err
		}
		camps, err := listCampaigns(ctx, h.DB, p.CompanyID)
		if err != nil {
			return nil, err
		}
		out := []CampaignView{}
		for _, c := range camps {
			active := c.activeOn(day)
			if onlyActive && !active {
				continue
			}
			out = append(out, CampaignView{Campaign: c.Code, Description: c.Description, StartDate: c.StartDate, EndDate: c.EndDate,
				Active: active, PointsPerRecruitment: c.Points, Products: c.products(), Offers: c.Offers, Premiums: c.Premiums})
		}
		return CampaignListResult{RecruitmentCampaigns: out}, nil
	})
}
