package order

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/store"
)

// recruitProduct is the subscription product a recruiter line recruits for:
// the coupon's product (an issue line's product is the issue code).
func (l *line) recruitProduct() string {
	if l.coupon != nil {
		return l.coupon.ProductCode
	}
	return l.product
}

// RegisterInTx validates and stores an order inside the caller's transaction,
// as Register's transactional path does, for callers that create orders as
// part of a larger write (Register recruitment: each recruited person's order
// commits with the recruitment). It takes no idempotency keys, and it does
// not call Deps.Recruitments: the caller records its own recruitment.
func RegisterInTx(ctx context.Context, tx *sql.Tx, dialect store.Dialect, d Deps, c Caller, req *RegisterRequest, now time.Time) (RegisterResult, error) {
	if err := req.validate(); err != nil {
		return RegisterResult{}, err
	}
	r := &resolver{d: d, cat: d.catalog(), c: c, tx: tx, q: tx, now: now}
	o, err := r.resolve(ctx, req)
	if err != nil {
		return RegisterResult{}, err
	}
	hash := req.Hash(fmt.Sprintf("|%s|%d|intx", c.ClientID, c.UserNumber))
	id, err := insertOrder(ctx, tx, dialect, c, req, o, hash, writeOptions{}, now)
	if err != nil {
		return RegisterResult{}, err
	}
	for _, l := range o.lines {
		if l.rewardRow != nil {
			if err := catalog.ReserveReward(ctx, tx, *l.rewardRow, id, fmt.Sprintf("orderLines[%d].rewardId", l.no)); err != nil {
				return RegisterResult{}, err
			}
		}
	}
	return RegisterResult{OrderID: id, CustomerNumber: o.payer, OrderStatus: Preliminary}, nil
}

// CompleteInTx completes a preliminary order that needs no payment step
// (invoice, free, other or prepaid) inside the caller's transaction, as
// Fulfill does for such orders. No callback is sent.
func CompleteInTx(ctx context.Context, tx *sql.Tx, d Deps, companyID, orderID int64, now time.Time) error {
	o, err := lockLoad(ctx, tx, companyID, orderID, now)
	if err != nil {
		return err
	}
	if o.Status != Preliminary || routeOf(o) != routeNow {
		return fmt.Errorf("order: %d cannot be completed at once (%s, %s)", orderID, o.Status, o.PaymentMethod)
	}
	return complete(ctx, tx, d, o, payStateFor(o), "", now)
}
