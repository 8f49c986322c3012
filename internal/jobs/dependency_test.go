package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/jobs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/testkit"
	"github.com/connect-oss/connect/internal/value"
)

// renewalDependencies keeps the fixture's rule (PAPER half price for NEWS
// subscribers) and adds 1,000 off PAPER with BOOK1 (more than a period
// costs); RIVAL gets its own NEWS and PAPER, PAPER 90 % off with NEWS.
const renewalDependencies = `companies:
  - code: ACME
    name: Acme Media
    country: NO
    productDependencies:
      - {product: PAPER, requiredProduct: NEWS, discountType: percent, discountValue: 50}
      - {product: PAPER, requiredProduct: BOOK1, discountType: amount, discountValue: 1000}
  - code: RIVAL
    name: Rival Media
    country: SE
    products:
      - {product: NEWS, description: Rival digital, startTime: 2024-01-01, retailPrice: 100, digital: true}
      - {product: PAPER, description: Rival paper, startTime: 2024-01-01, retailPrice: 200}
    productDependencies:
      - {product: PAPER, requiredProduct: NEWS, discountType: percent, discountValue: 90}
`

// newCustomer creates a customer of a company on the date on.
func (f *fixture) newCustomer(t *testing.T, companyID int64, code, on string) int64 {
	t.Helper()
	ctx := subscription.WithClock(context.Background(), func() time.Time { return day(on) })
	var cno int64
	err := f.e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		first, last := "Per", "Hansen"
		var err error
		cno, err = customer.Create(ctx, tx, customer.NewCustomer{CompanyID: companyID, CompanyCode: code, Now: day(on)},
			&customer.Input{FirstName: &first, LastName: &last})
		return err
	})
	if err != nil {
		t.Fatalf("customer: %v", err)
	}
	return cno
}

// hold starts a monthly subscription of a customer to product from start
// (registered on the date on) at price, granting grants besides.
func (f *fixture) hold(t *testing.T, companyID, cno int64, product, start, on string, price int64, grants ...string) int64 {
	t.Helper()
	ctx := subscription.WithClock(context.Background(), func() time.Time { return day(on) })
	d, _ := time.ParseInLocation("2006-01-02", start, oslo)
	var id int64
	err := f.e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = subscription.Start(ctx, tx, subscription.StartRequest{CompanyID: companyID, CustomerNumber: cno, ProductCode: product,
			StartDate: d, PeriodLength: 1, PeriodType: "month", Price: value.Money(price), Currency: "NOK", Paid: true, AccessProducts: grants})
		return err
	})
	if err != nil {
		t.Fatalf("start %s of %d: %v", product, cno, err)
	}
	return id
}

// cardFor stores a PayEx card for the customer's subscription of product.
func (f *fixture) cardFor(t *testing.T, cno int64, product, on string) {
	t.Helper()
	var started billing.FlowStarted
	body := fmt.Sprintf(`{"tokenType":"card","productCode":%q}`, product)
	if st := f.call(t, "POST", "/capi/v1/api/payment/payex/token", f.user(cno), body, &started); st != 200 || !started.Success {
		t.Fatalf("payex add: %d %+v", st, started)
	}
	if st := f.finish(t, started.TransactionID, "approve", on); st != "finished" {
		t.Fatalf("card flow: %s", st)
	}
}

// invoiceOf is a subscription's invoice of a period in any company.
func (f *fixture) invoiceOf(t *testing.T, companyID, subID int64, period int) *billing.Invoice {
	t.Helper()
	var id int64
	if err := f.e.App.DB.QueryRow(`SELECT id FROM invoices WHERE subscription_id = $1 AND period_no = $2 AND kind = 'invoice'`, subID, period).Scan(&id); err != nil {
		t.Fatalf("invoice of subscription %d period %d: %v", subID, period, err)
	}
	inv, err := billing.Get(context.Background(), f.e.App.DB, companyID, id)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// renewalLines is an invoice's lines as "amount description: explanation".
func (f *fixture) renewalLines(t *testing.T, inv *billing.Invoice) []string {
	t.Helper()
	rows, err := f.e.App.DB.Query(`SELECT amount, description, explanation FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no`, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var amount int64
		var desc, expl string
		if err := rows.Scan(&amount, &desc, &expl); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s: %s", amount, desc, expl))
	}
	return out
}

// TestDependencyDiscountAtRenewal: a renewal of a product with dependency
// rules costs the renewal price less the largest discount of a rule the
// customer meets, through another current, not stopped subscription, when
// the period begins: on the invoice (a negative "Product dependency
// discount" line), its issued event and the card charge. The discount ends
// with the required subscription's stop, comes with one gained mid-period,
// never takes a period below 0, never comes from another company's rules or
// subscriptions, and a subscription never meets its own product's rule.
func TestDependencyDiscountAtRenewal(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f, clock := clockedFixture(t, d, day("2025-01-05"), renewalDependencies)
		rival, err := tenant.GetCompanyByCode(ctx, f.e.App.DB, "RIVAL")
		if err != nil {
			t.Fatal(err)
		}
		const paper = 31000 // 310 kr a month, VAT 12.5 %
		// D, RIVAL's first customer: the same customer number in both
		// companies. RIVAL's D holds NEWS and PAPER; ACME's only PAPER.
		d1 := f.newCustomer(t, f.company, testkit.Company, "2025-01-01")
		rd := f.newCustomer(t, rival.ID, "RIVAL", "2025-01-01")
		if rd != d1 {
			t.Fatalf("customer numbers %d (ACME) and %d (RIVAL) differ: the test needs one number in both", d1, rd)
		}
		dPaper := f.hold(t, f.company, d1, "PAPER", "2025-01-01", "2025-01-01", paper)
		rivalPaper := f.hold(t, rival.ID, rd, "PAPER", "2025-01-01", "2025-01-01", 20000)
		f.hold(t, rival.ID, rd, "NEWS", "2025-01-01", "2025-01-01", 10000)
		// A holds PAPER and NEWS, both paid by card.
		a, aPaper := f.subscribePaper(t, "2025-01-01", paper, 0)
		aNews := f.hold(t, f.company, a, "NEWS", "2025-01-01", "2025-01-01", 19900)
		// B holds PAPER only, and NEWS from 10 February.
		b, bPaper := f.subscribePaper(t, "2025-01-01", paper, 0)
		// C holds PAPER and BOOK1: 1,000 off, more than the period costs.
		c, cPaper := f.subscribePaper(t, "2025-01-01", paper, 0)
		f.hold(t, f.company, c, "BOOK1", "2025-01-01", "2025-01-01", 5000)
		// E's PAPER grants NEWS itself: not another subscription.
		e := f.newCustomer(t, f.company, testkit.Company, "2025-01-01")
		ePaper := f.hold(t, f.company, e, "PAPER", "2025-01-01", "2025-01-01", paper, "NEWS")
		for _, card := range []struct {
			cno     int64
			product string
		}{{a, "PAPER"}, {a, "NEWS"}, {b, "PAPER"}, {c, "PAPER"}, {c, "BOOK1"}, {d1, "PAPER"}, {e, "PAPER"}} {
			f.cardFor(t, card.cno, card.product, "2025-01-05")
		}

		// February's invoices.
		clock.Set(day("2025-01-18"))
		if rep := f.run(t, "2025-01-18"); rep.Issued != 9 {
			t.Fatalf("issue: %+v", rep)
		}
		full := []string{fmt.Sprintf("%d Acme Paper: period 2, 2025-02-01 to 2025-02-28", paper)}
		half := append(full, "-15500 Product dependency discount: 50 % off with NEWS")
		check := func(name string, company, sub int64, period int, amount int64, lines []string) *billing.Invoice {
			t.Helper()
			inv := f.invoiceOf(t, company, sub, period)
			if got := f.renewalLines(t, inv); inv.Amount != amount || !reflect.DeepEqual(got, lines) {
				t.Errorf("%s, period %d: amount %d, lines %q; want %d, %q", name, period, inv.Amount, got, amount, lines)
			}
			return inv
		}
		aInv := check("A (NEWS held)", f.company, aPaper, 2, 15500, half)
		// VAT 12.5 % per line: 34.44 on 310, −17.22 on −155.
		if aInv.VatAmount != 3444-1722 || aInv.ChargeState != billing.ChargeScheduled {
			t.Errorf("A's invoice: VAT %d, charge %s", aInv.VatAmount, aInv.ChargeState)
		}
		var details billing.InvoiceDetails
		if st := f.get(t, f.user(a), fmt.Sprintf("/capi/v1/customer/invoice/details/%d", aInv.Number), "application/json", &details); st != 200 ||
			details.InvoiceAmount != "155.00" || len(details.InvoiceLineInfo) != 2 || details.InvoiceLineInfo[1].InvoiceAmount != value.Money(-15500) ||
			details.InvoiceLineInfo[1].Description != "Product dependency discount" {
			t.Errorf("A's invoice details: %d %+v", st, details)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM event_outbox WHERE type = 'invoice' AND status = 'issued' AND data LIKE $1`,
			fmt.Sprintf(`%%"amount":155,%%"invoiceNumber":"%d"%%`, aInv.Number)); n != 1 {
			t.Errorf("A's invoice/issued event with amount 155: %d", n)
		}
		check("A's NEWS (no rules)", f.company, aNews, 2, 19900, []string{"19900 Acme News digital: period 2, 2025-02-01 to 2025-02-28"})
		check("B (NEWS not yet held)", f.company, bPaper, 2, paper, full)
		cInv := check("C (BOOK1 held: 1,000 off)", f.company, cPaper, 2, 0,
			append(full, "-31000 Product dependency discount: 1000.00 off with BOOK1"))
		if cInv.Status != billing.StatusPaid || cInv.ChargeState != billing.ChargeNone {
			t.Errorf("C's zero invoice: %s, charge %s", cInv.Status, cInv.ChargeState)
		}
		check("D (RIVAL's D holds NEWS)", f.company, dPaper, 2, paper, full)
		check("E (its own PAPER grants NEWS)", f.company, ePaper, 2, paper, full)
		check("RIVAL's D", rival.ID, rivalPaper, 2, 2000,
			[]string{"20000 Rival paper: period 2, 2025-02-01 to 2025-02-28", "-18000 Product dependency discount: 90 % off with NEWS"})

		// The first day of February: the cards are charged the invoices' amounts.
		clock.Set(day("2025-02-01"))
		if rep := f.run(t, "2025-02-01"); rep.Charged != 6 || rep.Declined != 0 {
			t.Fatalf("charge: %+v", rep)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM simulated_gateway_charges WHERE amount = 15500`); n != 1 {
			t.Errorf("A's PAPER was not charged 155 kr (%d charges)", n)
		}
		if got := f.invoiceOf(t, f.company, aPaper, 2); got.Status != billing.StatusPaid || got.PaidAmount != 15500 {
			t.Errorf("A's charged invoice: %+v", got)
		}
		if s := f.sub(t, aPaper); s.Price != paper || s.Periods != 2 || !s.Paid {
			t.Errorf("A's PAPER after the renewal: price %d, periods %d, paid %v (the price keeps the full amount)", s.Price, s.Periods, s.Paid)
		}

		// A stops NEWS (at the end of February); B starts NEWS on 10 February.
		stopAt := day("2025-02-05")
		clock.Set(stopAt)
		sctx := subscription.WithClock(ctx, func() time.Time { return stopAt })
		if err := f.e.App.DB.Tx(sctx, func(tx *sql.Tx) error {
			return subscription.Stop(sctx, tx, f.company, aNews, time.Time{})
		}); err != nil {
			t.Fatal(err)
		}
		f.hold(t, f.company, b, "NEWS", "2025-02-10", "2025-02-10", 19900)

		// March's invoices: A at the full price, B at half price.
		clock.Set(day("2025-02-15"))
		if rep := f.run(t, "2025-02-15"); rep.Issued != 6 { // RIVAL's two, unpaid, are suspended
			t.Fatalf("March: %+v", rep)
		}
		march := []string{fmt.Sprintf("%d Acme Paper: period 3, 2025-03-01 to 2025-03-31", paper)}
		check("A after NEWS stopped", f.company, aPaper, 3, paper, march)
		check("B with NEWS gained", f.company, bPaper, 3, 15500, append(march, "-15500 Product dependency discount: 50 % off with NEWS"))
		check("C (BOOK1 still held)", f.company, cPaper, 3, 0, append(march, "-31000 Product dependency discount: 1000.00 off with BOOK1"))
		check("D", f.company, dPaper, 3, paper, march)
	})
}

// TestRenewalHoldingsAgreeWithCatalog: the holdings the renewal run reads
// for a batch in one query are catalog.HeldProducts' for each customer, at
// any instant (current: active or paused, not stopped, started; a bundle's
// granted products; the company's own), less the renewed subscription; the
// rules it reads are catalog.Dependencies'.
func TestRenewalHoldingsAgreeWithCatalog(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f, _ := clockedFixture(t, d, day("2025-01-05"), renewalDependencies)
		db := f.e.App.DB
		rival, err := tenant.GetCompanyByCode(ctx, db, "RIVAL")
		if err != nil {
			t.Fatal(err)
		}
		on := "2025-01-05"
		c1 := f.newCustomer(t, f.company, testkit.Company, on)
		if r1 := f.newCustomer(t, rival.ID, "RIVAL", on); r1 == c1 {
			f.hold(t, rival.ID, r1, "PAPER", "2025-01-01", on, 20000) // the same number in RIVAL
		}
		f.hold(t, f.company, c1, "NEWS", "2025-01-01", on, 19900)
		bundle := f.hold(t, f.company, c1, "PAPER", "2025-01-01", on, 31000, "NEWS", "BOOK1")
		c2 := f.newCustomer(t, f.company, testkit.Company, on)
		paused := f.hold(t, f.company, c2, "NEWS", "2025-01-01", on, 19900)
		stopped := f.hold(t, f.company, c2, "PAPER", "2025-01-01", on, 31000)
		c3 := f.newCustomer(t, f.company, testkit.Company, on)
		ended := f.hold(t, f.company, c3, "NEWS", "2024-01-01", on, 19900)
		f.hold(t, f.company, c3, "BOOK1", "2025-03-01", on, 5000) // starts later
		c4 := f.newCustomer(t, f.company, testkit.Company, on)
		stopping := f.hold(t, f.company, c4, "PAPER", "2025-01-01", on, 31000, "NEWS")
		c5 := f.newCustomer(t, f.company, testkit.Company, on) // holds nothing
		for _, u := range []struct {
			q  string
			id int64
		}{
			{`UPDATE subscriptions SET status = 'paused' WHERE id = $1`, paused},
			{`UPDATE subscriptions SET status = 'stopped', stop_time = end_time + 1000 WHERE id = $1`, stopped},
			{`UPDATE subscriptions SET status = 'ended' WHERE id = $1`, ended},
			{`UPDATE subscriptions SET stop_time = end_time + 1000 WHERE id = $1`, stopping}, // active, a stop registered
		} {
			if _, err := db.Exec(u.q, u.id); err != nil {
				t.Fatal(err)
			}
		}
		customers := []int64{c1, c2, c3, c4, c5}
		for _, at := range []string{"2024-12-31", "2025-01-01", "2025-02-01", "2025-03-01", "2026-01-01"} {
			ms := midnight(at)
			got, err := jobs.HeldForRenewal(ctx, db, f.company, customers, 0, ms)
			if err != nil {
				t.Fatal(err)
			}
			for _, cno := range customers {
				want, err := catalog.HeldProducts(ctx, db, f.company, cno, time.UnixMilli(ms))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got[cno], want) {
					t.Errorf("customer %d at %s: the run reads %v, catalog.HeldProducts %v", cno, at, got[cno], want)
				}
			}
		}
		// Renewing the bundle, its own grants do not count: NEWS still
		// does, through the NEWS subscription.
		got, err := jobs.HeldForRenewal(ctx, db, f.company, []int64{c1}, bundle, midnight("2025-02-01"))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]bool{"NEWS": true}; !reflect.DeepEqual(got[c1], want) {
			t.Errorf("held besides the bundle: %v, want %v", got[c1], want)
		}
		// The rules: catalog.Dependencies' for every product, in its order.
		rules, err := catalog.CompanyDependencies(ctx, db, f.company)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"PAPER", "NEWS", "BOOK1"} {
			want, err := catalog.Dependencies(ctx, db, f.company, p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rules[p], want) {
				t.Errorf("rules of %s: the run reads %+v, catalog %+v", p, rules[p], want)
			}
		}
		if len(rules["PAPER"]) != 2 {
			t.Errorf("PAPER's rules: %+v", rules["PAPER"])
		}
	})
}
