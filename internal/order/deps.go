package order

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// NewDeps returns the production dependencies: subscriptions through package
// subscription and callbacks over HTTP. The wiring adds Gateways (billing's
// engine, WithPayments) and Users (ConnectID) when those are available.
func NewDeps(db *store.DB) Deps {
	return Deps{
		Subscriptions: StartWithSubscriptions,
		Callbacks:     &HTTPCallbacks{Client: &http.Client{Timeout: 10 * time.Second}},
	}
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

// HTTPCallbacks calls callback URLs with GET, retrying like webhooks (5
// attempts; 1 s, 10 s, 1 min, 10 min apart) in the background. Attempts are
// not persisted: a restart drops pending retries (the order's status stays
// queryable, and the "order" event is delivered durably by the outbox).
type HTTPCallbacks struct {
	Client *http.Client
	Logger *slog.Logger
}

var callbackBackoff = []time.Duration{time.Second, 10 * time.Second, time.Minute, 10 * time.Minute}

// Send implements CallbackSender.
func (c *HTTPCallbacks) Send(ctx context.Context, url string) {
	go func() {
		for attempt := 0; ; attempt++ {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return
			}
			res, err := c.Client.Do(req)
			if err == nil {
				res.Body.Close()
				if res.StatusCode/100 == 2 {
					return
				}
			}
			if attempt >= len(callbackBackoff) {
				if c.Logger != nil {
					c.Logger.Warn("order callback given up", "url", url)
				}
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(callbackBackoff[attempt]):
			}
		}
	}()
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
