package order_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/testkit"
)

// Where the fulfillment page sends the browser in these tests.
const (
	flowReturn = "http://localhost:3000/done?x=1"
	flowError  = "http://localhost:3000/oops"
)

// loggedIn is a browser with a ConnectID session of the user.
func loggedIn(t *testing.T, e *testkit.Env, credential, password string) *testkit.Browser {
	t.Helper()
	b := e.NewBrowser()
	_, challenge := testkit.PKCE()
	b.Login(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "state-1234", challenge, ""), credential, password)
	return b
}

// cardOrder is a client-mode card order naming no ticket: the payer, new,
// has no stored means, so the page pays it at the provider.
func cardOrder(ext string) string {
	return fmt.Sprintf(`{"externalOrderId":%q,"paymentMethod":"creditcardPayex",%s,
		"orderLines":[{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1}]}`, ext, payer)
}

func fulfillmentQuery(orderID int64) string {
	return "/user/fulfillment?" + url.Values{"orderId": {fmt.Sprint(orderID)}, "returnUrl": {flowReturn},
		"errorUrl": {flowError}, "clientId": {testkit.ClientID}}.Encode()
}

// confirmAtPage opens the fulfillment page and confirms; the answer is the
// page's response to the confirmation.
func confirmAtPage(t *testing.T, e *testkit.Env, b *testkit.Browser, orderID int64) *testkit.Response {
	t.Helper()
	res := b.Get(fulfillmentQuery(orderID))
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), "Confirm your order") {
		t.Fatalf("fulfillment page: %d %.400s", res.Status, res.Body)
	}
	form := testkit.Hidden(res.Body)
	form.Set("action", "confirm")
	return b.Post("/user/fulfillment", form)
}

// toProvider checks that the confirmation sent the browser to the test
// provider's page and returns the transaction id.
func toProvider(t *testing.T, e *testkit.Env, res *testkit.Response) int64 {
	t.Helper()
	loc := e.Location(res)
	var id int64
	if _, err := fmt.Sscanf(loc.Path, "/user/payment/test/%d", &id); err != nil || loc.Scheme+"://"+loc.Host != e.URL {
		t.Fatalf("confirm went to %s, not the test provider", loc)
	}
	return id
}

// atProvider shows the test provider's page of the transaction and submits outcome.
func atProvider(t *testing.T, b *testkit.Browser, id, orderID int64, outcome string) *testkit.Response {
	t.Helper()
	page := b.Get(fmt.Sprintf("/user/payment/test/%d", id))
	body := string(page.Body)
	if page.Status != http.StatusOK || !strings.Contains(body, fmt.Sprintf("Pay order %d with Payex", orderID)) ||
		!strings.Contains(body, "199.00 NOK") {
		t.Fatalf("test provider page: %d %.600s", page.Status, body)
	}
	form := testkit.Hidden(page.Body)
	form.Set("outcome", outcome)
	return b.Post(fmt.Sprintf("/user/payment/test/%d", id), form)
}

// backAtPage follows the provider's redirect to the fulfillment page, which
// must send the browser on to the client's returnUrl with status.
func backAtPage(t *testing.T, e *testkit.Env, b *testkit.Browser, fromProvider *testkit.Response, id int64, status string) {
	t.Helper()
	loc := e.Location(fromProvider)
	if loc.Path != "/user/fulfillment" || loc.Query().Get("transactionId") != fmt.Sprint(id) {
		t.Fatalf("the provider returned the browser to %s", loc)
	}
	res := b.Get(loc.String())
	if got := e.Location(res).String(); got != "http://localhost:3000/done?fulfillmentStatus="+status+"&x=1" {
		t.Fatalf("back at the client with %s, want fulfillmentStatus=%s", got, status)
	}
}

func orderStatus(t *testing.T, e *testkit.Env, tok string, orderID int64) string {
	t.Helper()
	r := call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", orderID), tok, "")
	want(t, r, 200, "orderStatus")
	return statusField.FindStringSubmatch(string(r.Body))[1]
}

var statusField = regexp.MustCompile(`"orderStatus":"(\w+)"`)

// TestFulfillmentPagePaysAtProvider: a card order whose payer has nothing
// stored to charge is paid at the provider through an orderPayment flow.
// Each outcome of the test provider's page settles the order before the
// browser comes back (the flow's finish), and the page then sends the
// browser to the client with the matching fulfillmentStatus.
func TestFulfillmentPagePaysAtProvider(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		alice := loggedIn(t, e, "alice@example.com", "alice-password")
		for i, c := range []struct {
			outcome, orderStatus, fulfillment string
			subscriptions                     int
		}{
			{"approve", "completed", "success", 1},
			{"cancel", "cancelled", "cancel", 0},
			{"fail", "failed", "error", 0},
			{"pending", "pending", "unknown", 0},
		} {
			o := registerOrder(t, e, tok, cardOrder(fmt.Sprintf("hosted-%d", i)))
			id := toProvider(t, e, confirmAtPage(t, e, alice, o.OrderID))
			if s := orderStatus(t, e, tok, o.OrderID); s != "pending" {
				t.Fatalf("%s: at the provider the order is %s", c.outcome, s)
			}
			back := atProvider(t, alice, id, o.OrderID, c.outcome)
			// Settled whether or not the browser comes back.
			if s := orderStatus(t, e, tok, o.OrderID); s != c.orderStatus {
				t.Fatalf("%s: order %s, want %s", c.outcome, s, c.orderStatus)
			}
			backAtPage(t, e, alice, back, id, c.fulfillment)
			if n := count(t, e, `SELECT COUNT(*) FROM subscriptions WHERE order_id = $1`, o.OrderID); n != c.subscriptions {
				t.Fatalf("%s: %d subscriptions", c.outcome, n)
			}
			if c.outcome == "approve" {
				// The provider's reference of the payment is the order's.
				if n := count(t, e, `SELECT COUNT(*) FROM orders o JOIN payment_transactions t ON t.order_id = o.id
					WHERE o.id = $1 AND t.id = $2 AND t.status = 'finished' AND t.provider_ref LIKE 'sim_%' AND o.payment_reference = t.provider_ref`,
					o.OrderID, id); n != 1 {
					t.Fatal("the provider's reference is not recorded on the transaction and the order")
				}
			}
		}
	})
}

// TestFulfillmentPageHostedPaymentOnce: a double confirmation returns to the
// same flow, a double approval pays once, the transaction is shown to no
// other user and pays no other order, and the simulated provider declines
// an amount ending in 13.
func TestFulfillmentPageHostedPaymentOnce(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		alice := loggedIn(t, e, "alice@example.com", "alice-password")
		bob := loggedIn(t, e, "bob@example.com", "bob-password")

		o := registerOrder(t, e, tok, cardOrder("twice"))
		// Both submits of the page's form (one form, posted twice) reach one flow.
		res := alice.Get(fulfillmentQuery(o.OrderID))
		form := testkit.Hidden(res.Body)
		form.Set("action", "confirm")
		id := toProvider(t, e, alice.Post("/user/fulfillment", form))
		if again := toProvider(t, e, alice.Post("/user/fulfillment", form)); again != id {
			t.Fatalf("a second confirmation started transaction %d besides %d", again, id)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM payment_transactions WHERE order_id = $1`, o.OrderID); n != 1 {
			t.Fatalf("%d transactions for one order", n)
		}

		// Bob can neither see nor decide alice's transaction.
		testPage := fmt.Sprintf("/user/payment/test/%d", id)
		if res := bob.Get(testPage); res.Status != http.StatusNotFound || strings.Contains(string(res.Body), "Pay order") {
			t.Fatalf("bob opened alice's transaction: %d %.300s", res.Status, res.Body)
		}
		u, _ := url.Parse(e.URL)
		bob.Client.Jar.SetCookies(u, []*http.Cookie{{Name: "connect_payment_csrf", Value: strings.Repeat("A", 43), Path: "/user"}})
		if res := bob.Post(testPage, url.Values{"csrf": {strings.Repeat("A", 43)}, "outcome": {"approve"}}); res.Status != http.StatusNotFound {
			t.Fatalf("bob decided alice's transaction: %d", res.Status)
		}
		if s := orderStatus(t, e, tok, o.OrderID); s != "pending" {
			t.Fatalf("after bob: %s", s)
		}

		// Approve submitted twice: one payment, the second gets the recorded outcome.
		page := alice.Get(testPage)
		approve := testkit.Hidden(page.Body)
		approve.Set("outcome", "approve")
		first := alice.Post(testPage, approve)
		second := alice.Post(testPage, approve)
		if a, b := e.Location(first), e.Location(second); a.Query().Get("status") != "finished" || b.String() != a.String() {
			t.Fatalf("double approval: %s then %s", a, b)
		}
		backAtPage(t, e, alice, second, id, "success")
		backAtPage(t, e, alice, first, id, "success")
		if n := count(t, e, `SELECT COUNT(*) FROM subscriptions WHERE order_id = $1`, o.OrderID); n != 1 {
			t.Fatalf("%d subscriptions after a double approval", n)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM event_outbox WHERE type = 'order' AND status = 'completed' AND data LIKE $1`,
			fmt.Sprintf(`%%"orderId":%d}`, o.OrderID)); n != 1 {
			t.Fatalf("%d completions after a double approval", n)
		}

		// The finished transaction does not pay another order: its id on
		// another order's page changes nothing, and that order is paid by a flow of its own.
		other := registerOrder(t, e, tok, cardOrder("other"))
		reuse := fulfillmentQuery(other.OrderID) + fmt.Sprintf("&status=finished&transactionId=%d", id)
		if res := alice.Get(reuse); res.Status != http.StatusOK || !strings.Contains(string(res.Body), "Confirm your order") {
			t.Fatalf("another order's page with the transaction: %d %s", res.Status, res.Header.Get("Location"))
		}
		if s := orderStatus(t, e, tok, other.OrderID); s != "preliminary" {
			t.Fatalf("the other order is %s", s)
		}
		otherID := toProvider(t, e, confirmAtPage(t, e, alice, other.OrderID))
		if otherID == id {
			t.Fatal("the other order reuses the transaction")
		}
		if res := alice.Post(testPage, approve); e.Location(res).Query().Get("status") != "finished" {
			t.Fatalf("the used transaction: %s", e.Location(res))
		}
		if s := orderStatus(t, e, tok, other.OrderID); s != "pending" {
			t.Fatalf("the used transaction settled the other order: %s", s)
		}

		// The simulated provider declines amounts ending in 13 (minor units);
		// no catalog price does, so the test sets one.
		declined := registerOrder(t, e, tok, cardOrder("declined"))
		if _, err := e.App.DB.Exec(`UPDATE orders SET amount = 19913 WHERE id = $1`, declined.OrderID); err != nil {
			t.Fatal(err)
		}
		did := toProvider(t, e, confirmAtPage(t, e, alice, declined.OrderID))
		page = alice.Get(fmt.Sprintf("/user/payment/test/%d", did))
		if !strings.Contains(string(page.Body), "199.13 NOK") || !strings.Contains(string(page.Body), "declines amounts ending in 13") {
			t.Fatalf("declining page: %.600s", page.Body)
		}
		form = testkit.Hidden(page.Body)
		form.Set("outcome", "approve")
		backAtPage(t, e, alice, alice.Post(fmt.Sprintf("/user/payment/test/%d", did), form), did, "error")
		if s := orderStatus(t, e, tok, declined.OrderID); s != "failed" {
			t.Fatalf("declined order: %s", s)
		}
	})
}
