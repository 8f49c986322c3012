package jobs

// Product dependency discounts at renewal (DECISIONS.md, "Product
// dependency discounts"): a renewal period of a product with dependency
// rules costs the renewal price less the largest discount of a rule its
// customer meets, with another current, not stopped subscription, when the
// period begins. Order registration and the check endpoint price by the same
// rules (catalog.BestDependency); here the holdings of a claimed batch are
// read in one query (catalog.HeldProducts' rule, for many customers), so the
// renewal run stays set-based.

import (
	"context"
	"fmt"
	"strings"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/value"
)

// holding is a current, not stopped subscription of a customer: what
// meets a dependency rule (catalog.HeldProducts) once it has started.
type holding struct {
	id      int64
	product string
	grants  string // access_products: the products a bundle grants, comma-separated
	start   int64
}

// holdings reads, in one query for a claimed batch, the current (active or
// paused), not stopped subscriptions of the customers whose subscription's
// product has rules, by customer: catalog.HeldProducts' conditions but the
// start, which depends on each renewal's period and is checked by heldAt.
// Nil without such a subscription in the batch (no query).
func holdings(ctx context.Context, q store.Queryer, companyID int64, subs []*subscription.Sub, rules map[string][]catalog.Dependency) (map[int64][]holding, error) {
	var ruled []*subscription.Sub
	for _, s := range subs {
		if len(rules[s.ProductCode]) > 0 {
			ruled = append(ruled, s)
		}
	}
	if len(ruled) == 0 {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT customer_number, id, product_code, access_products, start_time FROM subscriptions
		WHERE company_id = $1 AND customer_number IN (`+customerList(ruled)+`) AND status IN ('active', 'paused') AND stop_time IS NULL`,
		companyID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := map[int64][]holding{}
	for rows.Next() {
		var cno int64
		var h holding
		if err := rows.Scan(&cno, &h.id, &h.product, &h.grants, &h.start); err != nil {
			return nil, err
		}
		out[cno] = append(out[cno], h)
	}
	return out, rows.Err()
}

// heldAt is what list holds at the instant at (epoch ms) through
// subscriptions other than except (a subscription does not meet its own
// product's rule): catalog.HeldProducts of the customer at at, less except.
func heldAt(list []holding, except, at int64) map[string]bool {
	held := map[string]bool{}
	for _, h := range list {
		if h.id == except || h.start > at {
			continue
		}
		held[h.product] = true
		for _, p := range strings.Split(h.grants, ",") {
			if p != "" {
				held[p] = true
			}
		}
	}
	return held
}

// dependencyLine is the negative line that takes the largest discount of
// the rules held meets off a period line (catalog.BestDependency on its
// amount): "Product dependency discount", beside the full-price period line
// as vacation credits are. False when no rule is met or it gives nothing.
func dependencyLine(period billing.Line, rules []catalog.Dependency, held map[string]bool) (billing.Line, bool) {
	best, off := catalog.BestDependency(rules, period.Amount, func(p string) bool { return held[p] })
	if best < 0 || off <= 0 {
		return billing.Line{}, false
	}
	d := rules[best]
	what := billing.AmountText(d.Value)
	if d.Type == catalog.DiscountPercent {
		pct, _ := value.Percent(d.Value).MarshalJSON() // 5000 → 50, 1250 → 12.5
		what = string(pct) + " %"
	}
	return billing.Line{ProductCode: period.ProductCode, Description: "Product dependency discount", FromDate: period.FromDate,
		InclDate: period.InclDate, Amount: -off, VatPercent: period.VatPercent,
		Explanation: fmt.Sprintf("%s off with %s", what, d.RequiredProduct)}, true
}
