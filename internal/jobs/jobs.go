// Package jobs runs the periodic work of the billing engine: renewal
// (issue the next period's invoice, charge stored means, extend the
// subscription) and dunning (overdue, reminders with fees, suspension and
// lapse of unpaid renewals). Every step works in small transactions whose
// updates are conditioned on the state they saw, so a run can be killed at
// any point and rerun, and several runs (nodes) can work at once: on
// PostgreSQL they claim subscriptions with FOR UPDATE SKIP LOCKED, and the
// unique (subscription, period) index is the last guard against a second
// invoice. `connect jobs run-once --at DATE` runs one pass.
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/delivery"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/order"
	"github.com/connect-oss/connect/internal/privacy"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
)

// Runner runs the jobs.
type Runner struct {
	DB      *store.DB
	Billing *billing.Engine
	Log     *slog.Logger
	Workers int // parallel claimers per step (PostgreSQL); 0: 4
	Batch   int // subscriptions per transaction; 0: 200
	// OnBatch, when set, is called after each committed batch of a
	// claiming step (issue, renew) with its name: progress reporting, and the
	// crash test's way to stop a run between two commits.
	OnBatch func(step string)
}

// Report counts what one pass did.
type Report struct {
	Advanced  int // subscription.Advance and delivery.Advance: pauses, expiries, free renewals, stops
	Issued    int // renewal invoices
	Charged   int // successful charges
	Declined  int
	Unknown   int // charges left for reconciliation
	Renewed   int // priced subscriptions extended by a period
	Overdue   int
	Reminded  int
	Suspended int
	Lapsed    int // unpaid renewal offers cancelled, subscription ended
	Restarted int // runs started again after a gap of periods never invoiced
	Erased    int // customers anonymised by erasures that were waiting
	Purged    int // consent events deleted after their evidence years
	Callbacks int // order callbacks deleted after their retention (delivered or given up)
	Expired   int // stale orders ended: preliminary after 7 days, pending after 24 hours
	Events    int // outbox events deleted after event.Retention (delivered or given up)
}

func (r Report) String() string {
	return fmt.Sprintf("advanced=%d issued=%d charged=%d declined=%d unknown=%d renewed=%d overdue=%d reminded=%d suspended=%d lapsed=%d restarted=%d erased=%d purged=%d callbacks=%d expired=%d events=%d",
		r.Advanced, r.Issued, r.Charged, r.Declined, r.Unknown, r.Renewed, r.Overdue, r.Reminded, r.Suspended, r.Lapsed, r.Restarted, r.Erased, r.Purged, r.Callbacks, r.Expired, r.Events)
}

func (r *Runner) workers() int {
	if r.DB.Dialect == store.SQLite {
		return 1 // one writer at a time anyway
	}
	if r.Workers <= 0 {
		return 4
	}
	return r.Workers
}

func (r *Runner) batch() int {
	if r.Batch <= 0 {
		return 200
	}
	return r.Batch
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}

// RunOnce runs every step once at business time at.
func (r *Runner) RunOnce(ctx context.Context, at time.Time) (Report, error) {
	ctx = subscription.WithClock(ctx, func() time.Time { return at })
	var rep Report
	n, err := subscription.Advance(ctx, r.DB)
	rep.Advanced = n
	if err != nil {
		return rep, fmt.Errorf("advance subscriptions: %w", err)
	}
	// Delivery stops: plan the next vacation pause, apply stops that began.
	n, err = delivery.Advance(ctx, r.DB)
	rep.Advanced += n
	if err != nil {
		return rep, fmt.Errorf("advance delivery stops: %w", err)
	}
	rows, err := r.DB.QueryContext(ctx, `SELECT id FROM companies ORDER BY id`)
	if err != nil {
		return rep, store.Translate(err)
	}
	var companies []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return rep, err
		}
		companies = append(companies, id)
	}
	rows.Close()
	for _, c := range companies {
		if err := r.company(ctx, c, at, &rep); err != nil {
			return rep, err
		}
	}
	// Privacy: erasures waiting for open invoices and paid periods to end
	// complete once billing is done with the customer; consent evidence past
	// its retention is purged.
	if rep.Erased, err = privacy.CompleteDueErasures(ctx, r.DB, at); err != nil {
		return rep, fmt.Errorf("complete erasures: %w", err)
	}
	if rep.Purged, err = privacy.PurgeExpiredEvidence(ctx, r.DB, at); err != nil {
		return rep, fmt.Errorf("purge consent evidence: %w", err)
	}
	// Customers and orders: stale orders end (with their failed callback);
	// delivered and given-up order callbacks are kept for
	// order.CallbackRetention.
	for { // ExpireStale ends up to 1,000 orders of each status per call
		n, err := order.ExpireStale(ctx, r.DB, at)
		if err != nil {
			return rep, fmt.Errorf("expire stale orders: %w", err)
		}
		rep.Expired += n
		if n == 0 {
			break
		}
	}
	if rep.Callbacks, err = order.PurgeCallbacks(ctx, r.DB, at); err != nil {
		return rep, fmt.Errorf("purge order callbacks: %w", err)
	}
	// Events: finished ones (fanned out, no delivery pending) are kept for
	// event.Retention, then deleted with their deliveries and attempts.
	if rep.Events, err = event.Purge(ctx, r.DB, at); err != nil {
		return rep, fmt.Errorf("purge events: %w", err)
	}
	return rep, nil
}

// company holds a company's zone and settings for one pass.
type company struct {
	id       int64
	code     string
	loc      *time.Location
	settings billing.Settings
	today    string
	behind   atomic.Int64 // renewals this round whose new period is already over
}

func (r *Runner) company(ctx context.Context, id int64, at time.Time, rep *Report) error {
	rec, err := tenant.GetCompany(ctx, r.DB, id)
	if err != nil {
		return err
	}
	loc, err := rec.Location()
	if err != nil {
		return err
	}
	s, err := billing.LoadSettings(ctx, r.DB, id)
	if err != nil {
		return err
	}
	c := &company{id: id, code: rec.Code, loc: loc, settings: s, today: at.In(loc).Format("2006-01-02")}
	steps := []struct {
		name string
		fn   func(context.Context, *company, time.Time, *Report) error
	}{
		// Dunning first: a subscription suspended or ended today gets no
		// next invoice today.
		{"overdue", r.overdue}, {"remind", r.remind}, {"suspend", r.suspend}, {"lapse", r.lapse},
		{"issue", r.issue}, {"charge", r.charge}, {"renew", r.renew},
	}
	// A round that renewed a period already over (the jobs did not run for
	// a while) runs the steps again, so one pass catches up: that period's
	// dunning runs first (an unpaid one is suspended), then the next period
	// restarts (see issue). Every step is safe to repeat; maxRounds only
	// bounds a surprise.
	for round := 0; round < maxRounds; round++ {
		c.behind.Store(0)
		for _, st := range steps {
			if err := st.fn(ctx, c, at, rep); err != nil {
				return fmt.Errorf("%s (company %s): %w", st.name, rec.Code, err)
			}
		}
		if c.behind.Load() == 0 {
			break
		}
	}
	return nil
}

// maxRounds bounds the rounds of one pass: a subscription needs at most two
// (renew the period invoiced before a gap, then restart and renew the next).
const maxRounds = 4

// idWindow is how many subscription ids one claim window spans.
const idWindow = 5000

// parallel runs fn on the runner's workers over the company's subscription
// ids: each worker takes the next window of ids and claims batches in it
// (fn advances *cursor) until fn reports nothing claimed, then takes the next
// window. Windows keep every claim an index range scan; other nodes running
// at once are kept apart by the row locks (SKIP LOCKED) and the unique index.
// fn returns how many rows it claimed and how many it changed.
func (r *Runner) parallel(ctx context.Context, companyID int64, step string, fn func(ctx context.Context, cursor *int64, upTo int64) (claimed, changed int, err error)) (int, error) {
	var maxID int64
	if err := r.DB.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM subscriptions WHERE company_id = $1`, companyID).Scan(&maxID); err != nil {
		return 0, store.Translate(err)
	}
	var (
		mu    sync.Mutex
		next  int64
		total int
		first error
		wg    sync.WaitGroup
	)
	for range r.workers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				lo := next
				next += idWindow
				stop := first != nil || lo >= maxID
				mu.Unlock()
				if stop {
					return
				}
				cursor, upTo := lo, lo+idWindow
				for ctx.Err() == nil {
					claimed, n, err := fn(ctx, &cursor, upTo)
					if err == nil && claimed > 0 && r.OnBatch != nil {
						r.OnBatch(step)
					}
					mu.Lock()
					total += n
					if err != nil && first == nil {
						first = err
					}
					mu.Unlock()
					if err != nil {
						return
					}
					if claimed == 0 {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return total, first
}

// nextInvoice finds the invoice of a subscription's next period. The
// OFFSET 0 keeps PostgreSQL from turning the (NOT) EXISTS into a merge
// (anti) join that reads invoices_period from its start on every claim,
// which grows with every invoice ever issued; as a subplan it is one index
// probe per claimed row.
const nextInvoice = `SELECT 1 FROM invoices i WHERE i.subscription_id = s.id AND i.kind = 'invoice' AND i.period_no = s.periods + 1 LIMIT 1 OFFSET 0`

const noNextInvoice = `NOT EXISTS (` + nextInvoice + `)`
const hasNextInvoice = `EXISTS (` + nextInvoice + `)`

// claimRenewing claims the next batch of the window for a step. On
// PostgreSQL the claim is planned for its actual bounds each time: a
// cached generic plan cannot tell a 5,000-id window from the whole table
// and scans subscriptions_due, whose size grows with the data set. The
// inserts that follow keep their cached plans.
func (r *Runner) claimRenewing(ctx context.Context, tx *sql.Tx, companyID, endBefore, afterID, upTo int64, extra string) ([]*subscription.Sub, error) {
	if r.DB.Dialect != store.Postgres {
		return subscription.ClaimRenewing(ctx, tx, r.DB.Dialect, companyID, endBefore, afterID, upTo, r.batch(), extra)
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
		return nil, store.Translate(err)
	}
	subs, err := subscription.ClaimRenewing(ctx, tx, r.DB.Dialect, companyID, endBefore, afterID, upTo, r.batch(), extra)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode TO DEFAULT`); err != nil {
		return nil, store.Translate(err)
	}
	return subs, nil
}

var periodUnits = map[string]string{"day": "D", "week": "W", "month": "M", "year": "Y"}

// issue creates the next period's invoice of every subscription whose
// period starts within invoiceLeadDays. Subscriptions with valid stored
// means get an invoice that is charged on the period's first day.
func (r *Runner) issue(ctx context.Context, c *company, at time.Time, rep *Report) error {
	lead := time.Duration(c.settings.InvoiceLeadDays) * 24 * time.Hour
	endBefore := at.Add(lead).UnixMilli() - 999 // end_time + 1 s − lead ≤ at
	products, err := productInfo(ctx, r.DB, c.id)
	if err != nil {
		return err
	}
	rules, err := catalog.CompanyDependencies(ctx, r.DB, c.id)
	if err != nil {
		return err
	}
	invoiceDay, _ := time.ParseInLocation("2006-01-02", c.today, c.loc)
	var restarted atomic.Int64
	n, err := r.parallel(ctx, c.id, "issue", func(ctx context.Context, cursor *int64, upTo int64) (int, int, error) {
		issued, claimed := 0, 0
		err := r.DB.Tx(ctx, func(tx *sql.Tx) error {
			issued = 0
			subs, err := r.claimRenewing(ctx, tx, c.id, endBefore, *cursor, upTo, noNextInvoice)
			if err != nil || len(subs) == 0 {
				return err
			}
			*cursor, claimed = subs[len(subs)-1].ID, len(subs)
			payers, err := payerSnapshots(ctx, tx, c.id, subs)
			if err != nil {
				return err
			}
			means, err := validMeans(ctx, tx, c.id, subs)
			if err != nil {
				return err
			}
			credits, err := vacationCredits(ctx, tx, c, subs)
			if err != nil {
				return err
			}
			held, err := holdings(ctx, tx, c.id, subs, rules)
			if err != nil {
				return err
			}
			list := make([]billing.NewInvoice, 0, len(subs))
			for _, s := range subs {
				n := s.Periods + 1
				from, end, err := s.PeriodBounds(c.loc, n)
				if err != nil {
					return err
				}
				if end.Before(invoiceDay) {
					// The period is over and was never invoiced: the jobs did not run.
					if s.PauseFrom.Valid && s.PauseFrom.Int64 <= invoiceDay.UnixMilli() {
						continue // a pause due to begin, which Advance could not begin: left to it
					}
					if s, err = restart(ctx, tx, c, s, invoiceDay); err != nil {
						return err
					}
					if from, end, err = s.PeriodBounds(c.loc, n); err != nil {
						return err
					}
					restarted.Add(1)
				}
				p := products[s.ProductCode]
				fromDate, inclDate := from.Format("2006-01-02"), end.Format("2006-01-02")
				// Period n's terms: the coupon's renewal terms from period 2.
				price, length, typ := s.TermsOf(n)
				lines := []billing.Line{{ProductCode: s.ProductCode, Description: p.name, FromDate: fromDate, InclDate: inclDate,
					Amount: price, VatPercent: p.vat, Explanation: fmt.Sprintf("period %d, %s to %s", n, fromDate, inclDate)}}
				// A product with dependency rules: the largest discount of a
				// rule the customer's other subscriptions meet as the period
				// begins, as a negative line (before any vacation credit,
				// which billing adds and caps at what is left).
				if rs := rules[s.ProductCode]; len(rs) > 0 {
					if l, ok := dependencyLine(lines[0], rs, heldAt(held[s.CustomerNumber], s.ID, from.UnixMilli())); ok {
						lines = append(lines, l)
					}
				}
				ni := billing.NewInvoice{CompanyID: c.id, CustomerNumber: s.CustomerNumber, SubscriptionID: s.ID, PeriodNo: n,
					ProductCode: s.ProductCode, ProductName: p.name, InvoiceDate: invoiceDay, FromDate: fromDate, InclDate: inclDate,
					Period: length, PeriodUnit: periodUnits[typ], Currency: s.Currency, Lines: lines, SkipDuplicate: true}
				if pay, ok := payers[s.CustomerNumber]; ok {
					ni.PayerName, ni.PayerAddress = pay[0], pay[1]
				}
				if m, ok := means[s.CustomerNumber+0][s.ProductCode]; ok {
					ni.MeansID, ni.MeansKind, ni.ChargeAt = m.id, m.kind, from
				}
				ni.Credits = credits[s.ID]
				list = append(list, ni)
			}
			out, err := billing.IssueBatch(ctx, tx, c.id, list)
			for _, o := range out {
				if !o.Skipped {
					issued++
				}
			}
			return err
		})
		return claimed, issued, err
	})
	rep.Issued += n
	rep.Restarted += int(restarted.Load())
	return err
}

// restart starts a subscription's run again today because its next period
// ended before it was ever invoiced (the jobs did not run through it). The
// gap is handled as the lifecycle handles any unpaid gap: as a pause from
// the end of the paid period, resumed today, so the next period begins
// today and startTime moves to today (DECISIONS.md, "Billing and
// payments"). The missed periods are never billed: an invoice for a period
// already over cannot be a renewal offer, and stored means are charged for
// a period as it begins. A pause planned for a later day is kept. The
// caller holds the subscription's row lock (the claim).
func restart(ctx context.Context, tx *sql.Tx, c *company, s *subscription.Sub, today time.Time) (*subscription.Sub, error) {
	ctx = subscription.WithActor(ctx, "system:renewal-restart")
	planned, until, extend := s.PauseFrom, time.Time{}, s.PauseExtend
	if s.PauseUntil.Valid {
		until = time.UnixMilli(s.PauseUntil.Int64)
	}
	if planned.Valid { // Pause takes one pause at a time: set the planned one aside
		if err := subscription.Resume(ctx, tx, c.id, s.ID, today); err != nil {
			return nil, err
		}
	}
	if err := subscription.Pause(ctx, tx, c.id, s.ID, today, time.Time{}, false); err != nil {
		return nil, err
	}
	if err := subscription.Resume(ctx, tx, c.id, s.ID, today); err != nil {
		return nil, err
	}
	if planned.Valid {
		if err := subscription.Pause(ctx, tx, c.id, s.ID, time.UnixMilli(planned.Int64), until, extend); err != nil {
			return nil, err
		}
	}
	return subscription.Load(ctx, tx, c.id, s.ID)
}

type product struct {
	name string
	vat  int64
}

func productInfo(ctx context.Context, q store.Queryer, companyID int64) (map[string]product, error) {
	rows, err := q.QueryContext(ctx, `SELECT code, description, COALESCE(vat_percent, 0) FROM products WHERE company_id = $1`, companyID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := map[string]product{}
	for rows.Next() {
		var code string
		var p product
		if err := rows.Scan(&code, &p.name, &p.vat); err != nil {
			return nil, err
		}
		out[code] = p
	}
	return out, rows.Err()
}

func customerList(subs []*subscription.Sub) string {
	seen := map[int64]bool{}
	var b strings.Builder
	for _, s := range subs {
		if seen[s.CustomerNumber] {
			continue
		}
		seen[s.CustomerNumber] = true
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(s.CustomerNumber, 10)) // integers only: safe to inline
	}
	return b.String()
}

// payerSnapshots freezes the payers' names and addresses for a batch in one query.
func payerSnapshots(ctx context.Context, q store.Queryer, companyID int64, subs []*subscription.Sub) (map[int64][2]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT customer_number, first_name, middle_name, last_name, company_name, department_name,
		street_address, street_number, postal_code, postal_place, country_code FROM customers
		WHERE company_id = $1 AND customer_number IN (`+customerList(subs)+`)`, companyID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := map[int64][2]string{}
	for rows.Next() {
		var n int64
		var first, middle, last, comp, dept, street, postal, place, country string
		var number sql.NullInt64
		if err := rows.Scan(&n, &first, &middle, &last, &comp, &dept, &street, &number, &postal, &place, &country); err != nil {
			return nil, err
		}
		name, addr, err := billing.SnapshotJSON(first, middle, last, comp, dept, street, number, postal, place, country)
		if err != nil {
			return nil, err
		}
		out[n] = [2]string{name, addr}
	}
	return out, rows.Err()
}

// vacationCredits reads the vacation credits (vacationStopPolicy credit)
// the delivery stops of a claimed batch recorded, as billing takes them:
// billing deducts what is left of them from the next invoices.
func vacationCredits(ctx context.Context, q store.Queryer, c *company, subs []*subscription.Sub) (map[int64][]billing.StopCredit, error) {
	ids := make([]int64, len(subs))
	for i, s := range subs {
		ids[i] = s.ID
	}
	recorded, err := delivery.VacationCredits(ctx, q, c.id, c.loc, ids)
	if err != nil || len(recorded) == 0 {
		return nil, err
	}
	out := make(map[int64][]billing.StopCredit, len(recorded))
	for sub, list := range recorded {
		for _, v := range list {
			out[sub] = append(out[sub], billing.StopCredit{StopID: v.StopID, FirstDay: v.FirstDay, LastDay: v.LastDay,
				Days: v.Days, Amount: v.Amount})
		}
	}
	return out, nil
}

type meansRef struct {
	id   int64
	kind string
}

// nextInvoiceStatuses reads, in one query for a claimed batch, the status
// of each subscription's invoice of its next period, by subscription id.
func nextInvoiceStatuses(ctx context.Context, q store.Queryer, subs []*subscription.Sub) (map[int64]string, error) {
	var b strings.Builder
	for i, s := range subs {
		if i > 0 {
			b.WriteByte(',')
		}
		// integers only: safe to inline
		fmt.Fprintf(&b, "(%d, %d)", s.ID, s.Periods+1)
	}
	rows, err := q.QueryContext(ctx, `SELECT subscription_id, status FROM invoices
		WHERE kind = 'invoice' AND (subscription_id, period_no) IN (VALUES `+b.String()+`)`)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := make(map[int64]string, len(subs))
	for rows.Next() {
		var id int64
		var status string
		if err := rows.Scan(&id, &status); err != nil {
			return nil, err
		}
		out[id] = status
	}
	return out, rows.Err()
}

func validMeans(ctx context.Context, q store.Queryer, companyID int64, subs []*subscription.Sub) (map[int64]map[string]meansRef, error) {
	rows, err := q.QueryContext(ctx, `SELECT customer_number, product_code, id, kind FROM payment_means
		WHERE company_id = $1 AND status = 'valid' AND customer_number IN (`+customerList(subs)+`)`, companyID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := map[int64]map[string]meansRef{}
	for rows.Next() {
		var n int64
		var p string
		var m meansRef
		if err := rows.Scan(&n, &p, &m.id, &m.kind); err != nil {
			return nil, err
		}
		if out[n] == nil {
			out[n] = map[string]meansRef{}
		}
		out[n][p] = m
	}
	return out, rows.Err()
}

// charge runs due charges and reconciles unknown ones.
func (r *Runner) charge(ctx context.Context, c *company, at time.Time, rep *Report) error {
	rows, err := r.DB.QueryContext(ctx, `SELECT id FROM invoices WHERE company_id = $1 AND kind = 'invoice' AND
		((charge_state IN ('scheduled', 'retry') AND next_charge_at <= $2) OR charge_state IN ('charging', 'reconcile'))
		ORDER BY id`, c.id, at.UnixMilli())
	if err != nil {
		return store.Translate(err)
	}
	ids, err := scanIDs(rows)
	if err != nil {
		return err
	}
	for _, id := range ids {
		res, err := r.Billing.ChargeInvoice(ctx, c.id, id)
		if errs.Is(err, errs.Conflict) {
			continue // another run claimed it
		}
		if err != nil {
			return err
		}
		switch res {
		case billing.ChargedOK:
			rep.Charged++
		case billing.ChargeDeclined:
			rep.Declined++
		case billing.ChargeUnknown:
			rep.Unknown++
		}
	}
	return nil
}

func scanIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// renew extends every priced subscription whose period has ended and whose
// next period is invoiced; the new period is paid when its invoice is.
func (r *Runner) renew(ctx context.Context, c *company, at time.Time, rep *Report) error {
	endBefore := at.UnixMilli() - 999 // end_time + 1 s ≤ at
	n, err := r.parallel(ctx, c.id, "renew", func(ctx context.Context, cursor *int64, upTo int64) (int, int, error) {
		renewed, claimed := 0, 0
		err := r.DB.Tx(ctx, func(tx *sql.Tx) error {
			renewed = 0
			subs, err := r.claimRenewing(ctx, tx, c.id, endBefore, *cursor, upTo, hasNextInvoice)
			if err != nil || len(subs) == 0 {
				return err
			}
			*cursor, claimed = subs[len(subs)-1].ID, len(subs)
			statuses, err := nextInvoiceStatuses(ctx, tx, subs)
			if err != nil {
				return err
			}
			var renewing []*subscription.Sub
			var paid []bool
			for _, s := range subs {
				status, ok := statuses[s.ID]
				if !ok {
					return errs.E(errs.Internal, "subscription %d: the invoice of period %d is gone", s.ID, s.Periods+1)
				}
				if status == billing.StatusCancelled || status == billing.StatusCredited {
					continue // a lapsed offer: the subscription is ending
				}
				renewing = append(renewing, s)
				paid = append(paid, status == billing.StatusPaid)
			}
			ends, err := subscription.RenewBatch(ctx, tx, c.id, renewing, paid)
			if err != nil {
				return err
			}
			for _, end := range ends {
				if end == 0 {
					continue // renewed meanwhile
				}
				if end+1000 <= at.UnixMilli() {
					c.behind.Add(1) // a period that is already over: catching up after a gap
				}
				renewed++
			}
			return nil
		})
		return claimed, renewed, err
	})
	rep.Renewed += n
	return err
}

// overdue marks open invoices past their due date (the day after it, in the
// company zone) overdue, with an invoice/overdue event each. A chunk per
// transaction: one conditional update returns what the events need, and
// one insert records them, instead of a transaction per invoice. Another
// node skips the rows this one holds; status = 'open' in the update keeps
// an invoice paid meanwhile, or already marked, out.
func (r *Runner) overdue(ctx context.Context, c *company, at time.Time, rep *Report) error {
	pick := `SELECT id FROM invoices WHERE company_id = $1 AND kind = 'invoice' AND status = 'open' AND due_date < $2
		AND charge_state IN ('none', 'failed') ORDER BY id LIMIT ` + strconv.Itoa(r.batch())
	if r.DB.Dialect == store.Postgres {
		pick += ` FOR UPDATE SKIP LOCKED`
	}
	mark := `UPDATE invoices SET status = 'overdue', updated_at = $3 WHERE id IN (` + pick + `) AND status = 'open'
		RETURNING invoice_number, customer_number, product_code, amount + fee_amount - paid_amount - credited_amount`
	for {
		var events []event.Event
		err := r.DB.Tx(ctx, func(tx *sql.Tx) error {
			events = events[:0]
			rows, err := tx.QueryContext(ctx, mark, c.id, c.today, at.UnixMilli())
			if err != nil {
				return store.Translate(err)
			}
			for rows.Next() {
				var number, customer, balance int64
				var product string
				if err := rows.Scan(&number, &customer, &product, &balance); err != nil {
					rows.Close()
					return err
				}
				events = append(events, c.invoiceEvent(number, customer, product, balance, "overdue", at))
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return store.Translate(err)
			}
			_, err = event.RecordBatch(ctx, tx, events)
			return err
		})
		if err != nil {
			return err
		}
		rep.Overdue += len(events)
		if len(events) == 0 {
			return nil
		}
	}
}

// invoiceEvent is the invoice/<status> event of a dunning step.
func (c *company) invoiceEvent(number, customer int64, product string, balance int64, status string, at time.Time) event.Event {
	return event.Event{CompanyID: c.id, Source: c.code, Type: "invoice", Status: status,
		Data: map[string]any{"invoiceNumber": strconv.FormatInt(number, 10), "customerNumber": customer,
			"productCode": product, "balance": billingMoney(balance)}, Time: at}
}

// cancelLaterInvoices cancels the unpaid invoices of periods after the one
// of invoice lapsed: issued ahead of renewals that will not come now that
// the subscription ends, they must not be charged or dunned.
func (r *Runner) cancelLaterInvoices(ctx context.Context, tx *sql.Tx, c *company, subscriptionID, lapsed int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM invoices WHERE company_id = $1 AND subscription_id = $2 AND kind = 'invoice'
		AND period_no > (SELECT period_no FROM invoices WHERE id = $3) AND status IN ('open', 'overdue', 'reminded') ORDER BY id`,
		c.id, subscriptionID, lapsed)
	if err != nil {
		return store.Translate(err)
	}
	ids, err := scanIDs(rows)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := billing.CreditRest(ctx, tx, r.DB.Dialect, c.id, id, billing.StatusCancelled, "subscription ended: the period does not come"); err != nil {
			return err
		}
	}
	return nil
}

func billingMoney(minor int64) float64 { return float64(minor) / 100 }

func (c *company) date(s string) time.Time {
	d, _ := time.ParseInLocation("2006-01-02", s, c.loc)
	return d
}

func (c *company) noon(d time.Time) int64 { return d.Add(12 * time.Hour).UnixMilli() }

// remind issues the next reminder of overdue invoices: the first
// reminderDelayDays after the due date, each next one when the previous
// reminder's own due date has passed, up to maxReminders. Each adds the fee.
func (r *Runner) remind(ctx context.Context, c *company, at time.Time, rep *Report) error {
	s := c.settings
	if s.MaxReminders == 0 {
		return nil
	}
	rows, err := r.DB.QueryContext(ctx, `SELECT i.id, i.due_date, COUNT(m.id), COALESCE(MAX(m.due_date), 0) FROM invoices i
		LEFT JOIN invoice_reminders m ON m.invoice_id = i.id
		WHERE i.company_id = $1 AND i.kind = 'invoice' AND i.status IN ('overdue', 'reminded')
		GROUP BY i.id, i.due_date ORDER BY i.id`, c.id)
	if err != nil {
		return store.Translate(err)
	}
	type cand struct {
		id      int64
		due     string
		count   int
		lastDue int64
	}
	var list []cand
	for rows.Next() {
		var x cand
		if err := rows.Scan(&x.id, &x.due, &x.count, &x.lastDue); err != nil {
			rows.Close()
			return err
		}
		list = append(list, x)
	}
	rows.Close()
	today := c.date(c.today)
	for _, x := range list {
		if x.count >= s.MaxReminders {
			continue
		}
		if x.count == 0 && today.Before(c.date(x.due).AddDate(0, 0, s.ReminderDelayDays)) {
			continue
		}
		if x.count > 0 && c.noon(today) <= x.lastDue {
			continue
		}
		reminder := x.count + 1
		typ := "reminder"
		if s.CollectionNotice && reminder == s.MaxReminders {
			typ = "collectionNotice"
		}
		done := false
		err := r.DB.Tx(ctx, func(tx *sql.Tx) error {
			// The row lock makes a payment that lands now wait for this
			// reminder, or this reminder see the invoice paid: a paid invoice
			// never turns reminded, nor gets a fee.
			lock := `SELECT status, invoice_number, customer_number, product_code, amount + fee_amount - paid_amount - credited_amount
				FROM invoices WHERE company_id = $1 AND id = $2`
			if r.DB.Dialect == store.Postgres {
				lock += ` FOR UPDATE`
			}
			var status, product string
			var number, customer, balance int64
			if err := tx.QueryRowContext(ctx, lock, c.id, x.id).Scan(&status, &number, &customer, &product, &balance); err != nil {
				return store.Translate(err)
			}
			if (status != billing.StatusOverdue && status != billing.StatusReminded) || balance <= 0 {
				return nil
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO invoice_reminders (invoice_id, company_id, reminder_number, reminder_type,
				reminder_date, due_date, fee, amount, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (invoice_id, reminder_number) DO NOTHING`,
				x.id, c.id, reminder, typ, c.noon(today), c.noon(today.AddDate(0, 0, s.ReminderIntervalDays)), s.ReminderFee,
				balance+s.ReminderFee, at.UnixMilli())
			if err != nil {
				return store.Translate(err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // another run issued it
			}
			if _, err := tx.ExecContext(ctx, `UPDATE invoices SET fee_amount = fee_amount + $3, status = 'reminded', updated_at = $4
				WHERE company_id = $1 AND id = $2`, c.id, x.id, s.ReminderFee, at.UnixMilli()); err != nil {
				return store.Translate(err)
			}
			done = true
			_, err = event.Record(ctx, tx, c.invoiceEvent(number, customer, product, balance+s.ReminderFee, "reminded", at))
			return err
		})
		if err != nil {
			return err
		}
		if done {
			rep.Reminded++
		}
	}
	return nil
}

// suspend stops access of subscriptions whose renewal invoice is unpaid
// suspendAfterDays after its due date, once the billed period has begun.
// The invoice may be of an earlier period than the current one (a weekly
// subscription renews twice within the default 14 days of grace): the
// current period is taken back, if it is not paid either.
func (r *Runner) suspend(ctx context.Context, c *company, at time.Time, rep *Report) error {
	limit := c.date(c.today).AddDate(0, 0, -c.settings.SuspendAfterDays).Format("2006-01-02")
	// The subscription an invoice names and, for an order's invoice, every
	// other subscription the order started (its lines bill them too).
	const due = `i.company_id = $1 AND i.kind = 'invoice' AND i.status IN ('open', 'overdue', 'reminded')
		AND i.charge_state IN ('none', 'failed') AND i.due_date <= $2 AND s.status = 'active'
		AND (s.periods = i.period_no OR (i.period_no < s.periods AND NOT s.paid))
		AND NOT EXISTS (SELECT 1 FROM billing_suspensions b WHERE b.subscription_id = s.id)`
	rows, err := r.DB.QueryContext(ctx, `SELECT i.id, s.id, s.periods FROM invoices i
		JOIN subscriptions s ON s.id = i.subscription_id AND s.company_id = i.company_id
		WHERE `+due+`
		UNION ALL
		SELECT i.id, s.id, s.periods FROM invoices i
		JOIN order_lines l ON l.order_id = i.order_id AND l.subscription_id IS NOT NULL
		JOIN subscriptions s ON s.id = l.subscription_id AND s.company_id = i.company_id
		WHERE i.order_id IS NOT NULL AND s.id IS DISTINCT FROM i.subscription_id AND `+due+`
		ORDER BY 1, 2`, c.id, limit)
	if err != nil {
		return store.Translate(err)
	}
	type cand struct{ inv, sub, period int64 }
	var list []cand
	seen := map[int64]bool{} // one suspension per subscription: its oldest unpaid invoice
	for rows.Next() {
		var x cand
		if err := rows.Scan(&x.inv, &x.sub, &x.period); err != nil {
			rows.Close()
			return err
		}
		if !seen[x.sub] {
			seen[x.sub] = true
			list = append(list, x)
		}
	}
	rows.Close()
	for _, x := range list {
		err := r.DB.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO billing_suspensions (subscription_id, company_id, invoice_id, suspended_at)
				VALUES ($1, $2, $3, $4)`, x.sub, c.id, x.inv, at.UnixMilli()); err != nil {
				return store.Translate(err)
			}
			return subscription.Suspend(ctx, tx, c.id, x.sub, int(x.period))
		})
		if errs.Is(err, errs.Conflict) {
			continue // changed meanwhile, or another run suspended it
		}
		if err != nil {
			return err
		}
		rep.Suspended++
	}
	return nil
}

// lapse ends unpaid renewal offers (renewalInvoiceIsOffer): when the last
// reminder falls due unpaid, the invoice is credited in full (status
// cancelled) and the subscription ends with its last paid period.
func (r *Runner) lapse(ctx context.Context, c *company, at time.Time, rep *Report) error {
	s := c.settings
	if !s.RenewalInvoiceIsOffer {
		return nil
	}
	today := c.noon(c.date(c.today))
	rows, err := r.DB.QueryContext(ctx, `SELECT i.id, i.subscription_id, i.due_date, COUNT(m.id), COALESCE(MAX(m.due_date), 0) FROM invoices i
		LEFT JOIN invoice_reminders m ON m.invoice_id = i.id
		WHERE i.company_id = $1 AND i.kind = 'invoice' AND i.subscription_id IS NOT NULL AND i.status IN ('overdue', 'reminded')
		GROUP BY i.id, i.subscription_id, i.due_date ORDER BY i.id`, c.id)
	if err != nil {
		return store.Translate(err)
	}
	type cand struct {
		inv, sub int64
		due      string
		count    int
		lastDue  int64
	}
	var list []cand
	for rows.Next() {
		var x cand
		if err := rows.Scan(&x.inv, &x.sub, &x.due, &x.count, &x.lastDue); err != nil {
			rows.Close()
			return err
		}
		list = append(list, x)
	}
	rows.Close()
	for _, x := range list {
		due := x.count >= s.MaxReminders && x.lastDue < today
		if s.MaxReminders == 0 {
			due = c.noon(c.date(x.due).AddDate(0, 0, s.ReminderDelayDays)) < today
		}
		if !due {
			continue
		}
		done := false
		err := r.DB.Tx(ctx, func(tx *sql.Tx) error {
			n, err := billing.CreditRest(ctx, tx, r.DB.Dialect, c.id, x.inv, billing.StatusCancelled, "renewal offer not accepted (unpaid)")
			if err != nil || n == 0 {
				return err
			}
			done = true
			sub, err := subscription.Load(ctx, tx, c.id, x.sub)
			if err != nil {
				return err
			}
			var suspended int
			_ = tx.QueryRowContext(ctx, `SELECT 1 FROM billing_suspensions WHERE subscription_id = $1`, x.sub).Scan(&suspended)
			switch {
			case suspended == 1:
				if _, err := tx.ExecContext(ctx, `DELETE FROM billing_suspensions WHERE subscription_id = $1`, x.sub); err != nil {
					return store.Translate(err)
				}
				err = subscription.Expire(ctx, tx, c.id, x.sub)
			case sub.Status == subscription.StatusActive:
				err = subscription.Stop(ctx, tx, c.id, x.sub, time.Time{})
			}
			if err != nil {
				return err
			}
			return r.cancelLaterInvoices(ctx, tx, c, x.sub, x.inv)
		})
		if errs.Is(err, errs.Conflict) {
			continue
		}
		if err != nil {
			return err
		}
		if done {
			rep.Lapsed++
		}
	}
	return nil
}
