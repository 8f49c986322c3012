package order

import (
	"context"
	"database/sql"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// NewDeps returns the production dependencies: subscriptions through package
// subscription. The wiring adds Gateways (billing's engine, WithPayments),
// Users (ConnectID) and Callbacks (the CallbackDeliverer, where events are
// delivered) when those are available. Callbacks are recorded with the
// order's outcome either way; Callbacks only wakes their deliverer early.
func NewDeps(db *store.DB) Deps {
	return Deps{Subscriptions: StartWithSubscriptions}
}

// WithPayments serves the gateway name "simulated" by billing's engine:
// the configured payment providers' adapters, simulated where their
// implementation is test.
func (d Deps) WithPayments(e *billing.Engine) Deps {
	d.Gateways = map[string]PaymentGateway{SimulatedGatewayName: &Payments{Billing: e, Implementation: "test"}}
	return d
}

// StartWithSubscriptions starts a coupon line's subscription with package
// subscription, in the order's transaction, and grants the line's temporary
// access.
func StartWithSubscriptions(ctx context.Context, tx *sql.Tx, s StartSubscription) (int64, error) {
	id, err := subscription.Start(ctx, tx, subscription.StartRequest{CompanyID: s.CompanyID, CompanyCode: s.CompanyCode,
		CustomerNumber: s.CustomerNumber, ProductCode: s.ProductCode, CouponCode: s.CouponCode, CouponNumber: s.CouponNumber,
		StartDate: s.StartDate, PeriodLength: s.PeriodLength, PeriodType: s.PeriodType, Price: s.Price, Currency: s.Currency,
		Paid: s.Paid, OrderID: s.OrderID, Copies: s.Copies, AccessProducts: s.AccessProducts,
		RenewalPrice: s.RenewalPrice, RenewalPeriodLength: s.RenewalPeriodLength, RenewalPeriodType: s.RenewalPeriodType})
	if err != nil {
		return 0, err
	}
	if s.AccessProduct != "" && s.AccessSeconds > 0 {
		if err := subscription.GrantTemporary(ctx, tx, s.CompanyID, s.CustomerNumber, s.AccessProduct, subscription.Now(ctx), s.AccessSeconds, s.OrderID); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// HasSubscription is the production customer.SubscriptionCheck: a current or
// future subscription of package subscription (which imports customer, so
// the check lives here).
func HasSubscription(ctx context.Context, q store.Queryer, companyID, customerNumber int64, product string) (bool, error) {
	_, err := subscription.Current(ctx, q, companyID, customerNumber, product)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	return err == nil, err
}
