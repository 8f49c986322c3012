package order

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/value"
)

// record is a stored order.
type record struct {
	ID              int64
	CompanyID       int64
	ClientID        string
	Mode            string
	ExternalOrderID string
	OrderTime       int64
	Status          string
	PaymentMethod   string
	Recurring       bool
	Prepaid         bool
	Amount          value.Money
	Currency        string
	Payer           int64
	UserID          *int64
	Token           string
	PaymentState    string
	InvoiceStatus   string
	InvoiceTime     *int64
	CallbackURL     string
}

const recordColumns = `id, company_id, client_id, mode, COALESCE(external_order_id, ''), order_time, status,
	payment_method, recurring, prepaid, amount, currency, payer_customer_number, user_id, payment_token,
	payment_state, invoice_status, invoice_time, callback_url`

func scanRecord(row interface{ Scan(...any) error }) (*record, error) {
	var o record
	var amount int64
	var user, inv sql.NullInt64
	err := row.Scan(&o.ID, &o.CompanyID, &o.ClientID, &o.Mode, &o.ExternalOrderID, &o.OrderTime, &o.Status,
		&o.PaymentMethod, &o.Recurring, &o.Prepaid, &amount, &o.Currency, &o.Payer, &user, &o.Token,
		&o.PaymentState, &o.InvoiceStatus, &inv, &o.CallbackURL)
	if err != nil {
		return nil, err
	}
	o.Amount = value.Money(amount)
	if user.Valid {
		o.UserID = &user.Int64
	}
	if inv.Valid {
		o.InvoiceTime = &inv.Int64
	}
	return &o, nil
}

// load returns the company's order; errs.NotFound when missing or foreign.
func load(ctx context.Context, q store.Queryer, companyID, id int64) (*record, error) {
	o, err := scanRecord(q.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM orders WHERE company_id = $1 AND id = $2`, companyID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no order %d", id)
	}
	return o, store.Translate(err)
}

// lockLoad loads the order after taking its row lock, so concurrent
// fulfilments of one order queue (a portable SELECT … FOR UPDATE).
func lockLoad(ctx context.Context, tx *sql.Tx, companyID, id int64, now time.Time) (*record, error) {
	res, err := tx.ExecContext(ctx, `UPDATE orders SET updated_at = $3 WHERE company_id = $1 AND id = $2`, companyID, id, now.UnixMilli())
	if err != nil {
		return nil, store.Translate(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, errs.E(errs.NotFound, "no order %d", id)
	}
	return load(ctx, tx, companyID, id)
}

type storedLine struct {
	No                 int
	SpecType, SpecCode string
	SpecNo             *int64
	Product            string
	Quantity           int
	UnitPrice, Amount  value.Money
	VoucherID          *int64
	CategoryCode       string
	StartDate          string
	Receiver           int64
	AccessProduct      string
	AccessSeconds      int64
	ArticleRef         string
	DeliveryStatus     string
	InvoiceStatus      string
}

func linesOf(ctx context.Context, q store.Queryer, orderID int64) ([]storedLine, error) {
	rows, err := q.QueryContext(ctx, `SELECT line_no, product_spec_type, product_spec_code, product_spec_no, product,
		quantity, unit_price, amount, voucher_id, category_code, start_date, receiver_customer_number,
		allow_access_product, allow_access_seconds, article_ref, delivery_status
		FROM order_lines WHERE order_id = $1 ORDER BY line_no`, orderID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var out []storedLine
	for rows.Next() {
		var l storedLine
		var specNo, voucher sql.NullInt64
		var unit, amount int64
		if err := rows.Scan(&l.No, &l.SpecType, &l.SpecCode, &specNo, &l.Product, &l.Quantity, &unit, &amount, &voucher,
			&l.CategoryCode, &l.StartDate, &l.Receiver, &l.AccessProduct, &l.AccessSeconds, &l.ArticleRef, &l.DeliveryStatus); err != nil {
			return nil, err
		}
		l.UnitPrice, l.Amount = value.Money(unit), value.Money(amount)
		if specNo.Valid {
			l.SpecNo = &specNo.Int64
		}
		if voucher.Valid {
			l.VoucherID = &voucher.Int64
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func setStatus(ctx context.Context, tx *sql.Tx, o *record, status, payState, reference, message string, now time.Time) error {
	ms := now.UnixMilli()
	var completed any
	if status == Completed {
		completed = ms
	}
	_, err := tx.ExecContext(ctx, `UPDATE orders SET status = $3, payment_state = $4,
		payment_reference = CASE WHEN $5 = '' THEN payment_reference ELSE $5 END, status_message = $6,
		status_changed_at = $7, completed_at = COALESCE($8, completed_at), updated_at = $7
		WHERE company_id = $1 AND id = $2`, o.CompanyID, o.ID, status, payState, reference, message, ms, completed)
	if err != nil {
		return store.Translate(err)
	}
	o.Status, o.PaymentState = status, payState
	if outcome := callbackOutcome(status); outcome != "" {
		// Every final status (completed, failed, cancelled — by the API, a
		// provider, the fulfillment page or expiry) records the callback here.
		return recordCallback(ctx, tx, o, outcome, now)
	}
	return nil
}

// complete finishes an order inside tx: subscriptions start (coupon lines),
// temporary access and categories are granted, vouchers and rewards are
// consumed, and "order completed" plus "coupon used" events are recorded.
// Billing finds invoice-paid orders by payment_state = invoice_due.
func complete(ctx context.Context, tx *sql.Tx, d Deps, o *record, payState, reference string, now time.Time) error {
	co, err := tenant.GetCompany(ctx, tx, o.CompanyID)
	if err != nil {
		return err
	}
	loc, err := co.Location()
	if err != nil {
		loc = time.UTC
	}
	if err := setStatus(ctx, tx, o, Completed, payState, reference, "", now); err != nil {
		return err
	}
	lines, err := linesOf(ctx, tx, o.ID)
	if err != nil {
		return err
	}
	paid := payState == PayPaid || payState == PayNone
	var meansProducts []string // subscription products the payer receives: they keep the order's token
	// An order paid by invoice gets its invoice in this transaction, so the
	// order and its invoice commit together.
	invoice := billing.OrderInvoice{CompanyID: o.CompanyID, OrderID: o.ID, PayerCustomer: o.Payer}
	for _, l := range lines {
		status := "delivered"
		var subID any
		switch l.SpecType {
		case "coupon":
			if d.Subscriptions == nil {
				return errors.New("order: no subscription starter configured")
			}
			cp, err := catalog.GetCoupon(ctx, tx, o.CompanyID, l.SpecCode, *l.SpecNo)
			if err != nil {
				return err
			}
			start, err := time.ParseInLocation("2006-01-02", l.StartDate, loc)
			if err != nil {
				return err
			}
			// A line of quantity n is n copies, and each period costs n times
			// the coupon's price, as the order did.
			qty := value.Money(l.Quantity)
			renewalPrice := cp.RenewalPrice
			if renewalPrice != nil {
				p := *renewalPrice * qty
				renewalPrice = &p
			}
			id, err := d.Subscriptions(ctx, tx, StartSubscription{CompanyID: o.CompanyID, CompanyCode: co.Code,
				CustomerNumber: l.Receiver, ProductCode: cp.ProductCode, CouponCode: cp.CouponCode, CouponNumber: cp.CouponNumber,
				StartDate: start, PeriodLength: cp.PeriodLength, PeriodType: cp.PeriodType, Price: cp.Price * qty,
				Currency: cp.Currency, Paid: paid, OrderID: o.ID, Copies: l.Quantity * max(cp.Copies, 1),
				AccessProducts: cp.ExtraProducts, AccessProduct: l.AccessProduct, AccessSeconds: l.AccessSeconds,
				RenewalPrice: renewalPrice, RenewalPeriodLength: cp.RenewalPeriodLength, RenewalPeriodType: cp.RenewalPeriodType})
			if err != nil {
				return err
			}
			subID, status = id, "active"
			if l.Receiver == o.Payer {
				meansProducts = append(meansProducts, cp.ProductCode)
			}
			if payState == PayInvoiceDue {
				line, err := subscriptionInvoiceLine(ctx, tx, o.CompanyID, id, cp, int64(l.Amount), loc)
				if err != nil {
					return err
				}
				invoice.Lines = append(invoice.Lines, line)
				if invoice.SubscriptionID == 0 {
					invoice.SubscriptionID, invoice.Currency = id, cp.Currency
				}
			}
			if _, err := event.Record(ctx, tx, event.Event{CompanyID: o.CompanyID, Source: co.Code, Type: "coupon", Status: "used",
				Data: map[string]any{"productCode": cp.ProductCode, "couponCode": cp.CouponCode, "couponNumber": cp.CouponNumber,
					"orderId": o.ID, "customerNumber": l.Receiver}, Time: now}); err != nil {
				return err
			}
		case "issue":
			status = "waiting"
		case "product":
			pi, err := catalog.GetProductInfo(ctx, tx, o.CompanyID, l.Product)
			if err != nil {
				return err
			}
			if !pi.Digital {
				status = "waiting"
			}
			if payState == PayInvoiceDue {
				invoice.Lines = append(invoice.Lines, billing.Line{ProductCode: pi.Code, Description: pi.Description,
					Amount: int64(l.Amount), VatPercent: int64(pi.VatPercent)})
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET delivery_status = $3, subscription_id = $4
			WHERE order_id = $1 AND line_no = $2`, o.ID, l.No, status, subID); err != nil {
			return store.Translate(err)
		}
		if l.VoucherID != nil {
			if err := catalog.SettleVoucher(ctx, tx, *l.VoucherID, true); err != nil {
				return err
			}
		}
		if l.CategoryCode != "" {
			if err := customer.AddCategory(ctx, tx, o.CompanyID, l.Receiver, l.CategoryCode); err != nil {
				return err
			}
		}
	}
	if err := catalog.SettleReward(ctx, tx, o.ID, true, o.Payer); err != nil {
		return err
	}
	if err := keepMeans(ctx, tx, d, o, meansProducts); err != nil {
		return err
	}
	if len(invoice.Lines) > 0 {
		_, kid, err := billing.InvoiceForOrder(ctx, tx, invoice)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET payment_reference = $3 WHERE company_id = $1 AND id = $2`,
			o.CompanyID, o.ID, kid); err != nil {
			return store.Translate(err)
		}
	}
	return orderEvent(ctx, tx, o.CompanyID, co.Code, o.ID, o.ExternalOrderID, o.Payer, o.ClientID, Completed, now)
}

// keepMeans makes the token or agreement of a completed recurring card or
// wallet order the payer's stored means for the subscription products
// (payment.md: the order's payment info becomes the means of the ordered
// product), so renewals charge it like a token added through a hosted flow.
// Once stored (encrypted) the order's plain copy is cleared. Subscriptions
// for another receiver keep invoice payment: separate payers of renewals are
// not modelled.
func keepMeans(ctx context.Context, tx *sql.Tx, d Deps, o *record, products []string) error {
	if o.Token == "" || !o.Recurring || len(products) == 0 {
		return nil
	}
	name, err := catalog.GatewayFor(ctx, tx, o.CompanyID, o.PaymentMethod)
	if err != nil {
		return err
	}
	g := d.Gateways[name]
	if g == nil || g.Billing == nil {
		return nil
	}
	var info string
	if err := tx.QueryRowContext(ctx, `SELECT payment_info FROM orders WHERE company_id = $1 AND id = $2`, o.CompanyID, o.ID).Scan(&info); err != nil {
		return store.Translate(err)
	}
	var pi PaymentInfo
	_ = json.Unmarshal([]byte(info), &pi) // a missing or odd card description only leaves the card fields empty
	card := billing.OrderCard{Masked: pi.CardNumberMasked, ExpMonth: pi.ExpMonth, ExpYear: pi.ExpYear, Brand: pi.CardTypeName}
	kept := false
	for _, product := range products {
		ok, err := g.Billing.KeepOrderMeans(ctx, tx, o.CompanyID, o.Payer, product, o.PaymentMethod, o.Token, card)
		if err != nil {
			return err
		}
		kept = kept || ok
	}
	if !kept {
		return nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE orders SET payment_token = '' WHERE company_id = $1 AND id = $2`, o.CompanyID, o.ID)
	return store.Translate(err)
}

// stop ends an order as cancelled or failed: reservations are released and
// nothing is passed on to subscriptions.
func stop(ctx context.Context, tx *sql.Tx, o *record, status, payState, message string, now time.Time) error {
	if err := setStatus(ctx, tx, o, status, payState, "", message, now); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET delivery_status = 'cancelled' WHERE order_id = $1`, o.ID); err != nil {
		return store.Translate(err)
	}
	lines, err := linesOf(ctx, tx, o.ID)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if l.VoucherID != nil {
			if err := catalog.SettleVoucher(ctx, tx, *l.VoucherID, false); err != nil {
				return err
			}
		}
	}
	if err := catalog.SettleReward(ctx, tx, o.ID, false, 0); err != nil {
		return err
	}
	co, err := tenant.GetCompany(ctx, tx, o.CompanyID)
	if err != nil {
		return err
	}
	return orderEvent(ctx, tx, o.CompanyID, co.Code, o.ID, o.ExternalOrderID, o.Payer, o.ClientID, status, now)
}

// FulfillResult is the response of Complete order - client mode.
type FulfillResult struct {
	FulfillmentStatus string `json:"fulfillmentStatus"`
	OrderID           int64  `json:"orderId"`
	ErrorMessage      string `json:"errorMessage,omitempty"`
}

// route says how an order's payment is collected without the browser.
type route int

const (
	routeNow     route = iota // completes at once
	routeRequest              // payment request to the payer's phone
	routeCharge               // charge a stored token or agreement
	routeURL                  // only the fulfillment URL can take it
)

func routeOf(o *record) route {
	if o.Prepaid {
		return routeNow
	}
	switch o.PaymentMethod {
	case "invoice", "free", "other":
		return routeNow
	case "sms", "swishPayex", "vippsEcommerce":
		return routeRequest
	case "kco", "creditcardPayex", "nexi", "vippsRecurring":
		return routeCharge
	}
	return routeURL
}

// payStateFor is the payment state of an order that completes at once.
func payStateFor(o *record) string {
	switch {
	case o.Prepaid:
		return PayPaid
	case o.PaymentMethod == "free":
		return PayNone
	case o.PaymentMethod == "invoice":
		return PayInvoiceDue
	}
	return PayPaid // "other": paid through the client's own integration
}

// Fulfill completes an order without the browser (order-fulfillment-client).
// It is safe to repeat: completed and pending orders answer OK with no
// second charge. A gateway is called outside any transaction: the order is
// first marked pending (so a concurrent call does not charge again), then
// settled with the gateway's outcome.
func Fulfill(ctx context.Context, db *store.DB, d Deps, companyID, orderID int64, callbackURL string, now time.Time) (FulfillResult, error) {
	if err := checkCallbackURL(callbackURL, d.PublicURL); err != nil {
		return FulfillResult{}, err
	}
	res := FulfillResult{OrderID: orderID}
	var o *record
	var r route
	var pay Payment
	var gw PaymentGateway
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if o, err = lockLoad(ctx, tx, companyID, orderID, now); err != nil {
			return err
		}
		if callbackURL != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET callback_url = $3 WHERE company_id = $1 AND id = $2`,
				companyID, orderID, callbackURL); err != nil {
				return store.Translate(err)
			}
			o.CallbackURL = callbackURL
		}
		switch o.Status {
		case Completed, Pending:
			res.FulfillmentStatus = "OK"
			return nil
		case Cancelled, Failed:
			res.FulfillmentStatus, res.ErrorMessage = "ERROR", "the order is "+o.Status
			return nil
		}
		r = routeOf(o)
		switch r {
		case routeNow:
			res.FulfillmentStatus = "OK"
			return complete(ctx, tx, d, o, payStateFor(o), "", now)
		case routeURL:
			res.FulfillmentStatus, res.ErrorMessage = "ERROR", o.PaymentMethod+" orders are completed through the fulfillment URL"
			return nil
		}
		if gw, err = gatewayOf(ctx, tx, d, o); err != nil {
			res.FulfillmentStatus, res.ErrorMessage = "ERROR", err.Error()
			return nil
		}
		pay = Payment{CompanyID: companyID, OrderID: o.ID, Method: o.PaymentMethod, Amount: o.Amount, Currency: o.Currency,
			CustomerNumber: o.Payer, Token: o.Token, Recurring: o.Recurring}
		if r == routeRequest {
			c, err := customer.Get(ctx, tx, companyID, o.Payer)
			if err != nil {
				return err
			}
			if len(c.PhoneNumbers) == 0 {
				res.FulfillmentStatus, res.ErrorMessage = "ERROR", "payer has no mobile number"
				return nil
			}
			pay.Phone = c.PhoneNumbers[0]
			if err := gw.CanRequest(ctx, tx, pay); err != nil {
				if errs.KindOf(err) == errs.Internal {
					return err
				}
				res.FulfillmentStatus, res.ErrorMessage = "ERROR", publicMessage(err)
				return nil
			}
		} else if err := gw.CanCharge(ctx, tx, pay); err != nil {
			// Nothing to charge (no token or stored means, provider not
			// configured): the order stays as it is, so the client can retry.
			if errs.KindOf(err) == errs.Internal {
				return err
			}
			res.FulfillmentStatus, res.ErrorMessage = "ERROR", publicMessage(err)
			return nil
		}
		res.FulfillmentStatus = "OK"
		return setStatus(ctx, tx, o, Pending, PayRequested, "", "", now)
	})
	if err != nil {
		return FulfillResult{}, err
	}
	if pay.OrderID == 0 || res.FulfillmentStatus != "OK" {
		if o != nil && o.Status == Completed && r == routeNow {
			notify(ctx, d, o)
		}
		return res, nil
	}
	var out Outcome
	if r == routeRequest {
		out, err = gw.RequestPayment(ctx, pay)
	} else {
		out, err = gw.Charge(ctx, pay)
	}
	if err != nil {
		// The provider's state is unknown: the order stays pending until it
		// settles or expires (24 h).
		return res, nil
	}
	if err := Settle(ctx, db, d, companyID, orderID, out, now); err != nil {
		return FulfillResult{}, err
	}
	if out.Status == PaymentDeclined {
		res.FulfillmentStatus, res.ErrorMessage = "ERROR", out.Message
	}
	return res, nil
}

func gatewayOf(ctx context.Context, q store.Queryer, d Deps, o *record) (PaymentGateway, error) {
	name, err := catalog.GatewayFor(ctx, q, o.CompanyID, o.PaymentMethod)
	if err != nil {
		return nil, err
	}
	g := d.Gateways[name]
	if g == nil {
		return nil, errs.E(errs.Invalid, "%s is not set up for this company", o.PaymentMethod)
	}
	return g, nil
}

// Settle applies a gateway outcome to a pending order (a provider callback,
// or the answer of a synchronous charge): paid completes it, declined fails
// it, pending leaves it. Orders that are no longer pending are left alone.
func Settle(ctx context.Context, db *store.DB, d Deps, companyID, orderID int64, out Outcome, now time.Time) error {
	var o *record
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if o, err = lockLoad(ctx, tx, companyID, orderID, now); err != nil {
			return err
		}
		if o.Status != Pending && o.Status != Preliminary {
			return nil
		}
		switch out.Status {
		case PaymentPaid:
			return complete(ctx, tx, d, o, PayPaid, out.Reference, now)
		case PaymentDeclined:
			return stop(ctx, tx, o, Failed, PayDeclined, out.Message, now)
		}
		if o.Status == Preliminary {
			return setStatus(ctx, tx, o, Pending, PayRequested, out.Reference, "", now)
		}
		return nil
	})
	if err == nil {
		notify(ctx, d, o)
	}
	return err
}

// notify wakes the callback deliverer after the commit of an order's final
// status, so an order that ends at once is called back at once. The callback
// itself was recorded in the order's transaction (setStatus): without a
// deliverer on this node, or if this process stops now, another deliverer
// calls it.
func notify(ctx context.Context, d Deps, o *record) {
	if o == nil || o.CallbackURL == "" || d.Callbacks == nil {
		return
	}
	outcome := callbackOutcome(o.Status)
	if outcome == "" {
		return
	}
	target, err := callbackWithStatus(o.CallbackURL, outcome)
	if err != nil {
		return
	}
	d.Callbacks.Send(context.WithoutCancel(ctx), target)
}

// Cancel cancels a preliminary or pending order (the user gave up on the
// fulfillment page). Completed orders are final: a Conflict. A known
// callbackUrl is called back with failed (see callbackOutcome).
func Cancel(ctx context.Context, db *store.DB, companyID, orderID int64, now time.Time) error {
	_, err := cancel(ctx, db, companyID, orderID, now)
	return err
}

// cancel is Cancel returning the order as it ends, for notify.
func cancel(ctx context.Context, db *store.DB, companyID, orderID int64, now time.Time) (*record, error) {
	var o *record
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if o, err = lockLoad(ctx, tx, companyID, orderID, now); err != nil {
			return err
		}
		switch o.Status {
		case Cancelled, Failed:
			return nil
		case Completed:
			return errs.E(errs.Conflict, "order %d is completed", orderID)
		}
		return stop(ctx, tx, o, Cancelled, o.PaymentState, "cancelled", now)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// Expiry of unfinished orders (spec/order.md "Order statuses").
const (
	PreliminaryTTL = 7 * 24 * time.Hour
	PendingTTL     = 24 * time.Hour
)

// ExpireStale cancels preliminary orders older than 7 days and fails
// pending orders older than 24 hours, one order per transaction, and returns
// how many it ended. A jobs runner calls it periodically. Orders with a
// callbackUrl get their failed callback in that transaction; the deliverers
// find it at their next poll.
func ExpireStale(ctx context.Context, db *store.DB, now time.Time) (int, error) {
	n := 0
	for _, s := range []struct {
		status, to string
		ttl        time.Duration
	}{{Preliminary, Cancelled, PreliminaryTTL}, {Pending, Failed, PendingTTL}} {
		rows, err := db.QueryContext(ctx, `SELECT company_id, id FROM orders WHERE status = $1 AND status_changed_at < $2
			ORDER BY status_changed_at LIMIT 1000`, s.status, now.Add(-s.ttl).UnixMilli())
		if err != nil {
			return n, store.Translate(err)
		}
		type key struct{ company, id int64 }
		var due []key
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.company, &k.id); err != nil {
				rows.Close()
				return n, err
			}
			due = append(due, k)
		}
		rows.Close()
		for _, k := range due {
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				o, err := lockLoad(ctx, tx, k.company, k.id, now)
				if err != nil || o.Status != s.status {
					return err // another node got it first
				}
				n++
				return stop(ctx, tx, o, s.to, o.PaymentState, "expired", now)
			})
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// subscriptionInvoiceLine is the invoice line of a coupon line: the amount of
// its first period, from the subscription's start to the end of that period.
func subscriptionInvoiceLine(ctx context.Context, tx *sql.Tx, companyID, subscriptionID int64, cp *catalog.Coupon, amount int64, loc *time.Location) (billing.Line, error) {
	sub, err := subscription.Load(ctx, tx, companyID, subscriptionID)
	if err != nil {
		return billing.Line{}, err
	}
	from, end, err := sub.PeriodBounds(loc, 1)
	if err != nil {
		return billing.Line{}, err
	}
	return billing.Line{ProductCode: cp.ProductCode, Description: cp.Description, Amount: amount,
		VatPercent: int64(cp.VatPercent), FromDate: from.Format("2006-01-02"), InclDate: end.Format("2006-01-02")}, nil
}
