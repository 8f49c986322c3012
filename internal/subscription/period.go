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
