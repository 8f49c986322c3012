package billing

import "testing"

func TestKID(t *testing.T) {
	// Known check digits: Luhn of 7992739871 is 3; MOD11 (weights 2–7) of 12345678 is 5.
	if got := mod10("7992739871"); got != '3' {
		t.Errorf("mod10: %c", got)
	}
	if got := mod11("12345678"); got != '5' {
		t.Errorf("mod11: %c", got)
	}
	for _, check := range []string{"mod10", "mod11"} {
		for _, n := range []int64{1, 1000001, 987654321} {
			k := KID(n, 10, check)
			if len(k) != 10 || !ValidKID(k, check) {
				t.Errorf("%s KID(%d) = %s", check, n, k)
			}
			// A changed digit is caught.
			b := []byte(k)
			b[3] = '0' + (b[3]-'0'+1)%10
			if ValidKID(string(b), check) {
				t.Errorf("%s: %s accepted", check, b)
			}
		}
	}
}

func TestVatAndProrate(t *testing.T) {
	cases := []struct{ amount, pct, want int64 }{{19900, 2500, 3980}, {44900, 1250, 4989}, {-19900, 2500, -3980}, {100, 0, 0}}
	for _, c := range cases {
		if got := vatOf(c.amount, c.pct); got != c.want {
			t.Errorf("vatOf(%d, %d) = %d, want %d", c.amount, c.pct, got, c.want)
		}
	}
	if got := prorate(19900, 14, 28); got != 9950 {
		t.Errorf("prorate: %d", got)
	}
	if got := days("2025-02-01", "2025-02-28"); got != 28 {
		t.Errorf("days: %d", got)
	}
}
