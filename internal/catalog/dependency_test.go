package catalog_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/testkit"
)

// dependencyYAML adds a second rule to the fixture's (PAPER half price for
// NEWS subscribers): 300 off PAPER with BOOK1.
const dependencyYAML = `companies:
  - code: ACME
    name: Acme Media
    country: NO
    productDependencies:
      - {product: PAPER, requiredProduct: NEWS, discountType: percent, discountValue: 50}
      - {product: PAPER, requiredProduct: BOOK1, discountType: amount, discountValue: 300}
    coupons:
      - {product: PAPER, couponCode: INTRO, couponNumber: 2, price: 200, periodLength: 1, periodType: month, startTime: 2024-01-01}
`

type discountAnswer struct {
	Product         string   `json:"product"`
	Discount        bool     `json:"discount"`
	Price           *float64 `json:"price"`
	DiscountedPrice *float64 `json:"discountedPrice"`
	Currency        string   `json:"currency"`
	Dependencies    []struct {
		RequiredProduct string  `json:"requiredProduct"`
		Fulfilled       bool    `json:"fulfilled"`
		DiscountType    string  `json:"discountType"`
		DiscountValue   float64 `json:"discountValue"`
		Applied         bool    `json:"applied"`
	} `json:"dependencies"`
}

// summary is "discount price→discounted [rule fulfilled/applied …]".
func (a discountAnswer) summary() string {
	var rules []string
	for _, d := range a.Dependencies {
		s := fmt.Sprintf("%s:%s %v", d.RequiredProduct, d.DiscountType, d.DiscountValue)
		if d.Fulfilled {
			s += " fulfilled"
		}
		if d.Applied {
			s += " applied"
		}
		rules = append(rules, s)
	}
	price := "-"
	if a.Price != nil && a.DiscountedPrice != nil {
		price = fmt.Sprintf("%v→%v %s", *a.Price, *a.DiscountedPrice, a.Currency)
	}
	return fmt.Sprintf("%v %s [%s]", a.Discount, price, strings.Join(rules, ", "))
}

// TestProductDependencyDiscount: rules from the tenant file are met by the
// customer's current subscriptions or by products in the same order; only
// the largest discount applies; coupons set the price; scope and validation.
func TestProductDependencyDiscount(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		ctx := context.Background()
		path := "/capi/v1/client/productdependency/discount"
		ct := e.ClientToken()
		check := func(body string) discountAnswer {
			t.Helper()
			res := e.Call(testkit.Request{Method: "POST", Path: path, Token: ct, ContentType: "application/json", Accept: "application/json", Body: body})
			if res.Status != 200 {
				t.Fatalf("%s: %d %s", body, res.Status, res.Body)
			}
			var a discountAnswer
			res.JSON(t, &a)
			return a
		}
		// The fixture's one rule.
		if got := check(`{"product":"PAPER"}`).summary(); got != "false 449→449 NOK [NEWS:percent 50]" {
			t.Errorf("nothing held: %s", got)
		}
		if got := check(`{"product":"PAPER","products":["NEWS"]}`).summary(); got != "true 449→224.5 NOK [NEWS:percent 50 fulfilled applied]" {
			t.Errorf("NEWS in the order: %s", got)
		}

		company, err := tenant.GetCompanyByCode(ctx, e.App.DB, testkit.Company)
		if err != nil {
			t.Fatal(err)
		}
		newCustomer := func(userNo int64) int64 {
			var cno int64
			err := e.App.DB.Tx(ctx, func(tx *sql.Tx) (err error) {
				cno, err = customer.EnsureForUser(ctx, tx, company.ID, testkit.Company, userNo,
					customer.UserDetails{FirstName: "U", LastName: fmt.Sprint(userNo), Email: fmt.Sprintf("u%d@firm.no", userNo)}, time.Now())
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return cno
		}
		subscriber, other := newCustomer(8101), newCustomer(8102)
		today := time.Now().Truncate(24 * time.Hour)
		if err := e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			_, err := subscription.Start(ctx, tx, subscription.StartRequest{CompanyID: company.ID, CustomerNumber: subscriber, ProductCode: "NEWS",
				StartDate: today.AddDate(0, 0, -3), PeriodLength: 1, PeriodType: "month", Price: 19900, Paid: true})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got := check(fmt.Sprintf(`{"product":"PAPER","customerNumber":%d}`, subscriber)).summary(); got != "true 449→224.5 NOK [NEWS:percent 50 fulfilled applied]" {
			t.Errorf("NEWS subscriber: %s", got)
		}
		if got := check(fmt.Sprintf(`{"product":"PAPER","customerNumber":"%d"}`, other)).summary(); got != "false 449→449 NOK [NEWS:percent 50]" {
			t.Errorf("no subscription: %s", got)
		}

		// Two rules: only the larger discount applies.
		if _, err := e.App.ApplyTenantFile(ctx, "deps.yaml", []byte(dependencyYAML)); err != nil {
			t.Fatal(err)
		}
		if res, err := e.App.ApplyTenantFile(ctx, "deps.yaml", []byte(dependencyYAML)); err != nil || !res.Unchanged {
			t.Errorf("re-apply: %+v %v", res, err)
		}
		both := fmt.Sprintf(`{"product":"PAPER","customerNumber":%d,"products":["BOOK1"]}`, subscriber)
		if got := check(both).summary(); got != "true 449→149 NOK [BOOK1:amount 300 fulfilled applied, NEWS:percent 50 fulfilled]" {
			t.Errorf("both rules: %s", got)
		}
		// A coupon sets the price; an amount never takes it below zero.
		if got := check(`{"product":"PAPER","products":["NEWS"],"couponCode":"INTRO","couponNumber":2}`).summary(); got != "true 200→100 NOK [BOOK1:amount 300, NEWS:percent 50 fulfilled applied]" {
			t.Errorf("coupon: %s", got)
		}
		if got := check(`{"product":"PAPER","products":["NEWS","BOOK1"],"couponCode":"INTRO","couponNumber":2}`).summary(); got != "true 200→0 NOK [BOOK1:amount 300 fulfilled applied, NEWS:percent 50 fulfilled]" {
			t.Errorf("coupon, both rules: %s", got)
		}
		if got := check(`{"product":"NEWS","products":["PAPER"]}`).summary(); got != "false 199→199 NOK []" {
			t.Errorf("no rules: %s", got)
		}
		res := e.Call(testkit.Request{Method: "POST", Path: path, Token: ct, ContentType: "application/xml", Body: `<data><product>PAPER</product><products><item0>NEWS</item0></products></data>`})
		if res.Status != 200 || !strings.Contains(string(res.Body), "<discount>true</discount>") || !strings.Contains(string(res.Body), "<discountedPrice>224.5</discountedPrice>") {
			t.Errorf("XML: %d %s", res.Status, res.Body)
		}

		rival := e.Token(testkit.RivalClientID, testkit.RivalSecret)
		for _, tc := range []struct {
			name, token, body string
			status            int
			field             string
		}{
			{"no product", ct, `{}`, 400, "product"},
			{"product too long", ct, `{"product":"PAPERPAPERPAPER"}`, 400, "product"},
			{"bad products entry", ct, `{"product":"PAPER","products":["NEWS","no spaces"]}`, 400, "products[1]"},
			{"coupon code without number", ct, `{"product":"PAPER","couponCode":"PAPER"}`, 400, "couponCode"},
			{"bad customerNumber", ct, `{"product":"PAPER","customerNumber":"x"}`, 400, "customerNumber"},
			{"unknown product", ct, `{"product":"NOPE"}`, 404, ""},
			{"unknown customer", ct, `{"product":"PAPER","customerNumber":99999999}`, 404, ""},
			{"coupon of another product", ct, `{"product":"PAPER","couponCode":"NEWS","couponNumber":1}`, 404, ""},
			{"another company's customer", rival, fmt.Sprintf(`{"product":"RIVALNEWS","customerNumber":%d}`, subscriber), 404, ""},
			{"another company's product", rival, `{"product":"PAPER"}`, 404, ""},
			{"user token", e.MintUserToken(fmt.Sprintf("%032x", 8101), 8101, subscriber), `{"product":"PAPER"}`, 403, ""},
		} {
			res := e.Call(testkit.Request{Method: "POST", Path: path, Token: tc.token, ContentType: "application/json", Accept: "application/json", Body: tc.body})
			if res.Status != tc.status {
				t.Errorf("%s: %d %s", tc.name, res.Status, res.Body)
				continue
			}
			var m map[string]any
			_ = json.Unmarshal(res.Body, &m)
			if msg, _ := m["errorMessage"].(string); tc.field != "" && !strings.HasPrefix(msg, tc.field+":") {
				t.Errorf("%s: errorMessage %q does not name %s", tc.name, msg, tc.field)
			}
		}
		bad := strings.Replace(dependencyYAML, "discountValue: 50}", "discountValue: 150}", 1)
		if _, err := e.App.ApplyTenantFile(ctx, "bad.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "productDependencies[0].discountValue") {
			t.Errorf("150 percent: %v", err)
		}
	})
}
