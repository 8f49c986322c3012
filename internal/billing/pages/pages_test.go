package pages_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/identity"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/testkit"
	"github.com/connect-oss/connect/internal/value"
)

const (
	returnURL = "http://localhost:3000/done?from=test"
	errorURL  = "http://localhost:3000/error"
)

// reader is a logged-in ConnectID user: a browser with the session cookie
// and a user-mode access token of the fixture's web client.
type reader struct {
	b     *testkit.Browser
	token string
}

func login(t *testing.T, e *testkit.Env, credential, password string) reader {
	t.Helper()
	b := e.NewBrowser()
	verifier, challenge := testkit.PKCE()
	code := b.Login(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "state-1234", challenge, ""), credential, password)
	res, tok := e.Exchange(testkit.ClientID, testkit.ClientSecret, code, testkit.RedirectURI, verifier)
	if res.Status != http.StatusOK {
		t.Fatalf("token: %d %s", res.Status, res.Body)
	}
	return reader{b: b, token: tok.AccessToken}
}

func call(t *testing.T, e *testkit.Env, method, path, token, body string, want int) *testkit.Response {
	t.Helper()
	res := e.Call(testkit.Request{Method: method, Path: path, Token: token, Accept: "application/json", ContentType: "application/json", Body: body})
	if res.Status != want {
		t.Fatalf("%s %s: want %d, got %d %s", method, path, want, res.Status, res.Body)
	}
	return res
}

// startFlow calls an Add (or Pay, Change) operation and returns the id it answers.
func startFlow(t *testing.T, e *testkit.Env, r reader, path, body string) int64 {
	t.Helper()
	var out struct {
		Success         bool  `json:"success"`
		TransactionID   int64 `json:"transactionId"`
		PaymentChangeID int64 `json:"paymentChangeId"`
	}
	call(t, e, "POST", path, r.token, body, 200).JSON(t, &out)
	if out.TransactionID == 0 && out.PaymentChangeID == 0 {
		t.Fatalf("%s: no transaction: %+v", path, out)
	}
	return out.TransactionID + out.PaymentChangeID
}

func pageURL(page, idName string, id int64, extra url.Values) string {
	q := url.Values{"clientId": {testkit.ClientID}, "returnUrl": {returnURL}, "errorUrl": {errorURL}, idName: {fmt.Sprint(id)}}
	for k, v := range extra {
		q[k] = v
	}
	return page + "?" + q.Encode()
}

// wantRedirect checks a 303 to target (compared without query order).
func wantRedirect(t *testing.T, res *testkit.Response, target string) {
	t.Helper()
	if res.Status != http.StatusSeeOther {
		t.Fatalf("want a redirect to %s, got %d %.300s", target, res.Status, res.Body)
	}
	got, _ := url.Parse(res.Header.Get("Location"))
	want, _ := url.Parse(target)
	if got.Scheme+got.Host+got.Path != want.Scheme+want.Host+want.Path || got.Query().Encode() != want.Query().Encode() {
		t.Fatalf("redirect to %s, want %s", got, want)
	}
}

func back(status, idName string, id int64) string {
	return fmt.Sprintf("%s&status=%s&%s=%d", returnURL, status, idName, id)
}

// decide drives the test provider's page: it must show the flow, then the
// chosen outcome returns the browser to returnUrl.
func decide(t *testing.T, e *testkit.Env, r reader, id int64, outcome string) *testkit.Response {
	t.Helper()
	page := r.b.Get(fmt.Sprintf("/user/payment/test/%d", id))
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "Leave pending") {
		t.Fatalf("test page: %d %.400s", page.Status, page.Body)
	}
	form := testkit.Hidden(page.Body)
	form.Set("outcome", outcome)
	return r.b.Post(fmt.Sprintf("/user/payment/test/%d", id), form)
}

func count(t *testing.T, e *testkit.Env, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.App.DB.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// subscribeByOrder gives the reader a NEWS subscription through an invoice
// order (which also issues its invoice).
func subscribeByOrder(t *testing.T, e *testkit.Env, r reader) {
	t.Helper()
	var o struct {
		OrderID int64 `json:"orderId"`
	}
	call(t, e, "POST", "/capi/v1/order", r.token, `{"paymentMethod":"invoice","payer":{"firstName":"Alice","lastName":"Example",
		"street":"Grubbegata 6","postalCode":"0179","emails":["alice@example.com"]},
		"orderLines":[{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1}]}`, 200).JSON(t, &o)
	call(t, e, "POST", "/capi/v1/client/order/fulfillment", e.ClientToken(), fmt.Sprintf(`{"orderId":%d}`, o.OrderID), 200)
}

func withClock(t *testing.T, fn func(t *testing.T, e *testkit.Env, c *testkit.Clock)) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		c := testkit.NewClock(time.Now())
		fn(t, testkit.New(t, d, testkit.WithClock(c)), c)
	})
}

// TestHostedFlowPages drives the Add pages and the test provider: the
// client's URLs are checked, the flow is shown only to its user, each
// outcome returns to returnUrl with status and transactionId, and a
// transaction finishes once.
func TestHostedFlowPages(t *testing.T) {
	withClock(t, func(t *testing.T, e *testkit.Env, clock *testkit.Clock) {
		alice := login(t, e, "alice@example.com", "alice-password")
		bob := login(t, e, "bob@example.com", "bob-password")
		subscribeByOrder(t, e, alice)

		id := startFlow(t, e, alice, "/capi/v1/customer/payment/klarna/token", `{"productCode":"NEWS"}`)
		start := pageURL("/user/payment/klarna/token/add", "transactionId", id, nil)

		// Not logged in: log in first, coming back here.
		if res := e.NewBrowser().Get(start); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/user/login?") {
			t.Fatalf("anonymous: %d %s", res.Status, res.Header.Get("Location"))
		}
		// URLs not registered for the client, or an unknown client: an error page, never a redirect.
		for _, bad := range []url.Values{
			{"returnUrl": {"http://evil.example/x"}},
			{"errorUrl": {"https://evil.example/"}},
			{"returnUrl": {"javascript:alert(1)"}},
			{"returnUrl": {""}},
			{"clientId": {"nobody.web"}},
			{"transactionId": {"12x"}},
		} {
			res := alice.b.Get(pageURL("/user/payment/klarna/token/add", "transactionId", id, bad))
			if res.Status != http.StatusBadRequest || res.Header.Get("Location") != "" {
				t.Fatalf("%v: %d %s", bad, res.Status, res.Header.Get("Location"))
			}
		}
		// Another user, an unknown id, or the page of another purpose: not found, and nothing of the flow shown.
		for _, c := range []struct {
			r    reader
			page string
		}{{bob, start}, {alice, pageURL("/user/payment/klarna/token/add", "transactionId", 12345678, nil)},
			{alice, pageURL("/user/payment/payex/token/add", "transactionId", id, nil)}} {
			res := c.r.b.Get(c.page)
			if res.Status != http.StatusNotFound || strings.Contains(string(res.Body), "NEWS") {
				t.Fatalf("%s: %d %s", c.page, res.Status, res.Body)
			}
		}
		if res := bob.b.Get(fmt.Sprintf("/user/payment/test/%d", id)); res.Status != http.StatusNotFound {
			t.Fatalf("bob opened alice's test page: %d", res.Status)
		}
		// The test page is only reached through the start page.
		if res := alice.b.Get(fmt.Sprintf("/user/payment/test/%d", id)); res.Status != http.StatusNotFound {
			t.Fatalf("test page before the start page: %d", res.Status)
		}

		wantRedirect(t, alice.b.Get(start), fmt.Sprintf("%s/user/payment/test/%d", e.URL, id))
		page := alice.b.Get(fmt.Sprintf("/user/payment/test/%d", id))
		form := testkit.Hidden(page.Body)
		if page.Status != http.StatusOK || form.Get("csrf") == "" || page.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("test page: %d %v %s", page.Status, form, page.Body)
		}
		// A forged form changes nothing; bob, with a valid form of his own, gets not found.
		forged := url.Values{"csrf": {strings.Repeat("A", 43)}, "outcome": {"approve"}}
		if res := alice.b.Post(fmt.Sprintf("/user/payment/test/%d", id), forged); res.Status != http.StatusForbidden {
			t.Fatalf("forged: %d", res.Status)
		}
		u, _ := url.Parse(e.URL)
		bob.b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: "connect_payment_csrf", Value: strings.Repeat("A", 43), Path: "/user"}})
		if res := bob.b.Post(fmt.Sprintf("/user/payment/test/%d", id), forged); res.Status != http.StatusNotFound {
			t.Fatalf("bob finished alice's flow: %d", res.Status)
		}

		form.Set("outcome", "approve")
		wantRedirect(t, alice.b.Post(fmt.Sprintf("/user/payment/test/%d", id), form), back("finished", "transactionId", id))
		// Submitting twice, or opening the start page again, returns the
		// recorded outcome and stores nothing more.
		wantRedirect(t, alice.b.Post(fmt.Sprintf("/user/payment/test/%d", id), form), back("finished", "transactionId", id))
		wantRedirect(t, alice.b.Get(start), back("finished", "transactionId", id))
		var kl struct {
			Tokens []struct {
				Token string `json:"token"`
			} `json:"recurringTokens"`
		}
		call(t, e, "GET", "/capi/v1/customer/payment/klarna/token", alice.token, "", 200).JSON(t, &kl)
		if len(kl.Tokens) != 1 || !strings.HasPrefix(kl.Tokens[0].Token, "test_") {
			t.Fatalf("klarna tokens: %+v", kl)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM payment_means`); n != 1 {
			t.Fatalf("means stored: %d", n)
		}

		// Cancel, fail, and leave pending (then decide later).
		for _, c := range []struct{ path, body, page, outcome, status string }{
			{"/capi/v1/api/payment/nexi/subscription", `{"productCode":"NEWS"}`, "/user/payment/nexi/subscription/add", "cancel", "cancelled"},
			{"/capi/v1/api/payment/payex/token", `{"tokenType":"card","productCode":"NEWS"}`, "/user/payment/payex/token/add", "fail", "failed"},
			{"/capi/v1/customer/payment/vipps/agreement", `{"productCode":"NEWS"}`, "/user/payment/vipps/agreement/add", "pending", "initiated"},
		} {
			id := startFlow(t, e, alice, c.path, c.body)
			wantRedirect(t, alice.b.Get(pageURL(c.page, "transactionId", id, nil)), fmt.Sprintf("%s/user/payment/test/%d", e.URL, id))
			wantRedirect(t, decide(t, e, alice, id, c.outcome), back(c.status, "transactionId", id))
			if c.outcome == "pending" {
				wantRedirect(t, decide(t, e, alice, id, "approve"), back("finished", "transactionId", id))
			}
		}
		var va struct {
			Agreements []struct {
				Ref string `json:"agreementRef"`
			} `json:"recurringAgreements"`
		}
		call(t, e, "GET", "/capi/v1/customer/payment/vipps/agreement", alice.token, "", 200).JSON(t, &va)
		call(t, e, "GET", "/capi/v1/customer/payment/klarna/token", alice.token, "", 200).JSON(t, &kl)
		if len(va.Agreements) != 1 || len(kl.Tokens) != 0 {
			t.Fatalf("the Vipps agreement replaces the Klarna token: %+v %+v", va, kl)
		}

		// Expired: after one hour the start page and the test page go to errorUrl.
		id = startFlow(t, e, alice, "/capi/v1/api/payment/payex/token", `{"tokenType":"card","productCode":"NEWS"}`)
		opened := pageURL("/user/payment/payex/token/add", "transactionId", id, nil)
		wantRedirect(t, alice.b.Get(opened), fmt.Sprintf("%s/user/payment/test/%d", e.URL, id))
		page = alice.b.Get(fmt.Sprintf("/user/payment/test/%d", id))
		form = testkit.Hidden(page.Body)
		form.Set("outcome", "approve")
		late := startFlow(t, e, alice, "/capi/v1/api/payment/nexi/subscription", `{"productCode":"NEWS"}`)
		clock.Advance(61 * time.Minute)
		wantRedirect(t, alice.b.Post(fmt.Sprintf("/user/payment/test/%d", id), form), errorURL)
		wantRedirect(t, alice.b.Get(pageURL("/user/payment/nexi/subscription/add", "transactionId", late, nil)), errorURL)
		if n := count(t, e, `SELECT COUNT(*) FROM payment_means WHERE status = 'valid' AND kind = 'payexToken'`); n != 0 {
			t.Fatalf("an expired flow stored a card")
		}
	})
}

// TestInvoicePayPageAndView: paying an invoice through the pages books one
// payment however often the form is sent; the invoice's hosted view shows
// that invoice to whoever has its token, and nothing for other tokens.
func TestInvoicePayPageAndView(t *testing.T) {
	withClock(t, func(t *testing.T, e *testkit.Env, clock *testkit.Clock) {
		alice := login(t, e, "alice@example.com", "alice-password")
		subscribeByOrder(t, e, alice)
		var lists struct {
			Invoices []struct {
				InvoiceNumber   string `json:"invoiceNumber"`
				InvoiceStatus   string `json:"invoiceStatus"`
				InvoiceHotelURL string `json:"invoiceHotelUrl"`
			} `json:"invoices"`
		}
		call(t, e, "GET", "/capi/v1/customer/invoice/payment", alice.token, "", 200).JSON(t, &lists)
		if len(lists.Invoices) != 1 {
			t.Fatalf("invoices: %+v", lists)
		}
		inv := lists.Invoices[0]

		// The hosted view: no login, one invoice.
		view := strings.TrimPrefix(inv.InvoiceHotelURL, e.URL)
		res := e.NewBrowser().Get(view)
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), "Invoice "+inv.InvoiceNumber) ||
			!strings.Contains(string(res.Body), "199.00") || !strings.Contains(string(res.Body), "Alice Example") ||
			res.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("invoice view: %d %s", res.Status, res.Body)
		}
		for _, bad := range []string{"/user/invoice/view/" + strings.Repeat("a", 28), "/user/invoice/view/short",
			"/user/invoice/view/" + strings.ToUpper(strings.TrimPrefix(view, "/user/invoice/view/"))} {
			if res := e.NewBrowser().Get(bad); res.Status != http.StatusNotFound || strings.Contains(string(res.Body), inv.InvoiceNumber) {
				t.Fatalf("%s: %d", bad, res.Status)
			}
		}

		body := fmt.Sprintf(`{"invoiceNumber":%q,"productCode":"NEWS","companyCode":"ACME","paymentMethod":"creditcardPayex"}`, inv.InvoiceNumber)
		id := startFlow(t, e, alice, "/capi/v1/customer/payment/invoice", body)
		// The invoice-pay page only serves invoice payments.
		if res := alice.b.Get(pageURL("/user/payment/vipps/agreement/add", "transactionId", id, nil)); res.Status != http.StatusNotFound {
			t.Fatalf("wrong page: %d", res.Status)
		}
		wantRedirect(t, alice.b.Get(pageURL("/user/payment/invoice/pay", "transactionId", id, nil)), fmt.Sprintf("%s/user/payment/test/%d", e.URL, id))
		page := alice.b.Get(fmt.Sprintf("/user/payment/test/%d", id))
		if !strings.Contains(string(page.Body), "199.00 NOK") {
			t.Fatalf("test page lacks the amount: %s", page.Body)
		}
		form := testkit.Hidden(page.Body)
		form.Set("outcome", "approve")
		for range 2 { // double submit
			wantRedirect(t, alice.b.Post(fmt.Sprintf("/user/payment/test/%d", id), form), back("finished", "transactionId", id))
		}
		var details struct {
			InvoiceStatus string `json:"invoiceStatus"`
			Payments      []any  `json:"payments"`
		}
		call(t, e, "GET", "/capi/v1/customer/invoice/details/"+inv.InvoiceNumber, alice.token, "", 200).JSON(t, &details)
		if details.InvoiceStatus != "Paid" || len(details.Payments) != 1 {
			t.Fatalf("paid once: %+v", details)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM payments WHERE status = 'succeeded'`); n != 1 {
			t.Fatalf("payments booked: %d", n)
		}
		if res := e.NewBrowser().Get(view); !strings.Contains(string(res.Body), "Paid") || !strings.Contains(string(res.Body), "Balance due: 0.00") {
			t.Fatalf("paid invoice view: %s", res.Body)
		}
	})
}

// TestPaymentChangePages: a change to invoicePayment is confirmed on the
// page itself and removes the stored means; a change to a card goes through
// the provider; a ticket that is not the customer's token goes to errorUrl.
func TestPaymentChangePages(t *testing.T) {
	withClock(t, func(t *testing.T, e *testkit.Env, clock *testkit.Clock) {
		alice := login(t, e, "alice@example.com", "alice-password")
		subscribeByOrder(t, e, alice)

		id := startFlow(t, e, alice, "/capi/v1/product/payment/NEWS", `{"paymentMethod":"recurringPayExCardPayment"}`)
		first, change := id, pageURL("/user/paymentChange", "paymentChangeId", id, nil)
		wantRedirect(t, alice.b.Get(change), fmt.Sprintf("%s/user/payment/test/%d", e.URL, id))
		wantRedirect(t, decide(t, e, alice, id, "approve"), back("finished", "paymentChangeId", id))
		var px struct {
			Tokens []struct {
				Ref    string `json:"recurrenceToken"`
				Masked string `json:"maskedCardNumber"`
			} `json:"paymentRecurrenceTokens"`
		}
		call(t, e, "GET", "/capi/v1/api/payment/payex/token", alice.token, "", 200).JSON(t, &px)
		if len(px.Tokens) != 1 || px.Tokens[0].Masked != "xxxx-xxxxxx-x0004" {
			t.Fatalf("payex tokens: %+v", px)
		}

		// Back to invoice: a ticket that is not her token goes to errorUrl;
		// without one the page confirms, and cancelling keeps the card.
		id = startFlow(t, e, alice, "/capi/v1/product/payment/NEWS", `{"paymentMethod":"invoicePayment"}`)
		wantRedirect(t, alice.b.Get(pageURL("/user/paymentChange", "paymentChangeId", id, url.Values{"ticket": {"not-my-token"}})), errorURL)
		page := alice.b.Get(pageURL("/user/paymentChange", "paymentChangeId", id, nil))
		form := testkit.Hidden(page.Body)
		if page.Status != http.StatusOK || form.Get("csrf") == "" || form.Get("paymentChangeId") != fmt.Sprint(id) {
			t.Fatalf("confirm page: %d %s", page.Status, page.Body)
		}
		form.Set("action", "confirm")
		missing := url.Values{}
		for k, v := range form {
			if k != "csrf" {
				missing[k] = v
			}
		}
		if res := alice.b.Post("/user/paymentChange", missing); res.Status != http.StatusForbidden {
			t.Fatalf("without CSRF token: %d", res.Status)
		}
		wantRedirect(t, alice.b.Post("/user/paymentChange", form), back("finished", "paymentChangeId", id))
		wantRedirect(t, alice.b.Post("/user/paymentChange", form), back("finished", "paymentChangeId", id))
		call(t, e, "GET", "/capi/v1/api/payment/payex/token", alice.token, "", 200).JSON(t, &px)
		if len(px.Tokens) != 0 {
			t.Fatalf("the card survived the change to invoice: %+v", px)
		}
		r := call(t, e, "GET", "/capi/v1/product/payment/NEWS", alice.token, "", 200)
		if !strings.Contains(string(r.Body), `{"paymentMethod":"invoicePayment","isActive":"Y"}`) {
			t.Fatalf("method list: %s", r.Body)
		}

		// The first change is used up: its page only returns its outcome.
		wantRedirect(t, alice.b.Get(change), back("finished", "paymentChangeId", first))
		// A valid ticket passes the check.
		id = startFlow(t, e, alice, "/capi/v1/product/payment/NEWS", `{"paymentMethod":"recurringPayExCardPayment"}`)
		wantRedirect(t, alice.b.Get(pageURL("/user/paymentChange", "paymentChangeId", id, nil)), fmt.Sprintf("%s/user/payment/test/%d", e.URL, id))
		wantRedirect(t, decide(t, e, alice, id, "approve"), back("finished", "paymentChangeId", id))
		call(t, e, "GET", "/capi/v1/api/payment/payex/token", alice.token, "", 200).JSON(t, &px)
		id = startFlow(t, e, alice, "/capi/v1/product/payment/NEWS", `{"paymentMethod":"recurringPayExCardPayment"}`)
		wantRedirect(t, alice.b.Get(pageURL("/user/paymentChange", "paymentChangeId", id, url.Values{"ticket": {px.Tokens[0].Ref}})),
			fmt.Sprintf("%s/user/payment/test/%d", e.URL, id))
	})
}

// TestMethodNotAllowed: a subscription that is not charged period by period
// (free, or with a fixed end) allows no provider's method.
func TestMethodNotAllowed(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		bob := login(t, e, "bob@example.com", "bob-password")
		ctx := context.Background()
		co, err := tenant.GetCompanyByCode(ctx, e.App.DB, testkit.Company)
		if err != nil {
			t.Fatal(err)
		}
		u, err := identity.FindByCredential(ctx, e.App.DB, "bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		cno, err := customer.NumberOfUser(ctx, e.App.DB, co.ID, u.ID)
		if err != nil || cno == 0 {
			t.Fatalf("bob's customer: %d %v", cno, err)
		}
		// Setup: a free NEWS subscription (a free coupon in the catalogue would give the same).
		err = e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			_, err := subscription.Start(ctx, tx, subscription.StartRequest{CompanyID: co.ID, CustomerNumber: cno, ProductCode: "NEWS",
				StartDate: time.Now(), PeriodLength: 1, PeriodType: "month", Price: value.Money(0), Currency: "NOK", Paid: true})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ path, body string }{
			{"/capi/v1/customer/payment/klarna/token", `{"productCode":"NEWS"}`},
			{"/capi/v1/api/payment/payex/token", `{"tokenType":"card","productCode":"NEWS"}`},
			{"/capi/v1/api/payment/nexi/subscription", `{"productCode":"NEWS"}`},
			{"/capi/v1/customer/payment/vipps/agreement", `{"productCode":"NEWS"}`},
		} {
			r := call(t, e, "POST", c.path, bob.token, c.body, 200)
			if strings.TrimSpace(string(r.Body)) != `{"success":false,"reason":"methodNotAllowed"}` {
				t.Fatalf("%s: %s", c.path, r.Body)
			}
		}
		// Without a subscription the reason stays noSubscription.
		r := call(t, e, "POST", "/capi/v1/customer/payment/klarna/token", bob.token, `{"productCode":"PAPER"}`, 200)
		if !strings.Contains(string(r.Body), "noSubscription") {
			t.Fatalf("no subscription: %s", r.Body)
		}
		call(t, e, "POST", "/capi/v1/product/payment/NEWS", bob.token, `{"paymentMethod":"recurringVippsPayment"}`, 400)
		r = call(t, e, "GET", "/capi/v1/product/payment/NEWS", bob.token, "", 200)
		if strings.Contains(string(r.Body), `"Y"`) {
			t.Fatalf("a free subscription has no active method: %s", r.Body)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM payment_transactions`); n != 0 {
			t.Fatalf("flows started: %d", n)
		}
	})
}
