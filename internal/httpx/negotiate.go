// Package httpx is the one place where the API turns values into JSON or XML
// responses and request bodies into values, so handlers never deal with
// formats, status codes for failures or content negotiation themselves.
package httpx

import (
	"net/http"
	"strconv"
	"strings"
)

// Format is a response representation.
type Format int

const (
	JSON Format = iota
	XML
)

func (f Format) String() string {
	if f == XML {
		return "XML"
	}
	return "JSON"
}

// Negotiate picks the response format by the rules of spec §5.2, in order:
//  1. Accept prefers application/json or a +json type over XML → JSON
//     (on equal q-values JSON wins);
//  2. Accept prefers application/xml, text/xml or a +xml type → XML;
//  3. Accept decides neither way (absent, wildcards, other types only) and
//     the request body is XML → XML;
//  4. otherwise the endpoint default.
//
// It never fails: an Accept that allows neither format gets the default,
// because the spec forbids 406.
func Negotiate(r *http.Request, defaultXML bool) Format {
	jsonQ, xmlQ := acceptQualities(r.Header.Values("Accept"))
	switch {
	case jsonQ > 0 || xmlQ > 0:
		if jsonQ >= xmlQ {
			return JSON
		}
		return XML
	// One format explicitly refused (q=0) and the other not mentioned:
	// the client has still told us which one it cannot read.
	case jsonQ == 0 && xmlQ < 0:
		return XML
	case xmlQ == 0 && jsonQ < 0:
		return JSON
	}
	if isXMLMediaType(mediaType(r.Header.Get("Content-Type"))) {
		return XML
	}
	if defaultXML {
		return XML
	}
	return JSON
}

// acceptQualities returns the highest q-value given to a JSON type and to an
// XML type in the Accept header values, or -1 for a family not named.
// Wildcards are deliberately not counted: they decide neither way (rule 3).
func acceptQualities(values []string) (jsonQ, xmlQ float64) {
	jsonQ, xmlQ = -1, -1
	for _, value := range values {
		for _, part := range strings.Split(value, ",") {
			typ, params, _ := strings.Cut(part, ";")
			typ = strings.ToLower(strings.TrimSpace(typ))
			q := qualityOf(params)
			switch {
			case isJSONMediaType(typ):
				jsonQ = max(jsonQ, q)
			case isXMLMediaType(typ):
				xmlQ = max(xmlQ, q)
			}
		}
	}
	return jsonQ, xmlQ
}

// qualityOf reads the q parameter from a media range's parameters. A missing
// or malformed q counts as 1: being lenient here can only make us answer in
// a format the client listed.
func qualityOf(params string) float64 {
	for params != "" {
		var param string
		param, params, _ = strings.Cut(params, ";")
		name, value, ok := strings.Cut(param, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q != q { // q != q catches NaN
			return 1
		}
		return min(max(q, 0), 1)
	}
	return 1
}

// mediaType returns the lower-cased type/subtype of a Content-Type value.
func mediaType(contentType string) string {
	typ, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(typ))
}

func isJSONMediaType(typ string) bool {
	return typ == "application/json" || (strings.HasSuffix(typ, "+json") && strings.Contains(typ, "/"))
}

func isXMLMediaType(typ string) bool {
	return typ == "application/xml" || typ == "text/xml" || (strings.HasSuffix(typ, "+xml") && strings.Contains(typ, "/"))
}
