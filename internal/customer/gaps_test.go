package customer_test

// Gaps of docs/endpoint-tests (issue 5): product addresses, other users' and
// other companies' objects, external references read back, XML over HTTP.

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/oauth"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/testkit"
)

// addressesOf decodes an address list (or the bare array of address-change).
func addressesOf(t *testing.T, r *testkit.Response) []map[string]any {
	t.Helper()
	var list []map[string]any
	if strings.HasPrefix(strings.TrimSpace(string(r.Body)), "[") {
		r.JSON(t, &list)
		return list
	}
	var out struct{ Addresses []map[string]any }
	r.JSON(t, &out)
	return out.Addresses
}

// summary is "type street" of each address, in order, for exact comparisons.
func summary(list []map[string]any) string {
	var s []string
	for _, a := range list {
		s = append(s, fmt.Sprintf("%v %v", a["addressType"], a["streetAddress"]))
	}
	return strings.Join(s, "; ")
}

// customerOfUser registers the user's customer in user mode and returns its number.
func customerOfUser(t *testing.T, e *testkit.Env, user, body string) int64 {
	t.Helper()
	want(t, call(e, "POST", "/capi/v1/customer", user, body), 200, "customerNumber")
	r := call(e, "GET", "/capi/v1/customer/info", user, "")
	want(t, r, 200, "customerNumber")
	var c struct{ CustomerNumber int64 }
	r.JSON(t, &c)
	return c.CustomerNumber
}

// subscribe orders coupons for the payer and completes the order, which
// starts the subscriptions.
func subscribe(t *testing.T, e *testkit.Env, tok string, payer int64, lines string) {
	t.Helper()
	r := call(e, "POST", "/capi/v1/client/order", tok, fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"customerNumber":%d},"orderLines":[%s]}`, payer, lines))
	want(t, r, 200, "orderId")
	var o struct{ OrderID int64 }
	r.JSON(t, &o)
	want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, o.OrderID)), 200, `"fulfillmentStatus":"OK"`)
}

// rivalUserToken is a user-mode token of RIVAL's client, as its code flow
// would issue it (the fixture gives RIVAL no authorization-code client).
func rivalUserToken(t *testing.T, e *testkit.Env) string {
	t.Helper()
	key, err := e.App.OAuth.Keys.Current()
	if err != nil {
		t.Fatal(err)
	}
	co, err := tenant.GetCompanyByCode(context.Background(), e.App.DB, "RIVAL")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := oauth.MintUserToken(key, oauth.UserTokenClaims{Issuer: e.URL + "/user", CompanyID: co.ID, CompanyCode: co.Code,
		ClientID: testkit.RivalClientID, UniqueID: "cccccccccccccccccccccccccccccc01", UserNumber: 7001, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const (
	paperLine = `{"productSpecType":"coupon","productSpecCode":"PAPER","productSpecNo":1}`
	newsLine  = `{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1}`
	// A temporary change for PAPER only, far enough ahead to stay future.
	paperHoliday = `{"changeType":"create","product":"PAPER","streetAddress":"Hytteveien","postalCode":"3580","postalPlace":"Geilo",
		"countryCode":"NO","period":{"startDate":"2099-02-01","endDate":"2099-03-01"}}`
)

// A subscriber gets the product's addresses: home, permanent changes and the
// temporary changes naming the product; in client mode too, and only for
// the caller's company.
func TestProductAddressesOfASubscriber(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		padACME(t, e, tok, rival)
		user := e.MintUserToken("dddddddddddddddddddddddddddddd01", 9101, 0)
		n := customerOfUser(t, e, user, ola)
		want(t, call(e, "POST", "/capi/v1/client/customer/check", rival, fmt.Sprintf(`{"customerNumber":%d}`, n)), 200, `"exists":false`)

		want(t, call(e, "GET", "/capi/v1/customer/address/PAPER", user, ""), 404, "no subscription on PAPER")
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/address/%d/PAPER", n), tok, ""), 404, "no subscription on PAPER")
		subscribe(t, e, tok, n, newsLine+","+paperLine)

		want(t, call(e, "POST", "/capi/v1/customer/address", user, paperHoliday), 200, `"addressType":"temporary"`)
		want(t, call(e, "POST", "/capi/v1/customer/address", user, `{"changeType":"createPermanent","streetAddress":"Nyveien",
			"postalCode":"5003","countryCode":"NO","period":{"startDate":"2099-06-01"}}`), 200, `"addressType":"permanent"`)

		for _, c := range []struct{ product, want string }{
			{"PAPER", "home Grubbegata; temporary Hytteveien; permanent Nyveien"},
			{"NEWS", "home Grubbegata; permanent Nyveien"}, // PAPER's holiday address is not NEWS's
		} {
			user := call(e, "GET", "/capi/v1/customer/address/"+c.product, user, "")
			want(t, user, 200, `"addresses"`)
			if got := summary(addressesOf(t, user)); got != c.want {
				t.Errorf("user mode %s: %s, want %s", c.product, got, c.want)
			}
			client := call(e, "GET", fmt.Sprintf("/capi/v1/client/address/%d/%s", n, c.product), tok, "")
			if client.Status != 200 || string(client.Body) != string(user.Body) {
				t.Errorf("client mode %s answers %d %s, user mode %s", c.product, client.Status, client.Body, user.Body)
			}
		}
		paper := addressesOf(t, call(e, "GET", "/capi/v1/customer/address/PAPER", user, ""))
		if h := paper[1]; h["product"] != "PAPER" || h["postalCode"] != "3580" ||
			fmt.Sprint(h["period"]) != "map[endDate:2099-03-01 startDate:2099-02-01]" {
			t.Errorf("temporary address %v", h)
		}
		// The full list has them all, historical ones included.
		if got := summary(addressesOf(t, call(e, "GET", "/capi/v1/customer/address", user, ""))); got != "home Grubbegata; temporary Hytteveien; permanent Nyveien" {
			t.Errorf("address list: %s", got)
		}

		// Another company's client, whatever product it names, sees nothing.
		for _, product := range []string{"PAPER", "NEWS", "RIVALNEWS"} {
			want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/address/%d/%s", n, product), rival, ""), 404, "NotFoundException")
		}
		// Another user (with a customer of their own, without subscriptions) gets
		// only their own 404; a user without a customer is told so.
		other := e.MintUserToken("dddddddddddddddddddddddddddddd02", 9102, 0)
		want(t, call(e, "GET", "/capi/v1/customer/address/PAPER", other, ""), 404, "no customer linked to user")
		customerOfUser(t, e, other, `{"lastName":"Other","postalCode":"0150","emails":["o@example.no"]}`)
		want(t, call(e, "GET", "/capi/v1/customer/address/PAPER", other, ""), 404, "no subscription on PAPER")

		// Bad path values.
		for _, c := range []struct {
			path   string
			status int
			msg    string
		}{
			{"/capi/v1/client/address/12x/PAPER", 400, "customerNumber"},
			{"/capi/v1/client/address/99999999/PAPER", 404, "NotFoundException"},
			{fmt.Sprintf("/capi/v1/client/address/%d/ABCDEFGHIJKLM", n), 400, "productCode"},
			{fmt.Sprintf("/capi/v1/client/address/%d/NOPE", n), 404, "no subscription on NOPE"},
		} {
			want(t, call(e, "GET", c.path, tok, ""), c.status, c.msg)
		}
		want(t, call(e, "GET", "/capi/v1/customer/address/ABCDEFGHIJKLM", user, ""), 400, "productCode")
	})
}

// A user sees and changes only their own customer's addresses: another
// user's address id is unknown (404) and stays as it was.
func TestAddressesOfAnotherUser(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		alice := e.MintUserToken("eeeeeeeeeeeeeeeeeeeeeeeeeeeeee01", 9201, 0)
		bob := e.MintUserToken("eeeeeeeeeeeeeeeeeeeeeeeeeeeeee02", 9202, 0)
		customerOfUser(t, e, alice, ola)
		r := call(e, "POST", "/capi/v1/customer/address", alice, `{"changeType":"createPermanent","streetAddress":"Alicevei",
			"postalCode":"5003","countryCode":"NO","period":{"startDate":"2099-01-01"}}`)
		want(t, r, 200, `"addressType":"permanent"`)
		var id any
		for _, a := range addressesOf(t, r) {
			if a["addressType"] == "permanent" {
				id = a["id"]
			}
		}
		if id == nil {
			t.Fatalf("no permanent address in %s", r.Body)
		}
		aliceBefore := call(e, "GET", "/capi/v1/customer/address", alice, "")
		want(t, aliceBefore, 200, "Alicevei")

		// Bob without a customer: an empty list, and changes need a customer.
		want(t, call(e, "GET", "/capi/v1/customer/address", bob, ""), 200, `{"addresses":[]}`)
		want(t, call(e, "POST", "/capi/v1/customer/address", bob, fmt.Sprintf(`{"changeType":"delete","id":%v}`, id)), 404, "no customer linked to user")
		// Bob with a customer: his own home only; Alice's change id is not his.
		customerOfUser(t, e, bob, `{"lastName":"Bobsen","streetAddress":"Bobgata","postalCode":"0150","countryCode":"NO","emails":["b@example.no"]}`)
		r = call(e, "GET", "/capi/v1/customer/address", bob, "")
		want(t, r, 200, `"addresses"`)
		if got := summary(addressesOf(t, r)); got != "home Bobgata" {
			t.Errorf("Bob's addresses: %s", got)
		}
		for _, body := range []string{
			fmt.Sprintf(`{"changeType":"delete","id":%v}`, id),
			fmt.Sprintf(`{"changeType":"update","id":%v,"period":{"startDate":"2099-05-01"}}`, id),
			fmt.Sprintf(`{"changeType":"create","id":%v,"product":"NEWS","period":{"startDate":"2099-02-01","endDate":"2099-03-01"}}`, id),
		} {
			want(t, call(e, "POST", "/capi/v1/customer/address", bob, body), 404, "NotFoundException")
		}
		if after := call(e, "GET", "/capi/v1/customer/address", alice, ""); string(after.Body) != string(aliceBefore.Body) {
			t.Errorf("another user's calls changed Alice's addresses:\n%s\n%s", aliceBefore.Body, after.Body)
		}
		if got := summary(addressesOf(t, call(e, "GET", "/capi/v1/customer/address", bob, ""))); got != "home Bobgata" {
			t.Errorf("Bob's addresses after the refused calls: %s", got)
		}
	})
}

func TestAddressListClientNumbers(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		n := register(t, e, tok, ola)
		r := call(e, "GET", fmt.Sprintf("/capi/v1/client/address/%d", n), tok, "")
		want(t, r, 200, `"addresses"`)
		if list := addressesOf(t, r); summary(list) != "home Grubbegata" || list[0]["postalCode"] != "0179" || list[0]["id"] != float64(1) {
			t.Errorf("addresses: %s", r.Body)
		}
		for _, c := range []struct {
			number string
			status int
			msg    string
		}{
			{"12x", 400, "customerNumber: must be an integer"},
			{"-1", 400, "customerNumber: must be an integer"},
			{"1234567890123456789", 400, "customerNumber: must be an integer"},
			{"99999999", 404, "NotFoundException"},
		} {
			want(t, call(e, "GET", "/capi/v1/client/address/"+c.number, tok, ""), c.status, c.msg)
		}
	})
}

// External references: another company can neither change nor list them, and
// a change is what the list then shows (and what search finds).
func TestExternalReferencesChangeAndListScope(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		n := registerACMEOnly(t, e, tok, rival, ola)
		m := register(t, e, tok, `{"lastName":"Holder","postalCode":"0150","emails":["h@example.no"]}`)
		base := fmt.Sprintf("/capi/v1/client/customer/%d/external-reference", n)
		want(t, call(e, "GET", base, tok, ""), 200, `{"externalReferences":[]}`)
		want(t, call(e, "POST", base, tok, `{"referenceCode":"CRM","externalId":"A-1"}`), 200, `"success":true`)
		want(t, call(e, "POST", base, tok, `{"referenceCode":"ERP","externalId":"E-1"}`), 200, `"success":true`)
		want(t, call(e, "POST", fmt.Sprintf("/capi/v1/client/customer/%d/external-reference", m), tok, `{"referenceCode":"ERP","externalId":"HELD"}`), 200, `"success":true`)

		want(t, call(e, "GET", base, rival, ""), 404, "NotFoundException")
		want(t, call(e, "PATCH", base+"/CRM", rival, `{"externalId":"R-1"}`), 404, "NotFoundException")
		want(t, call(e, "GET", base, tok, ""), 200, `{"externalReferences":[{"referenceCode":"CRM","externalId":"A-1"},{"referenceCode":"ERP","externalId":"E-1"}]}`)

		want(t, call(e, "PATCH", base+"/CRM", tok, `{"externalId":"A-9"}`), 200, `"success":true`)
		// Another customer's id is refused and changes nothing.
		want(t, call(e, "PATCH", base+"/ERP", tok, `{"externalId":"HELD"}`), 200, `"success":false`)
		want(t, call(e, "GET", base, tok, ""), 200, `{"externalReferences":[{"referenceCode":"CRM","externalId":"A-9"},{"referenceCode":"ERP","externalId":"E-1"}]}`)
		for _, c := range []struct {
			body string
			want string
		}{
			{`{"referenceCode":"CRM","externalId":"A-9"}`, fmt.Sprintf(`"customerNumber":%d`, n)},
			{`{"referenceCode":"CRM","externalId":"A-1"}`, `{"customers":[]}`},
		} {
			want(t, call(e, "POST", "/capi/v1/client/customer/search", tok, c.body), 200, c.want)
		}
		// XML list.
		x := e.Call(testkit.Request{Method: "GET", Path: base, Token: tok, Accept: "application/xml"})
		want(t, x, 200, "<externalReferences><externalReference><referenceCode>CRM</referenceCode><externalId>A-9</externalId></externalReference>")

		for _, c := range []struct {
			method, path, body string
			status             int
			msg                string
		}{
			{"GET", "/capi/v1/client/customer/99999999/external-reference", "", 404, "NotFoundException"},
			{"GET", "/capi/v1/client/customer/12x/external-reference", "", 400, "customerNumber"},
			{"PATCH", "/capi/v1/client/customer/99999999/external-reference/CRM", `{"externalId":"A-2"}`, 404, "NotFoundException"},
			{"PATCH", "/capi/v1/client/customer/12x/external-reference/CRM", `{"externalId":"A-2"}`, 400, "customerNumber"},
			{"PATCH", base + "/CRM", `{"externalId":"12345678901234567"}`, 400, "externalId"},
		} {
			want(t, call(e, c.method, c.path, tok, c.body), c.status, c.msg)
		}
	})
}

// Customer search answers XML when asked, and takes an XML body as PHP
// clients send it.
func TestCustomerSearchXMLOverHTTP(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		n := register(t, e, tok, ola)
		m := register(t, e, tok, `{"firstName":"Kari","lastName":"Nordlie","postalCode":"0150","emails":["k@example.no","k2@example.no"]}`)
		register(t, e, tok, `{"lastName":"Someone","postalCode":"0150","emails":["s@example.no"]}`)
		type hit struct {
			CustomerNumber int64    `xml:"customerNumber"`
			LastName       string   `xml:"lastName"`
			PostalCode     string   `xml:"postalCode"`
			Emails         []string `xml:"emails>email"`
		}
		var list struct {
			XMLName   xml.Name
			Customers []hit `xml:"customer"`
		}
		for _, req := range []testkit.Request{
			{Method: "POST", Path: "/capi/v1/client/customer/search", Token: tok, Accept: "application/xml", ContentType: "application/json", Body: `{"lastName":"NORD"}`},
			{Method: "POST", Path: "/capi/v1/client/customer/search", Token: tok, Accept: "application/xml", ContentType: "application/xml",
				Body: `<?xml version="1.0" encoding="UTF-8"?><data><lastName>nord</lastName><maxResults>10</maxResults></data>`},
		} {
			r := e.Call(req)
			if r.Status != 200 || !strings.Contains(r.Header.Get("Content-Type"), "application/xml") {
				t.Fatalf("XML search: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
			}
			list.Customers = nil
			if err := xml.Unmarshal(r.Body, &list); err != nil {
				t.Fatalf("XML answer %s: %v", r.Body, err)
			}
			got := fmt.Sprintf("%s %+v", list.XMLName.Local, list.Customers)
			exp := fmt.Sprintf("customers [{CustomerNumber:%d LastName:Nordmann PostalCode:0179 Emails:[Ola.Nordmann@Example.no]} {CustomerNumber:%d LastName:Nordlie PostalCode:0150 Emails:[k@example.no k2@example.no]}]", n, m)
			if got != exp {
				t.Errorf("XML search (%s body):\n got %s\nwant %s", req.ContentType, got, exp)
			}
		}
		// The XML hit carries what the JSON one does.
		j := call(e, "POST", "/capi/v1/client/customer/search", tok, `{"lastName":"nordlie"}`)
		var out struct{ Customers []map[string]any }
		j.JSON(t, &out)
		if len(out.Customers) != 1 || out.Customers[0]["firstName"] != "Kari" {
			t.Fatalf("JSON search: %s", j.Body)
		}
		x := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/customer/search", Token: tok, Accept: "application/xml",
			ContentType: "application/json", Body: `{"lastName":"nordlie"}`})
		for k := range out.Customers[0] {
			if !strings.Contains(string(x.Body), "<"+k+">") {
				t.Errorf("XML hit lacks <%s>: %s", k, x.Body)
			}
		}
		// No hits is an empty list; a bad body is a 400 in XML.
		want(t, e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/customer/search", Token: tok, Accept: "application/xml",
			ContentType: "application/json", Body: `{"lastName":"zzz"}`}), 200, "<customers></customers>")
		want(t, e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/customer/search", Token: tok, Accept: "application/xml",
			ContentType: "application/xml", Body: `<data></data>`}), 400, "<exceptionType>ValidationException</exceptionType>")
	})
}

// Category lists are the caller's company's: RIVAL has none.
func TestCategoriesPerCompany(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		rival := rivalUserToken(t, e)
		for _, c := range []struct{ path, want string }{
			{"/capi/v1/customer/category/type", `{"categoryTypes":[]}`},
			{"/capi/v1/customer/category/code", `{"categoryCodes":[]}`},
			{"/capi/v1/customer/category/code/SWISJ", `{"categoryCodes":[]}`},
		} {
			r := call(e, "GET", c.path, rival, "")
			if r.Status != 200 || strings.TrimSpace(string(r.Body)) != c.want {
				t.Errorf("RIVAL %s: %d %s, want %s", c.path, r.Status, r.Body, c.want)
			}
		}
		user := e.MintUserToken("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", 9001, 0)
		x := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/category/code", Token: user, Accept: "application/xml"})
		var codes struct {
			Codes []struct {
				Type string `xml:"categoryType"`
				Code string `xml:"categoryCode"`
			} `xml:"categoryCode"`
		}
		if err := xml.Unmarshal(x.Body, &codes); err != nil || x.Status != 200 {
			t.Fatalf("XML codes %d %s: %v", x.Status, x.Body, err)
		}
		if got := fmt.Sprintf("%+v", codes.Codes); got != "[{Type:SWISJ Code:SEN} {Type:SWISJ Code:STUD}]" {
			t.Errorf("XML codes: %s", got)
		}
	})
}
