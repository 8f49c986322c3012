package subscription_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/testkit"
)

type user struct {
	token    string
	customer int64
	userNo   int64
}

// newUser links a customer to a fresh user number at company code and mints its token.
func newUser(t *testing.T, e *testkit.Env, userNo int64, email string) user {
	t.Helper()
	ctx := context.Background()
	c, err := tenant.GetCompanyByCode(ctx, e.App.DB, testkit.Company)
	if err != nil {
		t.Fatal(err)
	}
	var cno int64
	err = e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		cno, err = customer.EnsureForUser(ctx, tx, c.ID, c.Code, userNo, customer.UserDetails{FirstName: "U", LastName: fmt.Sprint(userNo), Email: email}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	uid := fmt.Sprintf("%032x", userNo)
	return user{token: e.MintUserToken(uid, userNo, cno), customer: cno, userNo: userNo}
}

func start(t *testing.T, e *testkit.Env, cno int64, product string, from time.Time, extra ...string) int64 {
	t.Helper()
	ctx := context.Background()
	c, _ := tenant.GetCompanyByCode(ctx, e.App.DB, testkit.Company)
	var id int64
	err := e.App.DB.Tx(ctx, func(tx *sql.Tx) (err error) {
		id, err = subscription.Start(ctx, tx, subscription.StartRequest{CompanyID: c.ID, CustomerNumber: cno, ProductCode: product,
			StartDate: from, PeriodLength: 1, PeriodType: "month", Price: 19900, Paid: true, AccessProducts: extra})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type accessResp struct {
	Access   bool `json:"access"`
	Accesses []struct {
		Access      bool   `json:"access"`
		AccessLevel string `json:"accessLevel"`
		AccessType  string `json:"accessType"`
		Product     string `json:"product"`
		EndTime     int64  `json:"endTime"`
	} `json:"accesses"`
}

func check(t *testing.T, e *testkit.Env, token, path, body string) accessResp {
	t.Helper()
	res := e.Call(testkit.Request{Method: "POST", Path: path, Token: token, ContentType: "application/json", Body: body})
	if res.Status != 200 {
		t.Fatalf("%s %s: %d %s", path, body, res.Status, res.Body)
	}
	var a accessResp
	res.JSON(t, &a)
	return a
}

func call(t *testing.T, e *testkit.Env, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	res := e.Call(testkit.Request{Method: method, Path: path, Token: token, ContentType: "application/json", Accept: "application/json", Body: body})
	var m map[string]any
	_ = json.Unmarshal(res.Body, &m)
	return res.Status, m
}

func TestAccessCheckHTTP(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		today := time.Now()
		alice := newUser(t, e, 9001, "alice@firm.no")
		bob := newUser(t, e, 9002, "bob@other.no")
		start(t, e, alice.customer, "NEWS", today, "BOOK1")

		a := check(t, e, alice.token, "/capi/v1/customer/access", `{"product":"NEWS"}`)
		if !a.Access || a.Accesses[0].AccessType != "A" || a.Accesses[0].Product != "NEWS" {
			t.Errorf("alice NEWS = %+v", a)
		}
		// Comma list in order, bundle product, unknown codes.
		if a := check(t, e, alice.token, "/capi/v1/customer/access", `{"product":"PAPER,BOOK1"}`); !a.Access || a.Accesses[0].Product != "BOOK1" {
			t.Errorf("alice PAPER,BOOK1 = %+v", a)
		}
		if a := check(t, e, alice.token, "/capi/v1/customer/access", `{"product":"PAPER"}`); a.Access || a.Accesses[0].AccessType != "D" {
			t.Errorf("alice PAPER = %+v", a)
		}
		// Other user: no access; identity fields of someone else: no access.
		if a := check(t, e, bob.token, "/capi/v1/customer/access", `{"product":"NEWS"}`); a.Access {
			t.Errorf("bob NEWS = %+v", a)
		}
		if a := check(t, e, alice.token, "/capi/v1/customer/access", fmt.Sprintf(`{"product":"NEWS","customerNumber":%d}`, bob.customer)); a.Access {
			t.Errorf("alice naming bob = %+v", a)
		}
		// XML body.
		res := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/customer/access", Token: alice.token, ContentType: "application/xml",
			Body: `<data><product>NEWS</product></data>`, Accept: "application/json"})
		if res.Status != 200 || !strings.Contains(string(res.Body), `"access":true`) || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("xml body: %d %s", res.Status, res.Body)
		}
		// Bad input.
		for _, body := range []string{`{}`, `{"product":"ABCDEFGHIJKLMN"}`, `{"ip":"300.1.1.1"}`, `{"issue":"2024-01"}`} {
			if res := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/customer/access", Token: alice.token, ContentType: "application/json", Body: body}); res.Status != 400 {
				t.Errorf("%s: %d %s", body, res.Status, res.Body)
			}
		}
		// Client mode: by credential; wrong mode; unknown user; ip without user.
		ct := e.ClientToken()
		if a := check(t, e, ct, "/capi/v1/client/access", `{"product":"NEWS","credential":"alice@firm.no"}`); !a.Access {
			t.Errorf("client alice = %+v", a)
		}
		if a := check(t, e, ct, "/capi/v1/client/access", `{"product":"NEWS","credential":"nobody@firm.no"}`); a.Access || len(a.Accesses) != 2 {
			t.Errorf("client nobody = %+v", a)
		}
		if res := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/access", Token: ct, ContentType: "application/json", Body: `{"product":"NEWS"}`}); res.Status != 400 {
			t.Errorf("client without user: %d", res.Status)
		}
		if res := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/customer/access", Token: ct, ContentType: "application/json", Body: `{"product":"NEWS"}`}); res.Status != 403 {
			t.Errorf("client token on user route: %d", res.Status)
		}
		// Another company's client sees nothing of ACME's customers.
		rt := e.Token(testkit.RivalClientID, testkit.RivalSecret)
		if a := check(t, e, rt, "/capi/v1/client/access", `{"product":"NEWS","credential":"alice@firm.no"}`); a.Access {
			t.Errorf("rival sees alice = %+v", a)
		}
	})
}

func TestSubscriptionListsHTTP(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		alice := newUser(t, e, 9101, "alice@firm.no")
		start(t, e, alice.customer, "NEWS", time.Now())
		// XML by default, root <subscriptions>.
		res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/subscription", Token: alice.token})
		if res.Status != 200 || !strings.Contains(string(res.Body), "<subscriptions><subscription><product>NEWS</product>") {
			t.Errorf("xml list: %d %s", res.Status, res.Body)
		}
		st, m := call(t, e, "GET", "/capi/v1/subscription", alice.token, "")
		subs := m["subscriptions"].([]any)
		if st != 200 || len(subs) != 1 || subs[0].(map[string]any)["sharable"] != true || subs[0].(map[string]any)["shareType"] != "USERS" {
			t.Errorf("json list: %d %v", st, m)
		}
		ct := e.ClientToken()
		if st, m := call(t, e, "GET", fmt.Sprintf("/capi/v1/client/subscription/%d", alice.customer), ct, ""); st != 200 || len(m["subscriptions"].([]any)) != 1 {
			t.Errorf("client list: %d %v", st, m)
		}
		if st, _ := call(t, e, "GET", "/capi/v1/client/subscription/abc", ct, ""); st != 400 {
			t.Errorf("malformed customer number: %d", st)
		}
		rt := e.Token(testkit.RivalClientID, testkit.RivalSecret)
		// Customer numbers are per company: RIVAL's customer with Alice's number
		// (if there is one) is someone else, and never shows Alice's data.
		if st, m := call(t, e, "GET", fmt.Sprintf("/capi/v1/client/subscription/%d", alice.customer), rt, ""); !(st == 404 || (st == 200 && len(m["subscriptions"].([]any)) == 0)) {
			t.Errorf("rival client list: %d %v", st, m)
		}
		if st, _ := call(t, e, "GET", "/capi/v1/client/subscription/987654321", rt, ""); st != 404 {
			t.Errorf("unknown customer: %d", st)
		}
		// Customer products: XML default, JSON on request.
		res = e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/product", Token: alice.token})
		if res.Status != 200 || !strings.Contains(string(res.Body), "<products><product><partnerId>ACME</partnerId><productId>NEWS</productId><accessType>A</accessType>") {
			t.Errorf("customer product xml: %s", res.Body)
		}
		// No linked customer: empty lists.
		stranger := e.MintUserToken(fmt.Sprintf("%032x", 9199), 9199, 0)
		if st, m := call(t, e, "GET", "/capi/v1/subscription", stranger, ""); st != 200 || len(m["subscriptions"].([]any)) != 0 {
			t.Errorf("stranger list: %d %v", st, m)
		}
		// Start subscription: the fixture has no free coupon for NEWS → 400; unknown product 404; bad body 400.
		for body, want := range map[string]int{`{"product":"NEWS"}`: 400, `{"product":"NOPE"}`: 404, `{}`: 400, `{"product":"NEWS","companyCode":"RIVAL"}`: 400,
			`{"product":"NEWS","copies":100}`: 400, `{"product":"NEWS","startTime":"2001-01-01"}`: 400} {
			if st, m := call(t, e, "POST", "/capi/v1/subscription", alice.token, body); st != want {
				t.Errorf("start %s: %d %v", body, st, m)
			}
		}
	})
}

func TestSharingHTTP(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		owner := newUser(t, e, 9201, "owner@firm.no")
		friend := newUser(t, e, 9202, "friend@firm.no")
		third := newUser(t, e, 9203, "third@firm.no")
		fourth := newUser(t, e, 9204, "fourth@firm.no")
		start(t, e, owner.customer, "NEWS", time.Now())

		send := func(tok, contact string) map[string]any {
			st, m := call(t, e, "POST", "/capi/v1/subscription/share/invitation", tok,
				fmt.Sprintf(`{"contact":%q,"contactType":"A","productCode":"NEWS","firstName":"F"}`, contact))
			if st != 200 {
				t.Fatalf("send %s: %d %v", contact, st, m)
			}
			return m
		}
		m := send(owner.token, "friend@firm.no")
		code, _ := m["shareCode"].(string)
		if m["status"] != "SHARE_OK" || len(code) != 8 {
			t.Fatalf("send = %v", m)
		}
		if m := send(owner.token, "friend@firm.no"); m["status"] != "ALREADY_IN_USE" {
			t.Errorf("resend = %v", m)
		}
		// Own contact, bad contact, unknown product.
		for body, want := range map[string]int{
			`{"contact":"owner@firm.no","contactType":"A_EMAIL","productCode":"NEWS"}`: 400,
			`{"contact":"not-an-email","contactType":"A_EMAIL","productCode":"NEWS"}`:  400,
			`{"contact":"12345","contactType":"B","productCode":"NEWS"}`:               400,
			`{"contact":"x@y.no","contactType":"A","productCode":"NOPE"}`:              404,
		} {
			if st, m := call(t, e, "POST", "/capi/v1/subscription/share/invitation", owner.token, body); st != want {
				t.Errorf("send %s: %d %v", body, st, m)
			}
		}
		// Friend has no access before accepting.
		if a := check(t, e, friend.token, "/capi/v1/customer/access", `{"product":"NEWS"}`); a.Access {
			t.Error("access before accept")
		}
		accept := func(tok, code string) string {
			_, m := call(t, e, "PATCH", "/capi/v1/subscription/share/invitation", tok, fmt.Sprintf(`{"shareCode":%q,"changeType":"ACCEPT"}`, code))
			s, _ := m["status"].(string)
			return s
		}
		if s := accept(owner.token, code); s != "" {
			// the owner accepting their own invitation is a 400
		}
		if s := accept(friend.token, "NOSUCH"); s != "SHARE_CODE_NOT_FOUND" {
			t.Errorf("unknown code: %s", s)
		}
		if s := accept(friend.token, strings.ToLower(code)); s != "SHARE_OK" {
			t.Fatalf("accept: %s", s)
		}
		if s := accept(friend.token, code); s != "REQUEST_ACCEPTED" {
			t.Errorf("accept twice: %s", s)
		}
		if s := accept(third.token, code); s != "ALREADY_IN_USE" {
			t.Errorf("accept by another: %s", s)
		}
		a := check(t, e, friend.token, "/capi/v1/customer/access", `{"product":"NEWS"}`)
		if !a.Access || a.Accesses[1].AccessLevel != "B" || !a.Accesses[1].Access || a.Accesses[0].Access {
			t.Errorf("friend access = %+v", a)
		}
		if st, m := call(t, e, "GET", "/capi/v1/subscription/shared", friend.token, ""); st != 200 || len(m["subscriptions"].([]any)) != 1 {
			t.Errorf("shared list: %d %v", st, m)
		}
		// Limit 2: a second accepted share, then a third invitation is SHARE_LIMIT.
		c2 := send(owner.token, "third@firm.no")["shareCode"].(string)
		if s := accept(third.token, c2); s != "SHARE_OK" {
			t.Fatalf("accept 2: %s", s)
		}
		if m := send(owner.token, "fourth@firm.no"); m["status"] != "SHARE_LIMIT" {
			t.Errorf("over the limit: %v", m)
		}
		// Rules.
		if st, m := call(t, e, "GET", "/capi/v1/customer/product/share/rule/NEWS", owner.token, ""); st != 200 ||
			!strings.Contains(fmt.Sprint(m), "shareCount:2") || !strings.Contains(fmt.Sprint(m), "sharedCount:2") {
			t.Errorf("rules: %d %v", st, m)
		}
		// Owner lists shares; a stranger cannot cancel; the owner cancels → access ends at once.
		if st, m := call(t, e, "GET", "/capi/v1/subscription/share", owner.token, ""); st != 200 || len(m["shares"].([]any)) != 2 {
			t.Errorf("share list: %d %v", st, m)
		}
		cancel := func(tok, code string) string {
			_, m := call(t, e, "PATCH", "/capi/v1/subscription/share", tok, fmt.Sprintf(`{"shareCode":%q,"changeType":"CANCEL"}`, code))
			return m["status"].(string)
		}
		if s := cancel(fourth.token, code); s != "SHARE_CODE_NOT_FOUND" {
			t.Errorf("stranger cancel: %s", s)
		}
		if s := cancel(owner.token, code); s != "SHARING_ENDED" {
			t.Errorf("cancel: %s", s)
		}
		if a := check(t, e, friend.token, "/capi/v1/customer/access", `{"product":"NEWS"}`); a.Access {
			t.Error("access after cancel")
		}
		// Decline (client mode) of a new invitation, then accept fails.
		c3 := send(owner.token, "fourth@firm.no")["shareCode"].(string)
		ct := e.ClientToken()
		if _, m := call(t, e, "PATCH", "/capi/v1/client/subscription/share/invitation", ct, fmt.Sprintf(`{"shareCode":%q,"changeType":"DECLINE"}`, c3)); m["status"] != "REQUEST_DECLINED" {
			t.Errorf("decline: %v", m)
		}
		if s := accept(fourth.token, c3); s != "REQUEST_DECLINED" {
			t.Errorf("accept declined: %s", s)
		}
		// Change details of a pending invitation: new contact → new code.
		c4 := send(owner.token, "fifth@firm.no")["shareCode"].(string)
		st, m := call(t, e, "PATCH", "/capi/v1/subscription/share/invitation/"+c4, owner.token, `{"contact":"sixth@firm.no","lastName":"Six"}`)
		if st != 200 || m["status"] != "SHARE_OK" || m["share"].(map[string]any)["shareCode"] == c4 {
			t.Errorf("change: %d %v", st, m)
		}
		if _, m := call(t, e, "PATCH", "/capi/v1/subscription/share/invitation/"+c4, friend.token, `{"lastName":"X"}`); m["status"] != "SHARE_CODE_NOT_FOUND" {
			t.Errorf("change by other: %v", m)
		}
	})
}

func TestShareNetsHTTP(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		owner := newUser(t, e, 9301, "boss@firm.no")
		worker := newUser(t, e, 9302, "worker@news.firm.no")
		other := newUser(t, e, 9303, "x@elsewhere.no")
		start(t, e, owner.customer, "PAPER", time.Now())
		path := "/capi/v1/customer/product/share/net/PAPER"
		for body, want := range map[string]int{
			`{"nets":[{"netType":"ip","value":"10.0.0.0/8"}]}`:     400, // too wide
			`{"nets":[{"netType":"ip","value":"10.0.0.300"}]}`:     400,
			`{"nets":[{"netType":"domain","value":"gmail.com"}]}`:  400,
			`{"nets":[{"netType":"domain","value":"bad_domain"}]}`: 400,
			`{"nets":[{"netType":"host","value":"firm.no"}]}`:      400,
			`{"nets":[{"netType":"domain","value":"a.no"},{"netType":"domain","value":"b.no"},{"netType":"domain","value":"c.no"},{"netType":"domain","value":"d.no"}]}`: 400,
		} {
			if st, m := call(t, e, "POST", path, owner.token, body); st != want {
				t.Errorf("nets %s: %d %v", body, st, m)
			}
		}
		st, m := call(t, e, "POST", path, owner.token, `{"nets":[{"netType":"ip","value":"192.0.2.0/24"},{"netType":"domain","value":"Firm.NO"}]}`)
		if st != 200 || m["maxNets"] != float64(3) || len(m["nets"].([]any)) != 2 {
			t.Fatalf("set nets: %d %v", st, m)
		}
		ct := e.ClientToken()
		if a := check(t, e, ct, "/capi/v1/client/access", `{"ip":"192.0.2.77","product":"PAPER"}`); !a.Access || a.Accesses[0].AccessLevel != "C" {
			t.Errorf("ip inside = %+v", a)
		}
		if a := check(t, e, ct, "/capi/v1/client/access", `{"ip":"192.0.3.1"}`); a.Access {
			t.Errorf("ip outside = %+v", a)
		}
		if a := check(t, e, worker.token, "/capi/v1/customer/access", `{"accessDomain":true,"product":"PAPER"}`); !a.Access {
			t.Errorf("subdomain user = %+v", a)
		}
		if a := check(t, e, other.token, "/capi/v1/customer/access", `{"accessDomain":true,"product":"PAPER"}`); a.Access {
			t.Errorf("other domain user = %+v", a)
		}
		// The same net held by another customer: 409.
		start(t, e, other.customer, "PAPER", time.Now())
		if st, m := call(t, e, "POST", path, other.token, `{"nets":[{"netType":"domain","value":"firm.no"}]}`); st != 409 {
			t.Errorf("taken net: %d %v", st, m)
		}
		if st, m := call(t, e, "GET", path, owner.token, ""); st != 200 || len(m["nets"].([]any)) != 2 {
			t.Errorf("list nets: %d %v", st, m)
		}
		if st, _ := call(t, e, "GET", "/capi/v1/customer/product/share/net/NOPE", owner.token, ""); st != 404 {
			t.Errorf("unknown product: %d", st)
		}
		// Distribution levels: NEWS/PAPER are not B2B → empty list; change refused.
		if st, m := call(t, e, "GET", "/capi/v1/customer/product/share/distributionlevel/PAPER", owner.token, ""); st != 200 || len(m["distributionLevels"].([]any)) != 0 {
			t.Errorf("levels: %d %v", st, m)
		}
		if st, _ := call(t, e, "PATCH", "/capi/v1/customer/product/share/distributionlevel/PAPER", owner.token, `{"distributionLevel":"P"}`); st != 400 {
			t.Errorf("level change: %d", st)
		}
	})
}

// TestClientAccessByConnectIDUser: a publisher's server checks a logged-in
// reader's access by uniqueId and/or credential; both must name the same user.
func TestClientAccessByConnectIDUser(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		// Alice becomes ACME's customer at her first login, then subscribes.
		alice := e.LoginUser(testkit.AliceEmail, testkit.AlicePassword)
		var profile struct {
			UniqueID       string `json:"uniqueId"`
			CustomerNumber int64  `json:"customerNumber"`
		}
		e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/profile", Token: alice.AccessToken, Accept: "application/json"}).JSON(t, &profile)
		if profile.UniqueID == "" || profile.CustomerNumber == 0 {
			t.Fatalf("profile %+v", profile)
		}
		start(t, e, profile.CustomerNumber, "NEWS", time.Now().AddDate(0, 0, -1))
		bob := e.LoginUser(testkit.BobEmail, testkit.BobPassword)
		var bobProfile struct {
			UniqueID string `json:"uniqueId"`
		}
		e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/profile", Token: bob.AccessToken, Accept: "application/json"}).JSON(t, &bobProfile)

		ct, rt := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		for _, tc := range []struct {
			name, token, body string
			access            bool
		}{
			{"by uniqueId", ct, `{"product":"NEWS","uniqueId":"` + profile.UniqueID + `"}`, true},
			{"by uniqueId in upper case", ct, `{"product":"NEWS","uniqueId":"` + strings.ToUpper(profile.UniqueID) + `"}`, true},
			{"by e-mail credential", ct, `{"product":"NEWS","credential":"ALICE@example.com"}`, true},
			{"uniqueId and credential agree", ct, `{"product":"NEWS","uniqueId":"` + profile.UniqueID + `","credential":"alice@example.com"}`, true},
			{"uniqueId and credential disagree", ct, `{"product":"NEWS","uniqueId":"` + profile.UniqueID + `","credential":"` + testkit.BobEmail + `"}`, false},
			{"another user", ct, `{"product":"NEWS","uniqueId":"` + bobProfile.UniqueID + `"}`, false},
			{"unknown uniqueId", ct, `{"product":"NEWS","uniqueId":"00000000000000000000000000000000"}`, false},
			{"another company's client", rt, `{"product":"NEWS","uniqueId":"` + profile.UniqueID + `"}`, false},
		} {
			if a := check(t, e, tc.token, "/capi/v1/client/access", tc.body); a.Access != tc.access {
				t.Errorf("%s: %+v", tc.name, a)
			}
		}
	})
}

// TestStartSubscriptionHTTP: Start subscription starts a free coupon at
// once; a priced coupon only with allowInvoiceStart, and then with its
// first invoice; on a stopped subscription it removes the stop.
func TestStartSubscriptionHTTP(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		apply := func(extra string) {
			t.Helper()
			if _, err := e.App.ApplyTenantFile(context.Background(), "extra.yaml", []byte("companies:\n  - code: ACME\n    name: Acme Media\n    country: NO\n"+extra)); err != nil {
				t.Fatal(err)
			}
		}
		apply("    coupons:\n      - {product: NEWS, couponCode: FREE, couponNumber: 5, description: Free month, price: 0, periodLength: 1, periodType: month, startTime: 2024-01-01}\n")
		alice := newUser(t, e, 9501, "alice@firm.no")
		st, m := call(t, e, "POST", "/capi/v1/subscription", alice.token, `{"product":"NEWS","couponCode":"FREE","couponNumber":5,"customerReference":"ref-1","copies":"1"}`)
		if st != 200 || m["status"] != "OK" {
			t.Fatalf("start: %d %v", st, m)
		}
		_, m = call(t, e, "GET", "/capi/v1/subscription", alice.token, "")
		subs := m["subscriptions"].([]any)
		if len(subs) != 1 || subs[0].(map[string]any)["couponCode"] != "FREE" || subs[0].(map[string]any)["paid"] != true ||
			subs[0].(map[string]any)["customerReference"] != "ref-1" || subs[0].(map[string]any)["stopped"] != false {
			t.Errorf("started: %v", m)
		}
		if a := check(t, e, alice.token, "/capi/v1/customer/access", `{"product":"NEWS"}`); !a.Access || a.Accesses[0].AccessType != "A" {
			t.Errorf("access after start = %+v", a)
		}
		if st, m := call(t, e, "POST", "/capi/v1/subscription", alice.token, `{"product":"NEWS"}`); st != 409 {
			t.Errorf("second start: %d %v", st, m)
		}
		// XML body; a product that is not a subscription.
		res := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/subscription", Token: alice.token, ContentType: "application/xml", Accept: "application/xml",
			Body: `<data><product>BOOK1</product></data>`})
		if res.Status != 400 || !strings.Contains(string(res.Body), "product: BOOK1 is not a subscription product") {
			t.Errorf("xml start of BOOK1: %d %s", res.Status, res.Body)
		}

		// A priced coupon: refused until allowInvoiceStart, then started unpaid with its invoice.
		priced := `{"product":"PAPER","couponCode":"PAPER","couponNumber":1}`
		if st, m := call(t, e, "POST", "/capi/v1/subscription", alice.token, priced); st != 400 || !strings.HasPrefix(fmt.Sprint(m["errorMessage"]), "couponCode:") {
			t.Errorf("priced without allowInvoiceStart: %d %v", st, m)
		}
		apply("    productSettings: {allowInvoiceStart: true}\n")
		if st, m := call(t, e, "POST", "/capi/v1/subscription", alice.token, priced); st != 200 {
			t.Fatalf("priced on invoice: %d %v", st, m)
		}
		var invoices, amount, period int64
		_ = e.App.DB.QueryRow(`SELECT COUNT(*), COALESCE(SUM(amount), 0), COALESCE(MAX(period_no), 0) FROM invoices WHERE customer_number = $1 AND kind = 'invoice'`,
			alice.customer).Scan(&invoices, &amount, &period)
		if invoices != 1 || amount != 44900 || period != 1 {
			t.Errorf("start invoice: %d invoices, %d øre, period %d", invoices, amount, period)
		}
		_, m = call(t, e, "GET", "/capi/v1/subscription", alice.token, "")
		for _, s := range m["subscriptions"].([]any) {
			if s := s.(map[string]any); s["product"] == "PAPER" && s["paid"] != false {
				t.Errorf("a start on invoice is unpaid until paid: %v", s)
			}
		}

		// Start on a subscription with a permanent stop removes the stop.
		tomorrow := time.Now().AddDate(0, 0, 2).Format("2006-01-02")
		if st, m := call(t, e, "POST", "/capi/v1/product/stop/delivery", alice.token, `{"product":"PAPER","stopTime":"`+tomorrow+`","stopType":"permanent"}`); st != 200 {
			t.Fatalf("permanent stop: %d %v", st, m)
		}
		if st, m := call(t, e, "POST", "/capi/v1/subscription", alice.token, priced); st != 200 {
			t.Fatalf("start on the stopped subscription: %d %v", st, m)
		}
		_, m = call(t, e, "GET", "/capi/v1/subscription", alice.token, "")
		for _, s := range m["subscriptions"].([]any) {
			if s := s.(map[string]any); s["product"] == "PAPER" && (s["stopped"] != false || s["stopTime"] != nil) {
				t.Errorf("stop not reset: %v", s)
			}
		}
		_ = e.App.DB.QueryRow(`SELECT COUNT(*) FROM invoices WHERE customer_number = $1 AND kind = 'invoice'`, alice.customer).Scan(&invoices)
		if invoices != 1 {
			t.Errorf("a stop reset issued another invoice (%d)", invoices)
		}
		if st, m := call(t, e, "GET", "/capi/v1/product/stop/delivery/PAPER", alice.token, ""); st != 200 || len(m["deliveryStops"].([]any)) != 0 {
			t.Errorf("the reset stop is still listed: %d %v", st, m)
		}
	})
}

// TestShareInvitationMessages: an invitation is sent to its contact with
// the code; resend sends it again and restarts its expiry; a new contact
// gets a new code.
func TestShareInvitationMessages(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		owner := newUser(t, e, 9601, "owner@firm.no")
		start(t, e, owner.customer, "NEWS", time.Now())
		messages := func(to string) []string {
			rows, err := e.App.DB.Query(`SELECT channel || ' ' || subject || ' | ' || body FROM outbound_messages WHERE recipient = $1 ORDER BY id`, to)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var s string
				_ = rows.Scan(&s)
				out = append(out, s)
			}
			return out
		}
		_, m := call(t, e, "POST", "/capi/v1/subscription/share/invitation", owner.token, `{"contact":"friend@firm.no","contactType":"A_EMAIL","productCode":"NEWS","firstName":"Fri"}`)
		code, _ := m["shareCode"].(string)
		got := messages("friend@firm.no")
		if len(got) != 1 || !strings.HasPrefix(got[0], "email Acme Media: U 9601 shares Acme News digital with you") || !strings.Contains(got[0], "code "+code) {
			t.Fatalf("invitation: %q", got)
		}
		var expires1, expires2 int64
		_ = e.App.DB.QueryRow(`SELECT expires_at FROM shares WHERE share_code = $1`, code).Scan(&expires1)
		if st, m := call(t, e, "PATCH", "/capi/v1/subscription/share/invitation/"+code, owner.token, `{"resend":true}`); st != 200 || m["status"] != "SHARE_OK" {
			t.Fatalf("resend: %d %v", st, m)
		}
		_ = e.App.DB.QueryRow(`SELECT expires_at FROM shares WHERE share_code = $1`, code).Scan(&expires2)
		if got := messages("friend@firm.no"); len(got) != 2 || !strings.Contains(got[1], "code "+code) || expires2 < expires1 {
			t.Errorf("resent: %q, expiry %d → %d", got, expires1, expires2)
		}
		// By SMS to a new contact: a new code, and the message goes there.
		_, m = call(t, e, "PATCH", "/capi/v1/subscription/share/invitation/"+code, owner.token, `{"contact":"+4791234567","contactType":"B"}`)
		share, _ := m["share"].(map[string]any)
		newCode, _ := share["shareCode"].(string)
		if got := messages("+4791234567"); newCode == code || len(got) != 1 || !strings.HasPrefix(got[0], "sms ") || !strings.Contains(got[0], "code "+newCode) {
			t.Errorf("new contact: %v %q", m, got)
		}
		// Resending an accepted share changes nothing.
		friend := newUser(t, e, 9602, "friend@firm.no")
		call(t, e, "PATCH", "/capi/v1/subscription/share/invitation", friend.token, fmt.Sprintf(`{"shareCode":%q,"changeType":"ACCEPT"}`, newCode))
		if _, m := call(t, e, "PATCH", "/capi/v1/subscription/share/invitation/"+newCode, owner.token, `{"resend":true}`); m["status"] != "REQUEST_ACCEPTED" || len(messages("+4791234567")) != 1 {
			t.Errorf("resend of an accepted share: %v", m)
		}
	})
}

// TestAccessObjectCriteria: categoryType matches subscriptions of a
// customer holding a category of that type (the owner's, for a share);
// articleId matches a purchase of the article (or, with product, any grant
// on it); issue matches a purchase of the issue or any grant on product;
// accessArticle lists the purchased article ids.
func TestAccessObjectCriteria(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		ctx := context.Background()
		company, _ := tenant.GetCompanyByCode(ctx, e.App.DB, testkit.Company)
		alice := newUser(t, e, 9701, "alice@firm.no")
		bob := newUser(t, e, 9702, "bob@firm.no")
		carol := newUser(t, e, 9703, "carol@firm.no")
		start(t, e, alice.customer, "NEWS", time.Now())
		start(t, e, bob.customer, "NEWS", time.Now())
		if err := e.App.DB.Tx(ctx, func(tx *sql.Tx) error { return customer.AddCategory(ctx, tx, company.ID, alice.customer, "STUD") }); err != nil {
			t.Fatal(err)
		}
		_, m := call(t, e, "POST", "/capi/v1/subscription/share/invitation", alice.token, `{"contact":"carol@firm.no","contactType":"A","productCode":"NEWS"}`)
		call(t, e, "PATCH", "/capi/v1/subscription/share/invitation", carol.token, fmt.Sprintf(`{"shareCode":%q,"changeType":"ACCEPT"}`, m["shareCode"]))
		// Purchases: alice buys article a-77 of BOOK1, bob issue 2025-07 of PAPER (both on invoice).
		buy := func(u user, line string) {
			t.Helper()
			st, m := call(t, e, "POST", "/capi/v1/order", u.token, `{"paymentMethod":"invoice","payer":{"firstName":"U","lastName":"X","postalCode":"0150","emails":["u@firm.no"]},"orderLines":[`+line+`]}`)
			if st != 200 {
				t.Fatalf("order %s: %d %v", line, st, m)
			}
			if st, m := call(t, e, "POST", "/capi/v1/client/order/fulfillment", e.ClientToken(), fmt.Sprintf(`{"orderId":%v}`, m["orderId"])); st != 200 {
				t.Fatalf("fulfilment: %d %v", st, m)
			}
		}
		buy(alice, `{"productSpecType":"article","articleDetail":{"companyCode":"ACME","product":"BOOK1","articleRef":"a-77","articleDesc":"Story"}}`)
		buy(bob, `{"productSpecType":"issue","productSpecCode":"PAPER","productSpecNo":1,"product":"2025-07"}`)

		for _, tc := range []struct {
			name  string
			u     user
			body  string
			level string // the granting level, "" for none
		}{
			{"category holder", alice, `{"product":"NEWS","categoryType":"SWISJ"}`, "A"},
			{"category alone", alice, `{"categoryType":"SWISJ"}`, "A"},
			{"category not held", bob, `{"product":"NEWS","categoryType":"SWISJ"}`, ""},
			{"unknown category type", alice, `{"product":"NEWS","categoryType":"NOPE"}`, ""},
			{"category of the share's owner", carol, `{"product":"NEWS","categoryType":"SWISJ"}`, "B"},
			{"purchased article", alice, `{"articleId":"a-77"}`, "A"},
			{"purchased article of the product", alice, `{"articleId":"a-77","product":"BOOK1"}`, "A"},
			{"article not purchased", alice, `{"articleId":"a-78"}`, ""},
			{"article of someone else", bob, `{"articleId":"a-77"}`, ""},
			{"article covered by the product grant", alice, `{"articleId":"a-78","product":"NEWS"}`, "A"},
			{"purchased issue", bob, `{"product":"PAPER","issue":"2025-07"}`, "A"},
			{"issue not purchased", bob, `{"product":"PAPER","issue":"2025-08"}`, ""},
			{"issue covered by the product grant", alice, `{"product":"NEWS","issue":"2025-08"}`, "A"},
			{"issue of someone else", alice, `{"product":"PAPER","issue":"2025-07"}`, ""},
		} {
			a := check(t, e, tc.u.token, "/capi/v1/customer/access", tc.body)
			level := ""
			for _, x := range a.Accesses {
				if x.Access && level == "" {
					level = x.AccessLevel
				}
			}
			if level != tc.level || a.Access != (tc.level != "") {
				t.Errorf("%s %s: %+v", tc.name, tc.body, a)
			}
		}
		// The client-mode check applies the same criteria.
		if a := check(t, e, e.ClientToken(), "/capi/v1/client/access", `{"credential":"alice@firm.no","articleId":"a-77"}`); !a.Access {
			t.Errorf("client-mode article check: %+v", a)
		}
		var ids struct {
			ArticleIDs []string `json:"articleIds"`
		}
		res := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/customer/access", Token: alice.token, ContentType: "application/json", Body: `{"accessArticle":true}`})
		res.JSON(t, &ids)
		if len(ids.ArticleIDs) != 1 || ids.ArticleIDs[0] != "a-77" {
			t.Errorf("accessArticle: %s", res.Body)
		}
		res = e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/customer/access", Token: alice.token, ContentType: "application/json", Body: `{"accessArticle":true,"product":"NEWS"}`})
		if strings.Contains(string(res.Body), "a-77") {
			t.Errorf("accessArticle of NEWS: %s", res.Body)
		}
	})
}
