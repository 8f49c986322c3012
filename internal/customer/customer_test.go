package customer_test

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/testkit"
)

func call(e *testkit.Env, method, path, token, body string) *testkit.Response {
	e.T.Helper()
	return e.Call(testkit.Request{Method: method, Path: path, Token: token, Accept: "application/json",
		ContentType: "application/json", Body: body})
}

func want(t *testing.T, r *testkit.Response, status int, contains string) {
	t.Helper()
	if r.Status != status || !strings.Contains(string(r.Body), contains) {
		t.Fatalf("want %d containing %q, got %d %s", status, contains, r.Status, r.Body)
	}
}

// register creates a customer through Register customer - client mode.
func register(t *testing.T, e *testkit.Env, token, body string) int64 {
	t.Helper()
	r := call(e, "POST", "/capi/v1/client/customer", token, body)
	var out struct{ CustomerNumber int64 }
	want(t, r, 200, "customerNumber")
	r.JSON(t, &out)
	return out.CustomerNumber
}

// padACME registers filler customers at ACME until its next customer number
// is not also one of RIVAL's (numbers are per company, and RIVAL's fixture
// users are RIVAL customers), so "another company's id" tests are real.
func padACME(t *testing.T, e *testkit.Env, token, rival string) {
	t.Helper()
	for {
		n := register(t, e, token, `{"lastName":"Filler","postalCode":"9999","emails":["filler@example.no"]}`)
		r := call(e, "POST", "/capi/v1/client/customer/check", rival, fmt.Sprintf(`{"customerNumber":%d}`, n))
		if strings.Contains(string(r.Body), `"exists":false`) {
			return
		}
	}
}

func registerACMEOnly(t *testing.T, e *testkit.Env, token, rival, body string) int64 {
	t.Helper()
	padACME(t, e, token, rival)
	return register(t, e, token, body)
}

const ola = `{"firstName":"Ola","lastName":"Nordmann","street":"Grubbegata","streetNumber":"6","postalCode":179,
	"postalPlace":"Oslo","countryCode":"no","emails":["Ola.Nordmann@Example.no"],"phoneNumbers":["912 34 567"],
	"birthDate":"1980-05-17","sex":"MALE","personsSocialSecurityNumber":"01018012345"}`

func TestCustomerInfoClientAndTenancy(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		n := registerACMEOnly(t, e, tok, rival, ola)
		r := call(e, "GET", fmt.Sprintf("/capi/v1/client/customer/info/%d", n), tok, "")
		want(t, r, 200, `"postalCode":"0179"`) // padded for NO
		for _, s := range []string{`"streetAddress":"Grubbegata"`, `"streetNumber":6`, `"countryCode":"NO"`, `"sex":"male"`,
			`"phoneNumbers":["+4791234567"]`, `"birthDate":"1980-05-17"`} {
			if !strings.Contains(string(r.Body), s) {
				t.Errorf("missing %s in %s", s, r.Body)
			}
		}
		if strings.Contains(string(r.Body), "01018012345") {
			t.Error("social security number must never be returned")
		}
		// Another company's client sees nothing; junk numbers are 400; unknown 404.
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/customer/info/%d", n), rival, ""), 404, "NotFoundException")
		want(t, call(e, "GET", "/capi/v1/client/customer/info/99999999", tok, ""), 404, "NotFoundException")
		want(t, call(e, "GET", "/capi/v1/client/customer/info/abc", tok, ""), 400, "customerNumber")
		want(t, call(e, "GET", "/capi/v1/client/customer/foo/bar", tok, ""), 404, "NotFoundException")
		// XML by Accept.
		x := e.Call(testkit.Request{Method: "GET", Path: fmt.Sprintf("/capi/v1/client/customer/info/%d", n), Token: tok, Accept: "application/xml"})
		want(t, x, 200, "<emails><email>Ola.Nordmann@Example.no</email></emails>")
	})
}

func TestRegisterCustomerValidation(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		for _, c := range []struct{ body, field string }{
			{`{"postalCode":"0179","emails":["a@b.no"]}`, "lastName: required"},
			{`{"lastName":"X","emails":["a@b.no"]}`, "postalCode: required"},
			{`{"lastName":"X","postalCode":"0179"}`, "emails: required"},
			{`{"lastName":"X","postalCode":"0179","emails":["not-an-email"]}`, "emails[0]: not a valid e-mail"},
			{`{"lastName":"X","postalCode":"0179","phoneNumbers":["12"]}`, "phoneNumbers[0]: not a phone number"},
			{`{"lastName":"` + strings.Repeat("x", 31) + `","postalCode":"0179","emails":["a@b.no"]}`, "lastName: at most 30"},
			{`{"lastName":"X","postalCode":"0179","emails":["a@b.no"],"countryCode":"NOR"}`, "countryCode: must be an ISO"},
			{`{"lastName":"X","postalCode":"0179","emails":["a@b.no"],"sex":"x"}`, "sex: must be male or female"},
			{`{"lastName":"X","postalCode":"0179","emails":["a@b.no"],"birthDate":"2999-01-01"}`, "birthDate"},
			{`{"lastName":"X","postalCode":"0179","emails":["a@b.no"],"categories":[{"addressCategory":"NOPE"}]}`, "categories[0].addressCategory: unknown"},
			{`{"lastName":"X","postalCode":"0179","emails":["a@b.no"],"uniqueUserId":"XYZ"}`, "uniqueUserId"},
		} {
			want(t, call(e, "POST", "/capi/v1/client/customer", tok, c.body), 400, c.field)
		}
		// A valid uniqueId of no user is 404.
		want(t, call(e, "POST", "/capi/v1/client/customer", tok, `{"lastName":"X","postalCode":"0179","emails":["a@b.no"],"uniqueUserId":"0123456789abcdef0123456789abcdef"}`), 404, "NotFoundException")
	})
}

func TestRegisterCustomerIdempotentAndXML(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		h := http.Header{"Idempotency-Key": {"cust-1"}}
		body := `<data><lastName>Hansen</lastName><postalCode>5003</postalCode><emails><item0>k@h.no</item0></emails>
			<categories><item0><addressCategory>STUD</addressCategory></item0></categories></data>`
		var numbers []string
		for range 2 {
			r := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/customer", Token: tok, ContentType: "application/xml", Body: body, Header: h})
			want(t, r, 200, "<customerNumber>")
			var x struct {
				CustomerNumber string `xml:"customerNumber"`
			}
			if err := xml.Unmarshal(r.Body, &x); err != nil {
				t.Fatal(err)
			}
			numbers = append(numbers, x.CustomerNumber)
		}
		if numbers[0] != numbers[1] {
			t.Fatalf("a retry with the same Idempotency-Key made another customer: %v", numbers)
		}
		r := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/customer", Token: tok, Accept: "application/json",
			ContentType: "application/json", Body: `{"lastName":"Other","postalCode":"5003","emails":["o@h.no"]}`, Header: h})
		want(t, r, 409, "Idempotency-Key")
		want(t, call(e, "GET", "/capi/v1/client/customer/info/"+numbers[0], tok, ""), 200, `"addressCategory":"STUD"`)
	})
}

func TestUserModeInfoAndAddresses(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		user := e.MintUserToken("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", 9001, 0)
		other := e.MintUserToken("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2", 9002, 0)
		// No customer yet: info is 404, lists are empty.
		want(t, call(e, "GET", "/capi/v1/customer/info", user, ""), 404, "no customer linked to user")
		want(t, call(e, "GET", "/capi/v1/customer/address", user, ""), 200, `{"addresses":[]}`)
		// The wrong kind of token.
		want(t, call(e, "GET", "/capi/v1/customer/info", e.ClientToken(), ""), 403, "insufficient_scope")
		want(t, call(e, "POST", "/capi/v1/customer", user, ola), 200, "customerNumber")
		want(t, call(e, "POST", "/capi/v1/customer", user, ola), 409, "already customer")
		want(t, call(e, "GET", "/capi/v1/customer/info", user, ""), 200, `"lastName":"Nordmann"`)
		want(t, call(e, "GET", "/capi/v1/customer/info", other, ""), 404, "no customer")

		// Change info: partial, validated, no addresses.
		r := call(e, "POST", "/capi/v1/customer/info", user, `{"firstName":"Kari","middleName":"","invoiceEmailAddress":"f@e.no"}`)
		want(t, r, 200, `"firstName":"Kari"`)
		if !strings.Contains(string(r.Body), `"lastName":"Nordmann"`) {
			t.Errorf("absent fields must stay: %s", r.Body)
		}
		want(t, call(e, "POST", "/capi/v1/customer/info", user, `{"postalCode":"0150"}`), 400, "postalCode: addresses change")
		want(t, call(e, "POST", "/capi/v1/customer/info", user, `{"lastName":""}`), 400, "lastName: required")
		want(t, call(e, "POST", "/capi/v1/customer/info", user, `{"customerNumber":1}`), 400, "customerNumber: cannot be changed")

		// Home address update keeps the old one as historical.
		r = call(e, "POST", "/capi/v1/customer/address", user, `{"changeType":"update","streetAddress":"Storgata","streetNumber":1,"postalCode":"0155","postalPlace":"Oslo","countryCode":"NO"}`)
		want(t, r, 200, `"addressType":"home","streetAddress":"Storgata"`)
		r = call(e, "GET", "/capi/v1/customer/address", user, "")
		want(t, r, 200, `"addressType":"historical"`)
		// A permanent change in the future, then its deletion.
		r = call(e, "POST", "/capi/v1/customer/address", user, `{"changeType":"createPermanent","streetAddress":"Nyveien","postalCode":"5003","countryCode":"NO","period":{"startDate":"2099-01-01"}}`)
		want(t, r, 200, `"addressType":"permanent"`)
		if !strings.HasPrefix(strings.TrimSpace(string(r.Body)), "[") {
			t.Errorf("address-change answers a bare array: %s", r.Body)
		}
		for _, c := range []struct{ body, msg string }{
			{`{"changeType":"nope"}`, "changeType"},
			{`{"changeType":"update","countryCode":"NO","streetAddress":"X","postalCode":"1","period":{"startDate":"2099-01-01"}}`, "period"},
			{`{"changeType":"update","streetAddress":"X","postalCode":"0150"}`, "countryCode: required"},
			{`{"changeType":"createPermanent","streetAddress":"X","postalCode":"0150","countryCode":"NO","period":{"startDate":"2000-01-01"}}`, "must be in the future"},
			{`{"changeType":"create","product":"NEWS","streetAddress":"X","postalCode":"0150","countryCode":"NO","period":{"startDate":"2099-02-01","endDate":"2099-03-01"}}`, "no subscription on NEWS"},
			{`{"changeType":"create","id":1,"product":"NEWS","period":{"startDate":"2099-02-01","endDate":"2099-03-01"}}`, "home address cannot be reused"},
			{`{"changeType":"delete","id":1}`, "home address cannot be deleted"},
		} {
			want(t, call(e, "POST", "/capi/v1/customer/address", user, c.body), 400, c.msg)
		}
		want(t, call(e, "POST", "/capi/v1/customer/address", user, `{"changeType":"delete","id":999}`), 404, "NotFoundException")
		r = call(e, "POST", "/capi/v1/customer/address", user, `{"changeType":"delete","id":3}`)
		want(t, r, 200, `"addressType":"home"`)
		if strings.Contains(string(r.Body), "permanent") {
			t.Errorf("deleted change still listed: %s", r.Body)
		}
		// Product addresses need a subscription on the product.
		want(t, call(e, "GET", "/capi/v1/customer/address/NEWS", user, ""), 404, "no subscription on NEWS")
	})
}

func TestSearchCheckAndExternalReferences(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		register(t, e, rival, `{"lastName":"Nordmann","postalCode":"11122","emails":["r@r.se"]}`)
		n := registerACMEOnly(t, e, tok, rival, ola)
		m := register(t, e, tok, `{"companyName":"Øst AS","lastName":"Østby","postalCode":"0150","phoneNumbers":["+4799999999"],"streetAddress":"Østre gate"}`)
		search := func(token, body string) []int64 {
			t.Helper()
			r := call(e, "POST", "/capi/v1/client/customer/search", token, body)
			want(t, r, 200, "customers")
			var out struct {
				Customers []struct{ CustomerNumber int64 }
			}
			r.JSON(t, &out)
			var ns []int64
			for _, c := range out.Customers {
				ns = append(ns, c.CustomerNumber)
			}
			return ns
		}
		for _, c := range []struct {
			body string
			want []int64
		}{
			{`{"lastName":"nord"}`, []int64{n}},
			{`{"lastName":"ØST"}`, []int64{m}},
			{`{"email":"OLA.NORDMANN@example.no"}`, []int64{n}},
			{`{"phoneNumber":"91234567"}`, []int64{n}},
			{`{"postalCode":"179"}`, []int64{n}},
			{`{"streetAddress":"østre"}`, []int64{m}},
			{`{"companyName":"øst"}`, []int64{m}},
			{`{"birthDate":"1980-05-17"}`, []int64{n}},
			{`{"customerNumber":99999999}`, nil},
			{`{"lastName":"nord","firstName":"kari"}`, nil},
			{`{"postalCode":"0150","maxResults":1}`, []int64{m}},
			{`{"lastName":"filler","maxResults":1}`, []int64{100001}},
		} {
			if got := search(tok, c.body); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("search %s = %v, want %v", c.body, got, c.want)
			}
		}
		want(t, call(e, "POST", "/capi/v1/client/customer/search", tok, `{}`), 400, "criterion")
		want(t, call(e, "POST", "/capi/v1/client/customer/search", tok, `{"lastName":"a","maxResults":101}`), 400, "maxResults")
		// Paging by customer number.
		if got := search(tok, fmt.Sprintf(`{"lastName":"nord","afterCustomerNumber":%d}`, n)); len(got) != 0 {
			t.Errorf("after the last match: %v", got)
		}

		// Check customer number.
		want(t, call(e, "POST", "/capi/v1/client/customer/check", tok, fmt.Sprintf(`{"customerNumber":%d,"postalCode":"0179","lastName":"NORDMANN"}`, n)), 200, `"exists":true,"match":true`)
		want(t, call(e, "POST", "/capi/v1/client/customer/check", tok, fmt.Sprintf(`{"customerNumber":%d,"postalCode":"9999"}`, n)), 200, `"exists":true,"match":false`)
		want(t, call(e, "POST", "/capi/v1/client/customer/check", rival, fmt.Sprintf(`{"customerNumber":%d}`, n)), 200, `"exists":false,"match":false`)
		if got := search(rival, `{"lastName":"nordmann"}`); len(got) != 1 || got[0] == n {
			t.Errorf("RIVAL's search sees only its own customer: %v", got)
		}
		want(t, call(e, "POST", "/capi/v1/client/customer/check", tok, `{}`), 400, "customerNumber: required")

		// External references.
		base := fmt.Sprintf("/capi/v1/client/customer/%d/external-reference", n)
		want(t, call(e, "POST", base, tok, `{"referenceCode":"CRM","externalId":"A-1"}`), 200, `"success":true`)
		want(t, call(e, "POST", base, tok, `{"referenceCode":"CRM","externalId":"A-2"}`), 200, `"success":false`)
		want(t, call(e, "POST", fmt.Sprintf("/capi/v1/client/customer/%d/external-reference", m), tok, `{"referenceCode":"CRM","externalId":"A-1"}`), 200, `"success":false`)
		want(t, call(e, "POST", base, tok, `{"referenceCode":"CRM","externalId":"12345678901234567"}`), 400, "externalId")
		want(t, call(e, "POST", fmt.Sprintf("/capi/v1/client/customer/%d/external-reference", n), rival, `{"referenceCode":"CRM","externalId":"X"}`), 404, "NotFoundException")
		want(t, call(e, "GET", base, tok, ""), 200, `{"externalReferences":[{"referenceCode":"CRM","externalId":"A-1"}]}`)
		if got := search(tok, `{"referenceCode":"CRM","externalId":"A-1"}`); fmt.Sprint(got) != fmt.Sprint([]int64{n}) {
			t.Errorf("search by external reference: %v", got)
		}
		want(t, call(e, "PATCH", base+"/CRM", tok, `{"externalId":"A-9"}`), 200, `"success":true`)
		want(t, call(e, "PATCH", base+"/NOPE", tok, `{"externalId":"A-9"}`), 200, `"success":false`)
		want(t, call(e, "PATCH", base+"/CRM", tok, `{"externalId":""}`), 400, "externalId")
		want(t, call(e, "DELETE", base+"/CRM", rival, ""), 404, "NotFoundException")
		want(t, call(e, "DELETE", base+"/CRM", tok, ""), 200, `"success":true`)
		want(t, call(e, "DELETE", base+"/CRM", tok, ""), 200, `"success":false`)
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/address/%d", n), tok, ""), 200, `"addressType":"home"`)
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/address/%d", n), rival, ""), 404, "NotFoundException")
		want(t, call(e, "GET", fmt.Sprintf("/capi/v1/client/address/%d/NEWS", n), tok, ""), 404, "no subscription")
	})
}

func TestCategories(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		user := e.MintUserToken("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", 9001, 0)
		want(t, call(e, "GET", "/capi/v1/customer/category/type", user, ""), 200, `{"categoryTypes":[{"categoryType":"SWISJ","description":"Student discounts"}]}`)
		want(t, call(e, "GET", "/capi/v1/customer/category/code", user, ""), 200, `[{"categoryType":"SWISJ","categoryCode":"SEN","description":"Senior"},{"categoryType":"SWISJ","categoryCode":"STUD"`)
		want(t, call(e, "GET", "/capi/v1/customer/category/code/SWISJ", user, ""), 200, `"STUD"`)
		want(t, call(e, "GET", "/capi/v1/customer/category/code/NONE", user, ""), 200, `{"categoryCodes":[]}`)
		x := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/category/type", Token: user, Accept: "application/xml"})
		want(t, x, 200, "<categoryTypes><categoryType><categoryType>SWISJ</categoryType>")
	})
}
