package customer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/connect-oss/connect/internal/testkit"
)

// Search pages by customer number, and each hit is the whole customer, the
// same object Customer info returns.
func TestSearchPagesReturnWholeCustomers(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		var numbers []int64
		for i, body := range []string{
			`{"firstName":"Åse","lastName":"Pagesen","postalCode":"0150","emails":["a@example.no","second@example.no"],"phoneNumbers":["+4791000001"]}`,
			`{"lastName":"pageby","companyName":"Page AS","postalCode":"0150","emails":["b@example.no"],"categories":[{"addressCategory":"STUD","freeValue":"UiO"},{"addressCategory":"SEN"}]}`,
			`{"lastName":"Pagel","postalCode":"0150","phoneNumbers":["+4791000003","+4791000004"]}`,
			`{"lastName":"Nopage","postalCode":"0150","emails":["n@example.no"]}`,
			`{"lastName":"PAGE","postalCode":"0150","emails":["p4@example.no"]}`,
			`{"lastName":"Pagh","postalCode":"0150","emails":["p5@example.no"]}`,
		} {
			r := call(e, "POST", "/capi/v1/client/customer", tok, body)
			if r.Status != 200 {
				// A body the register endpoint refuses is not what this test is about.
				t.Fatalf("register %d: %d %s", i, r.Status, r.Body)
			}
			var out struct{ CustomerNumber int64 }
			r.JSON(t, &out)
			if i != 3 {
				numbers = append(numbers, out.CustomerNumber)
			}
		}
		var seen []int64
		after := int64(0)
		for page := 0; ; page++ {
			r := call(e, "POST", "/capi/v1/client/customer/search", tok, fmt.Sprintf(`{"lastName":"PAG","maxResults":2,"afterCustomerNumber":%d}`, after))
			want(t, r, 200, "customers")
			var out struct{ Customers []json.RawMessage }
			r.JSON(t, &out)
			if len(out.Customers) == 0 {
				break
			}
			if len(out.Customers) > 2 || page > 3 {
				t.Fatalf("page %d: %d customers", page, len(out.Customers))
			}
			for _, raw := range out.Customers {
				var c struct{ CustomerNumber int64 }
				if err := json.Unmarshal(raw, &c); err != nil {
					t.Fatal(err)
				}
				info := call(e, "GET", fmt.Sprintf("/capi/v1/client/customer/info/%d", c.CustomerNumber), tok, "")
				want(t, info, 200, "customerNumber")
				var a, b bytes.Buffer
				if err := json.Compact(&a, raw); err != nil {
					t.Fatal(err)
				}
				if err := json.Compact(&b, info.Body); err != nil {
					t.Fatal(err)
				}
				if a.String() != b.String() {
					t.Errorf("search hit %s\nCustomer info %s", a.String(), b.String())
				}
				seen = append(seen, c.CustomerNumber)
				after = c.CustomerNumber
			}
		}
		if fmt.Sprint(seen) != fmt.Sprint(numbers) {
			t.Fatalf("pages gave %v, want %v", seen, numbers)
		}
	})
}
