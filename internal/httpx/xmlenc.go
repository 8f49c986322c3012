package httpx

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

const xmlDeclaration = `<?xml version="1.0" encoding="UTF-8"?>`

// jsonToXML converts one valid JSON document (as produced by encoding/json)
// into an XML document by the mapping of spec §5.3. It walks the JSON text
// directly instead of building a tree: member order is kept for free and the
// only lookahead needed is for choosing the root.
//
// Member names that are not valid XML names are sanitized (see xmlName), so
// the output is always well-formed.
func jsonToXML(dst, doc []byte, root string) []byte {
	c := jsonToXMLConverter{out: dst, in: doc}
	c.out = append(c.out, xmlDeclaration...)
	c.skipSpace()
	switch {
	case root != "":
		c.value([]byte(xmlName(root)))
	case c.peek() == '[':
		c.value([]byte("items"))
	case c.peek() == '{':
		if member, ok := c.listWrapper(); ok {
			if c.peek() == 'n' { // a nil slice: still the (empty) list
				c.open(member)
				c.close(member)
			} else {
				c.value(member)
			}
		} else {
			c.value([]byte("response"))
		}
	default:
		c.value([]byte("response"))
	}
	if len(c.out) == len(xmlDeclaration) {
		// A null document: still one (empty) root element.
		c.out = append(c.out, "<response></response>"...)
	}
	return append(c.out, '\n')
}

type jsonToXMLConverter struct {
	out []byte
	in  []byte
	pos int
}

func (c *jsonToXMLConverter) peek() byte {
	if c.pos < len(c.in) {
		return c.in[c.pos]
	}
	return 0
}

func (c *jsonToXMLConverter) skipSpace() {
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

// listWrapper reports whether the object at the cursor has exactly one member
// whose value is an array (or null, which is how a nil slice marshals). If so
// it leaves the cursor at that value and returns the member's XML name;
// otherwise the cursor is unchanged.
func (c *jsonToXMLConverter) listWrapper() ([]byte, bool) {
	start := c.pos
	c.pos++ // '{'
	c.skipSpace()
	if c.peek() != '"' {
		c.pos = start
		return nil, false
	}
	key := c.stringValue()
	c.skipSpace()
	c.pos++ // ':'
	c.skipSpace()
	valueStart := c.pos
	if b := c.peek(); b != '[' && b != 'n' {
		c.pos = start
		return nil, false
	}
	c.skipValue()
	c.skipSpace()
	if c.peek() != '}' {
		c.pos = start
		return nil, false
	}
	c.pos = valueStart
	return []byte(xmlName(key)), true
}

// value writes the JSON value at the cursor as an element called name.
// null writes nothing: absent and null values are left out.
func (c *jsonToXMLConverter) value(name []byte) {
	c.skipSpace()
	switch c.peek() {
	case 'n':
		c.pos += len("null")
	case 't':
		c.pos += len("true")
		c.leaf(name, "true")
	case 'f':
		c.pos += len("false")
		c.leaf(name, "false")
	case '"':
		c.open(name)
		c.escapedString()
		c.close(name)
	case '{':
		c.pos++
		c.open(name)
		for {
			c.skipSpace()
			if c.pos >= len(c.in) { // truncated input; cannot happen with encoding/json output
				break
			}
			if c.peek() == '}' {
				c.pos++
				break
			}
			if c.peek() == ',' {
				c.pos++
				continue
			}
			key := c.memberName()
			c.skipSpace()
			c.pos++ // ':'
			c.value(key)
		}
		c.close(name)
	case '[':
		c.pos++
		c.open(name)
		entry := []byte(SingularOf(string(name)))
		for {
			c.skipSpace()
			if c.pos >= len(c.in) {
				break
			}
			if c.peek() == ']' {
				c.pos++
				break
			}
			if c.peek() == ',' {
				c.pos++
				continue
			}
			c.value(entry)
		}
		c.close(name)
	default: // a number, written exactly as JSON wrote it
		start := c.pos
		for c.pos < len(c.in) && strings.IndexByte("+-.0123456789eE", c.in[c.pos]) >= 0 {
			c.pos++
		}
		if c.pos == start { // not valid JSON; cannot happen with encoding/json output
			c.pos = len(c.in)
			return
		}
		c.open(name)
		c.out = append(c.out, c.in[start:c.pos]...)
		c.close(name)
	}
}

func (c *jsonToXMLConverter) open(name []byte) {
	c.out = append(c.out, '<')
	c.out = append(c.out, name...)
	c.out = append(c.out, '>')
}

func (c *jsonToXMLConverter) close(name []byte) {
	c.out = append(c.out, '<', '/')
	c.out = append(c.out, name...)
	c.out = append(c.out, '>')
}

func (c *jsonToXMLConverter) leaf(name []byte, text string) {
	c.open(name)
	c.out = append(c.out, text...)
	c.close(name)
}

// rawString returns the JSON string at the cursor including its quotes and
// whether it contains escapes, and moves past it.
func (c *jsonToXMLConverter) rawString() (raw []byte, escaped bool) {
	start := c.pos
	c.pos++ // opening quote
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case '\\':
			escaped = true
			c.pos += 2
			continue
		case '"':
			c.pos++
			return c.in[start:c.pos], escaped
		}
		c.pos++
	}
	c.pos = len(c.in)
	return c.in[start:], escaped
}

// memberName returns the XML name for the member name at the cursor. The
// common case, a plain valid name, is returned without copying.
func (c *jsonToXMLConverter) memberName() []byte {
	raw, escaped := c.rawString()
	if !escaped && len(raw) >= 2 && isXMLName(raw[1:len(raw)-1]) {
		return raw[1 : len(raw)-1]
	}
	c.pos -= len(raw)
	return []byte(xmlName(c.stringValue()))
}

// stringValue returns the decoded JSON string at the cursor.
func (c *jsonToXMLConverter) stringValue() string {
	raw, escaped := c.rawString()
	if !escaped && len(raw) >= 2 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s) // valid by construction; rare path
	return s
}

// escapedString appends the JSON string at the cursor as escaped XML text.
func (c *jsonToXMLConverter) escapedString() {
	raw, escaped := c.rawString()
	if !escaped && len(raw) >= 2 {
		c.out = appendEscapedText(c.out, raw[1:len(raw)-1])
		return
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	c.out = appendEscapedText(c.out, []byte(s))
}

// skipValue moves the cursor past one JSON value.
func (c *jsonToXMLConverter) skipValue() {
	switch c.peek() {
	case '"':
		c.rawString()
		return
	case '{', '[':
	default: // literal or number
		for c.pos < len(c.in) && strings.IndexByte(",}] \t\n\r", c.in[c.pos]) < 0 {
			c.pos++
		}
		return
	}
	depth := 0
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case '"':
			c.rawString()
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				c.pos++
				return
			}
		}
		c.pos++
	}
}

// appendEscapedText appends s as XML character data. Besides the markup
// characters it escapes CR (which XML parsers would otherwise normalise away)
// and replaces characters XML 1.0 cannot carry at all with U+FFFD.
func appendEscapedText(dst, s []byte) []byte {
	last := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b >= 0x20 && b < utf8.RuneSelf && b != '&' && b != '<' && b != '>' {
			i++
			continue
		}
		r, width := rune(b), 1
		if b >= utf8.RuneSelf {
			r, width = utf8.DecodeRune(s[i:])
		}
		var replacement string
		switch {
		case r == '&':
			replacement = "&amp;"
		case r == '<':
			replacement = "&lt;"
		case r == '>':
			replacement = "&gt;"
		case r == '\r':
			replacement = "&#xD;"
		case r == '\n' || r == '\t':
		case r == utf8.RuneError && width == 1, !isXMLChar(r):
			replacement = "\uFFFD"
		}
		if replacement != "" {
			dst = append(dst, s[last:i]...)
			dst = append(dst, replacement...)
			last = i + width
		}
		i += width
	}
	return append(dst, s[last:]...)
}

// isXMLChar reports whether r may appear in an XML 1.0 document.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// xmlName returns name if it is a usable XML element name, or a sanitized
// version: every character that may not appear in a name (including ':', to
// keep namespace-aware parsers happy) becomes '_', and a name that does not
// start with a letter or '_' gets a '_' in front. The empty name becomes "_".
func xmlName(name string) string {
	if isXMLName(name) {
		return name
	}
	var b strings.Builder
	for i, r := range name {
		if i == 0 && !isNameStart(r) {
			b.WriteByte('_')
			if isNameChar(r) {
				b.WriteRune(r)
			}
			continue
		}
		if isNameChar(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

func isXMLName[T string | []byte](name T) bool {
	if len(name) == 0 {
		return false
	}
	for i, r := range string(name) { // no copy: the compiler ranges over the bytes
		if i == 0 && !isNameStart(r) || !isNameChar(r) {
			return false
		}
	}
	return true
}

// isNameStart and isNameChar accept a conservative subset of XML names:
// ASCII letters, digits, '_', '-', '.', and the Latin-1 letters (æ, ø, å, …).
// Wider Unicode is left out on purpose: which letters count differs between
// XML editions and parsers (encoding/xml rejects e.g. U+06EE, which
// unicode.IsLetter accepts), and API member names are ASCII camelCase anyway.
func isNameStart(r rune) bool {
	return r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' ||
		0xC0 <= r && r <= 0xFF && r != 0xD7 && r != 0xF7
}

func isNameChar(r rune) bool {
	return isNameStart(r) || r == '-' || r == '.' || '0' <= r && r <= '9'
}

// SingularOf returns the element name for the entries of a list called name
// (spec §5.3): …ies → …y; …sses, …xes, …ches, …shes drop "es"; any other name
// ending in s drops the "s"; a name not ending in s gives "item".
// Suffixes match regardless of letter case.
func SingularOf(name string) string {
	var singular string
	switch {
	case hasSuffixFold(name, "ies"):
		y := "y"
		if name[len(name)-3] == 'I' {
			y = "Y"
		}
		singular = name[:len(name)-3] + y
	case hasSuffixFold(name, "sses"), hasSuffixFold(name, "xes"),
		hasSuffixFold(name, "ches"), hasSuffixFold(name, "shes"):
		singular = name[:len(name)-2]
	case hasSuffixFold(name, "s"):
		singular = name[:len(name)-1]
	default:
		return "item"
	}
	if !isXMLName(singular) { // e.g. "s" → "" or "1s" → "1"
		return "item"
	}
	return singular
}

// hasSuffixFold is strings.HasSuffix ignoring ASCII letter case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}
