package order_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/testkit"
)

// userToken logs the fixture user in through the real authorization-code flow.
func userToken(t *testing.T, e *testkit.Env, credential, password string) string {
	t.Helper()
	verifier, challenge := testkit.PKCE()
	code := e.NewBrowser().Login(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "state-1234", challenge, ""), credential, password)
	res, tok := e.Exchange(testkit.ClientID, testkit.ClientSecret, code, testkit.RedirectURI, verifier)
	if res.Status != http.StatusOK {
		t.Fatalf("token: %d %s", res.Status, res.Body)
	}
	return tok.AccessToken
}

// TestOrdersUseStoredMeans: a card order goes through billing's payment
// gateway like renewals do. A prepaid recurring order's ticket becomes the
// payer's stored token (encrypted; the order's plain copy is cleared), a
// later card order without a ticket is charged with that token exactly once
// however often it is fulfilled, renewals charge it, and a payer without
// any means gets ERROR with the order left as it was.
func TestOrdersUseStoredMeans(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		clock := testkit.NewClock(time.Now())
		e := testkit.New(t, d, testkit.WithClock(clock))
		client := e.ClientToken()
		alice := userToken(t, e, "alice@example.com", "alice-password")
		fulfil := func(id int64) *testkit.Response {
			return call(e, "POST", "/capi/v1/client/order/fulfillment", client, fmt.Sprintf(`{"orderId":%d}`, id))
		}
		register := func(token, body string) registered {
			r := call(e, "POST", "/capi/v1/order", token, body)
			want(t, r, 200, "orderId")
			var out registered
			r.JSON(t, &out)
			return out
		}

		prepaid := register(alice, fmt.Sprintf(`{"paymentMethod":"creditcardPayex","prepaid":true,"recurring":true,
			"paymentInfo":{"transactionId":"psp-1","ticket":"card-ok-7781","cardNumberMasked":"492500******1111","expMonth":"12","expYear":"2030","cardTypeName":"VISA"},
			%s,"orderLines":[{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1}]}`, payer))
		want(t, fulfil(prepaid.OrderID), 200, `"fulfillmentStatus":"OK"`)
		want(t, call(e, "GET", "/capi/v1/api/payment/payex/token", alice, ""), 200,
			`{"paymentRecurrenceTokens":[{"recurrenceToken":"card-ok-7781","paymentProviderId":11,"merchantId":"45723589","productCode":"NEWS","maskedCardNumber":"xxxx-xxxxxx-x1111","expirationMonth":"12","expirationYear":"30","cardTypeName":"VISA"}]}`)
		if n := count(t, e, `SELECT COUNT(*) FROM orders WHERE id = $1 AND payment_token = ''`, prepaid.OrderID); n != 1 {
			t.Fatal("the order keeps a plain copy of the stored token")
		}
		if n := count(t, e, `SELECT COUNT(*) FROM payment_means WHERE reference_enc LIKE '%card-ok%'`); n != 0 {
			t.Fatal("the token is stored in clear")
		}

		// A card order naming no ticket is charged with the stored token, once.
		book := register(alice, fmt.Sprintf(`{"paymentMethod":"creditcardPayex",%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer))
		for range 2 {
			want(t, fulfil(book.OrderID), 200, `"fulfillmentStatus":"OK"`)
		}
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", book.OrderID), client, ""), 200, `"orderStatus":"completed"`)
		if n := count(t, e, `SELECT COUNT(*) FROM simulated_gateway_charges WHERE idempotency_key LIKE $1 AND amount = 30000 AND calls = 1 AND outcome = 'succeeded'`,
			fmt.Sprintf("ord-%%-%d", book.OrderID)); n != 1 {
			t.Fatalf("charges of the book order: %d", n)
		}

		// Bob has no means: ERROR, and the order stays preliminary for a retry.
		bob := userToken(t, e, "bob@example.com", "bob-password")
		none := register(bob, fmt.Sprintf(`{"paymentMethod":"creditcardPayex",%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer))
		want(t, fulfil(none.OrderID), 200, `"fulfillmentStatus":"ERROR","orderId":`+fmt.Sprint(none.OrderID)+`,"errorMessage":"no stored payment token or agreement for creditcardPayex"`)
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", none.OrderID), client, ""), 200, `"orderStatus":"preliminary"`)

		// The renewal of the ordered subscription charges the same token.
		var subs struct {
			Subscriptions []struct {
				Product string `json:"product"`
				EndTime int64  `json:"endTime"`
			} `json:"subscriptions"`
		}
		r := call(e, "GET", "/capi/v1/subscription", alice, "")
		want(t, r, 200, `"product":"NEWS"`)
		r.JSON(t, &subs)
		end := time.UnixMilli(subs.Subscriptions[0].EndTime)
		runner := &jobs.Runner{DB: e.App.DB, Billing: e.App.Billing}
		for _, at := range []time.Time{end.AddDate(0, 0, -10), end.Add(24 * time.Hour)} {
			if _, err := runner.RunOnce(context.Background(), at); err != nil {
				t.Fatal(err)
			}
		}
		r = call(e, "GET", "/capi/v1/customer/invoice/payment/NEWS", alice, "")
		want(t, r, 200, `"paymentMethod":"K","invoiceStatus":"Paid"`)
	})
}
