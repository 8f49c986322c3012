package order_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/identity"
	"github.com/connect-oss/connect/internal/testkit"
)

// browser is an HTTP client that does not follow redirects, with alice's
// ConnectID session cookie when loggedIn.
func browser(t *testing.T, e *testkit.Env, loggedIn bool) (*http.Client, []*http.Cookie) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if !loggedIn {
		return c, nil
	}
	ctx := context.Background()
	u, err := identity.FindByCredential(ctx, e.App.DB, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	svc := &identity.Service{DB: e.App.DB}
	cookie, _, err := svc.StartSession(ctx, e.App.DB, u.ID, "alice@example.com", "127.0.0.1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c, []*http.Cookie{{Name: "connectid_session", Value: cookie}}
}

func page(t *testing.T, e *testkit.Env, c *http.Client, cookies []*http.Cookie, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestFulfillmentPage(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		o := registerOrder(t, e, tok, newsOrder("page-1", "invoice"))
		ret := "http://localhost:3000/done?x=1"
		q := url.Values{"orderId": {fmt.Sprint(o.OrderID)}, "returnUrl": {ret}, "clientId": {"acme.web"}}

		anon, _ := browser(t, e, false)
		// Unregistered return hosts get an error page, never a redirect.
		bad := url.Values{"orderId": {fmt.Sprint(o.OrderID)}, "returnUrl": {"http://evil.example/x"}}
		if res, _ := page(t, e, anon, nil, "GET", "/user/fulfillment?"+bad.Encode(), nil); res.StatusCode != 400 {
			t.Fatalf("foreign returnUrl: %d", res.StatusCode)
		}
		// Unknown orders go back with error.
		unknown := url.Values{"orderId": {"999999"}, "returnUrl": {ret}, "clientId": {"acme.web"}}
		if res, _ := page(t, e, anon, nil, "GET", "/user/order?"+unknown.Encode(), nil); res.StatusCode != 303 ||
			!strings.Contains(res.Header.Get("Location"), "fulfillmentStatus=error") {
			t.Fatalf("unknown order: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		// Not logged in: to the login page, coming back here.
		res, _ := page(t, e, anon, nil, "GET", "/user/fulfillment?"+q.Encode(), nil)
		if res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/user/login?") {
			t.Fatalf("anonymous: %d %s", res.StatusCode, res.Header.Get("Location"))
		}

		b, cookies := browser(t, e, true)
		res, html := page(t, e, b, cookies, "GET", "/user/fulfillment?"+q.Encode(), nil)
		if res.StatusCode != 200 || !strings.Contains(html, "Confirm your order") || !strings.Contains(html, "199 NOK") {
			t.Fatalf("page: %d %s", res.StatusCode, html)
		}
		csrf := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(html)[1]
		cookies = append(cookies, res.Cookies()...)
		form := url.Values{"orderId": {fmt.Sprint(o.OrderID)}, "returnUrl": {ret}, "clientId": {"acme.web"}, "csrf": {csrf}, "action": {"confirm"}}
		// A forged form (wrong CSRF token) changes nothing.
		forged := url.Values{"orderId": {fmt.Sprint(o.OrderID)}, "returnUrl": {ret}, "csrf": {"00"}, "action": {"confirm"}}
		if res, _ := page(t, e, b, cookies, "POST", "/user/fulfillment", forged); res.StatusCode != 403 {
			t.Fatalf("forged form: %d", res.StatusCode)
		}
		res, _ = page(t, e, b, cookies, "POST", "/user/fulfillment", form)
		if loc := res.Header.Get("Location"); res.StatusCode != 303 || loc != "http://localhost:3000/done?fulfillmentStatus=success&x=1" {
			t.Fatalf("confirm: %d %s", res.StatusCode, loc)
		}
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", o.OrderID), tok, ""), 200, `"orderStatus":"completed"`)
		// The order now belongs to alice; her subscription exists.
		if n := count(t, e, `SELECT COUNT(*) FROM subscriptions s JOIN companies co ON co.id = s.company_id WHERE co.code = 'ACME' AND s.customer_number = $1`, o.CustomerNumber); n != 1 {
			t.Fatalf("subscriptions: %d", n)
		}
		// Coming back to a completed order says success at once.
		res, _ = page(t, e, b, cookies, "GET", "/user/fulfillment?"+q.Encode(), nil)
		if !strings.Contains(res.Header.Get("Location"), "fulfillmentStatus=success") {
			t.Fatalf("completed order: %s", res.Header.Get("Location"))
		}

		// Cancel; and a declined card returns error.
		o2 := registerOrder(t, e, tok, newsOrder("page-2", "invoice"))
		form.Set("orderId", fmt.Sprint(o2.OrderID))
		form.Set("action", "cancel")
		res, _ = page(t, e, b, cookies, "POST", "/user/order", form)
		if !strings.Contains(res.Header.Get("Location"), "fulfillmentStatus=cancel") {
			t.Fatalf("cancel: %s", res.Header.Get("Location"))
		}
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/order/status/%d", o2.OrderID), tok, ""), 200, `"orderStatus":"cancelled"`)
		o3 := registerOrder(t, e, tok, fmt.Sprintf(`{"paymentMethod":"creditcardPayex","paymentInfo":{"ticket":"card-decline"},%s,"orderLines":[{"productSpecType":"product","product":"BOOK1"}]}`, payer))
		form.Set("orderId", fmt.Sprint(o3.OrderID))
		form.Set("action", "confirm")
		res, _ = page(t, e, b, cookies, "POST", "/user/fulfillment", form)
		if !strings.Contains(res.Header.Get("Location"), "fulfillmentStatus=error") {
			t.Fatalf("declined: %s", res.Header.Get("Location"))
		}
	})
}
