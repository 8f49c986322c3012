package privacy_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/privacy"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/testkit"
)

// subscriber is Alice with a consent, channel settings, a purpose and an
// invoice order for NEWS (subscription started, invoice open).
type subscriber struct {
	user
	orderID   int64
	invoiceID int64
	invoiceNo int64
}

// meansRef is the stored token's reference: a secret the export never shows.
const meansRef = "klarna-secret-reference-1"

func newSubscriber(t *testing.T, e *env) subscriber {
	t.Helper()
	s := subscriber{user: e.login("alice@example.com", "alice-password")}
	data := base64.StdEncoding.EncodeToString([]byte("form:newsletter=yes"))
	want(t, e.call("POST", "/capi/v1/customer/privacy/consentEvent", s.token, fmt.Sprintf(`{"consentId":1,"action":true,"data":%q}`, data)), 200)
	want(t, e.call("POST", "/capi/v1/customer/pbm/ACME", s.token, `{"channels":[{"type":"SHIELD","value":"TM"}]}`), 200)
	want(t, e.call("POST", "/capi/v1/customer/privacy/ACME", s.token, `{"permission":[{"purpose":"DM"}]}`), 200)
	r := e.call("POST", "/capi/v1/client/order", e.client, fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"customerNumber":%d},
		"orderLines":[{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1}]}`, s.customer))
	want(t, r, 200, "orderId")
	var o struct{ OrderID int64 }
	r.JSON(t, &o)
	s.orderID = o.OrderID
	want(t, e.call("POST", "/capi/v1/client/order/fulfillment", e.client, fmt.Sprintf(`{"orderId":%d}`, o.OrderID)), 200, `"fulfillmentStatus":"OK"`)
	if err := e.App.DB.QueryRowContext(context.Background(), `SELECT id, invoice_number FROM invoices WHERE order_id = $1`, o.OrderID).Scan(&s.invoiceID, &s.invoiceNo); err != nil {
		t.Fatalf("the order's invoice: %v", err)
	}
	// A stored Klarna token, as the hosted flow stores it.
	ctx := subscription.WithClock(context.Background(), e.clock.Now)
	if err := e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := e.App.Billing.StoreMeans(ctx, tx, e.companyID("ACME"), s.customer, "NEWS", 55,
			billing.FlowResult{Status: "finished", Means: &billing.Means{Kind: "klarnaToken", Reference: meansRef, ProviderID: 55}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPrivateDataAccess(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		s := newSubscriber(t, e)
		r := e.call("GET", "/capi/v1/customer/private-data", s.token, "")
		want(t, r, 200, `"companyCode":"ACME"`, `"credential":"alice@example.com","credentialType":"A"`, `"clients":[{"clientId":"acme.web","lastLogin":`)
		x := decode[privacy.Export](t, r)
		if x.Generated != t0.UnixMilli() || x.User.UniqueID != s.uniqueID || x.User.UserID != s.userID || x.User.FirstName != "Alice" {
			t.Errorf("user section: %+v", x.User)
		}
		if c, _ := x.Customer.(map[string]any); c == nil || c["customerNumber"] != float64(s.customer) {
			t.Errorf("customer section: %v", x.Customer)
		}
		if len(x.Subscriptions) != 1 || x.Subscriptions[0].Product != "NEWS" {
			t.Errorf("subscriptions: %+v", x.Subscriptions)
		}
		if o, _ := x.Orders.([]any); len(o) != 1 || !strings.Contains(fmt.Sprint(o[0]), "orderLines") {
			t.Errorf("orders: %v", x.Orders)
		}
		if len(x.Invoices) != 1 || x.Invoices[0].InvoiceNumber != fmt.Sprint(s.invoiceNo) || x.Invoices[0].InvoiceStatus != "Invoiced" {
			t.Errorf("invoices: %+v", x.Invoices)
		}
		if len(x.ConsentEvents) != 2 || x.ConsentEvents[0].Data == "" || x.ConsentEvents[0].Issuer != "468979834" || x.ConsentEvents[1].ConsentID != 2 {
			t.Errorf("consent events: %+v", x.ConsentEvents)
		}
		if len(x.Permissions) != 1 || *x.Permissions[0].EnterpriseCode != "ACME" || x.Permissions[0].OrderType != nil ||
			len(x.Permissions[0].History) != 1 || x.Permissions[0].History[0].NewType != "SHIELD" {
			t.Errorf("permissions: %+v", x.Permissions)
		}
		if len(x.Privacy) != 1 || x.Privacy[0].EnterpriseCode != "ACME" || fmt.Sprint(x.Privacy[0].Purposes) != "[DM]" {
			t.Errorf("privacy: %+v", x.Privacy)
		}
		if len(x.AccessLog) != 1 || x.AccessLog[0].ClientID != "acme.web" || len(x.Addresses) != 1 {
			t.Errorf("access log %+v, addresses %+v", x.AccessLog, x.Addresses)
		}
		if len(x.PaymentMeans) != 1 || x.PaymentMeans[0].Kind != "klarnaToken" || x.PaymentMeans[0].Status != "valid" {
			t.Errorf("payment means: %+v", x.PaymentMeans)
		}
		// Never: password hashes, token or code material, stored payment references.
		for _, secret := range []string{"argon2", "password", "token_hash", "code_hash", meansRef} {
			if strings.Contains(strings.ToLower(string(r.Body)), secret) {
				t.Errorf("export contains %q", secret)
			}
		}
		// At most one export per user per minute.
		r = e.call("GET", "/capi/v1/customer/private-data", s.token, "")
		want(t, r, 429, "TooManyRequestsException")
		if r.Header.Get("Retry-After") != "60" {
			t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
		}
		e.clock.Advance(61 * time.Second)
		x2 := e.xml("GET", "/capi/v1/customer/private-data", s.token, "")
		want(t, x2, 200, "<response><generated>", "<credentials><credential><credential>alice@example.com</credential>",
			"<consentEvents><consentEvent><consentEventId>")
		var doc struct {
			Access []struct {
				ClientID string `xml:"clientId"`
			} `xml:"accessLog>item"`
		}
		if err := xml.Unmarshal(x2.Body, &doc); err != nil || len(doc.Access) != 2 {
			t.Errorf("the access log lists both exports: %+v %v", doc, err)
		}

		// Another user's export holds nothing of Alice's; a user without a customer has empty sections.
		none := e.minted(5, 0)
		r = e.call("GET", "/capi/v1/customer/private-data", none.token, "")
		want(t, r, 200, `"customer":{}`, `"subscriptions":[]`, `"invoices":[]`, `"consentEvents":[]`, `"orders":[]`)
		if strings.Contains(string(r.Body), s.uniqueID) || strings.Contains(string(r.Body), "alice") {
			t.Errorf("another user's export shows Alice: %s", r.Body)
		}
		want(t, e.call("GET", "/capi/v1/customer/private-data", e.client, ""), 403, "insufficient_scope")
	})
}

func TestPrivateDataRemove(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := newSubscriber(t, e)
		acme := e.companyID("ACME")
		info := fmt.Sprintf("/capi/v1/client/customer/info/%d", s.customer)
		hist := fmt.Sprintf("/capi/v1/client/customer/privacy/consentEvent/history/468979834/CONNECT/%d", s.customer)

		// A dry run reports and changes nothing.
		r := e.call("DELETE", "/capi/v1/customer/private-data?dryRun=true", s.token, "")
		want(t, r, 200, `"dryRun":true,"status":"scheduled","completesAt":null`, fmt.Sprintf(`"openInvoices":["%d"]`, s.invoiceNo),
			`"stoppedSubscriptions":[{"productCode":"NEWS","endTime":`, fmt.Sprintf(`{"dataType":"consentEvent","count":4,"reason":"proofOfConsent","retainUntil":"%s"}`, t0.In(oslo).AddDate(3, 0, 0).Format("2006-01-02")),
			fmt.Sprintf(`{"dataType":"invoice","count":1,"reason":"accounting","retainUntil":"%d-12-31"}`, t0.In(oslo).Year()+5))
		want(t, e.call("GET", "/capi/v1/customer/info", s.token, ""), 200, `"firstName":"Alice"`)
		want(t, e.call("GET", hist, e.client, ""), 200, `"consentId":1`)
		if n := e.count(`SELECT COUNT(*) FROM privacy_erasures`) + e.count(`SELECT COUNT(*) FROM subscriptions WHERE status = 'stopped'`) +
			e.count(`SELECT COUNT(*) FROM consent_event_restrictions`); n != 0 {
			t.Fatalf("the dry run changed data (%d rows)", n)
		}
		want(t, e.call("DELETE", "/capi/v1/customer/private-data?dryRun=perhaps", s.token, ""), 400, "dryRun")

		// The real run: the same report, and the token is revoked at once.
		r = e.call("DELETE", "/capi/v1/customer/private-data", s.token, "")
		want(t, r, 200, `"dryRun":false,"status":"scheduled","completesAt":null`, fmt.Sprintf(`"customerNumber":%d`, s.customer))
		report := decode[privacy.ErasureReport](t, r)
		if report.UniqueID != s.uniqueID || len(report.StoppedSubscriptions) != 1 {
			t.Fatalf("report %+v", report)
		}
		want(t, e.call("DELETE", "/capi/v1/customer/private-data", s.token, ""), 401, "invalid_token")
		want(t, e.call("GET", "/capi/v1/customer/info", s.token, ""), 401, "invalid_token")

		// 1. The account: no credentials, password, sessions or grants; blocked; the row (userId, uniqueId) stays.
		for _, q := range []string{
			`SELECT COUNT(*) FROM user_credentials WHERE user_id = $1`,
			`SELECT COUNT(*) FROM login_sessions WHERE user_id = $1`,
			`SELECT COUNT(*) FROM oauth_requests WHERE user_id = $1`,
			`SELECT COUNT(*) FROM oauth_access_tokens WHERE user_id = $1`,
			`SELECT COUNT(*) FROM users WHERE id = $1 AND (password_hash IS NOT NULL OR first_name <> '' OR NOT blocked)`,
		} {
			if n := e.count(q, s.userID); n != 0 {
				t.Errorf("%s: %d", q, n)
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM users WHERE id = $1 AND unique_id = $2`, s.userID, s.uniqueID); n != 1 {
			t.Error("the user row (never reused ids) is gone")
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'login.%' AND (actor = $1 OR target = $1)`, "user:"+s.uniqueID); n != 0 {
			t.Errorf("login history kept: %d", n)
		}
		// Alice can no longer log in.
		b := e.NewBrowser()
		_, challenge := testkit.PKCE()
		page := b.Get(testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "state-1234", challenge, ""))
		form := testkit.Hidden(page.Body)
		form.Set("j_username", "alice@example.com")
		form.Set("j_password", "alice-password")
		if res := b.Post("/user/oauthLogin", form); res.Status == http.StatusFound || res.Status == http.StatusSeeOther {
			t.Errorf("an erased account logged in: %d %s", res.Status, res.Header.Get("Location"))
		}
		if n := e.count(`SELECT COUNT(*) FROM event_outbox WHERE type = 'user' AND status = 'delete' AND data LIKE $1`, "%"+s.uniqueID+"%"); n != 1 {
			t.Errorf("user/delete events: %d", n)
		}
		// 2. Consents: withdrawn under CONNECTID (source erasure), then hidden but kept as proof.
		if n := e.count(`SELECT COUNT(*) FROM consent_events WHERE subject = $1 AND source = 'erasure' AND action = FALSE`, s.uniqueID); n != 2 {
			t.Errorf("erasure withdrawals: %d, want 2 (consents 1 and 2)", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM event_outbox WHERE type = 'consent' AND status = 'withdrawn'`); n != 2 {
			t.Errorf("consent/withdrawn events: %d", n)
		}
		want(t, e.call("GET", hist, e.client, ""), 200, `"consents":[]`)
		if n := e.count(`SELECT COUNT(*) FROM consent_events e JOIN consent_event_restrictions r ON r.event_id = e.id`); n != 4 {
			t.Errorf("restricted events kept: %d, want 4", n)
		}
		// 3. The stored token is revoked and its reference gone.
		if n := e.count(`SELECT COUNT(*) FROM payment_means WHERE customer_number = $1 AND status = 'revoked' AND reference_enc = '' AND reference_mac = ''`, s.customer); n != 1 {
			t.Errorf("revoked means: %d", n)
		}
		// 4. Channel settings and purposes are gone; every channel is shielded by the erasure.
		for _, table := range []string{"privacy_channel_settings", "privacy_channel_log", "privacy_purposes"} {
			if n := e.count(`SELECT COUNT(*) FROM `+table+` WHERE customer_number = $1`, s.customer); n != 0 {
				t.Errorf("%s rows: %d", table, n)
			}
		}
		want(t, e.call("POST", "/capi/v1/client/customer/pbm/shield/enterprise", e.client, fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"ACME","channels":["EM"]}`, s.customer)), 200,
			`"channels":[{"value":"EM","shielded":true,"type":"SHIELD","level":"erasure"}]`)
		// 5. The subscription runs to the end of its paid period, then stops.
		if n := e.count(`SELECT COUNT(*) FROM subscriptions WHERE customer_number = $1 AND status = 'stopped' AND end_time = $2`, s.customer, report.StoppedSubscriptions[0].EndTime); n != 1 {
			t.Errorf("stopped subscription: %d", n)
		}
		// Deferred: the invoice is open, so the customer keeps name and address (the company may still collect).
		want(t, e.call("GET", info, e.client, ""), 200, `"firstName":"Alice"`)
		if n, err := privacy.CompleteDueErasures(ctx, e.App.DB, t0.AddDate(0, 3, 0)); err != nil || n != 0 {
			t.Fatalf("completed with an open invoice: %d %v", n, err)
		}
		// The invoice is paid; the paid period has not ended yet.
		payCtx := subscription.WithClock(ctx, e.clock.Now)
		if err := e.App.DB.Tx(payCtx, func(tx *sql.Tx) error {
			return billing.BookPayment(payCtx, tx, e.App.DB.Dialect, acme, s.invoiceID, billing.PaymentRecord{Key: "bank-1", Source: "manual", Amount: 19900, MethodCode: "A", Attempt: 1})
		}); err != nil {
			t.Fatal(err)
		}
		if n, err := privacy.CompleteDueErasures(ctx, e.App.DB, t0.AddDate(0, 0, 7)); err != nil || n != 0 {
			t.Fatalf("completed before the paid period ended: %d %v", n, err)
		}
		// The daily jobs run completes it once the paid period is over.
		jobsRun := &jobs.Runner{DB: e.App.DB, Billing: e.App.Billing}
		if rep, err := jobsRun.RunOnce(ctx, t0.AddDate(0, 2, 0)); err != nil || rep.Erased != 1 {
			t.Fatalf("jobs run: %+v, %v", rep, err)
		}
		// Anonymised: the number stays, personal data goes; invoices keep what accounting needs.
		r = e.call("GET", info, e.client, "")
		want(t, r, 200, fmt.Sprintf(`{"customerNumber":%d,"emails":[],"phoneNumbers":[],"categories":[]}`, s.customer))
		if n := e.count(`SELECT COUNT(*) FROM invoices WHERE id = $1 AND payer_name LIKE '%Alice%'`, s.invoiceID); n != 1 {
			t.Error("the invoice lost its printed payer name")
		}
		if n := e.count(`SELECT COUNT(*) FROM orders WHERE id = $1 AND user_id IS NULL AND payment_info = '{}' AND amount = 19900`, s.orderID); n != 1 {
			t.Error("the order was not anonymised (or lost its amount)")
		}
		if n := e.count(`SELECT COUNT(*) FROM event_outbox WHERE type = 'customer' AND status = 'delete' AND data = $1`, fmt.Sprintf(`{"customerNumber":%d}`, s.customer)); n != 1 {
			t.Errorf("customer/delete events: %d", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM privacy_erasures WHERE customer_number = $1 AND status = 'completed' AND counts LIKE '%consentEventsRestricted%'`, s.customer); n != 1 {
			t.Error("the erasure log")
		}
		if n, _ := privacy.CompleteDueErasures(ctx, e.App.DB, t0.AddDate(0, 3, 0)); n != 0 {
			t.Errorf("completed twice: %d", n)
		}
		// Proof of consent is deleted once its years have passed, not before.
		if n, err := privacy.PurgeExpiredEvidence(ctx, e.App.DB, t0.AddDate(2, 0, 0)); err != nil || n != 0 {
			t.Errorf("purged early: %d %v", n, err)
		}
		if n, err := privacy.PurgeExpiredEvidence(ctx, e.App.DB, t0.AddDate(3, 0, 1)); err != nil || n != 4 {
			t.Errorf("purge = %d, %v", n, err)
		}
		if n := e.count(`SELECT COUNT(*) FROM consent_events`); n != 0 {
			t.Errorf("events left: %d", n)
		}
	})
}

func TestPrivateDataRemoveCompletesAtOnce(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		// A user without a customer: the account goes, nothing is pending.
		anon := e.minted(1, 0)
		want(t, e.call("POST", "/capi/v1/customer/privacy/consentEvent", anon.token, `{"consentId":4,"action":true}`), 200)
		r := e.call("DELETE", "/capi/v1/customer/private-data", anon.token, "")
		want(t, r, 200, `"status":"completed"`, fmt.Sprintf(`"completesAt":%d`, t0.UnixMilli()), `"openInvoices":[],"stoppedSubscriptions":[]`)
		if strings.Contains(string(r.Body), "customerNumber") {
			t.Errorf("no customer, yet a customerNumber: %s", r.Body)
		}
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consentEvent/history/468979834/EXTERNAL/x", e.client, ""), 200, `"consents":[]`)
		if n := e.count(`SELECT COUNT(*) FROM consent_event_restrictions`); n != 2 {
			t.Errorf("restricted: %d (the given consent and its withdrawal)", n)
		}

		// A customer with nothing pending is anonymised at once; another customer is untouched.
		cno := e.register(e.client, "Gone")
		keep := e.register(e.client, "Kept")
		u := e.minted(2, cno)
		want(t, e.call("POST", "/capi/v1/customer/privacy/ACME", u.token, `{"permission":[{"purpose":"EM"}]}`), 200)
		want(t, e.call("DELETE", "/capi/v1/customer/private-data", u.token, ""), 200, `"status":"completed"`, fmt.Sprintf(`"customerNumber":%d`, cno))
		want(t, e.call("GET", fmt.Sprintf("/capi/v1/client/customer/info/%d", cno), e.client, ""), 200, `"emails":[]`)
		want(t, e.call("GET", fmt.Sprintf("/capi/v1/client/customer/info/%d", keep), e.client, ""), 200, `"lastName":"Kept"`)
		if n := e.count(`SELECT COUNT(*) FROM privacy_purposes`); n != 0 {
			t.Errorf("purposes left: %d", n)
		}
		// The erasure log holds no personal data.
		var counts string
		if err := e.App.DB.QueryRowContext(context.Background(), `SELECT counts FROM privacy_erasures WHERE customer_number = $1`, cno).Scan(&counts); err != nil ||
			strings.Contains(counts, "Gone") || strings.Contains(counts, "@") {
			t.Errorf("erasure log %q %v", counts, err)
		}
		// RIVAL's client cannot see or check ACME's erased customer.
		want(t, e.call("POST", "/capi/v1/client/customer/pbm/shield/enterprise", e.rival, fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"RIVAL"}`, cno+1000)), 404, "NotFoundException")
		want(t, e.call("DELETE", "/capi/v1/customer/private-data", e.client, ""), 403, "insufficient_scope")
	})
}
