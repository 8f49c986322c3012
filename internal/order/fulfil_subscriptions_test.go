package order_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/testkit"
)

// TestOrderInvoicePaysEverySubscription: an order of two subscription
// products paid by invoice starts both unpaid; paying the one invoice makes
// the first period of both paid, though the invoice names only one.
func TestOrderInvoicePaysEverySubscription(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		o := registerOrder(t, e, tok, fmt.Sprintf(`{"paymentMethod":"invoice",%s,"orderLines":[
			{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1},
			{"productSpecType":"coupon","productSpecCode":"PAPER","productSpecNo":1}]}`, payer))
		want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, o.OrderID)), 200, `"fulfillmentStatus":"OK"`)
		paid := func() string {
			t.Helper()
			return fmt.Sprint(count(t, e, `SELECT COUNT(*) FROM subscriptions WHERE customer_number = $1 AND paid`, o.CustomerNumber),
				count(t, e, `SELECT COUNT(*) FROM subscriptions WHERE customer_number = $1 AND NOT paid`, o.CustomerNumber))
		}
		if got := paid(); got != "0 2" {
			t.Fatalf("before payment, paid and unpaid subscriptions: %s, want 0 2", got)
		}
		var companyID, invoiceID, amount int64
		if err := e.App.DB.QueryRow(`SELECT company_id, id, amount FROM invoices WHERE order_id = $1 AND kind = 'invoice'`, o.OrderID).
			Scan(&companyID, &invoiceID, &amount); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			return billing.BookPayment(ctx, tx, e.App.DB.Dialect, companyID, invoiceID, billing.PaymentRecord{
				Key: "bank-1", Source: "manual", Amount: amount, MethodCode: "A", Attempt: 1})
		}); err != nil {
			t.Fatal(err)
		}
		if got := paid(); got != "2 0" {
			t.Fatalf("after paying the order's invoice, paid and unpaid subscriptions: %s, want 2 0", got)
		}
	})
}

// TestQuantityIsCopiesAtTheirPrice: a coupon line of quantity 3 starts one
// subscription of 3 copies whose periods cost 3 times the coupon's price and
// renewal price, as the order did; otherwise the renewals bill one copy.
func TestQuantityIsCopiesAtTheirPrice(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		o := registerOrder(t, e, tok, fmt.Sprintf(`{"paymentMethod":"invoice",%s,"orderLines":[
			{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"quantity":3,"unitPrice":199}]}`, payer))
		want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, o.OrderID)), 200, `"fulfillmentStatus":"OK"`)
		var copies, price, renewal, invoiced int64
		if err := e.App.DB.QueryRow(`SELECT s.copies, s.price, s.renewal_price, i.amount FROM subscriptions s
			JOIN invoices i ON i.order_id = $1 AND i.kind = 'invoice' WHERE s.order_id = $1`, o.OrderID).Scan(&copies, &price, &renewal, &invoiced); err != nil {
			t.Fatal(err)
		}
		if copies != 3 || price != 3*19900 || renewal != 3*24900 || invoiced != 3*19900 {
			t.Fatalf("copies %d, price %d, renewal price %d, first invoice %d; want 3, %d, %d, %d", copies, price, renewal, invoiced,
				3*19900, 3*24900, 3*19900)
		}
	})
}
