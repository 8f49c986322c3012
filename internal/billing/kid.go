package billing

import (
	"strconv"
	"strings"
)

// KID (NO) / OCR (SE) payment references: digits with a check digit, so a
// bank rejects a mistyped reference at once.

// mod10 is the Luhn check digit of digits: from the right, every second
// digit (starting with the rightmost) is doubled, digit sums are added, and
// the check digit brings the total to a multiple of 10.
func mod10(digits string) byte {
	sum := 0
	double := true
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// mod11 is the MOD11 check digit with weights 2..7 repeating from the right.
// A remainder of 1 has no digit: Nets' KID rules write it as '-'.
func mod11(digits string) byte {
	sum, w := 0, 2
	for i := len(digits) - 1; i >= 0; i-- {
		sum += int(digits[i]-'0') * w
		if w++; w > 7 {
			w = 2
		}
	}
	switch r := sum % 11; r {
	case 0:
		return '0'
	case 1:
		return '-'
	default:
		return byte('0' + 11 - r)
	}
}

// KID builds the payment reference of an invoice number: the number
// left-padded with zeros to length-1 digits, then the check digit.
func KID(invoiceNumber int64, length int, check string) string {
	n := strconv.FormatInt(invoiceNumber, 10)
	if len(n) < length-1 {
		n = strings.Repeat("0", length-1-len(n)) + n
	}
	if check == "mod11" {
		return n + string(mod11(n))
	}
	return n + string(mod10(n))
}

// ValidKID reports whether ref carries a correct check digit of the method.
func ValidKID(ref, check string) bool {
	if len(ref) < 2 {
		return false
	}
	body := ref[:len(ref)-1]
	for _, c := range body {
		if c < '0' || c > '9' {
			return false
		}
	}
	if check == "mod11" {
		return mod11(body) == ref[len(ref)-1]
	}
	return mod10(body) == ref[len(ref)-1]
}
