package privacy_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/privacy"
	"github.com/connect-oss/connect/internal/privacy/choice"
)

func TestPermissions(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		cno := e.register(e.client, "Perm")
		u := e.minted(1, cno)
		other := e.minted(2, e.register(e.client, "Other"))
		none := e.minted(3, 0)

		// Nothing set yet; a user without a customer sees empty lists and cannot change.
		for _, path := range []string{"/capi/v1/customer/pbm", "/capi/v1/customer/pbm/ACME", "/capi/v1/customer/pbm/ACME/NEWS"} {
			want(t, e.call("GET", path, u.token, ""), 200, `{"channels":[]}`)
			want(t, e.call("GET", path, none.token, ""), 200, `{"channels":[]}`)
		}
		want(t, e.call("POST", "/capi/v1/customer/pbm/ACME", none.token, `{"channels":[{"type":"SHIELD","value":"TM"}]}`), 404, "no customer linked to user")

		// Merge per channel, any case in; upper case and catalogue spelling out, sorted by channel.
		want(t, e.call("POST", "/capi/v1/customer/pbm/ACME", u.token, `{"channels":[{"type":"permission","value":"dm"},{"type":"Shield","value":"TM"}]}`), 200,
			`{"channels":[{"type":"PERMISSION","value":"DM"},{"type":"SHIELD","value":"TM"}]}`)
		want(t, e.call("POST", "/capi/v1/customer/pbm/ACME", u.token, `{"channels":[{"type":"SHIELD","value":"EM"},{"type":"NONE","value":"TM"}]}`), 200,
			`{"channels":[{"type":"PERMISSION","value":"DM"},{"type":"SHIELD","value":"EM"}]}`)
		// Unchanged input changes nothing and logs nothing.
		logged := e.count(`SELECT COUNT(*) FROM privacy_channel_log`)
		updates := e.count(`SELECT COUNT(*) FROM event_outbox WHERE type = 'customer' AND status = 'update'`)
		want(t, e.call("POST", "/capi/v1/customer/pbm/ACME", u.token, `{"channels":[{"type":"SHIELD","value":"EM"}]}`), 200)
		if e.count(`SELECT COUNT(*) FROM privacy_channel_log`) != logged || e.count(`SELECT COUNT(*) FROM event_outbox WHERE type = 'customer' AND status = 'update'`) != updates {
			t.Error("a change to the same value was logged or emitted")
		}
		if logged != 4 || updates != 2 {
			t.Errorf("channel log %d (want 4), customer/update events %d (want 2)", logged, updates)
		}
		want(t, e.call("GET", "/capi/v1/customer/pbm/ACME", u.token, ""), 200, `{"channels":[{"type":"PERMISSION","value":"DM"},{"type":"SHIELD","value":"EM"}]}`)
		// Levels are separate: order type, another enterprise, global.
		want(t, e.call("POST", "/capi/v1/customer/pbm/ACME/NEWS", u.token, `{"channels":[{"type":"SHIELD","value":"DM"}]}`), 200, `[{"type":"SHIELD","value":"DM"}]`)
		want(t, e.call("GET", "/capi/v1/customer/pbm/ACMEMKT", u.token, ""), 200, `{"channels":[]}`)
		want(t, e.call("GET", "/capi/v1/customer/pbm", u.token, ""), 200, `{"channels":[]}`)
		// Another user sees none of it.
		want(t, e.call("GET", "/capi/v1/customer/pbm/ACME", other.token, ""), 200, `{"channels":[]}`)

		// Validation (400 naming the field) and unknown codes in the path (404).
		for _, c := range []struct{ body, field string }{
			{`{}`, "channels: is required"},
			{`{"channels":[{"type":"SHIELD","value":"XX"}]}`, "channels[0].value: unknown channel"},
			{`{"channels":[{"type":"MAYBE","value":"TM"}]}`, "channels[0].type"},
			{`{"channels":[{"value":"TM"}]}`, "channels[0].type: is required"},
			{`{"channels":[{"type":"SHIELD"}]}`, "channels[0].value: is required"},
			{`{"channels":[{"type":"SHIELD","value":"TM"},{"type":"NONE","value":"tm"}]}`, "channels[1].value: channel TM is listed twice"},
			{`{"channels":"TM"}`, "channels"},
		} {
			want(t, e.call("POST", "/capi/v1/customer/pbm/ACME", u.token, c.body), 400, "ValidationException", c.field)
		}
		for _, path := range []string{"/capi/v1/customer/pbm/RIVAL", "/capi/v1/customer/pbm/NOPE", "/capi/v1/customer/pbm/consents",
			"/capi/v1/customer/pbm/ACME/LETTER", "/capi/v1/customer/pbm/ACMEMKT/NEWS", "/capi/v1/customer/pbm/ACME/x"} {
			want(t, e.call("GET", path, u.token, ""), 404, "NotFoundException")
			want(t, e.call("POST", path, u.token, `{"channels":[]}`), 404, "NotFoundException")
		}
		// The global level has no change endpoint; the back office sets it.
		want(t, e.call("POST", "/capi/v1/customer/pbm", u.token, `{"channels":[]}`), 405, "MethodNotAllowedException")
		setGlobal(t, e, cno, choice.Setting{Channel: "tm", Type: "shield"})
		want(t, e.call("GET", "/capi/v1/customer/pbm", u.token, ""), 200, `{"channels":[{"type":"SHIELD","value":"TM"}]}`)
		err := e.App.DB.Tx(context.Background(), func(tx *sql.Tx) error {
			return privacy.SetGlobalShields(context.Background(), tx, e.companyID("ACME"), cno, []choice.Setting{{Channel: "DM", Type: "PERMISSION"}}, "test", t0)
		})
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("a global PERMISSION = %v, want invalid", err)
		}

		// XML in and out; the root is the list's name.
		x := e.xml("POST", "/capi/v1/customer/pbm/ACMEMKT/LETTER", u.token,
			`<data><channels><item0><type>SHIELD</type><value>SM</value></item0><item1><type>PERMISSION</type><value>EM</value></item1></channels></data>`)
		want(t, x, 200, `<channels><channel><type>PERMISSION</type><value>EM</value></channel><channel><type>SHIELD</type><value>SM</value></channel></channels>`)
		// Wrong mode.
		want(t, e.call("GET", "/capi/v1/customer/pbm", e.client, ""), 403, "insufficient_scope")
	})
}

func setGlobal(t *testing.T, e *env, cno int64, s ...choice.Setting) {
	t.Helper()
	err := e.App.DB.Tx(context.Background(), func(tx *sql.Tx) error {
		return privacy.SetGlobalShields(context.Background(), tx, e.companyID("ACME"), cno, s, "do-not-call-register", e.clock.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestShieldChecks(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		cno := e.register(e.client, "Shield")
		u := e.minted(1, cno)
		setGlobal(t, e, cno, choice.Setting{Channel: "TM", Type: "SHIELD"}, choice.Setting{Channel: "SM", Type: "SHIELD"})
		want(t, e.call("POST", "/capi/v1/customer/pbm/ACME", u.token, `{"channels":[{"type":"PERMISSION","value":"DM"},{"type":"PERMISSION","value":"SM"}]}`), 200)
		want(t, e.call("POST", "/capi/v1/customer/pbm/ACME/NEWS", u.token, `{"channels":[{"type":"SHIELD","value":"DM"}]}`), 200)

		// The most specific entry decides: order type, then enterprise, then global; none: not shielded.
		r := e.call("POST", "/capi/v1/client/customer/pbm/shield/ordertype", e.client,
			fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"ACME","orderType":"NEWS","channels":["TM","dm","EM","SM"]}`, cno))
		want(t, r, 200, fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"ACME","orderType":"NEWS","channels":[`+
			`{"value":"TM","shielded":true,"type":"SHIELD","level":"global"},`+
			`{"value":"DM","shielded":true,"type":"SHIELD","level":"orderType"},`+
			`{"value":"EM","shielded":false},`+
			`{"value":"SM","shielded":false,"type":"PERMISSION","level":"enterprise"}]}`, cno))
		// The enterprise check ignores order types; channels default to the whole catalogue.
		r = e.call("POST", "/capi/v1/client/customer/pbm/shield/enterprise", e.client, fmt.Sprintf(`{"customerNumber":"%d","enterpriseCode":"ACME","orderType":"NEWS"}`, cno))
		want(t, r, 200, `"enterpriseCode":"ACME","channels":[{"value":"TM","shielded":true,"type":"SHIELD","level":"global"},`+
			`{"value":"DM","shielded":false,"type":"PERMISSION","level":"enterprise"},{"value":"EM","shielded":false},`+
			`{"value":"SM","shielded":false,"type":"PERMISSION","level":"enterprise"}]}`)
		if strings.Contains(string(r.Body), `"orderType"`) {
			t.Errorf("the enterprise check names an order type: %s", r.Body)
		}
		// Another enterprise: only the global level applies.
		want(t, e.call("POST", "/capi/v1/client/customer/pbm/shield/enterprise", e.client, fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"ACMEMKT","channels":["SM"]}`, cno)), 200,
			`"channels":[{"value":"SM","shielded":true,"type":"SHIELD","level":"global"}]`)

		e.register(e.rival, "R1")
		rivalCustomer := e.register(e.rival, "R2")
		for _, c := range []struct {
			path, body, field string
			status            int
		}{
			{"ordertype", `{"enterpriseCode":"ACME","orderType":"NEWS"}`, "customerNumber: is required", 400},
			{"ordertype", fmt.Sprintf(`{"customerNumber":%d,"orderType":"NEWS"}`, cno), "enterpriseCode: is required", 400},
			{"ordertype", fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"ACME"}`, cno), "orderType: is required", 400},
			{"ordertype", fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"RIVAL","orderType":"NEWS"}`, cno), "enterpriseCode: unknown", 400},
			{"ordertype", fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"ACMEMKT","orderType":"NEWS"}`, cno), "orderType: unknown", 400},
			{"enterprise", fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"ACME","channels":["TM","FAX"]}`, cno), "channels[1]: unknown channel", 400},
			{"enterprise", `{"customerNumber":"abc","enterpriseCode":"ACME"}`, "customerNumber", 400},
			{"enterprise", fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"ACME"}`, rivalCustomer), "NotFoundException", 404},
			{"enterprise", `{"customerNumber":99999999,"enterpriseCode":"ACME"}`, "NotFoundException", 404},
		} {
			want(t, e.call("POST", "/capi/v1/client/customer/pbm/shield/"+c.path, e.client, c.body), c.status, c.field)
		}
		want(t, e.call("POST", "/capi/v1/client/customer/pbm/shield/enterprise", e.rival, fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"ACME"}`, cno)), 400, "enterpriseCode: unknown")
		want(t, e.call("POST", "/capi/v1/client/customer/pbm/shield/enterprise", e.rival, fmt.Sprintf(`{"customerNumber":%d,"enterpriseCode":"RIVAL"}`, rivalCustomer)), 200, `"shielded":false`)
		want(t, e.call("POST", "/capi/v1/client/customer/pbm/shield/enterprise", u.token, `{}`), 403, "insufficient_scope")
		// XML.
		x := e.xml("POST", "/capi/v1/client/customer/pbm/shield/ordertype", e.client,
			fmt.Sprintf(`<data><customerNumber>%d</customerNumber><enterpriseCode>ACME</enterpriseCode><orderType>NEWS</orderType><channels><item0>DM</item0></channels></data>`, cno))
		want(t, x, 200, `<channels><channel><value>DM</value><shielded>true</shielded><type>SHIELD</type><level>orderType</level></channel></channels>`)
	})
}

func TestPurposes(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		cno := e.register(e.client, "Purpose")
		u := e.minted(1, cno)
		other := e.minted(2, e.register(e.client, "Other"))
		none := e.minted(3, 0)
		want(t, e.call("GET", "/capi/v1/customer/privacy/ACME", u.token, ""), 200, `{"permission":[]}`)
		// The body replaces the level's set; duplicates collapse; sorted by purpose.
		want(t, e.call("POST", "/capi/v1/customer/privacy/ACME", u.token, `{"permission":[{"purpose":"em"},{"purpose":"DM"},{"purpose":"EM"}]}`), 200,
			`{"permission":[{"purpose":"DM"},{"purpose":"EM"}]}`)
		want(t, e.call("POST", "/capi/v1/customer/privacy/ACME", u.token, `{"permission":[{"purpose":"PROFILE"},{"purpose":"DM"}]}`), 200,
			`{"permission":[{"purpose":"DM"},{"purpose":"PROFILE"}]}`)
		want(t, e.call("GET", "/capi/v1/customer/privacy/ACME", u.token, ""), 200, `{"permission":[{"purpose":"DM"},{"purpose":"PROFILE"}]}`)
		// Order-type level is separate; an empty list clears.
		want(t, e.call("POST", "/capi/v1/customer/privacy/ACME/PAPER", u.token, `{"permission":[{"purpose":"SM"}]}`), 200, `[{"purpose":"SM"}]`)
		want(t, e.call("POST", "/capi/v1/customer/privacy/ACME/PAPER", u.token, `{"permission":[]}`), 200, `{"permission":[]}`)
		want(t, e.call("GET", "/capi/v1/customer/privacy/ACME", u.token, ""), 200, `{"permission":[{"purpose":"DM"},{"purpose":"PROFILE"}]}`)
		if n := e.count(`SELECT COUNT(*) FROM event_outbox WHERE type = 'customer' AND status = 'update' AND data = $1`, fmt.Sprintf(`{"customerNumber":%d}`, cno)); n != 4 {
			t.Errorf("customer/update events: %d, want 4", n)
		}
		// Others see nothing; no customer: empty list, change 404.
		want(t, e.call("GET", "/capi/v1/customer/privacy/ACME", other.token, ""), 200, `{"permission":[]}`)
		want(t, e.call("GET", "/capi/v1/customer/privacy/ACME", none.token, ""), 200, `{"permission":[]}`)
		want(t, e.call("POST", "/capi/v1/customer/privacy/ACME", none.token, `{"permission":[]}`), 404, "no customer linked to user")
		for _, c := range []struct{ body, field string }{
			{`{}`, "permission: is required"},
			{`{"permission":[{"purpose":"NOPE"}]}`, "permission[0].purpose: unknown purpose"},
			{`{"permission":[{"purpose":"DM"},{}]}`, "permission[1].purpose: is required"},
			{`{"permission":{"purpose":"DM"}}`, "permission"},
		} {
			want(t, e.call("POST", "/capi/v1/customer/privacy/ACME", u.token, c.body), 400, "ValidationException", c.field)
		}
		for _, path := range []string{"/capi/v1/customer/privacy/RIVAL", "/capi/v1/customer/privacy/ACME/LETTER", "/capi/v1/customer/privacy/consentEvent"} {
			want(t, e.call("GET", path, u.token, ""), 404, "NotFoundException")
		}
		want(t, e.call("POST", "/capi/v1/customer/privacy/ACMEMKT/NEWS", u.token, `{"permission":[]}`), 404, "NotFoundException")
		// XML in and out.
		x := e.xml("POST", "/capi/v1/customer/privacy/ACMEMKT/LETTER", u.token, `<data><permission><item0><purpose>EM</purpose></item0></permission></data>`)
		want(t, x, 200, `<permission><item><purpose>EM</purpose></item></permission>`)
	})
}

// TestApplyPayerChoices drives the function the order and customer
// registrations call, in a transaction of their own, and reads the result
// through the API.
func TestApplyPayerChoices(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		acme := e.companyID("ACME")
		cno := e.register(e.client, "Payer")
		u := e.minted(1, cno)
		apply := func(c choice.Payer, prefix string) error {
			return e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
				return privacy.ApplyPayerChoices(ctx, tx, acme, cno, c, prefix, acmeWeb, "order", e.clock.Now())
			})
		}
		var c choice.Payer
		if err := json.Unmarshal([]byte(`{
			"permissions":[
				{"enterpriseCode":"ACME","channelCode":"TM","permissionType":"shield"},
				{"channels":["DM",{"type":"PERMISSION","value":"EM"}],"permissionType":"SHIELD"},
				{"enterpriseCode":"ACME","orderTypeCode":"NEWS","channels":[{"value":"SM","type":"permission"}]}],
			"privacy":[{"enterpriseCode":"ACMEMKT","purpose":"dm"},{"purpose":"EM"},{"enterpriseCode":"ACME","orderType":"PAPER","purpose":"PROFILE"}]}`), &c); err != nil {
			t.Fatal(err)
		}
		if err := privacy.CheckPayerChoices(ctx, e.App.DB, acme, c, "payer"); err != nil {
			t.Fatal(err)
		}
		if err := apply(c, "payer"); err != nil {
			t.Fatal(err)
		}
		// Entries without enterpriseCode are for the company's own enterprise.
		want(t, e.call("GET", "/capi/v1/customer/pbm/ACME", u.token, ""), 200,
			`{"channels":[{"type":"SHIELD","value":"DM"},{"type":"PERMISSION","value":"EM"},{"type":"SHIELD","value":"TM"}]}`)
		want(t, e.call("GET", "/capi/v1/customer/pbm/ACME/NEWS", u.token, ""), 200, `{"channels":[{"type":"PERMISSION","value":"SM"}]}`)
		want(t, e.call("GET", "/capi/v1/customer/privacy/ACMEMKT", u.token, ""), 200, `{"permission":[{"purpose":"DM"}]}`)
		want(t, e.call("GET", "/capi/v1/customer/privacy/ACME/PAPER", u.token, ""), 200, `{"permission":[{"purpose":"PROFILE"}]}`)
		// Privacy entries add: existing purposes stay.
		if err := apply(choice.Payer{Privacy: []choice.Privacy{{Purpose: "SM"}}}, "payer"); err != nil {
			t.Fatal(err)
		}
		want(t, e.call("GET", "/capi/v1/customer/privacy/ACME", u.token, ""), 200, `{"permission":[{"purpose":"EM"},{"purpose":"SM"}]}`)
		if n := e.count(`SELECT COUNT(*) FROM privacy_channel_log WHERE source = 'order' AND client_id = $1`, acmeWeb); n != 4 {
			t.Errorf("logged payer changes: %d", n)
		}

		// Invalid choices are 400 naming the field under the prefix, and change nothing.
		before := e.count(`SELECT COUNT(*) FROM privacy_channel_settings`)
		for _, c := range []struct{ json, field string }{
			{`{"permissions":[{"channelCode":"TM"}]}`, "payer.permissions[0].permissionType: is required"},
			{`{"permissions":[{"channelCode":"TM","permissionType":"OFTEN"}]}`, "payer.permissions[0].permissionType"},
			{`{"permissions":[{"permissionType":"SHIELD"}]}`, "payer.permissions[0].channelCode"},
			{`{"permissions":[{"channelCode":"FAX","permissionType":"SHIELD"}]}`, "payer.permissions[0].channels[0]: unknown channel"},
			{`{"permissions":[{"enterpriseCode":"RIVAL","channelCode":"TM","permissionType":"SHIELD"}]}`, "payer.permissions[0].enterpriseCode"},
			{`{"permissions":[{"orderTypeCode":"LETTER","channelCode":"TM","permissionType":"SHIELD"}]}`, "payer.permissions[0].orderTypeCode"},
			{`{"permissions":[{"channels":["TM","tm"],"permissionType":"SHIELD"}]}`, "payer.permissions[0].channels[1]"},
			{`{"permissions":[{"enterpriseCode":"TOO-LONG-CODE-X","channelCode":"TM","permissionType":"SHIELD"}]}`, "payer.permissions[0].enterpriseCode"},
			{`{"privacy":[{"purpose":"NOPE"}]}`, "payer.privacy[0].purpose: unknown purpose"},
			{`{"privacy":[{}]}`, "payer.privacy[0].purpose: is required"},
			{`{"privacy":[{"purpose":"DM","orderTypeCode":"NOPE"}]}`, "payer.privacy[0].orderTypeCode"},
		} {
			var p choice.Payer
			if err := json.Unmarshal([]byte(c.json), &p); err != nil {
				t.Fatal(err)
			}
			for _, err := range []error{privacy.CheckPayerChoices(ctx, e.App.DB, acme, p, "payer"), apply(p, "payer")} {
				var fe *errs.Error
				if !errors.As(err, &fe) || fe.Kind != errs.Invalid || !strings.Contains(fe.PublicMessage(), c.field) {
					t.Errorf("%s: %v, want 400 naming %s", c.json, err, c.field)
				}
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM privacy_channel_settings`); n != before {
			t.Errorf("invalid choices changed settings: %d → %d", before, n)
		}
		// Another company's customer is not found.
		err := e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			return privacy.ApplyPayerChoices(ctx, tx, e.companyID("RIVAL"), 99999999, choice.Payer{Privacy: []choice.Privacy{{Purpose: "DM"}}}, "payer", "rival.web", "order", t0)
		})
		if !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown customer: %v", err)
		}
	})
}

const acmeWeb = "acme.web"

// TestPayerChoicesFromRaw reads permissions[]/privacy[] kept as raw JSON, in
// the JSON form and in the forms an XML body gives them.
func TestPayerChoicesFromRaw(t *testing.T) {
	for _, c := range []struct{ perms, privs, want string }{
		{`[{"enterpriseCode":"ACME","channelCode":"TM","permissionType":"SHIELD"}]`, `[{"purpose":"DM"}]`, "1/1"},
		// XML: <permissions><item0>…</item0><item1>…</item1></permissions>.
		{`{"item0":{"channelCode":"TM","permissionType":"SHIELD"},"item1":{"channelCode":"DM","permissionType":"PERMISSION"}}`, `{"item0":{"purpose":"DM"}}`, "2/1"},
		// XML: repeated <permission> elements.
		{`{"permission":[{"channelCode":"TM","permissionType":"SHIELD"},{"channelCode":"EM","permissionType":"NONE"}]}`, ``, "2/0"},
		// One entry without a wrapper, channels as one element's text.
		{`{"channels":"TM","permissionType":"SHIELD"}`, `null`, "1/0"},
	} {
		p, err := choice.FromRaw(json.RawMessage(c.perms), json.RawMessage(c.privs), "payer")
		if err != nil {
			t.Errorf("%s: %v", c.perms, err)
			continue
		}
		if got := fmt.Sprintf("%d/%d", len(p.Permissions), len(p.Privacy)); got != c.want {
			t.Errorf("%s: %s entries, want %s", c.perms, got, c.want)
		}
	}
	// Through the request decoder, as an order's XML payer arrives: raw fields
	// (customer.Input today) and typed ones read the same entries.
	body := `<data><payer><permissions><item0><enterpriseCode>ACME</enterpriseCode><channels><item0>TM</item0><item1>DM</item1></channels>` +
		`<permissionType>SHIELD</permissionType></item0><item1><orderTypeCode>NEWS</orderTypeCode><channelCode>EM</channelCode>` +
		`<permissionType>PERMISSION</permissionType></item1></permissions><privacy><item0><purpose>DM</purpose></item0></privacy></payer></data>`
	var raw struct {
		Payer struct {
			Permissions json.RawMessage `json:"permissions"`
			Privacy     json.RawMessage `json:"privacy"`
		} `json:"payer"`
	}
	var typed struct {
		Payer choice.Payer `json:"payer"`
	}
	if err := httpx.DecodeBytes("application/xml", []byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	if err := httpx.DecodeBytes("application/xml", []byte(body), &typed); err != nil {
		t.Fatal(err)
	}
	fromRaw, err := choice.FromRaw(raw.Payer.Permissions, raw.Payer.Privacy, "payer")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []choice.Payer{fromRaw, typed.Payer} {
		if err := p.Validate("payer"); err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%d %v %s/%s %d", len(p.Permissions), p.Permissions[0].Channels, p.Permissions[1].OrderTypeOf(), p.Permissions[1].ChannelCode, len(p.Privacy))
		if got != "2 [{TM } {DM }] NEWS/EM 1" {
			t.Errorf("decoded %s", got)
		}
	}
	_, err = choice.FromRaw(json.RawMessage(`{"item0":{"channelCode":"TM"}}`), nil, "payer")
	if e, ok := err.(*errs.Error); !ok || e.Field != "payer.permissions[0].permissionType" {
		t.Errorf("FromRaw error = %v", err)
	}
	_, err = choice.FromRaw(json.RawMessage(`[{"channels":[12]}]`), nil, "receiver")
	if e, ok := err.(*errs.Error); !ok || !strings.HasPrefix(e.Field, "receiver.permissions[0].channels") {
		t.Errorf("FromRaw error = %#v", err)
	}
	_, err = choice.FromRaw(json.RawMessage(`"TM"`), nil, "")
	if e, ok := err.(*errs.Error); !ok || e.Field != "permissions" {
		t.Errorf("FromRaw error = %#v", err)
	}
}
