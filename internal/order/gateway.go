package order

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/value"
)

// PaymentStatus is the outcome of an order's payment.
type PaymentStatus string

const (
	PaymentPaid     PaymentStatus = "paid"
	PaymentPending  PaymentStatus = "pending"  // the outcome arrives later (Settle)
	PaymentDeclined PaymentStatus = "declined" // refused by the provider or the payer
)

// Payment is what is collected for an order.
type Payment struct {
	CompanyID      int64
	OrderID        int64
	Method         string // README §12.3
	Amount         value.Money
	Currency       string
	CustomerNumber int64  // the payer
	Token          string // the order's token, agreement or ticket ("" when it names none)
	Phone          string // the payer's mobile (E.164), for payment requests
	Recurring      bool
}

// Outcome is the result of collecting a Payment.
type Outcome struct {
	Status    PaymentStatus
	Reference string // the provider's transaction reference
	Message   string // why it was declined, shown in fulfillmentStatus ERROR
}

// SimulatedGatewayName is the gateway name tenant files give payment
// methods served by the configured providers' simulated implementation.
const SimulatedGatewayName = "simulated"

// Payments collects orders' payments through billing: a card or wallet
// method goes to the company's configured payment provider of that method
// (payex, nexi, klarna, vipps), through billing.PaymentGateway — the one
// gateway interface of the server, with the same adapters (and simulator)
// as renewal charges and hosted flows. The means charged is the order's own
// token when it names one, else the payer's stored token or agreement
// (payment.md). Methods no payment provider serves (SMS) go to the adapter
// of Implementation.
type Payments struct {
	Billing *billing.Engine
	// Implementation of the adapter for methods no payment provider serves:
	// "test" (the simulated gateway) behind the gateway name "simulated".
	Implementation string
}

// PaymentGateway is what Deps.Gateways holds for each gateway name of the
// tenant's paymentMethods: billing's engine behind Payments. It is a
// concrete type on purpose; billing.PaymentGateway is the only interface.
type PaymentGateway = *Payments

// chargeKey is the idempotency key of an order's payment: one order is one
// payment at the provider however often fulfilment is retried.
func chargeKey(p Payment) string { return fmt.Sprintf("ord-%d-%d", p.CompanyID, p.OrderID) }

// errNoMeans is the fulfilment ERROR of a card or wallet order with nothing to charge.
func errNoMeans(method string) error {
	return errs.E(errs.Invalid, "no stored payment token or agreement for %s", method)
}

// prepareCharge finds the adapter and the means a Payment is charged with,
// reading through q (the fulfilment's transaction).
func (g *Payments) prepareCharge(ctx context.Context, q store.Queryer, p Payment) (billing.PaymentGateway, billing.Means, error) {
	if g == nil || g.Billing == nil {
		return nil, billing.Means{}, errs.E(errs.Invalid, "%s is not set up for this company", p.Method)
	}
	gw, prov, err := g.Billing.OrderGateway(ctx, q, p.CompanyID, p.Method, g.Implementation)
	if err != nil {
		return nil, billing.Means{}, err
	}
	if prov == nil {
		return nil, billing.Means{}, errs.E(errs.Invalid, "%s orders cannot be charged with a stored token", p.Method)
	}
	products, err := orderProducts(ctx, q, p.OrderID)
	if err != nil {
		return nil, billing.Means{}, err
	}
	m, err := g.Billing.MeansForOrder(ctx, q, prov, p.CustomerNumber, p.Token, products)
	if errs.Is(err, errs.NotFound) {
		return nil, billing.Means{}, errNoMeans(p.Method)
	}
	return gw, m, err
}

// hostedProvider is the configured provider a Payment is taken through on
// the provider's own page (a hosted flow with purpose orderPayment): a card
// or wallet method whose order names no token and whose payer has no stored
// means to charge. It is nil when there is something to charge, or when
// the method cannot be paid at a provider (Charge then declines it as before).
func (g *Payments) hostedProvider(ctx context.Context, q store.Queryer, p Payment) (*billing.Provider, error) {
	if g == nil || g.Billing == nil || p.Token != "" {
		return nil, nil
	}
	if _, ok := billing.ProviderKindOfOrderMethod(p.Method); !ok {
		return nil, nil
	}
	_, prov, err := g.Billing.OrderGateway(ctx, q, p.CompanyID, p.Method, g.Implementation)
	if err != nil {
		if errs.KindOf(err) == errs.Internal {
			return nil, err
		}
		return nil, nil
	}
	products, err := orderProducts(ctx, q, p.OrderID)
	if err != nil {
		return nil, err
	}
	_, err = g.Billing.MeansForOrder(ctx, q, prov, p.CustomerNumber, "", products)
	switch {
	case errs.Is(err, errs.NotFound):
		return prov, nil
	case err != nil && errs.KindOf(err) == errs.Internal:
		return nil, err
	}
	return nil, nil
}

// CanCharge is nil when Charge has an adapter and means to charge; otherwise
// the reason, for fulfilment's ERROR answer.
func (g *Payments) CanCharge(ctx context.Context, q store.Queryer, p Payment) error {
	_, _, err := g.prepareCharge(ctx, q, p)
	return err
}

// Charge takes payment with the order's token or the payer's stored means,
// without the user. An error means the outcome is unknown.
func (g *Payments) Charge(ctx context.Context, p Payment) (Outcome, error) {
	if g == nil || g.Billing == nil {
		return Outcome{Status: PaymentDeclined, Message: p.Method + " is not set up for this company"}, nil
	}
	gw, m, err := g.prepareCharge(ctx, g.Billing.DB, p)
	if err != nil {
		if errs.KindOf(err) == errs.Internal {
			return Outcome{}, err
		}
		return Outcome{Status: PaymentDeclined, Message: publicMessage(err)}, nil
	}
	res, err := gw.Charge(ctx, billing.ChargeRequest{Key: chargeKey(p), Amount: int64(p.Amount), Currency: p.Currency, Means: m})
	if err != nil {
		return Outcome{}, err
	}
	return outcomeOfCharge(res), nil
}

// Checkout takes payment with the user present (the fulfillment page): the
// user confirms, and the order's token or the payer's stored means is
// charged as by Charge.
func (g *Payments) Checkout(ctx context.Context, p Payment) (Outcome, error) { return g.Charge(ctx, p) }

// CanRequest is nil when RequestPayment has an adapter for the method;
// otherwise the reason (its provider is not configured).
func (g *Payments) CanRequest(ctx context.Context, q store.Queryer, p Payment) error {
	if g == nil || g.Billing == nil {
		return errs.E(errs.Invalid, "%s is not set up for this company", p.Method)
	}
	_, _, err := g.Billing.OrderGateway(ctx, q, p.CompanyID, p.Method, g.Implementation)
	return err
}

// RequestPayment asks the payer to approve on their phone (SMS, Swish,
// Vipps); the outcome usually arrives later, through Settle.
func (g *Payments) RequestPayment(ctx context.Context, p Payment) (Outcome, error) {
	if g == nil || g.Billing == nil {
		return Outcome{Status: PaymentDeclined, Message: p.Method + " is not set up for this company"}, nil
	}
	gw, prov, err := g.Billing.OrderGateway(ctx, g.Billing.DB, p.CompanyID, p.Method, g.Implementation)
	if errs.KindOf(err) == errs.Forbidden {
		return Outcome{Status: PaymentDeclined, Message: publicMessage(err)}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	req := billing.PaymentRequest{Key: chargeKey(p), Amount: int64(p.Amount), Currency: p.Currency, Phone: p.Phone}
	if prov != nil {
		req.ProviderID, req.MerchantID = prov.ID, prov.MerchantID
	}
	res, err := gw.RequestPayment(ctx, req)
	if err != nil {
		return Outcome{}, err
	}
	return outcomeOfCharge(res), nil
}

func outcomeOfCharge(r billing.ChargeResult) Outcome {
	switch r.Outcome {
	case billing.Succeeded:
		return Outcome{Status: PaymentPaid, Reference: r.ProviderRef}
	case billing.Declined:
		msg := r.Reason
		if msg == "" {
			msg = "payment declined by the provider"
		}
		return Outcome{Status: PaymentDeclined, Reference: r.ProviderRef, Message: msg}
	}
	return Outcome{Status: PaymentPending, Reference: r.ProviderRef}
}

func publicMessage(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.PublicMessage()
	}
	return err.Error()
}

// MeansProducts lists the subscription products whose renewals keep the
// means a recurring order is paid with: its coupon lines for the payer, as
// completing the order starts them (keepMeans). Billing asks it when such an
// order is paid on the provider's page; none for an order that is not
// recurring or not the payer's.
func MeansProducts(ctx context.Context, q store.Queryer, companyID, orderID, payer int64) ([]string, error) {
	return stringColumn(ctx, q, `SELECT DISTINCT l.product FROM orders o JOIN order_lines l ON l.order_id = o.id
		WHERE o.company_id = $1 AND o.id = $2 AND o.payer_customer_number = $3 AND o.recurring
		AND l.product_spec_type = 'coupon' AND l.receiver_customer_number = o.payer_customer_number AND l.product <> ''
		ORDER BY l.product`, companyID, orderID, payer)
}

// orderProducts are the products of an order's lines, in line order.
func orderProducts(ctx context.Context, q store.Queryer, orderID int64) ([]string, error) {
	return stringColumn(ctx, q, `SELECT product FROM order_lines WHERE order_id = $1 AND product <> '' ORDER BY line_no`, orderID)
}

// stringColumn runs a query of one text column and returns its values.
func stringColumn(ctx context.Context, q store.Queryer, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Users is what orders need of ConnectID accounts (package identity).
type Users interface {
	// UserNumber resolves a uniqueId; found is false when there is none.
	UserNumber(ctx context.Context, q store.Queryer, uniqueID string) (number int64, found bool, err error)
	// Assign finds the user with credential or creates one (unverified, no
	// password) inside tx.
	Assign(ctx context.Context, tx *sql.Tx, companyID int64, credential string, now time.Time) (AssignedUser, error)
	// SendLoginLink sends a set-password link (new users) or a login link,
	// after the transaction commits.
	SendLoginLink(ctx context.Context, l LoginLink) error
}

// AssignedUser is the user Assign found or created.
type AssignedUser struct {
	Number        int64
	UniqueID      string
	IsNew         bool
	IsPasswordSet bool
}

// LoginLink is a message to send to an assigned user.
type LoginLink struct {
	CompanyID   int64
	UserNumber  int64
	Credential  string
	ClientID    string // whose branding and template
	ReturnURL   string
	ErrorURL    string
	Lifetime    time.Duration
	SetPassword bool
}

// SubscriptionStarter starts a subscription inside the completing order's
// transaction (package subscription); it returns the subscription id.
type SubscriptionStarter func(ctx context.Context, tx *sql.Tx, s StartSubscription) (int64, error)

// StartSubscription is what a coupon line starts.
type StartSubscription struct {
	CompanyID      int64
	CompanyCode    string
	CustomerNumber int64
	ProductCode    string
	CouponCode     string
	CouponNumber   int64
	StartDate      time.Time
	PeriodLength   int
	PeriodType     string
	Price          value.Money
	Currency       string
	Paid           bool
	OrderID        int64
	Copies         int
	AccessProducts []string
	// The coupon's renewal terms (nil/zero: the first period's continue).
	RenewalPrice        *value.Money
	RenewalPeriodLength int
	RenewalPeriodType   string
	// Temporary access from the order line (allowAccessProduct).
	AccessProduct string
	AccessSeconds int64
}

// CallbackSender calls an order's callbackUrl with the fulfilment outcome.
type CallbackSender interface {
	Send(ctx context.Context, url string)
}
