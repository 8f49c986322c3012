package delivery

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/value"
)

// Handlers serves the DeliveryStop and ProductDeliveryPlan groups.
type Handlers struct {
	DB *store.DB
}

// DeliveryStop is the API shape of a stop (spec product.md "Delivery stop").
// requestedStopTime (ours) is the stopTime asked for when the
// permanentStopPolicy moved it; creditDays and creditAmount (ours) are the
// paid days credited once the stop began.
type DeliveryStop struct {
	ID                  int64        `json:"id"`
	Product             string       `json:"product"`
	StopTime            int64        `json:"stopTime"`
	StopEndTime         *int64       `json:"stopEndTime,omitempty"`
	StopType            string       `json:"stopType"`
	DeliveryStopChannel string       `json:"deliveryStopChannel"`
	DeliveryStopReason  string       `json:"deliveryStopReason,omitempty"`
	RequestedStopTime   *int64       `json:"requestedStopTime,omitempty"`
	CreditDays          int          `json:"creditDays,omitempty"`
	CreditAmount        *value.Money `json:"creditAmount,omitempty"`
}

// StopList is {"deliveryStops":[...]} (XML <deliveryStops><deliveryStop>).
type StopList struct {
	DeliveryStops []DeliveryStop `json:"deliveryStops"`
}

func (s *Stop) api() DeliveryStop {
	out := DeliveryStop{ID: s.ID, Product: s.Product, StopTime: s.StopTime, StopType: s.Type,
		DeliveryStopChannel: s.Channel, DeliveryStopReason: s.Reason, CreditDays: s.CreditDays}
	if s.StopEndTime.Valid {
		out.StopEndTime = &s.StopEndTime.Int64
	}
	if s.RequestedTime != s.StopTime {
		out.RequestedStopTime = &s.RequestedTime
	}
	if s.CreditAmount != 0 {
		m := value.Money(s.CreditAmount)
		out.CreditAmount = &m
	}
	return out
}

// StopInput is a delivery stop in a request body.
type StopInput struct {
	Product             string        `json:"product"`
	StopTime            value.Instant `json:"stopTime"`
	StopEndTime         value.Instant `json:"stopEndTime"`
	StopType            string        `json:"stopType"`
	DeliveryStopChannel string        `json:"deliveryStopChannel"`
	DeliveryStopReason  string        `json:"deliveryStopReason"`
}

// RegisterBody is {"deliveryStop":{...}}; an unwrapped stop is accepted too.
type RegisterBody struct {
	DeliveryStop *StopInput `json:"deliveryStop"`
	StopInput
}

// ctx names the caller in the audit log, as subscription handlers do.
func (h Handlers) ctx(r *http.Request) (context.Context, *auth.Principal) {
	ctx := r.Context()
	p := auth.FromContext(ctx)
	if p != nil {
		if p.Mode == auth.UserMode {
			ctx = subscription.WithActor(ctx, "user:"+p.UserID)
		} else {
			ctx = subscription.WithActor(ctx, "client:"+p.ClientID)
		}
	}
	return ctx, p
}

// listFilter selects the stops a list shows.
type listFilter struct {
	companyID, customer int64
	product             string // "" = all products
	futureOnly          bool   // only stops that have not ended (register/remove answers)
}

// list returns a customer's stops: current and future ones plus those
// ended in the last 12 months (or only those not ended), by product, then
// stopTime. A permanent stop undone by Start subscription is not shown.
func list(ctx context.Context, q store.Queryer, f listFilter) ([]DeliveryStop, error) {
	now := subscription.Now(ctx)
	since := now.AddDate(-1, 0, 0).UnixMilli()
	if f.futureOnly {
		since = now.UnixMilli()
	}
	query := `SELECT ` + prefixed("d") + ` FROM delivery_stops d JOIN subscriptions s ON s.id = d.subscription_id
		WHERE d.company_id = $1 AND d.customer_number = $2 AND d.status = 'registered'
		AND (d.stop_type = 'temporary' OR s.stop_time = d.stop_time)
		AND COALESCE(d.stop_end_time, d.stop_time) >= $3`
	args := []any{f.companyID, f.customer, since}
	if f.product != "" {
		query += ` AND d.product_code = $4`
		args = append(args, f.product)
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY d.product_code, d.stop_time, d.id`, args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []DeliveryStop{}
	for rows.Next() {
		s, err := scanStop(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s.api())
	}
	return out, rows.Err()
}

func prefixed(alias string) string {
	return alias + `.id, ` + alias + `.company_id, ` + alias + `.customer_number, ` + alias + `.subscription_id, ` +
		alias + `.product_code, ` + alias + `.stop_type, ` + alias + `.stop_time, ` + alias + `.stop_end_time, ` +
		alias + `.requested_time, ` + alias + `.channel, ` + alias + `.reason, ` + alias + `.status, ` + alias + `.policy, ` +
		alias + `.begun_at, ` + alias + `.credit_days, ` + alias + `.credit_amount`
}

// Register serves POST /capi/v1/product/stop/delivery (delivery-stop-register).
func (h Handlers) Register() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, p := h.ctx(r)
		var b RegisterBody
		if err := httpx.Decode(r, &b); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		in := b.StopInput
		if b.DeliveryStop != nil {
			in = *b.DeliveryStop
		}
		var out StopList
		err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
			cno, err := customer.NumberFor(ctx, tx, p)
			if err != nil {
				return err
			}
			c, err := loadCompany(ctx, tx, p.CompanyID)
			if err != nil {
				return err
			}
			n := NewStop{Product: in.Product, Type: in.StopType, Channel: in.DeliveryStopChannel, Reason: in.DeliveryStopReason}
			if !in.StopTime.IsZero() {
				n.StopTime = in.StopTime.Time(c.loc)
			}
			if !in.StopEndTime.IsZero() {
				n.StopEndTime = in.StopEndTime.Time(c.loc)
			}
			if _, err := Register(ctx, tx, p.CompanyID, cno, n); err != nil {
				return err
			}
			out.DeliveryStops, err = list(ctx, tx, listFilter{companyID: p.CompanyID, customer: cno, product: in.Product, futureOnly: true})
			return err
		})
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

// Remove serves POST /capi/v1/product/stop/delivery/delete/{id} (delivery-stop-remove).
func (h Handlers) Remove() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, p := h.ctx(r)
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			httpx.Fail(w, r, errs.Field("id", "must be a positive integer"))
			return
		}
		var out StopList
		err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
			cno, err := customer.NumberFor(ctx, tx, p)
			if errs.Is(err, errs.NotFound) {
				return errs.E(errs.NotFound, "delivery stop %d not found", id)
			}
			if err != nil {
				return err
			}
			s, err := Remove(ctx, tx, p.CompanyID, cno, id)
			if err != nil {
				return err
			}
			out.DeliveryStops, err = list(ctx, tx, listFilter{companyID: p.CompanyID, customer: cno, product: s.Product, futureOnly: true})
			return err
		})
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

// List serves GET /capi/v1/product/stop/delivery/{productCode} (delivery-stop-list).
func (h Handlers) List() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, p := h.ctx(r)
		product := r.PathValue("productCode")
		if err := validCode("productCode", product, true); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if _, err := productInfo(ctx, h.DB, p.CompanyID, product); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		out := StopList{DeliveryStops: []DeliveryStop{}}
		cno, err := customer.NumberFor(ctx, h.DB, p)
		if errs.Is(err, errs.NotFound) {
			httpx.Reply(w, r, http.StatusOK, out)
			return
		}
		if err == nil {
			out.DeliveryStops, err = list(ctx, h.DB, listFilter{companyID: p.CompanyID, customer: cno, product: product})
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

// ListClient serves GET /capi/v1/client/stop/delivery/{customerNumber}
// (delivery-stop-list-client), optionally for one productCode.
func (h Handlers) ListClient() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, p := h.ctx(r)
		cno, err := strconv.ParseInt(r.PathValue("customerNumber"), 10, 64)
		if err != nil || cno <= 0 {
			httpx.Fail(w, r, errs.Field("customerNumber", "must be a positive integer"))
			return
		}
		product := r.URL.Query().Get("productCode")
		if err := validCode("productCode", product, false); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		var one int
		err = h.DB.QueryRowContext(ctx, `SELECT 1 FROM customers WHERE company_id = $1 AND customer_number = $2`, p.CompanyID, cno).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			err = errs.E(errs.NotFound, "customer %d not found", cno)
		}
		if err == nil && product != "" {
			_, err = productInfo(ctx, h.DB, p.CompanyID, product)
		}
		var out StopList
		if err == nil {
			out.DeliveryStops, err = list(ctx, h.DB, listFilter{companyID: p.CompanyID, customer: cno, product: product})
		}
		if err != nil {
			httpx.Fail(w, r, store.Translate(err))
			return
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}
