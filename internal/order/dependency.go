package order

// Product dependency discounts on order lines (spec product.md
// "ProductDependency": orders price lines by the same rules as
// product-dependency-discount-check-client, catalog.BestDependency).

import (
	"context"
	"fmt"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/value"
)

// discountable reports whether a line's product can be discounted and can
// meet another line's rule: coupon and product lines. Issue and article
// lines buy one issue or one article, not the product.
func discountable(l *line) bool {
	t := l.req.ProductSpecType
	return t == "coupon" || t == "product"
}

// price finishes pricing o once every line is resolved: a coupon or product
// line whose product has dependency rules costs its catalog price (the
// coupon's or the product's, as line set it) less the largest discount of a
// rule met by another line's product in the order or by a current
// subscription of the line's receiver. It then checks each line's claimed
// unitPrice (the price, or the catalog price before the discount, which is
// accepted and charged discounted), sets the line amounts and the total, and
// checks the claimed orderAmount the same way.
//
// Rules come from the catalog cache, so a product without rules costs a map
// lookup. Holdings are read through r.q (the transaction, or the pool on the
// one-statement path, where the receiver is always the payer) and only when
// the order's own lines do not meet every rule of the product.
func (r *resolver) price(ctx context.Context, req *RegisterRequest, o *resolved) error {
	var ordered map[string]int         // product → coupon and product lines ordering it (built on first need)
	var held map[int64]map[string]bool // receiver → products held (read on first need)
	var catalogTotal value.Money
	o.total = 0
	for _, l := range o.lines {
		full := l.unitPrice
		if discountable(l) {
			rules, err := r.cat.dependencies(ctx, r.q, r.c.CompanyID, l.product)
			if err != nil {
				return err
			}
			if len(rules) > 0 {
				if ordered == nil {
					ordered = map[string]int{}
					for _, other := range o.lines {
						if discountable(other) {
							ordered[other.product]++
						}
					}
				}
				// Another line: this line's own product counts once less.
				inOrder := func(p string) bool {
					n := ordered[p]
					if p == l.product {
						n--
					}
					return n > 0
				}
				var have map[string]bool
				for _, d := range rules {
					if inOrder(d.RequiredProduct) {
						continue
					}
					if have = held[l.receiver]; have == nil {
						if have, err = catalog.HeldProducts(ctx, r.q, r.c.CompanyID, l.receiver, subscription.Now(ctx)); err != nil {
							return err
						}
						if held == nil {
							held = map[int64]map[string]bool{}
						}
						held[l.receiver] = have
					}
					break
				}
				l.unitPrice = value.Money(catalog.DependencyPrice(rules, int64(full), func(p string) bool { return inOrder(p) || have[p] }))
			}
		}
		if c := l.req.UnitPrice; c != nil && *c != l.unitPrice && *c != full {
			p := fmt.Sprintf("orderLines[%d].unitPrice", l.no)
			if l.unitPrice == full {
				return errs.Field(p, "is %s but the catalog price is %s", catalog.Amount(*c), catalog.Amount(full))
			}
			return errs.Field(p, "is %s but the price is %s (the catalog price %s less the product dependency discount)",
				catalog.Amount(*c), catalog.Amount(l.unitPrice), catalog.Amount(full))
		}
		qty := value.Money(*l.req.Quantity)
		l.amount = l.unitPrice * qty
		o.total += l.amount
		catalogTotal += full * qty
	}
	if c := req.OrderAmount; c != nil && *c != o.total && *c != catalogTotal {
		if catalogTotal == o.total {
			return errs.Field("orderAmount", "is %s but the lines add up to %s", catalog.Amount(*c), catalog.Amount(o.total))
		}
		return errs.Field("orderAmount", "is %s but the lines add up to %s (%s before product dependency discounts)",
			catalog.Amount(*c), catalog.Amount(o.total), catalog.Amount(catalogTotal))
	}
	return nil
}
