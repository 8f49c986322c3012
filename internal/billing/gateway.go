package billing

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// Means is a stored payment means as a gateway sees it.
type Means struct {
	Kind       string // klarnaToken, nexiSubscription, payexToken, vippsAgreement
	Reference  string // the provider's token / agreement id (decrypted)
	ProviderID int64
	MerchantID string
}

// ChargeRequest is one charge of stored means. Key is the idempotency key:
// a gateway that sees a key again returns the first result, never a second charge.
type ChargeRequest struct {
	Key      string
	Amount   int64 // minor units
	Currency string
	Means    Means
}

// Outcome of a charge, as the gateway reports it.
type Outcome string

const (
	Succeeded Outcome = "succeeded"
	Declined  Outcome = "declined"
	Unknown   Outcome = "unknown"  // the gateway could not say; ask again later
	NotFound  Outcome = "notFound" // Lookup: the gateway never saw the key
	Pending   Outcome = "pending"  // accepted; the payer or provider decides later (a payment request)
)

// ChargeResult is a gateway's answer.
type ChargeResult struct {
	Outcome     Outcome
	ProviderRef string
	Reason      string
}

// PaymentRequest asks a payer to approve a one-off payment on their phone
// (an SMS, the Vipps or Swish app). Key is the idempotency key.
type PaymentRequest struct {
	Key        string
	Amount     int64 // minor units
	Currency   string
	Phone      string // E.164
	ProviderID int64  // 0 for methods no payment provider serves (SMS)
	MerchantID string
}

// ErrTimeout is a charge whose response never came: the charge may or may
// not have happened, so it is reconciled with Lookup, never repeated blindly.
var ErrTimeout = errors.New("payment gateway: timeout")

// Flow is a hosted-flow transaction as a gateway sees it.
type Flow struct {
	ID          int64
	Purpose     string
	Amount      int64
	Currency    string
	ProductCode string
	MeansKind   string // the means the flow stores; "" for a one-off payment
}

// FlowResult is the outcome of a hosted flow.
type FlowResult struct {
	Status string // finished, cancelled, failed, initiated, unknown
	Means  *Means // stored means, for flows that store one
	Masked string // card details, for card means
	ExpMM  string
	ExpYY  string
	Brand  string
	Ref    string // the provider's reference of a one-off payment
}

// PaymentGateway is one provider kind's adapter (spec payment.md "Payment
// providers"), and the only payment gateway interface of the server: renewal
// charges, hosted flows and orders (package order, through order.Deps) all
// go through it. Real Klarna, Nexi, PayEx and Vipps adapters implement it;
// the server ships only the simulated one.
type PaymentGateway interface {
	// Charge charges stored means. An error means the outcome is unknown.
	Charge(ctx context.Context, r ChargeRequest) (ChargeResult, error)
	// RequestPayment asks the payer to approve a payment on their phone;
	// the answer is usually Pending, the outcome arriving later.
	RequestPayment(ctx context.Context, r PaymentRequest) (ChargeResult, error)
	// Lookup reports what became of the charge with that key (reconciliation).
	Lookup(ctx context.Context, key string) (ChargeResult, error)
	// Begin starts a hosted flow and returns the URL the browser goes to.
	Begin(ctx context.Context, f Flow) (redirectURL string, err error)
	// Resolve turns the provider's answer (the page's form or a callback) into an outcome.
	Resolve(ctx context.Context, f Flow, in url.Values) (FlowResult, error)
	// Revoke ends stored means at the provider.
	Revoke(ctx context.Context, m Means) error
}

// Gateways picks the gateway of a configured provider.
type Gateways func(p *Provider) (PaymentGateway, error)

// SimulatedGateways serves every provider configured with implementation
// "test" by the built-in simulated gateway.
func SimulatedGateways(db *store.DB, publicURL string) Gateways {
	return func(p *Provider) (PaymentGateway, error) {
		if p.Implementation != "test" {
			return nil, errors.New("payment gateway: no adapter for implementation " + p.Implementation)
		}
		return &SimulatedGateway{DB: db, Kind: p.Kind, PublicURL: publicURL}, nil
	}
}

// SimulatedGateway is the built-in test provider: it never leaves the server
// and moves no money. Charges are deterministic by the amount's last two
// digits (minor units) and by the means' reference:
//
//	…13  declined
//	…17  charged, but the response is lost (ErrTimeout); Lookup finds it
//	…19  the first call per key answers Unknown without charging; Lookup
//	     says NotFound, and a repeat with the same key charges
//	a reference containing "decline" or "fail": declined
//	a reference containing "pending": Pending, nothing charged
//	else succeeded
//
// Payment requests are refused for a phone number ending in 0000 and
// otherwise stay Pending (the payer answers later, as a provider's callback
// would report). Like a real provider it remembers charge keys: a key seen
// before returns the first result. Its memory is the
// simulated_gateway_charges table, so it survives restarts of our process as
// a remote provider would.
type SimulatedGateway struct {
	DB        *store.DB
	Kind      string
	PublicURL string // base of /user/payment/test/{transactionId}
}

func (g *SimulatedGateway) Charge(ctx context.Context, r ChargeRequest) (ChargeResult, error) {
	var outcome, ref string
	var calls int
	err := g.DB.QueryRowContext(ctx, `SELECT outcome, reference, calls FROM simulated_gateway_charges WHERE idempotency_key = $1`, r.Key).Scan(&outcome, &ref, &calls)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return ChargeResult{}, err
	case outcome == "none":
		// The unknown-outcome case: the earlier call charged nothing.
	default:
		_, _ = g.DB.ExecContext(ctx, `UPDATE simulated_gateway_charges SET calls = calls + 1 WHERE idempotency_key = $1`, r.Key)
		return ChargeResult{Outcome: Outcome(outcome), ProviderRef: ref}, nil
	}
	cents := r.Amount % 100
	lowerRef := strings.ToLower(r.Means.Reference)
	if strings.Contains(lowerRef, "pending") {
		return ChargeResult{Outcome: Pending}, nil
	}
	ref = "sim_" + randomToken(20)
	if cents == 19 && calls == 0 {
		_, err := g.DB.ExecContext(ctx, `INSERT INTO simulated_gateway_charges (idempotency_key, amount, currency, reference, outcome, calls, created_at)
			VALUES ($1, $2, $3, '', 'none', 1, $4) ON CONFLICT (idempotency_key) DO NOTHING`, r.Key, r.Amount, r.Currency, time.Now().UnixMilli())
		if err != nil {
			return ChargeResult{}, err
		}
		return ChargeResult{Outcome: Unknown, Reason: "simulated: outcome unknown"}, nil
	}
	outcome = string(Succeeded)
	if cents == 13 || strings.Contains(lowerRef, "decline") || strings.Contains(lowerRef, "fail") {
		outcome = string(Declined)
	}
	// First writer wins, exactly like a provider deduplicating by key.
	_, err = g.DB.ExecContext(ctx, `INSERT INTO simulated_gateway_charges (idempotency_key, amount, currency, reference, outcome, calls, created_at)
		VALUES ($1, $2, $3, $4, $5, 1, $6) ON CONFLICT (idempotency_key) DO UPDATE SET outcome = $5, reference = $4,
		calls = simulated_gateway_charges.calls + 1 WHERE simulated_gateway_charges.outcome = 'none'`,
		r.Key, r.Amount, r.Currency, ref, outcome, time.Now().UnixMilli())
	if err != nil {
		return ChargeResult{}, err
	}
	if err := g.DB.QueryRowContext(ctx, `SELECT outcome, reference FROM simulated_gateway_charges WHERE idempotency_key = $1`, r.Key).Scan(&outcome, &ref); err != nil {
		return ChargeResult{}, err
	}
	if cents == 17 {
		return ChargeResult{}, ErrTimeout
	}
	res := ChargeResult{Outcome: Outcome(outcome), ProviderRef: ref}
	if res.Outcome == Declined {
		res.Reason = "simulated: declined"
	}
	return res, nil
}

// RequestPayment refuses phones ending in 0000 and leaves others pending.
func (g *SimulatedGateway) RequestPayment(_ context.Context, r PaymentRequest) (ChargeResult, error) {
	if strings.HasSuffix(r.Phone, "0000") {
		return ChargeResult{Outcome: Declined, Reason: "payment request refused by the (simulated) payer"}, nil
	}
	return ChargeResult{Outcome: Pending, ProviderRef: "sim_req_" + randomToken(16)}, nil
}

func (g *SimulatedGateway) Lookup(ctx context.Context, key string) (ChargeResult, error) {
	var outcome, ref string
	err := g.DB.QueryRowContext(ctx, `SELECT outcome, reference FROM simulated_gateway_charges WHERE idempotency_key = $1`, key).Scan(&outcome, &ref)
	if errors.Is(err, sql.ErrNoRows) || outcome == "none" {
		return ChargeResult{Outcome: NotFound}, nil
	}
	if err != nil {
		return ChargeResult{}, err
	}
	return ChargeResult{Outcome: Outcome(outcome), ProviderRef: ref}, nil
}

func (g *SimulatedGateway) Begin(_ context.Context, f Flow) (string, error) {
	return g.PublicURL + "/user/payment/test/" + strconv.FormatInt(f.ID, 10), nil
}

// Resolve reads the test page's choice: approve, cancel, fail or pending.
func (g *SimulatedGateway) Resolve(_ context.Context, f Flow, in url.Values) (FlowResult, error) {
	switch in.Get("outcome") {
	case "approve":
		r := FlowResult{Status: "finished"}
		if f.MeansKind == "" || f.Purpose == PurposeOrder {
			r.Ref = "sim_" + randomToken(20) // a payment: a recurring order's also stores means
		}
		if f.MeansKind != "" {
			r.Means = &Means{Kind: f.MeansKind, Reference: "test_" + randomFrom(referenceAlphabet, 24)}
			if f.MeansKind == "payexToken" || f.MeansKind == "nexiSubscription" {
				exp := time.Now().AddDate(0, 12, 0)
				if in.Get("expiry") == "thisMonth" {
					exp = time.Now()
				}
				r.Masked, r.Brand = "xxxx-xxxxxx-x0004", "VISA"
				r.ExpMM, r.ExpYY = exp.Format("01"), exp.Format("06")
			}
		}
		return r, nil
	case "cancel":
		return FlowResult{Status: "cancelled"}, nil
	case "fail":
		return FlowResult{Status: "failed"}, nil
	case "pending":
		return FlowResult{Status: "initiated"}, nil
	}
	return FlowResult{}, errors.New("simulated gateway: unknown outcome")
}

func (g *SimulatedGateway) Revoke(context.Context, Means) error { return nil }

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// referenceAlphabet has no vowels, so a stored reference the simulator
// makes never spells one of its outcome words (decline, fail, pending).
const referenceAlphabet = "bcdfghjklmnpqrstvwxz0123456789"

func randomToken(n int) string { return randomFrom(tokenAlphabet, n) }

func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
