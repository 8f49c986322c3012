package httpx

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/errs"
)

// checkDecodeError fails unless err is nil or one of the kinds a client can
// cause; anything else would surface as a 500.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, not *errs.Error: %v", err, err)
	}
	switch e.Kind {
	case errs.Invalid, errs.TooLarge, errs.UnsupportedMedia:
	default:
		t.Fatalf("unexpected kind %v: %v", e.Kind, err)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"paymentProviderId":11,"externalOrderId":"X1","payer":{"firstName":"Ola","postalCode":179},"orderLines":[{"productCode":"AP","quantity":"2","price":84.54}]}`,
		`{"paymentProviderId":"11","sendReceipt":"true","couponNumber":"5","counts":{"a":1},"amount":null}`,
		`{"payer":{"BirthDate":"2015-06-01T12:00:00+02:00"},"tags":["a","b"],"unknown":[{"x":[1,{}]}]}`,
		`{"orderLines":[{"quantity":1e400}]}`,
		`{"paymentProviderId":-0.0e-1}`,
		`[{"a":"\ud800"}]`,
		`{"externalOrderId":"\u0000"}`,
		`{`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var dst testOrder
		checkDecodeError(t, DecodeBytes("application/json", []byte(body), &dst))
		// Whatever the strict fast path takes, the lenient path reads the same.
		var strict, lenient testOrder
		if decodeStrict([]byte(body), &strict) {
			tree, err := parseJSON([]byte(body))
			if err != nil {
				t.Fatalf("strict decoding took a body the parser refuses: %v", err)
			}
			if err := decodeTree(tree, reflect.TypeFor[testOrder](), []byte(body), false, &lenient); err != nil {
				t.Fatalf("strict decoding took a body the lenient path refuses: %v", err)
			}
			if !reflect.DeepEqual(strict, lenient) {
				t.Fatalf("strict %+v, lenient %+v", strict, lenient)
			}
		}
		var generic map[string]any
		checkDecodeError(t, DecodeBytes("", []byte(body), &generic))
	})
}

func FuzzDecodeXML(f *testing.F) {
	for _, seed := range []string{
		`<?xml version="1.0" encoding="UTF-8"?><data><paymentProviderId>11</paymentProviderId><orderLines><item0><productCode>AP</productCode><quantity>2</quantity></item0><item1><quantity>1</quantity></item1></orderLines></data>`,
		`<data><payer><firstName>Ola</firstName><postalCode>0179</postalCode><BirthDate>2015-06-01</BirthDate></payer><tags>x</tags><counts><a>1</a></counts></data>`,
		`<order xmlns:a="urn:x"><a:sendReceipt>1</a:sendReceipt><amount>84.54</amount><couponNumber>3</couponNumber></order>`,
		`<!DOCTYPE data [<!ENTITY a "b">]><data>&a;</data>`,
		`<data><![CDATA[<x>]]><!-- c --><?pi x?></data>`,
		`<data><orderLines><item0/></orderLines></data>`,
		`<data>`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var dst testOrder
		checkDecodeError(t, DecodeBytes("application/xml", []byte(body), &dst))
		var generic any
		checkDecodeError(t, DecodeBytes("text/xml", []byte(body), &generic))
	})
}

// FuzzWriteXML checks that any JSON value becomes well-formed XML.
func FuzzWriteXML(f *testing.F) {
	for _, seed := range []string{
		`{"subscriptions":[{"id":1,"name":"A&B"}]}`,
		`{"a b":{"1":[[null,true]]},"":"\u0001<\r>","ns:x":1e5}`,
		`[{"x":"y"},[],{}]`,
		`"text"`,
		`null`,
	} {
		f.Add(seed, "")
		f.Add(seed, "profile")
	}
	f.Fuzz(func(t *testing.T, body, root string) {
		var v any
		if json.Unmarshal([]byte(body), &v) != nil {
			return
		}
		rec := httptest.NewRecorder()
		Write(rec, xmlRequest(), http.StatusOK, v, Options{Root: root})
		dec := xml.NewDecoder(strings.NewReader(rec.Body.String()))
		dec.Strict = true
		roots := 0
		for depth := 0; ; {
			token, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("not well-formed: %v\n%s", err, rec.Body.String())
			}
			switch token.(type) {
			case xml.StartElement:
				if depth == 0 {
					roots++
				}
				depth++
			case xml.EndElement:
				depth--
			}
		}
		if roots != 1 {
			t.Fatalf("%d root elements:\n%s", roots, rec.Body.String())
		}
	})
}
