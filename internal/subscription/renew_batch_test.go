package subscription

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/value"
)

// renewalSet is one copy of the subscriptions TestRenewBatchMatchesRenew
// renews: the same kinds, owned by different customers.
type renewalSet struct {
	plain, trial, shared, stale, anchored  int64 // subscription ids
	owner, sharer, staleOwner, anchorOwner int64 // customers
	recipient                              int64
}

func (rs renewalSet) subs() []int64 {
	return []int64{rs.plain, rs.trial, rs.shared, rs.stale, rs.anchored}
}

func (rs renewalSet) customers() []int64 {
	return []int64{rs.owner, rs.sharer, rs.staleOwner, rs.anchorOwner, rs.recipient}
}

// paidFlags are the paid arguments of the renewals of subs(), in order.
var paidFlags = []bool{true, false, true, true, false}

// newRenewalSet starts the subscriptions of one set for the five customers
// from first: a plain monthly one and a trial with renewal terms (same
// owner), one shared with an accepted share, one that another run renews
// first (stale), and one re-anchored at period 2.
func newRenewalSet(t *testing.T, e *env, first int64) renewalSet {
	t.Helper()
	rs := renewalSet{owner: first, sharer: first + 1, staleOwner: first + 2, anchorOwner: first + 3, recipient: first + 4}
	renewal := value.Money(19900)
	start := func(tx *sql.Tx, customer int64, product string, r StartRequest) int64 {
		r.CompanyID, r.CustomerNumber, r.ProductCode, r.StartDate = e.company, customer, product, date("2024-01-31")
		if r.PeriodType == "" {
			r.PeriodLength, r.PeriodType, r.Price = 1, Month, 19900
		}
		r.Paid = true
		id, err := Start(e.ctx(), tx, r)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	err := e.tx(t, func(tx *sql.Tx) error {
		rs.plain = start(tx, rs.owner, "DIGI", StartRequest{AccessProducts: []string{"PLUS"}})
		rs.trial = start(tx, rs.owner, "PLUS", StartRequest{PeriodLength: 4, PeriodType: Week, Price: 100,
			RenewalPrice: &renewal, RenewalPeriodLength: 1, RenewalPeriodType: Month})
		rs.shared = start(tx, rs.sharer, "DIGI", StartRequest{})
		rs.stale = start(tx, rs.staleOwner, "DIGI", StartRequest{})
		rs.anchored = start(tx, rs.anchorOwner, "DIGI", StartRequest{})
		now := e.now.UnixMilli()
		if _, err := tx.ExecContext(e.ctx(), `INSERT INTO shares (company_id, share_code, subscription_id, owner_customer, product_code,
			contact, contact_type, status, recipient_customer, created_at, accepted_at, expires_at)
			VALUES ($1, $2, $3, $4, 'DIGI', 'friend@example.com', 'A_EMAIL', 'ACCEPTED', $5, $6, $6, $7)`,
			e.company, fmt.Sprintf("S%d", rs.shared), rs.shared, rs.sharer, rs.recipient, now, now+86400000); err != nil {
			return err
		}
		// Period 2 began on 10 February (as after a resume): period 3 follows it.
		_, err := tx.ExecContext(e.ctx(), `UPDATE subscriptions SET anchor_date = '2024-02-10', anchor_period = 2, periods = 2,
			end_time = $2 WHERE id = $1`, rs.anchored, time.Date(2024, 3, 9, 23, 59, 59, 0, oslo).UnixMilli())
		if err != nil {
			return err
		}
		return refreshCustomer(e.ctx(), tx, e.company, rs.recipient)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// renewStaleFirst renews the set's stale subscription as another run
// would, returning it as loaded before.
func renewStaleFirst(t *testing.T, e *env, rs renewalSet) *Sub {
	t.Helper()
	before, err := load(e.ctx(), e.db, e.company, rs.stale)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.tx(t, func(tx *sql.Tx) error {
		_, err := Renew(e.ctx(), tx, e.company, rs.stale, before.EndTime, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return before
}

// TestRenewBatchMatchesRenew renews one set with RenewBatch and an identical
// set with Renew, and compares what each left behind, row by row.
func TestRenewBatchMatchesRenew(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := setup(t, d)
		ctx := e.ctx()
		if _, err := customer.Generate(context.Background(), e.db, "ACME", 10); err != nil {
			t.Fatal(err)
		}
		batch, single := newRenewalSet(t, e, 100003), newRenewalSet(t, e, 100008)
		staleBatch, staleSingle := renewStaleFirst(t, e, batch), renewStaleFirst(t, e, single)
		var changesBefore int64
		if err := e.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM entitlement_changes`).Scan(&changesBefore); err != nil {
			t.Fatal(err)
		}

		var ends []int64
		err := e.tx(t, func(tx *sql.Tx) error {
			var subs []*Sub
			for _, id := range batch.subs() {
				s, err := load(ctx, tx, e.company, id)
				if err != nil {
					return err
				}
				if id == batch.stale {
					s = staleBatch
				}
				subs = append(subs, s)
			}
			var err error
			ends, err = RenewBatch(ctx, tx, e.company, subs, paidFlags)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		singleEnds := make([]int64, len(paidFlags))
		for i, id := range single.subs() {
			err := e.tx(t, func(tx *sql.Tx) error {
				end := staleSingle.EndTime
				if id != single.stale {
					s, err := load(ctx, tx, e.company, id)
					if err != nil {
						return err
					}
					end = s.EndTime
				}
				var err error
				singleEnds[i], err = Renew(ctx, tx, e.company, id, end, paidFlags[i])
				return err
			})
			if id == single.stale {
				if !errs.Is(err, errs.Conflict) {
					t.Fatalf("Renew of the stale period: %v", err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if fmt.Sprint(ends) != fmt.Sprint(singleEnds) || ends[3] != 0 || ends[0] == 0 {
			t.Fatalf("new ends: batch %v, one by one %v", ends, singleEnds)
		}
		if want := time.Date(2024, 4, 9, 23, 59, 59, 0, oslo).UnixMilli(); ends[4] != want {
			t.Errorf("re-anchored subscription ends %v, want 9 April", time.UnixMilli(ends[4]).In(oslo))
		}

		// The subscriptions: end, periods, paid, terms and anchor.
		for i := range paidFlags {
			a, err := load(ctx, e.db, e.company, batch.subs()[i])
			if err != nil {
				t.Fatal(err)
			}
			b, err := load(ctx, e.db, e.company, single.subs()[i])
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprint(a.Status, a.EndTime, a.Periods, a.Paid, a.Price, a.PeriodLength, a.PeriodType, a.AnchorDate, a.AnchorPeriod,
				a.RenewalPrice, a.RenewalLength, a.RenewalType)
			want := fmt.Sprint(b.Status, b.EndTime, b.Periods, b.Paid, b.Price, b.PeriodLength, b.PeriodType, b.AnchorDate, b.AnchorPeriod,
				b.RenewalPrice, b.RenewalLength, b.RenewalType)
			if got != want {
				t.Errorf("subscription %d: batch %s, one by one %s", i, got, want)
			}
		}
		trial, _ := load(ctx, e.db, e.company, batch.trial)
		if trial.Price != 19900 || trial.PeriodType != Month || trial.renewalPending() || trial.Paid {
			t.Errorf("trial after the batch: %+v", trial)
		}

		// Audit rows and events of each subscription.
		for i := range paidFlags {
			a := renewTrail(t, e, batch.subs()[i])
			b := renewTrail(t, e, single.subs()[i])
			if len(a) != len(b) || len(a) == 0 {
				t.Errorf("subscription %d: batch trail %v, one by one %v", i, a, b)
				continue
			}
			for j := range a {
				if strings.ReplaceAll(a[j], itoa(batch.customers()[subOwner(i)]), "C") != strings.ReplaceAll(b[j], itoa(single.customers()[subOwner(i)]), "C") {
					t.Errorf("subscription %d: batch %s, one by one %s", i, a[j], b[j])
				}
			}
		}

		// Entitlements and the change log of owners and the recipient.
		changed := map[int64]bool{}
		rows, err := e.db.QueryContext(ctx, `SELECT customer_number FROM entitlement_changes WHERE id > $1`, changesBefore)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c int64
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			changed[c] = true
		}
		rows.Close()
		for i, c := range batch.customers() {
			if c == batch.staleOwner {
				continue // neither renewed it here
			}
			if !changed[c] || !changed[single.customers()[i]] {
				t.Errorf("customer %d: change logged batch %v, one by one %v", i, changed[c], changed[single.customers()[i]])
			}
			a, b := entitlementsOf(t, e, c), entitlementsOf(t, e, single.customers()[i])
			if a != b || a == "" {
				t.Errorf("customer %d entitlements: batch %s, one by one %s", i, a, b)
			}
		}
		if changed[batch.staleOwner] {
			t.Error("the stale subscription's owner was refreshed by the batch")
		}
		if !e.access(t, batch.recipient, "DIGI") {
			t.Error("the share recipient lost access")
		}
	})
}

// subOwner is the index in customers() of the owner of subs()[i].
func subOwner(i int) int { return []int{0, 0, 1, 2, 3}[i] }

// renewTrail lists the subscription/renew audit details and events of a
// subscription, oldest first.
func renewTrail(t *testing.T, e *env, id int64) []string {
	t.Helper()
	var out []string
	rows, err := e.db.QueryContext(e.ctx(), `SELECT actor, detail FROM audit_log WHERE action = 'subscription.renew' AND target = $1 ORDER BY id`,
		"subscription:"+itoa(id))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var actor, detail string
		if err := rows.Scan(&actor, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, "audit "+actor+" "+normJSON(t, detail))
	}
	rows.Close()
	s, err := load(e.ctx(), e.db, e.company, id)
	if err != nil {
		t.Fatal(err)
	}
	rows, err = e.db.QueryContext(e.ctx(), `SELECT source, data FROM event_outbox WHERE type = 'subscription' AND status = 'renew' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var source, data string
		if err := rows.Scan(&source, &data); err != nil {
			t.Fatal(err)
		}
		var d struct {
			CustomerNumber int64
			ProductCode    string
		}
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			t.Fatal(err)
		}
		if d.CustomerNumber == s.CustomerNumber && d.ProductCode == s.ProductCode {
			out = append(out, "event "+source+" "+normJSON(t, data))
		}
	}
	rows.Close()
	return out
}

func normJSON(t *testing.T, s string) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v) // sorted keys
	return string(b)
}

// entitlementsOf lists a customer's entitlement rows without their source ids.
func entitlementsOf(t *testing.T, e *env, customer int64) string {
	t.Helper()
	rows, err := e.db.QueryContext(e.ctx(), `SELECT product_code, level, source, valid_from, valid_until FROM entitlements
		WHERE company_id = $1 AND customer_number = $2`, e.company, customer)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var product, level, source string
		var from int64
		var until sql.NullInt64
		if err := rows.Scan(&product, &level, &source, &from, &until); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(product, level, source[:1], from, until))
	}
	sort.Strings(out)
	return strings.Join(out, ";")
}
