// Package pages serves the login server's payment pages (spec README §4 and
// §12.2, payment.md): the pages a hosted flow started through the API sends
// the browser to (/user/payment/…/add, /user/payment/invoice/pay,
// /user/paymentChange), the page of the built-in test provider
// (/user/payment/test/{transactionId}) and the hosted view of one invoice
// (/user/invoice/view/{token}, the invoiceHotelUrl).
//
// The pages are server-rendered, carry a CSRF token on every form, redirect
// only to URLs registered for the client, and show a transaction only to the
// user who started it: anyone else gets the same "not found" page as for an
// unknown id. The browser returns to returnUrl?status=<status>&transactionId=<id>
// (paymentChangeId for a change); system errors and expired transactions go
// to errorUrl.
//
// orderPayment flows have no start page here: the fulfillment page (package
// order) starts and opens them and sends the browser straight to the
// provider's page, whose returnUrl is the fulfillment page itself.
package pages

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/identity"
	"github.com/connect-oss/connect/internal/tenant"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"message", "test", "change", "invoice"} {
		out[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}()

// Sessions tells the ConnectID user of a browser request (the login host's
// session cookie).
type Sessions interface {
	CurrentUser(r *http.Request) (userNumber int64, ok bool)
}

// Pages serves the payment pages.
type Pages struct {
	Engine    *billing.Engine
	Sessions  Sessions
	PublicURL string // base URL of the login host, without /user
}

// csrfCookie holds the double-submit token of the pages' forms.
const csrfCookie = "connect_payment_csrf"

// notFound is shown for unknown transactions and for other users' ones alike.
const notFound = "This payment link is unknown, or belongs to someone else. Start again from the site."

// request is a start page's validated parameters.
type request struct {
	client              *tenant.ClientRecord
	returnURL, errorURL string
	id                  int64
}

// Start serves a hosted flow's start page for purpose (a means kind, or
// invoicePayment): GET with clientId, returnUrl, errorUrl and transactionId.
func (pg *Pages) Start(purpose string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pg.start(w, r, purpose)
	})
}

// Change serves GET /user/paymentChange (paymentChangeId, optional ticket).
func (pg *Pages) Change() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pg.start(w, r, billing.PurposeChange)
	})
}

func idParam(purpose string) string {
	if purpose == billing.PurposeChange {
		return "paymentChangeId"
	}
	return "transactionId"
}

func (pg *Pages) start(w http.ResponseWriter, r *http.Request, purpose string) {
	ctx := r.Context()
	q := r.URL.Query()
	req, problem := pg.read(ctx, q, idParam(purpose))
	if problem != "" {
		pg.message(w, http.StatusBadRequest, "This payment link cannot be used", problem)
		return
	}
	user, ok := pg.user(r)
	if !ok {
		// Log in first, then come back here; giving up goes to errorUrl.
		login := url.Values{"clientId": {req.client.ClientID}, "returnUrl": {pg.selfURL(r)}, "errorUrl": {req.errorURL}}
		http.Redirect(w, r, "/user/login?"+login.Encode(), http.StatusSeeOther)
		return
	}
	t, ok := pg.flow(w, r, req.id, user, purpose, req.client)
	if !ok {
		return
	}
	switch {
	case !t.Open():
		pg.back(w, r, req.returnURL, t, t.Status) // single use: the recorded outcome, nothing again
		return
	case t.Expired(ctx):
		http.Redirect(w, r, req.errorURL, http.StatusSeeOther)
		return
	}
	ticket := ""
	if purpose == billing.PurposeChange {
		// A ticket must be the customer's valid PayEx token for the product.
		if ticket = q.Get("ticket"); ticket != "" {
			held, err := pg.Engine.HoldsMeans(ctx, t.CompanyID, t.CustomerNumber, t.ProductCode, "payexToken", ticket)
			if err != nil {
				pg.systemError(w, r, req.errorURL, err)
				return
			}
			if !held {
				http.Redirect(w, r, req.errorURL, http.StatusSeeOther)
				return
			}
		}
	}
	next, final, err := pg.Engine.OpenFlow(ctx, t, req.returnURL, req.errorURL, ticket)
	switch {
	case errors.Is(err, billing.ErrFlowUsed):
		pg.recorded(w, r, req.returnURL, t, user)
	case errors.Is(err, billing.ErrFlowExpired):
		http.Redirect(w, r, req.errorURL, http.StatusSeeOther)
	case err != nil:
		pg.systemError(w, r, req.errorURL, err)
	case final != "":
		pg.back(w, r, req.returnURL, t, final)
	case next != "":
		http.Redirect(w, r, next, http.StatusSeeOther)
	default:
		// A change to invoicePayment needs no provider: the page confirms it.
		name, err := pg.companyName(ctx, t.CompanyID)
		if err != nil {
			pg.systemError(w, r, req.errorURL, err)
			return
		}
		pg.render(w, r, http.StatusOK, "change", map[string]any{"Title": "Pay by invoice", "CompanyName": name,
			"Product": t.ProductCode, "ClientID": req.client.ClientID, "ReturnURL": req.returnURL, "ErrorURL": req.errorURL,
			"ID": t.ID, "CSRF": pg.csrfToken(w, r)})
	}
}

// ChangeSubmit serves POST /user/paymentChange: the user confirms or
// cancels a change to invoicePayment.
func (pg *Pages) ChangeSubmit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if !pg.parseForm(w, r) {
			return
		}
		if !pg.checkCSRF(r) {
			pg.message(w, http.StatusForbidden, "Pay by invoice", "The form has expired; start again from the site.")
			return
		}
		req, problem := pg.read(ctx, r.PostForm, "paymentChangeId")
		if problem != "" {
			pg.message(w, http.StatusBadRequest, "This payment link cannot be used", problem)
			return
		}
		user, ok := pg.user(r)
		if !ok {
			pg.message(w, http.StatusForbidden, "Please log in", "Your login has ended. Start again from the site.")
			return
		}
		t, ok := pg.flow(w, r, req.id, user, billing.PurposeChange, req.client)
		if !ok {
			return
		}
		if t.ProviderID.Valid { // a change through a provider finishes at the provider's page
			pg.message(w, http.StatusNotFound, "Payment not found", notFound)
			return
		}
		outcome := map[string]string{"confirm": "approve", "cancel": "cancel"}[r.PostForm.Get("action")]
		if outcome == "" {
			pg.message(w, http.StatusBadRequest, "Pay by invoice", "Choose to confirm or to cancel.")
			return
		}
		pg.finish(w, r, t, user, req.returnURL, req.errorURL, url.Values{"outcome": {outcome}})
	})
}

// TestPage serves GET /user/payment/test/{transactionId}: the built-in test
// provider's page, where the user picks the outcome a real provider would
// decide (payment.md).
func (pg *Pages) TestPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, _, prov, ok := pg.testFlow(w, r)
		if !ok {
			return
		}
		name, err := pg.companyName(r.Context(), t.CompanyID)
		if err != nil {
			pg.systemError(w, r, t.ErrorURL, err)
			return
		}
		oneOff := t.Purpose == billing.PurposeInvoice || t.Purpose == billing.PurposeOrder
		v := map[string]any{"Title": "Test payment provider", "CompanyName": name, "What": describe(t, prov),
			"Product": t.ProductCode, "Action": r.URL.Path, "CSRF": pg.csrfToken(w, r),
			"Card": !oneOff && (prov.Kind == "payex" || prov.Kind == "nexi"), "Declines": simulatedDecline(t)}
		if oneOff {
			v["Amount"] = billing.AmountText(t.Amount) + " " + t.Currency
		}
		pg.render(w, r, http.StatusOK, "test", v)
	})
}

// TestSubmit serves POST /user/payment/test/{transactionId}: the test
// provider's decision comes back to us, finishes the flow (once) and sends
// the browser to the client's returnUrl.
func (pg *Pages) TestSubmit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !pg.parseForm(w, r) {
			return
		}
		if !pg.checkCSRF(r) {
			pg.message(w, http.StatusForbidden, "Test payment provider", "The form has expired; start again from the site.")
			return
		}
		t, user, _, ok := pg.testFlow(w, r)
		if !ok {
			return
		}
		in := url.Values{}
		switch o := r.PostForm.Get("outcome"); o {
		case "approve", "cancel", "fail", "pending":
			if o == "approve" && simulatedDecline(t) {
				o = "fail"
			}
			in.Set("outcome", o)
		case "approveExpiring":
			in.Set("outcome", "approve")
			in.Set("expiry", "thisMonth")
		default:
			pg.message(w, http.StatusBadRequest, "Test payment provider", "Choose an outcome.")
			return
		}
		pg.finish(w, r, t, user, t.ReturnURL, t.ErrorURL, in)
	})
}

// testFlow loads the transaction of a test page request: the logged-in
// user's, begun through a start page, going through a provider whose
// implementation is the simulated one. It writes the answer and reports
// false when the page cannot be shown (a used or expired transaction is
// sent back or to errorUrl).
func (pg *Pages) testFlow(w http.ResponseWriter, r *http.Request) (*billing.Transaction, string, *billing.Provider, bool) {
	ctx := r.Context()
	id, ok := parseID(r.PathValue("transactionId"))
	if !ok {
		pg.message(w, http.StatusNotFound, "Payment not found", notFound)
		return nil, "", nil, false
	}
	user, ok := pg.user(r)
	if !ok {
		pg.message(w, http.StatusForbidden, "Please log in", "Your login has ended. Start again from the site.")
		return nil, "", nil, false
	}
	t, err := pg.Engine.UserFlow(ctx, id, user)
	if errs.Is(err, errs.NotFound) {
		pg.message(w, http.StatusNotFound, "Payment not found", notFound)
		return nil, "", nil, false
	}
	if err != nil {
		pg.internalError(w, r, err)
		return nil, "", nil, false
	}
	prov, err := pg.Engine.FlowProvider(ctx, t)
	if err != nil && !errs.Is(err, errs.NotFound) {
		pg.internalError(w, r, err)
		return nil, "", nil, false
	}
	// Only flows of the simulated provider, opened through a start page
	// (which recorded where the browser returns), are decided here.
	if prov == nil || prov.Implementation != "test" || t.ReturnURL == "" {
		pg.message(w, http.StatusNotFound, "Payment not found", notFound)
		return nil, "", nil, false
	}
	switch {
	case !t.Open():
		pg.back(w, r, t.ReturnURL, t, t.Status)
		return nil, "", nil, false
	case t.Expired(ctx):
		http.Redirect(w, r, t.ErrorURL, http.StatusSeeOther)
		return nil, "", nil, false
	}
	return t, user, prov, true
}

// simulatedDecline: the simulated provider declines an order payment whose
// amount in minor units ends in 13, as it declines such charges (payment.md).
func simulatedDecline(t *billing.Transaction) bool {
	return t.Purpose == billing.PurposeOrder && t.Amount%100 == 13
}

// finish applies the outcome once and sends the browser back: a second
// submit finds the transaction used and returns its recorded outcome.
func (pg *Pages) finish(w http.ResponseWriter, r *http.Request, t *billing.Transaction, user, returnURL, errorURL string, in url.Values) {
	status, err := pg.Engine.FinishUserFlow(r.Context(), t.ID, user, in)
	switch {
	case errors.Is(err, billing.ErrFlowUsed):
		pg.recorded(w, r, returnURL, t, user)
	case errors.Is(err, billing.ErrFlowExpired):
		http.Redirect(w, r, errorURL, http.StatusSeeOther)
	case errs.KindOf(err) == errs.Invalid:
		pg.message(w, http.StatusBadRequest, "Payment", "The answer could not be understood.")
	case err != nil:
		pg.systemError(w, r, errorURL, err)
	default:
		pg.back(w, r, returnURL, t, status)
	}
}

// recorded sends the browser back with the outcome a used transaction ended with.
func (pg *Pages) recorded(w http.ResponseWriter, r *http.Request, returnURL string, t *billing.Transaction, user string) {
	cur, err := pg.Engine.UserFlow(r.Context(), t.ID, user)
	if err != nil {
		pg.systemError(w, r, t.ErrorURL, err)
		return
	}
	pg.back(w, r, returnURL, cur, cur.Status)
}

// back sends the browser to returnUrl?status=<status>&<id name>=<id>.
func (pg *Pages) back(w http.ResponseWriter, r *http.Request, returnURL string, t *billing.Transaction, status string) {
	target, err := t.ReturnTo(returnURL, status)
	if err != nil {
		pg.message(w, http.StatusBadRequest, "This payment link cannot be used", "returnUrl is not a URL.")
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// read validates a start page's clientId, returnUrl, errorUrl and id. A
// problem is shown as a page and never redirected (no open redirects).
func (pg *Pages) read(ctx context.Context, v url.Values, idName string) (*request, string) {
	clientID := v.Get("clientId")
	if clientID == "" || len(clientID) > 100 {
		return nil, "clientId is required."
	}
	c, err := tenant.GetClient(ctx, pg.Engine.DB, clientID)
	if err != nil {
		return nil, "clientId is not a known client."
	}
	req := &request{client: c, returnURL: v.Get("returnUrl"), errorURL: v.Get("errorUrl")}
	for name, raw := range map[string]string{"returnUrl": req.returnURL, "errorUrl": req.errorURL} {
		if !registered(c, raw) {
			return nil, name + " is required and must be an absolute URL registered for the client."
		}
	}
	id, ok := parseID(v.Get(idName))
	if !ok {
		return nil, idName + " must be a number."
	}
	req.id = id
	return req, ""
}

// registered reports whether raw is an absolute http(s) URL on an origin
// registered for the client (README §4).
func registered(c *tenant.ClientRecord, raw string) bool {
	if raw == "" || len(raw) > 2048 {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return false
	}
	return c.OriginAllowed(u.Scheme + "://" + u.Host)
}

// parseID reads a transactionId or paymentChangeId: 1 to 18 digits.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// flow loads the user's transaction for a page of purpose, opened with a
// client of the transaction's company; otherwise it shows "not found" (the
// same page for an unknown id and for another user's transaction).
func (pg *Pages) flow(w http.ResponseWriter, r *http.Request, id int64, user, purpose string, c *tenant.ClientRecord) (*billing.Transaction, bool) {
	t, err := pg.Engine.UserFlow(r.Context(), id, user)
	if err != nil && !errs.Is(err, errs.NotFound) {
		pg.internalError(w, r, err)
		return nil, false
	}
	if err != nil || t.Purpose != purpose || t.CompanyID != c.CompanyID {
		pg.message(w, http.StatusNotFound, "Payment not found", notFound)
		return nil, false
	}
	return t, true
}

// user is the uniqueId of the browser's ConnectID user.
func (pg *Pages) user(r *http.Request) (string, bool) {
	if pg.Sessions == nil {
		return "", false
	}
	n, ok := pg.Sessions.CurrentUser(r)
	if !ok {
		return "", false
	}
	u, err := identity.GetUser(r.Context(), pg.Engine.DB, n)
	if err != nil {
		return "", false
	}
	return u.UniqueID, true
}

func (pg *Pages) companyName(ctx context.Context, id int64) (string, error) {
	c, err := tenant.GetCompany(ctx, pg.Engine.DB, id)
	if err != nil {
		return "", err
	}
	return c.Name, nil
}

// describe says what the user approves on the test page.
func describe(t *billing.Transaction, p *billing.Provider) string {
	provider := strings.ToUpper(p.Kind[:1]) + p.Kind[1:]
	switch t.Purpose {
	case billing.PurposeInvoice:
		return "Pay an invoice with " + provider
	case billing.PurposeOrder:
		return "Pay order " + strconv.FormatInt(t.OrderID.Int64, 10) + " with " + provider
	case "klarnaToken":
		return "Store a Klarna token for recurring payments"
	case "vippsAgreement":
		return "Approve a Vipps agreement for recurring payments"
	case billing.PurposeChange:
		return "Pay " + t.ProductCode + " with " + provider + " from the next charge"
	}
	return "Store a card with " + provider + " for recurring payments"
}

func (pg *Pages) selfURL(r *http.Request) string {
	base := strings.TrimSuffix(pg.PublicURL, "/")
	if base == "" {
		base = "http://" + r.Host
	}
	return base + r.URL.RequestURI()
}

func (pg *Pages) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		pg.message(w, http.StatusBadRequest, "Payment", "The form could not be read.")
		return false
	}
	return true
}

// csrfToken is the browser's double-submit token, set on first use.
func (pg *Pages) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: "/user", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(pg.PublicURL, "https://")})
	return v
}

func (pg *Pages) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) != 43 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) == 1
}

func (pg *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, v any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer") // the URLs carry transaction ids and view tokens
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := templates[name].ExecuteTemplate(w, "layout", v); err != nil {
		slog.ErrorContext(r.Context(), "payment page", "page", name, "err", err)
	}
}

func (pg *Pages) message(w http.ResponseWriter, status int, title, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = templates["message"].ExecuteTemplate(w, "layout", map[string]string{"Title": title, "Message": msg})
}

// systemError logs err and sends the browser to errorUrl (README §12.2).
func (pg *Pages) systemError(w http.ResponseWriter, r *http.Request, errorURL string, err error) {
	slog.ErrorContext(r.Context(), "payment page failed", "path", r.URL.Path, "err", err)
	if errorURL == "" {
		pg.message(w, http.StatusInternalServerError, "Payment", "Something went wrong. Try again later.")
		return
	}
	http.Redirect(w, r, errorURL, http.StatusSeeOther)
}

func (pg *Pages) internalError(w http.ResponseWriter, r *http.Request, err error) {
	pg.systemError(w, r, "", err)
}

// InvoiceView serves GET /user/invoice/view/{token}: one invoice, to whoever
// holds its unguessable token, without a login (payment.md invoiceHotelUrl).
func (pg *Pages) InvoiceView() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv, err := pg.Engine.ViewInvoice(r.Context(), pg.PublicURL, r.PathValue("token"))
		if errs.Is(err, errs.NotFound) {
			pg.message(w, http.StatusNotFound, "Invoice not found", "This invoice link is unknown.")
			return
		}
		if err != nil {
			pg.internalError(w, r, err)
			return
		}
		pg.render(w, r, http.StatusOK, "invoice", invoicePage(inv))
	})
}

type moneyLine struct {
	Description, Explanation, VAT, Amount string
}

type datedAmount struct {
	Number, Type, Date, Method, Amount string
}

// invoicePage is the invoice template's data, formatted.
func invoicePage(v *billing.InvoiceView) map[string]any {
	d := v.Details
	var lines []moneyLine
	var total, vat int64
	for _, l := range d.InvoiceLineInfo {
		lines = append(lines, moneyLine{Description: l.Description, Explanation: l.Explanation,
			VAT: billing.AmountText(int64(l.InvoiceVatAmount)), Amount: billing.AmountText(int64(l.InvoiceAmount))})
		total += int64(l.InvoiceAmount)
		vat += int64(l.InvoiceVatAmount)
	}
	var reminders, payments, credits []datedAmount
	for _, r := range d.Reminders {
		reminders = append(reminders, datedAmount{Number: strconv.Itoa(r.ReminderNumber), Type: r.ReminderType,
			Date: time.UnixMilli(r.ReminderDate).UTC().Format("2006-01-02"), Amount: billing.AmountText(int64(r.Amount))})
	}
	for _, p := range d.Payments {
		payments = append(payments, datedAmount{Date: p.PaymentDate, Method: p.PaymentMethod, Amount: billing.AmountText(int64(p.Amount))})
	}
	for _, c := range d.CreditNotes {
		credits = append(credits, datedAmount{Number: c.InvoiceNumber, Date: c.InvoiceDate, Amount: c.InvoiceAmount})
	}
	name := strings.TrimSpace(strings.Join(strings.Fields(d.Name.FirstName+" "+d.Name.MiddleName+" "+d.Name.LastName), " "))
	if d.Name.CompanyName != "" {
		name = strings.TrimSpace(d.Name.CompanyName + " " + name)
	}
	addr := d.Address.StreetAddress
	if d.Address.StreetNumber != nil {
		addr += " " + strconv.FormatInt(*d.Address.StreetNumber, 10)
	}
	if d.Address.PostalCode != "" || d.Address.PostalPlace != "" {
		addr = strings.TrimSpace(addr + ", " + d.Address.PostalCode + " " + d.Address.PostalPlace)
	}
	return map[string]any{"Title": "Invoice " + d.InvoiceNumber, "Invoice": v, "Lines": lines, "Total": billing.AmountText(total),
		"VAT": billing.AmountText(vat), "Reminders": reminders, "Payments": payments, "Credits": credits,
		"Balance": billing.AmountText(v.Balance), "PayerName": name, "PayerAddress": strings.Trim(addr, ", ")}
}
