package delivery

// The issue calendar: which issues a periodical publishes, when they are
// distributed and delivered, and which of them reached a customer. It is
// computed from the tenant file's publications (and delivery plans), so the
// Issue, Delivery and Complaint operations share one definition of an issue.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

const (
	noAccess     = "noAccessOrDelivery"
	onlyDigital  = "onlyDigitalAccess"
	onlyPhysical = "onlyPhysicalDelivery"
	// maxIssueSpan bounds every calendar walk (a series without an end is
	// listed for one year).
	maxIssueSpan = 366
)

// Issue is one edition of a periodical. Times are 00:00 in the company's zone.
type Issue struct {
	Code                string
	Publication         time.Time
	DistributionPlanned time.Time
	Delivery            time.Time
}

// Distributed reports whether the issue's distribution day has begun at now:
// distribution happens at the start of its planned day.
func (i Issue) Distributed(now time.Time) bool { return !i.DistributionPlanned.After(now) }

// calendar is one product's publication calendar.
type calendar struct {
	product      string
	productType  string
	digital      bool
	start, end   time.Time // the product's active period; end zero = open
	plan         *[7]string
	issueDates   map[string]bool
	noIssue      map[string]bool
	distLead     int
	deliveryLead int
	loc          *time.Location
	hasCalendar  bool // the product has a publication in the tenant file
}

// loadCalendar reads product's calendar; an unknown product is NotFound. A
// product without a publication has a calendar without issues.
func loadCalendar(ctx context.Context, q store.Queryer, c *company, product string) (*calendar, error) {
	cal := &calendar{product: product, loc: c.loc}
	var start int64
	var end sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT product_type, digital, start_time, end_time FROM products WHERE company_id = $1 AND code = $2`,
		c.id, product).Scan(&cal.productType, &cal.digital, &start, &end)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "product %s not found", product)
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	cal.start = dayStart(time.UnixMilli(start), c.loc)
	if end.Valid {
		cal.end = time.UnixMilli(end.Int64).In(c.loc)
	}
	var planID sql.NullInt64
	var issueDates, noIssue string
	err = q.QueryRowContext(ctx, `SELECT plan_id, issue_dates, no_issue_dates, distribution_lead_days, delivery_lead_days
		FROM publications WHERE company_id = $1 AND product_code = $2`, c.id, product).
		Scan(&planID, &issueDates, &noIssue, &cal.distLead, &cal.deliveryLead)
	if errors.Is(err, sql.ErrNoRows) {
		return cal, nil
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	cal.hasCalendar = true
	cal.issueDates, cal.noIssue = dateSet(issueDates), dateSet(noIssue)
	if planID.Valid {
		if cal.plan, err = loadPlanDays(ctx, q, c.id, planID.Int64); err != nil {
			return nil, err
		}
	}
	return cal, nil
}

// loadPlanDays returns a plan's values from Monday to Sunday (nil when the
// plan does not exist: every day is fullAccessAndDelivery).
func loadPlanDays(ctx context.Context, q store.Queryer, companyID, planID int64) (*[7]string, error) {
	p, err := scanPlan(q.QueryRowContext(ctx, `SELECT `+planColumns+` FROM delivery_plans WHERE company_id = $1 AND plan_id = $2`, companyID, planID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	return &[7]string{p.Monday, p.Tuesday, p.Wednesday, p.Thursday, p.Friday, p.Saturday, p.Sunday}, nil
}

func dateSet(list string) map[string]bool {
	out := map[string]bool{}
	for _, d := range strings.Split(list, ",") {
		if d != "" {
			out[d] = true
		}
	}
	return out
}

// weekdayIndex is Monday = 0 … Sunday = 6, the order of a plan's days.
func weekdayIndex(t time.Time) int { return (int(t.Weekday()) + 6) % 7 }

// planValue is a plan's value on t's weekday; no plan gives full access.
func planValue(plan *[7]string, t time.Time) string {
	if plan == nil {
		return fullAccess
	}
	return plan[weekdayIndex(t)]
}

// publishes reports whether day (00:00 local) is a publication date.
func (c *calendar) publishes(day time.Time) bool {
	if !c.hasCalendar || day.Before(c.start) || (!c.end.IsZero() && !day.Before(c.end)) {
		return false
	}
	key := day.Format(dateLayout)
	if c.noIssue[key] {
		return false
	}
	if len(c.issueDates) > 0 {
		return c.issueDates[key]
	}
	return planValue(c.plan, day) != noAccess
}

// issues returns the issues published from the date from through the date
// to (both 00:00 local), by publication date. Codes count the year's
// publications, so the walk starts on 1 January of from's year.
func (c *calendar) issues(from, to time.Time) []Issue {
	var out []Issue
	if !c.hasCalendar || to.Before(from) {
		return out
	}
	year, seq := 0, 0
	for d := time.Date(from.Year(), 1, 1, 0, 0, 0, 0, c.loc); !d.After(to); d = addDays(d, 1) {
		if d.Year() != year {
			year, seq = d.Year(), 0
		}
		if !c.publishes(d) {
			continue
		}
		seq++
		if d.Before(from) {
			continue
		}
		planned := addDays(d, -c.distLead)
		out = append(out, Issue{Code: fmt.Sprintf("%d-%02d", year, seq), Publication: d, DistributionPlanned: planned,
			Delivery: addDays(planned, c.deliveryLead)})
	}
	return out
}

// window returns the publication dates a from/to query selects (spec
// issue-product-list-client): only from gives one year from it, only to one
// year up to it, neither all issues of a series (its active period) or one
// year from today; both must be in order and at most 366 days apart.
func (c *calendar) window(fromQ, toQ string, today time.Time) (time.Time, time.Time, error) {
	parse := func(field, v string) (time.Time, error) {
		t, err := time.ParseInLocation(dateLayout, v, c.loc)
		if err != nil {
			return t, errs.Field(field, "must be a date YYYY-MM-DD")
		}
		return t, nil
	}
	var from, to time.Time
	var err error
	switch {
	case fromQ != "" && toQ != "":
		if from, err = parse("from", fromQ); err != nil {
			return from, to, err
		}
		if to, err = parse("to", toQ); err != nil {
			return from, to, err
		}
		if to.Before(from) {
			return from, to, errs.Field("to", "must not be before from")
		}
		if daysBetween(from, to) > maxIssueSpan {
			return from, to, errs.Field("to", "must be at most %d days after from", maxIssueSpan)
		}
	case fromQ != "":
		if from, err = parse("from", fromQ); err != nil {
			return from, to, err
		}
		to = addDays(from.AddDate(1, 0, 0), -1)
	case toQ != "":
		if to, err = parse("to", toQ); err != nil {
			return from, to, err
		}
		from = addDays(to.AddDate(-1, 0, 0), 1)
	case c.productType == "series":
		from = c.start
		to = addDays(today.AddDate(1, 0, 0), -1)
		if !c.end.IsZero() {
			to = addDays(dayStart(c.end.Add(-time.Millisecond), c.loc), 0)
		}
		if daysBetween(from, to) > 10*maxIssueSpan { // a long-running series: its last ten years
			from = to.AddDate(-10, 0, 0)
		}
	default:
		from = today
		to = addDays(today.AddDate(1, 0, 0), -1)
	}
	return from, to, nil
}

// nextIssue returns the first issue within a year from today that ok
// accepts.
func (c *calendar) nextIssue(today time.Time, ok func(Issue) bool) (Issue, bool) {
	// Distribution may come distLead days before publication.
	for _, is := range c.issues(today, addDays(today, maxIssueSpan+c.distLead)) {
		if ok(is) {
			return is, true
		}
	}
	return Issue{}, false
}

// reception is what a customer's subscriptions on one product say about
// receiving its issues.
type reception struct {
	subs    []subPeriod
	digital bool // the product is digital: no stops apply
}

// subPeriod is one subscription of the customer on the product (current or
// ended), with its temporary stops.
type subPeriod struct {
	id                int64
	start, end        int64 // start 00:00 of the first day, end 23:59:59 of the paid end
	renews            bool  // an active subscription without end: later dates are covered too
	stopTime          sql.NullInt64
	suspendedFrom     sql.NullInt64 // billing's suspension (a pause without end)
	distributionLevel string
	plan              *[7]string
	stops             [][2]int64 // temporary stops: first and last instant
}

// loadReception reads the customer's subscriptions on the calendar's product.
func loadReception(ctx context.Context, q store.Queryer, c *company, cal *calendar, customer int64) (*reception, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, status, start_time, end_time, fixed_end, stop_time, pause_from, pause_until,
		distribution_level, product_delivery_plan_id FROM subscriptions
		WHERE company_id = $1 AND customer_number = $2 AND product_code = $3 ORDER BY start_time, id`, c.id, customer, cal.product)
	if err != nil {
		return nil, store.Translate(err)
	}
	r := &reception{digital: cal.digital}
	var planIDs []sql.NullInt64
	for rows.Next() {
		var s subPeriod
		var status string
		var fixed bool
		var pauseFrom, pauseUntil, planID sql.NullInt64
		if err := rows.Scan(&s.id, &status, &s.start, &s.end, &fixed, &s.stopTime, &pauseFrom, &pauseUntil, &s.distributionLevel, &planID); err != nil {
			rows.Close()
			return nil, err
		}
		s.renews = (status == "active" || status == "paused") && !fixed && !s.stopTime.Valid
		if pauseFrom.Valid && !pauseUntil.Valid {
			s.suspendedFrom = pauseFrom
		}
		r.subs = append(r.subs, s)
		planIDs = append(planIDs, planID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range r.subs {
		if planIDs[i].Valid {
			if r.subs[i].plan, err = loadPlanDays(ctx, q, c.id, planIDs[i].Int64); err != nil {
				return nil, err
			}
		} else {
			r.subs[i].plan = cal.plan
		}
		stops, err := q.QueryContext(ctx, `SELECT stop_time, stop_end_time FROM delivery_stops
			WHERE subscription_id = $1 AND stop_type = 'temporary' AND status = 'registered' ORDER BY stop_time`, r.subs[i].id)
		if err != nil {
			return nil, store.Translate(err)
		}
		for stops.Next() {
			var from, until int64
			if err := stops.Scan(&from, &until); err != nil {
				stops.Close()
				return nil, err
			}
			r.subs[i].stops = append(r.subs[i].stops, [2]int64{from, until})
		}
		stops.Close()
		if err := stops.Err(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// covering returns the subscription active on the issue's distribution day.
func (r *reception) covering(is Issue) (*subPeriod, bool) {
	d := is.DistributionPlanned.UnixMilli()
	for i := range r.subs {
		s := &r.subs[i]
		if d < s.start || (d > s.end && !s.renews) {
			continue
		}
		if s.stopTime.Valid && d >= s.stopTime.Int64 {
			continue
		}
		if s.suspendedFrom.Valid && d >= s.suspendedFrom.Int64 {
			continue
		}
		return s, true
	}
	return nil, false
}

// paper reports whether s gets is on paper.
func (r *reception) paper(s *subPeriod, is Issue) bool {
	if r.digital || s.distributionLevel == "N" {
		return false
	}
	v := planValue(s.plan, is.Publication)
	return v == fullAccess || v == onlyPhysical
}

// stopped reports whether a temporary stop of s covers the issue's day.
func (s *subPeriod) stopped(is Issue) bool {
	d := is.DistributionPlanned.UnixMilli()
	for _, st := range s.stops {
		if d >= st[0] && d <= st[1] {
			return true
		}
	}
	return false
}

// received returns the subscription through which the customer got is
// (spec issue-distributed-list): it covered the distribution day, its plan
// gives the weekday access or paper, and no stop kept a paper away.
func (r *reception) received(is Issue) (*subPeriod, bool) {
	s, ok := r.covering(is)
	if !ok || planValue(s.plan, is.Publication) == noAccess {
		return nil, false
	}
	if r.paper(s, is) && s.stopped(is) {
		return nil, false
	}
	return s, true
}

// delivered reports whether the customer gets is on paper.
func (r *reception) delivered(is Issue) bool {
	s, ok := r.covering(is)
	return ok && r.paper(s, is) && !s.stopped(is)
}

// distributedTo returns the issues of cal distributed to the customer from
// the date from through to (and no later than today), by distribution date.
func distributedTo(cal *calendar, r *reception, from, to, now time.Time) []Issue {
	out := []Issue{}
	// An issue distributed in [from, to] may be published up to distLead days later.
	for _, is := range cal.issues(from, addDays(to, cal.distLead)) {
		if is.DistributionPlanned.Before(from) || is.DistributionPlanned.After(to) || !is.Distributed(now) {
			continue
		}
		if _, ok := r.received(is); ok {
			out = append(out, is)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].DistributionPlanned.Before(out[j].DistributionPlanned) })
	return out
}

// ApplyPublications upserts the issue calendars and complaint options of a
// tenant file (tenant.Sections.Publications). Publications missing from the
// file are kept; a publication's complaint actions are replaced by the
// file's.
func ApplyPublications(ctx context.Context, tx *sql.Tx, companyID int64, _ string, pubs []tenant.PublicationSpec, now time.Time) (int, error) {
	n := 0
	for _, p := range pubs {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM products WHERE company_id = $1 AND code = $2`, companyID, p.Product).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return n, errs.Field("publications.product", "unknown product %q", p.Product)
		}
		if err != nil {
			return n, store.Translate(err)
		}
		var plan any
		if p.ProductDeliveryPlanID != 0 {
			plan = int64(p.ProductDeliveryPlanID)
			// Plans come before publications in the apply, from this file or an earlier one.
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM delivery_plans WHERE company_id = $1 AND plan_id = $2`, companyID, plan).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return n, errs.Field("publications.productDeliveryPlanId", "no delivery plan %d", p.ProductDeliveryPlanID)
			}
			if err != nil {
				return n, store.Translate(err)
			}
		}
		issueDates, noIssue := sortedList(p.IssueDates), sortedList(p.NoIssueDates)
		var havePlan sql.NullInt64
		var haveIssue, haveNo string
		var haveDist, haveDel int
		err = tx.QueryRowContext(ctx, `SELECT plan_id, issue_dates, no_issue_dates, distribution_lead_days, delivery_lead_days
			FROM publications WHERE company_id = $1 AND product_code = $2`, companyID, p.Product).
			Scan(&havePlan, &haveIssue, &haveNo, &haveDist, &haveDel)
		same := err == nil && havePlan.Int64 == int64(p.ProductDeliveryPlanID) && haveIssue == issueDates && haveNo == noIssue &&
			haveDist == p.DistributionLeadDays && haveDel == p.DeliveryLeadDays
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return n, store.Translate(err)
		}
		if !same {
			if _, err := tx.ExecContext(ctx, `INSERT INTO publications (company_id, product_code, plan_id, issue_dates, no_issue_dates,
				distribution_lead_days, delivery_lead_days, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (company_id, product_code) DO UPDATE SET plan_id = $3, issue_dates = $4, no_issue_dates = $5,
				distribution_lead_days = $6, delivery_lead_days = $7, updated_at = $8`,
				companyID, p.Product, plan, issueDates, noIssue, p.DistributionLeadDays, p.DeliveryLeadDays, now.UnixMilli()); err != nil {
				return n, store.Translate(err)
			}
			n++
		}
		changed, err := applyComplaintActions(ctx, tx, companyID, p, now)
		if err != nil {
			return n, err
		}
		if changed && same {
			n++
		}
	}
	return n, nil
}

func applyComplaintActions(ctx context.Context, tx *sql.Tx, companyID int64, p tenant.PublicationSpec, now time.Time) (bool, error) {
	have, err := complaintActions(ctx, tx, companyID, p.Product)
	if err != nil {
		return false, err
	}
	want := make([]ComplaintAction, 0, len(p.ComplaintActions))
	for _, a := range p.ComplaintActions {
		want = append(want, ComplaintAction{ComplaintAction: a.ComplaintAction, Description: a.Description, PostDistribution: a.PostDistribution})
	}
	sort.Slice(want, func(i, j int) bool { return want[i].ComplaintAction < want[j].ComplaintAction })
	if fmt.Sprint(have) == fmt.Sprint(want) {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM complaint_actions WHERE company_id = $1 AND product_code = $2`, companyID, p.Product); err != nil {
		return false, store.Translate(err)
	}
	for _, a := range want {
		if _, err := tx.ExecContext(ctx, `INSERT INTO complaint_actions (company_id, product_code, action, description, post_distribution, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, companyID, p.Product, a.ComplaintAction, a.Description, a.PostDistribution, now.UnixMilli()); err != nil {
			return false, store.Translate(err)
		}
	}
	return true, nil
}

func sortedList(list []string) string {
	s := append([]string(nil), list...)
	sort.Strings(s)
	return strings.Join(s, ",")
}
