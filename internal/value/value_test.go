package value

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMoneyJSON(t *testing.T) {
	for _, tc := range []struct {
		in   Money
		want string
	}{{19900, "199"}, {8454, "84.54"}, {8450, "84.5"}, {5, "0.05"}, {0, "0"}, {-1250, "-12.5"}} {
		b, _ := json.Marshal(tc.in)
		if string(b) != tc.want {
			t.Errorf("%d: got %s want %s", tc.in, b, tc.want)
		}
		var back Money
		if err := json.Unmarshal(b, &back); err != nil || back != tc.in {
			t.Errorf("round trip %s: %d %v", b, back, err)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"84.54", 8454, true}, {"295", 29500, true}, {"\t1.5 ", 150, true}, {"-3", -300, true},
		{"84.545", 0, false}, {"abc", 0, false}, {"", 0, false}, {"1e3", 0, false}, {".", 0, false},
		{"9999999999999999", 0, false}, {"0.1", 10, true},
	} {
		got, err := ParseDecimal(tc.in, 2)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("%q: got %d, %v", tc.in, got, err)
		}
	}
}

func TestInstant(t *testing.T) {
	oslo, _ := time.LoadLocation("Europe/Oslo")
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{`1550336440000`, 1550336440000, true},
		{`"1550336440000"`, 1550336440000, true},
		{`"2015-06-01T12:00:00+02:00"`, 1433152800000, true},
		{`"2024-01-01"`, time.Date(2024, 1, 1, 0, 0, 0, 0, oslo).UnixMilli(), true},
		{`"yesterday"`, 0, false},
		{`-5`, 0, false},
	} {
		var i Instant
		err := json.Unmarshal([]byte(tc.in), &i)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.in, err)
			continue
		}
		if tc.ok && i.Time(oslo).UnixMilli() != tc.want {
			t.Errorf("%s: got %d want %d", tc.in, i.Time(oslo).UnixMilli(), tc.want)
		}
	}
}
