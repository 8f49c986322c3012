package delivery

import (
	"context"
	"net/http"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// SubscriptionIssue is one issue of issue-product-list-client.
// distributionDate is left out until the issue is distributed.
type SubscriptionIssue struct {
	Issue                   string `json:"issue"`
	PublicationDate         int64  `json:"publicationDate"`
	DistributionPlannedDate int64  `json:"distributionPlannedDate"`
	DistributionDate        *int64 `json:"distributionDate,omitempty"`
}

// ProductIssues is one publication's calendar.
type ProductIssues struct {
	ProductID          string              `json:"productId"`
	ProductType        string              `json:"productType"`
	SubscriptionIssues []SubscriptionIssue `json:"subscriptionIssues"`
}

// IssueList is {"issues":[...]}.
type IssueList struct {
	Issues []ProductIssues `json:"issues"`
}

// DeliveredIssue is one issue of issue-distributed-list.
type DeliveredIssue struct {
	Issue           string `json:"issue"`
	DistributedDate int64  `json:"distributedDate"`
}

// DeliveredIssueList is {"deliveredIssues":[...]}.
type DeliveredIssueList struct {
	DeliveredIssues []DeliveredIssue `json:"deliveredIssues"`
}

// NextDistribution is the product's next issue to be distributed.
type NextDistribution struct {
	Product                 string `json:"product"`
	Issue                   string `json:"issue"`
	PublicationDate         int64  `json:"publicationDate"`
	DistributionPlannedDate int64  `json:"distributionPlannedDate"`
}

// NextDelivery is the next issue delivered on paper.
type NextDelivery struct {
	Product      string `json:"product"`
	Issue        string `json:"issue"`
	DeliveryDate int64  `json:"deliveryDate"`
}

// NextList is delivery-next-list's answer; a member with nothing to report
// is left out.
type NextList struct {
	NextDistribution *NextDistribution `json:"nextDistribution,omitempty"`
	NextDelivery     *NextDelivery     `json:"nextDelivery,omitempty"`
}

// productCalendar validates the path's product code and loads its calendar.
func productCalendar(ctx context.Context, q store.Queryer, p *auth.Principal, field, code string) (*company, *calendar, error) {
	if err := validCode(field, code, true); err != nil {
		return nil, nil, err
	}
	c, err := loadCompany(ctx, q, p.CompanyID)
	if err != nil {
		return nil, nil, err
	}
	cal, err := loadCalendar(ctx, q, c, code)
	return c, cal, err
}

// IssueProductListClient serves GET /capi/v1/client/issues/{productId}
// (issue-product-list-client): the product's publication calendar.
func (h Handlers) IssueProductListClient() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		c, cal, err := productCalendar(ctx, h.DB, p, "productId", r.PathValue("productId"))
		if err != nil {
			return nil, err
		}
		now := subscription.Now(ctx)
		from, to, err := cal.window(r.URL.Query().Get("from"), r.URL.Query().Get("to"), dayStart(now, c.loc))
		if err != nil {
			return nil, err
		}
		entry := ProductIssues{ProductID: cal.product, ProductType: cal.productType, SubscriptionIssues: []SubscriptionIssue{}}
		for _, is := range cal.issues(from, to) {
			si := SubscriptionIssue{Issue: is.Code, PublicationDate: is.Publication.UnixMilli(), DistributionPlannedDate: is.DistributionPlanned.UnixMilli()}
			if is.Distributed(now) {
				si.DistributionDate = &si.DistributionPlannedDate
			}
			entry.SubscriptionIssues = append(entry.SubscriptionIssues, si)
		}
		return IssueList{Issues: []ProductIssues{entry}}, nil
	})
}

// IssueDistributedList serves GET /capi/v1/customer/issues/{productCode}
// (issue-distributed-list): the issues the caller's customer received, by
// distribution date; the last 12 months unless from/to say otherwise.
func (h Handlers) IssueDistributedList() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		c, cal, err := productCalendar(ctx, h.DB, p, "productCode", r.PathValue("productCode"))
		if err != nil {
			return nil, err
		}
		now := subscription.Now(ctx)
		today := dayStart(now, c.loc)
		fromQ, toQ := r.URL.Query().Get("from"), r.URL.Query().Get("to")
		from, to := addDays(today.AddDate(-1, 0, 0), 1), today
		if fromQ != "" || toQ != "" {
			if from, to, err = cal.window(fromQ, toQ, today); err != nil {
				return nil, err
			}
		}
		out := DeliveredIssueList{DeliveredIssues: []DeliveredIssue{}}
		rec, err := h.userReception(ctx, p, c, cal)
		if err != nil || rec == nil {
			return out, err
		}
		for _, is := range distributedTo(cal, rec, from, to, now) {
			out.DeliveredIssues = append(out.DeliveredIssues, DeliveredIssue{Issue: is.Code, DistributedDate: is.DistributionPlanned.UnixMilli()})
		}
		return out, nil
	})
}

// NextList serves GET /capi/v1/product/delivery/{productCode}
// (delivery-next-list): the next issue distributed, and the next one this
// customer gets on paper.
func (h Handlers) NextList() http.Handler {
	return h.next(true)
}

// NextListClient serves GET /capi/v1/client/delivery/{productCode}
// (delivery-next-list-client): as NextList at product level, so
// nextDelivery ignores stops and plans.
func (h Handlers) NextListClient() http.Handler {
	return h.next(false)
}

func (h Handlers) next(user bool) http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		c, cal, err := productCalendar(ctx, h.DB, p, "productCode", r.PathValue("productCode"))
		if err != nil {
			return nil, err
		}
		now := subscription.Now(ctx)
		today := dayStart(now, c.loc)
		var out NextList
		if is, ok := cal.nextIssue(today, func(is Issue) bool { return !is.Distributed(now) }); ok {
			out.NextDistribution = &NextDistribution{Product: cal.product, Issue: is.Code, PublicationDate: is.Publication.UnixMilli(),
				DistributionPlannedDate: is.DistributionPlanned.UnixMilli()}
		}
		if cal.digital {
			return out, nil
		}
		fromToday := func(is Issue) bool { return !is.Delivery.Before(today) }
		accept := fromToday
		if user {
			rec, err := h.userReception(ctx, p, c, cal)
			if err != nil || rec == nil {
				return out, err
			}
			accept = func(is Issue) bool { return fromToday(is) && rec.delivered(is) }
		}
		// Delivery may fall after the issue's distribution day.
		start := addDays(today, -cal.deliveryLead)
		if is, ok := cal.nextIssue(start, accept); ok {
			out.NextDelivery = &NextDelivery{Product: cal.product, Issue: is.Code, DeliveryDate: is.Delivery.UnixMilli()}
		}
		return out, nil
	})
}

// userReception is what the logged-in user's customer receives of cal's
// product; nil when the user has no customer record in the company yet.
func (h Handlers) userReception(ctx context.Context, p *auth.Principal, c *company, cal *calendar) (*reception, error) {
	cno, err := customer.NumberFor(ctx, h.DB, p)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return loadReception(ctx, h.DB, c, cal, cno)
}
