package subscription

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/connect-oss/connect/internal/store"
)

// The access check's criteria beyond product (spec userdata.md Access, "The
// rule"): categoryType, articleId and issue. They read the customer's
// categories and purchases, so they cost queries only when sent; a check by
// product alone stays one entitlement lookup.

// purchaseSource marks an entitlement made up for a single purchase.
const purchaseSource = "p"

// withObjects returns the grants that meet q's categoryType, articleId and
// issue criteria (product is matched later): subscriptions of a customer
// holding a category of categoryType (the owner's, for a share); purchases
// of the article; purchases of the issue, beside any grant on its product.
// grants is not modified (it may be the cache's).
func (h Handlers) withObjects(ctx context.Context, companyID, customer int64, q *accessQuery, grants []Entitlement) ([]Entitlement, error) {
	if q.categoryType == "" && q.articleID == "" && q.issue == "" {
		return grants, nil
	}
	out := grants
	if q.categoryType != "" {
		var err error
		if out, err = h.byCategory(ctx, companyID, customer, q.categoryType, out); err != nil {
			return nil, err
		}
	}
	if q.articleID != "" {
		bought, err := h.purchases(ctx, `SELECT DISTINCT l.product FROM order_lines l JOIN orders o ON o.id = l.order_id
			WHERE l.company_id = $1 AND l.receiver_customer_number = $2 AND l.product_spec_type = 'article'
			AND l.article_ref = $3 AND o.status = 'completed'`, companyID, customer, q.articleID)
		if err != nil {
			return nil, err
		}
		if len(q.products) == 0 {
			out = nil // an article alone: only its purchase grants it
		}
		out = append(append([]Entitlement(nil), out...), bought...)
	}
	if q.issue != "" {
		bought, err := h.purchases(ctx, `SELECT DISTINCT c.product_code FROM order_lines l JOIN orders o ON o.id = l.order_id
			JOIN coupons c ON c.company_id = l.company_id AND c.coupon_code = l.product_spec_code AND c.coupon_number = l.product_spec_no
			WHERE l.company_id = $1 AND l.receiver_customer_number = $2 AND l.product_spec_type = 'issue'
			AND l.product = $3 AND o.status = 'completed'`, companyID, customer, q.issue)
		if err != nil {
			return nil, err
		}
		out = append(append([]Entitlement(nil), out...), bought...)
	}
	return out, nil
}

// purchases turns the products a purchase query finds into open level-A grants.
func (h Handlers) purchases(ctx context.Context, query string, args ...any) ([]Entitlement, error) {
	rows, err := h.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var out []Entitlement
	for rows.Next() {
		e := Entitlement{Level: "A", Source: purchaseSource}
		if err := rows.Scan(&e.Product); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// byCategory keeps the subscription grants (own, and shared) whose
// subscriber holds a customer category of type categoryType. Temporary
// grants from orders do not record their category type and never match.
func (h Handlers) byCategory(ctx context.Context, companyID, customer int64, categoryType string, grants []Entitlement) ([]Entitlement, error) {
	holds := func(cno int64) (bool, error) {
		var n int
		err := h.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM customer_categories k JOIN customers c ON c.id = k.customer_id
			JOIN category_codes t ON t.company_id = k.company_id AND t.category_code = k.category_code
			WHERE k.company_id = $1 AND c.customer_number = $2 AND t.category_type = $3`, companyID, cno, categoryType).Scan(&n)
		return n > 0, store.Translate(err)
	}
	own := false
	if customer != 0 {
		var err error
		if own, err = holds(customer); err != nil {
			return nil, err
		}
	}
	var err error
	var out []Entitlement
	var owners map[string]int64 // share source → owner
	for _, g := range grants {
		switch {
		case strings.HasPrefix(g.Source, "s"):
			if own {
				out = append(out, g)
			}
		case strings.HasPrefix(g.Source, netSource):
			owner, _ := strconv.ParseInt(strings.TrimPrefix(g.Source, netSource), 10, 64)
			ok, err := holds(owner)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, g)
			}
		case strings.HasPrefix(g.Source, "h"):
			if owners == nil {
				if owners, err = h.shareOwners(ctx, companyID, customer); err != nil {
					return nil, err
				}
			}
			ok, err := holds(owners[g.Source])
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, g)
			}
		}
	}
	return out, nil
}

func (h Handlers) shareOwners(ctx context.Context, companyID, recipient int64) (map[string]int64, error) {
	rows, err := h.DB.QueryContext(ctx, `SELECT id, owner_customer FROM shares WHERE company_id = $1 AND recipient_customer = $2`, companyID, recipient)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id, owner int64
		if err := rows.Scan(&id, &owner); err != nil {
			return nil, err
		}
		out["h"+itoa(id)] = owner
	}
	return out, rows.Err()
}

// articleIDs are the sorted ids of the customer's article purchases (of
// the listed products only, when there are any): accessArticle.
func (h Handlers) articleIDs(ctx context.Context, companyID, customer int64, products []string) ([]string, error) {
	rows, err := h.DB.QueryContext(ctx, `SELECT DISTINCT l.article_ref, l.product FROM order_lines l JOIN orders o ON o.id = l.order_id
		WHERE l.company_id = $1 AND l.receiver_customer_number = $2 AND l.product_spec_type = 'article' AND o.status = 'completed'`,
		companyID, customer)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	out := []string{}
	for rows.Next() {
		var ref, product string
		if err := rows.Scan(&ref, &product); err != nil {
			return nil, err
		}
		if len(products) > 0 && !containsFold(products, product) || seen[ref] {
			continue
		}
		seen[ref] = true
		out = append(out, ref)
	}
	sort.Strings(out)
	return out, rows.Err()
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
