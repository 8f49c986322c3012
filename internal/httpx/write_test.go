package httpx

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/errs"
)

func xmlRequest() *http.Request {
	r := httptest.NewRequest("GET", "/v1/x", nil)
	r.Header.Set("Accept", "application/xml")
	return r
}

// xmlBody strips the declaration that every XML response starts with.
func xmlBody(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	body := rec.Body.String()
	if !strings.HasPrefix(body, xmlDeclaration) {
		t.Fatalf("XML body does not start with the declaration: %q", body)
	}
	// Every document we write must be well-formed.
	dec := xml.NewDecoder(strings.NewReader(body))
	dec.Strict = true
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed XML: %v\n%s", err, body)
			}
			break
		}
	}
	return strings.TrimSuffix(strings.TrimPrefix(body, xmlDeclaration), "\n")
}

type name struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

type phone struct {
	PhoneNumber string `json:"phoneNumber"`
	Verified    bool   `json:"verified"`
}

type profile struct {
	UniqueID     string   `json:"uniqueId"`
	Name         name     `json:"name"`
	Emails       []string `json:"emails"`
	PhoneNumbers []phone  `json:"phoneNumbers"`
	Nickname     *string  `json:"nickname"`
	Note         string   `json:"note,omitempty"`
}

type subscription struct {
	SubscriptionID int64   `json:"subscriptionId"`
	Product        string  `json:"product"`
	Price          float64 `json:"price"`
}

func TestWriteXML(t *testing.T) {
	tests := []struct {
		name string
		v    any
		root string
		want string
	}{
		{
			name: "list wrapper",
			v: map[string]any{"subscriptions": []subscription{
				{SubscriptionID: 1, Product: "AP", Price: 84.54},
				{SubscriptionID: 2, Product: "BT", Price: 295},
			}},
			want: `<subscriptions><subscription><subscriptionId>1</subscriptionId><product>AP</product><price>84.54</price></subscription>` +
				`<subscription><subscriptionId>2</subscriptionId><product>BT</product><price>295</price></subscription></subscriptions>`,
		},
		{
			name: "empty list wrapper",
			v: struct {
				Orders []int `json:"orders"`
			}{Orders: []int{}},
			want: `<orders></orders>`,
		},
		{
			name: "nil slice list wrapper keeps its name",
			v: struct {
				Orders []int `json:"orders"`
			}{},
			want: `<orders></orders>`,
		},
		{
			name: "profile root with nested object and lists, null omitted",
			v: profile{
				UniqueID:     "0123abcd",
				Name:         name{FirstName: "Ola", LastName: "Nordmann"},
				Emails:       []string{"a@b"},
				PhoneNumbers: []phone{{PhoneNumber: "+4712345678", Verified: true}},
			},
			root: "profile",
			want: `<profile><uniqueId>0123abcd</uniqueId><name><firstName>Ola</firstName><lastName>Nordmann</lastName></name>` +
				`<emails><email>a@b</email></emails>` +
				`<phoneNumbers><phoneNumber><phoneNumber>+4712345678</phoneNumber><verified>true</verified></phoneNumber></phoneNumbers></profile>`,
		},
		{
			name: "bare array",
			v:    []int{1, 2},
			want: `<items><item>1</item><item>2</item></items>`,
		},
		{
			name: "other object is response, order kept",
			v:    json.RawMessage(`{"zeta":1,"alpha":"a","mid":false,"n":null,"big":12345678901234567890,"exp":1e-7}`),
			want: `<response><zeta>1</zeta><alpha>a</alpha><mid>false</mid><big>12345678901234567890</big><exp>1e-7</exp></response>`,
		},
		{
			name: "object with one scalar member is response",
			v:    map[string]int{"orderId": 42},
			want: `<response><orderId>42</orderId></response>`,
		},
		{
			name: "special characters escaped",
			v:    map[string]string{"a": `<b>&"x"'y'` + "\r\n\x01é"},
			want: `<response><a>&lt;b&gt;&amp;"x"'y'&#xD;` + "\n\uFFFDé</a></response>",
		},
		{
			name: "invalid member names sanitized",
			v:    json.RawMessage(`{"1st":1,"a b":2,"ns:x":3,"":4,"ok-name.v2":5}`),
			want: `<response><_1st>1</_1st><a_b>2</a_b><ns_x>3</ns_x><_>4</_><ok-name.v2>5</ok-name.v2></response>`,
		},
		{
			name: "Latin-1 names kept, other letters replaced",
			v:    json.RawMessage(`{"blåbær":1,"xۮ":2}`),
			want: `<response><blåbær>1</blåbær><x_>2</x_></response>`,
		},
		{
			name: "nested arrays and singulars",
			v:    json.RawMessage(`{"companies":[{"addresses":["x"]}],"boxes":[[1]],"data":[true]}`),
			want: `<response><companies><company><addresses><address>x</address></addresses></company></companies>` +
				`<boxes><box><item>1</item></box></boxes><data><item>true</item></data></response>`,
		},
		{
			name: "escaped JSON string",
			v:    json.RawMessage(`{"s":"line\nbreak \"q\" \u00e9 \ud83d\ude00"}`),
			want: "<response><s>line\nbreak \"q\" é 😀</s></response>",
		},
		{
			name: "null document",
			v:    nil,
			want: `<response></response>`,
		},
		{
			name: "root option on a bare array",
			v:    []string{"a"},
			root: "orders",
			want: `<orders><order>a</order></orders>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, xmlRequest(), http.StatusOK, tt.v, Options{Root: tt.root})
			if got := rec.Header().Get("Content-Type"); got != "application/xml; charset=UTF-8" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := xmlBody(t, rec); got != tt.want {
				t.Errorf("body\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	Write(rec, r, http.StatusCreated, map[string]int{"orderId": 7}, Options{})
	if rec.Code != http.StatusCreated {
		t.Errorf("status %d", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json; charset=UTF-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := rec.Header().Values("Vary"); len(got) != 1 || got[0] != "Accept" {
		t.Errorf("Vary = %q", got)
	}
	if got := rec.Body.String(); got != "{\"orderId\":7}\n" {
		t.Errorf("body %q", got)
	}

	rec = httptest.NewRecorder()
	WriteJSON(rec, http.StatusOK, map[string]string{"access_token": "x"})
	if got := rec.Header().Get("Content-Type"); got != "application/json; charset=UTF-8" {
		t.Errorf("WriteJSON Content-Type = %q", got)
	}
	if got := rec.Body.String(); got != "{\"access_token\":\"x\"}\n" {
		t.Errorf("WriteJSON body %q", got)
	}
}

func TestWriteVaryNotDuplicated(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Vary", "Origin, accept")
	Write(rec, httptest.NewRequest("GET", "/", nil), http.StatusOK, 1, Options{})
	if got := rec.Header().Values("Vary"); len(got) != 1 {
		t.Errorf("Vary = %q", got)
	}
}

func TestWriteUnencodableIs500(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, httptest.NewRequest("GET", "/", nil), http.StatusOK, map[string]any{"f": func() {}}, Options{})
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	if got := rec.Body.String(); got != `{"exceptionType":"InternalException","errorMessage":"internal error"}`+"\n" {
		t.Errorf("body %q", got)
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string
	}{
		{"invalid with field", errs.Field("payer.postalCode", "required"), 400,
			`{"exceptionType":"ValidationException","errorMessage":"payer.postalCode: required"}`},
		{"forbidden", errs.E(errs.Forbidden, "provider not configured"), 403,
			`{"exceptionType":"AccessDeniedException","errorMessage":"provider not configured"}`},
		{"not found wrapped", errors.Join(errors.New("ctx"), errs.E(errs.NotFound, "no customer linked to user")), 404,
			`{"exceptionType":"NotFoundException","errorMessage":"no customer linked to user"}`},
		{"method not allowed", errs.E(errs.MethodNotAllowed, "method not allowed"), 405,
			`{"exceptionType":"MethodNotAllowedException","errorMessage":"method not allowed"}`},
		{"conflict", errs.E(errs.Conflict, "duplicate externalOrderId"), 409,
			`{"exceptionType":"ConflictException","errorMessage":"duplicate externalOrderId"}`},
		{"too large", errs.E(errs.TooLarge, "too big"), 413,
			`{"exceptionType":"ValidationException","errorMessage":"too big"}`},
		{"unsupported media", errs.E(errs.UnsupportedMedia, "send JSON"), 415,
			`{"exceptionType":"ValidationException","errorMessage":"send JSON"}`},
		{"too many", errs.E(errs.TooManyRequests, "slow down"), 429,
			`{"exceptionType":"TooManyRequestsException","errorMessage":"slow down"}`},
		{"empty message gets a default", &errs.Error{Kind: errs.NotFound}, 404,
			`{"exceptionType":"NotFoundException","errorMessage":"not found"}`},
		{"internal kind leaks nothing", errs.Wrap(errs.Internal, errors.New("db password wrong"), "secret detail"), 500,
			`{"exceptionType":"InternalException","errorMessage":"internal error"}`},
		{"plain error leaks nothing", errors.New("pq: relation missing"), 500,
			`{"exceptionType":"InternalException","errorMessage":"internal error"}`},
		{"unauthenticated", errs.E(errs.Unauthenticated, "token expired"), 401,
			`{"error":"invalid_token","error_description":"token expired"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, httptest.NewRequest("GET", "/", nil), tt.err, Options{Root: "profile"})
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := strings.TrimSuffix(rec.Body.String(), "\n"); got != tt.wantBody {
				t.Errorf("body\n got %s\nwant %s", got, tt.wantBody)
			}
			wantAuth := ""
			if tt.wantStatus == 401 {
				wantAuth = `Bearer realm="connect", error="invalid_token"`
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantAuth)
			}
		})
	}
}

func TestWriteErrorXML(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	WriteError(rec, r, errs.Field("orderLines[0].quantity", "must be <= 99"), Options{DefaultXML: true, Root: "profile"})
	want := `<response><exceptionType>ValidationException</exceptionType><errorMessage>orderLines[0].quantity: must be &lt;= 99</errorMessage></response>`
	if got := xmlBody(t, rec); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestWriteInsufficientScope(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteInsufficientScope(rec, xmlRequest(), "this endpoint needs a user token", Options{})
	if rec.Code != http.StatusForbidden {
		t.Errorf("status %d", rec.Code)
	}
	want := `<response><error>insufficient_scope</error><error_description>this endpoint needs a user token</error_description></response>`
	if got := xmlBody(t, rec); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestSingularOf(t *testing.T) {
	tests := map[string]string{
		"subscriptions": "subscription",
		"emails":        "email",
		"phoneNumbers":  "phoneNumber",
		"companies":     "company",
		"COMPANIES":     "COMPANY",
		"addresses":     "address",
		"boxes":         "box",
		"matches":       "match",
		"wishes":        "wish",
		"orderLines":    "orderLine",
		"items":         "item",
		"data":          "item",
		"s":             "item",
		"":              "item",
	}
	for in, want := range tests {
		if got := SingularOf(in); got != want {
			t.Errorf("SingularOf(%q) = %q, want %q", in, got, want)
		}
	}
}
