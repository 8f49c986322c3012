package customer

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/httpx"
)

// plainList is CustomerList without its MarshalJSON: what encoding/json
// makes of the struct tags.
type plainList CustomerList

// Tricky strings for the encoder: HTML characters, quotes, control
// characters, U+2028/9, invalid UTF-8 and plain non-ASCII text.
var jsonSamples = []string{"", "a", "Ola", "Åse Ødegård", `q"uote`, `back\slash`, "<b>&amp;</b>", "tab\there",
	"line\nbreak\r", "\b\f\x00\x01\x1f\x7f", "\u2028\u2029 sep", "\xff\xfe bad", "ok\xe2\x80", "日本語", "emoji 😀",
	"\U0010FFFF", "/slash'", "+4791234567", "0150", "a@example.no"}

func randomString(r *rand.Rand) string {
	if r.Intn(3) == 0 {
		return ""
	}
	s := jsonSamples[r.Intn(len(jsonSamples))]
	if r.Intn(4) == 0 {
		s += jsonSamples[r.Intn(len(jsonSamples))]
	}
	return s
}

// randomCustomer fills every exported field of a Customer through
// reflection, so a field added later is covered too (or fails here).
func randomCustomer(t *testing.T, r *rand.Rand) *Customer {
	var c Customer
	v := reflect.ValueOf(&c).Elem()
	for i := 0; i < v.NumField(); i++ {
		if !v.Type().Field(i).IsExported() {
			continue
		}
		f := v.Field(i)
		switch f.Interface().(type) {
		case string:
			f.SetString(randomString(r))
		case int64:
			f.SetInt([]int64{0, 1, -7, 100001, 1 << 62}[r.Intn(5)])
		case *int64:
			if r.Intn(2) == 0 {
				n := int64(r.Intn(300) - 20)
				f.Set(reflect.ValueOf(&n))
			}
		case []string:
			switch r.Intn(4) {
			case 0: // nil
			case 1:
				f.Set(reflect.ValueOf([]string{}))
			default:
				var l []string
				for n := r.Intn(3) + 1; n > 0; n-- {
					l = append(l, randomString(r))
				}
				f.Set(reflect.ValueOf(l))
			}
		case []Category:
			switch r.Intn(4) {
			case 0: // nil
			case 1:
				f.Set(reflect.ValueOf([]Category{}))
			default:
				var l []Category
				for n := r.Intn(3) + 1; n > 0; n-- {
					l = append(l, Category{AddressCategory: randomString(r), FreeValue: randomString(r)})
				}
				f.Set(reflect.ValueOf(l))
			}
		default:
			t.Fatalf("randomCustomer: field %s of type %s: teach the test and appendCustomer", v.Type().Field(i).Name, f.Type())
		}
	}
	return &c
}

func encodeWith(t *testing.T, v any, escapeHTML bool) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The hand-written encoder must produce exactly encoding/json's bytes, with
// and without HTML escaping (JSON responses, and the JSON that feeds XML).
func TestCustomerListJSONMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	lists := [][]*Customer{nil, {}, {nil}, {{}}, {{Emails: []string{}, PhoneNumbers: []string{}, Categories: []Category{}}}}
	for i := 0; i < 300; i++ {
		var l []*Customer
		for n := r.Intn(6); n > 0; n-- {
			if r.Intn(20) == 0 {
				l = append(l, nil)
			} else {
				l = append(l, randomCustomer(t, r))
			}
		}
		lists = append(lists, l)
	}
	for i, l := range lists {
		for _, escape := range []bool{true, false} {
			want := encodeWith(t, plainList{Customers: l}, escape)
			if got := append(appendCustomerList(nil, l, escape), '\n'); !bytes.Equal(got, want) {
				t.Fatalf("list %d (escapeHTML %v):\n got %s\nwant %s", i, escape, got, want)
			}
		}
	}
	// Every string on its own, both escaping modes.
	for _, s := range jsonSamples {
		for _, escape := range []bool{true, false} {
			want := encodeWith(t, s, escape)
			if got := appendJSONString(nil, s, escape); !bytes.Equal(append(got, '\n'), want) {
				t.Errorf("appendJSONString(%q, %v) = %s, want %s", s, escape, got, want)
			}
		}
	}
}

// A 50-customer page shaped like the benchmark data.
func benchmarkPage() []*Customer {
	var l []*Customer
	for i := 0; i < 50; i++ {
		l = append(l, &Customer{CustomerNumber: int64(100037 + i), FirstName: "Ingrid", LastName: "Hansen", PostalCode: "2037",
			CountryCode: "NO", Emails: []string{"ingrid.100037@example.com"}, PhoneNumbers: []string{"+4740100037"}, Categories: []Category{}})
	}
	return l
}

func BenchmarkCustomerListJSON(b *testing.B) {
	page := benchmarkPage()
	var buf bytes.Buffer
	b.Run("reflection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(true)
			_ = enc.Encode(plainList{Customers: page})
		}
		b.SetBytes(int64(buf.Len()))
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			out = appendCustomerList(out[:0], page, true)
		}
		b.SetBytes(int64(len(out)))
	})
}

// A search page encodes itself (httpx.JSONAppender); the reply must be
// exactly what encoding/json's would have been, headers included, in JSON and
// in XML, whatever the negotiation decides.
func TestReplyCustomerListMatchesHTTPX(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	list := []*Customer{randomCustomer(t, r), randomCustomer(t, r), {CustomerNumber: 7, LastName: "<&>", Emails: []string{},
		PhoneNumbers: []string{}, Categories: []Category{{AddressCategory: "STUD", FreeValue: "a&b"}}}}
	for _, accept := range []string{"", "application/json", "application/xml", "*/*", "text/xml, application/json;q=0.5",
		"application/json;q=0.5, application/xml;q=0.5", "application/json;q=0", "text/html"} {
		for _, contentType := range []string{"application/json", "application/xml"} {
			for _, opts := range []httpx.Options{{}, {DefaultXML: true}} {
				for _, vary := range []string{"", "Origin", "Origin, accept"} {
					req := func() *http.Request {
						req := httptest.NewRequest("POST", "/capi/v1/client/customer/search", strings.NewReader("{}"))
						req.Header.Set("Content-Type", contentType)
						if accept != "" {
							req.Header.Set("Accept", accept)
						}
						return httpx.WithRouteOptions(req, opts)
					}
					got, want := httptest.NewRecorder(), httptest.NewRecorder()
					if vary != "" {
						got.Header().Set("Vary", vary)
						want.Header().Set("Vary", vary)
					}
					httpx.Reply(got, req(), http.StatusOK, CustomerList{Customers: list})
					httpx.Reply(want, req(), http.StatusOK, plainList{Customers: list})
					if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
						t.Errorf("Accept %q, Content-Type %s, %+v, Vary %q:\n got %d %v %s\nwant %d %v %s", accept, contentType, opts, vary,
							got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
					}
				}
			}
		}
	}
}
