package subscription

import (
	"time"

	"github.com/connect-oss/connect/internal/errs"
)

// Period types of a coupon (spec product.md, priceDetails).
const (
	Day   = "day"
	Week  = "week"
	Month = "month"
	Year  = "year"
)

// validPeriod checks a period length and type.
func validPeriod(length int, typ string) error {
	switch typ {
	case Day, Week, Month, Year:
	default:
		return errs.Field("periodType", "must be one of day, week, month, year")
	}
	if length < 1 || length > 366 {
		return errs.Field("periodLength", "must be between 1 and 366")
	}
	return nil
}

// addPeriods returns the first day of period n counted from anchor (a date,
// 00:00 in its location): anchor + n×length units. Months and years keep the
// anchor's day of month, clamped to the month's last day, so a subscription
// started on 31 January renews on 29 February (leap year), 31 March, 30 April…,
// and one started on 29 February renews on 28 February in common years.
func addPeriods(anchor time.Time, n, length int, typ string) time.Time {
	y, m, d := anchor.Date()
	loc := anchor.Location()
	switch typ {
	case Day:
		return time.Date(y, m, d+n*length, 0, 0, 0, 0, loc)
	case Week:
		return time.Date(y, m, d+7*n*length, 0, 0, 0, 0, loc)
	}
	months := n * length
	if typ == Year {
		months *= 12
	}
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, loc)
	last := time.Date(first.Year(), first.Month()+1, 0, 0, 0, 0, 0, loc).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, 0, 0, 0, 0, loc)
}

// periodStart is the first day (00:00 local) of period n of s (counted
// from 1): n - AnchorPeriod periods after its anchor date.
func (s *Sub) periodStart(loc *time.Location, n int) (time.Time, error) {
	anchor, err := time.ParseInLocation(dateLayout, s.AnchorDate, loc)
	if err != nil {
		return time.Time{}, err
	}
	first := max(s.AnchorPeriod, 1)
	if !s.renewalPending() || n <= 1 {
		return addPeriods(anchor, n-first, s.PeriodLength, s.PeriodType), nil
	}
	// Periods from the second follow the renewal terms: count them from the
	// start of period 2 (the anchor itself when it is already there).
	_, length, typ := s.TermsOf(2)
	if first >= 2 {
		return addPeriods(anchor, n-first, length, typ), nil
	}
	second := addPeriods(anchor, 1, s.PeriodLength, s.PeriodType)
	return addPeriods(second, n-2, length, typ), nil
}

// renewalPending reports whether s still has its coupon's renewal terms to
// switch to (at the renewal into period 2).
func (s *Sub) renewalPending() bool {
	return s.RenewalPrice.Valid || s.RenewalLength.Valid || s.RenewalType.Valid
}

// TermsOf is the price (minor units) and period of period n of s: the
// renewal terms from period 2 while they are pending, else the current ones.
func (s *Sub) TermsOf(n int) (price int64, length int, typ string) {
	price, length, typ = s.Price, s.PeriodLength, s.PeriodType
	if n < 2 || !s.renewalPending() {
		return price, length, typ
	}
	if s.RenewalPrice.Valid {
		price = s.RenewalPrice.Int64
	}
	if s.RenewalLength.Valid && s.RenewalType.Valid {
		length, typ = int(s.RenewalLength.Int64), s.RenewalType.String
	}
	return price, length, typ
}

// daysBetween counts the calendar days from the date a to the date b (both
// 00:00 local; DST days count as one).
func daysBetween(a, b time.Time) int {
	ya, ma, da := a.Date()
	yb, mb, db := b.Date()
	return int(time.Date(yb, mb, db, 0, 0, 0, 0, time.UTC).Sub(time.Date(ya, ma, da, 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

// dayStart is 00:00:00 of t's calendar day in loc.
func dayStart(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// dayEnd is 23:59:59 (whole second, as the spec's examples) of t's calendar
// day in loc. Access holds until the end of that second.
func dayEnd(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 23, 59, 59, 0, loc)
}

// lastDayBefore is 23:59:59 on the day before the date next (00:00 local).
func lastDayBefore(next time.Time) time.Time {
	y, m, d := next.Date()
	return time.Date(y, m, d-1, 23, 59, 59, 0, next.Location())
}

const dateLayout = "2006-01-02"
