package order_test

// Gaps of docs/endpoint-tests (issue 5): XML orders in client mode,
// validation and scoping of the catalogue reads, per-user lists, unknown
// orders, and concurrent completion of one order.

import (
	"encoding/xml"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/connect-oss/connect/internal/testkit"
)

// phpOrder is an order as the PHP clients send it: <data> root, list items item0….
const phpOrder = `<?xml version="1.0" encoding="UTF-8"?><data><externalOrderId>php-client-1</externalOrderId><paymentMethod>invoice</paymentMethod>
	<payer><firstName>Kari</firstName><lastName>Nordmann</lastName><street>Grubbegata 6</street><postalCode>179</postalCode>
		<emails><item0>kari@example.no</item0><item1>kari2@example.no</item1></emails><phoneNumbers><item0>+4791234567</item0></phoneNumbers></payer>
	<orderLines>
		<item0><productSpecType>coupon</productSpecType><productSpecCode>NEWS</productSpecCode><productSpecNo>1</productSpecNo><unitPrice>199</unitPrice></item0>
		<item1><productSpecType>product</productSpecType><product>BOOK1</product><quantity>2</quantity></item1>
	</orderLines></data>`

type xmlRegistered struct {
	XMLName        xml.Name
	OrderID        int64  `xml:"orderId"`
	CustomerNumber int64  `xml:"customerNumber"`
	OrderStatus    string `xml:"orderStatus"`
}

// Client-mode order registration takes the PHP clients' XML and answers XML
// by default (the route's DefaultXML); the stored order is the one sent.
func TestRegisterClientXMLRoundTrip(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		post := func(accept string) *testkit.Response {
			return e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/order", Token: tok, Accept: accept,
				ContentType: "application/xml; charset=UTF-8", Body: phpOrder})
		}
		r := post("")
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/xml") {
			t.Fatalf("XML order: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		var x xmlRegistered
		if err := xml.Unmarshal(r.Body, &x); err != nil {
			t.Fatalf("XML answer %s: %v", r.Body, err)
		}
		if x.OrderID == 0 || x.CustomerNumber == 0 || x.OrderStatus != "preliminary" {
			t.Fatalf("XML answer %s parsed as %+v", r.Body, x)
		}
		// The same externalOrderId and body replays the order, in JSON when asked.
		j := post("application/json")
		want(t, j, 200, fmt.Sprintf(`{"orderId":%d,"customerNumber":%d,"orderStatus":"preliminary"}`, x.OrderID, x.CustomerNumber))

		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", x.OrderID), tok, ""), 200,
			`"orderStatus":"preliminary","orderAmount":799,"currency":"NOK"`)
		if c := count(t, e, `SELECT COUNT(*) FROM order_lines WHERE order_id = $1 AND ((line_no = 0 AND product = 'NEWS' AND quantity = 1)
			OR (line_no = 1 AND product = 'BOOK1' AND quantity = 2))`, x.OrderID); c != 2 {
			t.Fatalf("stored lines: %d", c)
		}
		info := call(e, "GET", fmt.Sprintf("/capi/v1/client/customer/info/%d", x.CustomerNumber), tok, "")
		for _, s := range []string{`"firstName":"Kari"`, `"postalCode":"0179"`, `"emails":["kari@example.no","kari2@example.no"]`, `"phoneNumbers":["+4791234567"]`} {
			if !strings.Contains(string(info.Body), s) {
				t.Errorf("payer lacks %s: %s", s, info.Body)
			}
		}
		// Status in XML too.
		s := e.Call(testkit.Request{Method: "GET", Path: fmt.Sprintf("/capi/v1/client/order/status/%d", x.OrderID), Token: tok, Accept: "application/xml"})
		want(t, s, 200, "<orderStatus>preliminary</orderStatus>")
		want(t, s, 200, "<orderAmount>799</orderAmount>")

		// A refused XML order answers an XML error naming the field, and writes nothing.
		before := count(t, e, `SELECT COUNT(*) FROM orders`)
		bad := strings.Replace(phpOrder, "<unitPrice>199</unitPrice>", "<unitPrice>100</unitPrice>", 1)
		bad = strings.Replace(bad, "php-client-1", "php-client-2", 1)
		r = e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/order", Token: tok, ContentType: "application/xml", Body: bad})
		want(t, r, 400, "<exceptionType>ValidationException</exceptionType>")
		want(t, r, 400, "orderLines[0].unitPrice")
		want(t, e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/order", Token: tok, ContentType: "application/xml",
			Body: `<data><paymentMethod>invoice</paymentMethod><orderLines><item0><productSpecType>product</productSpecType><product>BOOK1</product></item0></orderLines></data>`}),
			400, "payer: required")
		if after := count(t, e, `SELECT COUNT(*) FROM orders`); after != before {
			t.Fatalf("refused XML orders stored %d orders", after-before)
		}
	})
}

// Check article price: product and articleRef are required; purchased is
// the calling user's own purchase; product history is per user.
func TestArticlePriceAndHistoryPerUser(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		buyer := e.MintUserToken("ffffffffffffffffffffffffffffff01", 8101, 0)
		other := e.MintUserToken("ffffffffffffffffffffffffffffff02", 8102, 0)
		for _, c := range []struct{ body, msg string }{
			{`{}`, "product: required"},
			{`{"articleRef":"a-1"}`, "product: required"},
			{`{"product":"BOOK1"}`, "articleRef: required"},
			{`{"product":"BOOK1","articleRef":""}`, "articleRef: required"},
			{`{"product":"BOOK1","articleRef":"` + strings.Repeat("x", 41) + `"}`, "articleRef"},
			{`{"product":"ABCDEFGHIJKLM","articleRef":"a-1"}`, "product"},
			{`{"product":"BOOK1","articleRef":"a-1","companyCode":"RIVAL"}`, "companyCode"},
		} {
			want(t, call(e, "POST", "/capi/v1/customer/article/price", buyer, c.body), 400, c.msg)
		}
		want(t, call(e, "POST", "/capi/v1/customer/article/price", buyer, `{"product":"RIVALNEWS","articleRef":"a-1"}`), 404, "NotFoundException")

		// The buyer buys article a-7.
		r := call(e, "POST", "/capi/v1/order", buyer, fmt.Sprintf(`{"paymentMethod":"invoice",%s,"orderLines":[{"productSpecType":"article",
			"articleDetail":{"product":"BOOK1","articleRef":"a-7"}}]}`, payer))
		want(t, r, 200, "orderId")
		var o registered
		r.JSON(t, &o)
		want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, o.OrderID)), 200, `"fulfillmentStatus":"OK"`)
		want(t, call(e, "POST", "/capi/v1/customer/article/price", buyer, `{"product":"BOOK1","articleRef":"a-7"}`), 200,
			fmt.Sprintf(`"price":19,"vatAmount":0,"vatpercent":0,"vatInclude":true,"currency":"NOK","customerNumber":%d,"purchased":true}`, o.CustomerNumber))
		want(t, call(e, "POST", "/capi/v1/customer/article/price", buyer, `{"product":"BOOK1","articleRef":"a-8"}`), 200, `"purchased":false`)
		r = call(e, "GET", "/capi/v1/customer/order/product/history", buyer, "")
		want(t, r, 200, `"articleRef":"a-7"`)
		want(t, r, 200, fmt.Sprintf(`"orderId":%d`, o.OrderID))

		// Another user, without and then with a customer, has bought nothing.
		r = call(e, "POST", "/capi/v1/customer/article/price", other, `{"product":"BOOK1","articleRef":"a-7"}`)
		want(t, r, 200, `"purchased":false`)
		if strings.Contains(string(r.Body), "customerNumber") {
			t.Errorf("a user without a customer has no customer number: %s", r.Body)
		}
		want(t, call(e, "GET", "/capi/v1/customer/order/product/history", other, ""), 200, `{"orders":[]}`)
		want(t, call(e, "POST", "/capi/v1/customer", other, `{"lastName":"Other","postalCode":"0150","emails":["other@example.no"]}`), 200, "customerNumber")
		r = call(e, "POST", "/capi/v1/customer/article/price", other, `{"product":"BOOK1","articleRef":"a-7"}`)
		want(t, r, 200, `"purchased":false`)
		if strings.Contains(string(r.Body), fmt.Sprintf(`"customerNumber":%d`, o.CustomerNumber)) {
			t.Errorf("another user's price check names the buyer: %s", r.Body)
		}
		want(t, call(e, "GET", "/capi/v1/customer/order/product/history", other, ""), 200, `{"orders":[]}`)
		// Product history in XML.
		x := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/order/product/history", Token: buyer, Accept: "application/xml"})
		want(t, x, 200, "<articleRef>a-7</articleRef>")
	})
}

// A single coupon is read by product and number within the caller's company.
func TestCouponNumberListScope(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		want(t, call(e, "GET", "/capi/v1/client/coupon/RIVALNEWS/1", rival, ""), 200,
			`{"coupons":[{"couponCode":"RIVAL","couponNumber":1,"product":"RIVALNEWS"`)
		r := call(e, "GET", "/capi/v1/client/coupon/NEWS/2", tok, "")
		want(t, r, 200, `{"coupons":[{"couponCode":"TRIAL","couponNumber":2,"product":"NEWS"`)
		if strings.Contains(string(r.Body), `"couponNumber":1`) {
			t.Errorf("only coupon number 2: %s", r.Body)
		}
		for _, c := range []struct {
			token, path string
			status      int
			msg         string
		}{
			{rival, "/capi/v1/client/coupon/NEWS/2", 404, "NotFoundException"},
			{rival, "/capi/v1/client/coupon/NEWS/1", 404, "NotFoundException"},
			{tok, "/capi/v1/client/coupon/RIVALNEWS/1", 404, "NotFoundException"},
			{tok, "/capi/v1/client/coupon/NEWS/x", 400, "couponNumber: must be an integer"},
			{tok, "/capi/v1/client/coupon/NEWS/-2", 400, "couponNumber: must be an integer"},
			{tok, "/capi/v1/client/coupon/NEWS/0", 404, "NotFoundException"},
			{tok, "/capi/v1/client/coupon/ABCDEFGHIJKLM/1", 400, "productCode"},
		} {
			want(t, call(e, "GET", c.path, c.token, ""), c.status, c.msg)
		}
		x := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/coupon/NEWS/2", Token: tok, Accept: "application/xml"})
		want(t, x, 200, "<coupons><coupon><couponCode>TRIAL</couponCode><couponNumber>2</couponNumber>")
	})
}

// Assigning a user to an order that is unknown, junk or another company's
// fails before anything is written: no user is created for the credential.
func TestAssignUserUnknownOrder(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		rivalOrder := registerOrder(t, e, rival, fmt.Sprintf(`{"paymentMethod":"invoice",%s,"orderLines":[{"productSpecType":"coupon","productSpecCode":"RIVAL","productSpecNo":1}]}`, payer))
		users := count(t, e, `SELECT COUNT(*) FROM users`)
		for _, c := range []struct {
			id     string
			status int
			msg    string
		}{
			{"99999999", 404, "NotFoundException"},
			{fmt.Sprint(rivalOrder.OrderID), 404, "NotFoundException"},
			{"12x", 400, "orderId: must be an integer"},
			{"-1", 400, "orderId: must be an integer"},
		} {
			want(t, call(e, "POST", "/capi/v1/client/order/"+c.id+"/user", tok, `{"credential":"nobody.yet@example.com"}`), c.status, c.msg)
		}
		if after := count(t, e, `SELECT COUNT(*) FROM users`); after != users {
			t.Fatalf("refused assignments created %d users", after-users)
		}
		if c := count(t, e, `SELECT COUNT(*) FROM user_credentials WHERE credential = 'nobody.yet@example.com'`); c != 0 {
			t.Fatal("refused assignments stored the credential")
		}
		if c := count(t, e, `SELECT COUNT(*) FROM orders WHERE id = $1 AND user_id IS NULL`, rivalOrder.OrderID); c != 1 {
			t.Fatal("another company's call assigned RIVAL's order")
		}
	})
}

// Parallel completion of one order completes it once: one subscription, one
// invoice or charge, one event each, and every caller the same answer.
func TestConcurrentFulfillmentCompletesOnce(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		const n = 8
		for _, c := range []struct {
			name, body string
			invoices   int // a card order is charged, not invoiced
		}{
			{"invoice", newsOrder("par-invoice", "invoice"), 1},
			{"card", fmt.Sprintf(`{"externalOrderId":"par-card","paymentMethod":"creditcardPayex","recurring":true,"paymentInfo":{"ticket":"tok-ok","cardNumberMasked":"xxxx1111"},%s,
				"orderLines":[{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"unitPrice":199}]}`, payer), 0},
		} {
			o := registerOrder(t, e, tok, c.body)
			answers := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, o.OrderID))
					answers[i] = fmt.Sprint(r.Status, " ", strings.TrimSpace(string(r.Body)))
				}()
			}
			wg.Wait()
			exp := fmt.Sprintf(`200 {"fulfillmentStatus":"OK","orderId":%d}`, o.OrderID)
			for _, a := range answers {
				if a != exp {
					t.Errorf("%s: parallel completion answered %s, want %s (all: %v)", c.name, a, exp, answers)
					break
				}
			}
			want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", o.OrderID), tok, ""), 200, `"orderStatus":"completed"`)
			if s := count(t, e, `SELECT COUNT(*) FROM subscriptions s JOIN companies co ON co.id = s.company_id
				WHERE co.code = 'ACME' AND s.customer_number = $1 AND s.product_code = 'NEWS'`, o.CustomerNumber); s != 1 {
				t.Errorf("%s: %d subscriptions", c.name, s)
			}
			if i := count(t, e, `SELECT COUNT(*) FROM invoices WHERE order_id = $1`, o.OrderID); i != c.invoices {
				t.Errorf("%s: %d invoices, want %d", c.name, i, c.invoices)
			}
			if ev := count(t, e, `SELECT COUNT(*) FROM event_outbox WHERE type = 'order' AND status = 'completed' AND data LIKE $1`,
				fmt.Sprintf(`%%"orderId":%d}`, o.OrderID)); ev != 1 {
				t.Errorf("%s: %d completed events", c.name, ev)
			}
		}
		if ch := count(t, e, `SELECT COUNT(*) FROM simulated_gateway_charges WHERE outcome = 'succeeded'`); ch != 1 {
			t.Errorf("the card was charged %d times", ch)
		}
		if u := count(t, e, `SELECT COUNT(*) FROM event_outbox WHERE type = 'coupon' AND status = 'used'`); u != 2 {
			t.Errorf("coupon used events: %d, want one per order", u)
		}
	})
}

// Voucher codes: the documented answer to an invalid code is 400 (spec
// order.md, [doc]); another company's code is unknown to the caller.
func TestVoucherCodeValidation(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		for _, c := range []struct {
			token, code string
			msg         string
		}{
			{tok, strings.Repeat("A", 37), "voucherCode: must be 1 to 36 characters"},
			{tok, strings.Repeat("A", 36), "voucherCode: unknown voucher code"},
			{rival, "WELCOME2024", "voucherCode: unknown voucher code"},
			{rival, "welcome2024", "voucherCode: unknown voucher code"},
		} {
			r := call(e, "GET", "/capi/v1/client/voucher/coupons/"+c.code, c.token, "")
			want(t, r, 400, c.msg)
			want(t, r, 400, "ValidationException")
		}
		// RIVAL's refusal did not consume or hide ACME's voucher.
		want(t, call(e, "GET", "/capi/v1/client/voucher/coupons/WELCOME2024", tok, ""), 200, `{"coupons":[{"couponCode":"TRIAL","couponNumber":2`)
		x := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/voucher/coupons/WELCOME2024", Token: tok, Accept: "application/xml"})
		want(t, x, 200, "<coupons><coupon><couponCode>TRIAL</couponCode>")
	})
}
