package httpx

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/errs"
)

type testPayer struct {
	FirstName  string `json:"firstName"`
	PostalCode string `json:"postalCode"`
	BirthDate  *time.Time
}

type testOrderLine struct {
	ProductCode string  `json:"productCode"`
	Quantity    int     `json:"quantity"`
	Price       float64 `json:"price"`
}

type testMeta struct {
	Source string `json:"source"`
}

type testOrder struct {
	testMeta
	PaymentProviderID int             `json:"paymentProviderId"`
	ExternalOrderID   string          `json:"externalOrderId"`
	SendReceipt       bool            `json:"sendReceipt"`
	Payer             *testPayer      `json:"payer"`
	OrderLines        []testOrderLine `json:"orderLines"`
	Tags              []string        `json:"tags"`
	Counts            map[string]int  `json:"counts"`
	Amount            *float64        `json:"amount"`
	Ignored           string          `json:"-"`
	CouponNumber      int64           `json:"couponNumber,string"`
}

func ptr[T any](v T) *T { return &v }

func TestDecodeBytes(t *testing.T) {
	birth := time.Date(2015, 6, 1, 12, 0, 0, 0, time.FixedZone("", 2*3600))
	tests := []struct {
		name        string
		contentType string
		body        string
		want        testOrder
	}{
		{
			name:        "JSON",
			contentType: "application/json",
			body: `{"paymentProviderId":11,"externalOrderId":"X1","sendReceipt":true,"source":"web",
				"payer":{"firstName":"Ola","postalCode":"0179"},
				"orderLines":[{"productCode":"AP","quantity":2,"price":84.54}],"unknown":{"deep":[1]}}`,
			want: testOrder{
				testMeta:          testMeta{Source: "web"},
				PaymentProviderID: 11, ExternalOrderID: "X1", SendReceipt: true,
				Payer:      &testPayer{FirstName: "Ola", PostalCode: "0179"},
				OrderLines: []testOrderLine{{ProductCode: "AP", Quantity: 2, Price: 84.54}},
			},
		},
		{
			name:        "JSON leniency",
			contentType: "application/json; charset=UTF-8",
			body: `{"paymentProviderId":"11","externalOrderId":12345,"sendReceipt":"true",
				"payer":{"postalCode":179,"BirthDate":"2015-06-01T12:00:00+02:00"},
				"orderLines":[{"quantity":" 3 ","price":"295"}],"counts":{"a":"4"},"amount":"84.54","couponNumber":77}`,
			want: testOrder{
				PaymentProviderID: 11, ExternalOrderID: "12345", SendReceipt: true,
				Payer:      &testPayer{PostalCode: "179", BirthDate: &birth},
				OrderLines: []testOrderLine{{Quantity: 3, Price: 295}},
				Counts:     map[string]int{"a": 4}, Amount: ptr(84.54), CouponNumber: 77,
			},
		},
		{
			name:        "JSON member names ignore case, as encoding/json does",
			contentType: "application/vnd.connect+json",
			body:        `{"PAYMENTPROVIDERID":"5","ignored":"x"}`,
			want:        testOrder{PaymentProviderID: 5},
		},
		{
			name:        "XML from the PHP client",
			contentType: "application/xml;charset=UTF-8",
			body: `<?xml version="1.0" encoding="UTF-8"?>
<data>
  <paymentProviderId>11</paymentProviderId>
  <externalOrderId>X&amp;1</externalOrderId>
  <sendReceipt>false</sendReceipt>
  <payer><firstName>Ola</firstName><postalCode>0179</postalCode><BirthDate>2015-06-01T12:00:00+02:00</BirthDate></payer>
  <orderLines>
    <item0><productCode>AP</productCode><quantity>2</quantity><price>84.54</price></item0>
    <item1 kind="x"><productCode>BT</productCode><quantity>1</quantity></item1>
  </orderLines>
  <tags><tag>a</tag><whatever>b</whatever><empty/></tags>
  <counts><x>1</x></counts>
  <amount></amount>
  <unknown><x>1</x></unknown>
  <couponNumber>9</couponNumber>
</data>`,
			want: testOrder{
				PaymentProviderID: 11, ExternalOrderID: "X&1",
				Payer: &testPayer{FirstName: "Ola", PostalCode: "0179", BirthDate: &birth},
				OrderLines: []testOrderLine{
					{ProductCode: "AP", Quantity: 2, Price: 84.54},
					{ProductCode: "BT", Quantity: 1},
				},
				Tags:   []string{"a", "b"},
				Counts: map[string]int{"x": 1}, CouponNumber: 9,
			},
		},
		{
			name:        "XML empty elements are absent",
			contentType: "text/xml",
			body:        `<order><paymentProviderId/><payer></payer><orderLines>  </orderLines><source>s</source></order>`,
			want:        testOrder{testMeta: testMeta{Source: "s"}},
		},
		{
			name:        "XML list written as text and as repeated containers",
			contentType: "application/xml",
			body:        `<data><tags>one</tags><orderLines><a><quantity>1</quantity></a></orderLines><orderLines><b><quantity>2</quantity></b></orderLines></data>`,
			want:        testOrder{Tags: []string{"one"}, OrderLines: []testOrderLine{{Quantity: 1}, {Quantity: 2}}},
		},
		{
			name: "sniffed JSON",
			body: "\n {\"paymentProviderId\":1}",
			want: testOrder{PaymentProviderID: 1},
		},
		{
			name: "sniffed XML with BOM",
			body: "\uFEFF<data><paymentProviderId>1</paymentProviderId></data>",
			want: testOrder{PaymentProviderID: 1},
		},
		{name: "empty body", contentType: "application/json", body: "", want: testOrder{}},
		{name: "whitespace body", contentType: "text/plain", body: " \n", want: testOrder{}},
		{name: "empty XML root", contentType: "application/xml", body: "<data/>", want: testOrder{}},
		{name: "JSON null", contentType: "application/json", body: "null", want: testOrder{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got testOrder
			if err := DecodeBytes(tt.contentType, []byte(tt.body), &got); err != nil {
				t.Fatalf("DecodeBytes: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeBytesErrors(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantKind    errs.Kind
		wantField   string
	}{
		{"truncated JSON", "application/json", `{"payer":{"firstName":"Ola"`, errs.Invalid, ""},
		{"JSON syntax", "application/json", `{"a":}`, errs.Invalid, ""},
		{"JSON trailing data", "application/json", `{} {}`, errs.Invalid, ""},
		{"truncated XML", "application/xml", `<data><payer><firstName>Ola</firstName>`, errs.Invalid, ""},
		{"XML mismatched tag", "application/xml", `<data><a></b></data>`, errs.Invalid, ""},
		{"XML two roots", "application/xml", `<a/><b/>`, errs.Invalid, ""},
		{"XML text outside root", "application/xml", `<a/>junk`, errs.Invalid, ""},
		{"XML unknown entity", "application/xml", `<a>&xxe;</a>`, errs.Invalid, ""},
		{"XML DTD", "application/xml", `<?xml version="1.0"?><!DOCTYPE data [<!ENTITY x "y">]><data>&x;</data>`, errs.Invalid, ""},
		{"XML DTD without entities", "text/xml", `<!DOCTYPE data SYSTEM "http://example.com/x.dtd"><data/>`, errs.Invalid, ""},
		{"XML foreign encoding", "application/xml", `<?xml version="1.0" encoding="ISO-8859-1"?><data/>`, errs.Invalid, ""},
		{"wrong content type", "application/x-www-form-urlencoded", `a=1`, errs.UnsupportedMedia, ""},
		{"text/plain", "text/plain", `{"a":1}`, errs.UnsupportedMedia, ""},
		{"unsniffable", "", `a=1`, errs.UnsupportedMedia, ""},
		{"invalid UTF-8 JSON", "application/json", "{\"externalOrderId\":\"\xff\"}", errs.Invalid, ""},
		{"invalid UTF-8 XML", "application/xml", "<data><externalOrderId>\xc3</externalOrderId></data>", errs.Invalid, ""},
		{"deep JSON", "application/json", strings.Repeat("[", 65) + strings.Repeat("]", 65), errs.Invalid, ""},
		{"deep XML", "application/xml", strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65), errs.Invalid, ""},
		{"int field gets text", "application/json", `{"orderLines":[{"quantity":"two"}]}`, errs.Invalid, "orderLines[0].quantity"},
		{"int field gets fraction", "application/json", `{"paymentProviderId":1.5}`, errs.Invalid, "paymentProviderId"},
		{"int overflow", "application/json", `{"paymentProviderId":99999999999999999999}`, errs.Invalid, "paymentProviderId"},
		{"string field gets object", "application/json", `{"payer":{"postalCode":{}}}`, errs.Invalid, "payer.postalCode"},
		{"string field gets bool", "application/json", `{"externalOrderId":true}`, errs.Invalid, "externalOrderId"},
		{"bool field gets text", "application/json", `{"sendReceipt":"yes"}`, errs.Invalid, "sendReceipt"},
		{"struct field gets string", "application/json", `{"payer":"Ola"}`, errs.Invalid, "payer"},
		{"list field gets object", "application/json", `{"orderLines":{}}`, errs.Invalid, "orderLines"},
		{"float field gets NaN", "application/json", `{"amount":"NaN"}`, errs.Invalid, "amount"},
		{"body is not an object", "application/json", `[1]`, errs.Invalid, ""},
		{"time field invalid", "application/json", `{"payer":{"BirthDate":"yesterday"}}`, errs.Invalid, "payer.BirthDate"},
		{"XML int field gets text", "application/xml", `<data><orderLines><item0><quantity>x</quantity></item0></orderLines></data>`, errs.Invalid, "orderLines[0].quantity"},
		{"XML struct field gets text", "application/xml", `<data><payer>Ola</payer></data>`, errs.Invalid, "payer"},
		{"XML scalar field gets elements", "application/xml", `<data><quantity/><paymentProviderId><a>1</a></paymentProviderId></data>`, errs.Invalid, "paymentProviderId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst testOrder
			err := DecodeBytes(tt.contentType, []byte(tt.body), &dst)
			var e *errs.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want *errs.Error", err, err)
			}
			if e.Kind != tt.wantKind || e.Field != tt.wantField {
				t.Errorf("got kind %v field %q (%v), want kind %v field %q", e.Kind, e.Field, err, tt.wantKind, tt.wantField)
			}
			if e.Message == "" {
				t.Errorf("empty message")
			}
		})
	}
}

func TestDecodeRequest(t *testing.T) {
	t.Run("oversized body", func(t *testing.T) {
		body := `{"externalOrderId":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
		r := httptest.NewRequest("POST", "/v1/order", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var dst testOrder
		if err := Decode(r, &dst); errs.KindOf(err) != errs.TooLarge {
			t.Errorf("got %v, want TooLarge", err)
		}
	})
	t.Run("oversized body without Content-Length", func(t *testing.T) {
		body := bytes.Repeat([]byte(" "), MaxBodyBytes+1)
		r := httptest.NewRequest("POST", "/v1/order", bytes.NewReader(body))
		r.ContentLength = -1
		var dst testOrder
		if err := Decode(r, &dst); errs.KindOf(err) != errs.TooLarge {
			t.Errorf("got %v, want TooLarge", err)
		}
	})
	t.Run("exactly the limit", func(t *testing.T) {
		body := `{"externalOrderId":"x"}` + strings.Repeat(" ", MaxBodyBytes-len(`{"externalOrderId":"x"}`))
		r := httptest.NewRequest("POST", "/v1/order", strings.NewReader(body))
		var dst testOrder
		if err := Decode(r, &dst); err != nil || dst.ExternalOrderID != "x" {
			t.Errorf("got %v, %+v", err, dst)
		}
	})
	t.Run("no body", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/v1/order", nil)
		var dst testOrder
		if err := Decode(r, &dst); err != nil {
			t.Errorf("got %v", err)
		}
	})
	t.Run("XML request", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/v1/order", strings.NewReader(`<data><paymentProviderId>7</paymentProviderId></data>`))
		r.Header.Set("Content-Type", "application/xml;charset=UTF-8")
		var dst testOrder
		if err := Decode(r, &dst); err != nil || dst.PaymentProviderID != 7 {
			t.Errorf("got %v, %+v", err, dst)
		}
	})
}

func TestDecodeNeedsPointer(t *testing.T) {
	var dst testOrder
	err := DecodeBytes("application/json", []byte(`{}`), dst)
	if err == nil || errs.KindOf(err) != errs.Internal {
		t.Errorf("got %v, want an internal (programming) error", err)
	}
}
