// Package value holds the API's shared value types and their wire formats:
// money in minor units shown as main units, percentages, and instants that
// accept the input forms real clients send (spec README §6).
package value

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Money is an amount in minor units (øre/öre), written as a JSON number in
// main units with at most two decimals: 19900 → 199, 8454 → 84.54.
type Money int64

// MarshalJSON writes the amount in main units.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(decimal(int64(m), 2)), nil }

// UnmarshalJSON accepts a number or a numeric string with at most two decimals.
func (m *Money) UnmarshalJSON(b []byte) error {
	v, err := ParseDecimal(unquote(b), 2)
	if err != nil {
		return err
	}
	*m = Money(v)
	return nil
}

// Percent is a percentage in hundredths (2500 = 25 %), written as a number.
type Percent int64

// MarshalJSON writes the percentage as a number: 2500 → 25, 1250 → 12.5.
func (p Percent) MarshalJSON() ([]byte, error) { return []byte(decimal(int64(p), 2)), nil }

// UnmarshalJSON accepts a number or numeric string with at most two decimals.
func (p *Percent) UnmarshalJSON(b []byte) error {
	v, err := ParseDecimal(unquote(b), 2)
	if err != nil {
		return err
	}
	*p = Percent(v)
	return nil
}

// decimal renders v/10^places without trailing zeros.
func decimal(v int64, places int) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	for len(s) <= places {
		s = "0" + s
	}
	whole, frac := s[:len(s)-places], strings.TrimRight(s[len(s)-places:], "0")
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// ParseDecimal parses a decimal text ("84.54", "-3", "12.5") into an integer
// scaled by 10^places, exactly (no floating point). More decimals than places
// is an error, never a silent rounding.
func ParseDecimal(s string, places int) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty number")
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, fmt.Errorf("not a number")
	}
	if len(frac) > places {
		return 0, fmt.Errorf("at most %d decimals", places)
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("not a number")
			}
		}
	}
	if len(whole) > 15 {
		return 0, fmt.Errorf("number too large")
	}
	frac += strings.Repeat("0", places-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a number")
	}
	if neg {
		v = -v
	}
	return v, nil
}

func unquote(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		var s string
		if json.Unmarshal(b, &s) == nil {
			return s
		}
	}
	return string(b)
}

// Instant is a point in time from a request. It accepts epoch milliseconds
// (number or numeric string), an RFC 3339 date-time, or a bare date, which
// means 00:00 in the company's time zone, resolved by Time.
type Instant struct {
	set  bool
	ms   int64
	date string // YYYY-MM-DD when given as a bare date
}

// InstantOf makes an Instant from a time.
func InstantOf(t time.Time) Instant { return Instant{set: true, ms: t.UnixMilli()} }

// IsZero reports whether no value was given.
func (i Instant) IsZero() bool { return !i.set }

// Time resolves the instant; a bare date is 00:00 in loc.
func (i Instant) Time(loc *time.Location) time.Time {
	if i.date != "" {
		d, _ := time.ParseInLocation("2006-01-02", i.date, loc)
		return d
	}
	return time.UnixMilli(i.ms)
}

// MarshalJSON writes epoch milliseconds.
func (i Instant) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatInt(i.Time(time.UTC).UnixMilli(), 10)), nil
}

// UnmarshalJSON accepts the input forms listed on Instant.
func (i *Instant) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*i = Instant{}
		return nil
	}
	v, err := ParseInstant(unquote(b))
	if err != nil {
		return err
	}
	*i = v
	return nil
}

// ParseInstant parses one of the accepted input forms.
func ParseInstant(s string) (Instant, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Instant{}, nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < 0 || ms > 253402300799999 { // year 9999
			return Instant{}, fmt.Errorf("epoch milliseconds out of range")
		}
		return Instant{set: true, ms: ms}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return Instant{set: true, ms: t.UnixMilli()}, nil
	}
	if _, err := time.Parse("2006-01-02", s); err == nil {
		return Instant{set: true, date: s}, nil
	}
	return Instant{}, fmt.Errorf("must be epoch milliseconds, an ISO 8601 date-time or a YYYY-MM-DD date")
}
