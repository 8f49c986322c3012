package delivery

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// VacationCredit is the credit a begun temporary stop recorded under
// vacationStopPolicy credit: the stopped paid days and their pro-rata price.
// Billing puts it on the subscription's next invoice.
type VacationCredit struct {
	StopID   int64
	FirstDay string // the first stopped paid day, 2006-01-02 in the company zone
	LastDay  string // the last one
	Days     int
	Amount   int64 // minor units
}

// VacationCredits returns the recorded vacation credits of the company's
// subscriptions, by subscription id, each subscription's oldest stop first.
// It reads only what the stops recorded; what billing has used of them is
// billing's to know. loc is the company's zone.
func VacationCredits(ctx context.Context, q store.Queryer, companyID int64, loc *time.Location, subscriptionIDs []int64) (map[int64][]VacationCredit, error) {
	if len(subscriptionIDs) == 0 {
		return nil, nil
	}
	var b strings.Builder
	for i, id := range subscriptionIDs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10)) // integers only: safe to inline
	}
	rows, err := q.QueryContext(ctx, `SELECT id, subscription_id, stop_time, credit_days, credit_amount FROM delivery_stops
		WHERE company_id = $1 AND subscription_id IN (`+b.String()+`) AND stop_type = 'temporary' AND begun_at IS NOT NULL
		AND credit_amount > 0 ORDER BY subscription_id, stop_time, id`, companyID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := map[int64][]VacationCredit{}
	for rows.Next() {
		var c VacationCredit
		var sub, first int64
		if err := rows.Scan(&c.StopID, &sub, &first, &c.Days, &c.Amount); err != nil {
			return nil, err
		}
		day := time.UnixMilli(first).In(loc)
		c.FirstDay = day.Format(dateLayout)
		c.LastDay = addDays(day, max(c.Days, 1)-1).Format(dateLayout)
		out[sub] = append(out[sub], c)
	}
	return out, rows.Err()
}
