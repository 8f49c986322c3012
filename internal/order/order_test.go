package order_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/order"
	"github.com/connect-oss/connect/internal/testkit"
)

func call(e *testkit.Env, method, path, token, body string) *testkit.Response {
	e.T.Helper()
	return e.Call(testkit.Request{Method: method, Path: path, Token: token, Accept: "application/json",
		ContentType: "application/json", Body: body})
}

func want(t *testing.T, r *testkit.Response, status int, contains string) {
	t.Helper()
	if r.Status != status || !strings.Contains(string(r.Body), contains) {
		t.Fatalf("want %d containing %q, got %d %s", status, contains, r.Status, r.Body)
	}
}

func count(t *testing.T, e *testkit.Env, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.App.DB.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const payer = `"payer":{"firstName":"Ola","lastName":"Nordmann","street":"Grubbegata 6","postalCode":"0179","emails":["ola@example.no"],"phoneNumbers":["+4791234567"]}`

func newsOrder(ext, method string) string {
	return fmt.Sprintf(`{"externalOrderId":%q,"paymentMethod":%q,%s,"orderLines":[{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"unitPrice":199}]}`, ext, method, payer)
}

type registered struct {
	OrderID, CustomerNumber int64
	OrderStatus             string
}

func registerOrder(t *testing.T, e *testkit.Env, token, body string) registered {
	t.Helper()
	r := call(e, "POST", "/capi/v1/client/order", token, body)
	want(t, r, 200, "orderId")
	var out registered
	r.JSON(t, &out)
	return out
}

func TestRegisterFulfillInvoiceStartsSubscription(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		o := registerOrder(t, e, tok, newsOrder("ext-1", "invoice"))
		if o.OrderStatus != "preliminary" || o.CustomerNumber == 0 {
			t.Fatalf("registered %+v", o)
		}
		status := fmt.Sprintf("/capi/v1/client/order/status/%d", o.OrderID)
		want(t, call(e, "GET", status, tok, ""), 200, `"orderStatus":"preliminary","orderAmount":199,"currency":"NOK"`)
		want(t, call(e, "GET", status, rival, ""), 404, "NotFoundException")
		want(t, call(e, "GET", "/capi/v1/client/order/status/12x", tok, ""), 400, "orderId")
		// Another company cannot fulfil it.
		want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", rival, fmt.Sprintf(`{"orderId":%d}`, o.OrderID)), 404, "NotFoundException")
		want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d,"callbackUrl":"http://evil.example/cb"}`, o.OrderID)), 400, "callbackUrl")
		for range 2 { // safe to repeat
			want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, o.OrderID)), 200, `{"fulfillmentStatus":"OK","orderId":`)
		}
		want(t, call(e, "GET", status, tok, ""), 200, `"orderStatus":"completed"`)
		if n := count(t, e, `SELECT COUNT(*) FROM subscriptions s JOIN companies co ON co.id = s.company_id WHERE co.code = 'ACME' AND s.customer_number = $1 AND s.product_code = 'NEWS'`, o.CustomerNumber); n != 1 {
			t.Fatalf("subscriptions started: %d", n)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM orders WHERE id = $1 AND payment_state = 'invoice_due' AND payment_reference <> ''`, o.OrderID); n != 1 {
			t.Fatal("an invoice order is due by invoice and carries the invoice's payment reference")
		}
		// The invoice was issued with the order, for the order's amount, once.
		if n := count(t, e, `SELECT COUNT(*) FROM invoices WHERE order_id = $1 AND kind = 'invoice' AND amount = 19900
			AND customer_number = $2`, o.OrderID, o.CustomerNumber); n != 1 {
			t.Fatalf("invoices for the order: %d", n)
		}
		want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, o.OrderID)), 200, "")
		if n := count(t, e, `SELECT COUNT(*) FROM invoices WHERE order_id = $1`, o.OrderID); n != 1 {
			t.Fatalf("a second fulfillment call issued another invoice: %d", n)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM event_outbox WHERE type = 'invoice'`); n != 1 {
			t.Errorf("invoice events: %d", n)
		}
		for _, ev := range []string{"preliminary", "completed"} {
			if n := count(t, e, `SELECT COUNT(*) FROM event_outbox WHERE type = 'order' AND status = $1`, ev); n != 1 {
				t.Errorf("order %s events: %d", ev, n)
			}
		}
		if n := count(t, e, `SELECT COUNT(*) FROM event_outbox WHERE type = 'coupon' AND status = 'used'`); n != 1 {
			t.Errorf("coupon used events: %d", n)
		}
	})
}

func TestRegisterValidationWritesNothing(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		line := func(l string) string {
			return fmt.Sprintf(`{"paymentMethod":"invoice",%s,"orderLines":[%s]}`, payer, l)
		}
		for _, c := range []struct{ body, msg string }{
			{`{"paymentMethod":"invoice","orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, "payer: required"},
			{fmt.Sprintf(`{"paymentMethod":"bitcoin",%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer), "paymentMethod: unknown"},
			{fmt.Sprintf(`{"paymentMethod":"invoice",%s,"orderLines":[]}`, payer), "orderLines: at least one"},
			{line(`{"productSpecType":"coupon","productSpecCode":"NOPE","productSpecNo":1}`), "orderLines[0].productSpecCode: unknown coupon"},
			{line(`{"productSpecType":"coupon","productSpecCode":"OLDNEWS","productSpecNo":3}`), "outside its validity window"},
			{line(`{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"unitPrice":100}`), "orderLines[0].unitPrice: is 100 but the catalog price is 199"},
			{line(`{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"quantity":0}`), "orderLines[0].quantity"},
			{line(`{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"quantity":-1}`), "orderLines[0].quantity"},
			{line(`{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"startInfo":{"startDate":"2020-01-01"}}`), "startInfo.startDate: must not be in the past"},
			{line(`{"productSpecType":"coupon","productSpecCode":"TRIAL","productSpecNo":2,"startInfo":{"startDate":"2099-01-01"}}`), "at most 30 days ahead"},
			{line(`{"productSpecType":"coupon","productSpecCode":"TRIAL","productSpecNo":2,"voucherCode":"NOPE"}`), "voucherCode: unknown voucher code"},
			{line(`{"productSpecType":"coupon","productSpecCode":"TRIAL","productSpecNo":2,"voucherCode":"expired1"}`), "voucherCode: voucher code has expired"},
			{line(`{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"voucherCode":"WELCOME2024"}`), "not valid for coupon NEWS/1"},
			{line(`{"productSpecType":"product","product":"NOPE"}`), "orderLines[0].product: unknown product"},
			{line(`{"productSpecType":"product","product":"OLD"}`), "not sold now"},
			{line(`{"productSpecType":"article","articleDetail":{"product":"ARTICLE"}}`), "articleDetail.articleRef: required"},
			{line(`{"productSpecType":"thing"}`), "productSpecType"},
			{line(`{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"receiver":{"firstName":"No last name"}}`), "orderLines[0].receiver.lastName: required"},
			{line(`{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"rewardPartnerId":7}`), "rewardId"},
			{fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"lastName":"X","emails":["x@y.no"]},"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`), "payer.postalCode: required"},
			{fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"lastName":"X","postalCode":"0150","emails":["bad"]},"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`), "payer.emails[0]"},
			{fmt.Sprintf(`{"paymentMethod":"nexi",%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer), "paymentMethod: nexi is not set up"},
			{fmt.Sprintf(`{"paymentMethod":"creditcardPayex","prepaid":true,%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer), "paymentInfo: required"},
			{fmt.Sprintf(`{"paymentMethod":"sms","prepaid":true,"paymentInfo":{"transactionId":"t"},%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer), "prepaid: sms orders cannot be prepaid"},
			{fmt.Sprintf(`{"paymentMethod":"invoice","orderAmount":1,%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer), "orderAmount: is 1 but the lines add up to 300"},
			{fmt.Sprintf(`{"paymentMethod":"invoice","currency":"SEK",%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer), "currency"},
			{fmt.Sprintf(`{"paymentMethod":"invoice","companyCode":"RIVAL",%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer), "companyCode"},
			{fmt.Sprintf(`{"paymentMethod":"invoice",%s,"orderLines":[%s]}`, payer, strings.TrimSuffix(strings.Repeat(`{"productSpecType":"product","product":"BOOK1"},`, 51), ",")), "orderLines: at most 50"},
		} {
			want(t, call(e, "POST", "/capi/v1/client/order", tok, c.body), 400, c.msg)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM orders`); n != 0 {
			t.Errorf("failed registrations stored %d orders", n)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM customers WHERE last_name = 'Nordmann'`); n != 0 {
			t.Errorf("failed registrations stored %d customers", n)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM vouchers WHERE reserved <> 0`); n != 0 {
			t.Errorf("failed registrations reserved vouchers")
		}
		// A foreign payer customer number is 404, not 400.
		want(t, call(e, "POST", "/capi/v1/client/order", tok, `{"paymentMethod":"invoice","payer":{"customerNumber":99999},"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`), 404, "NotFoundException")
	})
}

func TestIdempotentRegistrationUnderConcurrency(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		const n = 8
		ids := make([]int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/order", Token: tok, Accept: "application/json",
					ContentType: "application/json", Body: newsOrder("", "invoice"), Header: http.Header{"Idempotency-Key": {"key-1"}}})
				if r.Status != 200 {
					t.Errorf("concurrent registration: %d %s", r.Status, r.Body)
					return
				}
				var out registered
				r.JSON(t, &out)
				ids[i] = out.OrderID
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("one key, several orders: %v", ids)
			}
		}
		if c := count(t, e, `SELECT COUNT(*) FROM orders`); c != 1 {
			t.Fatalf("%d orders for one Idempotency-Key", c)
		}
		// Same key, other body: 409.
		r := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/order", Token: tok, Accept: "application/json",
			ContentType: "application/json", Body: newsOrder("other", "invoice"), Header: http.Header{"Idempotency-Key": {"key-1"}}})
		want(t, r, 409, "Idempotency-Key")

		// externalOrderId: concurrent duplicates make one order; another body is 409 naming it.
		var wg2 sync.WaitGroup
		for range n {
			wg2.Add(1)
			go func() {
				defer wg2.Done()
				if r := call(e, "POST", "/capi/v1/client/order", tok, newsOrder("shop-42", "invoice")); r.Status != 200 {
					t.Errorf("concurrent externalOrderId: %d %s", r.Status, r.Body)
				}
			}()
		}
		wg2.Wait()
		if c := count(t, e, `SELECT COUNT(*) FROM orders WHERE external_order_id = 'shop-42'`); c != 1 {
			t.Fatalf("%d orders for one externalOrderId", c)
		}
		want(t, call(e, "POST", "/capi/v1/client/order", tok, newsOrder("shop-42", "free")), 409, "externalOrderId shop-42 is already used by order")
		// Another client of the same company may reuse the id.
		other := e.Token("acme.unlimited", "acme-unlimited-secret")
		registerOrder(t, e, other, newsOrder("shop-42", "invoice"))
	})
}

func TestUserModeXMLOrderAndLists(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		user := e.MintUserToken("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1", 8001, 0)
		other := e.MintUserToken("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2", 8002, 0)
		// The PHP client's form: <data> root, item0… list items; XML answer by default.
		body := `<?xml version="1.0" encoding="UTF-8"?><data><externalOrderId>php-1</externalOrderId><paymentMethod>invoice</paymentMethod>
			<payer><firstName>Kari</firstName><lastName>Nordmann</lastName><postalCode>179</postalCode><emails><item0>kari@example.no</item0></emails></payer>
			<orderLines><item0><productSpecType>coupon</productSpecType><productSpecCode>NEWS</productSpecCode><productSpecNo>1</productSpecNo></item0>
			<item1><productSpecType>article</productSpecType><articleDetail><product>BOOK1</product><articleRef>a-142</articleRef><articleCategory>PREMIUM</articleCategory></articleDetail></item1></orderLines></data>`
		r := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/order", Token: user, ContentType: "application/xml;charset=UTF-8", Body: body})
		want(t, r, 200, "<orderId>")
		var x struct {
			OrderID        int64 `xml:"orderId"`
			CustomerNumber int64 `xml:"customerNumber"`
		}
		if err := xml.Unmarshal(r.Body, &x); err != nil || x.OrderID == 0 {
			t.Fatalf("XML answer %s: %v", r.Body, err)
		}
		// The order created the user's customer, linked to the user.
		want(t, call(e, "GET", "/capi/v1/customer/info", user, ""), 200, fmt.Sprintf(`"customerNumber":%d`, x.CustomerNumber))
		want(t, call(e, "GET", "/capi/v1/order/status", user, ""), 200, `"orderAmount":238`)
		want(t, call(e, "GET", "/capi/v1/order/status", other, ""), 200, `{"orders":[]}`)
		want(t, call(e, "POST", "/capi/v1/order/status", user, `{"externalOrderId":"php-1"}`), 200, `"productSpecType":"article"`)
		want(t, call(e, "POST", "/capi/v1/order/status", other, fmt.Sprintf(`{"orderId":%d}`, x.OrderID)), 200, `{"orders":[]}`)
		want(t, call(e, "POST", "/capi/v1/order/status", user, `{"orderId":1,"externalOrderId":"php-1"}`), 400, "exactly one")
		want(t, call(e, "GET", "/capi/v1/customer/order/product/history", user, ""), 200, `{"orders":[]}`)
		want(t, call(e, "POST", "/capi/v1/customer/article/price", user, `{"product":"BOOK1","articleRef":"a-142","articleCategory":"PREMIUM"}`), 200, `"price":39,"vatAmount":0,"vatpercent":0,"vatInclude":true,"currency":"NOK"`)
		want(t, call(e, "POST", "/capi/v1/customer/article/price", user, `{"product":"BOOK1","articleRef":"a-142"}`), 200, `"purchased":false`)
		// A uniqueUserId of someone else is refused in user mode.
		want(t, call(e, "POST", "/capi/v1/order", user, `{"uniqueUserId":"ffffffffffffffffffffffffffffffff","paymentMethod":"free","payer":{},"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`), 400, "uniqueUserId")

		tok := e.ClientToken()
		want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, x.OrderID)), 200, `"OK"`)
		r = call(e, "GET", "/capi/v1/customer/order/product/history", user, "")
		want(t, r, 200, `"articleRef":"a-142"`)
		if strings.Contains(string(r.Body), `"productSpecType":"coupon"`) {
			t.Errorf("product history lists only single products: %s", r.Body)
		}
		want(t, call(e, "POST", "/capi/v1/customer/article/price", user, `{"product":"BOOK1","articleRef":"a-142"}`), 200, `"purchased":true`)
		want(t, call(e, "POST", "/capi/v1/customer/article/price", user, `{"product":"NEWSX","articleRef":"a"}`), 404, "NotFoundException")
	})
}

func TestCardSmsAndDeclines(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		fulfil := func(id int64) *testkit.Response {
			return call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, id))
		}
		card := func(ticket string) string {
			return fmt.Sprintf(`{"paymentMethod":"creditcardPayex","recurring":true,"paymentInfo":{"ticket":%q,"cardNumberMasked":"xxxx1111"},%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, ticket, payer)
		}
		ok := registerOrder(t, e, tok, card("tok-ok"))
		want(t, fulfil(ok.OrderID), 200, `"fulfillmentStatus":"OK"`)
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", ok.OrderID), tok, ""), 200, `"orderStatus":"completed"`)

		bad := registerOrder(t, e, tok, card("tok-decline"))
		want(t, fulfil(bad.OrderID), 200, `"fulfillmentStatus":"ERROR"`)
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", bad.OrderID), tok, ""), 200, `"orderStatus":"failed"`)
		want(t, fulfil(bad.OrderID), 200, `"errorMessage":"the order is failed"`)

		none := registerOrder(t, e, tok, card(""))
		want(t, fulfil(none.OrderID), 200, `"errorMessage":"no stored payment token`)

		sms := registerOrder(t, e, tok, fmt.Sprintf(`{"paymentMethod":"sms",%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer))
		want(t, fulfil(sms.OrderID), 200, `"fulfillmentStatus":"OK"`)
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", sms.OrderID), tok, ""), 200, `"orderStatus":"pending"`)
		// The provider settles it later.
		if err := order.Settle(context.Background(), e.App.DB, order.NewDeps(e.App.DB), companyID(t, e), sms.OrderID,
			order.Outcome{Status: order.PaymentPaid, Reference: "SIM"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", sms.OrderID), tok, ""), 200, `"orderStatus":"completed"`)

		// Vouchers: two uses, a third order is refused; a failed order releases its use.
		trial := fmt.Sprintf(`{"paymentMethod":"free",%s,"orderLines":[{"productSpecType":"coupon","productSpecCode":"TRIAL","productSpecNo":2,"voucherCode":"welcome2024"}]}`, payer)
		registerOrder(t, e, tok, trial)
		registerOrder(t, e, tok, trial)
		want(t, call(e, "POST", "/capi/v1/client/order", tok, trial), 400, "voucher code is used up")
		want(t, call(e, "GET", "/capi/v1/client/voucher/coupons/WELCOME2024", tok, ""), 400, "used up")

		// Stale orders expire.
		n, err := order.ExpireStale(context.Background(), e.App.DB, time.Now().Add(8*24*time.Hour))
		if err != nil || n < 3 {
			t.Fatalf("expired %d, %v", n, err)
		}
		if c := count(t, e, `SELECT COUNT(*) FROM vouchers WHERE reserved <> 0`); c != 0 {
			t.Errorf("expired orders must release vouchers")
		}
	})
}

func companyID(t *testing.T, e *testkit.Env) int64 {
	return int64(count(t, e, `SELECT id FROM companies WHERE code = 'ACME'`))
}

func TestCatalogOperations(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		r := call(e, "GET", "/capi/v1/client/coupon/NEWS", tok, "")
		want(t, r, 200, `{"coupons":[{"couponCode":"NEWS","couponNumber":1,"product":"NEWS"`)
		for _, s := range []string{`"couponPrice":"199"`, `"periodType":"months"`, `"renewal":{"renewalPrice":"249","periodLength":"1","periodType":"months"}`, `"couponCode":"OLDNEWS"`} {
			if !strings.Contains(string(r.Body), s) {
				t.Errorf("coupon list lacks %s: %s", s, r.Body)
			}
		}
		if strings.Contains(string(r.Body), "marketing") {
			t.Error("marketing only when asked")
		}
		want(t, call(e, "GET", "/capi/v1/client/coupon/NEWS?marketing", tok, ""), 200, `"marketing":{"project":"Web","salesMethod":"WEB"}`)
		if r := call(e, "GET", "/capi/v1/client/coupon/NEWS?activeOnly=true", tok, ""); strings.Contains(string(r.Body), "OLDNEWS") {
			t.Error("activeOnly drops expired coupons")
		}
		want(t, call(e, "GET", "/capi/v1/client/coupon/PAPER", tok, ""), 200, `"extraProducts":[{"productId":"NEWS","description":"Acme News digital"}]`)
		want(t, call(e, "GET", "/capi/v1/client/coupon/NEWS/2", tok, ""), 200, `"couponCode":"TRIAL"`)
		want(t, call(e, "GET", "/capi/v1/client/coupon/NEWS/9", tok, ""), 404, "NotFoundException")
		want(t, call(e, "GET", "/capi/v1/client/coupon/RIVALNEWS", tok, ""), 404, "NotFoundException")
		want(t, call(e, "GET", "/capi/v1/client/coupon/NEWS", rival, ""), 404, "NotFoundException")

		want(t, call(e, "POST", "/capi/v1/client/coupon/price", tok, `{"couponCode":"NEWS","couponNumber":1}`), 200,
			`{"companyCode":"ACME","product":"NEWS","price":199,"vatAmount":39.8,"vatpercent":25,"vatInclude":true,"currency":"NOK","distAmount":0,"distAmountvat":0}`)
		want(t, call(e, "POST", "/capi/v1/client/coupon/price", tok, `{"couponCode":"PAPER","couponNumber":1,"postalCode":"0150"}`), 200, `"distAmount":50`)
		want(t, call(e, "POST", "/capi/v1/client/coupon/price", tok, `{"couponCode":"PAPER"}`), 400, "couponNumber: required")
		want(t, call(e, "POST", "/capi/v1/client/coupon/price", rival, `{"couponCode":"NEWS","couponNumber":1}`), 404, "NotFoundException")
		want(t, call(e, "POST", "/capi/v1/client/coupon/price", tok, `{"couponCode":"NEWS","couponNumber":1,"customerNumber":424242}`), 404, "NotFoundException")

		want(t, call(e, "GET", "/capi/v1/client/voucher/coupons/welcome2024", tok, ""), 200, `{"coupons":[{"couponCode":"TRIAL","couponNumber":2,"description":"Trial week","product":"NEWS"}]}`)
		want(t, call(e, "GET", "/capi/v1/client/voucher/coupons/EXPIRED1", tok, ""), 400, "voucherCode: voucher code has expired")
		want(t, call(e, "GET", "/capi/v1/client/voucher/coupons/NOPE", tok, ""), 400, "voucherCode: unknown")
		want(t, call(e, "GET", "/capi/v1/client/voucher/coupons/WELCOME2024", rival, ""), 400, "unknown")

		want(t, call(e, "POST", "/capi/v1/client/reward/check", tok, `{"rewardId":"R-1","rewardPartnerId":"7"}`), 200, `{"product":"NEWS","rewardId":"R-1","redeemed":false}`)
		want(t, call(e, "POST", "/capi/v1/client/reward/check", tok, `{"rewardId":"R-1","rewardPartnerId":8}`), 404, "NotFoundException")
		want(t, call(e, "POST", "/capi/v1/client/reward/check", tok, `{"rewardId":"R-1"}`), 400, "rewardPartnerId: required")
		want(t, call(e, "POST", "/capi/v1/client/reward/check", rival, `{"rewardId":"R-1","rewardPartnerId":7}`), 404, "NotFoundException")
		// Completing an order with the reward redeems it for the payer.
		o := registerOrder(t, e, tok, fmt.Sprintf(`{"paymentMethod":"invoice",%s,"orderLines":[{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"rewardPartnerId":7,"rewardId":"R-1"}]}`, payer))
		want(t, call(e, "POST", "/capi/v1/client/order", tok, fmt.Sprintf(`{"paymentMethod":"invoice",%s,"orderLines":[{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"rewardPartnerId":7,"rewardId":"R-1"}]}`, payer)), 400, "reward is already used")
		want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, o.OrderID)), 200, "OK")
		want(t, call(e, "POST", "/capi/v1/client/reward/check", tok, `{"rewardId":"R-1","rewardPartnerId":7}`), 200, fmt.Sprintf(`{"customerNumber":%d,"product":"NEWS","rewardId":"R-1","redeemed":true}`, o.CustomerNumber))
	})
}

func TestAssignUser(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		o := registerOrder(t, e, tok, newsOrder("assign-1", "invoice"))
		path := fmt.Sprintf("/capi/v1/client/order/%d/user", o.OrderID)
		want(t, call(e, "POST", path, rival, `{"credential":"new.user@example.com"}`), 404, "NotFoundException")
		want(t, call(e, "POST", path, tok, `{}`), 400, "credential: required")
		want(t, call(e, "POST", path, tok, `{"credential":"x@y.no","isSendMessage":true}`), 400, "overrideClientId")
		want(t, call(e, "POST", path, tok, `{"credential":"x@y.no","linkLifetime":500}`), 400, "linkLifetime")
		r := call(e, "POST", path, tok, `{"credential":"new.user@example.com","isSendMessage":true,"overrideClientId":"acme.web","returnUrl":"http://localhost:3000/done","errorUrl":"http://localhost:3000/err"}`)
		want(t, r, 200, `"isNewUser":true,"isPasswordSet":false`)
		want(t, call(e, "POST", path, tok, `{"credential":"new.user@example.com"}`), 200, `"isNewUser":false`)
		// Another user cannot take the order.
		want(t, call(e, "POST", path, tok, `{"credential":"alice@example.com"}`), 409, "ConflictException")
		if c := count(t, e, `SELECT COUNT(*) FROM customers c JOIN companies co ON co.id = c.company_id WHERE co.code = 'ACME' AND c.customer_number = $1 AND c.user_id IS NOT NULL`, o.CustomerNumber); c != 1 {
			t.Error("the payer must be linked to the assigned user")
		}
	})
}
