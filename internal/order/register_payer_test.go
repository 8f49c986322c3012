package order_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/connect-oss/connect/internal/testkit"
)

// Orders for an existing payer (by customer number) are what the single
// statement writes on PostgreSQL; on SQLite they take the transaction. The
// tests below hold on both.

func payerOrder(ext string, payer int64, lines string) string {
	return fmt.Sprintf(`{"externalOrderId":%q,"paymentMethod":"invoice","payer":{"customerNumber":%d},"orderLines":[%s]}`, ext, payer, lines)
}

const newsLine = `{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"unitPrice":199}`

// written counts the rows a registration writes.
func written(t *testing.T, e *testkit.Env) string {
	t.Helper()
	return fmt.Sprint(count(t, e, `SELECT COUNT(*) FROM orders`), count(t, e, `SELECT COUNT(*) FROM order_lines`),
		count(t, e, `SELECT COUNT(*) FROM event_outbox WHERE type = 'order'`), count(t, e, `SELECT COUNT(*) FROM order_claims`))
}

// onlyCustomerOf registers customers with the owner's token until one has a
// number the other company does not use (numbers are per company), and
// returns it.
func onlyCustomerOf(t *testing.T, e *testkit.Env, owner, other string) int64 {
	t.Helper()
	for {
		r := call(e, "POST", "/capi/v1/client/customer", owner, `{"lastName":"Only","postalCode":"0150","emails":["only@example.no"]}`)
		want(t, r, 200, "customerNumber")
		var out struct{ CustomerNumber int64 }
		r.JSON(t, &out)
		chk := call(e, "POST", "/capi/v1/client/customer/check", other, fmt.Sprintf(`{"customerNumber":%d}`, out.CustomerNumber))
		if strings.Contains(string(chk.Body), `"exists":false`) {
			return out.CustomerNumber
		}
	}
}

func TestRegisterForExistingPayer(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		ctx := context.Background()
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		n := registerOrder(t, e, tok, newsOrder("", "invoice")).CustomerNumber

		o := registerOrder(t, e, tok, payerOrder("", n, newsLine+`,{"productSpecType":"product","product":"BOOK1","quantity":2}`))
		if o.CustomerNumber != n || o.OrderStatus != "preliminary" {
			t.Fatalf("registered %+v", o)
		}
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", o.OrderID), tok, ""), 200,
			`"orderStatus":"preliminary","orderAmount":799,"currency":"NOK"`)
		if c := count(t, e, `SELECT COUNT(*) FROM order_lines WHERE order_id = $1 AND ((line_no = 0 AND product = 'NEWS' AND amount = 19900
			AND quantity = 1) OR (line_no = 1 AND product = 'BOOK1' AND amount = 60000 AND quantity = 2)) AND receiver_customer_number = $2`,
			o.OrderID, n); c != 2 {
			t.Fatalf("lines as ordered: %d", c)
		}
		// The event is the one event.Record writes for the order.
		var data, source, status string
		if err := e.App.DB.QueryRowContext(ctx, `SELECT data, source, status FROM event_outbox WHERE type = 'order' AND data LIKE $1`,
			fmt.Sprintf(`%%"orderId":%d}`, o.OrderID)).Scan(&data, &source, &status); err != nil {
			t.Fatal(err)
		}
		wantData, _ := json.Marshal(map[string]any{"orderId": o.OrderID, "externalOrderId": "", "customerNumber": n, "clientId": testkit.ClientID})
		if data != string(wantData) || source != "ACME" || status != "preliminary" {
			t.Fatalf("event %s %s %s, want data %s", data, source, status, wantData)
		}

		// An unknown payer, or another company's customer, is a 404 and writes nothing.
		before := written(t, e)
		want(t, call(e, "POST", "/capi/v1/client/order", tok, payerOrder("", 99999999, newsLine)), 404, "no customer 99999999")
		other := onlyCustomerOf(t, e, rival, tok)
		want(t, call(e, "POST", "/capi/v1/client/order", tok, payerOrder("", other, newsLine)), 404, "NotFoundException")
		r := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/order", Token: tok, Accept: "application/json",
			ContentType: "application/json", Body: payerOrder("", other, newsLine), Header: http.Header{"Idempotency-Key": {"k-unknown"}}})
		want(t, r, 404, "NotFoundException")
		want(t, call(e, "POST", "/capi/v1/client/order", tok, payerOrder("ext-unknown", 99999999, newsLine)), 404, "no customer")
		// Validation against the catalog still applies.
		want(t, call(e, "POST", "/capi/v1/client/order", tok, payerOrder("", n, `{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"unitPrice":100}`)),
			400, "orderLines[0].unitPrice: is 100 but the catalog price is 199")
		want(t, call(e, "POST", "/capi/v1/client/order", tok, payerOrder("", n, `{"productSpecType":"coupon","productSpecCode":"RIVAL","productSpecNo":1}`)),
			400, "unknown coupon RIVAL/1")
		if after := written(t, e); after != before {
			t.Fatalf("rows written by refused orders: %s → %s", before, after)
		}
		// RIVAL may order for its own customer, not for one only ACME has.
		rivalLine := `{"productSpecType":"coupon","productSpecCode":"RIVAL","productSpecNo":1}`
		registerOrder(t, e, rival, payerOrder("", other, rivalLine))
		acmeOnly := onlyCustomerOf(t, e, tok, rival)
		want(t, call(e, "POST", "/capi/v1/client/order", rival, payerOrder("", acmeOnly, rivalLine)), 404, "NotFoundException")
	})
}

func TestRegisterForExistingPayerIsIdempotent(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		n := registerOrder(t, e, tok, newsOrder("", "invoice")).CustomerNumber
		withKey := func(key, body string) *testkit.Response {
			return e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/order", Token: tok, Accept: "application/json",
				ContentType: "application/json", Body: body, Header: http.Header{"Idempotency-Key": {key}}})
		}
		orderOf := func(r *testkit.Response) int64 {
			t.Helper()
			want(t, r, 200, "orderId")
			var out registered
			r.JSON(t, &out)
			return out.OrderID
		}

		// externalOrderId: the same body is the same order; another body is a conflict.
		first := registerOrder(t, e, tok, payerOrder("ext-9", n, newsLine))
		if again := registerOrder(t, e, tok, payerOrder("ext-9", n, newsLine)); again != first {
			t.Fatalf("replay %+v, first %+v", again, first)
		}
		want(t, call(e, "POST", "/capi/v1/client/order", tok, payerOrder("ext-9", n, newsLine+","+newsLine)), 409,
			fmt.Sprintf("externalOrderId ext-9 is already used by order %d", first.OrderID))

		// Idempotency-Key likewise.
		k := orderOf(withKey("key-9", payerOrder("", n, newsLine)))
		if again := orderOf(withKey("key-9", payerOrder("", n, newsLine))); again != k {
			t.Fatalf("replay %d, first %d", again, k)
		}
		want(t, withKey("key-9", payerOrder("", n, newsLine+","+newsLine)), 409, "Idempotency-Key was used for another request")
		// Both: the order takes both keys.
		both := orderOf(withKey("key-10", payerOrder("ext-10", n, newsLine)))
		if again := orderOf(withKey("key-10", payerOrder("ext-10", n, newsLine))); again != both {
			t.Fatalf("replay with both keys %d, first %d", again, both)
		}
		want(t, call(e, "POST", "/capi/v1/client/order", tok, payerOrder("ext-10", n, newsLine+","+newsLine)), 409, "ext-10")

		// An expired Idempotency-Key is taken over by the next request.
		if _, err := e.App.DB.ExecContext(context.Background(), `UPDATE order_claims SET expires_at = 1 WHERE claim_key = 'hdr:key-9'`); err != nil {
			t.Fatal(err)
		}
		taken := orderOf(withKey("key-9", payerOrder("", n, newsLine+","+newsLine)))
		if taken == k {
			t.Fatal("an expired key replayed its old order")
		}
		if again := orderOf(withKey("key-9", payerOrder("", n, newsLine+","+newsLine))); again != taken {
			t.Fatalf("replay after takeover %d, want %d", again, taken)
		}
		if c := count(t, e, `SELECT COUNT(*) FROM orders WHERE payer_customer_number = $1`, n); c != 1+4 {
			t.Fatalf("orders of the payer: %d", c)
		}

		// Parallel identical requests make one order, whichever key they carry.
		for _, h := range []struct{ key, ext string }{{"par-key", ""}, {"", "par-ext"}} {
			body := payerOrder(h.ext, n, newsLine)
			ids := make([]int64, 8)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := testkit.Request{Method: "POST", Path: "/capi/v1/client/order", Token: tok, Accept: "application/json",
						ContentType: "application/json", Body: body}
					if h.key != "" {
						req.Header = http.Header{"Idempotency-Key": {h.key}}
					}
					r := e.Call(req)
					if r.Status != 200 {
						t.Errorf("parallel request: %d %s", r.Status, r.Body)
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
					t.Fatalf("parallel requests (key %q, ext %q) got orders %v", h.key, h.ext, ids)
				}
			}
		}
		if c := count(t, e, `SELECT COUNT(*) FROM orders WHERE payer_customer_number = $1`, n); c != 1+4+2 {
			t.Fatalf("orders of the payer after the parallel requests: %d", c)
		}
	})
}

// The catalog cache follows a tenant apply: the next order is priced by the
// new file.
func TestRegisterSeesTenantChanges(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		n := registerOrder(t, e, tok, newsOrder("", "invoice")).CustomerNumber
		registerOrder(t, e, tok, payerOrder("", n, newsLine)) // the coupon is cached now
		file := `companies:
  - code: ACME
    name: Acme Media
    country: NO
    products:
      - {product: NEWS, description: Acme News digital, startTime: 2024-01-01, retailPrice: 199, webOfferPrice: 84.54, vatPercent: 25, digital: true, shop: true}
    coupons:
      - {product: NEWS, couponCode: NEWS, couponNumber: 1, description: Monthly, price: 249, periodLength: 1, periodType: month, renewalPrice: 249, startTime: 2024-01-01, marketing: {project: Web, salesMethod: WEB}}
      - {product: NEWS, couponCode: LATER, couponNumber: 1, price: 9, periodLength: 1, periodType: month, startTime: 2024-01-01}
`
		if _, err := e.App.ApplyTenantFile(context.Background(), "change.yaml", []byte(file)); err != nil {
			t.Fatal(err)
		}
		want(t, call(e, "POST", "/capi/v1/client/order", tok, payerOrder("", n, newsLine)), 400, "the catalog price is 249")
		registerOrder(t, e, tok, payerOrder("", n, `{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"unitPrice":249}`))
		registerOrder(t, e, tok, payerOrder("", n, `{"productSpecType":"coupon","productSpecCode":"LATER","productSpecNo":1}`))
	})
}
