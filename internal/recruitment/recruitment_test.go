package recruitment_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/order"
	"github.com/connect-oss/connect/internal/testkit"
)

func call(e *testkit.Env, method, path, token, body string) *testkit.Response {
	e.T.Helper()
	return e.Call(testkit.Request{Method: method, Path: path, Token: token, Accept: "application/json",
		ContentType: "application/json", Body: body})
}

func want(t *testing.T, r *testkit.Response, status int, contains ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want %d, got %d %s", status, r.Status, r.Body)
	}
	for _, c := range contains {
		if !strings.Contains(string(r.Body), c) {
			t.Fatalf("want %d containing %q, got %s", status, c, r.Body)
		}
	}
}

func count(t *testing.T, e *testkit.Env, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.App.DB.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const recruiter = `"recruiter":{"firstName":"Kari","lastName":"Verver","postalCode":"0179","emails":["kari@example.no"],"phoneNumbers":["+4790000001"]}`

func person(first, email string) string {
	return fmt.Sprintf(`{"firstName":%q,"lastName":"Nordmann","postalCode":"0150","streetAddress":"Storgata 1","emails":[%q]}`, first, email)
}

type entry struct {
	RecruitmentID int64  `json:"recruitmentId"`
	Product       string `json:"product"`
	Name          struct{ FirstName, LastName string }
	Status        string `json:"status"`
	RejectReason  string `json:"rejectReason"`
	Points        int64  `json:"points"`
	OrderID       *int64 `json:"orderId"`
}

type registered struct {
	Status                  string  `json:"status"`
	RecruiterCustomerNumber int64   `json:"recruiterCustomerNumber"`
	Recruitments            []entry `json:"recruitments"`
}

func register(t *testing.T, e *testkit.Env, token, body string) registered {
	t.Helper()
	r := call(e, "POST", "/capi/v1/client/recruitment", token, body)
	want(t, r, 200, `"status":"ok"`)
	var out registered
	r.JSON(t, &out)
	return out
}

func TestRegisterClientEligibility(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		res := register(t, e, tok, `{"product":"NEWS","campaign":"SPRING",`+recruiter+`,"recruitments":[`+
			person("Per", "per@example.no")+`,`+person("Kari", "KARI@example.no")+`,`+person("Per", "per@example.no")+
			`],"recruitmentPremiumPreferences":[{"premiumCode":"GIFTCARD"}]}`)
		if res.RecruiterCustomerNumber == 0 || len(res.Recruitments) != 3 {
			t.Fatalf("registered %+v", res)
		}
		got := []string{}
		for _, r := range res.Recruitments {
			got = append(got, r.Status+"/"+r.RejectReason)
		}
		if strings.Join(got, ",") != "approved/,rejected/selfRecruitment,rejected/duplicate" {
			t.Fatalf("statuses %v", got)
		}
		per := res.Recruitments[0]
		if per.Points != 100 || per.OrderID == nil || per.Name.FirstName != "Per" || per.Product != "NEWS" {
			t.Fatalf("approved entry %+v", per)
		}
		// The order: payer = the person, the campaign's coupon, invoice, completed, with the recruiter on the line.
		if n := count(t, e, `SELECT COUNT(*) FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.id = $1
			AND o.status = 'completed' AND o.payment_method = 'invoice' AND l.product_spec_code = 'TRIAL'
			AND l.recruiter_customer_number = $2`, *per.OrderID, res.RecruiterCustomerNumber); n != 1 {
			t.Fatalf("order rows: %d", n)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM subscriptions s JOIN orders o ON o.id = s.order_id
			WHERE o.id = $1 AND s.product_code = 'NEWS' AND s.customer_number = o.payer_customer_number`, *per.OrderID); n != 1 {
			t.Fatalf("subscriptions: %d", n)
		}
		// Rejected people get no order and no customer.
		if n := count(t, e, `SELECT COUNT(*) FROM recruitments WHERE status = 'rejected' AND order_id IS NULL AND recruited_customer_number IS NULL`); n != 2 {
			t.Fatalf("rejected rows: %d", n)
		}
		// Now a subscriber: recruiting Per again (by customer number) is refused.
		var perNo int64
		if err := e.App.DB.QueryRowContext(context.Background(), `SELECT payer_customer_number FROM orders WHERE id = $1`, *per.OrderID).Scan(&perNo); err != nil {
			t.Fatal(err)
		}
		again := register(t, e, tok, fmt.Sprintf(`{"product":"NEWS","campaign":"SPRING","recruiter":{"customerNumber":%d},"recruitments":[{"customerNumber":%d}]}`,
			res.RecruiterCustomerNumber, perNo))
		if again.Recruitments[0].RejectReason != "existingSubscriber" || again.RecruiterCustomerNumber != res.RecruiterCustomerNumber {
			t.Fatalf("again %+v", again)
		}
		// The recruiter as their own recruit, by customer number.
		self := register(t, e, tok, fmt.Sprintf(`{"product":"NEWS","campaign":"SPRING","recruiter":{"customerNumber":%d},"recruitments":[{"customerNumber":%d}]}`,
			res.RecruiterCustomerNumber, res.RecruiterCustomerNumber))
		if self.Recruitments[0].RejectReason != "selfRecruitment" {
			t.Fatalf("self %+v", self)
		}
		// The recruiter sees names only, never contact data.
		user := e.MintUserToken(strings.Repeat("a", 32), 9001, res.RecruiterCustomerNumber)
		r := call(e, "GET", "/capi/v1/customer/recruitment/SPRING?ascending=true", user, "")
		want(t, r, 200, `"campaign":"SPRING","points":100,"products":["NEWS"],"totalCount":5`, `"firstName":"Per"`)
		if strings.Contains(string(r.Body), "@") || strings.Contains(string(r.Body), "Storgata") {
			t.Fatalf("the list shows contact data: %s", r.Body)
		}
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/premium/SPRING", user, ""), 200,
			`"premiums":[{"premiumCode":"MUG","description":"Mug","points":50},{"premiumCode":"GIFTCARD"`,
			`"recruitmentPremiumPreferences":[{"premiumCode":"GIFTCARD","quantity":1}]`)
	})
}

func TestRegisterClientValidation(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		per := person("Per", "per@example.no")
		many := strings.TrimSuffix(strings.Repeat(per+",", 51), ",")
		for _, c := range []struct{ body, field string }{
			{`{"campaign":"SPRING",` + recruiter + `,"recruitments":[` + per + `]}`, "product"},
			{`{"product":"NEWS",` + recruiter + `,"recruitments":[` + per + `]}`, "campaign"},
			{`{"product":"NEWS","campaign":"SPRING","recruitments":[` + per + `]}`, "recruiter"},
			{`{"product":"NEWS","campaign":"SPRING",` + recruiter + `,"recruitments":[]}`, "recruitments"},
			{`{"product":"NEWS","campaign":"SPRING",` + recruiter + `,"recruitments":[` + many + `]}`, "recruitments"},
			{`{"product":"NEWS","campaign":"NOPE",` + recruiter + `,"recruitments":[` + per + `]}`, "campaign"},
			{`{"product":"NEWS","campaign":"RIVALREC",` + recruiter + `,"recruitments":[` + per + `]}`, "campaign"},
			{`{"product":"NEWS","campaign":"OLD2020",` + recruiter + `,"recruitments":[` + per + `]}`, "campaign"},
			{`{"product":"PAPER","campaign":"SPRING",` + recruiter + `,"recruitments":[` + per + `]}`, "product"},
			{`{"product":"NEWS","campaign":"SPRING",` + recruiter + `,"recruitments":[{"firstName":"Nobody","lastName":"X","postalCode":"0150"}]}`, "recruitments[0].emails"},
			{`{"product":"NEWS","campaign":"SPRING",` + recruiter + `,"recruitments":[{"emails":["x@example.no"]}]}`, "recruitments[0]."},
			{`{"product":"NEWS","campaign":"SPRING",` + recruiter + `,"recruitments":[{"firstName":"P","lastName":"Q","postalCode":"0150","emails":["p@example.no"],"startDate":"2001-01-01"}]}`, "recruitments[0].startDate"},
			{`{"product":"NEWS","campaign":"SPRING","recruiter":{"firstName":"No"},"recruitments":[` + per + `]}`, "recruiter."},
			{`{"product":"NEWS","campaign":"SPRING",` + recruiter + `,"recruitments":[` + per + `],"recruitmentPremiumPreferences":[{"premiumCode":"MUG","quantity":0}]}`, "recruitmentPremiumPreferences[0].quantity"},
			{`{"product":"NEWS","campaign":"SPRING",` + recruiter + `,"recruitments":[` + per + `],"recruitmentPremiumPreferences":[{"premiumCode":"MUG"},{"premiumCode":"MUG"}]}`, "recruitmentPremiumPreferences[1].premiumCode"},
			{`{"product":"NEWS","campaign":"SPRING",` + recruiter + `,"recruitments":[` + per + `],"recruitmentPremiumPreferences":[{"premiumCode":"CAR"}]}`, "recruitmentPremiumPreferences[0].premiumCode"},
		} {
			r := call(e, "POST", "/capi/v1/client/recruitment", tok, c.body)
			want(t, r, 400, `"`+c.field)
		}
		// A later invalid person rolls back the whole request.
		r := call(e, "POST", "/capi/v1/client/recruitment", tok, `{"product":"NEWS","campaign":"SPRING",`+recruiter+`,"recruitments":[`+per+`,{"emails":["y@example.no"]}]}`)
		want(t, r, 400, `recruitments[1].`)
		for _, table := range []string{"recruitments", "orders", "customers c JOIN companies co ON co.id = c.company_id WHERE co.code = 'ACME'"} {
			if n := count(t, e, `SELECT COUNT(*) FROM `+table); n != 0 {
				t.Fatalf("%s rows after failed requests: %d", table, n)
			}
		}
		// Another company's customer as recruiter: 404.
		rivalTok := e.Token(testkit.RivalClientID, testkit.RivalSecret)
		rival := register(t, e, rivalTok, `{"product":"RIVALNEWS","campaign":"RIVALREC",`+recruiter+`,"recruitments":[`+per+`]}`)
		want(t, call(e, "POST", "/capi/v1/client/recruitment", tok, fmt.Sprintf(`{"product":"NEWS","campaign":"SPRING","recruiter":{"customerNumber":%d},"recruitments":[%s]}`,
			rival.RecruiterCustomerNumber+1000, per)), 404, "NotFoundException")
		want(t, call(e, "POST", "/capi/v1/client/recruitment", rivalTok, `{"product":"RIVALNEWS","campaign":"SPRING",`+recruiter+`,"recruitments":[`+per+`]}`), 400, `"campaign`)
	})
}

func TestUserModeOperations(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		kari := register(t, e, tok, `{"product":"NEWS","campaign":"SPRING",`+recruiter+`,"recruitments":[`+person("Per", "per@example.no")+`]}`)
		other := register(t, e, tok, `{"product":"NEWS","campaign":"SPRING","recruiter":{"firstName":"Ole","lastName":"Annen","postalCode":"0150","emails":["ole@example.no"]},"recruitments":[`+
			person("Lise", "lise@example.no")+`]}`)
		kariTok := e.MintUserToken(strings.Repeat("b", 32), 9002, kari.RecruiterCustomerNumber)
		oleTok := e.MintUserToken(strings.Repeat("c", 32), 9003, other.RecruiterCustomerNumber)
		noCustomer := e.MintUserToken(strings.Repeat("d", 32), 9004, 0)

		// recruitment-register: the caller is the recruiter.
		r := call(e, "POST", "/capi/v1/customer/recruitment", kariTok, `{"product":"NEWS","campaign":"SPRING","recruitments":[`+person("Anne", "anne@example.no")+`]}`)
		want(t, r, 200, `"status":"ok"`, fmt.Sprintf(`"recruiterCustomerNumber":%d`, kari.RecruiterCustomerNumber), `"status":"approved"`)
		want(t, call(e, "POST", "/capi/v1/customer/recruitment", kariTok, `{"product":"NEWS","campaign":"SPRING",`+recruiter+`,"recruitments":[`+person("A", "a@example.no")+`]}`), 400, `"recruiter`)
		eleven := strings.TrimSuffix(strings.Repeat(person("A", "a@example.no")+",", 11), ",")
		want(t, call(e, "POST", "/capi/v1/customer/recruitment", kariTok, `{"product":"NEWS","campaign":"SPRING","recruitments":[`+eleven+`]}`), 400, `"recruitments`)
		want(t, call(e, "POST", "/capi/v1/customer/recruitment", noCustomer, `{"product":"NEWS","campaign":"SPRING","recruitments":[`+person("A", "a@example.no")+`]}`), 404, "no customer linked to user")

		// recruitment-list: each user sees their own.
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/SPRING", kariTok, ""), 200, `"points":200`, `"totalCount":2`, `"firstName":"Anne"`, `"firstName":"Per"`)
		r = call(e, "GET", "/capi/v1/customer/recruitment/SPRING", oleTok, "")
		want(t, r, 200, `"points":100`, `"totalCount":1`, `"firstName":"Lise"`)
		if strings.Contains(string(r.Body), "Anne") || strings.Contains(string(r.Body), "Per") {
			t.Fatalf("another user's recruitments leaked: %s", r.Body)
		}
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/SPRING?limit=1", kariTok, ""), 200, `"totalCount":2`, `"firstName":"Anne"`)
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/SPRING?limit=1&ascending=true", kariTok, ""), 200, `"firstName":"Per"`)
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/SPRING", noCustomer, ""), 200, `"points":0`, `"recruitments":[]`)
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/RIVALREC", kariTok, ""), 404, "NotFoundException")
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/NOPE", kariTok, ""), 404, "NotFoundException")
		for _, q := range []string{"limit=0", "limit=201", "offset=-1", "ascending=maybe"} {
			want(t, call(e, "GET", "/capi/v1/customer/recruitment/SPRING?"+q, kariTok, ""), 400, strings.Split(q, "=")[0])
		}
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/TOOLONGCAMPAIGN", kariTok, ""), 400, `"campaign`)

		// recruitment-premium-change and -list.
		want(t, call(e, "POST", "/capi/v1/customer/recruitment/premium/SPRING", kariTok,
			`{"recruitmentPremiumPreferences":[{"premiumCode":"GIFTCARD","quantity":2},{"premiumCode":"MUG"}]}`), 200,
			`"points":200`, `"recruitmentPremiumPreferences":[{"premiumCode":"GIFTCARD","quantity":2},{"premiumCode":"MUG","quantity":1}]`)
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/premium/SPRING", oleTok, ""), 200, `"recruitmentPremiumPreferences":[]`)
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/premium/SPRING", kariTok, ""), 200, `{"premiumCode":"MUG","quantity":1}`)
		for _, c := range []struct{ body, field string }{
			{`{}`, "recruitmentPremiumPreferences"},
			{`{"recruitmentPremiumPreferences":[{"quantity":1}]}`, "recruitmentPremiumPreferences[0].premiumCode"},
			{`{"recruitmentPremiumPreferences":[{"premiumCode":"MUG","quantity":100}]}`, "recruitmentPremiumPreferences[0].quantity"},
			{`{"recruitmentPremiumPreferences":[{"premiumCode":"CAR"}]}`, "recruitmentPremiumPreferences[0].premiumCode"},
		} {
			want(t, call(e, "POST", "/capi/v1/customer/recruitment/premium/SPRING", kariTok, c.body), 400, `"`+c.field)
		}
		want(t, call(e, "POST", "/capi/v1/customer/recruitment/premium/OLD2020", kariTok, `{"recruitmentPremiumPreferences":[]}`), 400, `"campaign`)
		want(t, call(e, "POST", "/capi/v1/customer/recruitment/premium/RIVALREC", kariTok, `{"recruitmentPremiumPreferences":[]}`), 404, "NotFoundException")
		want(t, call(e, "POST", "/capi/v1/customer/recruitment/premium/SPRING", noCustomer, `{"recruitmentPremiumPreferences":[]}`), 404, "no customer linked to user")
		want(t, call(e, "POST", "/capi/v1/customer/recruitment/premium/SPRING", kariTok, `{"recruitmentPremiumPreferences":[]}`), 200, `"recruitmentPremiumPreferences":[]`)
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/premium/RIVALREC", kariTok, ""), 404, "NotFoundException")
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/premium/SPRING", noCustomer, ""), 200, `"points":0`)
		// Client tokens cannot use user-mode routes.
		if r := call(e, "GET", "/capi/v1/customer/recruitment/SPRING", tok, ""); r.Status != 401 && r.Status != 403 {
			t.Fatalf("client token on a user route: %d %s", r.Status, r.Body)
		}
	})
}

func TestCampaignListClient(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		want(t, call(e, "GET", "/capi/v1/client/recruitment/campaign", tok, ""), 200,
			`{"recruitmentCampaigns":[{"campaign":"OLD2020","description":"","startDate":"2020-01-01","endDate":"2020-12-31","active":false,`,
			`{"campaign":"SPRING","description":"Recruit a friend","startDate":"2024-01-01","active":true,"pointsPerRecruitment":100,"products":["NEWS"],"offers":[{"product":"NEWS","couponCode":"TRIAL","couponNumber":2}]`)
		r := call(e, "GET", "/capi/v1/client/recruitment/campaign?onlyActive=true", tok, "")
		want(t, r, 200, `"SPRING"`)
		if strings.Contains(string(r.Body), "OLD2020") || strings.Contains(string(r.Body), "RIVALREC") {
			t.Fatalf("onlyActive list: %s", r.Body)
		}
		want(t, call(e, "GET", "/capi/v1/client/recruitment/campaign?onlyActive=x", tok, ""), 400, "onlyActive")
		rival := call(e, "GET", "/capi/v1/client/recruitment/campaign", e.Token(testkit.RivalClientID, testkit.RivalSecret), "")
		want(t, rival, 200, `"RIVALREC"`)
		if strings.Contains(string(rival.Body), "SPRING") {
			t.Fatalf("another company's campaigns: %s", rival.Body)
		}
	})
}

func TestXML(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		body := `<recruitment><product>NEWS</product><campaign>SPRING</campaign>
			<recruiter><firstName>Kari</firstName><lastName>Verver</lastName><postalCode>0179</postalCode><emails><email>kari@example.no</email></emails></recruiter>
			<recruitments><recruitment><firstName>Per</firstName><lastName>Nordmann</lastName><postalCode>0150</postalCode><emails><email>per@example.no</email></emails></recruitment></recruitments>
			<recruitmentPremiumPreferences><preference><premiumCode>MUG</premiumCode><quantity>3</quantity></preference></recruitmentPremiumPreferences>
			</recruitment>`
		r := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/recruitment", Token: tok, Accept: "application/xml",
			ContentType: "application/xml", Body: body})
		want(t, r, 200, "<status>ok</status>", "<status>approved</status>", "<firstName>Per</firstName>")
		r = e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/recruitment/campaign", Token: tok, Accept: "application/xml"})
		want(t, r, 200, "<campaign>SPRING</campaign>", "<couponCode>TRIAL</couponCode>")
		if n := count(t, e, `SELECT COUNT(*) FROM recruitment_preferences WHERE premium_code = 'MUG' AND quantity = 3`); n != 1 {
			t.Fatalf("preferences from XML: %d", n)
		}
	})
}

func TestOrderLineRecruiter(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		kari := register(t, e, tok, `{"product":"NEWS","campaign":"SPRING",`+recruiter+`,"recruitments":[`+person("Per", "per@example.no")+`]}`)
		place := func(payer string) int64 {
			t.Helper()
			r := call(e, "POST", "/capi/v1/client/order", tok, fmt.Sprintf(`{"paymentMethod":"invoice","payer":%s,"orderLines":[
				{"productSpecType":"coupon","productSpecCode":"NEWS","productSpecNo":1,"recruiter":{"customerNumber":%d}}]}`, payer, kari.RecruiterCustomerNumber))
			want(t, r, 200, "orderId")
			var o struct{ OrderID int64 }
			r.JSON(t, &o)
			return o.OrderID
		}
		id := place(person("Siri", "siri@example.no"))
		user := e.MintUserToken(strings.Repeat("e", 32), 9005, kari.RecruiterCustomerNumber)
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/SPRING", user, ""), 200, `"totalCount":2`, `"points":100`,
			fmt.Sprintf(`"firstName":"Siri","lastName":"Nordmann"},"status":"registered","points":0,"orderId":%d`, id))
		want(t, call(e, "POST", "/capi/v1/client/order/fulfillment", tok, fmt.Sprintf(`{"orderId":%d}`, id)), 200, `"fulfillmentStatus":"OK"`)
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/SPRING", user, ""), 200, `"points":200`,
			fmt.Sprintf(`"firstName":"Siri","lastName":"Nordmann"},"status":"approved","points":100,"orderId":%d`, id))

		// The same checks: the recruiter buying for themselves is rejected; a cancelled order cancels the recruitment.
		self := place(`{"customerNumber":` + fmt.Sprint(kari.RecruiterCustomerNumber) + `}`)
		if n := count(t, e, `SELECT COUNT(*) FROM recruitments WHERE order_id = $1 AND reject_reason = 'selfRecruitment'`, self); n != 1 {
			t.Fatalf("self-recruitment through an order: %d", n)
		}
		other := place(person("Tor", "tor@example.no"))
		if err := orderCancel(e, other); err != nil {
			t.Fatal(err)
		}
		want(t, call(e, "GET", "/capi/v1/customer/recruitment/SPRING", user, ""), 200, `"points":200`,
			fmt.Sprintf(`"firstName":"Tor","lastName":"Nordmann"},"status":"cancelled","points":0,"orderId":%d`, other))
		// A product no active campaign offers: no recruitment.
		before := count(t, e, `SELECT COUNT(*) FROM recruitments`)
		r := call(e, "POST", "/capi/v1/client/order", tok, fmt.Sprintf(`{"paymentMethod":"invoice","payer":%s,"orderLines":[
			{"productSpecType":"coupon","productSpecCode":"PAPER","productSpecNo":1,"recruiter":{"customerNumber":%d}}]}`, person("Ulf", "ulf@example.no"), kari.RecruiterCustomerNumber))
		want(t, r, 200, "orderId")
		if after := count(t, e, `SELECT COUNT(*) FROM recruitments`); after != before {
			t.Fatalf("recruitments for a product without a campaign: %d → %d", before, after)
		}
	})
}

// orderCancel cancels a preliminary order as an expired or abandoned one is.
func orderCancel(e *testkit.Env, orderID int64) error {
	var companyID int64
	if err := e.App.DB.QueryRowContext(context.Background(), `SELECT company_id FROM orders WHERE id = $1`, orderID).Scan(&companyID); err != nil {
		return err
	}
	return order.Cancel(context.Background(), e.App.DB, companyID, orderID, time.Now())
}

func TestApplyCampaigns(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		ctx := context.Background()
		file := func(campaigns string) []byte {
			return []byte("companies:\n  - code: ACME\n    name: Acme Media\n    recruitmentCampaigns:\n" + campaigns)
		}
		// A changed campaign is written; the same file again changes nothing.
		changed := file("      - {campaign: SPRING, description: Recruit two friends, startDate: 2024-01-01, pointsPerRecruitment: 150,\n" +
			"         offers: [{product: NEWS, couponCode: TRIAL, couponNumber: 2}], premiums: [{premiumCode: MUG, description: Mug, points: 50}]}\n")
		res, err := e.App.ApplyTenantFile(ctx, "t.yaml", changed)
		if err != nil || res.CatalogUpdated != 1 {
			t.Fatalf("apply: %+v, %v", res, err)
		}
		if res, err = e.App.ApplyTenantFile(ctx, "t.yaml", changed); err != nil || !res.Unchanged {
			t.Fatalf("re-apply: %+v, %v", res, err)
		}
		want(t, call(e, "GET", "/capi/v1/client/recruitment/campaign?onlyActive=true", e.ClientToken(), ""), 200,
			`"description":"Recruit two friends"`, `"pointsPerRecruitment":150`, `"premiums":[{"premiumCode":"MUG","description":"Mug","points":50}]`)
		for _, c := range []struct{ campaigns, field string }{
			{"      - {campaign: BAD, startDate: 2024-01-01, offers: [{product: NEWS, couponCode: NOPE, couponNumber: 9}]}\n", "offers[0].couponCode"},
			{"      - {campaign: BAD, startDate: 2024-01-01, offers: [{product: PAPER, couponCode: TRIAL, couponNumber: 2}]}\n", "offers[0].couponCode"},
			{"      - {campaign: WAYTOOLONGCODE, startDate: 2024-01-01, offers: [{product: NEWS, couponCode: TRIAL, couponNumber: 2}]}\n", "campaign"},
			{"      - {campaign: BAD, offers: [{product: NEWS, couponCode: TRIAL, couponNumber: 2}]}\n", "startDate"},
			{"      - {campaign: BAD, startDate: 2024-02-01, endDate: 2024-01-01, offers: [{product: NEWS, couponCode: TRIAL, couponNumber: 2}]}\n", "endDate"},
			{"      - {campaign: BAD, startDate: 2024-01-01, offers: []}\n", "offers"},
			{"      - {campaign: BAD, startDate: 2024-01-01, quarantineDays: -1, offers: [{product: NEWS, couponCode: TRIAL, couponNumber: 2}]}\n", "quarantineDays"},
			{"      - {campaign: BAD, startDate: 2024-01-01, offers: [{product: NEWS, couponCode: TRIAL, couponNumber: 2}], premiums: [{premiumCode: A, points: 1}, {premiumCode: A, points: 2}]}\n", "premiums[1].premiumCode"},
		} {
			_, err := e.App.ApplyTenantFile(ctx, "t.yaml", file(c.campaigns))
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Errorf("%s: want an error naming %s, got %v", c.campaigns, c.field, err)
			}
		}
		if n := count(t, e, `SELECT COUNT(*) FROM recruitment_campaigns WHERE code = 'BAD'`); n != 0 {
			t.Fatalf("invalid campaigns stored: %d", n)
		}
	})
}
