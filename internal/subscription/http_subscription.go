package subscription

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/value"
)

// PriceDetail is one entry of a subscription's priceDetails.
type PriceDetail struct {
	Description  string      `json:"description"`
	Price        value.Money `json:"price"`
	Currency     string      `json:"currency"`
	PeriodLength int         `json:"periodLength"`
	PeriodType   string      `json:"periodType"`
}

// Subscription is the API shape (spec product.md "Subscription").
type Subscription struct {
	Product               string        `json:"product"`
	CompanyCode           string        `json:"companyCode"`
	Stopped               bool          `json:"stopped"`
	StartTime             int64         `json:"startTime"`
	EndTime               int64         `json:"endTime"`
	Paid                  bool          `json:"paid"`
	PriceDetails          []PriceDetail `json:"priceDetails"`
	Sharable              bool          `json:"sharable"`
	ShareType             string        `json:"shareType,omitempty"`
	DistributionLevel     string        `json:"distributionLevel"`
	ProductDeliveryPlanID *int64        `json:"productDeliveryPlanId,omitempty"`
	CouponCode            string        `json:"couponCode,omitempty"`
	CouponNumber          int64         `json:"couponNumber,omitempty"`
	Copies                int           `json:"copies"`
	CustomerReference     string        `json:"customerReference,omitempty"`
	StopTime              *int64        `json:"stopTime,omitempty"`
	Paused                bool          `json:"paused,omitempty"`
	PauseFrom             *int64        `json:"pauseFrom,omitempty"`
	PauseUntil            *int64        `json:"pauseUntil,omitempty"`
}

// SubscriptionList is {"subscriptions":[...]} (XML <subscriptions><subscription>).
type SubscriptionList struct {
	Subscriptions []Subscription `json:"subscriptions"`
}

// shareRule is how a product may be shared.
type shareRule struct {
	ShareType  string
	ShareCount int
}

func shareRules(ctx context.Context, q store.Queryer, companyID int64) (map[string]shareRule, error) {
	rows, err := q.QueryContext(ctx, `SELECT product_code, share_type, share_count FROM share_rules WHERE company_id = $1`, companyID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := map[string]shareRule{}
	for rows.Next() {
		var p string
		var r shareRule
		if err := rows.Scan(&p, &r.ShareType, &r.ShareCount); err != nil {
			return nil, err
		}
		out[p] = r
	}
	return out, rows.Err()
}

func (s *Sub) api(companyCode string, rules map[string]shareRule) Subscription {
	out := Subscription{
		Product: s.ProductCode, CompanyCode: companyCode, Stopped: s.Status == StatusStopped || s.Status == StatusEnded,
		StartTime: s.StartTime, EndTime: s.EndTime, Paid: s.Paid,
		PriceDetails: []PriceDetail{{Description: s.ProductCode, Price: value.Money(s.Price), Currency: s.Currency,
			PeriodLength: s.PeriodLength, PeriodType: s.PeriodType}},
		DistributionLevel: s.DistributionLevel, CouponCode: s.CouponCode, CouponNumber: s.CouponNumber,
		Copies: s.Copies, CustomerReference: s.CustomerReference, Paused: s.Status == StatusPaused,
	}
	if r, ok := rules[s.ProductCode]; ok && r.ShareCount > 0 {
		out.Sharable, out.ShareType = true, r.ShareType
	}
	if s.DeliveryPlanID.Valid {
		out.ProductDeliveryPlanID = &s.DeliveryPlanID.Int64
	}
	if s.StopTime.Valid {
		out.StopTime = &s.StopTime.Int64
	}
	if s.PauseFrom.Valid {
		out.PauseFrom = &s.PauseFrom.Int64
	}
	if s.PauseUntil.Valid {
		out.PauseUntil = &s.PauseUntil.Int64
	}
	return out
}

// ListFor returns the customer's current and future subscriptions plus those
// ended within 12 months, by startTime then product.
func ListFor(ctx context.Context, q store.Queryer, companyID int64, companyCode string, customerNo int64) ([]Subscription, error) {
	since := Now(ctx).AddDate(-1, 0, 0).UnixMilli()
	rows, err := q.QueryContext(ctx, `SELECT `+subColumns+` FROM subscriptions
		WHERE company_id = $1 AND customer_number = $2 AND (status <> 'ended' OR end_time >= $3)
		ORDER BY start_time, product_code, id`, companyID, customerNo, since)
	if err != nil {
		return nil, store.Translate(err)
	}
	var subs []*Sub
	for rows.Next() {
		s, err := scanSub(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		subs = append(subs, s)
	}
	rows.Close()
	rules, err := shareRules(ctx, q, companyID)
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, 0, len(subs))
	for _, s := range subs {
		out = append(out, s.api(companyCode, rules))
	}
	return out, nil
}

// List serves GET /capi/v1/subscription (subscription-list).
func (h Handlers) List() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		p := auth.FromContext(ctx)
		cno, err := customer.NumberFor(ctx, h.DB, p)
		if errs.Is(err, errs.NotFound) {
			httpx.Reply(w, r, http.StatusOK, SubscriptionList{Subscriptions: []Subscription{}})
			return
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		subs, err := ListFor(ctx, h.DB, p.CompanyID, p.CompanyCode, cno)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, SubscriptionList{Subscriptions: subs})
	})
}

// ListClient serves GET /capi/v1/client/subscription/{customerNumber}.
func (h Handlers) ListClient() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		p := auth.FromContext(ctx)
		cno, ok := parseInt(r.PathValue("customerNumber"))
		if !ok {
			httpx.Fail(w, r, errs.Field("customerNumber", "must be a positive integer"))
			return
		}
		if err := customerExists(ctx, h.DB, p.CompanyID, cno); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		subs, err := ListFor(ctx, h.DB, p.CompanyID, p.CompanyCode, cno)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, SubscriptionList{Subscriptions: subs})
	})
}

// CustomerProduct is one entry of GET /capi/v1/customer/product.
type CustomerProduct struct {
	PartnerID  string `json:"partnerId"`
	ProductID  string `json:"productId"`
	AccessType string `json:"accessType"`
	StartTime  int64  `json:"startTime,omitempty"`
	EndTime    int64  `json:"endTime,omitempty"`
}

// CustomerProductList is {"products":[...]}.
type CustomerProductList struct {
	Products []CustomerProduct `json:"products"`
}

// CustomerProducts serves GET /capi/v1/customer/product (customer-product-list).
func (h Handlers) CustomerProducts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		p := auth.FromContext(ctx)
		includeNo := false
		if v := r.URL.Query().Get("includeNoAccess"); v != "" {
			switch strings.ToLower(v) {
			case "true", "1":
				includeNo = true
			case "false", "0":
			default:
				httpx.Fail(w, r, errs.Field("includeNoAccess", "must be true or false"))
				return
			}
		}
		out := CustomerProductList{Products: []CustomerProduct{}}
		cno, err := customer.NumberFor(ctx, h.DB, p)
		if errs.Is(err, errs.NotFound) {
			httpx.Reply(w, r, http.StatusOK, out)
			return
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		grants, err := h.entitlements(ctx, p.CompanyID, cno)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		now := Now(ctx).UnixMilli()
		best := map[string]Entitlement{}
		held := map[string]bool{}
		for _, g := range grants {
			held[g.Product] = true
			if !g.validAt(now) {
				continue
			}
			if b, ok := best[g.Product]; !ok || g.better(b) {
				best[g.Product] = g
			}
		}
		if includeNo {
			// Every product held in the last 12 months.
			rows, err := h.DB.QueryContext(ctx, `SELECT product_code, access_products FROM subscriptions
				WHERE company_id = $1 AND customer_number = $2 AND end_time >= $3`, p.CompanyID, cno, Now(ctx).AddDate(-1, 0, 0).UnixMilli())
			if err != nil {
				httpx.Fail(w, r, store.Translate(err))
				return
			}
			for rows.Next() {
				var code, extra string
				if err := rows.Scan(&code, &extra); err != nil {
					rows.Close()
					httpx.Fail(w, r, err)
					return
				}
				held[code] = true
				for _, x := range splitList(extra) {
					held[x] = true
				}
			}
			rows.Close()
		}
		for product := range held {
			g, ok := best[product]
			switch {
			case ok && g.ValidUntil == 0:
				out.Products = append(out.Products, CustomerProduct{PartnerID: p.CompanyCode, ProductID: product, AccessType: "A"})
			case ok:
				out.Products = append(out.Products, CustomerProduct{PartnerID: p.CompanyCode, ProductID: product, AccessType: "B",
					StartTime: g.ValidFrom, EndTime: g.ValidUntil - 1000})
			case includeNo:
				out.Products = append(out.Products, CustomerProduct{PartnerID: p.CompanyCode, ProductID: product, AccessType: "D"})
			}
		}
		sort.Slice(out.Products, func(i, j int) bool { return out.Products[i].ProductID < out.Products[j].ProductID })
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

// StartBody is the body of subscription-start.
type StartBody struct {
	CompanyCode       string        `json:"companyCode"`
	Product           string        `json:"product"`
	StartTime         value.Instant `json:"startTime"`
	EndTime           value.Instant `json:"endTime"`
	Copies            int           `json:"copies"`
	CouponCode        string        `json:"couponCode"`
	CouponNumber      int64         `json:"couponNumber"`
	CustomerReference string        `json:"customerReference"`
}

// coupon is what Start subscription reads of a coupon (catalog's table).
type coupon struct {
	code          string
	number        int64
	price         int64
	length        int
	typ           string
	extraProducts []string
	// Renewal terms (NULL: the first period's continue).
	renewalPrice  sql.NullInt64
	renewalLength sql.NullInt64
	renewalType   sql.NullString
}

func (c *coupon) renewalPriceOf() *value.Money {
	if !c.renewalPrice.Valid {
		return nil
	}
	m := value.Money(c.renewalPrice.Int64)
	return &m
}

// findCoupon returns the named coupon of the product valid at day, or the
// product's default (its free coupon with the lowest number).
func findCoupon(ctx context.Context, q store.Queryer, companyID int64, product, code string, number int64, day time.Time) (*coupon, error) {
	query := `SELECT coupon_code, coupon_number, price, period_length, period_type, extra_products,
		renewal_price, renewal_period_length, renewal_period_type FROM coupons
		WHERE company_id = $1 AND product_code = $2 AND start_time <= $3 AND (end_time IS NULL OR end_time > $3)`
	args := []any{companyID, product, day.UnixMilli()}
	if code != "" {
		query += ` AND coupon_code = $4 AND coupon_number = $5`
		args = append(args, code, number)
	} else {
		query += ` AND price = 0 ORDER BY coupon_number, coupon_code LIMIT 1`
	}
	var c coupon
	var extra string
	err := q.QueryRowContext(ctx, query, args...).Scan(&c.code, &c.number, &c.price, &c.length, &c.typ, &extra,
		&c.renewalPrice, &c.renewalLength, &c.renewalType)
	if errors.Is(err, sql.ErrNoRows) {
		if code != "" {
			return nil, errs.Field("couponCode", "no coupon %s/%d on %s valid on %s", code, number, product, day.Format(dateLayout))
		}
		return nil, errs.Field("couponCode", "is required: %s has no default (free) coupon", product)
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	for _, x := range splitList(extra) {
		if x = strings.TrimSpace(x); x != "" {
			c.extraProducts = append(c.extraProducts, x)
		}
	}
	return &c, nil
}

// StartSubscription serves POST /capi/v1/subscription (subscription-start).
func (h Handlers) StartSubscription() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := h.ctx(r)
		p := auth.FromContext(ctx)
		var b StartBody
		if err := httpx.Decode(r, &b); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if b.CompanyCode != "" && !strings.EqualFold(b.CompanyCode, p.CompanyCode) {
			httpx.Fail(w, r, errs.Field("companyCode", "must be the client's company"))
			return
		}
		if err := validCode("product", b.Product); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if len(b.CouponCode) > 12 {
			httpx.Fail(w, r, errs.Field("couponCode", "at most 12 characters"))
			return
		}
		if (b.CouponCode == "") != (b.CouponNumber == 0) {
			httpx.Fail(w, r, errs.Field("couponNumber", "couponCode and couponNumber go together"))
			return
		}
		if len(b.CustomerReference) > 40 {
			httpx.Fail(w, r, errs.Field("customerReference", "at most 40 characters"))
			return
		}
		if b.Copies == 0 {
			b.Copies = 1
		}
		if b.Copies < 1 || b.Copies > 99 {
			httpx.Fail(w, r, errs.Field("copies", "must be between 1 and 99"))
			return
		}
		err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
			_, loc, err := companyLoc(ctx, tx, p.CompanyID)
			if err != nil {
				return err
			}
			cno, err := customer.NumberFor(ctx, tx, p)
			if err != nil {
				return err
			}
			now := Now(ctx)
			today := dayStart(now, loc)
			start := today
			if !b.StartTime.IsZero() {
				start = dayStart(b.StartTime.Time(loc), loc)
				if start.Before(today) {
					return errs.Field("startTime", "must not be before today")
				}
			}
			var end time.Time
			if !b.EndTime.IsZero() {
				end = b.EndTime.Time(loc)
				if !dayEnd(end, loc).After(start) {
					return errs.Field("endTime", "must be after startTime")
				}
			}
			var kind string
			if err := tx.QueryRowContext(ctx, `SELECT product_type FROM products WHERE company_id = $1 AND code = $2`, p.CompanyID, b.Product).Scan(&kind); errors.Is(err, sql.ErrNoRows) {
				return errs.E(errs.NotFound, "product %s not found", b.Product)
			} else if err != nil {
				return store.Translate(err)
			}
			if kind != "subscription" {
				return errs.Field("product", "%s is not a subscription product", b.Product)
			}
			c, err := findCoupon(ctx, tx, p.CompanyID, b.Product, b.CouponCode, b.CouponNumber, start)
			if err != nil {
				return err
			}
			onInvoice := c.price != 0
			if onInvoice {
				settings, err := LoadSettings(ctx, tx, p.CompanyID)
				if err != nil {
					return err
				}
				if !settings.AllowInvoiceStart || h.InvoiceStart == nil {
					return errs.Field("couponCode", "a priced coupon needs an order (POST /capi/v1/order)")
				}
			}
			prior, err := Current(ctx, tx, p.CompanyID, cno, b.Product)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return err
			}
			id, err := Start(ctx, tx, StartRequest{CompanyID: p.CompanyID, CompanyCode: p.CompanyCode, CustomerNumber: cno,
				ProductCode: b.Product, CouponCode: c.code, CouponNumber: c.number, StartDate: start,
				PeriodLength: c.length, PeriodType: c.typ, Price: value.Money(c.price), Paid: !onInvoice, Copies: b.Copies,
				AccessProducts: c.extraProducts, EndDate: end, CustomerReference: b.CustomerReference,
				RenewalPrice: c.renewalPriceOf(), RenewalPeriodLength: int(c.renewalLength.Int64), RenewalPeriodType: c.renewalType.String})
			if err != nil || !onInvoice || (prior != nil && prior.ID == id) {
				return err // free, or a removed stop: nothing new to invoice
			}
			s, err := load(ctx, tx, p.CompanyID, id)
			if err != nil {
				return err
			}
			return h.InvoiceStart(ctx, tx, s)
		})
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, map[string]string{"status": "OK"})
	})
}
