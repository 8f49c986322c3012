package httpx

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/connect-oss/connect/internal/errs"
)

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// path is the location of a value in the document, built as a linked list so
// that the dotted string is only made when an error needs it.
type path struct {
	parent *path
	name   string // member name, or "" for an array index
	index  int
}

func (p *path) String() string {
	if p == nil {
		return ""
	}
	prefix := p.parent.String()
	if p.name == "" {
		return prefix + "[" + strconv.Itoa(p.index) + "]"
	}
	if prefix == "" {
		return p.name
	}
	return prefix + "." + p.name
}

func invalidAt(p *path, message string) *errs.Error {
	return &errs.Error{Kind: errs.Invalid, Field: p.String(), Message: message}
}

// coerce returns v (a generic tree: map[string]any, []any, json.Number,
// string, bool, nil) adjusted to what encoding/json needs to unmarshal it
// into type t, applying the leniency rules. changed reports whether anything
// was adjusted, so unchanged JSON can be unmarshalled from the original bytes.
func coerce(v any, t reflect.Type, at *path) (any, bool, error) {
	if v == nil {
		return nil, false, nil // null leaves the field as it is, as in encoding/json
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if implements(t, jsonUnmarshalerType) {
		return v, false, tryUnmarshaler(v, t, at)
	}
	if implements(t, textUnmarshalerType) {
		return coerceText(v, t, at)
	}

	switch t.Kind() {
	case reflect.String:
		switch v := v.(type) {
		case string:
			return v, false, nil
		case json.Number:
			return string(v), true, nil
		}
		return nil, false, invalidAt(at, "must be a string")
	case reflect.Bool:
		b, ok := boolOf(v)
		if !ok {
			return nil, false, invalidAt(at, "must be true or false")
		}
		_, same := v.(bool)
		return b, !same, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return coerceNumber(v, at, func(s string) (string, string) {
			n, err := strconv.ParseInt(s, 10, t.Bits())
			if err != nil {
				return "", numberProblem(err, "must be an integer")
			}
			return strconv.FormatInt(n, 10), ""
		})
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return coerceNumber(v, at, func(s string) (string, string) {
			n, err := strconv.ParseUint(s, 10, t.Bits())
			if err != nil {
				return "", numberProblem(err, "must be a non-negative integer")
			}
			return strconv.FormatUint(n, 10), ""
		})
	case reflect.Float32, reflect.Float64:
		return coerceNumber(v, at, func(s string) (string, string) {
			f, err := strconv.ParseFloat(s, t.Bits())
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return "", numberProblem(err, "must be a number")
			}
			return strconv.FormatFloat(f, 'g', -1, t.Bits()), ""
		})
	case reflect.Struct:
		object, ok := v.(map[string]any)
		if !ok {
			return nil, false, invalidAt(at, "must be an object")
		}
		return coerceStruct(object, fieldsOf(t), at)
	case reflect.Map:
		object, ok := v.(map[string]any)
		if !ok {
			return nil, false, invalidAt(at, "must be an object")
		}
		changed := false
		for key, member := range object {
			c, ch, err := coerce(member, t.Elem(), &path{parent: at, name: key})
			if err != nil {
				return nil, false, err
			}
			object[key], changed = c, changed || ch
		}
		return object, changed, nil
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			if _, ok := v.(string); !ok { // []byte is base64 text in JSON
				return nil, false, invalidAt(at, "must be a base64 string")
			}
			return v, false, nil
		}
		list, ok := v.([]any)
		if !ok {
			return nil, false, invalidAt(at, "must be a list")
		}
		changed := false
		for i, entry := range list {
			c, ch, err := coerce(entry, t.Elem(), &path{parent: at, index: i})
			if err != nil {
				return nil, false, err
			}
			list[i], changed = c, changed || ch
		}
		return list, changed, nil
	}
	return v, false, nil // interfaces and anything exotic: as sent
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

// coerceNumber accepts a JSON number or a numeric string and returns the
// canonical number text from parse (which also range-checks it).
func coerceNumber(v any, at *path, parse func(string) (string, string)) (any, bool, error) {
	var text string
	switch v := v.(type) {
	case json.Number:
		text = string(v)
	case string:
		text = strings.TrimSpace(v)
	default:
		_, problem := parse("not a number")
		return nil, false, invalidAt(at, problem)
	}
	canonical, problem := parse(text)
	if problem != "" {
		return nil, false, invalidAt(at, problem)
	}
	n := json.Number(canonical)
	original, same := v.(json.Number)
	return n, !same || original != n, nil
}

func numberProblem(err error, problem string) string {
	if numErr, ok := err.(*strconv.NumError); ok && numErr.Err == strconv.ErrRange {
		return "is out of range"
	}
	return problem
}

func boolOf(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
	case json.Number:
		switch v {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	}
	return false, false
}

// tryUnmarshaler runs the type's own UnmarshalJSON on the value now, so a
// failure is reported with its path (encoding/json would lose it).
func tryUnmarshaler(v any, t reflect.Type, at *path) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return invalidAt(at, "invalid value")
	}
	if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
		return fieldError(err, at)
	}
	return nil
}

// coerceText handles encoding.TextUnmarshaler types, which encoding/json only
// feeds JSON strings: numbers and booleans are passed on as their text.
func coerceText(v any, t reflect.Type, at *path) (any, bool, error) {
	var text string
	changed := true
	switch v := v.(type) {
	case string:
		text, changed = v, false
	case json.Number:
		text = string(v)
	case bool:
		text = strconv.FormatBool(v)
	default:
		return nil, false, invalidAt(at, "must be a string")
	}
	if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
		return nil, false, fieldError(err, at)
	}
	return text, changed, nil
}

// fieldError attaches the path to an error from a type's own unmarshal
// method. Its message is kept when it is an *errs.Error (written for callers);
// other messages may be implementation detail and are not shown.
func fieldError(err error, at *path) error {
	if e, ok := err.(*errs.Error); ok {
		copied := *e
		if copied.Field == "" {
			copied.Field = at.String()
		}
		if copied.Kind == errs.Internal {
			copied.Kind = errs.Invalid
		}
		return &copied
	}
	return &errs.Error{Kind: errs.Invalid, Field: at.String(), Message: "invalid value", Err: err}
}

func coerceStruct(object map[string]any, fields *structFields, at *path) (any, bool, error) {
	changed := false
	for key, member := range object {
		f := fields.lookup(key)
		if f == nil {
			continue // unknown members are ignored
		}
		c, ch, err := coerce(member, f.typ, &path{parent: at, name: f.name})
		if err != nil {
			return nil, false, err
		}
		if f.quoted && c != nil {
			// `json:",string"` wants scalars inside a JSON string.
			switch s := c.(type) {
			case json.Number:
				c, ch = string(s), true
			case bool:
				c, ch = strconv.FormatBool(s), true
			}
		}
		object[key], changed = c, changed || ch
	}
	return object, changed, nil
}

// structFields are the JSON members of a struct type, found by the rules of
// encoding/json (tags, promoted fields of embedded structs, shallowest wins).
type structFields struct {
	list   []field
	byName map[string]*field
}

type field struct {
	name   string
	typ    reflect.Type
	quoted bool // the ",string" tag option
	depth  int
	tagged bool
}

// lookup finds a member the way encoding/json does: exact name first, then
// ignoring case.
func (s *structFields) lookup(name string) *field {
	if f := s.byName[name]; f != nil {
		return f
	}
	for i := range s.list {
		if strings.EqualFold(s.list[i].name, name) {
			return &s.list[i]
		}
	}
	return nil
}

var fieldCache sync.Map // reflect.Type → *structFields

func fieldsOf(t reflect.Type) *structFields {
	if cached, ok := fieldCache.Load(t); ok {
		return cached.(*structFields)
	}
	var all []field
	collectFields(t, 0, map[reflect.Type]bool{}, &all)

	// Keep, for each name, the shallowest field; at equal depth a tagged one
	// if it is the only tagged one; ambiguous names are dropped, as in encoding/json.
	candidates := map[string][]field{}
	var order []string
	for _, f := range all {
		if _, seen := candidates[f.name]; !seen {
			order = append(order, f.name)
		}
		candidates[f.name] = append(candidates[f.name], f)
	}
	fields := &structFields{byName: map[string]*field{}}
	for _, name := range order {
		if f, ok := dominantField(candidates[name]); ok {
			fields.list = append(fields.list, f)
		}
	}
	for i := range fields.list {
		fields.byName[fields.list[i].name] = &fields.list[i]
	}
	cached, _ := fieldCache.LoadOrStore(t, fields)
	return cached.(*structFields)
}

func dominantField(fields []field) (field, bool) {
	minDepth := fields[0].depth
	for _, f := range fields {
		minDepth = min(minDepth, f.depth)
	}
	var shallow []field
	for _, f := range fields {
		if f.depth == minDepth {
			shallow = append(shallow, f)
		}
	}
	if len(shallow) == 1 {
		return shallow[0], true
	}
	var tagged []field
	for _, f := range shallow {
		if f.tagged {
			tagged = append(tagged, f)
		}
	}
	if len(tagged) == 1 {
		return tagged[0], true
	}
	return field{}, false
}

func collectFields(t reflect.Type, depth int, visiting map[reflect.Type]bool, out *[]field) {
	if visiting[t] {
		return // embedded cycle through pointers
	}
	visiting[t] = true
	defer delete(visiting, t)

	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, options, _ := strings.Cut(tag, ",")
		fieldType := sf.Type
		if sf.Anonymous {
			embedded := fieldType
			if embedded.Kind() == reflect.Pointer {
				embedded = embedded.Elem()
			}
			if !sf.IsExported() && (embedded.Kind() != reflect.Struct || fieldType.Kind() == reflect.Pointer) {
				continue
			}
			if name == "" && embedded.Kind() == reflect.Struct {
				collectFields(embedded, depth+1, visiting, out)
				continue
			}
		} else if !sf.IsExported() {
			continue
		}
		tagged := name != ""
		if !tagged {
			name = sf.Name
		}
		quoted := false
		for options != "" {
			var option string
			option, options, _ = strings.Cut(options, ",")
			quoted = quoted || option == "string"
		}
		*out = append(*out, field{name: name, typ: fieldType, quoted: quoted, depth: depth, tagged: tagged})
	}
}
