package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/testkit"
	"github.com/connect-oss/connect/internal/value"
)

// clockedFixture is a fixture whose server runs on a business clock (the
// stop rules and hosted flows read it), with extra tenant YAML applied.
func clockedFixture(t *testing.T, d store.Dialect, now time.Time, extraYAML string) (*fixture, *testkit.Clock) {
	t.Helper()
	clock := testkit.NewClock(now)
	e := testkit.New(t, d, testkit.WithClock(clock))
	if extraYAML != "" {
		if _, err := e.App.ApplyTenantFile(context.Background(), "extra.yaml", []byte(extraYAML)); err != nil {
			t.Fatalf("apply extra tenant: %v", err)
		}
	}
	c, err := tenant.GetCompanyByCode(context.Background(), e.App.DB, testkit.Company)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{e: e, company: c.ID, runner: &jobs.Runner{DB: e.App.DB, Billing: e.App.Billing, Batch: 2}}, clock
}

// subscribePaper gives a new customer a monthly PAPER subscription from
// start at price (minor units), renewing at renewal when that is not 0.
func (f *fixture) subscribePaper(t *testing.T, start string, price, renewal int64) (int64, int64) {
	t.Helper()
	ctx := subscription.WithClock(context.Background(), func() time.Time { return day(start) })
	var cno, id int64
	err := f.e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		first, last := "Kari", "Nordmann"
		var err error
		cno, err = customer.Create(ctx, tx, customer.NewCustomer{CompanyID: f.company, CompanyCode: testkit.Company, Now: day(start)},
			&customer.Input{FirstName: &first, LastName: &last})
		if err != nil {
			return err
		}
		d, _ := time.ParseInLocation("2006-01-02", start, oslo)
		req := subscription.StartRequest{CompanyID: f.company, CustomerNumber: cno, ProductCode: "PAPER",
			StartDate: d, PeriodLength: 1, PeriodType: "month", Price: value.Money(price), Currency: "NOK", Paid: true}
		if renewal != 0 {
			r := value.Money(renewal)
			req.RenewalPrice, req.RenewalPeriodLength, req.RenewalPeriodType = &r, 1, "month"
		}
		id, err = subscription.Start(ctx, tx, req)
		return err
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return cno, id
}

type invoiceLine struct {
	amount      int64
	explanation string
}

func (f *fixture) linesOf(t *testing.T, inv *billing.Invoice) []invoiceLine {
	t.Helper()
	rows, err := f.e.App.DB.Query(`SELECT amount, explanation FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no`, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []invoiceLine
	for rows.Next() {
		var l invoiceLine
		if err := rows.Scan(&l.amount, &l.explanation); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// TestVacationCreditOnNextInvoice: with vacationStopPolicy credit, the
// stopped paid days a vacation stop recorded are deducted from the
// subscription's next invoice by a negative line, once, even with two
// runners at the same instant and a rerun; a card renewal is charged the
// reduced amount; a credit larger than the next invoice makes it zero (paid
// at issue, never dunned) and its rest goes on the invoice after.
func TestVacationCreditOnNextInvoice(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		f, clock := clockedFixture(t, d, day("2025-01-05"),
			"companies:\n  - code: ACME\n    name: Acme Media\n    country: NO\n    productSettings: {vacationStopPolicy: credit}\n")
		// 310 kr for January's 31 days: 10 kr a day.
		payer, payerSub := f.subscribePaper(t, "2025-01-01", 31000, 0)
		card, cardSub := f.subscribePaper(t, "2025-01-01", 31000, 0)
		cheap, cheapSub := f.subscribePaper(t, "2025-01-01", 31000, 3000) // renews at 30 kr
		_, untouchedSub := f.subscribePaper(t, "2025-01-01", 31000, 0)

		var started billing.FlowStarted
		if st := f.call(t, "POST", "/capi/v1/api/payment/payex/token", f.user(card), `{"tokenType":"card","productCode":"PAPER"}`, &started); st != 200 || !started.Success {
			t.Fatalf("payex add: %d %+v", st, started)
		}
		if st := f.finish(t, started.TransactionID, "approve", "2025-01-05"); st != "finished" {
			t.Fatalf("card flow: %s", st)
		}
		stop := `{"deliveryStop":{"product":"PAPER","stopTime":"2025-01-10","stopEndTime":"2025-01-14","stopType":"temporary"}}`
		for _, cno := range []int64{payer, card, cheap} {
			if st := f.call(t, "POST", "/capi/v1/product/stop/delivery", f.user(cno), stop, nil); st != 200 {
				t.Fatalf("register the stop of %d: %d", cno, st)
			}
		}

		clock.Set(day("2025-01-10"))
		f.run(t, "2025-01-10") // the stops begin: 5 paid days credited, 50 kr
		if n := f.count(t, `SELECT COUNT(*) FROM delivery_stops WHERE credit_days = 5 AND credit_amount = 5000`); n != 3 {
			t.Fatalf("%d stops recorded the credit", n)
		}
		clock.Set(day("2025-01-15"))
		f.run(t, "2025-01-15") // and end

		// Two runners issue February's invoices at the same instant, and a rerun follows.
		clock.Set(day("2025-01-18"))
		if s := sum(together(t, "2025-01-18", f.runner, f.node(t))); s.Issued != 4 {
			t.Fatalf("issue: %+v", s)
		}
		if rep := f.run(t, "2025-01-18"); rep.Issued != 0 {
			t.Fatalf("a rerun issued again: %+v", rep)
		}
		credited := "5 days (2025-01-10 to 2025-01-14) credited: vacation stop"
		inv := f.invoice(t, payerSub, 2)
		lines := f.linesOf(t, inv)
		if inv.Amount != 26000 || inv.Status != billing.StatusOpen || len(lines) != 2 || lines[0].amount != 31000 ||
			lines[1] != (invoiceLine{-5000, credited}) {
			t.Fatalf("invoice with the credit: %+v %+v", inv, lines)
		}
		// VAT 12.5 % per line: 34.44 on 310, −5.56 on −50.
		if inv.VatAmount != 3444-556 {
			t.Errorf("VAT of the credited invoice: %d", inv.VatAmount)
		}
		var details billing.InvoiceDetails
		if st := f.get(t, f.user(payer), fmt.Sprintf("/capi/v1/customer/invoice/details/%d", inv.Number), "application/json", &details); st != 200 ||
			details.InvoiceAmount != "260.00" || len(details.InvoiceLineInfo) != 2 || details.InvoiceLineInfo[1].InvoiceAmount != value.Money(-5000) ||
			details.InvoiceLineInfo[1].Explanation != credited {
			t.Fatalf("invoice details: %d %+v", st, details)
		}
		if got := f.invoice(t, untouchedSub, 2); got.Amount != 31000 || len(f.linesOf(t, got)) != 1 {
			t.Fatalf("a subscription without a stop: %+v", got)
		}
		cardInv := f.invoice(t, cardSub, 2)
		if cardInv.Amount != 26000 || cardInv.ChargeState != billing.ChargeScheduled || cardInv.MethodCode != "K" {
			t.Fatalf("card invoice with the credit: %+v", cardInv)
		}
		zero := f.invoice(t, cheapSub, 2)
		zeroLines := f.linesOf(t, zero)
		if zero.Amount != 0 || zero.Status != billing.StatusPaid || zero.PaymentDate.String != "2025-01-18" ||
			len(zeroLines) != 2 || zeroLines[1] != (invoiceLine{-3000, credited + ", 30.00 of 50.00, the rest on the next invoice"}) {
			t.Fatalf("invoice the credit covers: %+v %+v", zero, zeroLines)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM vacation_credit_uses`); n != 3 {
			t.Fatalf("%d credit uses", n)
		}

		// The card is charged the reduced amount; the covered period is paid.
		clock.Set(day("2025-02-01"))
		if rep := f.run(t, "2025-02-01"); rep.Charged != 1 || rep.Renewed != 4 {
			t.Fatalf("charge and renew: %+v", rep)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM simulated_gateway_charges WHERE amount = 26000`); n != 1 {
			t.Fatal("the card was not charged 260 kr")
		}
		if got := f.invoice(t, cardSub, 2); got.Status != billing.StatusPaid || got.PaidAmount != 26000 {
			t.Fatalf("charged invoice: %+v", got)
		}
		if s := f.sub(t, cheapSub); !s.Paid || s.Periods != 2 {
			t.Fatalf("the period the credit paid: %+v", s)
		}
		clock.Set(day("2025-02-02"))
		if rep := f.run(t, "2025-02-02"); rep.Overdue != 2 { // the two paid by invoice, not the covered one
			t.Fatalf("overdue: %+v", rep)
		}
		if got := f.invoice(t, cheapSub, 2); got.Status != billing.StatusPaid {
			t.Fatalf("the covered invoice went %s", got.Status)
		}

		// March (the two unpaid by invoice are suspended today instead): the
		// used credit is gone, the rest of the large one is deducted.
		clock.Set(day("2025-02-15"))
		if rep := f.run(t, "2025-02-15"); rep.Issued != 2 || rep.Suspended != 2 {
			t.Fatalf("March invoices: %+v", rep)
		}
		if got := f.invoice(t, cardSub, 3); got.Amount != 31000 || len(f.linesOf(t, got)) != 1 {
			t.Errorf("March invoice of the card: %+v", got)
		}
		rest := f.invoice(t, cheapSub, 3)
		restLines := f.linesOf(t, rest)
		if rest.Amount != 1000 || rest.Status != billing.StatusOpen || len(restLines) != 2 ||
			restLines[1] != (invoiceLine{-2000, credited + ", 20.00 of 50.00"}) {
			t.Fatalf("the rest of the credit: %+v %+v", rest, restLines)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM vacation_credits WHERE applied = amount`); n != 3 {
			t.Fatalf("%d credits used up", n)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE type = 'invoice' AND status = 'issued' AND data LIKE '%"invoiceStatus":"Paid"%'`); n != 1 {
			t.Errorf("%d invoices issued paid", n)
		}
	})
}
