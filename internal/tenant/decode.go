package tenant

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder fills Go values from a yaml.Node tree by hand rather than with
// Node.Decode on the whole file, so that it knows the line of every field
// (lines, by field path), rejects unknown and duplicate keys, and keeps going
// after a bad value to report every problem at once.
type decoder struct {
	file     string
	lines    map[string]int
	problems []Problem
}

func (d *decoder) fail(line int, field, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

// lineOf returns the line of path, or of its nearest ancestor that has one.
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decode fills the value pointed to by out from n; path names it in messages.
func (d *decoder) decode(n *yaml.Node, path string, out any) {
	d.value(n, path, reflect.ValueOf(out).Elem())
}

func (d *decoder) value(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if _, ok := d.lines[path]; !ok && path != "" {
		d.lines[path] = n.Line
	}
	isNull := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	if v.Kind() == reflect.Pointer {
		if isNull {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.value(n, path, p.Elem())
		v.Set(p)
		return
	}
	if v.Addr().Type().Implements(unmarshalerType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			var ne *nodeError
			if errors.As(err, &ne) {
				d.fail(ne.line, join(path, ne.field), "%s", ne.msg)
			} else {
				d.fail(n.Line, path, "%s", yamlErrorText(err))
			}
		}
		return
	}
	if isNull {
		return // an empty value leaves the default
	}
	switch {
	case v.Kind() == reflect.Struct:
		d.mapping(n, path, v)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n.Line, path, "must be a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.value(item, fmt.Sprintf("%s[%d]", path, i), s.Index(i))
		}
		v.Set(s)
	case n.Kind != yaml.ScalarNode:
		d.fail(n.Line, path, "must be a single value, not a %s", kindName(n.Kind))
	case v.Type() == durationType:
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.fail(n.Line, path, "must be a duration such as 12h or 90m")
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.String:
		v.SetString(n.Value)
	case v.Kind() == reflect.Bool:
		if n.Tag != "!!bool" {
			d.fail(n.Line, path, "must be true or false")
			return
		}
		b, _ := strconv.ParseBool(n.Value)
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if n.Tag != "!!int" || err != nil {
			d.fail(n.Line, path, "must be a whole number")
			return
		}
		v.SetInt(int64(i))
	default:
		d.fail(n.Line, path, "unsupported field type %s", v.Type()) // a programming mistake
	}
}

func (d *decoder) mapping(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "must be a mapping of fields")
		return
	}
	fields := map[string]int{}
	t := v.Type()
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			fields[tag] = i
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		p := join(path, key)
		idx, ok := fields[key]
		switch {
		case k.Kind != yaml.ScalarNode:
			d.fail(k.Line, path, "keys must be plain names")
			continue
		case !ok:
			d.fail(k.Line, p, "unknown field")
			continue
		case seen[key]:
			d.fail(k.Line, p, "duplicate field")
			continue
		}
		seen[key] = true
		// The key's line, not the value's: a block list starts on the next line.
		d.lines[p] = k.Line
		d.value(val, p, v.Field(idx))
	}
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlErrorLine and yamlErrorText split yaml.v3's "yaml: line N: msg" errors
// so a syntax error prints as file:N: msg like every other problem.
func yamlErrorLine(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func yamlErrorText(err error) string {
	s := yamlLine.ReplaceAllString(err.Error(), "")
	return strings.TrimPrefix(s, "yaml: ")
}
