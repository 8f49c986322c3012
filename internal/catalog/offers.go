package catalog

// Offers: coupons, voucher codes, article prices, rewards and customer
// category types, read by orders and served by the Coupon, Voucher Coupons,
// Reward and Category operations (spec/order.md, spec/customer.md).

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/value"
)

// Coupon is a stored offer joined with its product's currency, VAT and kind.
type Coupon struct {
	ID                  int64
	ProductCode         string
	CouponCode          string
	CouponNumber        int64
	Description         string
	Price               value.Money
	VatInclude          bool
	PeriodLength        int
	PeriodType          string // day, week, month, year
	RenewalPrice        *value.Money
	RenewalPeriodLength int
	RenewalPeriodType   string
	StartTime           int64
	EndTime             *int64
	BackdateDays        int
	MaxStartDays        int
	ExtraProducts       []string
	DistributionPrice   value.Money
	Copies              int
	Marketing           CouponMarketing
	// From the product.
	Currency    string
	VatPercent  value.Percent
	Digital     bool
	ProductType string
}

// CouponMarketing is the marketing block of List coupon.
type CouponMarketing struct {
	Project     string `json:"project,omitempty"`
	Market      string `json:"market,omitempty"`
	Activity    string `json:"activity,omitempty"`
	SalesMethod string `json:"salesMethod,omitempty"`
}

// OpenAt reports whether the coupon can be ordered at t.
func (c *Coupon) OpenAt(t time.Time) bool {
	ms := t.UnixMilli()
	return c.StartTime <= ms && (c.EndTime == nil || ms < *c.EndTime)
}

const couponColumns = `c.id, c.product_code, c.coupon_code, c.coupon_number, c.description, c.price, c.vat_include,
	c.period_length, c.period_type, c.renewal_price, c.renewal_period_length, c.renewal_period_type,
	c.start_time, c.end_time, c.backdate_days, c.max_start_days, c.extra_products, c.distribution_price, c.copies,
	c.marketing_project, c.marketing_market, c.marketing_activity, c.marketing_sales_method,
	p.currency, COALESCE(p.vat_percent, 0), p.digital, p.product_type`

func scanCoupon(row interface{ Scan(...any) error }) (*Coupon, error) {
	var (
		c                 Coupon
		renewal, renewLen sql.NullInt64
		end               sql.NullInt64
		extra             string
		price, dist       int64
		vat               int64
	)
	err := row.Scan(&c.ID, &c.ProductCode, &c.CouponCode, &c.CouponNumber, &c.Description, &price, &c.VatInclude,
		&c.PeriodLength, &c.PeriodType, &renewal, &renewLen, &c.RenewalPeriodType,
		&c.StartTime, &end, &c.BackdateDays, &c.MaxStartDays, &extra, &dist, &c.Copies,
		&c.Marketing.Project, &c.Marketing.Market, &c.Marketing.Activity, &c.Marketing.SalesMethod,
		&c.Currency, &vat, &c.Digital, &c.ProductType)
	if err != nil {
		return nil, err
	}
	c.Price, c.DistributionPrice, c.VatPercent = value.Money(price), value.Money(dist), value.Percent(vat)
	if renewal.Valid {
		m := value.Money(renewal.Int64)
		c.RenewalPrice = &m
	}
	c.RenewalPeriodLength = int(renewLen.Int64)
	if end.Valid {
		c.EndTime = &end.Int64
	}
	if extra != "" {
		c.ExtraProducts = strings.Split(extra, ",")
	}
	return &c, nil
}

// GetCoupon returns the company's coupon; errs.NotFound when there is none.
func GetCoupon(ctx context.Context, q store.Queryer, companyID int64, code string, number int64) (*Coupon, error) {
	c, err := scanCoupon(q.QueryRowContext(ctx, `SELECT `+couponColumns+`
		FROM coupons c JOIN products p ON p.company_id = c.company_id AND p.code = c.product_code
		WHERE c.company_id = $1 AND c.coupon_code = $2 AND c.coupon_number = $3`, companyID, code, number))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no coupon %s/%d", code, number)
	}
	return c, store.Translate(err)
}

// ListCoupons returns the product's coupons by code, then number; number > 0
// narrows to one coupon number.
func ListCoupons(ctx context.Context, q store.Queryer, companyID int64, product string, number int64) ([]*Coupon, error) {
	query := `SELECT ` + couponColumns + `
		FROM coupons c JOIN products p ON p.company_id = c.company_id AND p.code = c.product_code
		WHERE c.company_id = $1 AND c.product_code = $2`
	args := []any{companyID, product}
	if number > 0 {
		query += ` AND c.coupon_number = $3`
		args = append(args, number)
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY c.coupon_code, c.coupon_number`, args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var out []*Coupon
	for rows.Next() {
		c, err := scanCoupon(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ProductExists reports whether the company has the product.
func ProductExists(ctx context.Context, q store.Queryer, companyID int64, code string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM products WHERE company_id = $1 AND code = $2`, companyID, code).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, store.Translate(err)
}

// ProductInfo is what orders need of a product sold singly.
type ProductInfo struct {
	Code, Description, ProductType, Currency string
	Price                                    *value.Money // web offer price, else retail price
	VatPercent                               value.Percent
	Digital                                  bool
	StartTime                                int64
	EndTime                                  *int64
}

// GetProductInfo returns one product; errs.NotFound when missing.
func GetProductInfo(ctx context.Context, q store.Queryer, companyID int64, code string) (*ProductInfo, error) {
	var (
		p                ProductInfo
		retail, web, vat sql.NullInt64
		end              sql.NullInt64
	)
	err := q.QueryRowContext(ctx, `SELECT code, description, product_type, currency, retail_price, web_offer_price,
		vat_percent, digital, start_time, end_time FROM products WHERE company_id = $1 AND code = $2`, companyID, code).
		Scan(&p.Code, &p.Description, &p.ProductType, &p.Currency, &retail, &web, &vat, &p.Digital, &p.StartTime, &end)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no product %s", code)
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	switch {
	case web.Valid:
		m := value.Money(web.Int64)
		p.Price = &m
	case retail.Valid:
		m := value.Money(retail.Int64)
		p.Price = &m
	}
	p.VatPercent = value.Percent(vat.Int64)
	if end.Valid {
		p.EndTime = &end.Int64
	}
	return &p, nil
}

// ActiveAt reports whether the product is sold at t.
func (p *ProductInfo) ActiveAt(t time.Time) bool {
	ms := t.UnixMilli()
	return p.StartTime <= ms && (p.EndTime == nil || ms < *p.EndTime)
}

// VatOf returns the VAT part of amount at percent: of a VAT-inclusive amount
// when include, else on top of it. Rounded half up to whole minor units.
func VatOf(amount value.Money, percent value.Percent, include bool) value.Money {
	a, p := int64(amount), int64(percent)
	if p == 0 || a == 0 {
		return 0
	}
	if include {
		return value.Money((a*p*2 + (10000 + p)) / ((10000 + p) * 2))
	}
	return value.Money((a*p + 5000) / 10000)
}

// Voucher is a voucher code with its window and uses.
type Voucher struct {
	ID                      int64
	Code, Description       string
	ValidFrom               int64
	ValidTo                 *int64
	MaxUses, Reserved, Used int
}

// FindVoucher looks a code up case-insensitively; errs.NotFound when unknown.
func FindVoucher(ctx context.Context, q store.Queryer, companyID int64, code string) (*Voucher, error) {
	var v Voucher
	var to sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT id, code, description, valid_from, valid_to, max_uses, reserved, used
		FROM vouchers WHERE company_id = $1 AND code_key = $2`, companyID, strings.ToLower(code)).
		Scan(&v.ID, &v.Code, &v.Description, &v.ValidFrom, &to, &v.MaxUses, &v.Reserved, &v.Used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "unknown voucher code")
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	if to.Valid {
		v.ValidTo = &to.Int64
	}
	return &v, nil
}

// Usable returns why the voucher cannot be used at t ("" when it can).
func (v *Voucher) Usable(t time.Time) string {
	ms := t.UnixMilli()
	switch {
	case ms < v.ValidFrom:
		return "voucher code is not yet valid"
	case v.ValidTo != nil && ms >= *v.ValidTo:
		return "voucher code has expired"
	case v.Reserved+v.Used >= v.MaxUses:
		return "voucher code is used up"
	}
	return ""
}

// VoucherCoupon is a coupon a voucher may be used with.
type VoucherCoupon struct {
	CouponCode   string `json:"couponCode"`
	CouponNumber int64  `json:"couponNumber"`
	Description  string `json:"description,omitempty"`
	Product      string `json:"product"`
}

// VoucherCoupons lists the coupons of a voucher by code, then number.
func VoucherCoupons(ctx context.Context, q store.Queryer, companyID, voucherID int64) ([]VoucherCoupon, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.coupon_code, c.coupon_number, c.description, c.product_code
		FROM voucher_coupons vc JOIN coupons c ON c.company_id = $1 AND c.coupon_code = vc.coupon_code AND c.coupon_number = vc.coupon_number
		WHERE vc.voucher_id = $2 ORDER BY c.coupon_code, c.coupon_number`, companyID, voucherID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []VoucherCoupon{}
	for rows.Next() {
		var c VoucherCoupon
		if err := rows.Scan(&c.CouponCode, &c.CouponNumber, &c.Description, &c.Product); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ReserveVoucher takes one use of the voucher for an open order, atomically:
// it fails with a validation error when none is left.
func ReserveVoucher(ctx context.Context, tx *sql.Tx, voucherID int64, field string) error {
	res, err := tx.ExecContext(ctx, `UPDATE vouchers SET reserved = reserved + 1 WHERE id = $1 AND reserved + used < max_uses`, voucherID)
	if err != nil {
		return store.Translate(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.Field(field, "voucher code is used up")
	}
	return nil
}

// SettleVoucher ends a reservation: consumed (the order completed) or released.
func SettleVoucher(ctx context.Context, tx *sql.Tx, voucherID int64, consumed bool) error {
	q := `UPDATE vouchers SET reserved = reserved - 1 WHERE id = $1 AND reserved > 0`
	if consumed {
		q = `UPDATE vouchers SET reserved = reserved - 1, used = used + 1 WHERE id = $1 AND reserved > 0`
	}
	_, err := tx.ExecContext(ctx, q, voucherID)
	return store.Translate(err)
}

// ArticlePrice is the price of an article product for a category.
type ArticlePrice struct {
	Product    string
	Price      value.Money
	Currency   string
	VatPercent value.Percent
}

// GetArticlePrice returns the price for articleCategory, falling back to the
// product's default article price (” category). errs.NotFound when the
// product has no article price.
func GetArticlePrice(ctx context.Context, q store.Queryer, companyID int64, product, category string) (*ArticlePrice, error) {
	var a ArticlePrice
	var price, vat int64
	err := q.QueryRowContext(ctx, `SELECT a.product_code, a.price, p.currency, COALESCE(p.vat_percent, 0)
		FROM article_prices a JOIN products p ON p.company_id = a.company_id AND p.code = a.product_code
		WHERE a.company_id = $1 AND a.product_code = $2 AND a.article_category IN ($3, '')
		ORDER BY CASE WHEN a.article_category = $3 THEN 0 ELSE 1 END LIMIT 1`, companyID, product, category).
		Scan(&a.Product, &price, &a.Currency, &vat)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no article product %s", product)
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	a.Price, a.VatPercent = value.Money(price), value.Percent(vat)
	return &a, nil
}

// Reward is a partner's reward.
type Reward struct {
	ID              int64
	PartnerID       int64
	RewardID        string
	Product         string
	CustomerNumber  *int64
	ReservedOrderID *int64
	Redeemed        bool
}

// GetReward finds a reward by partner and id; errs.NotFound when unknown.
func GetReward(ctx context.Context, q store.Queryer, companyID, partnerID int64, rewardID string) (*Reward, error) {
	var r Reward
	var cust, order sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT id, partner_id, reward_id, product_code, customer_number, reserved_order_id, redeemed
		FROM rewards WHERE company_id = $1 AND partner_id = $2 AND reward_id = $3`, companyID, partnerID, rewardID).
		Scan(&r.ID, &r.PartnerID, &r.RewardID, &r.Product, &cust, &order, &r.Redeemed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no reward %s of partner %d", rewardID, partnerID)
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	if cust.Valid {
		r.CustomerNumber = &cust.Int64
	}
	if order.Valid {
		r.ReservedOrderID = &order.Int64
	}
	return &r, nil
}

// ReserveReward lets an open order hold the reward; a reward already held or
// redeemed is a validation error on field.
func ReserveReward(ctx context.Context, tx *sql.Tx, rewardRowID, orderID int64, field string) error {
	res, err := tx.ExecContext(ctx, `UPDATE rewards SET reserved_order_id = $2
		WHERE id = $1 AND reserved_order_id IS NULL AND NOT redeemed`, rewardRowID, orderID)
	if err != nil {
		return store.Translate(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.Field(field, "reward is already used")
	}
	return nil
}

// SettleReward ends an order's hold: redeemed for customerNumber when the
// order completed, else released.
func SettleReward(ctx context.Context, tx *sql.Tx, orderID int64, completed bool, customerNumber int64) error {
	var err error
	if completed {
		_, err = tx.ExecContext(ctx, `UPDATE rewards SET redeemed = $2, customer_number = $3, reserved_order_id = NULL
			WHERE reserved_order_id = $1`, orderID, true, customerNumber)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE rewards SET reserved_order_id = NULL WHERE reserved_order_id = $1`, orderID)
	}
	return store.Translate(err)
}

// CategoryCodeExists reports whether the company has the category code (in
// any type).
func CategoryCodeExists(ctx context.Context, q store.Queryer, companyID int64, code string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM category_codes WHERE company_id = $1 AND category_code = $2 LIMIT 1`, companyID, code).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, store.Translate(err)
}

// GatewayFor returns the payment gateway that serves method for the company,
// or "" when the company has not set the method up.
func GatewayFor(ctx context.Context, q store.Queryer, companyID int64, method string) (string, error) {
	var g string
	err := q.QueryRowContext(ctx, `SELECT gateway FROM payment_methods WHERE company_id = $1 AND method = $2`, companyID, method).Scan(&g)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return g, store.Translate(err)
}

// Amount renders money as List coupon does: "299", or "84.50" when not whole.
func Amount(m value.Money) string {
	v := int64(m)
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v/100, 10)
	if v%100 != 0 {
		s += "." + strconv.FormatInt(100+v%100, 10)[1:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
