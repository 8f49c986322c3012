package subscription

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
)

// batchRows bounds the rows of one multi-row statement: at most 11
// parameters a row keeps it far below SQLite's 32,766 parameters.
const batchRows = 500

// RenewBatch is Renew for a batch of one company's subscriptions that the
// caller loaded and locked in tx (ClaimRenewing): subs[i] is extended by the
// period after the one ending at subs[i].EndTime, paid when paid[i]. It does
// per batch what Renew does per subscription, with a fixed number of
// statements: one conditional update, the entitlement refresh of every
// owner and accepted-share recipient, the audit rows and the
// subscription/renew events. A subscription that does not renew (not
// active, fixed end, a pause before its next period) or whose end_time no
// longer matches (renewed meanwhile) is skipped, where Renew would report
// Conflict: its newEnds[i] is 0. Renewed subs are updated in place.
func RenewBatch(ctx context.Context, tx *sql.Tx, companyID int64, subs []*Sub, paid []bool) (newEnds []int64, err error) {
	if len(subs) != len(paid) {
		return nil, fmt.Errorf("renew batch: %d subscriptions, %d paid flags", len(subs), len(paid))
	}
	newEnds = make([]int64, len(subs))
	if len(subs) == 0 {
		return newEnds, nil
	}
	company, loc, err := companyLoc(ctx, tx, companyID)
	if err != nil {
		return nil, err
	}
	now := Now(ctx)
	type change struct {
		i             int
		end           int64
		terms         bool
		price, length int64
		typ, anchor   string
		anchorPeriod  int
	}
	var changes []change
	for i, s := range subs {
		if s.CompanyID != companyID || s.Status != StatusActive || s.FixedEnd ||
			(s.PauseFrom.Valid && s.PauseFrom.Int64 <= s.EndTime+1000) {
			continue
		}
		next, err := s.periodStart(loc, s.Periods+2)
		if err != nil {
			return nil, err
		}
		c := change{i: i, end: lastDayBefore(next).UnixMilli()}
		if s.renewalPending() {
			// Into period 2 and on: the coupon's renewal terms become the
			// subscription's, anchored at the start of the new period.
			from, err := s.periodStart(loc, s.Periods+1)
			if err != nil {
				return nil, err
			}
			price, length, typ := s.TermsOf(s.Periods + 1)
			c.terms, c.price, c.length, c.typ = true, price, int64(length), typ
			c.anchor, c.anchorPeriod = from.Format(dateLayout), s.Periods+1
		}
		changes = append(changes, c)
	}
	renewed := map[int64]bool{}
	for lo := 0; lo < len(changes); lo += batchRows {
		chunk := changes[lo:min(lo+batchRows, len(changes))]
		var b strings.Builder
		args := []any{companyID, now.UnixMilli()}
		b.WriteString(`WITH v(sid, old_end, new_end, paid, terms, price, period_length, period_type, anchor_date, anchor_period) AS (VALUES `)
		for j, c := range chunk {
			if j > 0 {
				b.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&b, "(CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BOOLEAN), CAST($%d AS BOOLEAN), "+
				"CAST($%d AS BIGINT), CAST($%d AS INTEGER), CAST($%d AS TEXT), CAST($%d AS TEXT), CAST($%d AS INTEGER))",
				n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10)
			s := subs[c.i]
			args = append(args, s.ID, s.EndTime, c.end, paid[c.i], c.terms, c.price, c.length, c.typ, c.anchor, c.anchorPeriod)
		}
		// The terms columns change only where the renewal terms switch in.
		b.WriteString(`) UPDATE subscriptions AS s SET periods = s.periods + 1, end_time = v.new_end, paid = v.paid, updated_at = $2,
			price = CASE WHEN v.terms THEN v.price ELSE s.price END,
			period_length = CASE WHEN v.terms THEN v.period_length ELSE s.period_length END,
			period_type = CASE WHEN v.terms THEN v.period_type ELSE s.period_type END,
			anchor_date = CASE WHEN v.terms THEN v.anchor_date ELSE s.anchor_date END,
			anchor_period = CASE WHEN v.terms THEN v.anchor_period ELSE s.anchor_period END,
			renewal_price = CASE WHEN v.terms THEN NULL ELSE s.renewal_price END,
			renewal_period_length = CASE WHEN v.terms THEN NULL ELSE s.renewal_period_length END,
			renewal_period_type = CASE WHEN v.terms THEN NULL ELSE s.renewal_period_type END
			FROM v WHERE s.id = v.sid AND s.company_id = $1 AND s.end_time = v.old_end AND s.status = 'active'
			RETURNING id`)
		rows, err := tx.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return nil, store.Translate(err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			renewed[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, store.Translate(err)
		}
	}
	var done []*Sub
	for _, c := range changes {
		s := subs[c.i]
		if !renewed[s.ID] {
			continue // renewed meanwhile: Renew's Conflict
		}
		if c.terms {
			s.Price, s.PeriodLength, s.PeriodType = c.price, int(c.length), c.typ
			s.AnchorDate, s.AnchorPeriod = c.anchor, c.anchorPeriod
			s.RenewalPrice, s.RenewalLength, s.RenewalType = sql.NullInt64{}, sql.NullInt64{}, sql.NullString{}
		}
		s.Periods++
		s.EndTime, s.Paid, s.UpdatedAt = c.end, paid[c.i], now.UnixMilli()
		newEnds[c.i] = c.end
		done = append(done, s)
	}
	if len(done) == 0 {
		return newEnds, nil
	}

	// What changed does per subscription, for the batch.
	if err := refreshForSubscriptions(ctx, tx, companyID, done); err != nil {
		return nil, err
	}
	events := make([]event.Event, 0, len(done))
	for lo := 0; lo < len(done); lo += batchRows {
		var audit strings.Builder
		audit.WriteString(`INSERT INTO audit_log (company_id, at, actor, action, target, detail, remote_ip, request_id) VALUES `)
		args := []any{companyID, now.UnixMilli(), actorOf(ctx), "subscription.renew"}
		for j, s := range done[lo:min(lo+batchRows, len(done))] {
			detail, err := json.Marshal(map[string]any{"paid": s.Paid, "customerNumber": s.CustomerNumber, "product": s.ProductCode})
			if err != nil {
				return nil, err
			}
			if j > 0 {
				audit.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&audit, "($1, $2, $3, $4, $%d, $%d, '', '')", n+1, n+2)
			args = append(args, "subscription:"+itoa(s.ID), string(detail))
			events = append(events, event.Event{CompanyID: companyID, Source: company.Code, Type: event.TypeSubscription, Status: "renew",
				Data: map[string]any{"customerNumber": s.CustomerNumber, "productCode": s.ProductCode, "periodEnd": s.EndTime}, Time: now})
		}
		if _, err := tx.ExecContext(ctx, audit.String(), args...); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
	}
	if _, err := event.RecordBatch(ctx, tx, events); err != nil {
		return nil, err
	}
	return newEnds, nil
}

// refreshForSubscriptions is refreshForSubscription for many subscriptions
// of one company: their owners and accepted-share recipients.
func refreshForSubscriptions(ctx context.Context, tx *sql.Tx, companyID int64, subs []*Sub) error {
	seen := map[int64]bool{}
	var customers []int64
	add := func(c int64) {
		if !seen[c] {
			seen[c] = true
			customers = append(customers, c)
		}
	}
	ids := make([]int64, len(subs))
	for i, s := range subs {
		add(s.CustomerNumber)
		ids[i] = s.ID
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT recipient_customer FROM shares
		WHERE subscription_id IN (`+intList(ids)+`) AND status = 'ACCEPTED' AND recipient_customer IS NOT NULL`)
	if err != nil {
		return store.Translate(err)
	}
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		add(c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	return refreshCustomers(ctx, tx, companyID, customers)
}

// refreshCustomers is refreshCustomer for many customers of one company,
// with a fixed number of statements: the entitlements are rewritten from
// the same sources and one change-log row is written per customer.
func refreshCustomers(ctx context.Context, tx *sql.Tx, companyID int64, customers []int64) error {
	if len(customers) == 0 {
		return nil
	}
	// One order for every batch, so concurrent batches that share a
	// customer take its rows' locks in the same order.
	slices.Sort(customers)
	list := intList(customers)
	if _, err := tx.ExecContext(ctx, `DELETE FROM entitlements WHERE company_id = $1 AND customer_number IN (`+list+`)`, companyID); err != nil {
		return store.Translate(err)
	}
	changedAt := time.Now().UnixMilli() // as logChange
	for lo := 0; lo < len(customers); lo += batchRows {
		chunk := customers[lo:min(lo+batchRows, len(customers))]
		var b strings.Builder
		b.WriteString(`INSERT INTO entitlement_changes (company_id, customer_number, changed_at) VALUES `)
		for j, c := range chunk {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "($1, %d, $2)", c) // integers only: safe to inline
			evictEverywhere(companyID, c)
		}
		if _, err := tx.ExecContext(ctx, b.String(), companyID, changedAt); err != nil {
			return store.Translate(err)
		}
	}
	type row struct {
		customer               int64
		product, level, source string
		from, until            int64
	}
	var out []row
	subs, err := tx.QueryContext(ctx, `SELECT `+subColumns+` FROM subscriptions
		WHERE company_id = $1 AND customer_number IN (`+list+`) AND status <> 'ended'`, companyID)
	if err != nil {
		return store.Translate(err)
	}
	for subs.Next() {
		s, err := scanSub(subs)
		if err != nil {
			subs.Close()
			return err
		}
		if from, until, ok := s.window(); ok {
			for _, p := range s.Products() {
				out = append(out, row{s.CustomerNumber, p, "A", "s" + itoa(s.ID), from, until})
			}
		}
	}
	subs.Close()
	if err := subs.Err(); err != nil {
		return store.Translate(err)
	}
	grants, err := tx.QueryContext(ctx, `SELECT customer_number, id, product_code, valid_from, valid_until FROM access_grants
		WHERE company_id = $1 AND customer_number IN (`+list+`) AND valid_until > $2`, companyID, Now(ctx).UnixMilli())
	if err != nil {
		return store.Translate(err)
	}
	for grants.Next() {
		var r row
		var id int64
		if err := grants.Scan(&r.customer, &id, &r.product, &r.from, &r.until); err != nil {
			grants.Close()
			return err
		}
		r.level, r.source = "A", "g"+itoa(id)
		out = append(out, r)
	}
	grants.Close()
	if err := grants.Err(); err != nil {
		return store.Translate(err)
	}
	shared, err := tx.QueryContext(ctx, `SELECT h.recipient_customer, h.id, `+prefixedColumns("s")+` FROM shares h
		JOIN subscriptions s ON s.id = h.subscription_id
		WHERE h.company_id = $1 AND h.recipient_customer IN (`+list+`) AND h.status = 'ACCEPTED'`, companyID)
	if err != nil {
		return store.Translate(err)
	}
	for shared.Next() {
		var recipient, hid int64
		s, err := scanSub(shared, &recipient, &hid)
		if err != nil {
			shared.Close()
			return err
		}
		if from, until, ok := s.window(); ok {
			for _, p := range s.Products() {
				out = append(out, row{recipient, p, "B", "h" + itoa(hid), from, until})
			}
		}
	}
	shared.Close()
	if err := shared.Err(); err != nil {
		return store.Translate(err)
	}
	slices.SortStableFunc(out, func(a, b row) int { return cmp.Compare(a.customer, b.customer) })
	for lo := 0; lo < len(out); lo += batchRows {
		chunk := out[lo:min(lo+batchRows, len(out))]
		var b strings.Builder
		b.WriteString(`INSERT INTO entitlements (company_id, customer_number, product_code, level, source, valid_from, valid_until) VALUES `)
		args := []any{companyID}
		for j, r := range chunk {
			if j > 0 {
				b.WriteString(", ")
			}
			var until any
			if r.until != 0 {
				until = r.until
			}
			n := len(args)
			fmt.Fprintf(&b, "($1, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
			args = append(args, r.customer, r.product, r.level, r.source, r.from, until)
		}
		b.WriteString(` ON CONFLICT DO NOTHING`)
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return store.Translate(err)
		}
	}
	return nil
}

// intList is a comma-separated list of integers, safe to inline in SQL.
func intList(vs []int64) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(v, 10))
	}
	return b.String()
}
