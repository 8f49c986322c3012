// Package choice holds the shapes of a payer's permissions[] and privacy[]
// (spec order.md "Payer and receiver", privacy.md "Channels and levels") and
// their shape checks. It imports nothing of ours but errs and httpx, so the
// customer and order packages can use these types in their request bodies
// while package privacy, which applies them, imports those packages.
package choice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
)

// Permission is one entry of permissions[]: channel settings for an
// enterprise, or for an order type when OrderTypeCode is set. Channels (or
// the single ChannelCode) name the channels; PermissionType (PERMISSION,
// SHIELD or NONE, any case) is the type of each, unless an entry of
// channels carries its own type.
type Permission struct {
	EnterpriseCode string   `json:"enterpriseCode"`
	OrderTypeCode  string   `json:"orderTypeCode"`
	OrderType      string   `json:"orderType"` // synonym of orderTypeCode
	Channels       Channels `json:"channels"`
	ChannelCode    string   `json:"channelCode"`
	PermissionType string   `json:"permissionType"`
}

// Channel is one entry of Permission.Channels: a channel code ("TM"), or a
// {"type","value"} object as the PermissionShield model has it.
type Channel struct {
	Value string
	Type  string
}

// UnmarshalJSON accepts "TM" or {"value":"TM","type":"SHIELD"}.
func (c *Channel) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = Channel{Value: s}
		return nil
	}
	var obj struct {
		Value string `json:"value"`
		Type  string `json:"type"`
	}
	if err := httpx.DecodeBytes("application/json", b, &obj); err != nil {
		return errs.E(errs.Invalid, "must be a channel code or {type, value}")
	}
	*c = Channel{Value: obj.Value, Type: obj.Type}
	return nil
}

// Channels is Permission.channels. Besides a JSON list it accepts one
// channel alone, and the forms an XML body gives a list (an object of
// item0, item1, … or of repeated elements).
type Channels []Channel

// UnmarshalJSON accepts the forms listed on Channels.
func (cs *Channels) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var c Channel
		if err := c.UnmarshalJSON(b); err != nil {
			return err
		}
		*cs = Channels{c}
		return nil
	}
	list, err := entries(b, "channels", []string{"type", "value"})
	if err != nil {
		return errs.E(errs.Invalid, "must be a list of channel codes or {type, value}")
	}
	out := make(Channels, 0, len(list))
	for i, raw := range list {
		var c Channel
		if err := c.UnmarshalJSON(raw); err != nil {
			return errs.E(errs.Invalid, "entry %d must be a channel code or {type, value}", i)
		}
		out = append(out, c)
	}
	*cs = out
	return nil
}

// MarshalJSON writes {"type","value"} (type omitted when empty).
func (c Channel) MarshalJSON() ([]byte, error) {
	if c.Type == "" {
		return json.Marshal(struct {
			Value string `json:"value"`
		}{c.Value})
	}
	return json.Marshal(struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}{c.Type, c.Value})
}

// Privacy is one entry of privacy[]: a purpose allowed for an enterprise, or
// for an order type when OrderTypeCode is set.
type Privacy struct {
	EnterpriseCode string `json:"enterpriseCode"`
	OrderTypeCode  string `json:"orderTypeCode"`
	OrderType      string `json:"orderType"` // synonym of orderTypeCode
	Purpose        string `json:"purpose"`
}

// Payer is a payer's (or a registered customer's) permissions[] and privacy[].
type Payer struct {
	Permissions []Permission `json:"permissions"`
	Privacy     []Privacy    `json:"privacy"`
}

// Empty reports whether there is nothing to apply.
func (p Payer) Empty() bool { return len(p.Permissions) == 0 && len(p.Privacy) == 0 }

// Types of a channel setting (spec privacy.md "Channels and levels").
const (
	TypePermission = "PERMISSION"
	TypeShield     = "SHIELD"
	TypeNone       = "NONE" // input only: clears the entry
)

// NormalizeType upper-cases a type, reporting whether it is known.
func NormalizeType(t string) (string, bool) {
	u := strings.ToUpper(strings.TrimSpace(t))
	switch u {
	case TypePermission, TypeShield, TypeNone:
		return u, true
	}
	return "", false
}

var code = regexp.MustCompile(`^[A-Za-z0-9_-]{1,12}$`)

// Limits keep one request's choices small.
const (
	MaxEntries  = 100
	MaxChannels = 20
)

// Setting is one resolved channel setting of a Permission entry.
type Setting struct {
	Channel, Type string
}

// OrderTypeOf is the entry's order type (orderTypeCode, else orderType).
func (p Permission) OrderTypeOf() string {
	if p.OrderTypeCode != "" {
		return p.OrderTypeCode
	}
	return p.OrderType
}

// OrderTypeOf is the entry's order type (orderTypeCode, else orderType).
func (p Privacy) OrderTypeOf() string {
	if p.OrderTypeCode != "" {
		return p.OrderTypeCode
	}
	return p.OrderType
}

// Settings resolves the entry's channels with their types (upper case).
// field names the entry in errors, e.g. "payer.permissions[0]".
func (p Permission) Settings(field string) ([]Setting, error) {
	def := ""
	if p.PermissionType != "" {
		t, ok := NormalizeType(p.PermissionType)
		if !ok {
			return nil, errs.Field(field+".permissionType", "must be PERMISSION, SHIELD or NONE")
		}
		def = t
	}
	var out []Setting
	add := func(f, value, typ string) error {
		if !code.MatchString(value) {
			return errs.Field(f, "must be a channel code of 1–12 characters")
		}
		t := def
		if typ != "" {
			var ok bool
			if t, ok = NormalizeType(typ); !ok {
				return errs.Field(f, "type must be PERMISSION, SHIELD or NONE")
			}
		}
		if t == "" {
			return errs.Field(field+".permissionType", "is required")
		}
		for _, s := range out {
			if strings.EqualFold(s.Channel, value) {
				return errs.Field(f, "channel %s is listed twice", value)
			}
		}
		out = append(out, Setting{Channel: value, Type: t})
		return nil
	}
	if p.ChannelCode != "" {
		if err := add(field+".channelCode", p.ChannelCode, ""); err != nil {
			return nil, err
		}
	}
	if len(p.Channels) > MaxChannels {
		return nil, errs.Field(field+".channels", "at most %d channels", MaxChannels)
	}
	for i, c := range p.Channels {
		if err := add(fmt.Sprintf("%s.channels[%d]", field, i), c.Value, c.Type); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, errs.Field(field+".channelCode", "channels or channelCode is required")
	}
	return out, nil
}

// Validate checks the shape of every entry (codes, types, sizes); prefix is
// the field path of the payer, e.g. "payer" or "" for a customer body. The
// company's catalogue (enterprises, order types, channels, purposes) is
// checked by privacy.CheckPayerChoices.
func (p Payer) Validate(prefix string) error {
	pre := prefix
	if pre != "" {
		pre += "."
	}
	if len(p.Permissions) > MaxEntries {
		return errs.Field(pre+"permissions", "at most %d entries", MaxEntries)
	}
	if len(p.Privacy) > MaxEntries {
		return errs.Field(pre+"privacy", "at most %d entries", MaxEntries)
	}
	for i, e := range p.Permissions {
		f := fmt.Sprintf("%spermissions[%d]", pre, i)
		if err := checkCodes(f, e.EnterpriseCode, e.OrderTypeOf()); err != nil {
			return err
		}
		if _, err := e.Settings(f); err != nil {
			return err
		}
	}
	for i, e := range p.Privacy {
		f := fmt.Sprintf("%sprivacy[%d]", pre, i)
		if err := checkCodes(f, e.EnterpriseCode, e.OrderTypeOf()); err != nil {
			return err
		}
		if e.Purpose == "" {
			return errs.Field(f+".purpose", "is required")
		}
		if !code.MatchString(e.Purpose) {
			return errs.Field(f+".purpose", "must be a purpose code of 1–12 characters")
		}
	}
	return nil
}

func checkCodes(f, enterprise, orderType string) error {
	if enterprise != "" && !code.MatchString(enterprise) {
		return errs.Field(f+".enterpriseCode", "must be at most 12 characters of A–Z, a–z, 0–9, _ or -")
	}
	if orderType != "" && !code.MatchString(orderType) {
		return errs.Field(f+".orderTypeCode", "must be at most 12 characters of A–Z, a–z, 0–9, _ or -")
	}
	return nil
}

// FromRaw decodes permissions[] and privacy[] kept as raw JSON (as
// customer.Input keeps them) and validates their shape. From an XML body the
// decoder hands such fields over as an object of the entry elements
// ({"item0": {...}, "item1": {...}} or {"permission": [...]}); FromRaw reads
// those as the list they stand for.
func FromRaw(permissions, privacy json.RawMessage, prefix string) (Payer, error) {
	pre := prefix
	if pre != "" {
		pre += "."
	}
	var p Payer
	perms, err := entries(permissions, pre+"permissions", []string{"enterpriseCode", "orderTypeCode", "orderType", "channels", "channelCode", "permissionType"})
	if err != nil {
		return Payer{}, err
	}
	for i, raw := range perms {
		var e Permission
		if err := httpx.DecodeBytes("application/json", raw, &e); err != nil {
			return Payer{}, prefixed(err, fmt.Sprintf("%spermissions[%d]", pre, i))
		}
		p.Permissions = append(p.Permissions, e)
	}
	privs, err := entries(privacy, pre+"privacy", []string{"enterpriseCode", "orderTypeCode", "orderType", "purpose"})
	if err != nil {
		return Payer{}, err
	}
	for i, raw := range privs {
		var e Privacy
		if err := httpx.DecodeBytes("application/json", raw, &e); err != nil {
			return Payer{}, prefixed(err, fmt.Sprintf("%sprivacy[%d]", pre, i))
		}
		p.Privacy = append(p.Privacy, e)
	}
	return p, p.Validate(prefix)
}

// prefixed puts field in front of a decoding error's field.
func prefixed(err error, field string) error {
	if e, ok := err.(*errs.Error); ok && e.Kind == errs.Invalid {
		f := field
		if e.Field != "" {
			f += "." + e.Field
		}
		return &errs.Error{Kind: errs.Invalid, Field: f, Message: e.Message, Err: e.Err}
	}
	return err
}

var itemKey = regexp.MustCompile(`^item(\d+)$`)

// entries splits a raw list into its entries; see FromRaw for the XML forms.
func entries(raw json.RawMessage, field string, entryFields []string) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []json.RawMessage
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, errs.Field(field, "must be a list")
		}
		return list, nil
	}
	var obj map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return nil, errs.Field(field, "must be a list")
	}
	for _, f := range entryFields {
		if _, ok := obj[f]; ok {
			return []json.RawMessage{raw}, nil // one entry written without a wrapper
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	// item0, item1, …, item10 in numeric order; other names keep their order.
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := itemKey.FindStringSubmatch(keys[i]), itemKey.FindStringSubmatch(keys[j])
		if a != nil && b != nil {
			x, _ := strconv.Atoi(a[1])
			y, _ := strconv.Atoi(b[1])
			return x < y
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		v := bytes.TrimSpace(obj[k])
		if len(v) > 0 && v[0] == '[' { // repeated elements of one name
			var more []json.RawMessage
			if err := json.Unmarshal(v, &more); err != nil {
				return nil, errs.Field(field, "must be a list")
			}
			list = append(list, more...)
			continue
		}
		list = append(list, v)
	}
	return list, nil
}
