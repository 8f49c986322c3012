package catalog_test

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/testkit"
)

type productList struct {
	Products []struct {
		CompanyCode   string   `json:"companyCode"`
		Product       string   `json:"product"`
		ProductType   string   `json:"productType"`
		StartTime     int64    `json:"startTime"`
		EndTime       *int64   `json:"endTime"`
		RetailPrice   *float64 `json:"retailPrice"`
		WebOfferPrice *float64 `json:"webOfferPrice"`
		VatPercent    *float64 `json:"vatPercent"`
		Weight        *float64 `json:"weight"`
		Shop          bool     `json:"shop"`
		Digital       bool     `json:"digital"`
		Changed       int64    `json:"changed"`
	} `json:"products"`
}

func (l productList) codes() string {
	var c []string
	for _, p := range l.Products {
		c = append(c, p.Product)
	}
	return strings.Join(c, ",")
}

func TestProductListings(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		acme, rival := e.ClientToken(), e.Token(testkit.RivalClientID, testkit.RivalSecret)
		cases := []struct {
			name, method, path, body, token string
			status                          int
			want                            string // product codes in order
		}{
			{"all products by code", "GET", "/capi/v1/client/product", "", acme, 200, "BOOK1,NEWS,OLD,PAPER"},
			{"one product", "GET", "/capi/v1/client/product?productId=NEWS", "", acme, 200, "NEWS"},
			{"unknown product is an empty list", "GET", "/capi/v1/client/product?productId=NOPE", "", acme, 200, ""},
			{"another company's product is invisible", "GET", "/capi/v1/client/product?productId=RIVALNEWS", "", acme, 200, ""},
			{"shop only", "GET", "/capi/v1/client/product?shop=true", "", acme, 200, "BOOK1,NEWS"},
			{"shop=false lists all", "GET", "/capi/v1/client/product?shop=false", "", acme, 200, "BOOK1,NEWS,OLD,PAPER"},
			{"rival sees only its own", "GET", "/capi/v1/client/product", "", rival, 200, "RIVALNEWS"},
			{"by type", "GET", "/capi/v1/client/product/subscription", "", acme, 200, "NEWS,OLD,PAPER"},
			{"by type single", "GET", "/capi/v1/client/product/single?shop=true", "", acme, 200, "BOOK1"},
			{"by type and id", "GET", "/capi/v1/client/product/subscription?productId=BOOK1", "", acme, 200, ""},
			{"unknown type is an empty list", "GET", "/capi/v1/client/product/magazine", "", acme, 200, ""},
			{"check with empty body", "POST", "/capi/v1/client/product", "", acme, 200, ""},
			{"check only active", "POST", "/capi/v1/client/product", `{"onlyActive":true}`, acme, 200, "BOOK1,NEWS,PAPER"},
			{"check only active, shop", "POST", "/capi/v1/client/product?shop=true", `{"onlyActive":"true"}`, acme, 200, "BOOK1,NEWS"},
			{"check changed after the future", "POST", "/capi/v1/client/product", `{"changedAfter":` + futureMillis() + `}`, acme, 200, ""},
			{"check changed after as a date", "POST", "/capi/v1/client/product", `{"changedAfter":"2000-01-01","onlyActive":true}`, acme, 200, "BOOK1,NEWS,PAPER"},
			{"productId too long", "GET", "/capi/v1/client/product?productId=ABCDEFGHIJKLM", "", acme, 400, ""},
			{"productType too long", "GET", "/capi/v1/client/product/ABCDEFGHIJKLM", "", acme, 400, ""},
			{"shop not a boolean", "GET", "/capi/v1/client/product?shop=maybe", "", acme, 400, ""},
			{"productId not UTF-8", "GET", "/capi/v1/client/product?productId=%E2%82", "", acme, 400, ""},
			{"productType not UTF-8", "GET", "/capi/v1/client/product/%E2%82", "", acme, 400, ""},
			{"check malformed JSON", "POST", "/capi/v1/client/product", `{"onlyActive":`, acme, 400, ""},
			{"check wrong type", "POST", "/capi/v1/client/product", `{"onlyActive":{"a":1}}`, acme, 400, ""},
			{"check bad instant", "POST", "/capi/v1/client/product", `{"changedAfter":"yesterday"}`, acme, 400, ""},
			{"check invalid UTF-8", "POST", "/capi/v1/client/product", "{\"changedAfter\":\"\xff\xfe\"}", acme, 400, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req := testkit.Request{Method: tc.method, Path: tc.path, Token: tc.token, Accept: "application/json", Body: tc.body}
				if tc.body != "" {
					req.ContentType = "application/json"
				}
				res := e.Call(req)
				if res.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
				}
				if tc.status != 200 {
					var body struct{ ExceptionType, ErrorMessage string }
					res.JSON(t, &body)
					if body.ExceptionType != "ValidationException" || body.ErrorMessage == "" {
						t.Errorf("error body %s", res.Body)
					}
					return
				}
				var list productList
				res.JSON(t, &list)
				want := tc.want
				if tc.name == "check with empty body" {
					want = "" // ordered by change time: all four, checked below
					if len(list.Products) != 4 {
						t.Errorf("empty body must list every product, got %s", list.codes())
					}
					return
				}
				if got := list.codes(); !sameSet(got, want, tc.method == "POST") {
					t.Errorf("products %q, want %q", got, want)
				}
				for _, p := range list.Products {
					if p.CompanyCode == "" || p.ProductType == "" || p.StartTime == 0 || p.Changed == 0 {
						t.Errorf("incomplete product %+v", p)
					}
				}
			})
		}
	})
}

// sameSet compares code lists; POST results are ordered by change time (equal
// here), so only membership is compared for them.
func sameSet(got, want string, unordered bool) bool {
	if !unordered {
		return got == want
	}
	g, w := strings.Split(got, ","), strings.Split(want, ",")
	if len(g) != len(w) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range g {
		seen[x] = true
	}
	for _, x := range w {
		if !seen[x] {
			return false
		}
	}
	return true
}

func futureMillis() string {
	return `"` + time.Now().Add(time.Hour).Format("2006-01-02T15:04:05Z07:00") + `"`
}

func TestProductValues(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product?productId=NEWS", Token: e.ClientToken(), Accept: "application/json"})
		var list productList
		res.JSON(t, &list)
		if len(list.Products) != 1 {
			t.Fatalf("%s", res.Body)
		}
		p := list.Products[0]
		if *p.RetailPrice != 199 || *p.WebOfferPrice != 84.54 || *p.VatPercent != 25 || !p.Digital || !p.Shop || p.EndTime != nil || p.Weight != nil {
			t.Errorf("NEWS: %s", res.Body)
		}
		res = e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product?productId=PAPER", Token: e.ClientToken(), Accept: "application/json"})
		res.JSON(t, &list)
		if p := list.Products[0]; *p.VatPercent != 12.5 || *p.Weight != 0.4 {
			t.Errorf("PAPER: %s", res.Body)
		}
		res = e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product?productId=OLD", Token: e.ClientToken(), Accept: "application/json"})
		res.JSON(t, &list)
		if p := list.Products[0]; p.EndTime == nil || *p.EndTime <= p.StartTime {
			t.Errorf("OLD must carry its end: %s", res.Body)
		}
	})
}

// TestProductXML checks the legacy default (XML when JSON is not asked for)
// and the shape real Ruby clients parse.
func TestProductXML(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		for _, tc := range []struct {
			name, accept, path, method, contentType, body string
			wantXML                                       bool
		}{
			{"no Accept", "", "/capi/v1/client/product", "GET", "", "", true},
			{"*/*", "*/*", "/capi/v1/client/product/subscription", "GET", "", "", true},
			{"application/xml", "application/xml", "/capi/v1/client/product", "GET", "", "", true},
			{"application/json", "application/json", "/capi/v1/client/product", "GET", "", "", false},
			{"XML body for check", "", "/capi/v1/client/product", "POST", "application/xml", "<data><onlyActive>true</onlyActive></data>", true},
			{"XML body, JSON asked", "application/json", "/capi/v1/client/product", "POST", "text/xml", "<data><onlyActive>1</onlyActive></data>", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := e.Call(testkit.Request{Method: tc.method, Path: tc.path, Token: tok, Accept: tc.accept, ContentType: tc.contentType, Body: tc.body})
				if res.Status != 200 {
					t.Fatalf("%d %s", res.Status, res.Body)
				}
				ct := res.Header.Get("Content-Type")
				if !strings.Contains(ct, "charset=UTF-8") || res.Header.Get("Vary") != "Accept" {
					t.Errorf("headers %v", res.Header)
				}
				if !tc.wantXML {
					if !strings.HasPrefix(ct, "application/json") {
						t.Errorf("want JSON, got %s", ct)
					}
					return
				}
				if !strings.HasPrefix(ct, "application/xml") {
					t.Fatalf("want XML, got %s: %s", ct, res.Body)
				}
				var doc struct {
					XMLName  xml.Name `xml:"products"`
					Products []struct {
						CompanyCode string  `xml:"companyCode"`
						Product     string  `xml:"product"`
						RetailPrice float64 `xml:"retailPrice"`
						Shop        bool    `xml:"shop"`
					} `xml:"product"`
				}
				if err := xml.Unmarshal(res.Body, &doc); err != nil {
					t.Fatalf("not the expected XML: %v\n%s", err, res.Body)
				}
				if len(doc.Products) == 0 || doc.Products[0].CompanyCode != "ACME" || doc.Products[0].Product == "" {
					t.Errorf("XML %s", res.Body)
				}
				if !strings.HasPrefix(string(res.Body), `<?xml version="1.0" encoding="UTF-8"?>`) {
					t.Errorf("no XML declaration: %.80s", res.Body)
				}
			})
		}
	})
}

func TestProductCheckBadBodies(t *testing.T) {
	testkit.Run(t, func(t *testing.T, e *testkit.Env) {
		tok := e.ClientToken()
		for _, tc := range []struct {
			name, contentType, body string
			status                  int
		}{
			{"DTD rejected", "application/xml", `<?xml version="1.0"?><!DOCTYPE data [<!ENTITY x "y">]><data><onlyActive>&x;</onlyActive></data>`, 400},
			{"truncated XML", "application/xml", `<data><onlyActive>true</only`, 400},
			{"not JSON nor XML", "text/csv", "a,b,c", 415},
			{"oversized", "application/json", `{"x":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/product", Token: tok, Accept: "application/json", ContentType: tc.contentType, Body: tc.body})
				if res.Status != tc.status {
					t.Fatalf("status %d, want %d: %.300s", res.Status, tc.status, res.Body)
				}
			})
		}
		// A client-mode route refuses a user token.
		res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/product", Token: e.MintUserToken("f21942404003447993b198bdd7ba2ef4", 1, 0), Accept: "application/json"})
		if res.Status != http.StatusForbidden {
			t.Errorf("user token on client route: %d", res.Status)
		}
	})
}
