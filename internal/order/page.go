package order

// The fulfillment page (spec README §4, order.md "Complete order by
// fulfillment URL"): GET /user/fulfillment?orderId&returnUrl[&clientId&errorUrl]
// (alias /user/order) shows the order to the logged-in ConnectID user, who
// confirms or cancels it; the browser then returns to returnUrl with
// fulfillmentStatus=success|cancel|error|unknown.
//
// A card or wallet order with nothing stored to charge is paid at the
// provider: confirming starts a hosted flow with purpose orderPayment
// (payment.md) and sends the browser to the provider's page, which returns
// it here with status and transactionId; the page then answers from the
// order's state, which the flow's finish has already settled
// (SettleHostedPayment, wired as billing.Engine.OrderFlowFinished).

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/identity"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
)

// SessionUsers tells the ConnectID user of a browser request (the login
// host's session cookie); package identity implements it.
type SessionUsers interface {
	CurrentUser(r *http.Request) (userNumber int64, ok bool)
}

const pageCSRFCookie = "connect_fulfillment_csrf"

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Confirm your order</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}
table{width:100%;border-collapse:collapse}td{padding:.3rem 0;border-bottom:1px solid #ddd}
.total{font-weight:bold}button{font-size:1rem;padding:.6rem 1.2rem;margin:.5rem .5rem 0 0}</style></head>
<body><h1>Confirm your order</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<p>Order {{.OrderID}}{{if .ExternalOrderID}} ({{.ExternalOrderID}}){{end}} — payment: {{.PaymentMethod}}</p>
<table>{{range .Lines}}<tr><td>{{.Quantity}} × {{.Name}}</td><td style="text-align:right">{{.Amount}} {{$.Currency}}</td></tr>{{end}}
<tr class="total"><td>Total</td><td style="text-align:right">{{.Total}} {{.Currency}}</td></tr></table>
{{if .Simulated}}<p><small>Payments on this server go through a simulated provider: no money moves.</small></p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="orderId" value="{{.OrderID}}">
<input type="hidden" name="returnUrl" value="{{.ReturnURL}}">
<input type="hidden" name="errorUrl" value="{{.ErrorURL}}">
<input type="hidden" name="clientId" value="{{.ClientID}}">
<button name="action" value="confirm">Confirm and pay</button>
<button name="action" value="cancel">Cancel</button>
</form></body></html>`))

var errorTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Order</title></head>
<body><h1>This order link cannot be used</h1><p>{{.}}</p></body></html>`))

type pageLine struct {
	Quantity int
	Name     string
	Amount   string
}

type pageView struct {
	OrderID                                  int64
	ExternalOrderID, PaymentMethod, Currency string
	Lines                                    []pageLine
	Total                                    string
	Action, CSRF                             string
	ReturnURL, ErrorURL, ClientID            string
	Simulated                                bool
	Error                                    string
}

// pageRequest is a validated page request.
type pageRequest struct {
	orderID             int64
	returnURL, errorURL string
	client              *tenant.ClientRecord
	order               *record // nil when unknown or foreign
}

func pageError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = errorTemplate.Execute(w, msg)
}

// withStatus appends fulfillmentStatus to a return URL.
func withStatus(raw, status string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("fulfillmentStatus", status)
	u.RawQuery = q.Encode()
	return u.String()
}

func (h Handlers) back(w http.ResponseWriter, r *http.Request, p *pageRequest, status string) {
	http.Redirect(w, r, withStatus(p.returnURL, status), http.StatusSeeOther)
}

// readPage validates the parameters. Bad or unregistered URLs get an error
// page and never a redirect (no open redirects).
func (h Handlers) readPage(r *http.Request, v url.Values) (*pageRequest, string) {
	p := &pageRequest{returnURL: v.Get("returnUrl"), errorURL: v.Get("errorUrl")}
	id, err := customer.ParseDigits("orderId", v.Get("orderId"))
	if err != nil {
		return nil, "orderId must be a number"
	}
	p.orderID = id
	var companyID int64
	var orderClient string
	err = h.DB.QueryRowContext(r.Context(), `SELECT company_id, client_id FROM orders WHERE id = $1`, id).Scan(&companyID, &orderClient)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, "the order could not be read"
	}
	clientID := v.Get("clientId")
	if clientID == "" {
		clientID = orderClient
	}
	if clientID == "" {
		return nil, "unknown order and no clientId"
	}
	if p.client, err = tenant.GetClient(r.Context(), h.DB, clientID); err != nil {
		return nil, "unknown client"
	}
	if p.returnURL == "" {
		return nil, "returnUrl is required"
	}
	for _, raw := range []string{p.returnURL, p.errorURL} {
		if raw == "" {
			continue // errorUrl is optional
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !hostAllowed(p.client, u) {
			return nil, "returnUrl and errorUrl must be absolute URLs registered for the client"
		}
	}
	if companyID != 0 && companyID == p.client.CompanyID {
		if p.order, err = load(r.Context(), h.DB, companyID, id); err != nil {
			return nil, "the order could not be read"
		}
	}
	return p, ""
}

// outcomeOf is the fulfillmentStatus of an order that needs no page, or "".
func outcomeOf(o *record) string {
	switch {
	case o == nil:
		return "error"
	case o.Status == Completed:
		return "success"
	case o.Status == Pending:
		return "unknown"
	case o.Status == Cancelled || o.Status == Failed || o.PaymentMethod == "other" || o.PaymentMethod == "sms":
		return "error"
	}
	return ""
}

// Page serves GET /user/fulfillment and /user/order.
func (h Handlers) Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p, msg := h.readPage(r, q)
		if msg != "" {
			pageError(w, http.StatusBadRequest, msg)
			return
		}
		if raw := q.Get("transactionId"); raw != "" && p.order != nil {
			if s := h.afterProvider(r, p, raw); s != "" {
				h.back(w, r, p, s)
				return
			}
		}
		if s := outcomeOf(p.order); s != "" {
			h.back(w, r, p, s)
			return
		}
		if p.order.Prepaid { // already paid: completes without the user
			res, err := Fulfill(r.Context(), h.DB, h.Deps, p.order.CompanyID, p.order.ID, "", h.now(r.Context()))
			if err != nil || res.FulfillmentStatus != "OK" {
				h.back(w, r, p, "error")
				return
			}
			h.back(w, r, p, "success")
			return
		}
		user, ok := h.sessionUser(r)
		if !ok {
			// Log in first; giving up returns with cancel.
			q := url.Values{"clientId": {p.client.ClientID}, "returnUrl": {h.selfURL(r)}, "errorUrl": {withStatus(p.returnURL, "cancel")}}
			http.Redirect(w, r, "/user/login?"+q.Encode(), http.StatusSeeOther)
			return
		}
		if p.order.UserID != nil && *p.order.UserID != user {
			h.back(w, r, p, "error")
			return
		}
		h.render(w, r, p, "")
	})
}

// afterProvider is the fulfillmentStatus of a browser the provider's page
// sent back (returnUrl?status=…&transactionId=…), or "" when transactionId
// is not this user's orderPayment transaction of this order (the page then
// goes on as without it). The status parameter is not trusted: the order is
// settled again from the transaction's recorded outcome (idempotent), and
// answered from its state.
func (h Handlers) afterProvider(r *http.Request, p *pageRequest, raw string) string {
	ctx := r.Context()
	id, err := customer.ParseDigits("transactionId", raw)
	if err != nil {
		return ""
	}
	user, ok := h.sessionUser(r)
	if !ok {
		return ""
	}
	u, err := identity.GetUser(ctx, h.DB, user)
	if err != nil {
		return ""
	}
	gw, err := gatewayOf(ctx, h.DB, h.Deps, p.order)
	if err != nil || gw.Billing == nil {
		return ""
	}
	t, err := gw.Billing.UserFlow(ctx, id, u.UniqueID)
	if err != nil || t.Purpose != billing.PurposeOrder || t.CompanyID != p.order.CompanyID || t.OrderID.Int64 != p.order.ID {
		return ""
	}
	if !t.Open() {
		if err := SettleHostedPayment(ctx, h.DB, h.Deps, t.CompanyID, p.order.ID, t.Status, t.ProviderRef, h.now(r.Context())); err != nil {
			slog.ErrorContext(ctx, "fulfillment page: settling a hosted payment failed", "orderId", p.order.ID, "err", err)
			return "unknown"
		}
	}
	o, err := load(ctx, h.DB, p.order.CompanyID, p.order.ID)
	if err != nil {
		return "unknown"
	}
	switch o.Status {
	case Completed:
		return "success"
	case Pending:
		return "unknown"
	case Cancelled:
		if t.Status == "cancelled" {
			return "cancel"
		}
		return "error"
	case Failed:
		return "error"
	}
	return ""
}

// SettleHostedPayment applies the outcome of the orderPayment flow that pays
// an order at the provider: finished completes it (recording the provider's
// reference), failed fails it, cancelled cancels it; initiated and unknown
// leave it pending until the provider settles it or it expires. Orders no
// longer pending are left alone, so it may run twice (the flow's finish and
// the browser's return).
func SettleHostedPayment(ctx context.Context, db *store.DB, d Deps, companyID, orderID int64, status, providerRef string, now time.Time) error {
	switch status {
	case "finished":
		return Settle(ctx, db, d, companyID, orderID, Outcome{Status: PaymentPaid, Reference: providerRef}, now)
	case "failed":
		return Settle(ctx, db, d, companyID, orderID, Outcome{Status: PaymentDeclined, Reference: providerRef,
			Message: "payment refused at the provider"}, now)
	case "cancelled":
		o, err := cancel(ctx, db, companyID, orderID, now)
		if err != nil && !errs.Is(err, errs.Conflict) {
			return err // Conflict: completed meanwhile, which is final
		}
		notify(ctx, d, o)
	}
	return nil
}

// HostedPaymentSettler is billing.Engine.OrderFlowFinished for orders: it
// settles an order when its orderPayment flow finishes, at business time,
// whether or not the browser comes back to the fulfillment page.
func HostedPaymentSettler(db *store.DB, d Deps) billing.OrderFlowHook {
	return func(ctx context.Context, companyID, orderID int64, status, providerRef string) error {
		return SettleHostedPayment(ctx, db, d, companyID, orderID, status, providerRef, subscription.Now(ctx))
	}
}

func (h Handlers) sessionUser(r *http.Request) (int64, bool) {
	if h.Deps.Sessions == nil {
		return 0, false
	}
	return h.Deps.Sessions.CurrentUser(r)
}

func (h Handlers) selfURL(r *http.Request) string {
	base := h.Deps.PublicURL
	if base == "" {
		base = "http://" + r.Host
	}
	return base + r.URL.Path + "?" + r.URL.RawQuery
}

func (h Handlers) render(w http.ResponseWriter, r *http.Request, p *pageRequest, problem string) {
	o := p.order
	lines, err := linesOf(r.Context(), h.DB, o.ID)
	if err != nil {
		pageError(w, http.StatusInternalServerError, "the order could not be read")
		return
	}
	token := make([]byte, 16)
	_, _ = rand.Read(token)
	csrf := hex.EncodeToString(token)
	http.SetCookie(w, &http.Cookie{Name: pageCSRFCookie, Value: csrf, Path: r.URL.Path, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: 3600})
	v := pageView{OrderID: o.ID, ExternalOrderID: o.ExternalOrderID, PaymentMethod: o.PaymentMethod, Currency: o.Currency,
		Total: catalog.Amount(o.Amount), Action: r.URL.Path, CSRF: csrf, ReturnURL: p.returnURL, ErrorURL: p.errorURL,
		ClientID: p.client.ClientID, Error: problem}
	for _, l := range lines {
		name := l.Product
		if l.SpecType == "coupon" {
			name = l.Product + " (" + l.SpecCode + "/" + strconv.FormatInt(*l.SpecNo, 10) + ")"
		}
		v.Lines = append(v.Lines, pageLine{Quantity: l.Quantity, Name: name, Amount: catalog.Amount(l.Amount)})
	}
	if g, _ := catalog.GatewayFor(r.Context(), h.DB, o.CompanyID, o.PaymentMethod); g == SimulatedGatewayName {
		v.Simulated = true
	}
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	_ = pageTemplate.Execute(w, v)
}

// PageSubmit serves POST /user/fulfillment and /user/order: the user
// confirms or cancels.
func (h Handlers) PageSubmit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			pageError(w, http.StatusBadRequest, "bad form")
			return
		}
		p, msg := h.readPage(r, r.PostForm)
		if msg != "" {
			pageError(w, http.StatusBadRequest, msg)
			return
		}
		c, err := r.Cookie(pageCSRFCookie)
		if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
			pageError(w, http.StatusForbidden, "the form has expired; open the order link again")
			return
		}
		user, ok := h.sessionUser(r)
		if !ok {
			h.back(w, r, p, "cancel")
			return
		}
		confirm := r.PostForm.Get("action") != "cancel"
		// A second confirmation of an order being paid at the provider (a
		// double submit) goes on to Confirm, which sends it to the same flow.
		if s := outcomeOf(p.order); s != "" && !(confirm && p.order.Status == Pending) {
			h.back(w, r, p, s)
			return
		}
		if !confirm {
			o, err := cancel(r.Context(), h.DB, p.order.CompanyID, p.order.ID, h.now(r.Context()))
			if err != nil {
				h.back(w, r, p, "error")
				return
			}
			notify(r.Context(), h.Deps, o)
			h.back(w, r, p, "cancel")
			return
		}
		u, err := identity.GetUser(r.Context(), h.DB, user)
		if err != nil {
			h.back(w, r, p, "error")
			return
		}
		errorURL := p.errorURL
		if errorURL == "" {
			errorURL = withStatus(p.returnURL, "error")
		}
		status, next, err := Confirm(r.Context(), h.DB, h.Deps, Confirmation{CompanyID: p.order.CompanyID, OrderID: p.order.ID,
			User: user, UniqueID: u.UniqueID, ClientID: p.client.ClientID, ReturnURL: h.pageURL(r, p), ErrorURL: errorURL}, h.now(r.Context()))
		switch {
		case err != nil:
			h.back(w, r, p, "error")
		case next != "":
			http.Redirect(w, r, next, http.StatusSeeOther)
		default:
			h.back(w, r, p, status)
		}
	})
}

// pageURL is this page's URL for the order with the request's returnUrl,
// errorUrl and clientId: where the provider's page returns the browser.
func (h Handlers) pageURL(r *http.Request, p *pageRequest) string {
	q := url.Values{"orderId": {strconv.FormatInt(p.orderID, 10)}, "returnUrl": {p.returnURL}}
	if p.errorURL != "" {
		q.Set("errorUrl", p.errorURL)
	}
	if c := r.PostForm.Get("clientId"); c != "" {
		q.Set("clientId", c)
	}
	base := h.Deps.PublicURL
	if base == "" {
		base = "http://" + r.Host
	}
	return base + r.URL.Path + "?" + q.Encode()
}

// Confirmation is the fulfillment page user's confirmation of an order.
type Confirmation struct {
	CompanyID, OrderID int64
	User               int64  // the logged-in ConnectID user
	UniqueID           string // their uniqueId: the owner of a hosted payment
	ClientID           string // the client whose page the user is on
	// ReturnURL and ErrorURL are where the provider's page sends the browser:
	// back to the fulfillment page, and to the client's errorUrl on system errors.
	ReturnURL, ErrorURL string
}

// Confirm completes an order for the user of the fulfillment page. It
// returns the fulfillmentStatus to send the browser back with, or next, the
// provider's page to send it to. Invoice and free orders complete; card and
// wallet orders are charged with the order's token or the payer's stored
// means (declined: error; not yet settled: unknown), and without either are
// paid at the provider: a hosted orderPayment flow is started in the
// transaction that makes the order pending, and a second confirmation of
// that pending order returns to the same flow, so one order is paid once.
// A client-mode order without a user is assigned to them.
func Confirm(ctx context.Context, db *store.DB, d Deps, c Confirmation, now time.Time) (status, next string, err error) {
	companyID, orderID, user := c.CompanyID, c.OrderID, c.User
	var pay *Payment
	var gw PaymentGateway
	var flow *billing.Transaction
	var completed *record // completed here without a payment step
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		o, err := lockLoad(ctx, tx, companyID, orderID, now)
		if err != nil {
			return err
		}
		if o.Status == Pending {
			if gw, flow, err = openOrderFlow(ctx, tx, d, o, c.UniqueID); flow != nil || err != nil {
				return err
			}
		}
		if s := outcomeOf(o); s != "" {
			status = s
			return nil
		}
		if o.UserID != nil && *o.UserID != user {
			return errs.E(errs.Forbidden, "the order belongs to another user")
		}
		if o.UserID == nil {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET user_id = $3 WHERE company_id = $1 AND id = $2`, companyID, orderID, user); err != nil {
				return store.Translate(err)
			}
			if linked, err := customer.NumberOfUser(ctx, tx, companyID, user); err != nil {
				return err
			} else if linked == 0 {
				if err := customer.LinkUser(ctx, tx, companyID, o.Payer, user); err != nil && !errs.Is(err, errs.Conflict) {
					return err
				}
			}
		}
		if o.PaymentMethod == "invoice" || o.PaymentMethod == "free" {
			status, completed = "success", o
			return complete(ctx, tx, d, o, payStateFor(o), "", now)
		}
		if gw, err = gatewayOf(ctx, tx, d, o); err != nil {
			status = "error"
			return nil
		}
		p := Payment{CompanyID: companyID, OrderID: o.ID, Method: o.PaymentMethod, Amount: o.Amount,
			Currency: o.Currency, CustomerNumber: o.Payer, Token: o.Token, Recurring: o.Recurring}
		prov, err := gw.hostedProvider(ctx, tx, p)
		if err != nil {
			return err
		}
		if prov != nil && c.UniqueID != "" {
			id, err := gw.Billing.StartFlowTx(ctx, tx, billing.StartRequest{CompanyID: companyID, ClientID: c.ClientID,
				UserID: c.UniqueID, CustomerNumber: o.Payer, Purpose: billing.PurposeOrder, OrderID: o.ID,
				Amount: int64(o.Amount), Currency: o.Currency, ProviderID: prov.ID, Method: o.PaymentMethod})
			if err != nil {
				return err
			}
			flow = &billing.Transaction{ID: id}
		} else {
			pay = &p
		}
		return setStatus(ctx, tx, o, Pending, PayRequested, "", "", now)
	})
	switch {
	case err != nil:
		return "", "", err
	case flow != nil:
		return openAtProvider(ctx, gw, flow.ID, c)
	case pay == nil:
		notify(ctx, d, completed)
		return status, "", nil
	}
	out, err := gw.Checkout(ctx, *pay)
	if err != nil {
		return "unknown", "", nil // stays pending until the provider settles it or it expires
	}
	if err := Settle(ctx, db, d, companyID, orderID, out, now); err != nil {
		return "", "", err
	}
	switch out.Status {
	case PaymentPaid:
		return "success", "", nil
	case PaymentDeclined:
		return "error", "", nil
	}
	return "unknown", "", nil
}

// openOrderFlow is the pending order's orderPayment flow that the user may
// still finish at the provider, or nil.
func openOrderFlow(ctx context.Context, tx *sql.Tx, d Deps, o *record, uniqueID string) (PaymentGateway, *billing.Transaction, error) {
	gw, err := gatewayOf(ctx, tx, d, o)
	if err != nil || gw.Billing == nil || uniqueID == "" {
		return nil, nil, nil
	}
	t, err := gw.Billing.LatestOrderFlow(ctx, tx, o.CompanyID, o.ID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if t.UserID != uniqueID || !t.Open() || t.Expired(ctx) {
		return nil, nil, nil
	}
	return gw, t, nil
}

// openAtProvider records where the provider's page returns the browser and
// begins the flow; next is the provider's page. A flow that cannot be begun
// leaves the order pending (unknown) until it expires.
func openAtProvider(ctx context.Context, gw PaymentGateway, id int64, c Confirmation) (status, next string, err error) {
	if gw == nil || gw.Billing == nil {
		return "unknown", "", nil
	}
	t, err := gw.Billing.UserFlow(ctx, id, c.UniqueID)
	if err != nil {
		return "", "", err
	}
	next, _, err = gw.Billing.OpenFlow(ctx, t, c.ReturnURL, c.ErrorURL, "")
	if err != nil || next == "" {
		slog.WarnContext(ctx, "fulfillment page: the provider's page could not be opened", "orderId", c.OrderID, "err", err)
		return "unknown", "", nil
	}
	return "", next, nil
}
