package order_test

import (
	"fmt"
	"testing"

	"github.com/connect-oss/connect/internal/testkit"
)

// A payer's or receiver's permissions[] and privacy[] are applied with the
// order (order.md "Payer and receiver", privacy.md), also for an existing
// payer (which otherwise takes the one-statement path on PostgreSQL); bad
// choices fail the order naming the field, and nothing is written.
func TestOrderAppliesPayerChoices(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		n := registerOrder(t, e, tok, newsOrder("", "invoice")).CustomerNumber
		choices := `"permissions":[{"channelCode":"TM","permissionType":"SHIELD"}],"privacy":[{"purpose":"EM"}]`
		body := fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"customerNumber":%d,%s},"orderLines":[%s]}`, n, choices, newsLine)
		registerOrder(t, e, tok, body)
		if c := count(t, e, `SELECT COUNT(*) FROM privacy_channel_settings WHERE customer_number = $1 AND channel = 'TM' AND type = 'SHIELD'`, n); c != 1 {
			t.Fatalf("payer's shield not applied: %d", c)
		}
		if c := count(t, e, `SELECT COUNT(*) FROM privacy_purposes WHERE customer_number = $1`, n); c != 1 {
			t.Errorf("payer's purposes: %d", c)
		}
		if c := count(t, e, `SELECT COUNT(*) FROM privacy_channel_log WHERE source = 'order' AND client_id = $1`, testkit.ClientID); c != 1 {
			t.Errorf("permission changes logged for the order: %d", c)
		}

		// A new receiver's choices too, and a customer registered with choices.
		receiver := fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"customerNumber":%d},"orderLines":[`+
			`{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"unitPrice":199,`+
			`"receiver":{"lastName":"Kid","postalCode":"0150","permissions":[{"channelCode":"DM","permissionType":"PERMISSION"}]}}]}`, n)
		registerOrder(t, e, tok, receiver)
		want(t, call(e, "POST", "/capi/v1/client/customer", tok,
			`{"lastName":"Choosy","postalCode":"0150","emails":["choosy@example.no"],`+choices+`}`), 200, "customerNumber")
		if c := count(t, e, `SELECT COUNT(*) FROM privacy_channel_log WHERE client_id = $1`, testkit.ClientID); c != 3 {
			t.Errorf("permission changes logged: %d, want 3", c)
		}

		// Bad choices: 400 naming the field; no order, no customer, no choice written.
		before := written(t, e) + fmt.Sprint(count(t, e, `SELECT COUNT(*) FROM customers`), count(t, e, `SELECT COUNT(*) FROM privacy_channel_log`))
		for _, tt := range []struct{ body, msg string }{
			{fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"customerNumber":%d,"permissions":[{"channelCode":"TM"}]},"orderLines":[%s]}`, n, newsLine),
				"payer.permissions[0].permissionType"},
			{fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"customerNumber":%d,"privacy":[{"purpose":"NOSUCH"}]},"orderLines":[%s]}`, n, newsLine),
				"payer.privacy[0]"},
			{`{"paymentMethod":"invoice","payer":{"lastName":"New","postalCode":"0150","emails":["new@example.no"],"permissions":"yes"},"orderLines":[` + newsLine + `]}`,
				"payer.permissions"},
		} {
			want(t, call(e, "POST", "/capi/v1/client/order", tok, tt.body), 400, tt.msg)
		}
		want(t, call(e, "POST", "/capi/v1/client/customer", tok,
			`{"lastName":"Bad","postalCode":"0150","emails":["bad@example.no"],"permissions":[{"channelCode":"TM","permissionType":"OFTEN"}]}`), 400, "permissions[0].permissionType")
		after := written(t, e) + fmt.Sprint(count(t, e, `SELECT COUNT(*) FROM customers`), count(t, e, `SELECT COUNT(*) FROM privacy_channel_log`))
		if after != before {
			t.Fatalf("rows written by refused requests: %s → %s", before, after)
		}
	})
}
