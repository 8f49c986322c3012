// Package order owns orders (spec/order.md): registration with idempotency,
// validation of every line against the catalog, the status lifecycle,
// fulfilment through the API and the browser page, payment gateways, and the
// Order Management operations around them (coupons, vouchers, articles,
// rewards, customer registration, user assignment).
package order

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/privacy"
	"github.com/connect-oss/connect/internal/privacy/choice"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/value"
)

// Order statuses (spec/order.md "Order statuses").
const (
	Preliminary = "preliminary"
	Pending     = "pending"
	Completed   = "completed"
	Cancelled   = "cancelled"
	Failed      = "failed"
)

// Payment states: how an order is (to be) paid, for billing and reports.
const (
	PayNone       = "none"        // nothing to pay (free)
	PayInvoiceDue = "invoice_due" // completed; billing creates the invoice
	PayRequested  = "requested"   // a payment request or charge awaits the provider
	PayPaid       = "paid"        // prepaid, or paid through a gateway
	PayDeclined   = "declined"
)

// Limits of the registration body.
const (
	MaxLines       = 50
	MaxQuantity    = 99
	MaxAccessSecs  = 31 * 24 * 3600
	DefaultMaxDays = 365
)

// RegisterRequest is the order registration body (spec/order.md).
type RegisterRequest struct {
	ExternalOrderID       string          `json:"externalOrderId"`
	OrderDate             value.Instant   `json:"orderDate"`
	PaymentMethod         string          `json:"paymentMethod"`
	Recurring             bool            `json:"recurring"`
	Prepaid               bool            `json:"prepaid"`
	PaymentInfo           *PaymentInfo    `json:"paymentInfo"`
	PaymentInfoPayex      *PaymentInfo    `json:"paymentInfoPayex"`
	PaymentInfoKlarna     *PaymentInfo    `json:"paymentInfoKlarna"`
	PaymentInfoNexi       *PaymentInfo    `json:"paymentInfoNexi"`
	PaymentInfoVipps      *PaymentInfo    `json:"paymentInfoVipps"`
	PaymentInfoSwish      *PaymentInfo    `json:"paymentInfoSwish"`
	OrderAmount           *value.Money    `json:"orderAmount"`
	Currency              string          `json:"currency"`
	MarketingCouponCode   string          `json:"marketingCouponCode"`
	MarketingCouponNumber *int64          `json:"marketingCouponNumber"`
	CompanyCode           string          `json:"companyCode"`
	UniqueUserID          string          `json:"uniqueUserId"`
	MerchantID            string          `json:"merchantId"`
	CustomerReference     string          `json:"customerReference"`
	Seller                string          `json:"seller"`
	SalesMethod           string          `json:"salesMethod"`
	CampaignParameters    string          `json:"campaignParameters"`
	Payer                 *customer.Input `json:"payer"`
	OrderLines            []LineRequest   `json:"orderLines"`
}

// PaymentInfo is the payment-info object of a prepaid order.
type PaymentInfo struct {
	Ticket           string `json:"ticket"`
	TransactionID    string `json:"transactionId"`
	MerchantID       string `json:"merchantId"`
	CardNumberMasked string `json:"cardNumberMasked"`
	ExpMonth         string `json:"expMonth"`
	ExpYear          string `json:"expYear"`
	CardTypeName     string `json:"cardTypeName"`
}

// LineRequest is one order line as sent.
type LineRequest struct {
	ProductSpecType         string          `json:"productSpecType"`
	ProductSpecCode         string          `json:"productSpecCode"`
	ProductSpecNo           *int64          `json:"productSpecNo"`
	Product                 string          `json:"product"`
	ArticleDetail           *ArticleDetail  `json:"articleDetail"`
	Quantity                *int            `json:"quantity"`
	UnitPrice               *value.Money    `json:"unitPrice"`
	VoucherCode             string          `json:"voucherCode"`
	PromotionCode           string          `json:"promotionCode"`
	CategoryCode            string          `json:"categoryCode"`
	AllowAccessProduct      string          `json:"allowAccessProduct"`
	AllowAccessSeconds      int64           `json:"allowAccessSeconds"`
	AllowAccessCategoryType string          `json:"allowAccessCategoryType"`
	StartInfo               *StartInfo      `json:"startInfo"`
	RewardPartnerID         *int64          `json:"rewardPartnerId"`
	RewardID                string          `json:"rewardId"`
	Receiver                *customer.Input `json:"receiver"`
	Recruiter               *customer.Input `json:"recruiter"`
}

// ArticleDetail names one article.
type ArticleDetail struct {
	CompanyCode     string `json:"companyCode"`
	Product         string `json:"product"`
	ArticleRef      string `json:"articleRef"`
	ArticleDesc     string `json:"articleDesc"`
	ArticleCategory string `json:"articleCategory"`
}

// StartInfo says when a line starts.
type StartInfo struct {
	StartDate  value.Instant `json:"startDate"`
	StartIssue string        `json:"startIssue"`
}

// RegisterResult is the response of Register order.
type RegisterResult struct {
	OrderID        int64  `json:"orderId"`
	CustomerNumber int64  `json:"customerNumber"`
	OrderStatus    string `json:"orderStatus"`
}

// Caller is who registers: the client, and in user mode the user.
type Caller struct {
	CompanyID   int64
	CompanyCode string
	ClientID    string
	UserMode    bool
	UserNumber  int64  // user mode
	UniqueID    string // user mode
	CustomerNo  int64  // user mode: the token's customer (0: look it up)
}

var (
	paymentMethods = map[string]string{}
	specTypes      = map[string]bool{"coupon": true, "product": true, "issue": true, "article": true}
	uniqueIDRe     = regexp.MustCompile(`^[0-9a-f]{32}$`)
	idemKeyRe      = regexp.MustCompile(`^[\x21-\x7e]{1,64}$`)
)

func init() {
	for _, m := range tenant.PaymentMethods {
		paymentMethods[strings.ToLower(m)] = m
	}
}

// needsGateway reports whether a method needs a configured payment gateway.
func needsGateway(method string) bool { return method != "free" && method != "invoice" }

func maxLen(field, v string, n int) error {
	if len([]rune(v)) > n {
		return errs.Field(field, "at most %d characters", n)
	}
	return nil
}

// paymentInfo returns the one payment-info object given.
func (r *RegisterRequest) paymentInfo() (*PaymentInfo, string, error) {
	var found *PaymentInfo
	name := ""
	for n, p := range map[string]*PaymentInfo{"paymentInfo": r.PaymentInfo, "paymentInfoPayex": r.PaymentInfoPayex,
		"paymentInfoKlarna": r.PaymentInfoKlarna, "paymentInfoNexi": r.PaymentInfoNexi, "paymentInfoVipps": r.PaymentInfoVipps,
		"paymentInfoSwish": r.PaymentInfoSwish} {
		if p == nil {
			continue
		}
		if found != nil {
			return nil, "", errs.Field(n, "give one payment-info object (also %s)", name)
		}
		found, name = p, n
	}
	return found, name, nil
}

// validate checks what needs no database and normalises enums.
func (r *RegisterRequest) validate() error {
	method, ok := paymentMethods[strings.ToLower(r.PaymentMethod)]
	if r.PaymentMethod == "" {
		return errs.Field("paymentMethod", "required")
	}
	if !ok {
		return errs.Field("paymentMethod", "unknown payment method %q", r.PaymentMethod)
	}
	r.PaymentMethod = method
	if method == "free" {
		r.Prepaid = false // ignored on free orders
	}
	if r.Prepaid && (method == "sms" || method == "smsPay") {
		return errs.Field("prepaid", "%s orders cannot be prepaid", method)
	}
	for _, f := range []struct {
		name, v string
		n       int
	}{{"externalOrderId", r.ExternalOrderID, 40}, {"currency", r.Currency, 3}, {"marketingCouponCode", r.MarketingCouponCode, 12},
		{"companyCode", r.CompanyCode, 12}, {"merchantId", r.MerchantID, 40}, {"customerReference", r.CustomerReference, 40},
		{"seller", r.Seller, 12}, {"salesMethod", r.SalesMethod, 12}, {"campaignParameters", r.CampaignParameters, 500}} {
		if err := maxLen(f.name, f.v, f.n); err != nil {
			return err
		}
	}
	if (r.MarketingCouponCode == "") != (r.MarketingCouponNumber == nil) {
		return errs.Field("marketingCouponNumber", "marketingCouponCode and marketingCouponNumber go together")
	}
	if r.UniqueUserID != "" && !uniqueIDRe.MatchString(r.UniqueUserID) {
		return errs.Field("uniqueUserId", "must be 32 lower-case hex characters")
	}
	info, name, err := r.paymentInfo()
	if err != nil {
		return err
	}
	if r.Prepaid {
		if info == nil {
			return errs.Field("paymentInfo", "required for a prepaid order")
		}
		if info.TransactionID == "" {
			return errs.Field(name+".transactionId", "required for a prepaid order")
		}
		if r.Recurring && method != "invoice" && method != "other" && info.Ticket == "" {
			return errs.Field(name+".ticket", "required for a prepaid recurring %s order", method)
		}
	}
	if info != nil {
		if err := maxLen(name+".transactionId", info.TransactionID, 64); err != nil {
			return err
		}
		if err := maxLen(name+".ticket", info.Ticket, 128); err != nil {
			return err
		}
		for f, v := range map[string]string{"merchantId": info.MerchantID, "cardNumberMasked": info.CardNumberMasked,
			"expMonth": info.ExpMonth, "expYear": info.ExpYear, "cardTypeName": info.CardTypeName} {
			if err := maxLen(name+"."+f, v, 40); err != nil {
				return err
			}
		}
	}
	if r.Payer == nil {
		return errs.Field("payer", "required")
	}
	if len(r.OrderLines) == 0 {
		return errs.Field("orderLines", "at least one line is required")
	}
	if len(r.OrderLines) > MaxLines {
		return errs.Field("orderLines", "at most %d lines", MaxLines)
	}
	for i := range r.OrderLines {
		if err := r.OrderLines[i].validate(fmt.Sprintf("orderLines[%d].", i)); err != nil {
			return err
		}
	}
	return nil
}

func (l *LineRequest) validate(p string) error {
	l.ProductSpecType = strings.ToLower(l.ProductSpecType)
	if l.ProductSpecType == "" {
		return errs.Field(p+"productSpecType", "required")
	}
	if !specTypes[l.ProductSpecType] {
		return errs.Field(p+"productSpecType", "must be coupon, product, issue or article")
	}
	for _, f := range []struct {
		name, v string
		n       int
	}{{"productSpecCode", l.ProductSpecCode, 12}, {"voucherCode", l.VoucherCode, 36}, {"promotionCode", l.PromotionCode, 12},
		{"categoryCode", l.CategoryCode, 12}, {"allowAccessProduct", l.AllowAccessProduct, 12},
		{"allowAccessCategoryType", l.AllowAccessCategoryType, 12}, {"rewardId", l.RewardID, 36}} {
		if err := maxLen(p+f.name, f.v, f.n); err != nil {
			return err
		}
	}
	productLimit := 12
	if l.ProductSpecType == "issue" {
		productLimit = 10
	}
	if err := maxLen(p+"product", l.Product, productLimit); err != nil {
		return err
	}
	switch l.ProductSpecType {
	case "coupon", "issue":
		if l.ProductSpecCode == "" {
			return errs.Field(p+"productSpecCode", "required on %s lines", l.ProductSpecType)
		}
		if l.ProductSpecNo == nil {
			return errs.Field(p+"productSpecNo", "required on %s lines", l.ProductSpecType)
		}
		if l.ProductSpecType == "issue" && l.Product == "" {
			return errs.Field(p+"product", "required on issue lines (the issue code)")
		}
	case "product":
		if l.Product == "" {
			return errs.Field(p+"product", "required on product lines")
		}
	case "article":
		a := l.ArticleDetail
		if a == nil {
			return errs.Field(p+"articleDetail", "required on article lines")
		}
		if a.Product == "" {
			return errs.Field(p+"articleDetail.product", "required")
		}
		if a.ArticleRef == "" {
			return errs.Field(p+"articleDetail.articleRef", "required")
		}
		for f, v := range map[string]struct {
			v string
			n int
		}{"companyCode": {a.CompanyCode, 12}, "product": {a.Product, 12}, "articleRef": {a.ArticleRef, 40},
			"articleDesc": {a.ArticleDesc, 255}, "articleCategory": {a.ArticleCategory, 40}} {
			if err := maxLen(p+"articleDetail."+f, v.v, v.n); err != nil {
				return err
			}
		}
	}
	if l.Quantity == nil {
		q := 1
		l.Quantity = &q
	} else if *l.Quantity < 1 || *l.Quantity > MaxQuantity {
		return errs.Field(p+"quantity", "must be from 1 to %d", MaxQuantity)
	}
	if l.UnitPrice != nil && *l.UnitPrice < 0 {
		return errs.Field(p+"unitPrice", "must not be negative")
	}
	if (l.RewardPartnerID == nil) != (l.RewardID == "") {
		return errs.Field(p+"rewardId", "rewardPartnerId and rewardId go together")
	}
	if l.AllowAccessProduct != "" || l.AllowAccessSeconds != 0 {
		if l.ProductSpecType != "coupon" && l.ProductSpecType != "issue" {
			return errs.Field(p+"allowAccessProduct", "temporary access is for coupon and issue lines")
		}
		if l.AllowAccessProduct == "" {
			return errs.Field(p+"allowAccessProduct", "required with allowAccessSeconds")
		}
		if l.AllowAccessSeconds <= 0 || l.AllowAccessSeconds > MaxAccessSecs {
			return errs.Field(p+"allowAccessSeconds", "must be from 1 to %d (31 days)", MaxAccessSecs)
		}
	}
	if l.StartInfo != nil {
		if err := maxLen(p+"startInfo.startIssue", l.StartInfo.StartIssue, 10); err != nil {
			return err
		}
	}
	return nil
}

// Hash is a digest of the request's meaning: the same order sent as JSON or
// XML, or with fields in another order, hashes the same.
func (r *RegisterRequest) Hash(extra string) string {
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(append(b, extra...))
	return hex.EncodeToString(sum[:])
}

// Deps are what registration and fulfilment need besides the database.
type Deps struct {
	Users         Users
	Subscriptions SubscriptionStarter
	Gateways      map[string]PaymentGateway
	Callbacks     CallbackSender
	Sessions      SessionUsers // the fulfillment page's logged-in user
	PublicURL     string       // base URL of this server, for page redirects
	// Catalog caches what registration reads of the catalog (nil: read it
	// from the database every time).
	Catalog *CatalogCache
	// Recruitments, when set, turns a line's recruiter into a recruitment
	// (package recruitment), in the order's transaction.
	Recruitments func(ctx context.Context, tx *sql.Tx, r RecruiterLine) error
	// Writer, when set and running, writes single-statement registrations
	// in batches (PostgreSQL).
	Writer *BatchWriter
}

// RecruiterLine is an order line sent with a recruiter, once the order is stored.
type RecruiterLine struct {
	CompanyID int64
	OrderID   int64
	Recruiter int64  // customer number
	Recruited int64  // the line's receiver
	Product   string // the subscription product of the line
	Now       time.Time
}

func (d Deps) catalog() catalogReader {
	if d.Catalog != nil {
		return d.Catalog
	}
	return dbCatalog{}
}

// Claim is an idempotency key claimed for one request.
type claim struct {
	key       string
	expiresAt *int64
	conflict  string // the 409 message when the key was used for another body
}

// claimKeys takes the request's idempotency keys inside tx. It returns the
// id already recorded under a key (a replay), or 0 when this request owns
// every key. A key used with another body is a Conflict.
func claimKeys(ctx context.Context, tx *sql.Tx, companyID int64, clientID, kind, hash string, claims []claim, now time.Time) (int64, error) {
	ms := now.UnixMilli()
	for _, c := range claims {
		// Taking the key blocks while another transaction holds it; an expired
		// Idempotency-Key is taken over.
		var got string
		err := tx.QueryRowContext(ctx, `INSERT INTO order_claims (client_id, claim_key, company_id, kind, request_hash, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (client_id, claim_key) DO UPDATE SET request_hash = excluded.request_hash, result_id = NULL,
				expires_at = excluded.expires_at, created_at = excluded.created_at
			WHERE order_claims.expires_at IS NOT NULL AND order_claims.expires_at < $7
			RETURNING claim_key`, clientID, c.key, companyID, kind, hash, c.expiresAt, ms).Scan(&got)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, store.Translate(err)
		}
		var have string
		var result sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT request_hash, result_id FROM order_claims WHERE client_id = $1 AND claim_key = $2`,
			clientID, c.key).Scan(&have, &result); err != nil {
			return 0, store.Translate(err)
		}
		if have != hash || !result.Valid {
			msg := c.conflict
			if result.Valid && strings.Contains(msg, "%d") {
				msg = fmt.Sprintf(msg, result.Int64)
			} else {
				msg = strings.ReplaceAll(msg, " %d", "")
			}
			return 0, errs.E(errs.Conflict, "%s", msg)
		}
		return result.Int64, nil
	}
	return 0, nil
}

func settleClaims(ctx context.Context, tx *sql.Tx, clientID string, claims []claim, id int64) error {
	for _, c := range claims {
		if _, err := tx.ExecContext(ctx, `UPDATE order_claims SET result_id = $3 WHERE client_id = $1 AND claim_key = $2`,
			clientID, c.key, id); err != nil {
			return store.Translate(err)
		}
	}
	return nil
}

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

func idempotencyClaim(c Caller, key string, now time.Time) (claim, error) {
	if !idemKeyRe.MatchString(key) {
		return claim{}, errs.Field("Idempotency-Key", "must be 1 to 64 printable ASCII characters")
	}
	exp := now.Add(IdempotencyTTL).UnixMilli()
	scope := "hdr:"
	if c.UserMode {
		scope = fmt.Sprintf("hdr:u%d:", c.UserNumber)
	}
	return claim{key: scope + key, expiresAt: &exp,
		conflict: "Idempotency-Key was used for another request (order %d)"}, nil
}

// line is a validated, priced line ready to store.
type line struct {
	req        *LineRequest
	no         int
	product    string
	unitPrice  value.Money
	amount     value.Money
	startDate  string
	voucherID  *int64
	rewardRow  *int64
	receiver   int64
	recruiter  *int64
	coupon     *catalog.Coupon
	deliverNow bool
}

// Register validates and stores an order. idemKey is the Idempotency-Key
// header ("" when absent). A repeated request (same key or externalOrderId,
// same body) returns the first order.
//
// On PostgreSQL an order whose validation needs nothing but the catalog
// (cached) and an existing payer is written by one statement, which also
// checks the payer and takes its one idempotency key (registerInOneStatement).
// Every other order, and every one that statement does not write, takes the
// transactional path, which reports problems exactly as it always has.
func Register(ctx context.Context, db *store.DB, d Deps, c Caller, req *RegisterRequest, idemKey string, now time.Time) (RegisterResult, error) {
	if err := req.validate(); err != nil {
		return RegisterResult{}, err
	}
	if req.CompanyCode != "" && req.CompanyCode != c.CompanyCode {
		return RegisterResult{}, errs.Field("companyCode", "must be the caller's company (%s)", c.CompanyCode)
	}
	if c.UserMode && req.UniqueUserID != "" && req.UniqueUserID != c.UniqueID {
		return RegisterResult{}, errs.Field("uniqueUserId", "must be absent or the logged-in user")
	}
	var claims []claim
	if req.ExternalOrderID != "" {
		claims = append(claims, claim{key: "ext:" + req.ExternalOrderID,
			conflict: fmt.Sprintf("externalOrderId %s is already used by order %%d with a different body", req.ExternalOrderID)})
	}
	if idemKey != "" {
		cl, err := idempotencyClaim(c, idemKey, now)
		if err != nil {
			return RegisterResult{}, err
		}
		claims = append(claims, cl)
	}
	// The hash tells a retry from a different order under the same key, so
	// only an order with a key needs it (orders.request_hash is '' without).
	hash := ""
	if len(claims) > 0 {
		hash = req.Hash(fmt.Sprintf("|%s|%d", c.ClientID, c.UserNumber))
	}
	cat := d.catalog()
	if db.Dialect == store.Postgres && len(claims) <= 1 {
		res, done, err := registerInOneStatement(ctx, db, d, cat, c, req, hash, claims, now)
		if done || err != nil {
			return res, err
		}
	}
	var res RegisterResult
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		replay, err := claimKeys(ctx, tx, c.CompanyID, c.ClientID, "order", hash, claims, now)
		if err != nil {
			return err
		}
		if replay != 0 {
			res, err = resultOf(ctx, tx, c.CompanyID, replay)
			return err
		}
		r := &resolver{d: d, cat: cat, c: c, tx: tx, q: tx, now: now}
		o, err := r.resolve(ctx, req)
		if err != nil {
			return err
		}
		id, err := insertOrder(ctx, tx, db.Dialect, c, req, o, hash, writeOptions{}, now)
		if err != nil {
			return err
		}
		for _, l := range o.lines {
			if l.recruiter != nil && d.Recruitments != nil {
				if err := d.Recruitments(ctx, tx, RecruiterLine{CompanyID: c.CompanyID, OrderID: id, Recruiter: *l.recruiter,
					Recruited: l.receiver, Product: l.recruitProduct(), Now: now}); err != nil {
					return err
				}
			}
			if l.rewardRow != nil {
				if err := catalog.ReserveReward(ctx, tx, *l.rewardRow, id, fmt.Sprintf("orderLines[%d].rewardId", l.no)); err != nil {
					return err
				}
			}
		}
		res = RegisterResult{OrderID: id, CustomerNumber: o.payer, OrderStatus: Preliminary}
		return settleClaims(ctx, tx, c.ClientID, claims, id)
	})
	return res, err
}

// registerInOneStatement validates the order without the database (beyond
// catalog cache misses) and writes it with one statement: payer check,
// idempotency key, order, lines and the "order" event, atomically. done is
// false when the order needs the transactional path: validation needs the
// database or failed (that path reports it, after a possible replay), the
// payer is unknown, or the key is already taken (a replay or a conflict,
// which the transactional path waits for and answers).
func registerInOneStatement(ctx context.Context, db *store.DB, d Deps, cat catalogReader, c Caller, req *RegisterRequest,
	hash string, claims []claim, now time.Time) (res RegisterResult, done bool, err error) {
	r := &resolver{d: d, cat: cat, c: c, q: db, now: now}
	o, err := r.resolve(ctx, req)
	if err != nil {
		return RegisterResult{}, false, nil
	}
	opts := writeOptions{checkPayer: true}
	if len(claims) == 1 {
		opts.claim = &claims[0]
	}
	var id int64
	if d.Writer != nil && db.Dialect == store.Postgres {
		id, err = d.Writer.insert(ctx, batchRow{c: c, req: req, o: o, hash: hash, opts: opts, now: now})
	} else {
		id, err = insertOrder(ctx, db, db.Dialect, c, req, o, hash, opts, now)
	}
	if err != nil || id == 0 {
		return RegisterResult{}, false, err
	}
	return RegisterResult{OrderID: id, CustomerNumber: o.payer, OrderStatus: Preliminary}, true, nil
}

func resultOf(ctx context.Context, q store.Queryer, companyID, id int64) (RegisterResult, error) {
	r := RegisterResult{OrderID: id}
	err := q.QueryRowContext(ctx, `SELECT payer_customer_number, status FROM orders WHERE company_id = $1 AND id = $2`,
		companyID, id).Scan(&r.CustomerNumber, &r.OrderStatus)
	return r, store.Translate(err)
}

// errNeedsTx stops validation outside a transaction at the first step that
// needs the database beyond the catalog (a voucher, a reward, a new customer,
// a user lookup): such orders take the transactional path.
var errNeedsTx = errors.New("order: validation needs a transaction")

// resolver validates an order against the catalog and the company's data.
type resolver struct {
	d   Deps
	cat catalogReader
	c   Caller
	tx  *sql.Tx       // nil outside a transaction: see errNeedsTx
	q   store.Queryer // where catalog reads go on a cache miss: tx, or the pool
	now time.Time
}

// resolved is a validated, priced order ready to store.
type resolved struct {
	co         *companyInfo
	payer      int64
	userNumber *int64
	lines      []*line
	total      value.Money
}

func (r *resolver) resolve(ctx context.Context, req *RegisterRequest) (*resolved, error) {
	c := r.c
	co, err := r.cat.company(ctx, r.q, c.CompanyID)
	if err != nil {
		return nil, err
	}
	if req.Currency != "" && !strings.EqualFold(req.Currency, co.Currency) {
		return nil, errs.Field("currency", "must be the company's currency %s", co.Currency)
	}
	if needsGateway(req.PaymentMethod) {
		g, err := r.cat.gateway(ctx, r.q, c.CompanyID, req.PaymentMethod)
		if err != nil {
			return nil, err
		}
		if g == "" || r.d.Gateways[g] == nil {
			return nil, errs.Field("paymentMethod", "%s is not set up for this company", req.PaymentMethod)
		}
	}
	if req.MarketingCouponNumber != nil {
		if _, err := r.cat.coupon(ctx, r.q, c.CompanyID, req.MarketingCouponCode, *req.MarketingCouponNumber); errs.Is(err, errs.NotFound) {
			return nil, errs.Field("marketingCouponCode", "unknown coupon %s/%d", req.MarketingCouponCode, *req.MarketingCouponNumber)
		} else if err != nil {
			return nil, err
		}
	}

	// The user: the caller in user mode, or uniqueUserId in client mode.
	var userNumber *int64
	switch {
	case c.UserMode:
		userNumber = &c.UserNumber
	case req.UniqueUserID != "":
		if r.d.Users == nil {
			return nil, errs.E(errs.NotFound, "no user %s", req.UniqueUserID)
		}
		if r.tx == nil {
			return nil, errNeedsTx
		}
		n, found, err := r.d.Users.UserNumber(ctx, r.tx, req.UniqueUserID)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, errs.E(errs.NotFound, "no user %s", req.UniqueUserID)
		}
		userNumber = &n
	}

	payer, err := r.payer(ctx, req.Payer, userNumber)
	if err != nil {
		return nil, err
	}

	today := r.now.In(co.loc)
	todayDate := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, co.loc)
	o := &resolved{co: co, payer: payer, userNumber: userNumber, lines: make([]*line, len(req.OrderLines))}
	for i := range req.OrderLines {
		l, err := r.line(ctx, &req.OrderLines[i], i, payer, co, todayDate)
		if err != nil {
			return nil, err
		}
		o.lines[i] = l
	}
	// Discounts, amounts, the total and the claimed prices (dependency.go).
	if err := r.price(ctx, req, o); err != nil {
		return nil, err
	}
	return o, nil
}

func orderEvent(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, id int64, ext string, payer int64, clientID, status string, now time.Time) error {
	_, err := event.Record(ctx, tx, event.Event{CompanyID: companyID, Source: companyCode, Type: event.TypeOrder, Status: status,
		Data: orderEventData(id, ext, payer, clientID), Time: now})
	return err
}

// payer finds or creates the paying customer. Outside a transaction only a
// client's order for a given customer number resolves, unchecked: the
// statement that writes the order checks that the customer is the company's.
func (r *resolver) payer(ctx context.Context, in *customer.Input, userNumber *int64) (int64, error) {
	n, err := r.payerNumber(ctx, in, userNumber)
	if err != nil {
		return 0, err
	}
	return n, r.applyChoices(ctx, in, n, "payer", "order")
}

// applyChoices applies a payer's or receiver's permissions[] and privacy[]
// (spec privacy.md, as order.md asks) to customer number, in the order's
// transaction: an invalid or unknown choice fails the order, naming the field.
func (r *resolver) applyChoices(ctx context.Context, in *customer.Input, number int64, prefix, source string) error {
	if len(in.Permissions) == 0 && len(in.Privacy) == 0 {
		return nil
	}
	pc, err := choice.FromRaw(in.Permissions, in.Privacy, prefix)
	if err != nil || pc.Empty() {
		return err
	}
	if r.tx == nil {
		return errNeedsTx // the one-statement path writes no choices
	}
	if err := privacy.CheckPayerChoices(ctx, r.tx, r.c.CompanyID, pc, prefix); err != nil {
		return err
	}
	return privacy.ApplyPayerChoices(ctx, r.tx, r.c.CompanyID, number, pc, prefix, r.c.ClientID, source, r.now)
}

// payerNumber is payer without the choices.
func (r *resolver) payerNumber(ctx context.Context, in *customer.Input, userNumber *int64) (int64, error) {
	c, tx := r.c, r.tx
	if tx == nil {
		if !c.UserMode && in.CustomerNumber != nil && userNumber == nil {
			return *in.CustomerNumber, nil
		}
		return 0, errNeedsTx
	}
	var linked int64
	if userNumber != nil {
		n, err := customer.NumberOfUser(ctx, tx, c.CompanyID, *userNumber)
		if err != nil {
			return 0, err
		}
		linked = n
	}
	if c.UserMode {
		if in.CustomerNumber != nil && (linked == 0 || *in.CustomerNumber != linked) {
			return 0, errs.Field("payer.customerNumber", "must be absent or the logged-in user's customer")
		}
		if linked != 0 {
			return linked, nil
		}
		// The user's first order at the company creates their customer.
		return customer.Create(ctx, tx, customer.NewCustomer{CompanyID: c.CompanyID, CompanyCode: c.CompanyCode,
			Prefix: "payer.", Required: customer.RequirePayer, UserID: userNumber, Now: r.now}, in)
	}
	if in.CustomerNumber != nil {
		if _, err := customer.IDOf(ctx, tx, c.CompanyID, *in.CustomerNumber); err != nil {
			return 0, err
		}
		return *in.CustomerNumber, nil
	}
	if linked != 0 {
		return linked, nil
	}
	return customer.Create(ctx, tx, customer.NewCustomer{CompanyID: c.CompanyID, CompanyCode: c.CompanyCode,
		Prefix: "payer.", Required: customer.RequirePayer, Now: r.now}, in)
}

// line validates one line against the catalog and prices it.
func (r *resolver) line(ctx context.Context, l *LineRequest, i int, payer int64, co *companyInfo, today time.Time) (*line, error) {
	c, tx, now, loc := r.c, r.tx, r.now, co.loc
	p := fmt.Sprintf("orderLines[%d].", i)
	out := &line{req: l, no: i, receiver: payer}
	backdate, ahead := 0, DefaultMaxDays
	switch l.ProductSpecType {
	case "coupon", "issue":
		cp, err := r.cat.coupon(ctx, r.q, c.CompanyID, l.ProductSpecCode, *l.ProductSpecNo)
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Field(p+"productSpecCode", "unknown coupon %s/%d", l.ProductSpecCode, *l.ProductSpecNo)
		}
		if err != nil {
			return nil, err
		}
		if !cp.OpenAt(now) {
			return nil, errs.Field(p+"productSpecCode", "coupon %s/%d cannot be ordered now (outside its validity window)", cp.CouponCode, cp.CouponNumber)
		}
		out.coupon, out.unitPrice = cp, cp.Price
		out.product = cp.ProductCode
		if l.ProductSpecType == "issue" {
			out.product = l.Product // the issue code; priced by the periodical's coupon
		} else if l.Product != "" && l.Product != cp.ProductCode {
			return nil, errs.Field(p+"product", "coupon %s/%d is for product %s", cp.CouponCode, cp.CouponNumber, cp.ProductCode)
		}
		backdate, ahead = cp.BackdateDays, cp.MaxStartDays
		if cp.Currency != co.Currency {
			return nil, errs.Field(p+"productSpecCode", "coupon is priced in %s, not the company currency %s", cp.Currency, co.Currency)
		}
	case "product":
		pi, err := r.cat.product(ctx, r.q, c.CompanyID, l.Product)
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Field(p+"product", "unknown product %s", l.Product)
		}
		if err != nil {
			return nil, err
		}
		if !pi.ActiveAt(now) {
			return nil, errs.Field(p+"product", "product %s is not sold now", l.Product)
		}
		if pi.Price == nil {
			return nil, errs.Field(p+"product", "product %s has no price", l.Product)
		}
		out.product, out.unitPrice, out.deliverNow = pi.Code, *pi.Price, pi.Digital
	case "article":
		a := l.ArticleDetail
		if a.CompanyCode != "" && a.CompanyCode != c.CompanyCode {
			return nil, errs.Field(p+"articleDetail.companyCode", "must be the caller's company (%s)", c.CompanyCode)
		}
		ap, err := r.cat.article(ctx, r.q, c.CompanyID, a.Product, a.ArticleCategory)
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Field(p+"articleDetail.product", "unknown article product %s", a.Product)
		}
		if err != nil {
			return nil, err
		}
		out.product, out.unitPrice, out.deliverNow = ap.Product, ap.Price, true
	}
	// out.unitPrice is the catalog price: once every line is known, r.price
	// (dependency.go) discounts it, checks the claimed unitPrice and sets amount.

	start := today
	if l.StartInfo != nil && !l.StartInfo.StartDate.IsZero() {
		t := l.StartInfo.StartDate.Time(loc).In(loc)
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	}
	if start.Before(today.AddDate(0, 0, -backdate)) {
		if backdate == 0 {
			return nil, errs.Field(p+"startInfo.startDate", "must not be in the past")
		}
		return nil, errs.Field(p+"startInfo.startDate", "must not be more than %d days in the past", backdate)
	}
	if start.After(today.AddDate(0, 0, ahead)) {
		return nil, errs.Field(p+"startInfo.startDate", "must be at most %d days ahead", ahead)
	}
	out.startDate = start.Format("2006-01-02")

	if l.VoucherCode != "" {
		if l.ProductSpecType != "coupon" {
			return nil, errs.Field(p+"voucherCode", "vouchers apply to coupon lines")
		}
		if tx == nil {
			return nil, errNeedsTx
		}
		v, err := catalog.FindVoucher(ctx, tx, c.CompanyID, l.VoucherCode)
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Field(p+"voucherCode", "unknown voucher code")
		}
		if err != nil {
			return nil, err
		}
		if why := v.Usable(now); why != "" {
			return nil, errs.Field(p+"voucherCode", "%s", why)
		}
		allowed, err := catalog.VoucherCoupons(ctx, tx, c.CompanyID, v.ID)
		if err != nil {
			return nil, err
		}
		ok := false
		for _, a := range allowed {
			ok = ok || (a.CouponCode == out.coupon.CouponCode && a.CouponNumber == out.coupon.CouponNumber)
		}
		if !ok {
			return nil, errs.Field(p+"voucherCode", "voucher code is not valid for coupon %s/%d", out.coupon.CouponCode, out.coupon.CouponNumber)
		}
		if err := catalog.ReserveVoucher(ctx, tx, v.ID, p+"voucherCode"); err != nil {
			return nil, err
		}
		out.voucherID = &v.ID
	}
	if l.RewardPartnerID != nil {
		if tx == nil {
			return nil, errNeedsTx
		}
		rw, err := catalog.GetReward(ctx, tx, c.CompanyID, *l.RewardPartnerID, l.RewardID)
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Field(p+"rewardId", "unknown reward")
		}
		if err != nil {
			return nil, err
		}
		if rw.Product != out.product && !(out.coupon != nil && rw.Product == out.coupon.ProductCode) {
			return nil, errs.Field(p+"rewardId", "the reward is for product %s", rw.Product)
		}
		if rw.Redeemed || rw.ReservedOrderID != nil {
			return nil, errs.Field(p+"rewardId", "reward is already used")
		}
		out.rewardRow = &rw.ID
	}
	if l.CategoryCode != "" {
		ok, err := r.cat.categoryCode(ctx, r.q, c.CompanyID, l.CategoryCode)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.Field(p+"categoryCode", "unknown category code %s", l.CategoryCode)
		}
	}
	if l.AllowAccessProduct != "" {
		ok, err := productExists(ctx, r.cat, r.q, c.CompanyID, l.AllowAccessProduct)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.Field(p+"allowAccessProduct", "unknown product %s", l.AllowAccessProduct)
		}
		if l.ProductSpecType == "issue" && out.coupon.ProductCode != l.AllowAccessProduct {
			return nil, errs.Field(p+"allowAccessProduct", "the issue belongs to %s", out.coupon.ProductCode)
		}
	}
	if l.Receiver != nil {
		n, err := r.otherParty(ctx, l.Receiver, p+"receiver.", customer.RequireReceiver)
		if err != nil {
			return nil, err
		}
		out.receiver = n
	}
	if l.Recruiter != nil {
		n, err := r.otherParty(ctx, l.Recruiter, p+"recruiter.", customer.RequireReceiver)
		if err != nil {
			return nil, err
		}
		out.recruiter = &n
	}
	return out, nil
}

// otherParty returns a receiver's or recruiter's customer number: the given
// one (which must be the company's) or a new customer.
func (r *resolver) otherParty(ctx context.Context, in *customer.Input, prefix string, req customer.Required) (int64, error) {
	c, tx := r.c, r.tx
	if tx == nil {
		return 0, errNeedsTx
	}
	n := int64(0)
	if in.CustomerNumber != nil {
		if _, err := customer.IDOf(ctx, tx, c.CompanyID, *in.CustomerNumber); err != nil {
			return 0, err
		}
		n = *in.CustomerNumber
	} else {
		var err error
		if n, err = customer.Create(ctx, tx, customer.NewCustomer{CompanyID: c.CompanyID, CompanyCode: c.CompanyCode,
			Prefix: prefix, Required: req, Now: r.now}, in); err != nil {
			return 0, err
		}
	}
	return n, r.applyChoices(ctx, in, n, strings.TrimSuffix(prefix, "."), "order")
}
