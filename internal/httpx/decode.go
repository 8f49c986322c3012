package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"unicode/utf8"

	"github.com/connect-oss/connect/internal/errs"
)

// MaxBodyBytes is the largest request body accepted (spec §8: 413 above 1 MiB).
const MaxBodyBytes = 1 << 20

// maxDepth bounds the nesting of request documents. No API body comes close;
// the limit keeps hostile input from costing deep recursion.
const maxDepth = 64

// Decode reads the request body into dst, a pointer (normally to a struct).
// See DecodeBytes for the rules.
func Decode(r *http.Request, dst any) error {
	if r.Body == nil || r.Body == http.NoBody {
		return DecodeBytes(r.Header.Get("Content-Type"), nil, dst)
	}
	if r.ContentLength > MaxBodyBytes {
		return tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) { // a limit set by an outer middleware
			return tooLarge()
		}
		return errs.Wrap(errs.Invalid, err, "could not read the request body")
	}
	if len(body) > MaxBodyBytes {
		return tooLarge()
	}
	return DecodeBytes(r.Header.Get("Content-Type"), body, dst)
}

func tooLarge() error {
	return errs.E(errs.TooLarge, "request body exceeds %d bytes", MaxBodyBytes)
}

// DecodeBytes decodes a request body that has already been read; contentType
// is the Content-Type header value.
//
//   - JSON (application/json, +json) and XML (application/xml, text/xml, +xml)
//     are accepted; without a Content-Type the first non-space byte decides.
//     Anything else is errs.UnsupportedMedia.
//   - An empty body leaves dst as it is (the zero value) without error.
//   - Malformed documents, invalid UTF-8, wrong types and nesting deeper than
//     64 levels are errs.Invalid, with Field set to the dotted path when known.
//   - Unknown fields are ignored.
//   - Lenient types (spec §5.1, §6.2): number fields take numeric strings,
//     string fields take numbers (as their decimal text), bool fields take
//     "true"/"false" (and 1/0). Types implementing json.Unmarshaler receive
//     the value as sent (from XML: the element text as a JSON string).
//   - XML (spec §5.3): the root name is ignored, every child of a list field
//     is one entry whatever its name, empty elements are absent, attributes
//     are ignored, DTDs and entity declarations are rejected.
//
// It works by building a generic tree from the document, coercing the tree
// against the type of dst and unmarshalling that with encoding/json, so JSON
// tags and UnmarshalJSON methods behave exactly as they do for JSON.
func DecodeBytes(contentType string, body []byte, dst any) error {
	target, err := targetType(dst)
	if err != nil {
		return err
	}
	body = bytes.TrimPrefix(body, []byte("\uFEFF")) // some Windows clients send a BOM
	first := firstNonSpace(body)
	if first < 0 {
		return nil
	}
	format, err := bodyFormat(contentType, body[first])
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return errs.E(errs.Invalid, "request body is not valid UTF-8")
	}

	var tree any
	if format == XML {
		root, err := parseXML(body)
		if err != nil {
			return err
		}
		value, present := xmlValue(root, target)
		if !present {
			return nil
		}
		tree = value
	} else {
		if err := checkJSONDepth(body); err != nil {
			return err
		}
		if decodeStrict(body, dst) {
			return nil
		}
		if tree, err = parseJSON(body); err != nil {
			return err
		}
	}
	return decodeTree(tree, target, body, format == XML, dst)
}

// decodeTree unmarshals a parsed body into dst with coerce's leniency.
// body is the JSON document the tree came from (nil or ignored when
// fromXML: the tree is then marshalled).
func decodeTree(tree any, target reflect.Type, body []byte, fromXML bool, dst any) error {
	coerced, changed, err := coerce(tree, target, nil)
	if err != nil {
		return err
	}
	doc := body
	if fromXML || changed {
		if doc, err = json.Marshal(coerced); err != nil {
			return errs.Wrap(errs.Invalid, err, "invalid request body")
		}
	}
	return unmarshalError(json.Unmarshal(doc, dst))
}

// targetType checks dst and returns the type it points to.
func targetType(dst any) (t reflect.Type, err error) {
	rv := reflect.ValueOf(dst)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() {
		// A programming error, not the client's: reported as internal.
		return nil, fmt.Errorf("httpx: Decode needs a non-nil pointer, got %T", dst)
	}
	return rv.Type().Elem(), nil
}

func firstNonSpace(body []byte) int {
	for i, b := range body {
		switch b {
		case ' ', '\t', '\n', '\r':
		default:
			return i
		}
	}
	return -1
}

// bodyFormat picks the parser from the Content-Type, or from the first byte
// when there is none.
func bodyFormat(contentType string, first byte) (Format, error) {
	typ := mediaType(contentType)
	switch {
	case isJSONMediaType(typ):
		return JSON, nil
	case isXMLMediaType(typ):
		return XML, nil
	case typ == "":
		switch first {
		case '{', '[':
			return JSON, nil
		case '<':
			return XML, nil
		}
		return 0, errs.E(errs.UnsupportedMedia, "request body must be JSON or XML")
	}
	return 0, errs.E(errs.UnsupportedMedia, "unsupported Content-Type %q: send application/json or application/xml", typ)
}

// decodeStrict is the fast path for JSON that needs none of coerce's
// leniency: when encoding/json takes the body as it is, coerce would have
// changed nothing and found nothing wrong (it rejects only what
// encoding/json rejects too, and adjusts only values encoding/json refuses),
// so the result is the same without building and walking a generic tree
// (half the cost of decoding an order). It decodes into a copy of *dst, so
// that a body it refuses leaves *dst to the lenient path untouched.
func decodeStrict(body []byte, dst any) bool {
	target := reflect.ValueOf(dst).Elem()
	fresh := reflect.New(target.Type())
	fresh.Elem().Set(target)
	if json.Unmarshal(body, fresh.Interface()) != nil {
		return false
	}
	target.Set(fresh.Elem())
	return true
}

// parseJSON decodes body into a generic tree, numbers as json.Number so that
// their text survives exactly.
func parseJSON(body []byte) (any, error) {
	if err := checkJSONDepth(body); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, jsonSyntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errs.E(errs.Invalid, "malformed JSON: unexpected data after the document")
	}
	return tree, nil
}

func jsonSyntaxError(err error) error {
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return errs.Wrap(errs.Invalid, err, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Wrap(errs.Invalid, err, "malformed JSON: unexpected end of the body")
	}
	return errs.Wrap(errs.Invalid, err, "malformed JSON")
}

// checkJSONDepth rejects documents nested deeper than maxDepth before any
// recursive decoding happens.
func checkJSONDepth(body []byte) error {
	depth, inString := 0, false
	for i := 0; i < len(body); i++ {
		b := body[i]
		if inString {
			switch b {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > maxDepth {
				return errs.E(errs.Invalid, "request body is nested more than %d levels deep", maxDepth)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// unmarshalError turns an error from the final json.Unmarshal into an
// *errs.Error. Coercion has already caught the common mistakes with a
// precise path; what remains are overflows and similar.
func unmarshalError(err error) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return &errs.Error{Kind: errs.Invalid, Field: typeErr.Field, Message: "invalid value (" + typeErr.Value + ")", Err: err}
	}
	var invalid *json.InvalidUnmarshalError
	if errors.As(err, &invalid) {
		return err // programming error → 500
	}
	return errs.Wrap(errs.Invalid, err, "invalid request body")
}
