// Package stock is the Diverse area's stock levels (spec diverse.md Stock):
// per company, product and location, as the publisher's warehouse system
// reports them. The platform neither reserves nor decrements stock.
package stock

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// DefaultLocation is the location of an update or seed that names none.
const DefaultLocation = "MAIN"

// MaxUpdates bounds one change request (diverse.md: 1 to 1000 items).
const MaxUpdates = 1000

// Entry is one stock level.
type Entry struct {
	ProductID string `json:"productId"`
	Location  string `json:"location"`
	Quantity  int64  `json:"quantity"`
	Updated   int64  `json:"updated"`
}

// Update is one item of stock-change-client: exactly one of Quantity (the
// new level) and Adjustment (a change to the current level).
type Update struct {
	ProductID  *string `json:"productId"`
	Location   *string `json:"location"`
	Quantity   *int64  `json:"quantity"`
	Adjustment *int64  `json:"adjustment"`
}

// ChangeRequest is the body of stock-change-client.
type ChangeRequest struct {
	Updates *[]Update `json:"updates"`
}

// change is a validated update.
type change struct {
	index             int
	product, location string
	set               bool // Quantity given: set the level
	amount            int64
}

// validate checks the request's shape; products are checked against the
// catalog in the transaction.
func (req *ChangeRequest) validate() ([]change, error) {
	if req.Updates == nil {
		return nil, errs.Field("updates", "required")
	}
	ups := *req.Updates
	if len(ups) == 0 || len(ups) > MaxUpdates {
		return nil, errs.Field("updates", "must hold 1 to %d items", MaxUpdates)
	}
	out := make([]change, 0, len(ups))
	seen := map[string]int{}
	for i, u := range ups {
		p := fmt.Sprintf("updates[%d].", i)
		c := change{index: i, location: DefaultLocation}
		if u.ProductID == nil || strings.TrimSpace(*u.ProductID) == "" {
			return nil, errs.Field(p+"productId", "required")
		}
		c.product = *u.ProductID
		if len([]rune(c.product)) > 12 || strings.ContainsRune(c.product, 0) {
			return nil, errs.Field(p+"productId", "at most 12 characters")
		}
		if u.Location != nil && *u.Location != "" {
			c.location = *u.Location
			if !tenant.StockLocationRe.MatchString(c.location) {
				return nil, errs.Field(p+"location", "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
			}
		}
		switch {
		case u.Quantity != nil && u.Adjustment != nil:
			return nil, errs.Field(p+"quantity", "give either quantity or adjustment, not both")
		case u.Quantity != nil:
			if *u.Quantity < 0 || *u.Quantity > tenant.MaxStockQuantity {
				return nil, errs.Field(p+"quantity", "must be from 0 to %d", int64(tenant.MaxStockQuantity))
			}
			c.set, c.amount = true, *u.Quantity
		case u.Adjustment != nil:
			if *u.Adjustment == 0 {
				return nil, errs.Field(p+"adjustment", "must not be 0")
			}
			if *u.Adjustment < -tenant.MaxStockQuantity || *u.Adjustment > tenant.MaxStockQuantity {
				return nil, errs.Field(p+"adjustment", "must be from -%d to %d", int64(tenant.MaxStockQuantity), int64(tenant.MaxStockQuantity))
			}
			c.amount = *u.Adjustment
		default:
			return nil, errs.Field(p+"quantity", "give quantity or adjustment")
		}
		key := c.product + "\x00" + c.location
		if prev, dup := seen[key]; dup {
			return nil, errs.Field(p+"productId", "%s at %s is already updated by updates[%d]", c.product, c.location, prev)
		}
		seen[key] = i
		out = append(out, c)
	}
	return out, nil
}

// apply stores the changes in tx, all or nothing. Rows are written in key
// order so that concurrent batches lock them in the same order (no
// deadlocks); each write is one statement that reads and writes the level, so
// concurrent adjustments add up instead of overwriting each other.
func apply(ctx context.Context, tx *sql.Tx, companyID int64, changes []change, now time.Time) error {
	products := map[string]bool{}
	for _, c := range changes {
		if _, checked := products[c.product]; checked {
			continue
		}
		ok, err := catalog.ProductExists(ctx, tx, companyID, c.product)
		if err != nil {
			return err
		}
		if !ok {
			return errs.Field(fmt.Sprintf("updates[%d].productId", c.index), "unknown product %s", c.product)
		}
		products[c.product] = true
	}
	sorted := slices.Clone(changes)
	slices.SortFunc(sorted, func(a, b change) int {
		if d := strings.Compare(a.product, b.product); d != 0 {
			return d
		}
		return strings.Compare(a.location, b.location)
	})
	ms := now.UnixMilli()
	for _, c := range sorted {
		var err error
		switch {
		case c.set:
			_, err = tx.ExecContext(ctx, `INSERT INTO stock_levels (company_id, product_code, location, quantity, updated_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (company_id, product_code, location)
				DO UPDATE SET quantity = excluded.quantity, updated_at = excluded.updated_at`,
				companyID, c.product, c.location, c.amount, ms)
		case c.amount > 0:
			var q int64
			err = tx.QueryRowContext(ctx, `INSERT INTO stock_levels (company_id, product_code, location, quantity, updated_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (company_id, product_code, location)
				DO UPDATE SET quantity = stock_levels.quantity + excluded.quantity, updated_at = excluded.updated_at
				WHERE stock_levels.quantity + excluded.quantity <= $6 RETURNING quantity`,
				companyID, c.product, c.location, c.amount, ms, int64(tenant.MaxStockQuantity)).Scan(&q)
			if errors.Is(err, sql.ErrNoRows) {
				return errs.Field(fmt.Sprintf("updates[%d].adjustment", c.index), "stock would exceed %d", int64(tenant.MaxStockQuantity))
			}
		default:
			// A missing level counts as 0, so a decrease needs an existing one.
			var q int64
			err = tx.QueryRowContext(ctx, `UPDATE stock_levels SET quantity = quantity + $4, updated_at = $5
				WHERE company_id = $1 AND product_code = $2 AND location = $3 AND quantity + $4 >= 0 RETURNING quantity`,
				companyID, c.product, c.location, c.amount, ms).Scan(&q)
			if errors.Is(err, sql.ErrNoRows) {
				return errs.Field(fmt.Sprintf("updates[%d].adjustment", c.index), "stock would go below 0")
			}
		}
		if err != nil {
			return store.Translate(err)
		}
	}
	return nil
}

// list returns the company's levels, of one product when product is set,
// changed after changedAfter (epoch ms) when it is > 0; by product, then
// location.
func list(ctx context.Context, q store.Queryer, companyID int64, product string, changedAfter int64) ([]Entry, error) {
	query := `SELECT product_code, location, quantity, updated_at FROM stock_levels WHERE company_id = $1`
	args := []any{companyID}
	if product != "" {
		args = append(args, product)
		query += fmt.Sprintf(` AND product_code = $%d`, len(args))
	}
	if changedAfter > 0 {
		args = append(args, changedAfter)
		query += fmt.Sprintf(` AND updated_at > $%d`, len(args))
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY product_code, location`, args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.ProductID, &e.Location, &e.Quantity, &e.Updated); err != nil {
			return nil, store.Translate(err)
		}
		out = append(out, e)
	}
	return out, store.Translate(rows.Err())
}

// ApplyTenant seeds a company's stock levels from the tenant file
// (tenant.StockApplier): a level is written only where none exists, so the
// warehouse's updates survive a re-apply. Products must be the company's.
func ApplyTenant(ctx context.Context, tx *sql.Tx, companyID int64, levels []tenant.StockSpec, now time.Time) (int, error) {
	created := 0
	for i, l := range levels {
		ok, err := catalog.ProductExists(ctx, tx, companyID, l.ProductID)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, errs.Field(fmt.Sprintf("stock[%d].productId", i), "unknown product %s", l.ProductID)
		}
		loc := l.Location
		if loc == "" {
			loc = DefaultLocation
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO stock_levels (company_id, product_code, location, quantity, updated_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (company_id, product_code, location) DO NOTHING`,
			companyID, l.ProductID, loc, l.Quantity, now.UnixMilli())
		if err != nil {
			return 0, store.Translate(err)
		}
		n, _ := res.RowsAffected()
		created += int(n)
	}
	return created, nil
}
