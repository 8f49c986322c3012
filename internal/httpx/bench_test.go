package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmarks
// measure encoding rather than a recorder's buffer.
type discardWriter struct{ header http.Header }

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func BenchmarkWriteXML(b *testing.B) {
	subscriptions := make([]subscription, 20)
	for i := range subscriptions {
		subscriptions[i] = subscription{SubscriptionID: int64(i), Product: "AP & co", Price: 84.54}
	}
	v := map[string]any{"subscriptions": subscriptions}
	r := xmlRequest()
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{header: http.Header{}}
		Write(w, r, http.StatusOK, v, Options{})
	}
}

func BenchmarkWriteJSON(b *testing.B) {
	v := profile{UniqueID: "x", Name: name{FirstName: "Ola"}, Emails: []string{"a@b"}}
	r := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{header: http.Header{}}
		Write(w, r, http.StatusOK, v, Options{})
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	lines := strings.Repeat(`{"productCode":"AP","quantity":2,"price":84.54},`, 10)
	body := []byte(`{"paymentProviderId":"11","externalOrderId":"X1","sendReceipt":true,` +
		`"payer":{"firstName":"Ola","postalCode":179},"orderLines":[` + strings.TrimSuffix(lines, ",") + `]}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var dst testOrder
		if err := DecodeBytes("application/json", body, &dst); err != nil {
			b.Fatal(err)
		}
	}
}
