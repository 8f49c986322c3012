package delivery_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// The fixture's dependency rule: PAPER is half price for NEWS holders
// (renewals and order lines alike).

// creditOf is the credit (days, øre) of the customer's only PAPER stop.
func (e *env) creditOf(t *testing.T, u user) (int, int64) {
	t.Helper()
	list := e.stops(t, "GET", "/capi/v1/product/stop/delivery/PAPER", u.token, "")
	if len(list) != 1 {
		t.Fatalf("stops of %d: %+v", u.customer, list)
	}
	return list[0].CreditDays, int64(list[0].CreditAmount*100 + 0.5)
}

// periodInvoice is the id and amount of a subscription's invoice of period n.
func (e *env) periodInvoice(t *testing.T, subID int64, n int) (int64, int64) {
	t.Helper()
	var id, amount int64
	if err := e.App.DB.QueryRow(`SELECT id, amount FROM invoices WHERE subscription_id = $1 AND period_no = $2 AND kind = 'invoice'`,
		subID, n).Scan(&id, &amount); err != nil {
		t.Fatalf("invoice of subscription %d period %d: %v", subID, n, err)
	}
	return id, amount
}

// pay books a bank payment of amount on an invoice, at the clock's time.
func (e *env) pay(t *testing.T, invoiceID, amount int64) {
	t.Helper()
	ctx := subscription.WithClock(context.Background(), e.clock.Now)
	if err := e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		return billing.BookPayment(ctx, tx, e.App.DB.Dialect, e.company, invoiceID, billing.PaymentRecord{
			Key: fmt.Sprintf("bank-%d", invoiceID), Source: "manual", Amount: amount, MethodCode: "A", Attempt: 1})
	}); err != nil {
		t.Fatalf("pay invoice %d: %v", invoiceID, err)
	}
}

// TestVacationCreditAtDiscountedRenewal: the credit of a vacation stop is
// the share of what the customer pays for the period. A renewal the NEWS
// holder's dependency discount halved credits half of what the same stop
// credits at full price; a credit carried onto that renewal invoice from a
// January stop lowers neither (it belongs to January), and January, which
// has no invoice, credits the recorded price.
func TestVacationCreditAtDiscountedRenewal(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, day("2025-01-05").Add(10*time.Hour), settingsYAML("{vacationStopPolicy: credit}"))
		full := e.newUser(t, 7501, "full@firm.no")
		half := e.newUser(t, 7502, "half@firm.no")
		fullCarry := e.newUser(t, 7503, "fullcarry@firm.no")
		halfCarry := e.newUser(t, 7504, "halfcarry@firm.no")
		subs := map[int64]int64{}
		for _, u := range []user{full, half, fullCarry, halfCarry} {
			subs[u.customer] = e.start(t, u.customer, "PAPER", "2025-01-01", 28000) // 280 kr a month
		}
		for _, u := range []user{half, halfCarry} {
			e.start(t, u.customer, "NEWS", "2025-01-01", 0)
		}
		// January stops (5 of 31 days): credited on the February invoice.
		for _, u := range []user{fullCarry, halfCarry} {
			e.stops(t, "POST", registerPath, u.token, temporary("PAPER", "2025-01-10", "2025-01-14"))
		}
		e.clock.Set(day("2025-01-10").Add(6 * time.Hour))
		e.jobs(t)
		for _, u := range []user{fullCarry, halfCarry} {
			// No invoice for January (started paid): the recorded price, 28000 × 5 / 31.
			if days, amount := e.creditOf(t, u); days != 5 || amount != 4516 {
				t.Errorf("January credit of %d: %d days, %d øre", u.customer, days, amount)
			}
		}
		e.clock.Set(day("2025-01-15").Add(6 * time.Hour))
		e.jobs(t)

		// February's invoices: 280 kr; 140 kr with NEWS; less January's credit.
		e.clock.Set(day("2025-01-18").Add(6 * time.Hour))
		e.jobs(t)
		for _, c := range []struct {
			u    user
			want int64
		}{{full, 28000}, {half, 14000}, {fullCarry, 28000 - 4516}, {halfCarry, 14000 - 4516}} {
			id, amount := e.periodInvoice(t, subs[c.u.customer], 2)
			if amount != c.want {
				t.Fatalf("February invoice of %d: %d øre, want %d", c.u.customer, amount, c.want)
			}
			e.pay(t, id, amount)
		}
		e.clock.Set(day("2025-02-01").Add(6 * time.Hour))
		e.jobs(t)
		for _, u := range []user{full, half, fullCarry, halfCarry} {
			if s := e.subscription(t, u.token, "PAPER"); !s.Paid || s.EndTime != lastSecond("2025-02-28") {
				t.Fatalf("renewed paid: %+v", s)
			}
		}

		// The same February stop for all: 5 of 28 days.
		e.clock.Set(day("2025-02-05").Add(10 * time.Hour))
		for _, u := range []user{full, half, fullCarry, halfCarry} {
			e.stops(t, "POST", registerPath, u.token, temporary("PAPER", "2025-02-10", "2025-02-14"))
		}
		e.clock.Set(day("2025-02-10").Add(6 * time.Hour))
		e.jobs(t)
		for _, c := range []struct {
			u    user
			want int64
		}{
			{full, 5000},      // 28000 × 5 / 28, as before
			{half, 2500},      // 14000 × 5 / 28, not the recorded 28000
			{fullCarry, 5000}, // not (28000 − 4516) × 5 / 28
			{halfCarry, 2500}, // not (14000 − 4516) × 5 / 28
		} {
			var days int
			var amount int64
			if err := e.App.DB.QueryRow(`SELECT credit_days, credit_amount FROM delivery_stops WHERE subscription_id = $1
				AND stop_time = $2`, subs[c.u.customer], day("2025-02-10").UnixMilli()).Scan(&days, &amount); err != nil {
				t.Fatal(err)
			}
			if days != 5 || amount != c.want {
				t.Errorf("February credit of %d: %d days, %d øre, want %d", c.u.customer, days, amount, c.want)
			}
		}
	})
}

// TestVacationCreditOfOrderedPeriod: the first period of a subscription an
// order started costs the order line's price, which the dependency discount
// halved for a NEWS holder (paid by card with the order) and for PAPER
// ordered with NEWS (on the order's invoice, with NEWS's line, paid later)
// while the subscription records the coupon's 449 kr: a stop credits its
// share of that price, half of what it credits at full price. Orders are
// dated by the wall clock (the order handlers do not read the business
// clock), so the business clock starts there and the dates follow the
// subscriptions' start.
func TestVacationCreditOfOrderedPeriod(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, time.Now(), settingsYAML("{vacationStopPolicy: credit}"))
		tok := e.ClientToken()
		holder := e.newUser(t, 7601, "holder@firm.no")
		plain := e.newUser(t, 7602, "plain@firm.no")
		both := e.newUser(t, 7603, "both@firm.no")
		e.start(t, holder.customer, "NEWS", time.Now().In(oslo).AddDate(0, 0, -1).Format("2006-01-02"), 0)

		// payment is the order's payment fields: paid by card beforehand, or by invoice.
		order := func(payer int64, payment, lines string) int64 {
			t.Helper()
			st, m := e.call(t, "POST", "/capi/v1/client/order", tok,
				fmt.Sprintf(`{%s,"payer":{"customerNumber":%d},"orderLines":[%s]}`, payment, payer, lines))
			id, _ := m["orderId"].(float64)
			if st != 200 || id == 0 {
				t.Fatalf("order: %d %v", st, m)
			}
			if st, m := e.call(t, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, int64(id))); st != 200 || m["fulfillmentStatus"] != "OK" {
				t.Fatalf("fulfil: %d %v", st, m)
			}
			return int64(id)
		}
		card := func(n int) string {
			return fmt.Sprintf(`"paymentMethod":"creditcardPayex","prepaid":true,"paymentInfo":{"transactionId":"card-%d"}`, n)
		}
		paper := `{"productSpecType":"coupon","productSpecCode":"PAPER","productSpecNo":1}`
		news := `{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1}`
		order(holder.customer, card(1), paper)
		order(plain.customer, card(2), paper)
		both1 := order(both.customer, `"paymentMethod":"invoice"`, paper+","+news)
		var invoiceID, invoiceAmount int64
		if err := e.App.DB.QueryRow(`SELECT id, amount FROM invoices WHERE order_id = $1 AND kind = 'invoice'`, both1).Scan(&invoiceID, &invoiceAmount); err != nil ||
			invoiceAmount != 22450+19900 {
			t.Fatalf("the order's invoice: %d øre (%v)", invoiceAmount, err)
		}
		e.pay(t, invoiceID, invoiceAmount)

		cases := []struct {
			u    user
			line int64
		}{{holder, 22450}, {plain, 44900}, {both, 22450}}
		var first time.Time
		whole := 0
		for _, c := range cases {
			var price, amount int64
			if err := e.App.DB.QueryRow(`SELECT s.price, l.amount FROM subscriptions s JOIN order_lines l ON l.subscription_id = s.id
				WHERE s.customer_number = $1 AND s.product_code = 'PAPER'`, c.u.customer).Scan(&price, &amount); err != nil ||
				price != 44900 || amount != c.line {
				t.Fatalf("PAPER of %d: recorded %d, ordered at %d (%v)", c.u.customer, price, amount, err)
			}
			s := e.subscription(t, c.u.token, "PAPER")
			if first.IsZero() {
				first = time.UnixMilli(s.StartTime).In(oslo)
				last := time.UnixMilli(s.EndTime).In(oslo)
				whole = int(day(last.Format("2006-01-02")).Sub(first).Hours()/24+0.5) + 1 // three months: 89 to 92 days
			}
			if !s.Paid || s.StartTime != first.UnixMilli() || whole < 89 || whole > 92 {
				t.Fatalf("PAPER of %d: %+v", c.u.customer, s)
			}
		}
		// A stop of 9 days, from the 11th day of the period.
		from, to := first.AddDate(0, 0, 10), first.AddDate(0, 0, 18)
		for _, c := range cases {
			e.stops(t, "POST", registerPath, c.u.token, temporary("PAPER", from.Format("2006-01-02"), to.Format("2006-01-02")))
		}
		e.clock.Set(from.Add(6 * time.Hour))
		e.jobs(t)
		for _, c := range cases {
			want := (2*c.line*9 + int64(whole)) / (2 * int64(whole)) // the line's price × 9 / whole, half up
			if days, amount := e.creditOf(t, c.u); days != 9 || amount != want {
				t.Errorf("credit of %d: %d days, %d øre, want %d (%d-day period)", c.u.customer, days, amount, want, whole)
			}
		}
		_, half := e.creditOf(t, holder)
		_, full := e.creditOf(t, plain)
		if 2*half < full-1 || 2*half > full+1 {
			t.Errorf("the NEWS holder's credit %d is not half the full-price %d", half, full)
		}
	})
}
