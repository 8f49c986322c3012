package order

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/value"
)

// PaymentStatus is a gateway's answer.
type PaymentStatus string

const (
	PaymentPaid     PaymentStatus = "paid"
	PaymentPending  PaymentStatus = "pending"  // the outcome arrives later (Settle)
	PaymentDeclined PaymentStatus = "declined" // refused by the provider or the payer
)

// Payment is what a gateway is asked to collect for an order.
type Payment struct {
	CompanyID      int64
	OrderID        int64
	Method         string // README §12.3
	Amount         value.Money
	Currency       string
	CustomerNumber int64
	Token          string // stored token, agreement or ticket ("" when none)
	Phone          string // the payer's mobile (E.164), for payment requests
	Recurring      bool
}

// Outcome is a gateway's result.
type Outcome struct {
	Status    PaymentStatus
	Reference string // the provider's transaction reference
	Message   string // why it was declined, shown in fulfillmentStatus ERROR
}

// PaymentGateway collects payments for orders. Real providers (Klarna, Nexi,
// PayEx, Vipps, Link Mobility) plug in behind it; a company names the
// gateway of each payment method in its tenant file (paymentMethods).
type PaymentGateway interface {
	// Charge takes payment with a stored token or agreement, without the user.
	Charge(ctx context.Context, p Payment) (Outcome, error)
	// RequestPayment asks the payer to approve on their phone (SMS, app);
	// the outcome usually arrives later, through Settle.
	RequestPayment(ctx context.Context, p Payment) (Outcome, error)
	// Checkout takes payment with the user present (the fulfillment page).
	Checkout(ctx context.Context, p Payment) (Outcome, error)
}

// SimulatedGatewayName is the name tenant files use for SimulatedGateway.
const SimulatedGatewayName = "simulated"

// SimulatedGateway is a payment gateway for demos and tests: NO MONEY MOVES.
// It is deterministic:
//   - Charge and Checkout decline when the token contains "decline" or
//     "fail", stay pending when it contains "pending", and otherwise pay;
//     Charge without a token declines ("no stored payment token").
//   - RequestPayment declines when the phone number ends in "0000", and
//     otherwise leaves the payment pending until Settle is called (as a
//     provider's callback would).
type SimulatedGateway struct{}

func (SimulatedGateway) outcome(p Payment, token string) Outcome {
	ref := fmt.Sprintf("SIM-%d-%d", p.OrderID, time.Now().UnixNano())
	t := strings.ToLower(token)
	switch {
	case strings.Contains(t, "decline"), strings.Contains(t, "fail"):
		return Outcome{Status: PaymentDeclined, Reference: ref, Message: "payment declined by the (simulated) provider"}
	case strings.Contains(t, "pending"):
		return Outcome{Status: PaymentPending, Reference: ref}
	}
	return Outcome{Status: PaymentPaid, Reference: ref}
}

// Charge implements PaymentGateway.
func (g SimulatedGateway) Charge(_ context.Context, p Payment) (Outcome, error) {
	if p.Token == "" {
		return Outcome{Status: PaymentDeclined, Message: "no stored payment token for " + p.Method}, nil
	}
	return g.outcome(p, p.Token), nil
}

// RequestPayment implements PaymentGateway.
func (g SimulatedGateway) RequestPayment(_ context.Context, p Payment) (Outcome, error) {
	if strings.HasSuffix(p.Phone, "0000") {
		return Outcome{Status: PaymentDeclined, Message: "payment request refused by the (simulated) payer"}, nil
	}
	return Outcome{Status: PaymentPending, Reference: fmt.Sprintf("SIM-REQ-%d", p.OrderID)}, nil
}

// Checkout implements PaymentGateway.
func (g SimulatedGateway) Checkout(_ context.Context, p Payment) (Outcome, error) {
	return g.outcome(p, p.Token), nil
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
	// Temporary access from the order line (allowAccessProduct).
	AccessProduct string
	AccessSeconds int64
}

// CallbackSender calls an order's callbackUrl with the fulfilment outcome.
type CallbackSender interface {
	Send(ctx context.Context, url string)
}
