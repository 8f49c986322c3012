package tenant

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Catalog data beside products, as declared in a tenant file: coupons
// (offers), voucher codes, article prices, rewards, category types and the
// payment methods a company accepts. The shapes live here because tenant
// parses the file; package catalog applies them (CatalogApplier).

// CouponSpec is an offer on a product (spec/order.md "Coupon").
type CouponSpec struct {
	Product             string           `yaml:"product"`
	CouponCode          string           `yaml:"couponCode"`
	CouponNumber        int              `yaml:"couponNumber"`
	Description         string           `yaml:"description"`
	Price               *Decimal         `yaml:"price"` // first period, main units
	VatInclude          *bool            `yaml:"vatInclude"`
	PeriodLength        int              `yaml:"periodLength"`
	PeriodType          string           `yaml:"periodType"` // day, week, month, year
	RenewalPrice        *Decimal         `yaml:"renewalPrice"`
	RenewalPeriodLength int              `yaml:"renewalPeriodLength"`
	RenewalPeriodType   string           `yaml:"renewalPeriodType"`
	StartTime           string           `yaml:"startTime"` // when the offer can first be ordered
	EndTime             string           `yaml:"endTime"`   // optional: last day it can be ordered
	BackdateDays        int              `yaml:"backdateDays"`
	MaxStartDays        int              `yaml:"maxStartDays"` // 0: 365
	ExtraProducts       []string         `yaml:"extraProducts"`
	DistributionPrice   *Decimal         `yaml:"distributionPrice"` // per period, print only
	Copies              int              `yaml:"copies"`            // 0: 1
	Marketing           *CouponMarketing `yaml:"marketing"`
}

// CouponMarketing is the optional marketing block of List coupon.
type CouponMarketing struct {
	Project     string `yaml:"project"`
	Market      string `yaml:"market"`
	Activity    string `yaml:"activity"`
	SalesMethod string `yaml:"salesMethod"`
}

// VoucherSpec is a voucher code usable with some coupons.
type VoucherSpec struct {
	Code        string      `yaml:"code"`
	Description string      `yaml:"description"`
	ValidFrom   string      `yaml:"validFrom"`
	ValidTo     string      `yaml:"validTo"`
	MaxUses     int         `yaml:"maxUses"` // 0: 1
	Coupons     []CouponRef `yaml:"coupons"`
}

// CouponRef names one coupon.
type CouponRef struct {
	CouponCode   string `yaml:"couponCode"`
	CouponNumber int    `yaml:"couponNumber"`
}

// ArticleSpec is the price of an article product, optionally for one
// articleCategory.
type ArticleSpec struct {
	Product         string   `yaml:"product"`
	ArticleCategory string   `yaml:"articleCategory"`
	Price           *Decimal `yaml:"price"`
}

// RewardSpec is a reward granted through a partner.
type RewardSpec struct {
	RewardPartnerID int    `yaml:"rewardPartnerId"`
	RewardID        string `yaml:"rewardId"`
	Product         string `yaml:"product"`
	Description     string `yaml:"description"`
}

// CategoryTypeSpec is a customer category type with its codes.
type CategoryTypeSpec struct {
	CategoryType string             `yaml:"categoryType"`
	Description  string             `yaml:"description"`
	Codes        []CategoryCodeSpec `yaml:"codes"`
}

// CategoryCodeSpec is one code of a category type.
type CategoryCodeSpec struct {
	CategoryCode string `yaml:"categoryCode"`
	Description  string `yaml:"description"`
}

// PaymentMethodSpec enables an order payment method (README §12.3) other
// than free and invoice, served by the named gateway.
type PaymentMethodSpec struct {
	Method  string `yaml:"method"`
	Gateway string `yaml:"gateway"`
}

// PaymentMethods are the order payment methods of spec README §12.3.
var PaymentMethods = []string{"invoice", "free", "sms", "smsPay", "vippsRecurring", "vippsEcommerce", "kco",
	"creditcardPayex", "swishPayex", "nexi", "other", "creditcard", "masterpass"}

// PeriodTypes maps accepted period words to the stored form.
var PeriodTypes = map[string]string{
	"day": "day", "days": "day", "week": "week", "weeks": "week",
	"month": "month", "months": "month", "year": "year", "years": "year",
}

// CatalogApplier writes one company's catalog sections (everything but
// products) inside the apply transaction, after its products.
type CatalogApplier func(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, c *Company, now time.Time) (created, updated int, err error)

// HasCatalog reports whether c declares any catalog section beside products.
func (c *Company) HasCatalog() bool {
	return len(c.Coupons)+len(c.Vouchers)+len(c.Articles)+len(c.Rewards)+len(c.CategoryTypes)+len(c.PaymentMethods) > 0
}

var (
	catalogCode = regexp.MustCompile(`^[A-Za-z0-9_-]{1,12}$`)
	voucherCode = regexp.MustCompile(`^[A-Za-z0-9_-]{1,36}$`)
)

// validateCatalog checks the catalog sections of company c (path cp).
func validateCatalog(c Company, cp string, bad func(field, format string, args ...any)) {
	code := func(field, v string, re *regexp.Regexp, limit int) bool {
		switch {
		case v == "":
			bad(field, "is required")
		case !re.MatchString(v):
			bad(field, "must be 1–%d characters of A–Z, a–z, 0–9, _ or -", limit)
		default:
			return true
		}
		return false
	}
	money := func(field string, d *Decimal, required bool) {
		if d == nil {
			if required {
				bad(field, "is required")
			}
			return
		}
		if _, err := d.Scaled(MoneyPlaces, MaxMoney); err != nil {
			bad(field, "%s", err)
		}
	}
	window := func(p, startField, start, endField, end string, startRequired bool) {
		var st time.Time
		var err error
		if start == "" {
			if startRequired {
				bad(p+"."+startField, "is required")
			}
		} else if st, err = ProductTime(start, time.UTC, false); err != nil {
			bad(p+"."+startField, "%s", err)
		}
		if end != "" {
			if e, err2 := ProductTime(end, time.UTC, true); err2 != nil {
				bad(p+"."+endField, "%s", err2)
			} else if start != "" && err == nil && !e.After(st) {
				bad(p+"."+endField, "must be after %s", startField)
			}
		}
	}
	products := map[string]bool{}
	for _, p := range c.Products {
		products[p.Product] = true
	}
	coupons := map[string]string{}
	for i, s := range c.Coupons {
		p := fmt.Sprintf("%s.coupons[%d]", cp, i)
		code(p+".product", s.Product, catalogCode, 12)
		if code(p+".couponCode", s.CouponCode, catalogCode, 12) {
			key := fmt.Sprintf("%s/%d", s.CouponCode, s.CouponNumber)
			if prev, dup := coupons[key]; dup {
				bad(p+".couponNumber", "duplicate coupon %s (also %s)", key, prev)
			}
			coupons[key] = p
		}
		if s.CouponNumber <= 0 {
			bad(p+".couponNumber", "must be a positive whole number")
		}
		if len(s.Description) > 255 {
			bad(p+".description", "must be at most 255 characters")
		}
		money(p+".price", s.Price, true)
		money(p+".renewalPrice", s.RenewalPrice, false)
		money(p+".distributionPrice", s.DistributionPrice, false)
		if s.PeriodLength <= 0 || s.PeriodLength > 1000 {
			bad(p+".periodLength", "must be a whole number from 1 to 1000")
		}
		if PeriodTypes[s.PeriodType] == "" {
			bad(p+".periodType", "must be day, week, month or year")
		}
		if s.RenewalPeriodType != "" && PeriodTypes[s.RenewalPeriodType] == "" {
			bad(p+".renewalPeriodType", "must be day, week, month or year")
		}
		if s.RenewalPeriodLength < 0 || s.RenewalPeriodLength > 1000 {
			bad(p+".renewalPeriodLength", "must be a whole number from 1 to 1000")
		}
		window(p, "startTime", s.StartTime, "endTime", s.EndTime, true)
		if s.BackdateDays < 0 || s.BackdateDays > 365 {
			bad(p+".backdateDays", "must be from 0 to 365")
		}
		if s.MaxStartDays < 0 || s.MaxStartDays > 3650 {
			bad(p+".maxStartDays", "must be from 0 to 3650")
		}
		if s.Copies < 0 || s.Copies > 99 {
			bad(p+".copies", "must be from 1 to 99")
		}
		for j, x := range s.ExtraProducts {
			code(fmt.Sprintf("%s.extraProducts[%d]", p, j), x, catalogCode, 12)
		}
		if m := s.Marketing; m != nil {
			for f, v := range map[string]string{"project": m.Project, "market": m.Market, "activity": m.Activity, "salesMethod": m.SalesMethod} {
				if len(v) > 40 {
					bad(p+".marketing."+f, "must be at most 40 characters")
				}
			}
		}
	}
	vouchers := map[string]string{}
	for i, v := range c.Vouchers {
		p := fmt.Sprintf("%s.vouchers[%d]", cp, i)
		if code(p+".code", v.Code, voucherCode, 36) {
			key := strings.ToLower(v.Code)
			if prev, dup := vouchers[key]; dup {
				bad(p+".code", "duplicate voucher code %q (also %s; codes compare case-insensitively)", v.Code, prev)
			}
			vouchers[key] = p
		}
		window(p, "validFrom", v.ValidFrom, "validTo", v.ValidTo, true)
		if v.MaxUses < 0 {
			bad(p+".maxUses", "must be a positive whole number")
		}
		if len(v.Coupons) == 0 {
			bad(p+".coupons", "at least one coupon is required")
		}
		for j, r := range v.Coupons {
			rp := fmt.Sprintf("%s.coupons[%d]", p, j)
			code(rp+".couponCode", r.CouponCode, catalogCode, 12)
			if r.CouponNumber <= 0 {
				bad(rp+".couponNumber", "must be a positive whole number")
			}
		}
	}
	articles := map[string]string{}
	for i, a := range c.Articles {
		p := fmt.Sprintf("%s.articles[%d]", cp, i)
		code(p+".product", a.Product, catalogCode, 12)
		if len(a.ArticleCategory) > 40 {
			bad(p+".articleCategory", "must be at most 40 characters")
		}
		key := a.Product + "/" + a.ArticleCategory
		if prev, dup := articles[key]; dup {
			bad(p+".articleCategory", "duplicate article price (also %s)", prev)
		}
		articles[key] = p
		money(p+".price", a.Price, true)
	}
	rewards := map[string]string{}
	for i, r := range c.Rewards {
		p := fmt.Sprintf("%s.rewards[%d]", cp, i)
		if r.RewardPartnerID <= 0 {
			bad(p+".rewardPartnerId", "must be a positive whole number")
		}
		switch {
		case r.RewardID == "":
			bad(p+".rewardId", "is required")
		case len(r.RewardID) > 36:
			bad(p+".rewardId", "must be at most 36 characters")
		}
		key := fmt.Sprintf("%d/%s", r.RewardPartnerID, r.RewardID)
		if prev, dup := rewards[key]; dup {
			bad(p+".rewardId", "duplicate reward (also %s)", prev)
		}
		rewards[key] = p
		code(p+".product", r.Product, catalogCode, 12)
	}
	types := map[string]string{}
	for i, t := range c.CategoryTypes {
		p := fmt.Sprintf("%s.categoryTypes[%d]", cp, i)
		if code(p+".categoryType", t.CategoryType, catalogCode, 12) {
			if prev, dup := types[t.CategoryType]; dup {
				bad(p+".categoryType", "duplicate category type (also %s)", prev)
			}
			types[t.CategoryType] = p
		}
		seen := map[string]bool{}
		for j, k := range t.Codes {
			kp := fmt.Sprintf("%s.codes[%d]", p, j)
			if code(kp+".categoryCode", k.CategoryCode, catalogCode, 12) && seen[k.CategoryCode] {
				bad(kp+".categoryCode", "duplicate category code %q", k.CategoryCode)
			}
			seen[k.CategoryCode] = true
		}
	}
	methods := map[string]bool{}
	for i, m := range c.PaymentMethods {
		p := fmt.Sprintf("%s.paymentMethods[%d]", cp, i)
		known := false
		for _, x := range PaymentMethods {
			known = known || x == m.Method
		}
		switch {
		case !known:
			bad(p+".method", "unknown payment method %q", m.Method)
		case m.Method == "free" || m.Method == "invoice":
			bad(p+".method", "%s needs no payment gateway", m.Method)
		case methods[m.Method]:
			bad(p+".method", "duplicate payment method %q", m.Method)
		}
		methods[m.Method] = true
		if !catalogCode.MatchString(m.Gateway) && !regexp.MustCompile(`^[a-z0-9_-]{1,40}$`).MatchString(m.Gateway) {
			bad(p+".gateway", "must name a payment gateway (e.g. simulated)")
		}
	}
}
