package delivery

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// Complaint statuses: customer service marks a complaint handled.
const (
	ComplaintRegistered = "registered"
	ComplaintHandled    = "handled"
)

// ComplaintAction is a complaint option of a product.
type ComplaintAction struct {
	ComplaintAction  string `json:"complaintAction"`
	Description      string `json:"description"`
	PostDistribution bool   `json:"postDistribution"`
}

// Complaint is one of the customer's complaints.
type Complaint struct {
	ID               int64  `json:"id"`
	Issue            string `json:"issue"`
	ComplaintAction  string `json:"complaintAction"`
	Created          int64  `json:"created"`
	PostDistribution bool   `json:"postDistribution"`
	Status           string `json:"status"`
}

// ComplaintIssue is a received issue that may still get a complaint.
type ComplaintIssue struct {
	Issue           string `json:"issue"`
	DistributedDate int64  `json:"distributedDate"`
}

// ComplaintList is the answer of complaint-list and complaint-register.
type ComplaintList struct {
	Product          string            `json:"product"`
	ComplaintActions []ComplaintAction `json:"complaintActions"`
	Complaints       []Complaint       `json:"complaints"`
	ComplaintIssues  []ComplaintIssue  `json:"complaintIssues"`
}

// ComplaintInput is complaint-register's body.
type ComplaintInput struct {
	Product                string `json:"product"`
	Issue                  string `json:"issue"`
	ComplaintAction        string `json:"complaintAction"`
	CreatePostDistribution bool   `json:"createPostDistribution"`
}

// complaintActions returns a product's complaint options by code.
func complaintActions(ctx context.Context, q store.Queryer, companyID int64, product string) ([]ComplaintAction, error) {
	rows, err := q.QueryContext(ctx, `SELECT action, description, post_distribution FROM complaint_actions
		WHERE company_id = $1 AND product_code = $2 ORDER BY action`, companyID, product)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []ComplaintAction{}
	for rows.Next() {
		var a ComplaintAction
		if err := rows.Scan(&a.ComplaintAction, &a.Description, &a.PostDistribution); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// complaintIssues are the issues the customer received inside the
// complaint window (complaintWindowDays back from today), by distribution date.
func complaintIssues(c *company, cal *calendar, rec *reception, now time.Time) []Issue {
	today := dayStart(now, c.loc)
	return distributedTo(cal, rec, addDays(today, -c.settings.ComplaintWindowDays), today, now)
}

// complaintList builds the complaint-list answer for the customer (0: no
// customer linked).
func complaintList(ctx context.Context, q store.Queryer, c *company, cal *calendar, cno int64) (*ComplaintList, error) {
	out := &ComplaintList{Product: cal.product, Complaints: []Complaint{}, ComplaintIssues: []ComplaintIssue{}}
	var err error
	if out.ComplaintActions, err = complaintActions(ctx, q, c.id, cal.product); err != nil || cno == 0 {
		return out, err
	}
	now := subscription.Now(ctx)
	rows, err := q.QueryContext(ctx, `SELECT id, issue, action, created_at, post_distribution, status FROM complaints
		WHERE company_id = $1 AND customer_number = $2 AND product_code = $3 AND created_at >= $4
		ORDER BY created_at DESC, id DESC`, c.id, cno, cal.product, now.AddDate(-1, 0, 0).UnixMilli())
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var x Complaint
		if err := rows.Scan(&x.ID, &x.Issue, &x.ComplaintAction, &x.Created, &x.PostDistribution, &x.Status); err != nil {
			return nil, err
		}
		out.Complaints = append(out.Complaints, x)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rec, err := loadReception(ctx, q, c, cal, cno)
	if err != nil {
		return nil, err
	}
	for _, is := range complaintIssues(c, cal, rec, now) {
		out.ComplaintIssues = append(out.ComplaintIssues, ComplaintIssue{Issue: is.Code, DistributedDate: is.DistributionPlanned.UnixMilli()})
	}
	return out, nil
}

// ComplaintList serves GET /capi/v1/product/delivery/complaint/{product}
// (complaint-list): the product's complaint options, the customer's
// complaints of the last 12 months and the issues that may get one.
func (h Handlers) ComplaintList() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		c, cal, err := productCalendar(ctx, h.DB, p, "product", r.PathValue("product"))
		if err != nil {
			return nil, err
		}
		cno, err := customer.NumberFor(ctx, h.DB, p)
		if errs.Is(err, errs.NotFound) {
			cno, err = 0, nil
		}
		if err != nil {
			return nil, err
		}
		return complaintList(ctx, h.DB, c, cal, cno)
	})
}

// ComplaintRegister serves POST /capi/v1/product/delivery/complaint
// (complaint-register).
func (h Handlers) ComplaintRegister() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx, _ := h.ctx(r)
		var in ComplaintInput
		if err := httpx.Decode(r, &in); err != nil {
			return nil, err
		}
		if err := validCode("product", in.Product, true); err != nil {
			return nil, err
		}
		switch {
		case in.Issue == "":
			return nil, errs.Field("issue", "is required")
		case len(in.Issue) > 10:
			return nil, errs.Field("issue", "must be at most 10 characters")
		case in.ComplaintAction == "":
			return nil, errs.Field("complaintAction", "is required")
		case len(in.ComplaintAction) > 2:
			return nil, errs.Field("complaintAction", "must be at most 2 characters")
		}
		cno, err := customer.NumberFor(ctx, h.DB, p)
		if err != nil {
			return nil, err
		}
		now := subscription.Now(ctx)
		var address []byte
		if in.CreatePostDistribution {
			// Read before the transaction: Addresses applies due address
			// changes in a transaction of its own.
			// nil when there is none: refused in the transaction, after the other rules.
			if address, err = deliveryAddress(ctx, h.DB, p, cno, in.Product, now); err != nil {
				return nil, err
			}
		}
		var out *ComplaintList
		err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
			c, cal, err := productCalendar(ctx, tx, p, "product", in.Product)
			if err != nil {
				return err
			}
			actions, err := complaintActions(ctx, tx, c.id, in.Product)
			if err != nil {
				return err
			}
			var action *ComplaintAction
			for i := range actions {
				if actions[i].ComplaintAction == in.ComplaintAction {
					action = &actions[i]
				}
			}
			if action == nil {
				return errs.Field("complaintAction", "%q is not a complaint action of %s", in.ComplaintAction, in.Product)
			}
			rec, err := loadReception(ctx, tx, c, cal, cno)
			if err != nil {
				return err
			}
			var issue *Issue
			for _, is := range complaintIssues(c, cal, rec, now) {
				if is.Code == in.Issue {
					issue = &is
				}
			}
			if issue == nil {
				return errs.Field("issue", "%s of %s was not distributed to you within the last %d days", in.Issue, in.Product, c.settings.ComplaintWindowDays)
			}
			sub, _ := rec.received(*issue)
			if in.CreatePostDistribution {
				switch {
				case cal.digital:
					return errs.Field("createPostDistribution", "%s is digital; nothing can be sent again", in.Product)
				case !action.PostDistribution:
					return errs.Field("createPostDistribution", "complaint action %s does not send the issue again", action.ComplaintAction)
				case !rec.paper(sub, *issue):
					return errs.Field("createPostDistribution", "issue %s was not delivered to you on paper", issue.Code)
				case address == nil:
					return errs.Field("createPostDistribution", "you have no delivery address to send the issue to")
				}
			}
			var dup int64
			err = tx.QueryRowContext(ctx, `SELECT id FROM complaints WHERE company_id = $1 AND customer_number = $2 AND product_code = $3
				AND issue = $4 AND action = $5`, c.id, cno, in.Product, in.Issue, in.ComplaintAction).Scan(&dup)
			if err == nil {
				return errs.E(errs.Conflict, "complaint %d already registers action %s for issue %s", dup, in.ComplaintAction, in.Issue)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return store.Translate(err)
			}
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO complaints (company_id, customer_number, subscription_id, product_code, issue,
				distributed_date, action, post_distribution, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
				c.id, cno, sub.id, in.Product, in.Issue, issue.DistributionPlanned.UnixMilli(), in.ComplaintAction,
				in.CreatePostDistribution, ComplaintRegistered, now.UnixMilli()).Scan(&id); err != nil {
				return store.Translate(err)
			}
			if in.CreatePostDistribution {
				if _, err := tx.ExecContext(ctx, `INSERT INTO post_distributions (company_id, complaint_id, customer_number, product_code,
					issue, copies, address, status, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6, 'queued', $7)`,
					c.id, id, cno, in.Product, in.Issue, string(address), now.UnixMilli()); err != nil {
					return store.Translate(err)
				}
			}
			if err := audit.Record(ctx, tx, audit.Entry{CompanyID: c.id, Actor: subscription.ActorOf(ctx), Action: "complaint.register",
				Target: "complaint:" + itoa(id), Detail: map[string]any{"customerNumber": cno, "product": in.Product, "issue": in.Issue,
					"complaintAction": in.ComplaintAction, "postDistribution": in.CreatePostDistribution}, At: now}); err != nil {
				return err
			}
			out, err = complaintList(ctx, tx, c, cal, cno)
			return err
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	})
}

// deliveryAddress is the customer's delivery address for product today, as
// JSON: a temporary change for the product running today, else the home
// address; nil when the customer has none.
func deliveryAddress(ctx context.Context, db *store.DB, p *auth.Principal, cno int64, product string, now time.Time) ([]byte, error) {
	list, err := customer.Addresses(ctx, db, p.CompanyID, p.CompanyCode, cno, product, now)
	if err != nil {
		return nil, err
	}
	loc, err := customer.CompanyLocation(ctx, db, p.CompanyID)
	if err != nil {
		return nil, err
	}
	today := now.In(loc).Format(dateLayout)
	var pick *customer.Address
	for i := range list {
		a := &list[i]
		switch {
		case a.ID == customer.HomeAddressID && pick == nil && (a.StreetAddress != "" || a.PostalAddress != "" || a.PostalCode != ""):
			pick = a
		case a.AddressType == customer.Temporary && a.Period != nil && a.Period.StartDate <= today &&
			(a.Period.EndDate == "" || a.Period.EndDate >= today):
			pick = a // due permanent changes are already the home address
		}
	}
	if pick == nil {
		return nil, nil
	}
	return json.Marshal(pick)
}
