package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/testkit"
	"github.com/connect-oss/connect/internal/value"
)

var oslo, _ = time.LoadLocation("Europe/Oslo")

// day is 12:00 UTC on a date: the business time of `jobs run-once --at DATE`.
func day(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d.Add(12 * time.Hour)
}

type fixture struct {
	e       *testkit.Env
	company int64
	runner  *jobs.Runner
}

func newFixture(t *testing.T, e *testkit.Env) *fixture {
	c, err := tenant.GetCompanyByCode(context.Background(), e.App.DB, testkit.Company)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{e: e, company: c.ID, runner: &jobs.Runner{DB: e.App.DB, Billing: e.App.Billing, Batch: 5}}
}

// subscribe creates a customer with a monthly NEWS subscription from start
// at price (minor units) and returns the customer number and subscription id.
func (f *fixture) subscribe(t *testing.T, start string, price int64) (int64, int64) {
	t.Helper()
	return f.subscribeEvery(t, start, price, "month")
}

// subscribeEvery starts a paid first period of one periodType (month, week).
func (f *fixture) subscribeEvery(t *testing.T, start string, price int64, periodType string) (int64, int64) {
	t.Helper()
	ctx := subscription.WithClock(context.Background(), func() time.Time { return day(start) })
	var cno, id int64
	err := f.e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		first, last, street, postal, place := "Ola", "Nordmann", "Grubbegata", "0179", "Oslo"
		var err error
		cno, err = customer.Create(ctx, tx, customer.NewCustomer{CompanyID: f.company, CompanyCode: testkit.Company, Now: day(start)},
			&customer.Input{FirstName: &first, LastName: &last, StreetAddress: &street, PostalCode: &postal, PostalPlace: &place})
		if err != nil {
			return err
		}
		d, _ := time.ParseInLocation("2006-01-02", start, oslo)
		id, err = subscription.Start(ctx, tx, subscription.StartRequest{CompanyID: f.company, CustomerNumber: cno, ProductCode: "NEWS",
			StartDate: d, PeriodLength: 1, PeriodType: periodType, Price: value.Money(price), Currency: "NOK", Paid: true})
		return err
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return cno, id
}

func (f *fixture) run(t *testing.T, date string) jobs.Report {
	t.Helper()
	rep, err := f.runner.RunOnce(context.Background(), day(date))
	if err != nil {
		t.Fatalf("run %s: %v", date, err)
	}
	return rep
}

func (f *fixture) user(cno int64) string {
	return f.e.MintUserToken(fmt.Sprintf("%032x", cno), cno, cno)
}

func (f *fixture) get(t *testing.T, token, path, accept string, v any) int {
	t.Helper()
	res := f.e.Call(testkit.Request{Method: "GET", Path: path, Token: token, Accept: accept})
	if v != nil && res.Status == 200 && accept == "application/json" {
		res.JSON(t, v)
	}
	return res.Status
}

func (f *fixture) call(t *testing.T, method, path, token, body string, v any) int {
	t.Helper()
	res := f.e.Call(testkit.Request{Method: method, Path: path, Token: token, Accept: "application/json", ContentType: "application/json", Body: body})
	if v != nil && res.Status == 200 {
		res.JSON(t, v)
	}
	return res.Status
}

// finish drives a hosted flow through the simulated provider, as its test page does.
func (f *fixture) finish(t *testing.T, id int64, outcome string, at string) string {
	t.Helper()
	ctx := subscription.WithClock(context.Background(), func() time.Time { return day(at) })
	tr, err := f.e.App.Billing.GetFlow(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.App.Billing.BeginFlow(ctx, tr); err != nil {
		t.Fatal(err)
	}
	status, err := f.e.App.Billing.FinishFlow(ctx, id, url.Values{"outcome": {outcome}})
	if err != nil {
		t.Fatal(err)
	}
	return status
}

func (f *fixture) invoice(t *testing.T, subID int64, period int) *billing.Invoice {
	t.Helper()
	var id int64
	if err := f.e.App.DB.QueryRow(`SELECT id FROM invoices WHERE subscription_id = $1 AND period_no = $2 AND kind = 'invoice'`, subID, period).Scan(&id); err != nil {
		t.Fatalf("invoice of subscription %d period %d: %v", subID, period, err)
	}
	inv, err := billing.Get(context.Background(), f.e.App.DB, f.company, id)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func (f *fixture) sub(t *testing.T, id int64) *subscription.Sub {
	t.Helper()
	s, err := subscription.Load(context.Background(), f.e.App.DB, f.company, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.e.App.DB.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestRenewalByInvoiceAndDunning: a subscription renews by invoice; the
// invoice is listed (JSON, XML, client mode), goes overdue, is reminded with
// a fee, suspends access, and paying it through the hosted flow resumes it.
func TestRenewalByInvoiceAndDunning(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		cno, sid := f.subscribe(t, "2025-01-01", 19900)
		other, _ := f.subscribe(t, "2025-01-01", 19900)

		if rep := f.run(t, "2025-01-17"); rep.Issued != 0 {
			t.Fatalf("issued before the lead time: %+v", rep)
		}
		if rep := f.run(t, "2025-01-18"); rep.Issued != 2 {
			t.Fatalf("want 2 renewal invoices on 2025-01-18, got %+v", rep)
		}
		if rep := f.run(t, "2025-01-18"); rep.Issued != 0 {
			t.Fatalf("a rerun issued again: %+v", rep)
		}
		inv := f.invoice(t, sid, 2)
		if inv.InvoiceDate != "2025-01-18" || inv.DueDate != "2025-02-01" || inv.Amount != 19900 || inv.VatAmount != 3980 ||
			inv.FromDate != "2025-02-01" || inv.InclDate != "2025-02-28" || !billing.ValidKID(inv.PaymentReference, "mod10") {
			t.Fatalf("invoice: %+v", inv)
		}

		tok := f.user(cno)
		var lists billing.InvoiceReminderLists
		if st := f.get(t, tok, "/capi/v1/customer/invoice/payment", "application/json", &lists); st != 200 || len(lists.Invoices) != 1 {
			t.Fatalf("invoice-reminder-list: %d %+v", st, lists)
		}
		u := lists.Invoices[0]
		if u.InvoiceAmount != "199.00" || u.InvoiceStatus != "Invoiced" || u.PaymentStatus != "0" || u.PaymentMethod != "A" ||
			u.InvoiceNumber != fmt.Sprint(inv.Number) || !strings.Contains(u.InvoiceHotelURL, "/user/invoice/view/") {
			t.Fatalf("user invoice: %+v", u)
		}
		res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/invoice/payment/NEWS", Token: tok, Accept: "application/xml"})
		if res.Status != 200 || !strings.Contains(string(res.Body), "<invoices><invoice>") || !strings.Contains(string(res.Body), "<invoiceAmount>199.00</invoiceAmount>") {
			t.Fatalf("XML product list: %d %s", res.Status, res.Body)
		}
		var basic billing.BasicList
		if f.get(t, tok, "/capi/v1/customer/invoice/basic/PAPER", "application/json", &basic); len(basic.Invoices) != 0 {
			t.Fatalf("basic list for another product: %+v", basic)
		}
		if f.get(t, tok, "/capi/v1/customer/invoice/basic?unpaid=true&from=2025-01-01&to=", "application/json", &basic); len(basic.Invoices) != 1 {
			t.Fatalf("basic unpaid list: %+v", basic)
		}
		if st := f.get(t, tok, "/capi/v1/customer/invoice/basic?from=2025-02-01&to=2025-01-01", "application/json", nil); st != 400 {
			t.Fatalf("from after to: %d", st)
		}
		var details billing.InvoiceDetails
		path := fmt.Sprintf("/capi/v1/customer/invoice/details/%d", inv.Number)
		if st := f.get(t, tok, path, "application/json", &details); st != 200 || details.PaymentReference != inv.PaymentReference ||
			len(details.InvoiceLineInfo) != 1 || details.Name.LastName != "Nordmann" {
			t.Fatalf("details: %d %+v", st, details)
		}
		// Another customer's invoice is not found, as if missing.
		if st := f.get(t, f.user(other), path, "application/json", nil); st != 404 {
			t.Fatalf("other user's invoice: %d", st)
		}
		client := e.ClientToken()
		var cl billing.ClientInvoiceList
		if st := f.get(t, client, fmt.Sprintf("/capi/v1/client/customer/invoice/payment/%d", cno), "application/json", &cl); st != 200 ||
			len(cl.ClientInvoiceInfoList) != 1 || cl.ClientInvoiceInfoList[0].InvoiceAmount != 19900 || cl.ClientInvoiceInfoList[0].InvoiceDate == 0 {
			t.Fatalf("client list: %d %+v", st, cl)
		}
		if st := f.get(t, client, fmt.Sprintf("/capi/v1/client/customer/invoice/payment/%d/NEWS", cno), "application/json", &cl); st != 200 || len(cl.ClientInvoiceInfoList) != 1 {
			t.Fatalf("client product list: %d %+v", st, cl)
		}
		rival := e.Token(testkit.RivalClientID, testkit.RivalSecret)
		if st := f.get(t, rival, fmt.Sprintf("/capi/v1/client/customer/invoice/payment/%d", cno), "application/json", nil); st != 404 {
			t.Fatalf("rival client sees ACME's customer: %d", st)
		}

		// The period starts unpaid: renewed, not paid.
		if rep := f.run(t, "2025-02-01"); rep.Renewed != 2 {
			t.Fatalf("renew: %+v", rep)
		}
		if s := f.sub(t, sid); s.Periods != 2 || s.Paid {
			t.Fatalf("after renewal: %+v", s)
		}
		if rep := f.run(t, "2025-02-02"); rep.Overdue != 2 {
			t.Fatalf("overdue: %+v", rep)
		}
		if rep := f.run(t, "2025-02-08"); rep.Reminded != 2 {
			t.Fatalf("reminders: %+v", rep)
		}
		f.get(t, tok, "/capi/v1/customer/invoice/payment?unpaid=true", "application/json", &lists)
		if len(lists.Reminders) != 1 || lists.Reminders[0].Amount != 24800 || lists.Reminders[0].ReminderNumber != 1 || lists.Invoices[0].InvoiceStatus != "Reminded" {
			t.Fatalf("reminder: %+v", lists)
		}
		if rep := f.run(t, "2025-02-15"); rep.Suspended != 2 {
			t.Fatalf("suspend: %+v", rep)
		}
		if s := f.sub(t, sid); s.Status != subscription.StatusPaused {
			t.Fatalf("suspended subscription: %+v", s)
		}

		// Pay online: the open balance with the reminder fee.
		body := fmt.Sprintf(`{"invoiceNumber":"%d","productCode":"NEWS","companyCode":"ACME","paymentMethod":"creditcardPayex"}`, inv.Number)
		if st := f.call(t, "POST", "/capi/v1/customer/payment/invoice", f.user(other), body, nil); st != 404 {
			t.Fatalf("paying another customer's invoice: %d", st)
		}
		if st := f.call(t, "POST", "/capi/v1/customer/payment/invoice", tok, strings.Replace(body, "NEWS", "PAPER", 1), nil); st != 400 {
			t.Fatalf("product on no line: %d", st)
		}
		var started billing.FlowStarted
		if st := f.call(t, "POST", "/capi/v1/customer/payment/invoice", tok, body, &started); st != 200 || !started.Success || started.TransactionID < 10_000_000 {
			t.Fatalf("invoice-pay: %d %+v", st, started)
		}
		if st := f.finish(t, started.TransactionID, "approve", "2025-02-16"); st != "finished" {
			t.Fatalf("flow: %s", st)
		}
		if got := f.invoice(t, sid, 2); got.Status != billing.StatusPaid || got.PaidAmount != 24800 || got.Balance() != 0 {
			t.Fatalf("paid invoice: %+v", got)
		}
		if s := f.sub(t, sid); s.Status != subscription.StatusActive || s.Periods != 2 || !s.Paid {
			t.Fatalf("resumed subscription: %+v", s)
		}
		if st := f.call(t, "POST", "/capi/v1/customer/payment/invoice", tok, body, &started); st != 200 || started.Success || started.Reason != "notPayable" {
			t.Fatalf("paying twice: %d %+v", st, started)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM payments WHERE invoice_id = $1 AND status = 'succeeded'`, inv.ID); n != 1 {
			t.Fatalf("payments: %d", n)
		}
		for _, st := range []string{"issued", "overdue", "reminded", "paid"} {
			if n := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE type = 'invoice' AND status = $1`, st); n == 0 {
				t.Errorf("no invoice/%s event", st)
			}
		}
		for _, st := range []string{"suspended", "resumed"} {
			if n := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE type = 'subscription' AND status = $1`, st); n == 0 {
				t.Errorf("no subscription/%s event", st)
			}
		}

		// The other customer never pays: the renewal offer lapses after the
		// second reminder's due date; its invoice is credited, never deleted.
		f.run(t, "2025-02-23") // reminder 1 due 2025-02-22 has passed: reminder 2
		f.run(t, "2025-03-10") // reminder 2 due 2025-03-09 has passed: lapse
		var ocust int64 = other
		var oid int64
		_ = e.App.DB.QueryRow(`SELECT id FROM subscriptions WHERE customer_number = $1`, ocust).Scan(&oid)
		lapsed := f.invoice(t, oid, 2)
		if lapsed.Status != billing.StatusCancelled || lapsed.Balance() != 0 || lapsed.FeeAmount != 2*4900 {
			t.Fatalf("lapsed offer: %+v", lapsed)
		}
		if s := f.sub(t, oid); s.Status != subscription.StatusEnded {
			t.Fatalf("lapsed subscription: %+v", s)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM invoices WHERE credits_invoice_id = $1 AND kind = 'credit'`, lapsed.ID); n != 1 {
			t.Fatalf("credit notes: %d", n)
		}
	})
}

// TestStoredMeansAndCharges: tokens are added through the hosted flow,
// listed (only valid ones), removed only by their owner, stored encrypted;
// renewals charge them, with declines retried and unknown outcomes reconciled.
func TestStoredMeansAndCharges(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		cno, sid := f.subscribe(t, "2025-01-01", 19900)
		other, _ := f.subscribe(t, "2025-01-01", 19900)
		tok := f.user(cno)

		var started billing.FlowStarted
		if st := f.call(t, "POST", "/capi/v1/customer/payment/klarna/token", tok, `{"productCode":"PAPER"}`, &started); st != 200 || started.Success || started.Reason != "noSubscription" {
			t.Fatalf("add without subscription: %d %+v", st, started)
		}
		if st := f.call(t, "POST", "/capi/v1/customer/payment/klarna/token", tok, `{"productCode":"NEWS"}`, &started); st != 200 || !started.Success {
			t.Fatalf("klarna add: %d %+v", st, started)
		}
		if s := f.finish(t, started.TransactionID, "approve", "2025-01-05"); s != "finished" {
			t.Fatalf("flow: %s", s)
		}
		var kl struct {
			RecurringTokens []billing.KlarnaToken `json:"recurringTokens"`
		}
		if f.get(t, tok, "/capi/v1/customer/payment/klarna/token", "application/json", &kl); len(kl.RecurringTokens) != 1 ||
			kl.RecurringTokens[0].PaymentProviderID != 55 || !strings.HasPrefix(kl.RecurringTokens[0].Token, "test_") {
			t.Fatalf("klarna list: %+v", kl)
		}
		token := kl.RecurringTokens[0].Token
		// Encrypted at rest: the reference is nowhere in the row.
		var enc string
		_ = e.App.DB.QueryRow(`SELECT reference_enc FROM payment_means WHERE customer_number = $1`, cno).Scan(&enc)
		if enc == "" || strings.Contains(enc, token) {
			t.Fatalf("token stored in clear: %q", enc)
		}
		var ok billing.Success
		if st := f.call(t, "PATCH", "/capi/v1/customer/payment/klarna/token", f.user(other), fmt.Sprintf(`{"token":%q,"paymentProviderId":55}`, token), &ok); st != 200 || ok.Success {
			t.Fatalf("another customer removed the token: %d %+v", st, ok)
		}
		if st := f.call(t, "PATCH", "/capi/v1/customer/payment/klarna/token", tok, fmt.Sprintf(`{"token":%q,"paymentProviderId":55}`, strings.Repeat("x", 129)), nil); st != 400 {
			t.Fatalf("129-character token: %d", st)
		}

		// A PayEx card replaces the Klarna token (one means per product).
		if st := f.call(t, "POST", "/capi/v1/api/payment/payex/token", tok, `{"tokenType":"card","productCode":"NEWS"}`, &started); st != 200 || !started.Success {
			t.Fatalf("payex add: %d %+v", st, started)
		}
		f.finish(t, started.TransactionID, "approve", "2025-01-06")
		if f.get(t, tok, "/capi/v1/customer/payment/klarna/token", "application/json", &kl); len(kl.RecurringTokens) != 0 {
			t.Fatalf("replaced token still listed: %+v", kl)
		}
		var px struct {
			Tokens []billing.PayExToken `json:"paymentRecurrenceTokens"`
		}
		if f.get(t, tok, "/capi/v1/api/payment/payex/token", "application/json", &px); len(px.Tokens) != 1 || px.Tokens[0].MaskedCardNumber != "xxxx-xxxxxx-x0004" ||
			px.Tokens[0].MerchantID != "45723589" {
			t.Fatalf("payex list: %+v", px)
		}
		var methods struct {
			Items []billing.MethodItem `json:"paymentMethodResponseItems"`
		}
		f.get(t, tok, "/capi/v1/product/payment/NEWS", "application/json", &methods)
		active := ""
		for _, m := range methods.Items {
			if m.IsActive == "Y" {
				active += m.PaymentMethod
			}
		}
		if active != billing.MethodPayEx || len(methods.Items) != 5 {
			t.Fatalf("payment methods: %+v", methods)
		}

		// Renewal charges the card on the period's first day.
		if rep := f.run(t, "2025-01-18"); rep.Issued != 2 {
			t.Fatalf("issue: %+v", rep)
		}
		if inv := f.invoice(t, sid, 2); inv.MethodCode != "K" || inv.ChargeState != billing.ChargeScheduled || inv.DueDate != "2025-02-01" {
			t.Fatalf("card invoice: %+v", inv)
		}
		if rep := f.run(t, "2025-02-01"); rep.Charged != 1 || rep.Renewed != 2 {
			t.Fatalf("charge and renew: %+v", rep)
		}
		if inv := f.invoice(t, sid, 2); inv.Status != billing.StatusPaid || inv.PaymentDate.String != "2025-02-01" {
			t.Fatalf("charged invoice: %+v", inv)
		}
		if s := f.sub(t, sid); !s.Paid || s.Periods != 2 {
			t.Fatalf("renewed by token: %+v", s)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM simulated_gateway_charges`); n != 1 {
			t.Fatalf("gateway charges: %d", n)
		}

		// Remove the card: the next period falls back to invoicePayment.
		if st := f.call(t, "PATCH", "/capi/v1/api/payment/payex/token", tok, fmt.Sprintf(`{"recurrenceToken":%q,"paymentProviderId":"11"}`, px.Tokens[0].RecurrenceToken), &ok); st != 200 || !ok.Success {
			t.Fatalf("payex remove: %d %+v", st, ok)
		}
		if f.get(t, tok, "/capi/v1/api/payment/payex/token", "application/json", &px); len(px.Tokens) != 0 {
			t.Fatalf("removed token listed: %+v", px)
		}

		// RIVAL has no providers: starting a flow is 403.
		if st := f.call(t, "POST", "/capi/v1/customer/payment/vipps/agreement", tok, `{"productCode":""}`, nil); st != 400 {
			t.Fatalf("empty productCode: %d", st)
		}
	})
}

// TestChargeOutcomes: decline → retries after 1 and 3 days → invoice to the
// payer; timeout and unknown outcomes are reconciled, never charged twice.
func TestChargeOutcomes(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		subs := map[int64]int64{}
		for _, price := range []int64{19913, 19917, 19919} {
			cno, sid := f.subscribe(t, "2025-01-01", price)
			subs[price] = sid
			var started billing.FlowStarted
			if st := f.call(t, "POST", "/capi/v1/api/payment/nexi/subscription", f.user(cno), `{"productCode":"NEWS"}`, &started); st != 200 || !started.Success {
				t.Fatalf("nexi add: %d %+v", st, started)
			}
			f.finish(t, started.TransactionID, "approve", "2025-01-05")
		}
		f.run(t, "2025-01-18")
		rep := f.run(t, "2025-02-01")
		if rep.Declined != 1 || rep.Unknown != 2 || rep.Charged != 0 {
			t.Fatalf("first attempts: %+v", rep)
		}
		rep = f.run(t, "2025-02-01") // reconciliation
		if rep.Charged != 2 {
			t.Fatalf("reconciled: %+v", rep)
		}
		for _, price := range []int64{19917, 19919} {
			inv := f.invoice(t, subs[price], 2)
			if inv.Status != billing.StatusPaid {
				t.Fatalf("%d: %+v", price, inv)
			}
			if n := f.count(t, `SELECT COUNT(*) FROM simulated_gateway_charges WHERE amount = $1 AND outcome = 'succeeded'`, price); n != 1 {
				t.Fatalf("%d charged %d times", price, n)
			}
		}
		f.run(t, "2025-02-02") // retry 1: declined again
		f.run(t, "2025-02-04") // retry 2: declined, handed to the payer
		inv := f.invoice(t, subs[19913], 2)
		if inv.ChargeState != billing.ChargeFailed || inv.MethodCode != "A" || inv.Status != billing.StatusOpen || inv.ChargeAttempts != 3 {
			t.Fatalf("declined invoice: %+v", inv)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE type = 'payment' AND status = 'failed'`); n != 3 {
			t.Fatalf("payment/failed events: %d", n)
		}
	})
}

// crashingGateway stops the run (cancels its context) right after the
// provider charged, before we could record it: a kill at the worst moment.
type crashingGateway struct {
	billing.PaymentGateway
	after  *int
	cancel context.CancelFunc
}

func (g crashingGateway) Charge(ctx context.Context, r billing.ChargeRequest) (billing.ChargeResult, error) {
	res, err := g.PaymentGateway.Charge(ctx, r)
	if *g.after--; *g.after == 0 {
		g.cancel()
		return billing.ChargeResult{}, context.Canceled
	}
	return res, err
}

// TestCrashAndRerun kills renewal runs mid-way (between issue batches, and
// after a charge reached the provider) and shows that rerunning produces
// every invoice and every charge exactly once.
func TestCrashAndRerun(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		const n = 12
		var sids []int64
		for i := range n {
			cno, sid := f.subscribe(t, "2025-01-01", 19900)
			sids = append(sids, sid)
			if i%2 == 0 { // half pay by card
				var started billing.FlowStarted
				f.call(t, "POST", "/capi/v1/api/payment/payex/token", f.user(cno), `{"tokenType":"card","productCode":"NEWS"}`, &started)
				f.finish(t, started.TransactionID, "approve", "2025-01-05")
			}
		}
		// Kill 1: after the first committed issue batch.
		ctx, cancel := context.WithCancel(context.Background())
		r := *f.runner
		r.OnBatch = func(step string) { cancel() }
		if _, err := r.RunOnce(ctx, day("2025-01-18")); err == nil {
			t.Fatal("the killed run reported success")
		}
		if got := f.count(t, `SELECT COUNT(*) FROM invoices WHERE kind = 'invoice'`); got == 0 || got == n {
			t.Fatalf("the kill did not land mid-way: %d invoices", got)
		}
		f.run(t, "2025-01-18")
		if got := f.count(t, `SELECT COUNT(*) FROM invoices WHERE kind = 'invoice'`); got != n {
			t.Fatalf("after rerun: %d invoices, want %d", got, n)
		}

		// Kill 2: after the third charge reached the provider.
		ctx, cancel = context.WithCancel(context.Background())
		after := 3
		eng := *e.App.Billing
		base := eng.Gateways
		eng.Gateways = func(p *billing.Provider) (billing.PaymentGateway, error) {
			g, err := base(p)
			return crashingGateway{PaymentGateway: g, after: &after, cancel: cancel}, err
		}
		r = *f.runner
		r.Billing = &eng
		if _, err := r.RunOnce(ctx, day("2025-02-01")); err == nil {
			t.Fatal("the killed charge run reported success")
		}
		for range 2 {
			f.run(t, "2025-02-01")
		}
		if got := f.count(t, `SELECT COUNT(*) FROM simulated_gateway_charges WHERE outcome = 'succeeded'`); got != n/2 {
			t.Fatalf("provider charges: %d, want %d", got, n/2)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM simulated_gateway_charges WHERE calls <> 1`); got != 0 {
			t.Fatalf("%d charges were sent twice", got)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM payments WHERE status = 'succeeded'`); got != n/2 {
			t.Fatalf("booked payments: %d", got)
		}
		for i, sid := range sids {
			s := f.sub(t, sid)
			inv := f.invoice(t, sid, 2)
			if s.Periods != 2 || (i%2 == 0) != (inv.Status == billing.StatusPaid) || s.Paid != (i%2 == 0) {
				t.Fatalf("subscription %d: %+v invoice %+v", sid, s, inv)
			}
		}
		if got := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE type = 'invoice' AND status = 'issued'`); got != n {
			t.Fatalf("issued events: %d", got)
		}
	})
}

var _ = json.Marshal

// TestProratedCreditNote: stopping mid-period credits the unused days per
// line, explained; the invoice stays, with a lower balance.
func TestProratedCreditNote(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		cno, sid := f.subscribe(t, "2025-01-01", 19900)
		f.run(t, "2025-01-18")
		inv := f.invoice(t, sid, 2)
		ctx := subscription.WithClock(context.Background(), func() time.Time { return day("2025-02-10") })
		var number int64
		err := e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			number, err = billing.CreditFrom(ctx, tx, e.App.DB.Dialect, f.company, inv.ID, "2025-02-15", "subscription stopped")
			return err
		})
		if err != nil || number == 0 {
			t.Fatalf("credit: %d %v", number, err)
		}
		got := f.invoice(t, sid, 2)
		// 14 of 28 days: half of 199.00.
		if got.CreditedAmount != 9950 || got.Balance() != 9950 || got.Status != billing.StatusOpen {
			t.Fatalf("credited invoice: %+v", got)
		}
		var d billing.InvoiceDetails
		f.get(t, f.user(cno), fmt.Sprintf("/capi/v1/customer/invoice/details/%d", inv.Number), "application/json", &d)
		if len(d.CreditNotes) != 1 || d.CreditNotes[0].InvoiceAmount != "-99.50" ||
			!strings.Contains(d.CreditNotes[0].InvoiceLineInfo[0].Explanation, "14 of 28 days (2025-02-15 to 2025-02-28)") {
			t.Fatalf("credit note: %+v", d.CreditNotes)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM invoices WHERE company_id = $1`, f.company); n != 2 {
			t.Fatalf("invoices: %d", n)
		}
	})
}

// TestInvoiceForOrder: the fulfilment's invoice is issued once per order.
func TestInvoiceForOrder(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		cno, _ := f.subscribe(t, "2025-01-01", 19900)
		ctx := subscription.WithClock(context.Background(), func() time.Time { return day("2025-01-01") })
		var numbers [2]int64
		for i := range numbers {
			err := e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
				n, ref, err := billing.InvoiceForOrder(ctx, tx, billing.OrderInvoice{CompanyID: f.company, OrderID: 77, PayerCustomer: cno,
					Lines: []billing.Line{{ProductCode: "BOOK1", Description: "A single book", Amount: 30000}}})
				if err == nil && !billing.ValidKID(ref, "mod10") {
					t.Errorf("KID %s", ref)
				}
				numbers[i] = n
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if numbers[0] == 0 || numbers[0] != numbers[1] {
			t.Fatalf("order invoices: %v", numbers)
		}
		var basic billing.BasicList
		if f.get(t, f.user(cno), "/capi/v1/customer/invoice/basic/BOOK1", "application/json", &basic); len(basic.Invoices) != 1 || basic.Invoices[0].InvoiceAmount != "300.00" {
			t.Fatalf("basic list: %+v", basic)
		}
	})
}
