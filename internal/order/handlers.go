package order

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/value"
)

// Handlers serves the Order Management area (spec/order.md).
type Handlers struct {
	DB   *store.DB
	Deps Deps
	Now  func() time.Time
}

// now is the business time of the request: Now when set, else the clock
// the request's context carries (tests and jobs move it), else the wall clock.
func (h Handlers) now(ctx context.Context) time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return subscription.Now(ctx)
}

func callerOf(p *auth.Principal) Caller {
	c := Caller{CompanyID: p.CompanyID, CompanyCode: p.CompanyCode, ClientID: p.ClientID}
	if p.Mode == auth.UserMode {
		c.UserMode, c.UserNumber, c.UniqueID, c.CustomerNo = true, p.UserNumber, p.UserID, p.CustomerNumber
	}
	return c
}

// Register serves POST /capi/v1/order and /capi/v1/client/order.
func (h Handlers) Register() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req RegisterRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		return Register(r.Context(), h.DB, h.Deps, callerOf(p), &req, r.Header.Get("Idempotency-Key"), h.now(r.Context()))
	})
}

// CustomerRegisterRequest is the body of Register customer.
type CustomerRegisterRequest struct {
	customer.Input
	UniqueUserID string `json:"uniqueUserId"`
}

// CustomerRegisterResult is {"customerNumber": n}.
type CustomerRegisterResult struct {
	CustomerNumber int64 `json:"customerNumber"`
}

// RegisterCustomer serves POST /capi/v1/customer (user) and
// /capi/v1/client/customer (client): a new customer, linked to the user in
// user mode or to uniqueUserId in client mode. Idempotency-Key replays.
func (h Handlers) RegisterCustomer() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req CustomerRegisterRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		c := callerOf(p)
		if req.UniqueUserID != "" && (c.UserMode || !uniqueIDRe.MatchString(req.UniqueUserID)) {
			if c.UserMode {
				return nil, errs.Field("uniqueUserId", "not accepted in user mode")
			}
			return nil, errs.Field("uniqueUserId", "must be 32 lower-case hex characters")
		}
		now := h.now(r.Context())
		var claims []claim
		hash := (&RegisterRequest{Payer: &req.Input, UniqueUserID: req.UniqueUserID}).Hash("customer|" + c.ClientID)
		if key := r.Header.Get("Idempotency-Key"); key != "" {
			cl, err := idempotencyClaim(c, "cust:"+key, now)
			if err != nil {
				return nil, err
			}
			cl.conflict = "Idempotency-Key was used for another request (customer %d)"
			claims = append(claims, cl)
		}
		var res CustomerRegisterResult
		err := h.DB.Tx(r.Context(), func(tx *sql.Tx) error {
			replay, err := claimKeys(r.Context(), tx, c.CompanyID, c.ClientID, "customer", hash, claims, now)
			if err != nil || replay != 0 {
				res.CustomerNumber = replay
				return err
			}
			var user *int64
			switch {
			case c.UserMode:
				user = &c.UserNumber
				if n, err := customer.NumberOfUser(r.Context(), tx, c.CompanyID, c.UserNumber); err != nil {
					return err
				} else if n != 0 {
					return errs.E(errs.Conflict, "the user is already customer %d", n)
				}
				if len(req.Emails) == 0 && len(req.PhoneNumbers) == 0 && h.Deps.Users != nil {
					if u, ok := h.Deps.Users.(interface {
						Credentials(ctx context.Context, q store.Queryer, userNumber int64) (email, phone string, err error)
					}); ok {
						email, phone, err := u.Credentials(r.Context(), tx, c.UserNumber)
						if err != nil {
							return err
						}
						if email != "" {
							req.Emails = []string{email}
						}
						if phone != "" {
							req.PhoneNumbers = []string{phone}
						}
					}
				}
			case req.UniqueUserID != "":
				if h.Deps.Users == nil {
					return errs.E(errs.NotFound, "no user %s", req.UniqueUserID)
				}
				n, found, err := h.Deps.Users.UserNumber(r.Context(), tx, req.UniqueUserID)
				if err != nil {
					return err
				}
				if !found {
					return errs.E(errs.NotFound, "no user %s", req.UniqueUserID)
				}
				if other, err := customer.NumberOfUser(r.Context(), tx, c.CompanyID, n); err != nil {
					return err
				} else if other != 0 {
					return errs.E(errs.Conflict, "the user is already customer %d", other)
				}
				user = &n
			}
			res.CustomerNumber, err = customer.Create(r.Context(), tx, customer.NewCustomer{CompanyID: c.CompanyID,
				CompanyCode: c.CompanyCode, Required: customer.RequirePayer, UserID: user, Now: now}, &req.Input)
			if err != nil {
				return err
			}
			// Payer-style permissions[] and privacy[] (customer.md), in the same transaction.
			choices := &resolver{c: c, tx: tx, q: tx, now: now}
			if err := choices.applyChoices(r.Context(), &req.Input, res.CustomerNumber, "", "customer"); err != nil {
				return err
			}
			return settleClaims(r.Context(), tx, c.ClientID, claims, res.CustomerNumber)
		})
		return res, err
	})
}

// StatusClient serves GET /capi/v1/client/order/status/{orderId}.
func (h Handlers) StatusClient() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		id, err := customer.ParseNumber(r, "orderId")
		if err != nil {
			return nil, err
		}
		items, err := Find(r.Context(), h.DB, Filter{CompanyID: p.CompanyID, OrderID: id})
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return nil, errs.E(errs.NotFound, "no order %d", id)
		}
		return List{Orders: items}, nil
	})
}

// userFilter is the order-list set of a user: paid by their customer or
// assigned to them.
func (h Handlers) userFilter(ctx context.Context, p *auth.Principal) (Filter, error) {
	f := Filter{CompanyID: p.CompanyID, UserScope: true, UserNumber: p.UserNumber, UserCustomer: -1}
	n, err := customer.NumberFor(ctx, h.DB, p)
	switch {
	case err == nil:
		f.UserCustomer = n
	case !errs.Is(err, errs.NotFound):
		return f, err
	}
	return f, nil
}

// ListUser serves GET /capi/v1/order/status.
func (h Handlers) ListUser() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		f, err := h.userFilter(r.Context(), p)
		if err != nil {
			return nil, err
		}
		items, err := Find(r.Context(), h.DB, f)
		return List{Orders: items}, err
	})
}

// SearchRequest is the body of Search order details.
type SearchRequest struct {
	OrderID         *int64 `json:"orderId"`
	ExternalOrderID string `json:"externalOrderId"`
}

// SearchUser serves POST /capi/v1/order/status.
func (h Handlers) SearchUser() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req SearchRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		if (req.OrderID == nil) == (req.ExternalOrderID == "") {
			return nil, errs.Field("orderId", "give exactly one of orderId and externalOrderId")
		}
		if err := maxLen("externalOrderId", req.ExternalOrderID, 40); err != nil {
			return nil, err
		}
		f, err := h.userFilter(r.Context(), p)
		if err != nil {
			return nil, err
		}
		f.Details, f.ExternalID = true, req.ExternalOrderID
		if req.OrderID != nil {
			if *req.OrderID <= 0 {
				return List{Orders: []Item{}}, nil
			}
			f.OrderID = *req.OrderID
		}
		items, err := Find(r.Context(), h.DB, f)
		return List{Orders: items}, err
	})
}

// ProductHistory serves GET /capi/v1/customer/order/product/history.
func (h Handlers) ProductHistory() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		f, err := h.userFilter(r.Context(), p)
		if err != nil {
			return nil, err
		}
		f.Details, f.CompletedOnly, f.SingleProducts = true, true, true
		items, err := Find(r.Context(), h.DB, f)
		return List{Orders: items}, err
	})
}

// FulfillRequest is the body of Complete order - client mode.
type FulfillRequest struct {
	OrderID     *int64 `json:"orderId"`
	CallbackURL string `json:"callbackUrl"`
}

// FulfillClient serves POST /capi/v1/client/order/fulfillment.
func (h Handlers) FulfillClient() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req FulfillRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		if req.OrderID == nil {
			return nil, errs.Field("orderId", "required")
		}
		if req.CallbackURL != "" {
			if err := h.checkClientURL(r.Context(), p.ClientID, "callbackUrl", req.CallbackURL); err != nil {
				return nil, err
			}
		}
		return Fulfill(r.Context(), h.DB, h.Deps, p.CompanyID, *req.OrderID, req.CallbackURL, h.now(r.Context()))
	})
}

// checkClientURL requires an absolute http(s) URL (≤ 1024) on a host
// registered for the client, so the server never calls or redirects to
// arbitrary places.
func (h Handlers) checkClientURL(ctx context.Context, clientID, field, raw string) error {
	if len(raw) > 1024 {
		return errs.Field(field, "at most 1024 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errs.Field(field, "must be an absolute http(s) URL")
	}
	cl, err := tenant.GetClient(ctx, h.DB, clientID)
	if err != nil {
		return err
	}
	if !hostAllowed(cl, u) {
		return errs.Field(field, "host %s is not registered for client %s", u.Host, clientID)
	}
	return nil
}

func hostAllowed(cl *tenant.ClientRecord, u *url.URL) bool {
	host, hostPort := strings.ToLower(u.Hostname()), strings.ToLower(u.Host)
	for _, h := range cl.ReturnHosts {
		if h == host || h == hostPort {
			return true
		}
	}
	return false
}

// AssignRequest is the body of Assign user - client mode.
type AssignRequest struct {
	Credential       string `json:"credential"`
	IsSendMessage    bool   `json:"isSendMessage"`
	ReturnURL        string `json:"returnUrl"`
	ErrorURL         string `json:"errorUrl"`
	LinkLifetime     *int   `json:"linkLifetime"`
	OverrideClientID string `json:"overrideClientId"`
}

// AssignResult is its response.
type AssignResult struct {
	OrderID       int64  `json:"orderId"`
	UniqueUserID  string `json:"uniqueUserId"`
	IsNewUser     bool   `json:"isNewUser"`
	IsPasswordSet bool   `json:"isPasswordSet"`
}

// AssignUser serves POST /capi/v1/client/order/{orderId}/user.
func (h Handlers) AssignUser() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		id, err := customer.ParseNumber(r, "orderId")
		if err != nil {
			return nil, err
		}
		var req AssignRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		req.Credential = strings.TrimSpace(req.Credential)
		if req.Credential == "" {
			return nil, errs.Field("credential", "required")
		}
		if err := maxLen("credential", req.Credential, 60); err != nil {
			return nil, err
		}
		lifetime := 24
		if req.LinkLifetime != nil {
			if *req.LinkLifetime < 1 || *req.LinkLifetime > 168 {
				return nil, errs.Field("linkLifetime", "must be from 1 to 168 hours")
			}
			lifetime = *req.LinkLifetime
		}
		if req.IsSendMessage {
			if req.OverrideClientID == "" {
				return nil, errs.Field("overrideClientId", "required with isSendMessage")
			}
			cl, err := tenant.GetClient(r.Context(), h.DB, req.OverrideClientID)
			if err != nil || cl.CompanyID != p.CompanyID {
				return nil, errs.Field("overrideClientId", "unknown client %s", req.OverrideClientID)
			}
			for _, f := range []struct{ name, v string }{{"returnUrl", req.ReturnURL}, {"errorUrl", req.ErrorURL}} {
				if f.v == "" {
					return nil, errs.Field(f.name, "required with isSendMessage")
				}
				if err := h.checkClientURL(r.Context(), req.OverrideClientID, f.name, f.v); err != nil {
					return nil, err
				}
			}
		}
		if h.Deps.Users == nil {
			return nil, errs.E(errs.Forbidden, "ConnectID users are not available on this server")
		}
		now := h.now(r.Context())
		var res AssignResult
		var u AssignedUser
		err = h.DB.Tx(r.Context(), func(tx *sql.Tx) error {
			o, err := lockLoad(r.Context(), tx, p.CompanyID, id, now)
			if err != nil {
				return err
			}
			if o.Status == Cancelled || o.Status == Failed {
				return errs.E(errs.Conflict, "order %d is %s", id, o.Status)
			}
			if u, err = h.Deps.Users.Assign(r.Context(), tx, p.CompanyID, req.Credential, now); err != nil {
				return err
			}
			if o.UserID != nil && *o.UserID != u.Number {
				return errs.E(errs.Conflict, "order %d is assigned to another user", id)
			}
			// Link the payer to the user when neither is linked yet.
			payer, err := customer.Get(r.Context(), tx, p.CompanyID, o.Payer)
			if err != nil {
				return err
			}
			linked, err := customer.NumberOfUser(r.Context(), tx, p.CompanyID, u.Number)
			if err != nil {
				return err
			}
			switch {
			case payer.UserID() == nil && linked == 0:
				if err := customer.LinkUser(r.Context(), tx, p.CompanyID, o.Payer, u.Number); err != nil {
					return err
				}
			case payer.UserID() != nil && *payer.UserID() != u.Number:
				return errs.E(errs.Conflict, "the payer is linked to another user")
			case linked != 0 && linked != o.Payer:
				return errs.E(errs.Conflict, "the user is linked to another customer (%d)", linked)
			}
			if _, err := tx.ExecContext(r.Context(), `UPDATE orders SET user_id = $3 WHERE company_id = $1 AND id = $2`,
				p.CompanyID, id, u.Number); err != nil {
				return store.Translate(err)
			}
			res = AssignResult{OrderID: id, UniqueUserID: u.UniqueID, IsNewUser: u.IsNew, IsPasswordSet: u.IsPasswordSet}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if req.IsSendMessage {
			// Messages go out after the commit; a failure to queue one does
			// not undo the assignment (the client can repeat the call).
			_ = h.Deps.Users.SendLoginLink(r.Context(), LoginLink{CompanyID: p.CompanyID, UserNumber: u.Number,
				Credential: req.Credential, ClientID: req.OverrideClientID, ReturnURL: req.ReturnURL, ErrorURL: req.ErrorURL,
				Lifetime: time.Duration(lifetime) * time.Hour, SetPassword: !u.IsPasswordSet})
		}
		return res, nil
	})
}

// CouponPriceRequest is the body of Check coupon price.
type CouponPriceRequest struct {
	CouponCode     string `json:"couponCode"`
	CouponNumber   *int64 `json:"couponNumber"`
	CustomerNumber *int64 `json:"customerNumber"`
	CountryCode    string `json:"countryCode"`
	PostalCode     string `json:"postalCode"`
}

// PriceResult is the price shape of Check coupon price and Check article price.
type PriceResult struct {
	CompanyCode    string        `json:"companyCode"`
	Product        string        `json:"product"`
	ArticleRef     string        `json:"articleRef,omitempty"`
	Price          value.Money   `json:"price"`
	VatAmount      value.Money   `json:"vatAmount"`
	VatPercent     value.Percent `json:"vatpercent"`
	VatInclude     bool          `json:"vatInclude"`
	Currency       string        `json:"currency"`
	DistAmount     *value.Money  `json:"distAmount,omitempty"`
	DistAmountVat  *value.Money  `json:"distAmountvat,omitempty"`
	CustomerNumber *int64        `json:"customerNumber,omitempty"`
	Purchased      *bool         `json:"purchased,omitempty"`
}

// CouponPrice serves POST /capi/v1/client/coupon/price.
func (h Handlers) CouponPrice() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req CouponPriceRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		if req.CouponCode == "" {
			return nil, errs.Field("couponCode", "required")
		}
		if req.CouponNumber == nil {
			return nil, errs.Field("couponNumber", "required")
		}
		for _, f := range []struct {
			name, v string
			n       int
		}{{"couponCode", req.CouponCode, 12}, {"countryCode", req.CountryCode, 3}, {"postalCode", req.PostalCode, 10}} {
			if err := maxLen(f.name, f.v, f.n); err != nil {
				return nil, err
			}
		}
		cp, err := catalog.GetCoupon(r.Context(), h.DB, p.CompanyID, req.CouponCode, *req.CouponNumber)
		if err != nil {
			return nil, err
		}
		postal := req.PostalCode
		if req.CustomerNumber != nil {
			c, err := customer.Get(r.Context(), h.DB, p.CompanyID, *req.CustomerNumber)
			if err != nil {
				return nil, err
			}
			if postal == "" {
				postal = c.PostalCode
			}
		}
		res := PriceResult{CompanyCode: p.CompanyCode, Product: cp.ProductCode, Price: cp.Price,
			VatAmount: catalog.VatOf(cp.Price, cp.VatPercent, cp.VatInclude), VatPercent: cp.VatPercent,
			VatInclude: cp.VatInclude, Currency: cp.Currency, CustomerNumber: req.CustomerNumber}
		var dist value.Money
		if !cp.Digital && postal != "" {
			dist = cp.DistributionPrice
		}
		distVat := catalog.VatOf(dist, cp.VatPercent, cp.VatInclude)
		res.DistAmount, res.DistAmountVat = &dist, &distVat
		return res, nil
	})
}

// CouponItem is an item of List coupon (amounts and lengths as strings, as documented).
type CouponItem struct {
	CouponCode    string                   `json:"couponCode"`
	CouponNumber  int64                    `json:"couponNumber"`
	Product       string                   `json:"product"`
	StartTime     int64                    `json:"startTime"`
	EndTime       *int64                   `json:"endTime,omitempty"`
	Description   string                   `json:"description,omitempty"`
	CouponPrice   string                   `json:"couponPrice"`
	PeriodLength  string                   `json:"periodLength"`
	PeriodType    string                   `json:"periodType"`
	ExtraProducts []ExtraProduct           `json:"extraProducts,omitempty"`
	Renewal       *Renewal                 `json:"renewal,omitempty"`
	Marketing     *catalog.CouponMarketing `json:"marketing,omitempty"`
}

// ExtraProduct is a product a coupon adds.
type ExtraProduct struct {
	ProductID   string `json:"productId"`
	Description string `json:"description,omitempty"`
}

// Renewal is the next period's price.
type Renewal struct {
	RenewalPrice string `json:"renewalPrice"`
	PeriodLength string `json:"periodLength"`
	PeriodType   string `json:"periodType"`
}

// CouponList is {"coupons":[...]}.
type CouponList struct {
	Coupons []CouponItem `json:"coupons"`
}

func plural(t string) string { return t + "s" }

// Coupons serves GET /capi/v1/client/coupon/{productCode} and
// /capi/v1/client/coupon/{productCode}/{couponNumber}.
func (h Handlers) Coupons() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		product := r.PathValue("productCode")
		if product == "" || len(product) > 12 {
			return nil, errs.Field("productCode", "must be 1 to 12 characters")
		}
		var number int64
		if r.PathValue("couponNumber") != "" {
			n, err := customer.ParseNumber(r, "couponNumber")
			if err != nil {
				return nil, err
			}
			if number = n; number == 0 {
				return nil, errs.E(errs.NotFound, "no coupon number 0")
			}
		}
		q := r.URL.Query()
		marketing := false
		if q.Has("marketing") {
			v := strings.ToLower(q.Get("marketing"))
			marketing = v == "" || v == "true" || v == "1"
		}
		activeOnly := strings.EqualFold(q.Get("activeOnly"), "true")
		if _, err := catalog.GetProductInfo(r.Context(), h.DB, p.CompanyID, product); err != nil {
			return nil, err
		}
		list, err := catalog.ListCoupons(r.Context(), h.DB, p.CompanyID, product, number)
		if err != nil {
			return nil, err
		}
		if number != 0 && len(list) == 0 {
			return nil, errs.E(errs.NotFound, "no coupon number %d for %s", number, product)
		}
		now := h.now(r.Context())
		out := CouponList{Coupons: []CouponItem{}}
		for _, c := range list {
			if activeOnly && !c.OpenAt(now) {
				continue
			}
			it := CouponItem{CouponCode: c.CouponCode, CouponNumber: c.CouponNumber, Product: c.ProductCode,
				StartTime: c.StartTime, EndTime: c.EndTime, Description: c.Description, CouponPrice: catalog.Amount(c.Price),
				PeriodLength: itoa(c.PeriodLength), PeriodType: plural(c.PeriodType)}
			for _, x := range c.ExtraProducts {
				ep := ExtraProduct{ProductID: x}
				if pi, err := catalog.GetProductInfo(r.Context(), h.DB, p.CompanyID, x); err == nil {
					ep.Description = pi.Description
				}
				it.ExtraProducts = append(it.ExtraProducts, ep)
			}
			if c.RenewalPrice != nil {
				length, typ := c.RenewalPeriodLength, c.RenewalPeriodType
				if length == 0 {
					length = c.PeriodLength
				}
				if typ == "" {
					typ = c.PeriodType
				}
				it.Renewal = &Renewal{RenewalPrice: catalog.Amount(*c.RenewalPrice), PeriodLength: itoa(length), PeriodType: plural(typ)}
			}
			if marketing {
				m := c.Marketing
				it.Marketing = &m
			}
			out.Coupons = append(out.Coupons, it)
		}
		return out, nil
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// VoucherCoupons serves GET /capi/v1/client/voucher/coupons/{voucherCode}.
// An invalid code is a validation error (400), as documented.
func (h Handlers) VoucherCoupons() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		code := r.PathValue("voucherCode")
		if code == "" || len(code) > 36 {
			return nil, errs.Field("voucherCode", "must be 1 to 36 characters")
		}
		v, err := catalog.FindVoucher(r.Context(), h.DB, p.CompanyID, code)
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Field("voucherCode", "unknown voucher code")
		}
		if err != nil {
			return nil, err
		}
		if why := v.Usable(h.now(r.Context())); why != "" {
			return nil, errs.Field("voucherCode", "%s", why)
		}
		list, err := catalog.VoucherCoupons(r.Context(), h.DB, p.CompanyID, v.ID)
		if err != nil {
			return nil, err
		}
		return struct {
			Coupons []catalog.VoucherCoupon `json:"coupons"`
		}{list}, nil
	})
}

// RewardCheckRequest is the body of Check reward.
type RewardCheckRequest struct {
	RewardID        string `json:"rewardId"`
	RewardPartnerID *int64 `json:"rewardPartnerId"`
}

// RewardResult is its response.
type RewardResult struct {
	CustomerNumber *int64 `json:"customerNumber,omitempty"`
	Product        string `json:"product"`
	RewardID       string `json:"rewardId"`
	Redeemed       bool   `json:"redeemed"`
}

// RewardCheck serves POST /capi/v1/client/reward/check.
func (h Handlers) RewardCheck() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req RewardCheckRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		if req.RewardID == "" {
			return nil, errs.Field("rewardId", "required")
		}
		if err := maxLen("rewardId", req.RewardID, 36); err != nil {
			return nil, err
		}
		if req.RewardPartnerID == nil {
			return nil, errs.Field("rewardPartnerId", "required")
		}
		rw, err := catalog.GetReward(r.Context(), h.DB, p.CompanyID, *req.RewardPartnerID, req.RewardID)
		if err != nil {
			return nil, err
		}
		return RewardResult{CustomerNumber: rw.CustomerNumber, Product: rw.Product, RewardID: rw.RewardID, Redeemed: rw.Redeemed}, nil
	})
}

// ArticlePrice serves POST /capi/v1/customer/article/price (user mode).
func (h Handlers) ArticlePrice() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req ArticleDetail
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		if req.Product == "" {
			return nil, errs.Field("product", "required")
		}
		if req.ArticleRef == "" {
			return nil, errs.Field("articleRef", "required")
		}
		for _, f := range []struct {
			name, v string
			n       int
		}{{"product", req.Product, 12}, {"articleRef", req.ArticleRef, 40}, {"companyCode", req.CompanyCode, 12},
			{"articleCategory", req.ArticleCategory, 40}, {"articleDesc", req.ArticleDesc, 255}} {
			if err := maxLen(f.name, f.v, f.n); err != nil {
				return nil, err
			}
		}
		if req.CompanyCode != "" && req.CompanyCode != p.CompanyCode {
			return nil, errs.Field("companyCode", "must be the caller's company (%s)", p.CompanyCode)
		}
		ap, err := catalog.GetArticlePrice(r.Context(), h.DB, p.CompanyID, req.Product, req.ArticleCategory)
		if err != nil {
			return nil, err
		}
		res := PriceResult{CompanyCode: p.CompanyCode, Product: ap.Product, ArticleRef: req.ArticleRef, Price: ap.Price,
			VatAmount: catalog.VatOf(ap.Price, ap.VatPercent, true), VatPercent: ap.VatPercent, VatInclude: true,
			Currency: ap.Currency}
		purchased := false
		if n, err := customer.NumberFor(r.Context(), h.DB, p); err == nil {
			res.CustomerNumber = &n
			if purchased, err = ArticlePurchased(r.Context(), h.DB, p.CompanyID, n, ap.Product, req.ArticleRef); err != nil {
				return nil, err
			}
		} else if !errs.Is(err, errs.NotFound) {
			return nil, err
		}
		res.Purchased = &purchased
		return res, nil
	})
}
