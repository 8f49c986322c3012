package httpx

import (
	"net/http/httptest"
	"testing"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name        string
		accept      string
		contentType string
		defaultXML  bool
		want        Format
	}{
		{"absent accept, JSON default", "", "", false, JSON},
		{"absent accept, XML default", "", "", true, XML},
		{"star star, JSON default", "*/*", "", false, JSON},
		{"star star, XML default", "*/*", "", true, XML},
		{"application star decides nothing", "application/*", "", true, XML},
		{"application/json beats XML default", "application/json", "", true, JSON},
		{"application/xml beats JSON default", "application/xml", "", false, XML},
		{"text/xml", "text/xml", "", false, XML},
		{"+xml type", "application/atom+xml", "", false, XML},
		{"+json type", "application/problem+json", "", true, JSON},
		{"json q=1 over text/xml q=0.9", "text/xml;q=0.9, application/json", "", true, JSON},
		{"xml preferred by q", "application/json;q=0.5, application/xml", "", false, XML},
		{"tie goes to JSON", "application/xml, application/json", "", true, JSON},
		{"q values with spaces and case", "application/json ; Q=0.2, application/xml; q=0.8", "", false, XML},
		{"explicit xml with wildcard", "application/xml;q=0.5, */*", "", false, XML},
		{"other types only", "text/html", "", true, XML},
		{"other types only, JSON default", "text/html, image/png", "", false, JSON},
		{"XML body with star star", "*/*", "application/xml;charset=UTF-8", false, XML},
		{"XML body without accept", "", "text/xml", false, XML},
		{"XML body but accept json", "application/json", "application/xml", true, JSON},
		{"JSON body keeps XML default", "", "application/json", true, XML},
		{"json refused, xml unnamed", "application/json;q=0", "", false, XML},
		{"both refused falls back to default", "application/json;q=0, application/xml;q=0", "", true, XML},
		{"malformed q counts as 1", "application/xml;q=abc", "", false, XML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			if got := Negotiate(r, tt.defaultXML); got != tt.want {
				t.Errorf("Negotiate(Accept %q, Content-Type %q, defaultXML %v) = %v, want %v",
					tt.accept, tt.contentType, tt.defaultXML, got, tt.want)
			}
		})
	}
}

func TestNegotiateSeveralAcceptHeaders(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Accept", "text/html")
	r.Header.Add("Accept", "application/xml")
	if got := Negotiate(r, false); got != XML {
		t.Errorf("got %v, want XML", got)
	}
}
