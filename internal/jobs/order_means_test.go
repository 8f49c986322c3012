package jobs_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/testkit"
)

// payAtProvider registers a card order for a new payer in client mode,
// confirms it on the fulfillment page as the logged-in user (the payer has
// nothing stored, so the page sends the browser to the provider) and
// approves the payment on the test provider's page. It returns the order id
// and the payer's customer number.
func (f *fixture) payAtProvider(t *testing.T, b *testkit.Browser, ext, email string, recurring bool) (int64, int64) {
	t.Helper()
	body := fmt.Sprintf(`{"externalOrderId":%q,"paymentMethod":"creditcardPayex","recurring":%t,
		"payer":{"firstName":"Ola","lastName":"Nordmann","street":"Grubbegata 6","postalCode":"0179","emails":[%q]},
		"orderLines":[{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1}]}`, ext, recurring, email)
	var order struct{ OrderID, CustomerNumber int64 }
	if st := f.call(t, "POST", "/capi/v1/client/order", f.e.ClientToken(), body, &order); st != 200 || order.OrderID == 0 {
		t.Fatalf("register %s: %d", ext, st)
	}
	page := b.Get("/user/fulfillment?" + url.Values{"orderId": {fmt.Sprint(order.OrderID)}, "clientId": {testkit.ClientID},
		"returnUrl": {"http://localhost:3000/done"}, "errorUrl": {"http://localhost:3000/oops"}}.Encode())
	if page.Status != http.StatusOK {
		t.Fatalf("fulfillment page: %d %.300s", page.Status, page.Body)
	}
	form := testkit.Hidden(page.Body)
	form.Set("action", "confirm")
	at := f.e.Location(b.Post("/user/fulfillment", form))
	if !strings.HasPrefix(at.Path, "/user/payment/test/") {
		t.Fatalf("confirm went to %s, not the test provider", at)
	}
	provider := b.Get(at.Path)
	approve := testkit.Hidden(provider.Body)
	approve.Set("outcome", "approve")
	if back := f.e.Location(b.Post(at.Path, approve)); back.Query().Get("status") != "finished" {
		t.Fatalf("the provider returned %s", back)
	}
	var status string
	var payer int64
	if err := f.e.App.DB.QueryRow(`SELECT status, payer_customer_number FROM orders WHERE id = $1`, order.OrderID).Scan(&status, &payer); err != nil || status != "completed" {
		t.Fatalf("order %s after the payment: %q %v", ext, status, err)
	}
	return order.OrderID, payer
}

// TestRecurringOrderPaidAtProviderKeepsMeans: a recurring card order paid
// on the provider's page (orderPayment) keeps the token the payment created
// as the payer's means of the subscription it started, so its renewal is
// charged to the card instead of falling back to invoice. A one-off order
// paid the same way stores nothing.
func TestRecurringOrderPaidAtProviderKeepsMeans(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		f, clock := clockedFixture(t, d, day("2025-01-05"), "")
		login := func(credential, password string) *testkit.Browser {
			b := f.e.NewBrowser()
			_, challenge := testkit.PKCE()
			b.Login(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "state-1234", challenge, ""), credential, password)
			return b
		}
		orderID, payer := f.payAtProvider(t, login("alice@example.com", "alice-password"), "recurring-1", "ola@example.no", true)
		_, oneOffPayer := f.payAtProvider(t, login("bob@example.com", "bob-password"), "one-off-1", "kari@example.no", false)

		var kind, masked, enc string
		var provider int64
		if err := f.e.App.DB.QueryRow(`SELECT kind, provider_id, masked_card, reference_enc FROM payment_means
			WHERE customer_number = $1 AND product_code = 'NEWS' AND status = 'valid'`, payer).Scan(&kind, &provider, &masked, &enc); err != nil ||
			kind != "payexToken" || provider != 11 || masked != "xxxx-xxxxxx-x0004" || enc == "" {
			t.Fatalf("stored means: %q %d %q %v", kind, provider, masked, err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM payment_transactions WHERE order_id = $1 AND status = 'finished' AND means_id IS NOT NULL
			AND provider_ref LIKE 'sim_%'`, orderID); n != 1 {
			t.Fatal("the order's transaction records no payment reference or means")
		}
		if n := f.count(t, `SELECT COUNT(*) FROM payment_means WHERE customer_number = $1`, oneOffPayer); n != 0 {
			t.Fatalf("a one-off order stored %d means", n)
		}

		var sid int64
		if err := f.e.App.DB.QueryRow(`SELECT id FROM subscriptions WHERE order_id = $1`, orderID).Scan(&sid); err != nil {
			t.Fatal(err)
		}
		end := time.UnixMilli(f.sub(t, sid).EndTime).In(oslo)
		next := time.Date(end.Year(), end.Month(), end.Day()+1, 0, 0, 0, 0, oslo) // period 2's first day
		issueDay, chargeDay := next.AddDate(0, 0, -14).Format("2006-01-02"), next.Format("2006-01-02")
		clock.Set(day(issueDay))
		if rep := f.run(t, issueDay); rep.Issued != 2 {
			t.Fatalf("issue: %+v", rep)
		}
		if inv := f.invoice(t, sid, 2); inv.MethodCode != "K" || inv.ProductMethod != billing.MethodPayEx || inv.ChargeState != billing.ChargeScheduled {
			t.Fatalf("renewal of the recurring order: %+v", inv)
		}
		clock.Set(day(chargeDay))
		if rep := f.run(t, chargeDay); rep.Charged != 1 {
			t.Fatalf("charge: %+v", rep)
		}
		if inv := f.invoice(t, sid, 2); inv.Status != billing.StatusPaid || inv.PaidAmount != inv.Amount {
			t.Fatalf("charged renewal: %+v", inv)
		}
	})
}
