package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/connect-oss/connect/examples"
	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/testkit"
)

// demoReader is a demo user logged in through demo.web: a browser with the
// ConnectID session and a user-mode access token.
type demoReader struct {
	b     *testkit.Browser
	token string
}

const demoRedirect = "http://localhost:3000/callback"

func demoLogin(t *testing.T, e *testkit.Env, credential, password string) demoReader {
	t.Helper()
	b := e.NewBrowser()
	verifier, challenge := testkit.PKCE()
	code := b.Login(testkit.AuthorizeURL("demo.web", demoRedirect, "renewal-demo", challenge, ""), credential, password)
	res, tok := e.Exchange("demo.web", "demo-secret", code, demoRedirect, verifier)
	if res.Status != http.StatusOK {
		t.Fatalf("token: %d %s", res.Status, res.Body)
	}
	return demoReader{b: b, token: tok.AccessToken}
}

func (r demoReader) get(t *testing.T, e *testkit.Env, path string, v any) {
	t.Helper()
	res := e.Call(testkit.Request{Method: "GET", Path: path, Token: r.token, Accept: "application/json"})
	if res.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.Status, res.Body)
	}
	res.JSON(t, v)
}

// hosted starts a hosted flow through the API, opens its page the way the
// client's site would and approves it on the test provider's page; it
// returns where the browser ends up.
func (r demoReader) hosted(t *testing.T, e *testkit.Env, api, body, page string) *url.URL {
	t.Helper()
	res := e.Call(testkit.Request{Method: "POST", Path: api, Token: r.token, Accept: "application/json", ContentType: "application/json", Body: body})
	var started struct {
		Success       bool  `json:"success"`
		TransactionID int64 `json:"transactionId"`
	}
	if res.Status != http.StatusOK {
		t.Fatalf("POST %s: %d %s", api, res.Status, res.Body)
	}
	res.JSON(t, &started)
	if !started.Success {
		t.Fatalf("POST %s: %s", api, res.Body)
	}
	q := url.Values{"clientId": {"demo.web"}, "returnUrl": {"http://localhost:3000/paid"}, "errorUrl": {"http://localhost:3000/error"},
		"transactionId": {fmt.Sprint(started.TransactionID)}}
	provider := e.Location(r.b.Get(page + "?" + q.Encode()))
	form := testkit.Hidden(r.b.Get(provider.Path).Body)
	form.Set("outcome", "approve")
	return e.Location(r.b.Post(provider.Path, form))
}

type demoInvoices struct {
	Invoices []struct {
		InvoiceNumber string `json:"invoiceNumber"`
		InvoiceAmount string `json:"invoiceAmount"`
		InvoiceStatus string `json:"invoiceStatus"`
		PaymentMethod string `json:"paymentMethod"`
	} `json:"invoices"`
}

type demoSubscriptions struct {
	Subscriptions []struct {
		Product string `json:"product"`
		EndTime int64  `json:"endTime"`
		Paid    bool   `json:"paid"`
	} `json:"subscriptions"`
}

// end is the last paid moment of the product's subscription; paid tells
// whether its current period is paid.
func (s demoSubscriptions) end(t *testing.T, product string) (end time.Time, paid bool) {
	t.Helper()
	for _, x := range s.Subscriptions {
		if x.Product == product {
			return time.UnixMilli(x.EndTime), x.Paid
		}
	}
	t.Fatalf("no %s subscription: %+v", product, s)
	return time.Time{}, false
}

// TestRenewalDemo is the story examples/renewal-demo.sh shows, on the demo
// tenant and the demo data of `connect demo`: other@example.com's HELG
// subscription renews by invoice (issued, paid through the hosted page, the
// next period paid), and demo@example.com's DIGI subscription by a stored
// PayEx card (stored through the hosted page, charged at renewal, invoice
// paid).
func TestRenewalDemo(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := testkit.New(t, d, testkit.WithClock(testkit.NewClock(time.Now())))
		ctx := context.Background()
		if _, err := e.App.ApplyTenantFile(ctx, "demo-tenant.yaml", examples.DemoTenant); err != nil {
			t.Fatal(err)
		}
		if _, err := e.App.SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
		runner := &jobs.Runner{DB: e.App.DB, Billing: e.App.Billing}
		run := func(at time.Time) jobs.Report {
			t.Helper()
			rep, err := runner.RunOnce(ctx, time.Date(at.Year(), at.Month(), at.Day(), 12, 0, 0, 0, time.UTC)) // as --at DATE
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}

		// 1. By invoice: the renewal of HELG is due within days.
		other := demoLogin(t, e, "other@example.com", "other-password")
		var subs demoSubscriptions
		other.get(t, e, "/capi/v1/subscription", &subs)
		helgEnd, _ := subs.end(t, "HELG")
		if rep := run(time.Now()); rep.Issued != 1 {
			t.Fatalf("today's run: %+v", rep)
		}
		var inv demoInvoices
		other.get(t, e, "/capi/v1/customer/invoice/payment/HELG", &inv)
		if len(inv.Invoices) != 1 || inv.Invoices[0].InvoiceStatus != "Invoiced" || inv.Invoices[0].InvoiceAmount != "129.00" || inv.Invoices[0].PaymentMethod != "A" {
			t.Fatalf("HELG renewal invoice: %+v", inv)
		}
		back := other.hosted(t, e, "/capi/v1/customer/payment/invoice",
			fmt.Sprintf(`{"invoiceNumber":%q,"productCode":"HELG","companyCode":"DEMO","paymentMethod":"vippsEcommerce"}`, inv.Invoices[0].InvoiceNumber),
			"/user/payment/invoice/pay")
		if back.Host != "localhost:3000" || back.Query().Get("status") != "finished" {
			t.Fatalf("pay invoice: back to %s", back)
		}
		other.get(t, e, "/capi/v1/customer/invoice/payment/HELG", &inv)
		if inv.Invoices[0].InvoiceStatus != "Paid" {
			t.Fatalf("paid: %+v", inv)
		}
		if rep := run(helgEnd.Add(24 * time.Hour)); rep.Renewed == 0 {
			t.Fatalf("renewal day: %+v", rep)
		}
		other.get(t, e, "/capi/v1/subscription", &subs)
		if next, paid := subs.end(t, "HELG"); !next.After(helgEnd.AddDate(0, 0, 27)) || !paid {
			t.Fatalf("HELG after renewal: %+v (was %s)", subs, helgEnd)
		}

		// 2. By a stored token: demo@ stores a PayEx card for DIGI.
		demo := demoLogin(t, e, "demo@example.com", "demo-password")
		back = demo.hosted(t, e, "/capi/v1/api/payment/payex/token", `{"tokenType":"card","productCode":"DIGI"}`, "/user/payment/payex/token/add")
		if back.Query().Get("status") != "finished" {
			t.Fatalf("add card: back to %s", back)
		}
		var cards struct {
			Tokens []struct {
				PaymentProviderID int64  `json:"paymentProviderId"`
				MaskedCardNumber  string `json:"maskedCardNumber"`
			} `json:"paymentRecurrenceTokens"`
		}
		demo.get(t, e, "/capi/v1/api/payment/payex/token", &cards)
		if len(cards.Tokens) != 1 || cards.Tokens[0].PaymentProviderID != 101 {
			t.Fatalf("stored card: %+v", cards)
		}
		demo.get(t, e, "/capi/v1/subscription", &subs)
		digiEnd, _ := subs.end(t, "DIGI")
		if rep := run(digiEnd.AddDate(0, 0, -10)); rep.Issued == 0 {
			t.Fatalf("issue day: %+v", rep)
		}
		demo.get(t, e, "/capi/v1/customer/invoice/payment/DIGI", &inv)
		// The coupon's first period cost 149; renewals cost its renewalPrice, 199.
		if len(inv.Invoices) != 1 || inv.Invoices[0].PaymentMethod != "K" || inv.Invoices[0].InvoiceStatus != "Invoiced" ||
			inv.Invoices[0].InvoiceAmount != "199.00" {
			t.Fatalf("DIGI renewal invoice: %+v", inv)
		}
		if rep := run(digiEnd.Add(24 * time.Hour)); rep.Charged != 1 {
			t.Fatalf("charge day: %+v", rep)
		}
		demo.get(t, e, "/capi/v1/customer/invoice/payment/DIGI", &inv)
		if inv.Invoices[0].InvoiceStatus != "Paid" {
			t.Fatalf("charged invoice: %+v", inv)
		}
		demo.get(t, e, "/capi/v1/subscription", &subs)
		if next, paid := subs.end(t, "DIGI"); !next.After(digiEnd.AddDate(0, 0, 27)) || !paid {
			t.Fatalf("DIGI after renewal: %+v (was %s)", subs, digiEnd)
		}
	})
}
