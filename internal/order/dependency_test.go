package order_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"testing"

	"github.com/connect-oss/connect/internal/testkit"
)

// The fixture's rule: PAPER (coupon PAPER/1 and product both 449) is half
// price for NEWS subscribers and with NEWS in the same order.

// paperLine is a PAPER coupon line with extra JSON fields (",..." or "").
func paperLine(extra string) string {
	return `{"productSpecType":"coupon","productSpecCode":"PAPER","productSpecNo":1` + extra + `}`
}

// newCustomer registers a customer of the token's company.
func newCustomer(t *testing.T, e *testkit.Env, tok, name string) int64 {
	t.Helper()
	r := call(e, "POST", "/capi/v1/client/customer", tok, fmt.Sprintf(`{"lastName":%q,"postalCode":"0150","emails":["%s@example.no"]}`, name, name))
	want(t, r, 200, "customerNumber")
	var out struct{ CustomerNumber int64 }
	r.JSON(t, &out)
	return out.CustomerNumber
}

func fulfil(t *testing.T, e *testkit.Env, tok string, orderID int64) {
	t.Helper()
	want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, orderID)), 200, `"fulfillmentStatus":"OK"`)
}

// priced is "unit/amount …" of the order's lines in øre, by line number.
func priced(t *testing.T, e *testkit.Env, orderID int64) string {
	t.Helper()
	rows, err := e.App.DB.QueryContext(context.Background(), `SELECT unit_price, amount FROM order_lines WHERE order_id = $1 ORDER BY line_no`, orderID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	s := ""
	for rows.Next() {
		var unit, amount int64
		if err := rows.Scan(&unit, &amount); err != nil {
			t.Fatal(err)
		}
		if s != "" {
			s += " "
		}
		s += fmt.Sprintf("%d/%d", unit, amount)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOrderLinesPricedByProductDependencies: a PAPER line costs half for a
// receiver holding NEWS or with NEWS in the same order, in client and user
// mode, JSON and XML; a claim of the discounted or the catalog price is
// accepted and the discounted price charged, any other claim is a 400 that
// writes nothing; the invoice carries the discounted amount.
func TestOrderLinesPricedByProductDependencies(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		plain, subscriber, both := newCustomer(t, e, tok, "plain"), newCustomer(t, e, tok, "subscriber"), newCustomer(t, e, tok, "both")
		fulfil(t, e, tok, registerOrder(t, e, tok, payerOrder("", subscriber, newsLine)).OrderID)
		status := func(id int64) string { return fmt.Sprintf("/capi/v1/client/order/status/%d", id) }

		// No NEWS: the catalog price, and the discounted price is not accepted.
		o := registerOrder(t, e, tok, payerOrder("", plain, paperLine(`,"unitPrice":449`)))
		if got := priced(t, e, o.OrderID); got != "44900/44900" {
			t.Errorf("without NEWS: %s", got)
		}
		want(t, call(e, "POST", "/capi/v1/client/order", tok, payerOrder("", plain, paperLine(`,"unitPrice":224.5`))), 400,
			"orderLines[0].unitPrice: is 224.50 but the catalog price is 449")

		// A NEWS subscriber: half price, whether the client claims it, the
		// catalog price or nothing.
		for _, c := range []struct{ name, body, want string }{
			{"discounted claim", payerOrder("", subscriber, paperLine(`,"unitPrice":224.5`)), "22450/22450"},
			{"catalog price claim", payerOrder("", subscriber, paperLine(`,"unitPrice":449`)), "22450/22450"},
			{"no claim, two copies", payerOrder("", subscriber, paperLine(`,"quantity":2`)), "22450/44900"},
			{"product line", payerOrder("", subscriber, `{"productSpecType":"product","product":"PAPER","unitPrice":224.5}`), "22450/22450"},
			{"order amount discounted", fmt.Sprintf(`{"paymentMethod":"invoice","orderAmount":224.5,"payer":{"customerNumber":%d},"orderLines":[%s]}`,
				subscriber, paperLine("")), "22450/22450"},
			{"order amount at catalog prices", fmt.Sprintf(`{"paymentMethod":"invoice","orderAmount":449,"payer":{"customerNumber":%d},"orderLines":[%s]}`,
				subscriber, paperLine(`,"unitPrice":449`)), "22450/22450"},
			// The receiver's holdings count, not the payer's.
			{"receiver holds NEWS", fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"customerNumber":%d},"orderLines":[%s]}`,
				plain, paperLine(fmt.Sprintf(`,"receiver":{"customerNumber":%d}`, subscriber))), "22450/22450"},
			{"receiver without NEWS", fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"customerNumber":%d},"orderLines":[%s]}`,
				subscriber, paperLine(fmt.Sprintf(`,"unitPrice":449,"receiver":{"customerNumber":%d}`, plain))), "44900/44900"},
		} {
			r := call(e, "POST", "/capi/v1/client/order", tok, c.body)
			want(t, r, 200, "orderId")
			var o registered
			r.JSON(t, &o)
			if got := priced(t, e, o.OrderID); got != c.want {
				t.Errorf("%s: lines %s, want %s", c.name, got, c.want)
			}
		}
		o = registerOrder(t, e, tok, payerOrder("", subscriber, paperLine(`,"unitPrice":449`)))
		want(t, call(e, "GET", status(o.OrderID), tok, ""), 200, `"orderStatus":"preliminary","orderAmount":224.5,"currency":"NOK"`)

		// Any other claim is a 400 naming both prices, and writes nothing.
		before := written(t, e)
		for _, c := range []struct{ body, msg string }{
			{payerOrder("", subscriber, paperLine(`,"unitPrice":300`)),
				"orderLines[0].unitPrice: is 300 but the price is 224.50 (the catalog price 449 less the product dependency discount)"},
			{payerOrder("", subscriber, newsLine+","+paperLine(`,"unitPrice":0`)), "orderLines[1].unitPrice: is 0 but the price is 224.50"},
			{payerOrder("", plain, newsLine+","+paperLine(`,"unitPrice":300`)), "orderLines[1].unitPrice: is 300 but the price is 224.50"},
			{fmt.Sprintf(`{"paymentMethod":"invoice","orderAmount":300,"payer":{"customerNumber":%d},"orderLines":[%s]}`, subscriber, paperLine("")),
				"orderAmount: is 300 but the lines add up to 224.50 (449 before product dependency discounts)"},
		} {
			want(t, call(e, "POST", "/capi/v1/client/order", tok, c.body), 400, c.msg)
		}
		if after := written(t, e); after != before {
			t.Errorf("refused orders wrote rows: %s → %s", before, after)
		}

		// XML, as the PHP clients send it.
		r := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/order", Token: tok, ContentType: "application/xml",
			Body: fmt.Sprintf(`<data><paymentMethod>invoice</paymentMethod><payer><customerNumber>%d</customerNumber></payer><orderLines><item0>
				<productSpecType>coupon</productSpecType><productSpecCode>PAPER</productSpecCode><productSpecNo>1</productSpecNo><unitPrice>224.5</unitPrice>
				</item0></orderLines></data>`, subscriber)})
		var x xmlRegistered
		if r.Status != 200 || xml.Unmarshal(r.Body, &x) != nil || x.OrderID == 0 {
			t.Fatalf("XML order: %d %s", r.Status, r.Body)
		}
		if got := priced(t, e, x.OrderID); got != "22450/22450" {
			t.Errorf("XML order: %s", got)
		}

		// NEWS in the same order (after PAPER) halves PAPER; the invoice
		// issued at fulfilment carries the discounted amount.
		o = registerOrder(t, e, tok, payerOrder("", both, paperLine(`,"unitPrice":224.5`)+","+newsLine))
		if got := priced(t, e, o.OrderID); got != "22450/22450 19900/19900" {
			t.Errorf("PAPER with NEWS: %s", got)
		}
		want(t, call(e, "GET", status(o.OrderID), tok, ""), 200, `"orderAmount":423.5,"currency":"NOK"`)
		fulfil(t, e, tok, o.OrderID)
		if n := count(t, e, `SELECT COUNT(*) FROM invoices WHERE order_id = $1 AND kind = 'invoice' AND amount = 42350 AND customer_number = $2`,
			o.OrderID, both); n != 1 {
			t.Errorf("invoices of 423.50 for the order: %d", n)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
			WHERE i.order_id = $1 AND l.product_code = 'PAPER' AND l.amount = 22450`, o.OrderID); n != 1 {
			t.Errorf("PAPER invoice lines of 224.50: %d", n)
		}

		// User mode: the user's customer subscribes to NEWS, then pays half for PAPER.
		user := e.MintUserToken("abababababababababababababababab", 8301, 0)
		ur := call(e, "POST", "/capi/v1/order", user, fmt.Sprintf(`{"paymentMethod":"invoice",%s,"orderLines":[%s]}`, payer, newsLine))
		want(t, ur, 200, "orderId")
		var first registered
		ur.JSON(t, &first)
		fulfil(t, e, tok, first.OrderID)
		for _, claim := range []string{"224.5", "449"} {
			ur = call(e, "POST", "/capi/v1/order", user, fmt.Sprintf(`{"paymentMethod":"invoice","payer":{},"orderLines":[%s]}`, paperLine(`,"unitPrice":`+claim)))
			want(t, ur, 200, "orderId")
			var o registered
			ur.JSON(t, &o)
			if got := priced(t, e, o.OrderID); o.CustomerNumber != first.CustomerNumber || got != "22450/22450" {
				t.Errorf("user mode, claim %s: customer %d (want %d), lines %s", claim, o.CustomerNumber, first.CustomerNumber, got)
			}
		}
		want(t, call(e, "POST", "/capi/v1/order", user, fmt.Sprintf(`{"paymentMethod":"invoice","payer":{},"orderLines":[%s]}`, paperLine(`,"unitPrice":400`))),
			400, "orderLines[0].unitPrice: is 400 but the price is 224.50")
	})
}

// rivalDependencies gives RIVAL its own NEWS and PAPER, with rules ACME has
// not: NEWS is 90 % off with PAPER, PAPER 10 off with NEWS.
const rivalDependencies = `companies:
  - code: RIVAL
    name: Rival Media
    country: SE
    products:
      - {product: NEWS, description: Rival digital, startTime: 2024-01-01, retailPrice: 100, digital: true}
      - {product: PAPER, description: Rival paper, startTime: 2024-01-01, retailPrice: 200}
    productDependencies:
      - {product: NEWS, requiredProduct: PAPER, discountType: percent, discountValue: 90}
      - {product: PAPER, requiredProduct: NEWS, discountType: amount, discountValue: 10}
`

// acmeDependencies adds rules to ACME: NEWS 100 off with BOOK1, BOOK1 half
// price for NEWS subscribers (article lines of BOOK1 keep their price).
const acmeDependencies = `companies:
  - code: ACME
    name: Acme Media
    country: NO
    productDependencies:
      - {product: NEWS, requiredProduct: BOOK1, discountType: amount, discountValue: 100}
      - {product: BOOK1, requiredProduct: NEWS, discountType: percent, discountValue: 50}
`

// TestProductDependenciesAreTheCompanys: one company's rules and
// subscriptions never price another's lines; a tenant apply changes the
// rules registration uses (the catalog cache follows it); article lines are
// not discounted.
func TestProductDependenciesAreTheCompanys(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		ctx := context.Background()
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		products := `{"productSpecType":"product","product":"NEWS"},{"productSpecType":"product","product":"PAPER"}`

		acme := newCustomer(t, e, tok, "acme")
		o := registerOrder(t, e, tok, payerOrder("", acme, products))
		if got := priced(t, e, o.OrderID); got != "8454/8454 22450/22450" {
			t.Fatalf("ACME before RIVAL's rules: %s", got)
		}
		fulfil(t, e, tok, registerOrder(t, e, tok, payerOrder("", acme, newsLine)).OrderID)

		if _, err := e.App.ApplyTenantFile(ctx, "rival.yaml", []byte(rivalDependencies)); err != nil {
			t.Fatal(err)
		}
		// ACME's lines: ACME's rule only (RIVAL's would make NEWS 8.45).
		o = registerOrder(t, e, tok, payerOrder("", acme, products))
		if got := priced(t, e, o.OrderID); got != "8454/8454 22450/22450" {
			t.Errorf("ACME after RIVAL's rules: %s", got)
		}
		// RIVAL's lines: RIVAL's rules (ACME's would make PAPER 100).
		rc := newCustomer(t, e, rival, "rival")
		o = registerOrder(t, e, rival, payerOrder("", rc, products))
		if got := priced(t, e, o.OrderID); got != "1000/1000 19000/19000" {
			t.Errorf("RIVAL's order: %s", got)
		}
		// A RIVAL customer with the number of ACME's NEWS subscriber holds nothing at RIVAL.
		for twin := rc; twin != acme; {
			if twin > acme {
				t.Fatalf("RIVAL numbers passed %d", acme)
			}
			twin = newCustomer(t, e, rival, "twin")
		}
		o = registerOrder(t, e, rival, payerOrder("", acme, `{"productSpecType":"product","product":"PAPER","unitPrice":200}`))
		if got := priced(t, e, o.OrderID); got != "20000/20000" {
			t.Errorf("RIVAL's twin of ACME's subscriber: %s", got)
		}

		// New ACME rules apply to the next order (NEWS had none, cached).
		if _, err := e.App.ApplyTenantFile(ctx, "acme.yaml", []byte(acmeDependencies)); err != nil {
			t.Fatal(err)
		}
		fresh := newCustomer(t, e, tok, "fresh")
		o = registerOrder(t, e, tok, payerOrder("", fresh, `{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"unitPrice":99},
			{"productSpecType":"product","product":"BOOK1","unitPrice":150}`))
		if got := priced(t, e, o.OrderID); got != "9900/9900 15000/15000" {
			t.Errorf("NEWS and BOOK1, each meeting the other's rule: %s", got)
		}
		// BOOK1 for a NEWS subscriber: the product line is halved, the article line is not.
		o = registerOrder(t, e, tok, payerOrder("", acme, `{"productSpecType":"product","product":"BOOK1"},
			{"productSpecType":"article","articleDetail":{"product":"BOOK1","articleRef":"a-1"},"unitPrice":19}`))
		if got := priced(t, e, o.OrderID); got != "15000/15000 1900/1900" {
			t.Errorf("BOOK1 product and article lines: %s", got)
		}
	})
}
