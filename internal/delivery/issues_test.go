package delivery_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/testkit"
)

// calendarYAML gives PAPER a calendar without Sundays and New Year's Day
// (plan 5), a weekend-only plan 6 for subscribers, and a magazine series
// MAG with explicit dates, distributed 5 days before publication and
// delivered the day after.
const calendarYAML = `companies:
  - code: ACME
    name: Acme Media
    country: NO
    products:
      - {product: MAG, description: Acme Magazine, productType: series, startTime: 2024-01-01, endTime: 2025-06-30, retailPrice: 99, vatPercent: 0}
    deliveryPlans:
      - {productDeliveryPlanId: 5, planName: NOSUNDAY, sunday: noAccessOrDelivery}
      - {productDeliveryPlanId: 6, planName: WEEKEND, monday: onlyDigitalAccess, tuesday: onlyDigitalAccess, wednesday: onlyDigitalAccess,
         thursday: onlyDigitalAccess, friday: onlyDigitalAccess, sunday: noAccessOrDelivery}
    publications:
      - product: PAPER
        productDeliveryPlanId: 5
        noIssueDates: ["2025-01-01"]
        complaintActions:
          - {complaintAction: "14", description: Paper not delivered, postDistribution: true}
          - {complaintAction: "20", description: Paper damaged}
      - product: MAG
        issueDates: ["2024-03-01", "2024-06-01", "2024-09-01", "2024-12-01", "2025-03-01"]
        distributionLeadDays: 5
        deliveryLeadDays: 1
`

type calendarIssue struct {
	Issue                   string `json:"issue"`
	PublicationDate         int64  `json:"publicationDate"`
	DistributionPlannedDate int64  `json:"distributionPlannedDate"`
	DistributionDate        *int64 `json:"distributionDate"`
}

// productIssues calls issue-product-list-client, failing unless 200.
func (e *env) productIssues(t *testing.T, product, query string) []calendarIssue {
	t.Helper()
	res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/issues/" + product + query, Token: e.ClientToken(), Accept: "application/json"})
	if res.Status != 200 {
		t.Fatalf("issues %s%s: %d %s", product, query, res.Status, res.Body)
	}
	var out struct {
		Issues []struct {
			ProductID          string          `json:"productId"`
			ProductType        string          `json:"productType"`
			SubscriptionIssues []calendarIssue `json:"subscriptionIssues"`
		} `json:"issues"`
	}
	res.JSON(t, &out)
	if len(out.Issues) != 1 || out.Issues[0].ProductID != product {
		t.Fatalf("issues %s: %s", product, res.Body)
	}
	return out.Issues[0].SubscriptionIssues
}

// codes lists issues as "code@publication date".
func codes(list []calendarIssue) string {
	var out []string
	for _, is := range list {
		out = append(out, is.Issue+"@"+time.UnixMilli(is.PublicationDate).In(oslo).Format("01-02"))
	}
	return strings.Join(out, " ")
}

// TestIssueCalendarClient: the publication calendar follows the plan's
// weekdays and the holidays, codes count the year's issues, windows follow
// from/to, a series lists all its issues, and who may see what.
func TestIssueCalendarClient(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, day("2025-01-10").Add(10*time.Hour), calendarYAML)
		if res, err := e.App.ApplyTenantFile(context.Background(), "cal.yaml", []byte(calendarYAML)); err != nil || !res.Unchanged {
			t.Errorf("re-apply: %+v %v", res, err)
		}
		got := e.productIssues(t, "PAPER", "?from=2025-01-01&to=2025-01-13")
		if want := "2025-01@01-02 2025-02@01-03 2025-03@01-04 2025-04@01-06 2025-05@01-07 2025-06@01-08 2025-07@01-09 2025-08@01-10 2025-09@01-11 2025-10@01-13"; codes(got) != want {
			t.Errorf("PAPER calendar:\n got %s\nwant %s", codes(got), want)
		}
		// Today's issue was distributed at the start of the day; tomorrow's not yet.
		for _, is := range got {
			distributed := is.DistributionDate != nil
			if want := is.PublicationDate <= day("2025-01-10").UnixMilli(); distributed != want || (distributed && *is.DistributionDate != is.DistributionPlannedDate) {
				t.Errorf("%s distributionDate %v", is.Issue, is.DistributionDate)
			}
		}
		// Codes count from 1 January even when the window starts later.
		if got := e.productIssues(t, "PAPER", "?from=2025-01-13&to=2025-01-13"); codes(got) != "2025-10@01-13" {
			t.Errorf("one day: %s", codes(got))
		}
		// Only from: one year from it (2025-02-01 to 2026-01-31).
		year := e.productIssues(t, "PAPER", "?from=2025-02-01")
		if first, last := year[0], year[len(year)-1]; first.Issue != "2025-27" || time.UnixMilli(last.PublicationDate).In(oslo).Format("2006-01-02") != "2026-01-31" {
			t.Errorf("a year from 1 February: %s … %s", first.Issue, last.Issue)
		}
		// Neither: one year from today.
		if got := e.productIssues(t, "PAPER", ""); got[0].Issue != "2025-08" || time.UnixMilli(got[len(got)-1].PublicationDate).In(oslo).Format("2006-01-02") != "2026-01-09" {
			t.Errorf("default window: %s … %s", got[0].Issue, got[len(got)-1].Issue)
		}
		// A series lists all its issues; distribution comes 5 days before publication.
		mag := e.productIssues(t, "MAG", "")
		if codes(mag) != "2024-01@03-01 2024-02@06-01 2024-03@09-01 2024-04@12-01 2025-01@03-01" {
			t.Errorf("MAG: %s", codes(mag))
		}
		if planned := time.UnixMilli(mag[4].DistributionPlannedDate).In(oslo).Format("2006-01-02"); planned != "2025-02-24" || mag[4].DistributionDate != nil {
			t.Errorf("MAG 2025-01 planned %s, distributed %v", planned, mag[4].DistributionDate)
		}
		// A product without a calendar has no issues.
		if got := e.productIssues(t, "NEWS", ""); len(got) != 0 {
			t.Errorf("NEWS: %s", codes(got))
		}
		res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/issues/PAPER?from=2025-01-10&to=2025-01-11", Token: e.ClientToken(), Accept: "application/xml"})
		if res.Status != 200 || !strings.Contains(string(res.Body), "<issues><issue><productId>PAPER</productId><productType>subscription</productType><subscriptionIssues><subscriptionIssue><issue>2025-08</issue>") {
			t.Errorf("XML: %d %s", res.Status, res.Body)
		}
		for _, tc := range []struct {
			name, path, token string
			status            int
			field             string
		}{
			{"to before from", "/capi/v1/client/issues/PAPER?from=2025-02-01&to=2025-01-01", e.ClientToken(), 400, "to"},
			{"more than 366 days", "/capi/v1/client/issues/PAPER?from=2025-01-01&to=2026-01-03", e.ClientToken(), 400, "to"},
			{"bad from", "/capi/v1/client/issues/PAPER?from=1.1.2025", e.ClientToken(), 400, "from"},
			{"bad to", "/capi/v1/client/issues/PAPER?to=2025-13-01", e.ClientToken(), 400, "to"},
			{"code too long", "/capi/v1/client/issues/PAPERPAPERPAPER", e.ClientToken(), 400, "productId"},
			{"unknown product", "/capi/v1/client/issues/NOPE", e.ClientToken(), 404, ""},
			{"another company's product", "/capi/v1/client/issues/RIVALNEWS", e.ClientToken(), 404, ""},
			{"rival client", "/capi/v1/client/issues/PAPER", e.Token(testkit.RivalClientID, testkit.RivalSecret), 404, ""},
			{"user token", "/capi/v1/client/issues/PAPER", e.newUser(t, 7801, "u@firm.no").token, 403, ""},
		} {
			st, m := e.call(t, "GET", tc.path, tc.token, "")
			if st != tc.status {
				t.Errorf("%s: %d %v", tc.name, st, m)
				continue
			}
			if msg, _ := m["errorMessage"].(string); tc.field != "" && !strings.HasPrefix(msg, tc.field+":") {
				t.Errorf("%s: errorMessage %q does not name %s", tc.name, msg, tc.field)
			}
		}
		bad := strings.Replace(calendarYAML, "productDeliveryPlanId: 5\n", "productDeliveryPlanId: 9\n", 1)
		if _, err := e.App.ApplyTenantFile(context.Background(), "bad.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "no delivery plan 9") {
			t.Errorf("unknown plan: %v", err)
		}
		bad = strings.Replace(calendarYAML, `"2025-01-01"`, `"2025-01-32"`, 1)
		if _, err := e.App.ApplyTenantFile(context.Background(), "bad.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "publications[0].noIssueDates[0]: must be a date") {
			t.Errorf("bad date: %v", err)
		}
	})
}

type nextList struct {
	NextDistribution *struct {
		Product                 string `json:"product"`
		Issue                   string `json:"issue"`
		PublicationDate         int64  `json:"publicationDate"`
		DistributionPlannedDate int64  `json:"distributionPlannedDate"`
	} `json:"nextDistribution"`
	NextDelivery *struct {
		Product      string `json:"product"`
		Issue        string `json:"issue"`
		DeliveryDate int64  `json:"deliveryDate"`
	} `json:"nextDelivery"`
}

func (n nextList) String() string {
	s := "distribution -"
	if n.NextDistribution != nil {
		s = "distribution " + n.NextDistribution.Issue + "@" + time.UnixMilli(n.NextDistribution.DistributionPlannedDate).In(oslo).Format("01-02")
	}
	if n.NextDelivery != nil {
		return s + ", delivery " + n.NextDelivery.Issue + "@" + time.UnixMilli(n.NextDelivery.DeliveryDate).In(oslo).Format("01-02")
	}
	return s + ", delivery -"
}

func (e *env) next(t *testing.T, path, token string) string {
	t.Helper()
	res := e.Call(testkit.Request{Method: "GET", Path: path, Token: token, Accept: "application/json"})
	if res.Status != 200 {
		t.Fatalf("%s: %d %s", path, res.Status, res.Body)
	}
	var n nextList
	res.JSON(t, &n)
	return n.String()
}

type delivered struct {
	Issue           string `json:"issue"`
	DistributedDate int64  `json:"distributedDate"`
}

func (e *env) deliveredIssues(t *testing.T, token, product, query string) string {
	t.Helper()
	res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/issues/" + product + query, Token: token, Accept: "application/json"})
	if res.Status != 200 {
		t.Fatalf("distributed %s: %d %s", product, res.Status, res.Body)
	}
	var out struct {
		DeliveredIssues []delivered `json:"deliveredIssues"`
	}
	res.JSON(t, &out)
	var s []string
	for _, is := range out.DeliveredIssues {
		s = append(s, is.Issue+"@"+time.UnixMilli(is.DistributedDate).In(oslo).Format("01-02"))
	}
	return strings.Join(s, " ")
}

// TestNextDeliveryAndDistributedIssues: the next distribution is the
// product's; the next delivery and the distributed issues are the
// customer's, skipping stopped days, days outside the subscription and
// days the subscriber's plan gives no paper.
func TestNextDeliveryAndDistributedIssues(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, day("2025-01-10").Add(10*time.Hour), calendarYAML)
		alice := e.newUser(t, 7811, "alice@firm.no")
		bob := e.newUser(t, 7812, "bob@firm.no")
		subID := e.start(t, alice.customer, "PAPER", "2025-01-03", 44900)
		e.stops(t, "POST", registerPath, alice.token, temporary("PAPER", "2025-01-11", "2025-01-13"))

		ct := e.ClientToken()
		if got := e.next(t, "/capi/v1/client/delivery/PAPER", ct); got != "distribution 2025-09@01-11, delivery 2025-08@01-10" {
			t.Errorf("client PAPER: %s", got)
		}
		if got := e.next(t, "/capi/v1/product/delivery/PAPER", alice.token); got != "distribution 2025-09@01-11, delivery 2025-08@01-10" {
			t.Errorf("alice today: %s", got)
		}
		if got := e.next(t, "/capi/v1/product/delivery/PAPER", bob.token); got != "distribution 2025-09@01-11, delivery -" {
			t.Errorf("bob: %s", got)
		}
		// MAG: distributed 24 February, delivered the day after.
		if got := e.next(t, "/capi/v1/client/delivery/MAG", ct); got != "distribution 2025-01@02-24, delivery 2025-01@02-25" {
			t.Errorf("client MAG: %s", got)
		}
		// Digital products are never delivered.
		if got := e.next(t, "/capi/v1/client/delivery/NEWS", ct); got != "distribution -, delivery -" {
			t.Errorf("client NEWS: %s", got)
		}

		// Tomorrow the stop runs through the 13th (the 12th is a Sunday).
		e.clock.Set(day("2025-01-11").Add(time.Hour))
		if got := e.next(t, "/capi/v1/product/delivery/PAPER", alice.token); got != "distribution 2025-10@01-13, delivery 2025-11@01-14" {
			t.Errorf("alice during the stop: %s", got)
		}
		if got := e.next(t, "/capi/v1/client/delivery/PAPER", ct); got != "distribution 2025-10@01-13, delivery 2025-09@01-11" {
			t.Errorf("client ignores stops: %s", got)
		}

		e.clock.Set(day("2025-01-16").Add(9 * time.Hour))
		e.jobs(t)
		if got, want := e.deliveredIssues(t, alice.token, "PAPER", ""), "2025-02@01-03 2025-03@01-04 2025-04@01-06 2025-05@01-07 2025-06@01-08 2025-07@01-09 2025-08@01-10 2025-11@01-14 2025-12@01-15 2025-13@01-16"; got != want {
			t.Errorf("alice's issues:\n got %s\nwant %s", got, want)
		}
		if got := e.deliveredIssues(t, alice.token, "PAPER", "?from=2025-01-08&to=2025-01-09"); got != "2025-06@01-08 2025-07@01-09" {
			t.Errorf("alice's issues 8–9 January: %s", got)
		}
		if got := e.deliveredIssues(t, bob.token, "PAPER", ""); got != "" {
			t.Errorf("bob's issues: %s", got)
		}
		// A weekend plan: paper on Saturdays only, weekday issues digitally.
		if _, err := e.App.DB.Exec(`UPDATE subscriptions SET product_delivery_plan_id = 6 WHERE id = $1`, subID); err != nil {
			t.Fatal(err)
		}
		if got := e.next(t, "/capi/v1/product/delivery/PAPER", alice.token); got != "distribution 2025-14@01-17, delivery 2025-15@01-18" {
			t.Errorf("alice, weekend plan: %s", got)
		}
		if got := e.deliveredIssues(t, alice.token, "PAPER", "?from=2025-01-14&to=2025-01-16"); got != "2025-11@01-14 2025-12@01-15 2025-13@01-16" {
			t.Errorf("alice's digital weekday issues: %s", got)
		}
		for _, tc := range []struct {
			name, path, token string
			status            int
		}{
			{"unknown product", "/capi/v1/product/delivery/NOPE", alice.token, 404},
			{"another company's product", "/capi/v1/product/delivery/RIVALNEWS", alice.token, 404},
			{"client token on the user path", "/capi/v1/product/delivery/PAPER", ct, 403},
			{"user token on the client path", "/capi/v1/client/delivery/PAPER", alice.token, 403},
			{"issues: unknown product", "/capi/v1/customer/issues/NOPE", alice.token, 404},
			{"issues: bad window", "/capi/v1/customer/issues/PAPER?from=2025-01-10&to=2025-01-01", alice.token, 400},
			{"issues: client token", "/capi/v1/customer/issues/PAPER", ct, 403},
		} {
			if st, m := e.call(t, "GET", tc.path, tc.token, ""); st != tc.status {
				t.Errorf("%s: %d %v", tc.name, st, m)
			}
		}
	})
}

type complaintList struct {
	Product          string `json:"product"`
	ComplaintActions []struct {
		ComplaintAction  string `json:"complaintAction"`
		Description      string `json:"description"`
		PostDistribution bool   `json:"postDistribution"`
	} `json:"complaintActions"`
	Complaints []struct {
		ID               int64  `json:"id"`
		Issue            string `json:"issue"`
		ComplaintAction  string `json:"complaintAction"`
		Created          int64  `json:"created"`
		PostDistribution bool   `json:"postDistribution"`
		Status           string `json:"status"`
	} `json:"complaints"`
	ComplaintIssues []delivered `json:"complaintIssues"`
}

func (e *env) complaints(t *testing.T, method, path, token, body string) complaintList {
	t.Helper()
	res := e.Call(testkit.Request{Method: method, Path: path, Token: token, ContentType: "application/json", Accept: "application/json", Body: body})
	if res.Status != 200 {
		t.Fatalf("%s %s %s: %d %s", method, path, body, res.Status, res.Body)
	}
	var out complaintList
	res.JSON(t, &out)
	return out
}

func complaint(issue, action string, post bool) string {
	return fmt.Sprintf(`{"product":"PAPER","issue":%q,"complaintAction":%q,"createPostDistribution":%v}`, issue, action, post)
}

// TestComplaints: the options per product, complaints only about issues the
// customer received inside the window, post-distribution rules, duplicates
// and who sees what.
func TestComplaints(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, day("2025-01-10").Add(10*time.Hour), calendarYAML)
		alice := e.newUser(t, 7821, "alice@firm.no")
		bob := e.newUser(t, 7822, "bob@firm.no")
		e.start(t, alice.customer, "PAPER", "2025-01-03", 44900)
		e.stops(t, "POST", registerPath, alice.token, temporary("PAPER", "2025-01-11", "2025-01-13"))
		if st, m := e.call(t, "POST", "/capi/v1/customer/address", alice.token,
			`{"changeType":"update","streetAddress":"Storgata","streetNumber":1,"postalCode":"0155","postalPlace":"Oslo","countryCode":"NO"}`); st != 200 {
			t.Fatalf("address: %d %v", st, m)
		}
		e.clock.Set(day("2025-01-20").Add(10 * time.Hour))
		e.jobs(t)

		list := e.complaints(t, "GET", "/capi/v1/product/delivery/complaint/PAPER", alice.token, "")
		if list.Product != "PAPER" || len(list.ComplaintActions) != 2 || list.ComplaintActions[0].ComplaintAction != "14" ||
			!list.ComplaintActions[0].PostDistribution || list.ComplaintActions[1].PostDistribution || len(list.Complaints) != 0 {
			t.Fatalf("alice's list: %+v", list)
		}
		// The 14-day window from 6 January, without Sundays and the stopped days.
		var issues []string
		for _, is := range list.ComplaintIssues {
			issues = append(issues, is.Issue)
		}
		if got := strings.Join(issues, " "); got != "2025-04 2025-05 2025-06 2025-07 2025-08 2025-11 2025-12 2025-13 2025-14 2025-15 2025-16" {
			t.Errorf("complaint issues: %s", got)
		}

		for _, tc := range []struct {
			name, token, body string
			status            int
			field             string
		}{
			{"empty body", alice.token, `{}`, 400, "product"},
			{"no issue", alice.token, `{"product":"PAPER","complaintAction":"14"}`, 400, "issue"},
			{"issue too long", alice.token, complaint("2025-0000001", "14", false), 400, "issue"},
			{"no action", alice.token, `{"product":"PAPER","issue":"2025-04"}`, 400, "complaintAction"},
			{"action too long", alice.token, complaint("2025-04", "140", false), 400, "complaintAction"},
			{"unknown action", alice.token, complaint("2025-04", "99", false), 400, "complaintAction"},
			{"before the window", alice.token, complaint("2025-03", "14", false), 400, "issue"},
			{"a stopped day", alice.token, complaint("2025-09", "14", false), 400, "issue"},
			{"not distributed yet", alice.token, complaint("2025-17", "14", false), 400, "issue"},
			{"post-distribution not offered", alice.token, complaint("2025-04", "20", true), 400, "createPostDistribution"},
			{"not a subscriber", bob.token, complaint("2025-04", "14", false), 400, "issue"},
			{"unknown product", alice.token, `{"product":"NOPE","issue":"2025-04","complaintAction":"14"}`, 404, ""},
			{"client token", e.ClientToken(), complaint("2025-04", "14", false), 403, ""},
		} {
			st, m := e.call(t, "POST", "/capi/v1/product/delivery/complaint", tc.token, tc.body)
			if st != tc.status {
				t.Errorf("%s: %d %v", tc.name, st, m)
				continue
			}
			if msg, _ := m["errorMessage"].(string); tc.field != "" && !strings.HasPrefix(msg, tc.field+":") {
				t.Errorf("%s: errorMessage %q does not name %s", tc.name, msg, tc.field)
			}
		}
		var rows int
		_ = e.App.DB.QueryRow(`SELECT COUNT(*) FROM complaints`).Scan(&rows)
		if rows != 0 {
			t.Fatalf("refused complaints left %d rows", rows)
		}

		got := e.complaints(t, "POST", "/capi/v1/product/delivery/complaint", alice.token, complaint("2025-04", "14", true))
		if len(got.Complaints) != 1 || got.Complaints[0].Issue != "2025-04" || got.Complaints[0].ComplaintAction != "14" ||
			!got.Complaints[0].PostDistribution || got.Complaints[0].Status != "registered" || got.Complaints[0].Created != e.clock.Now().UnixMilli() {
			t.Errorf("registered: %+v", got.Complaints)
		}
		var address string
		var distributed int64
		if err := e.App.DB.QueryRow(`SELECT p.address, c.distributed_date FROM post_distributions p JOIN complaints c ON c.id = p.complaint_id
			WHERE c.customer_number = $1 AND p.issue = '2025-04' AND p.status = 'queued'`, alice.customer).Scan(&address, &distributed); err != nil {
			t.Fatalf("post distribution: %v", err)
		}
		if !strings.Contains(address, "Storgata") || distributed != day("2025-01-06").UnixMilli() {
			t.Errorf("post distribution to %s, distributed %d", address, distributed)
		}
		if st, m := e.call(t, "POST", "/capi/v1/product/delivery/complaint", alice.token, complaint("2025-04", "14", false)); st != 409 {
			t.Errorf("duplicate: %d %v", st, m)
		}
		got = e.complaints(t, "POST", "/capi/v1/product/delivery/complaint", alice.token, complaint("2025-16", "20", false))
		if len(got.Complaints) != 2 || got.Complaints[0].Issue != "2025-16" || got.Complaints[0].PostDistribution {
			t.Errorf("second complaint, newest first: %+v", got.Complaints)
		}
		// Carol has no address: nothing can be sent again, a plain complaint is fine.
		carol := e.newUser(t, 7823, "carol@firm.no")
		e.start(t, carol.customer, "PAPER", "2025-01-03", 44900)
		if st, m := e.call(t, "POST", "/capi/v1/product/delivery/complaint", carol.token, complaint("2025-15", "14", true)); st != 400 ||
			!strings.HasPrefix(m["errorMessage"].(string), "createPostDistribution:") {
			t.Errorf("post-distribution without an address: %d %v", st, m)
		}
		if got := e.complaints(t, "POST", "/capi/v1/product/delivery/complaint", carol.token, complaint("2025-15", "14", false)); len(got.Complaints) != 1 {
			t.Errorf("carol: %+v", got.Complaints)
		}
		// Bob sees the options and nothing of Alice's.
		bobs := e.complaints(t, "GET", "/capi/v1/product/delivery/complaint/PAPER", bob.token, "")
		if len(bobs.ComplaintActions) != 2 || len(bobs.Complaints) != 0 || len(bobs.ComplaintIssues) != 0 {
			t.Errorf("bob's list: %+v", bobs)
		}
		// Past the window a complaint is refused.
		e.clock.Set(day("2025-01-21").Add(10 * time.Hour))
		if st, m := e.call(t, "POST", "/capi/v1/product/delivery/complaint", alice.token, complaint("2025-04", "20", false)); st != 400 {
			t.Errorf("after the window: %d %v", st, m)
		}
		res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/product/delivery/complaint/PAPER", Token: alice.token, Accept: "application/xml"})
		if res.Status != 200 || !strings.Contains(string(res.Body), "<complaints><complaint><id>") {
			t.Errorf("XML: %d %s", res.Status, res.Body)
		}
		for _, tc := range []struct {
			name, path, token string
			status            int
		}{
			{"unknown product", "/capi/v1/product/delivery/complaint/NOPE", alice.token, 404},
			{"another company's product", "/capi/v1/product/delivery/complaint/RIVALNEWS", alice.token, 404},
			{"client token", "/capi/v1/product/delivery/complaint/PAPER", e.ClientToken(), 403},
		} {
			if st, m := e.call(t, "GET", tc.path, tc.token, ""); st != tc.status {
				t.Errorf("%s: %d %v", tc.name, st, m)
			}
		}
	})
}
