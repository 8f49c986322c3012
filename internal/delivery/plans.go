package delivery

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// Plan is the API shape of a product delivery plan (spec product.md
// "ProductDeliveryPlan").
type Plan struct {
	ProductDeliveryPlanID int64  `json:"productDeliveryPlanId"`
	PlanName              string `json:"planName"`
	Monday                string `json:"monday"`
	Tuesday               string `json:"tuesday"`
	Wednesday             string `json:"wednesday"`
	Thursday              string `json:"thursday"`
	Friday                string `json:"friday"`
	Saturday              string `json:"saturday"`
	Sunday                string `json:"sunday"`
}

// PlanList is {"productDeliveryPlans":[...]}.
type PlanList struct {
	ProductDeliveryPlans []Plan `json:"productDeliveryPlans"`
}

const fullAccess = "fullAccessAndDelivery"

func planOf(p tenant.DeliveryPlanSpec) Plan {
	days := p.Weekdays()
	for i, v := range days {
		if v == "" {
			days[i] = fullAccess // a weekday left out
		}
	}
	return Plan{ProductDeliveryPlanID: int64(p.ProductDeliveryPlanID), PlanName: p.PlanName, Monday: days[0], Tuesday: days[1],
		Wednesday: days[2], Thursday: days[3], Friday: days[4], Saturday: days[5], Sunday: days[6]}
}

const planColumns = `plan_id, plan_name, monday, tuesday, wednesday, thursday, friday, saturday, sunday`

func scanPlan(r interface{ Scan(...any) error }) (Plan, error) {
	var p Plan
	err := r.Scan(&p.ProductDeliveryPlanID, &p.PlanName, &p.Monday, &p.Tuesday, &p.Wednesday, &p.Thursday, &p.Friday, &p.Saturday, &p.Sunday)
	return p, err
}

// ApplyPlans upserts the delivery plans of a tenant file
// (tenant.Sections.DeliveryPlans); plans missing from the file are kept.
func ApplyPlans(ctx context.Context, tx *sql.Tx, companyID int64, _ string, plans []tenant.DeliveryPlanSpec, now time.Time) (int, error) {
	n := 0
	for _, spec := range plans {
		want := planOf(spec)
		have, err := scanPlan(tx.QueryRowContext(ctx, `SELECT `+planColumns+` FROM delivery_plans WHERE company_id = $1 AND plan_id = $2`,
			companyID, want.ProductDeliveryPlanID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return n, store.Translate(err)
		case have == want:
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_plans (company_id, `+planColumns+`, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (company_id, plan_id) DO UPDATE SET plan_name = $3, monday = $4, tuesday = $5, wednesday = $6,
			thursday = $7, friday = $8, saturday = $9, sunday = $10, updated_at = $11`,
			companyID, want.ProductDeliveryPlanID, want.PlanName, want.Monday, want.Tuesday, want.Wednesday, want.Thursday,
			want.Friday, want.Saturday, want.Sunday, now.UnixMilli()); err != nil {
			return n, store.Translate(err)
		}
		n++
	}
	return n, nil
}

// PlanListClient serves GET /capi/v1/client/productdeliveryplan
// (delivery-plan-list-client): the company's plans by id, or the one named
// by productDeliveryPlanId (an unknown id gives an empty list).
func (h Handlers) PlanListClient() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := auth.FromContext(ctx)
		query := `SELECT ` + planColumns + ` FROM delivery_plans WHERE company_id = $1`
		args := []any{p.CompanyID}
		if v := r.URL.Query().Get("productDeliveryPlanId"); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				httpx.Fail(w, r, errs.Field("productDeliveryPlanId", "must be a positive integer"))
				return
			}
			query += ` AND plan_id = $2`
			args = append(args, id)
		}
		rows, err := h.DB.QueryContext(ctx, query+` ORDER BY plan_id`, args...)
		if err != nil {
			httpx.Fail(w, r, store.Translate(err))
			return
		}
		defer rows.Close()
		out := PlanList{ProductDeliveryPlans: []Plan{}}
		for rows.Next() {
			plan, err := scanPlan(rows)
			if err != nil {
				httpx.Fail(w, r, err)
				return
			}
			out.ProductDeliveryPlans = append(out.ProductDeliveryPlans, plan)
		}
		if err := rows.Err(); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}
