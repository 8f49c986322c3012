package privacy_test

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/privacy"
)

func TestConsentDefinitionsAndTexts(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		// Consents by group, then selectionOrder; the inactive child only with onlyActive=false.
		r := e.call("GET", "/capi/v1/client/customer/privacy/consents/468979834", e.client, "")
		list := decode[privacy.ConsentList](t, r)
		var ids []int64
		for _, c := range list.Consents {
			ids = append(ids, c.ConsentID)
			if c.ConsentGiven != nil {
				t.Errorf("client mode must not carry consentGiven: %s", r.Body)
			}
		}
		if fmt.Sprint(ids) != "[1 2 4]" || list.Issuer != "468979834" {
			t.Fatalf("consents %v: %s", ids, r.Body)
		}
		want(t, r, 200, `"consentId":2,"consentGroupId":1,"target":"editorial","scope":"sport","parentConsentId":1,"selectionOrder":2,"displayMode":"A"`,
			`"texts":[{"languageCode":"en_GB","name":"News by e-mail","description":""},{"languageCode":"nb_NO","name":"Nyheter på e-post"`)
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consents/468979834?onlyActive=false", e.client, ""), 200, `"consentId":3`)
		r = e.call("GET", "/capi/v1/client/customer/privacy/consents/468979834?consentGroupId=1", e.client, "")
		if l := decode[privacy.ConsentList](t, r); len(l.Consents) != 2 {
			t.Errorf("group 1 consents: %s", r.Body)
		}
		// Groups: inactive ones only on request; user mode sees the same.
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consent/group/468979834", e.client, ""), 200,
			`{"issuer":"468979834","consentGroups":[{"consentGroupId":1,"selectionOrder":1,"active":true,"texts":[{"languageCode":"en_GB","name":"Newsletters","description":""},{"languageCode":"nb_NO","name":"Nyhetsbrev","description":"Nyhetsbrev fra Acme"}]}]}`)
		u := e.minted(1, 0)
		want(t, e.call("GET", "/capi/v1/customer/privacy/consent/group/468979834?onlyActive=false", u.token, ""), 200, `"consentGroupId":2,"selectionOrder":2,"active":false`)

		// Text history: every version, oldest first; only the current one has no toDate.
		june := time.Date(2019, 6, 1, 0, 0, 0, 0, oslo).UnixMilli()
		july := time.Date(2019, 7, 8, 0, 0, 0, 0, oslo).UnixMilli()
		r = e.call("GET", "/capi/v1/client/customer/privacy/consent/text/history/468979834?consentId=1", e.client, "")
		want(t, r, 200, fmt.Sprintf(`"textHistory":[{"consentTextHistoryId":1,"text":"Vil du få nyhetsbrev på e-post?","fromDate":%d,"toDate":%d},{"consentTextHistoryId":2,"text":"Vil du få nyhetsbrev fra redaksjonen på e-post?","fromDate":%d}]`, june, july, july))
		if strings.Contains(string(r.Body), `"consentId":2`) {
			t.Errorf("consentId filter ignored: %s", r.Body)
		}
		// target or scope alone filters on that field alone.
		r = e.call("GET", "/capi/v1/client/customer/privacy/consent/text/history/468979834?scope=sport", e.client, "")
		if l := decode[privacy.TextList](t, r); len(l.Consents) != 1 || l.Consents[0].ConsentID != 2 {
			t.Errorf("scope filter: %s", r.Body)
		}
		r = e.call("GET", "/capi/v1/client/customer/privacy/consent/text/history/468979834?target=editorial&onlyActive=false", e.client, "")
		if l := decode[privacy.TextList](t, r); len(l.Consents) != 3 {
			t.Errorf("target filter: %s", r.Body)
		}
		// Current texts: the version in force now; a consent without one has texts [].
		r = e.call("GET", "/capi/v1/client/customer/privacy/consent/text/468979834?languageCode=nb_NO", e.client, "")
		want(t, r, 200, fmt.Sprintf(`{"consentId":1,"consentGroupId":1,"target":"editorial","scope":"email","texts":[{"consentTextId":1,"languageCode":"nb_NO","consentTextHistoryId":2,"text":"Vil du få nyhetsbrev fra redaksjonen på e-post?","fromDate":%d}]}`, july),
			`{"consentId":4,"target":"marketing","scope":"sms","texts":[]}`)
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consent/text/468979834?languageCode=en_GB&consentId=1", e.client, ""), 200,
			`"languageCode":"en_GB","consentTextHistoryId":3,"text":"Do you want our newsletter by e-mail?"`)

		// Bad queries are 400; unknown and other companies' issuers 404.
		for _, c := range []struct{ path, field string }{
			{"/capi/v1/client/customer/privacy/consents/468979834?onlyActive=maybe", "onlyActive"},
			{"/capi/v1/client/customer/privacy/consents/468979834?consentGroupId=x", "consentGroupId"},
			{"/capi/v1/client/customer/privacy/consent/text/468979834?languageCode=NO", "languageCode"},
			{"/capi/v1/client/customer/privacy/consent/text/history/468979834?consentId=-1", "consentId"},
			{"/capi/v1/client/customer/privacy/consent/text/history/468979834?target=" + strings.Repeat("x", 256), "target"},
			{"/capi/v1/client/customer/privacy/consent/group/468979834?onlyActive=2", "onlyActive"},
		} {
			want(t, e.call("GET", c.path, e.client, ""), 400, "ValidationException", c.field)
		}
		for _, path := range []string{
			"/capi/v1/client/customer/privacy/consents/556677889", // RIVAL's issuer
			"/capi/v1/client/customer/privacy/consents/nope",
			"/capi/v1/client/customer/privacy/consent/group/556677889",
			"/capi/v1/client/customer/privacy/consent/text/556677889",
			"/capi/v1/client/customer/privacy/consent/text/history/556677889",
		} {
			want(t, e.call("GET", path, e.client, ""), 404, "NotFoundException")
		}
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consents/468979834", e.rival, ""), 404, "NotFoundException")
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consents/556677889", e.rival, ""), 200, `"consentId":10`)
		// Wrong mode.
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consents/468979834", u.token, ""), 403, "insufficient_scope")
		want(t, e.call("GET", "/capi/v1/customer/privacy/consents/468979834", e.client, ""), 403, "insufficient_scope")

		// XML: list items are named by the singular of their list.
		x := e.xml("GET", "/capi/v1/client/customer/privacy/consent/text/history/468979834?consentId=1", e.client, "")
		want(t, x, 200, "<consents><consent><consentId>1</consentId>", "<textHistory><item><consentTextHistoryId>1</consentTextHistoryId>")
		var doc struct {
			Issuer   string `xml:"issuer"`
			Consents []struct {
				ID    int64 `xml:"consentId"`
				Texts []struct {
					Lang string `xml:"languageCode"`
				} `xml:"texts>text"`
			} `xml:"consents>consent"`
		}
		if err := xml.Unmarshal(x.Body, &doc); err != nil || doc.Issuer != "468979834" || len(doc.Consents) != 1 || len(doc.Consents[0].Texts) != 2 {
			t.Errorf("XML text history = %+v, %v: %s", doc, err, x.Body)
		}
	})
}

// givenState is the user-mode consent list reduced to consentId → consentGiven.
func givenState(t *testing.T, e *env, token string) map[int64]*bool {
	t.Helper()
	r := e.call("GET", "/capi/v1/customer/privacy/consents/468979834", token, "")
	want(t, r, 200)
	out := map[int64]*bool{}
	for _, c := range decode[privacy.ConsentList](t, r).Consents {
		out[c.ConsentID] = c.ConsentGiven
	}
	return out
}

func TestConsentEventsClientMode(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		cno := e.register(e.client, "Hansen")
		// Numbers are per company: RIVAL's second customer is no ACME customer.
		e.register(e.rival, "Rival")
		rivalCustomer := e.register(e.rival, "Rival")
		data := base64.StdEncoding.EncodeToString([]byte(`<form>yes</form>`))
		// Giving the parent records the active child (2) too, not the inactive one (3).
		r := e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client,
			fmt.Sprintf(`{"consentId":1,"subject":%d,"subjectType":"connect","action":true,"source":"Selfservice","data":%q}`, cno, data))
		want(t, r, 200, fmt.Sprintf(`"consentId":1,"subject":"%d","subjectType":"CONNECT"`, cno), `"source":"Selfservice","action":true,"consentTextHistoryId":2`)
		reg := decode[privacy.Registered](t, r)
		if len(reg.ChildEvents) != 1 || reg.ChildEvents[0].ConsentID != 2 || !reg.ChildEvents[0].Action || reg.Created != t0.UnixMilli() || reg.EventTime != t0.UnixMilli() {
			t.Fatalf("registered %+v", reg)
		}
		// By target and scope: ambiguous across issuers without issuer.
		body := func(extra string) string {
			return fmt.Sprintf(`{"consentTarget":"editorial","consentScope":"email","subject":"%d","subjectType":"CONNECT","action":false%s}`, cno, extra)
		}
		want(t, e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client, body("")), 400, "issuer: is required")
		e.clock.Advance(time.Minute)
		r = e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client, body(`,"issuer":"468979834"`))
		want(t, r, 200, `"consentId":1`, `"action":false`)
		withdrawn := decode[privacy.Registered](t, r)
		// target/scope synonyms, and repeating the current state adds an event (evidence).
		e.clock.Advance(time.Minute)
		want(t, e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client,
			fmt.Sprintf(`{"target":"editorial","scope":"sport","issuer":"468979834","subject":"%d","subjectType":"CONNECT","action":false}`, cno)), 200, `"consentId":2`)
		// Withdrawing an inactive consent is allowed, giving it is not.
		want(t, e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client,
			fmt.Sprintf(`{"consentId":3,"subject":"%d","subjectType":"CONNECT","action":false}`, cno)), 200, `"consentId":3`)

		// History: the group's events per consent, oldest first; onlyActive=false adds consent 3.
		hist := fmt.Sprintf("/capi/v1/client/customer/privacy/consentEvent/history/468979834/CONNECT/%d", cno)
		r = e.call("GET", hist, e.client, "")
		h := decode[privacy.History](t, r)
		if len(h.Consents) != 2 || h.Consents[0].ConsentID != 1 || len(h.Consents[0].Events) != 2 || len(h.Consents[1].Events) != 3 {
			t.Fatalf("history: %s", r.Body)
		}
		if ev := h.Consents[0].Events; !ev[0].Action || ev[1].Action || ev[1].ConsentEventID != withdrawn.ConsentEventID {
			t.Errorf("events out of order: %s", r.Body)
		}
		want(t, e.call("GET", hist+"?onlyActive=false", e.client, ""), 200, `"consentId":3`)
		want(t, e.call("GET", fmt.Sprintf("/capi/v1/client/customer/privacy/consentEvent/history/ACME-ADS/connect/%d", cno), e.client, ""), 200,
			fmt.Sprintf(`{"issuer":"ACME-ADS","subject":"%d","subjectType":"CONNECT","consents":[]}`, cno))

		// An ORDER subject belongs to its payer's group.
		r = e.call("POST", "/capi/v1/client/order", e.client, fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"customerNumber":%d},
			"orderLines":[{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1}]}`, cno))
		want(t, r, 200, "orderId")
		var o struct{ OrderID int64 }
		r.JSON(t, &o)
		e.clock.Advance(time.Minute)
		want(t, e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client,
			fmt.Sprintf(`{"consentId":4,"subject":"%d","subjectType":"ORDER","action":true}`, o.OrderID)), 200, `"subjectType":"ORDER"`)
		want(t, e.call("GET", hist, e.client, ""), 200, fmt.Sprintf(`"consentId":4,"target":"marketing","scope":"sms","events":[{"consentEventId":`),
			fmt.Sprintf(`"action":true,"consentTextHistoryId":`), fmt.Sprintf(`"subject":"%d","subjectType":"ORDER"}]`, o.OrderID))
		want(t, e.call("GET", fmt.Sprintf("/capi/v1/client/customer/privacy/consentEvent/history/468979834/ORDER/%d", o.OrderID), e.client, ""), 200,
			fmt.Sprintf(`"subject":"%d","subjectType":"CONNECT"}`, cno))
		// EXTERNAL subjects are not checked and form a group of their own.
		want(t, e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client,
			`{"consentId":4,"subject":"crm-42","subjectType":"EXTERNAL","action":true}`), 200, `"subject":"crm-42"`)
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consentEvent/history/468979834/EXTERNAL/crm-42", e.client, ""), 200, `"consentId":4`)

		// Validation: each is 400 naming the field, and writes nothing.
		before := e.count(`SELECT COUNT(*) FROM consent_events`)
		future := t0.Add(time.Hour).UnixMilli()
		for _, c := range []struct{ body, field string }{
			{fmt.Sprintf(`{"subject":"%d","subjectType":"CONNECT","action":true}`, cno), "consentId"},
			{fmt.Sprintf(`{"consentId":99,"subject":"%d","subjectType":"CONNECT","action":true}`, cno), "consentId: unknown consent"},
			{fmt.Sprintf(`{"consentId":10,"subject":"%d","subjectType":"CONNECT","action":true}`, cno), "consentId: unknown consent"}, // RIVAL's
			{fmt.Sprintf(`{"consentId":1,"consentScope":"sport","subject":"%d","subjectType":"CONNECT","action":true}`, cno), "consentScope"},
			{fmt.Sprintf(`{"consentId":1,"issuer":"ACME-ADS","subject":"%d","subjectType":"CONNECT","action":true}`, cno), "issuer"},
			{fmt.Sprintf(`{"consentTarget":"editorial","subject":"%d","subjectType":"CONNECT","action":true}`, cno), "consentScope"},
			{fmt.Sprintf(`{"consentTarget":"nope","consentScope":"x","subject":"%d","subjectType":"CONNECT","action":true}`, cno), "consentTarget"},
			{fmt.Sprintf(`{"consentId":1,"issuer":"556677889","subject":"%d","subjectType":"CONNECT","action":true}`, cno), "issuer: unknown"},
			{fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"CONNECT"}`, cno), "action"},
			{fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"CONNECT","action":"maybe"}`, cno), "action"},
			{fmt.Sprintf(`{"consentId":1,"subject":"%d","action":true}`, cno), "subjectType"},
			{fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"EMAIL","action":true}`, cno), "subjectType"},
			{`{"consentId":1,"subjectType":"CONNECT","action":true}`, "subject"},
			{`{"consentId":1,"subject":"abc","subjectType":"CONNECT","action":true}`, "subject"},
			{fmt.Sprintf(`{"consentId":3,"subject":"%d","subjectType":"CONNECT","action":true}`, cno), "not active"},
			{fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"CONNECT","action":true,"eventTime":%d}`, cno, future), "eventTime"},
			{fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"CONNECT","action":true,"eventTime":"2019-01-01"}`, cno), "eventTime: must not be before"},
			{fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"CONNECT","action":true,"eventTime":"soon"}`, cno), "eventTime"},
			{fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"CONNECT","action":true,"data":"%%%%"}`, cno), "data: must be base64"},
			{fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"CONNECT","action":true,"data":%q}`, cno,
				base64.StdEncoding.EncodeToString(make([]byte, 4097))), "data: must be at most 4096"},
			{fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"CONNECT","action":true,"source":%q}`, cno, strings.Repeat("s", 41)), "source"},
			{fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"CONNECT","action":true,"consentTextHistoryId":4}`, cno), "consentTextHistoryId"},
			{fmt.Sprintf(`{"consentId":1,"consentTarget":%q,"subject":"%d","subjectType":"CONNECT","action":true}`, strings.Repeat("t", 256), cno), "consentTarget"},
			{`{"consentId":1,"subject":"` + strings.Repeat("9", 256) + `","subjectType":"EXTERNAL","action":true}`, "subject"},
			{`[1,2]`, "ValidationException"},
		} {
			want(t, e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client, c.body), 400, "ValidationException", c.field)
		}
		// A subject that fails its check is 404: another company's customer, an unknown order or user.
		for _, body := range []string{
			fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"CONNECT","action":true}`, rivalCustomer),
			`{"consentId":1,"subject":"99999999","subjectType":"ORDER","action":true}`,
			`{"consentId":1,"subject":"0123456789abcdef0123456789abcdef","subjectType":"CONNECTID","action":true}`,
		} {
			want(t, e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client, body), 404, "NotFoundException")
		}
		want(t, e.call("GET", fmt.Sprintf("/capi/v1/client/customer/privacy/consentEvent/history/468979834/CONNECT/%d", rivalCustomer), e.client, ""), 404, "NotFoundException")
		want(t, e.call("GET", fmt.Sprintf("/capi/v1/client/customer/privacy/consentEvent/history/468979834/CONNECT/%d", cno), e.rival, ""), 404, "NotFoundException")
		want(t, e.call("GET", fmt.Sprintf("/capi/v1/client/customer/privacy/consentEvent/history/468979834/PERSON/%d", cno), e.client, ""), 400, "subjectType")
		if n := e.count(`SELECT COUNT(*) FROM consent_events`); n != before {
			t.Errorf("rejected events were stored: %d, want %d", n, before)
		}

		// A given text version is recorded; eventTime may be given (bare date = midnight in Oslo).
		r = e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client,
			fmt.Sprintf(`{"consentId":1,"subject":"%d","subjectType":"CONNECT","action":true,"consentTextHistoryId":1,"eventTime":"2019-06-20"}`, cno))
		want(t, r, 200, `"consentTextHistoryId":1`, fmt.Sprintf(`"eventTime":%d`, time.Date(2019, 6, 20, 0, 0, 0, 0, oslo).UnixMilli()))
		// It is older than the withdrawal, so the state stays withdrawn (latest eventTime wins).
		want(t, e.call("GET", hist, e.client, ""), 200)

		// Events (README §11): one per stored event, children included.
		if n := e.count(`SELECT COUNT(*) FROM event_outbox WHERE type = 'consent'`); n != e.count(`SELECT COUNT(*) FROM consent_events`) {
			t.Errorf("consent events in the outbox: %d", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM event_outbox WHERE type = 'consent' AND status = 'withdrawn' AND data LIKE '%"subjectType":"CONNECT"%'`); n != 4 {
			t.Errorf("withdrawn events: %d", n)
		}

		// XML in and out.
		x := e.xml("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client,
			fmt.Sprintf(`<data><consentId>2</consentId><subject>%d</subject><subjectType>CONNECT</subjectType><action>true</action></data>`, cno))
		want(t, x, 200, "<response>", "<consentId>2</consentId>", "<action>true</action>", "<childEvents></childEvents>")
	})
}

func TestConsentEventsUserMode(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		alice := e.login("alice@example.com", "alice-password")
		// Never asked: consentGiven absent.
		if st := givenState(t, e, alice.token); st[1] != nil || len(st) != 3 {
			t.Fatalf("state before: %v", st)
		}
		// The body's subject is ignored: recorded under CONNECTID and the user's uniqueId.
		r := e.call("POST", "/capi/v1/customer/privacy/consentEvent", alice.token,
			`{"consentId":1,"subject":"999","subjectType":"CONNECT","action":true}`)
		want(t, r, 200, fmt.Sprintf(`"subject":%q,"subjectType":"CONNECTID"`, alice.uniqueID), `"source":"acme.web"`, `"childEvents":[{"consentEventId":`)
		st := givenState(t, e, alice.token)
		if st[1] == nil || !*st[1] || st[2] == nil || !*st[2] || st[4] != nil {
			t.Fatalf("state after giving 1: %v", st)
		}
		// The client sees the same group through the customer number and the uniqueId.
		hist := fmt.Sprintf("/capi/v1/client/customer/privacy/consentEvent/history/468979834/CONNECT/%d", alice.customer)
		want(t, e.call("GET", hist, e.client, ""), 200, fmt.Sprintf(`"subject":%q,"subjectType":"CONNECTID"`, alice.uniqueID))
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consentEvent/history/468979834/CONNECTID/"+strings.ToUpper(alice.uniqueID), e.client, ""), 200,
			fmt.Sprintf(`"subject":%q,"subjectType":"CONNECTID","consents":[{"consentId":1`, alice.uniqueID))
		// An event the client records under the customer number is part of the user's state.
		e.clock.Advance(time.Minute)
		want(t, e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client,
			fmt.Sprintf(`{"consentId":2,"subject":"%d","subjectType":"CONNECT","action":false}`, alice.customer)), 200)
		if st := givenState(t, e, alice.token); st[2] == nil || *st[2] {
			t.Errorf("state of 2 after the client's withdrawal: %v", st[2])
		}
		r = e.call("GET", "/capi/v1/customer/privacy/consentEvent/history/468979834", alice.token, "")
		want(t, r, 200, fmt.Sprintf(`{"issuer":"468979834","subject":%q,"subjectType":"CONNECTID","consents":[`, alice.uniqueID),
			fmt.Sprintf(`"subject":"%d","subjectType":"CONNECT"`, alice.customer))

		// Bob has not used ACME: unknown as a CONNECTID subject; his own lists show nothing of Alice's.
		var bobID string
		if err := e.App.DB.QueryRowContext(context.Background(), `SELECT unique_id FROM users u JOIN user_credentials c ON c.user_id = u.id
			WHERE c.credential = 'bob@example.com'`).Scan(&bobID); err != nil {
			t.Fatal(err)
		}
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consentEvent/history/468979834/CONNECTID/"+bobID, e.client, ""), 404, "NotFoundException")
		bob := e.login("bob@example.com", "bob-password")
		want(t, e.call("GET", "/capi/v1/customer/privacy/consentEvent/history/468979834", bob.token, ""), 200, `"consents":[]`)
		if st := givenState(t, e, bob.token); st[1] != nil {
			t.Errorf("bob sees alice's state: %v", st)
		}
		// A user without a customer still records consents (CONNECTID).
		anon := e.minted(7, 0)
		want(t, e.call("POST", "/capi/v1/customer/privacy/consentEvent", anon.token, `{"consentId":4,"action":true}`), 200, `"subjectType":"CONNECTID"`)
		if st := givenState(t, e, anon.token); st[4] == nil || !*st[4] {
			t.Errorf("user without customer: %v", st)
		}
		// Validation and foreign issuers.
		want(t, e.call("POST", "/capi/v1/customer/privacy/consentEvent", alice.token, `{"consentId":1}`), 400, "action")
		want(t, e.call("POST", "/capi/v1/customer/privacy/consentEvent", alice.token, `{"consentId":10,"action":true}`), 400, "consentId")
		want(t, e.call("GET", "/capi/v1/customer/privacy/consentEvent/history/556677889", alice.token, ""), 404, "NotFoundException")
		want(t, e.call("GET", "/capi/v1/customer/privacy/consents/556677889", alice.token, ""), 404, "NotFoundException")
		want(t, e.call("GET", "/capi/v1/customer/privacy/consents/468979834?consentGroupId=abc", alice.token, ""), 400, "consentGroupId")
		// XML.
		x := e.xml("GET", "/capi/v1/customer/privacy/consents/468979834", alice.token, "")
		want(t, x, 200, "<consents><consent><consentId>1</consentId>", "<consentGiven>true</consentGiven>")
	})
}

// TestConsentHistoryIsAppendOnly: the database itself refuses to change or
// delete consent events that erasure has not restricted.
func TestConsentHistoryIsAppendOnly(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		cno := e.register(e.client, "Evidence")
		for i, action := range []bool{true, true, false} {
			e.clock.Advance(time.Minute)
			want(t, e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client,
				fmt.Sprintf(`{"consentId":4,"subject":"%d","subjectType":"CONNECT","action":%t}`, cno, action)), 200, fmt.Sprintf(`"action":%t`, action))
			if n := e.count(`SELECT COUNT(*) FROM consent_events WHERE subject = $1`, fmt.Sprint(cno)); n != i+1 {
				t.Fatalf("after %d registrations: %d events (repeating a state must add one)", i+1, n)
			}
		}
		ctx := context.Background()
		if _, err := e.App.DB.ExecContext(ctx, `UPDATE consent_events SET action = TRUE WHERE subject = $1`, fmt.Sprint(cno)); err == nil {
			t.Error("an UPDATE of consent events succeeded")
		}
		if _, err := e.App.DB.ExecContext(ctx, `DELETE FROM consent_events WHERE subject = $1`, fmt.Sprint(cno)); err == nil {
			t.Error("a DELETE of unrestricted consent events succeeded")
		}
		if n := e.count(`SELECT COUNT(*) FROM consent_events WHERE subject = $1 AND action = FALSE`, fmt.Sprint(cno)); n != 1 {
			t.Errorf("history changed: %d withdrawals", n)
		}
		want(t, e.call("GET", fmt.Sprintf("/capi/v1/client/customer/privacy/consentEvent/history/468979834/CONNECT/%d", cno), e.client, ""), 200,
			`"action":true},{"consentEventId":`, `"action":false}]`)
	})
}

// TestXMLResponses: every read of the area answers XML by negotiation, with
// the root named by the list or <response>.
func TestXMLResponses(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		cno := e.register(e.client, "Xml")
		u := e.minted(1, cno)
		want(t, e.call("POST", "/capi/v1/customer/privacy/consentEvent", u.token, `{"consentId":1,"action":true}`), 200)
		want(t, e.call("POST", "/capi/v1/client/customer/privacy/consentEvent", e.client, fmt.Sprintf(`{"consentId":4,"subject":"%d","subjectType":"CONNECT","action":true}`, cno)), 200)
		for _, c := range []struct{ method, path, token, body, contains string }{
			{"GET", "/capi/v1/client/customer/privacy/consent/group/468979834", e.client, "", "<consentGroups><consentGroup><consentGroupId>1</consentGroupId>"},
			{"GET", "/capi/v1/customer/privacy/consent/group/468979834", u.token, "", "<consentGroup><consentGroupId>1</consentGroupId>"},
			{"GET", "/capi/v1/client/customer/privacy/consents/468979834", e.client, "", "<consent><consentId>4</consentId>"},
			{"GET", "/capi/v1/client/customer/privacy/consent/text/468979834", e.client, "", "<text><consentTextId>1</consentTextId>"},
			{"GET", "/capi/v1/customer/privacy/consentEvent/history/468979834", u.token, "", "<subjectType>CONNECTID</subjectType>"},
			{"GET", fmt.Sprintf("/capi/v1/client/customer/privacy/consentEvent/history/468979834/CONNECT/%d", cno), e.client, "", "<events><event><consentEventId>"},
			{"GET", "/capi/v1/customer/pbm", u.token, "", "<channels></channels>"},
			{"GET", "/capi/v1/customer/pbm/ACME", u.token, "", "<channels></channels>"},
			{"POST", "/capi/v1/customer/pbm/ACME/NEWS", u.token, "<data><channels><item0><type>SHIELD</type><value>TM</value></item0></channels></data>", "<channel><type>SHIELD</type><value>TM</value></channel>"},
			{"GET", "/capi/v1/customer/pbm/ACME/NEWS", u.token, "", "<channel><type>SHIELD</type><value>TM</value></channel>"},
			{"GET", "/capi/v1/customer/privacy/ACME", u.token, "", "<permission></permission>"},
			{"POST", "/capi/v1/customer/privacy/ACME", u.token, "<data><permission><item0><purpose>DM</purpose></item0></permission></data>", "<purpose>DM</purpose>"},
			{"GET", "/capi/v1/customer/privacy/ACME/NEWS", u.token, "", "<permission></permission>"},
			{"POST", "/capi/v1/client/customer/pbm/shield/enterprise", e.client, fmt.Sprintf("<data><customerNumber>%d</customerNumber><enterpriseCode>ACME</enterpriseCode></data>", cno), "<channel><value>TM</value><shielded>false</shielded></channel>"},
			{"DELETE", "/capi/v1/customer/private-data?dryRun=true", u.token, "", "<response><uniqueId>"},
			{"GET", "/capi/v1/customer/privacy/consents/nope", u.token, "", "<exceptionType>NotFoundException</exceptionType>"},
		} {
			r := e.xml(c.method, c.path, c.token, c.body)
			if !strings.HasPrefix(string(r.Body), `<?xml version="1.0" encoding="UTF-8"?>`) || !strings.Contains(string(r.Body), c.contains) {
				t.Errorf("%s %s: %d %s, want %s", c.method, c.path, r.Status, r.Body, c.contains)
			}
		}
	})
}
