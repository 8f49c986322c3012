package message_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/testkit"
)

type env struct {
	*testkit.Env
	client, rival string
}

func run(t *testing.T, fn func(t *testing.T, e *env)) {
	testkit.Run(t, func(t *testing.T, te *testkit.Env) {
		fn(t, &env{Env: te, client: te.ClientToken(), rival: te.Token(testkit.RivalClientID, testkit.RivalSecret)})
	})
}

func (e *env) call(method, path, token, body string) *testkit.Response {
	e.T.Helper()
	return e.Call(testkit.Request{Method: method, Path: path, Token: token, Accept: "application/json",
		ContentType: "application/json", Body: body})
}

func want(t testing.TB, r *testkit.Response, status int, contains ...string) {
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

func (e *env) count(query string, args ...any) int {
	e.T.Helper()
	var n int
	if err := e.App.DB.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		e.T.Fatal(err)
	}
	return n
}

// register creates a customer of the token's company (client mode).
func (e *env) register(token, lastName, postalCode string) int64 {
	e.T.Helper()
	r := e.call("POST", "/capi/v1/client/customer", token,
		fmt.Sprintf(`{"firstName":"Kari","lastName":%q,"postalCode":%q,"emails":["%s@example.no"]}`, lastName, postalCode, strings.ToLower(lastName)))
	want(e.T, r, 200, "customerNumber")
	var out struct{ CustomerNumber int64 }
	r.JSON(e.T, &out)
	return out.CustomerNumber
}

var users int

// userOf is a user-mode token of a (new) user linked to customer (0: none).
func (e *env) userOf(customer int64) string {
	users++
	return e.MintUserToken(fmt.Sprintf("%032x", 0xfeed00+users), int64(800000+users), customer)
}

type thread struct {
	Messages []struct {
		ID             int64  `json:"id"`
		Date           int64  `json:"date"`
		Direction      string `json:"direction"`
		Product        string `json:"product"`
		CaseType       string `json:"caseType"`
		MessageSubject string `json:"messageSubject"`
		MessageContent string `json:"messageContent"`
	} `json:"messages"`
}

func TestSendAndListUserMode(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		kari, ola := e.register(e.client, "Send", "0179"), e.register(e.client, "Other", "0179")
		kariTok, olaTok := e.userOf(kari), e.userOf(ola)
		want(t, e.call("GET", "/capi/v1/customer/message", kariTok, ""), 200, `{"messages":[]}`)

		r := e.call("POST", "/capi/v1/customer/message", kariTok,
			`{"product":"PAPER","caseType":"b","messageSubject":"cancel","messageContent":"Please stop the paper while I am abroad in July."}`)
		want(t, r, 200)
		var th thread
		r.JSON(t, &th)
		if len(th.Messages) != 1 {
			t.Fatalf("thread %+v", th)
		}
		m := th.Messages[0]
		if m.ID == 0 || m.Date == 0 || m.Direction != "IN" || m.Product != "PAPER" || m.CaseType != "B" || m.MessageSubject != "cancel" ||
			m.MessageContent != "Please stop the paper while I am abroad in July." {
			t.Fatalf("message %+v", m)
		}
		// A general inquiry: no caseType, no subject.
		r = e.call("POST", "/capi/v1/customer/message", kariTok, `{"product":"NEWS","messageContent":"Why is the app slow?"}`)
		want(t, r, 200)
		r.JSON(t, &th)
		if len(th.Messages) != 2 || th.Messages[0].ID != m.ID || th.Messages[1].CaseType != "" || strings.Contains(string(r.Body), `"caseType":""`) {
			t.Fatalf("thread %s", r.Body)
		}
		// Customer service is told by a message/new event with the content.
		if n := e.count(`SELECT COUNT(*) FROM event_outbox o JOIN companies c ON c.id = o.company_id
			WHERE c.code = 'ACME' AND o.type = 'message' AND o.status = 'new' AND o.data LIKE $1`,
			fmt.Sprintf(`%%"customerNumber":%d%%abroad in July%%`, kari)); n != 1 {
			t.Fatalf("message events: %d", n)
		}
		// A reply from the back office shows in the thread, after the others.
		if _, err := e.App.DB.ExecContext(context.Background(), `INSERT INTO customer_messages (company_id, customer_number, direction,
			content, created_at) SELECT id, $1, 'OUT', 'We have stopped it.', $2 FROM companies WHERE code = 'ACME'`,
			kari, time.Now().Add(time.Hour).UnixMilli()); err != nil {
			t.Fatal(err)
		}
		r = e.call("GET", "/capi/v1/customer/message", kariTok, "")
		want(t, r, 200)
		r.JSON(t, &th)
		if len(th.Messages) != 3 || th.Messages[2].Direction != "OUT" || th.Messages[2].MessageContent != "We have stopped it." {
			t.Fatalf("thread %s", r.Body)
		}
		// XML: <messages><message>.
		x := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/message", Token: kariTok, Accept: "application/xml"})
		want(t, x, 200, "<messages><message><id>", "<direction>IN</direction>", "<caseType>B</caseType>")

		// Another customer sees only their own (nothing).
		want(t, e.call("GET", "/capi/v1/customer/message", olaTok, ""), 200, `{"messages":[]}`)
		// A user without a customer: empty list; sending is 404.
		none := e.userOf(0)
		want(t, e.call("GET", "/capi/v1/customer/message", none, ""), 200, `{"messages":[]}`)
		want(t, e.call("POST", "/capi/v1/customer/message", none, `{"product":"NEWS","messageContent":"Hello"}`), 404, "no customer linked to user")
		// A token for a customer that does not exist stores nothing.
		want(t, e.call("POST", "/capi/v1/customer/message", e.userOf(99999999), `{"product":"NEWS","messageContent":"Hello"}`), 404, "no customer linked to user")
		// Wrong mode.
		want(t, e.call("GET", "/capi/v1/customer/message", e.client, ""), 403, "insufficient_scope")
		want(t, e.call("POST", "/capi/v1/client/customer/message", kariTok, fmt.Sprintf(`{"customerNumber":%d,"messageContent":"x"}`, kari)), 403)
	})
}

func TestSendClientMode(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		kari := e.register(e.client, "Client", "0179")
		// Customer numbers count per company: RIVAL's second customer has a
		// number ACME (one customer) does not use.
		e.register(e.rival, "Rival", "11122")
		rivalCustomer := e.register(e.rival, "Rival2", "11122")
		if e.count(`SELECT COUNT(*) FROM customers WHERE customer_number = $1`, rivalCustomer) != 1 {
			t.Fatalf("customer %d is not RIVAL's only", rivalCustomer)
		}

		r := e.call("POST", "/capi/v1/client/customer/message", e.client, fmt.Sprintf(`{"customerNumber":%d,"messageContent":"Called about the bill."}`, kari))
		want(t, r, 200, `"direction":"IN"`, `"messageContent":"Called about the bill."`)
		if strings.Contains(string(r.Body), `"product"`) {
			t.Fatalf("product is optional in client mode and was not given: %s", r.Body)
		}
		// As XML, with the PHP serializers' <data> root; the answer is the thread.
		x := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/customer/message", Token: e.client, ContentType: "application/xml",
			Body: fmt.Sprintf(`<data><customerNumber>%d</customerNumber><product>NEWS</product><caseType>A</caseType><messageContent>Still no paper.</messageContent></data>`, kari)})
		want(t, x, 200, "<messages>", "<caseType>A</caseType>", "Called about the bill.")
		// The user sees what the client wrote on their behalf.
		want(t, e.call("GET", "/capi/v1/customer/message", e.userOf(kari), ""), 200, "Called about the bill.", "Still no paper.")

		// Another company's customer, and a customer of no company, are 404; nothing is stored.
		before := e.count(`SELECT COUNT(*) FROM customer_messages`)
		want(t, e.call("POST", "/capi/v1/client/customer/message", e.client, fmt.Sprintf(`{"customerNumber":%d,"messageContent":"x"}`, rivalCustomer)), 404, "NotFoundException")
		want(t, e.call("POST", "/capi/v1/client/customer/message", e.client, `{"customerNumber":99999999,"messageContent":"x"}`), 404)
		// The rival's product is not ACME's.
		want(t, e.call("POST", "/capi/v1/client/customer/message", e.client, fmt.Sprintf(`{"customerNumber":%d,"product":"RIVALNEWS","messageContent":"x"}`, kari)), 400, "product: unknown product")
		if after := e.count(`SELECT COUNT(*) FROM customer_messages`); after != before {
			t.Fatalf("messages stored by failed calls: %d → %d", before, after)
		}
	})
}

func TestSendValidation(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		kari := e.register(e.client, "Valid", "0179")
		user := e.userOf(kari)
		long := func(n int) string { return strings.Repeat("æ", n) }
		cases := []struct {
			name, path, token, body, want string
		}{
			{"product required in user mode", "/capi/v1/customer/message", user, `{"messageContent":"x"}`, "product: required"},
			{"unknown product", "/capi/v1/customer/message", user, `{"product":"NOPE","messageContent":"x"}`, "product: unknown product NOPE"},
			{"product too long", "/capi/v1/customer/message", user, `{"product":"ABCDEFGHIJKLM","messageContent":"x"}`, "product: at most 12"},
			{"bad caseType", "/capi/v1/customer/message", user, `{"product":"NEWS","caseType":"C","messageContent":"x"}`, "caseType"},
			{"caseType too long", "/capi/v1/customer/message", user, `{"product":"NEWS","caseType":"AB","messageContent":"x"}`, "caseType: at most 1"},
			{"subject too long", "/capi/v1/customer/message", user, `{"product":"NEWS","messageSubject":"` + long(41) + `","messageContent":"x"}`, "messageSubject: at most 40"},
			{"content missing", "/capi/v1/customer/message", user, `{"product":"NEWS"}`, "messageContent: required"},
			{"content blank", "/capi/v1/customer/message", user, `{"product":"NEWS","messageContent":" \n\t "}`, "messageContent: required"},
			{"content too long", "/capi/v1/customer/message", user, `{"product":"NEWS","messageContent":"` + long(32001) + `"}`, "messageContent: at most 32000"},
			{"content with NUL", "/capi/v1/customer/message", user, `{"product":"NEWS","messageContent":"a\u0000b"}`, "messageContent"},
			{"content not a string", "/capi/v1/customer/message", user, `{"product":"NEWS","messageContent":{"a":1}}`, "messageContent"},
			{"customerNumber in user mode", "/capi/v1/customer/message", user, fmt.Sprintf(`{"customerNumber":%d,"product":"NEWS","messageContent":"x"}`, kari), "customerNumber: not allowed"},
			{"malformed JSON", "/capi/v1/customer/message", user, `{"product":`, "ValidationException"},
			{"customerNumber required", "/capi/v1/client/customer/message", e.client, `{"messageContent":"x"}`, "customerNumber: required"},
			{"customerNumber not a number", "/capi/v1/client/customer/message", e.client, `{"customerNumber":"abc","messageContent":"x"}`, "customerNumber"},
			{"customerNumber negative", "/capi/v1/client/customer/message", e.client, `{"customerNumber":-4,"messageContent":"x"}`, "customerNumber"},
			{"client content missing", "/capi/v1/client/customer/message", e.client, fmt.Sprintf(`{"customerNumber":%d}`, kari), "messageContent: required"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				want(t, e.call("POST", c.path, c.token, c.body), 400, "ValidationException", c.want)
			})
		}
		// Limits are inclusive.
		want(t, e.call("POST", "/capi/v1/customer/message", user, `{"product":"NEWS","messageSubject":"`+long(40)+`","messageContent":"`+long(32000)+`"}`), 200)
		if n := e.count(`SELECT COUNT(*) FROM customer_messages`); n != 1 {
			t.Fatalf("stored messages: %d, want only the valid one", n)
		}
	})
}

type notices struct {
	StatusMessages []struct {
		ID        int64    `json:"id"`
		Title     string   `json:"title"`
		Severity  string   `json:"severity"`
		Products  []string `json:"products"`
		StartTime int64    `json:"startTime"`
		EndTime   *int64   `json:"endTime"`
	} `json:"statusMessages"`
}

func (e *env) noticeIDs(token string) string {
	e.T.Helper()
	r := e.call("GET", "/capi/v1/customer/status", token, "")
	want(e.T, r, 200)
	if strings.Contains(string(r.Body), "postalCode") {
		e.T.Fatalf("postal codes are never returned: %s", r.Body)
	}
	var n notices
	r.JSON(e.T, &n)
	ids := []string{}
	for _, s := range n.StatusMessages {
		ids = append(ids, fmt.Sprint(s.ID))
	}
	return strings.Join(ids, ",")
}

func TestStatusMessagesTargets(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		// Fixture: 1 for everyone (info), 2 for PAPER subscribers (warning),
		// 3 for postal code 0150 (critical); 4 has ended, 5 has not begun.
		plain := e.register(e.client, "Plain", "0179")
		storm := e.register(e.client, "Storm", "150") // padded to 0150
		paper := e.register(e.client, "Paper", "0179")
		r := e.call("POST", "/capi/v1/client/order", e.client, fmt.Sprintf(`{"paymentMethod":"invoice","payer":{"customerNumber":%d},
			"orderLines":[{"productSpecType":"coupon","productSpecCode":"PAPER","productSpecNo":1}]}`, paper))
		want(t, r, 200, "orderId")
		var o struct{ OrderID int64 }
		r.JSON(t, &o)
		want(t, e.call("POST", "/capi/v1/client/order/fulfillment", e.client, fmt.Sprintf(`{"orderId":%d}`, o.OrderID)), 200, `"fulfillmentStatus":"OK"`)

		for _, c := range []struct {
			name, token, want string
		}{
			{"no customer", e.userOf(0), "1"},
			{"no targets met", e.userOf(plain), "1"},
			{"postal code", e.userOf(storm), "3,1"},
			{"product subscriber", e.userOf(paper), "2,1"},
		} {
			if got := e.noticeIDs(c.token); got != c.want {
				t.Errorf("%s: notices %q, want %q", c.name, got, c.want)
			}
		}
		// The shape: products shown, endTime left out when open-ended.
		r = e.call("GET", "/capi/v1/customer/status", e.userOf(paper), "")
		want(t, r, 200, `"severity":"warning"`, `"products":["PAPER"]`, `"title":"Late paper"`)
		if strings.Contains(string(r.Body), "endTime") || strings.Contains(string(r.Body), "Rival") {
			t.Fatalf("status list %s", r.Body)
		}
		x := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/status", Token: e.userOf(storm), Accept: "application/xml"})
		want(t, x, 200, "<statusMessages><statusMessage><id>3</id>")
		want(t, e.call("GET", "/capi/v1/customer/status", e.client, ""), 403, "insufficient_scope")

		// The tenant file manages notices: ending one hides it, a new one shows.
		file := `companies:
  - code: ACME
    name: Acme Media
    country: NO
    statusMessages:
      - {id: 1, title: Planned maintenance, message: Done., severity: info, startTime: 2024-01-01, endTime: 2024-06-30}
      - {id: 6, title: New app, message: Update now., severity: warning, startTime: "2024-05-01T10:00:00Z"}
`
		if _, err := e.App.ApplyTenantFile(context.Background(), "notices.yaml", []byte(file)); err != nil {
			t.Fatal(err)
		}
		if got := e.noticeIDs(e.userOf(storm)); got != "3,6" {
			t.Errorf("after the change: %q, want 3,6", got)
		}
		if res, err := e.App.ApplyTenantFile(context.Background(), "notices.yaml", []byte(file)); err != nil || !res.Unchanged {
			t.Errorf("re-apply: %+v, %v", res, err)
		}
		bad := strings.Replace(file, "startTime: 2024-01-01, endTime", "products: [RIVALNEWS], startTime: 2024-01-01, endTime", 1)
		if _, err := e.App.ApplyTenantFile(context.Background(), "bad.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "unknown product RIVALNEWS") {
			t.Errorf("a rival's product as target: %v", err)
		}
		bad = strings.Replace(file, "severity: info", "severity: urgent", 1)
		if _, err := e.App.ApplyTenantFile(context.Background(), "bad.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "severity") {
			t.Errorf("bad severity: %v", err)
		}
	})
}

func TestStatusMessagesWindow(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		clock := testkit.NewClock(time.Date(2020, 6, 1, 12, 0, 0, 0, time.UTC))
		e := &env{Env: testkit.New(t, d, testkit.WithClock(clock))}
		user := e.userOf(0)
		if got := e.noticeIDs(user); got != "4" {
			t.Fatalf("2020: %q, want 4", got)
		}
		// endTime as a date is the end of that day in the company zone (Oslo, UTC+1 in winter).
		clock.Set(time.Date(2020, 12, 31, 22, 59, 0, 0, time.UTC))
		if got := e.noticeIDs(user); got != "4" {
			t.Fatalf("last minute of 2020 in Oslo: %q, want 4", got)
		}
		clock.Set(time.Date(2020, 12, 31, 23, 0, 0, 0, time.UTC))
		if got := e.noticeIDs(user); got != "" {
			t.Fatalf("2021 in Oslo: %q, want none", got)
		}
		clock.Set(time.Date(2099, 1, 2, 0, 0, 0, 0, time.UTC))
		if got := e.noticeIDs(user); got != "5,1" {
			t.Fatalf("2099: %q, want 5,1", got)
		}
	})
}

func TestPrivacyExportAndErasure(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		kari, ola := e.register(e.client, "Private", "0179"), e.register(e.client, "Kept", "0179")
		kariTok := e.userOf(kari)
		want(t, e.call("POST", "/capi/v1/customer/message", kariTok, `{"product":"NEWS","messageContent":"My secret question"}`), 200)
		want(t, e.call("POST", "/capi/v1/client/customer/message", e.client, fmt.Sprintf(`{"customerNumber":%d,"messageContent":"Ola's"}`, ola)), 200)

		r := e.call("GET", "/capi/v1/customer/private-data", kariTok, "")
		want(t, r, 200, `"messages":[{"id":`, "My secret question")
		if strings.Contains(string(r.Body), "Ola's") {
			t.Fatalf("another customer's message in the export: %s", r.Body)
		}
		want(t, e.call("DELETE", "/capi/v1/customer/private-data", kariTok, ""), 200)
		if n := e.count(`SELECT COUNT(*) FROM customer_messages WHERE customer_number = $1`, kari); n != 0 {
			t.Fatalf("messages left after erasure: %d", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM customer_messages WHERE customer_number = $1`, ola); n != 1 {
			t.Fatalf("another customer's messages: %d", n)
		}
		// The outbox keeps the events, without the erased customer's text.
		if n := e.count(`SELECT COUNT(*) FROM event_outbox WHERE type = 'message' AND data LIKE '%secret question%'`); n != 0 {
			t.Fatalf("erased text left in %d outbox events", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM event_outbox WHERE type = 'message' AND data LIKE '%Ola''s%'`); n != 1 {
			t.Fatalf("another customer's message event: %d", n)
		}
	})
}
