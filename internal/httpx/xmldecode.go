package httpx

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"

	"github.com/connect-oss/connect/internal/errs"
)

// element is one parsed XML element: its local name, its text and its child
// elements in document order. Attributes are ignored (spec §5.3).
type element struct {
	name     string
	text     []byte
	children []*element
}

// isEmpty reports whether the element counts as absent: no children and no
// text other than whitespace.
func (e *element) isEmpty() bool {
	return len(e.children) == 0 && len(bytes.TrimSpace(e.text)) == 0
}

// parseXML parses body into an element tree. It is strict: one root element,
// matching tags, only the predefined entities, no DTD, at most maxDepth levels.
func parseXML(body []byte) (*element, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	// No CharsetReader: a document declaring an encoding other than UTF-8
	// fails, which is right since the body must be UTF-8.

	var root *element
	var stack []*element
	for {
		token, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlSyntaxError(err)
		}
		switch token := token.(type) {
		case xml.StartElement:
			if len(stack) == 0 && root != nil {
				return nil, errs.E(errs.Invalid, "malformed XML: more than one root element")
			}
			if len(stack) >= maxDepth {
				return nil, errs.E(errs.Invalid, "request body is nested more than %d levels deep", maxDepth)
			}
			e := &element{name: token.Name.Local}
			if len(stack) == 0 {
				root = e
			} else {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1] // Strict mode guarantees it matches
		case xml.CharData:
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.text = append(top.text, token...)
			} else if len(bytes.TrimSpace(token)) > 0 {
				return nil, errs.E(errs.Invalid, "malformed XML: text outside the root element")
			}
		case xml.Directive:
			// <!DOCTYPE …> and <!ENTITY …>: refused outright rather than
			// parsed, so no entity tricks are possible.
			return nil, errs.E(errs.Invalid, "XML DTDs and entity declarations are not accepted")
		}
	}
	if len(stack) > 0 {
		return nil, errs.E(errs.Invalid, "malformed XML: unexpected end of the body")
	}
	if root == nil {
		return nil, errs.E(errs.Invalid, "malformed XML: no root element")
	}
	return root, nil
}

func xmlSyntaxError(err error) error {
	var syntax *xml.SyntaxError
	if errors.As(err, &syntax) {
		return errs.Wrap(errs.Invalid, err, "malformed XML on line %d: %s", syntax.Line, syntax.Msg)
	}
	return errs.Wrap(errs.Invalid, err, "malformed XML")
}

// xmlValue converts e into the generic tree shape that type t needs, using
// the type to decide what XML alone cannot say: which elements are lists and
// which are objects. Scalars stay strings; coerce converts them afterwards.
// present is false for an empty element, which counts as absent.
func xmlValue(e *element, t reflect.Type) (value any, present bool) {
	if e.isEmpty() {
		return nil, false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if implements(t, jsonUnmarshalerType) || implements(t, textUnmarshalerType) {
		if len(e.children) > 0 {
			return genericXMLValue(e)
		}
		return string(e.text), true
	}
	switch t.Kind() {
	case reflect.Struct:
		if len(e.children) == 0 {
			return string(e.text), true // not an object; coerce reports it
		}
		fields := fieldsOf(t)
		object := make(map[string]any, len(e.children))
		for _, child := range e.children {
			f := fields.lookup(child.name)
			if f == nil {
				continue // unknown elements are ignored
			}
			v, ok := xmlValue(child, f.typ)
			if !ok {
				continue
			}
			// A list given as several containers is one list.
			if list, isList := v.([]any); isList {
				if earlier, wasList := object[f.name].([]any); wasList {
					v = append(earlier, list...)
				}
			}
			object[f.name] = v
		}
		return object, true
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return strings.TrimSpace(string(e.text)), true // base64 text
		}
		if len(e.children) == 0 {
			if !isScalarKind(t.Elem()) {
				return string(e.text), true // not a list; coerce reports it
			}
			// A list of one scalar written as the element's text.
			return []any{string(e.text)}, true
		}
		list := make([]any, 0, len(e.children))
		for _, child := range e.children {
			if v, ok := xmlValue(child, t.Elem()); ok {
				list = append(list, v)
			}
		}
		return list, true
	case reflect.Map:
		if len(e.children) == 0 {
			return string(e.text), true
		}
		object := make(map[string]any, len(e.children))
		for _, child := range e.children {
			if v, ok := xmlValue(child, t.Elem()); ok {
				object[child.name] = v
			}
		}
		return object, true
	case reflect.Interface:
		return genericXMLValue(e)
	}
	if len(e.children) > 0 {
		return genericXMLValue(e) // nested elements where a scalar belongs; coerce reports it
	}
	return string(e.text), true
}

// genericXMLValue converts e without a type to guide it: text for a leaf,
// otherwise an object whose repeated child names become lists.
func genericXMLValue(e *element) (any, bool) {
	if e.isEmpty() {
		return nil, false
	}
	if len(e.children) == 0 {
		return string(e.text), true
	}
	object := make(map[string]any, len(e.children))
	for _, child := range e.children {
		v, ok := genericXMLValue(child)
		if !ok {
			continue
		}
		switch earlier := object[child.name].(type) {
		case nil:
			object[child.name] = v
		case []any:
			object[child.name] = append(earlier, v)
		default:
			object[child.name] = []any{earlier, v}
		}
	}
	return object, true
}

// isScalarKind reports whether t (behind any pointers) holds a single value
// rather than a list, object or map.
func isScalarKind(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Struct, reflect.Map, reflect.Interface:
		return implements(t, jsonUnmarshalerType) || implements(t, textUnmarshalerType)
	}
	return true
}
