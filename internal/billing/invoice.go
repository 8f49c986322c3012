package billing

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
)

// Invoice statuses (stored). "Partly paid" is not a status of its own: an
// open, overdue or reminded invoice with a payment shows paymentStatus "1".
const (
	StatusOpen      = "open"
	StatusOverdue   = "overdue"
	StatusReminded  = "reminded"
	StatusPaid      = "paid"
	StatusCredited  = "credited"
	StatusCancelled = "cancelled" // a renewal offer that lapsed unpaid (credited in full)
)

// Charge states of an invoice paid by stored means.
const (
	ChargeNone      = "none"
	ChargeScheduled = "scheduled" // first attempt at next_charge_at
	ChargeCharging  = "charging"  // an attempt was sent; its outcome is not recorded yet
	ChargeRetry     = "retry"     // declined; next attempt at next_charge_at
	ChargeReconcile = "reconcile" // outcome unknown: ask the gateway, never charge blindly
	ChargeFailed    = "failed"    // retries exhausted: the invoice goes to the payer
	ChargeDone      = "done"
)

// Product payment methods (spec payment.md "Product payment methods").
const (
	MethodInvoice = "invoicePayment"
	MethodKlarna  = "recurringKlarnaPayment"
	MethodNexi    = "recurringNexiPayment"
	MethodPayEx   = "recurringPayExCardPayment"
	MethodVipps   = "recurringVippsPayment"
)

// Stored means kinds, their provider, product method and invoice code.
var meansKinds = map[string]struct{ provider, method, code string }{
	"klarnaToken":      {"klarna", MethodKlarna, "L"},
	"nexiSubscription": {"nexi", MethodNexi, "K"},
	"payexToken":       {"payex", MethodPayEx, "K"},
	"vippsAgreement":   {"vipps", MethodVipps, "V"},
}

// kindOfProvider is the means kind each provider stores.
var kindOfProvider = map[string]string{"klarna": "klarnaToken", "nexi": "nexiSubscription", "payex": "payexToken", "vipps": "vippsAgreement"}

// Invoice is a stored invoice or credit note.
type Invoice struct {
	ID                 int64
	CompanyID          int64
	Number             int64
	Kind               string // invoice, credit
	CreditsInvoiceID   sql.NullInt64
	CustomerNumber     int64
	SubscriptionID     sql.NullInt64
	OrderID            sql.NullInt64
	PeriodNo           int
	ProductCode        string
	ProductName        string
	InvoiceDate        string
	DueDate            string
	FromDate, InclDate string
	Period             int
	PeriodUnit         string
	Currency           string
	Amount             int64
	VatAmount          int64
	FeeAmount          int64
	PaidAmount         int64
	CreditedAmount     int64
	Status             string
	MethodCode         string
	ProductMethod      string
	MeansID            sql.NullInt64
	PaymentReference   string
	ViewToken          string
	PaymentDate        sql.NullString
	PlannedPaymentDate string
	ChargeState        string
	ChargeAttempts     int
	NextChargeAt       sql.NullInt64
	PayerName          string
	PayerAddress       string
	CreatedAt          int64
	UpdatedAt          int64
}

// Balance is the open amount: invoice amount + reminder fees − paid − credited.
func (i *Invoice) Balance() int64 { return i.Amount + i.FeeAmount - i.PaidAmount - i.CreditedAmount }

// Payable reports whether the invoice can still be paid.
func (i *Invoice) Payable() bool {
	return i.Kind == "invoice" && i.Status != StatusPaid && i.Status != StatusCredited && i.Status != StatusCancelled && i.Balance() > 0
}

const invoiceColumns = `id, company_id, invoice_number, kind, credits_invoice_id, customer_number, subscription_id, order_id,
	period_no, product_code, product_name, invoice_date, due_date, from_date, incl_date, period, period_unit, currency,
	amount, vat_amount, fee_amount, paid_amount, credited_amount, status, method_code, product_method, means_id,
	payment_reference, view_token, payment_date, planned_payment_date, charge_state, charge_attempts, next_charge_at,
	payer_name, payer_address, created_at, updated_at`

func scanInvoice(r interface{ Scan(...any) error }) (*Invoice, error) {
	var i Invoice
	err := r.Scan(&i.ID, &i.CompanyID, &i.Number, &i.Kind, &i.CreditsInvoiceID, &i.CustomerNumber, &i.SubscriptionID, &i.OrderID,
		&i.PeriodNo, &i.ProductCode, &i.ProductName, &i.InvoiceDate, &i.DueDate, &i.FromDate, &i.InclDate, &i.Period, &i.PeriodUnit,
		&i.Currency, &i.Amount, &i.VatAmount, &i.FeeAmount, &i.PaidAmount, &i.CreditedAmount, &i.Status, &i.MethodCode,
		&i.ProductMethod, &i.MeansID, &i.PaymentReference, &i.ViewToken, &i.PaymentDate, &i.PlannedPaymentDate, &i.ChargeState,
		&i.ChargeAttempts, &i.NextChargeAt, &i.PayerName, &i.PayerAddress, &i.CreatedAt, &i.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return &i, nil
}

// Get returns the company's invoice by id (NotFound otherwise).
func Get(ctx context.Context, q store.Queryer, companyID, id int64) (*Invoice, error) {
	i, err := scanInvoice(q.QueryRowContext(ctx, `SELECT `+invoiceColumns+` FROM invoices WHERE company_id = $1 AND id = $2`, companyID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "invoice not found")
	}
	return i, store.Translate(err)
}

// getForUpdate reads an invoice inside tx, locking its row on PostgreSQL so
// concurrent payments and runs on the same invoice queue instead of racing.
func getForUpdate(ctx context.Context, tx *sql.Tx, d store.Dialect, companyID, id int64) (*Invoice, error) {
	q := `SELECT ` + invoiceColumns + ` FROM invoices WHERE company_id = $1 AND id = $2`
	if d == store.Postgres {
		q += ` FOR UPDATE`
	}
	i, err := scanInvoice(tx.QueryRowContext(ctx, q, companyID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "invoice not found")
	}
	return i, store.Translate(err)
}

// ByNumber returns the company's invoice (not credit note) by its number.
func ByNumber(ctx context.Context, q store.Queryer, companyID, number int64) (*Invoice, error) {
	i, err := scanInvoice(q.QueryRowContext(ctx, `SELECT `+invoiceColumns+` FROM invoices
		WHERE company_id = $1 AND invoice_number = $2 AND kind = 'invoice'`, companyID, number))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "invoice %d not found", number)
	}
	return i, store.Translate(err)
}

// InvoiceOwner tells which customer an invoice number belongs to; it has the
// shape of customer.InvoiceOwner (Check customer number).
func InvoiceOwner(ctx context.Context, q store.Queryer, companyID int64, invoiceNumber string) (int64, bool, error) {
	n, ok := parseDigits(invoiceNumber, 10)
	if !ok {
		return 0, false, nil
	}
	i, err := ByNumber(ctx, q, companyID, n)
	if errs.Is(err, errs.NotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return i.CustomerNumber, true, nil
}

// Line is one invoice line to issue. Amount includes VAT.
type Line struct {
	ProductCode string
	Description string
	FromDate    string
	InclDate    string
	Amount      int64
	VatPercent  int64 // hundredths: 2500 = 25 %
	Explanation string
}

// vatOf is the VAT part of an amount that includes it, rounded half away from zero.
func vatOf(amount, percent int64) int64 {
	if percent == 0 {
		return 0
	}
	num := amount * percent
	den := 10000 + percent
	neg := num < 0
	if neg {
		num = -num
	}
	v := (2*num + den) / (2 * den)
	if neg {
		v = -v
	}
	return v
}

// NewInvoice is an invoice to issue.
type NewInvoice struct {
	CompanyID      int64
	CustomerNumber int64 // the payer
	SubscriptionID int64 // 0 when not a subscription period
	OrderID        int64 // 0 when not an order
	PeriodNo       int   // the subscription period billed (invoiceOfferCount)
	ProductCode    string
	ProductName    string
	InvoiceDate    time.Time // a calendar date in the company zone
	FromDate       string
	InclDate       string
	Period         int
	PeriodUnit     string // D, W, M, Y
	Currency       string
	Lines          []Line
	// Paid by stored means: charged at ChargeAt (a date, the period's first day).
	MeansID       int64
	MeansKind     string
	ChargeAt      time.Time
	PayerName     string // JSON snapshot; loaded from the customer when empty
	PayerAddress  string
	SkipDuplicate bool // a unique clash (same period or order) is skipped, not an error
	// Credits are the subscription's vacation credits (vacation.go): what
	// is left of them is deducted from this invoice by negative lines, down
	// to zero at most, and counted as used in the issuing transaction.
	Credits []StopCredit
}

// Issued is one issued invoice.
type Issued struct {
	ID, Number int64
	Skipped    bool // an invoice for the same period or order already existed
}

// company context cached per call.
type companyInfo struct {
	code     string
	loc      *time.Location
	settings Settings
}

func loadCompany(ctx context.Context, q store.Queryer, companyID int64) (*companyInfo, error) {
	c, err := tenant.GetCompany(ctx, q, companyID)
	if err != nil {
		return nil, err
	}
	loc, err := c.Location()
	if err != nil {
		return nil, err
	}
	s, err := LoadSettings(ctx, q, companyID)
	if err != nil {
		return nil, err
	}
	return &companyInfo{code: c.Code, loc: loc, settings: s}, nil
}

// Issue issues one invoice inside tx, with its lines and an invoice/issued event.
func Issue(ctx context.Context, tx *sql.Tx, n NewInvoice) (*Issued, error) {
	out, err := IssueBatch(ctx, tx, n.CompanyID, []NewInvoice{n})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// IssueBatch issues invoices of one company inside tx. Numbers are reserved
// last, so the per-company sequence row is locked only for the final
// inserts and parallel runs overlap most of their work; the sequence stays
// without gaps because it commits or rolls back with the invoices.
func IssueBatch(ctx context.Context, tx *sql.Tx, companyID int64, list []NewInvoice) ([]Issued, error) {
	if len(list) == 0 {
		return nil, nil
	}
	ci, err := loadCompany(ctx, tx, companyID)
	if err != nil {
		return nil, err
	}
	now := subscription.Now(ctx)
	ms := now.UnixMilli()
	credits, err := availableCredits(ctx, tx, companyID, list, ms)
	if err != nil {
		return nil, err
	}
	type row struct {
		n                   *NewInvoice
		uses                []creditUse
		amount, vat         int64
		invoiceDate, due    string
		planned, method     string
		code, chargeState   string
		nextCharge          any
		token, name, addr   string
		subID, orderID, mID any
	}
	rows := make([]row, 0, len(list))
	for i := range list {
		n := &list[i]
		if n.CompanyID != companyID {
			return nil, errs.E(errs.Internal, "billing: batch of mixed companies")
		}
		if len(n.Lines) == 0 {
			return nil, errs.Field("lines", "an invoice needs at least one line")
		}
		r := row{n: n}
		if credits != nil {
			r.uses = applyCredits(n, credits)
		}
		for _, l := range n.Lines {
			r.amount += l.Amount
			r.vat += vatOf(l.Amount, l.VatPercent)
		}
		if r.amount < 0 {
			return nil, errs.Field("amount", "an invoice must not be negative (issue a credit note)")
		}
		day := n.InvoiceDate.In(ci.loc)
		r.invoiceDate = day.Format(dateLayout)
		r.due = day.AddDate(0, 0, ci.settings.PaymentTermDays).Format(dateLayout)
		r.planned, r.method, r.code, r.chargeState, r.nextCharge = r.due, MethodInvoice, "A", ChargeNone, nil
		if n.MeansID != 0 {
			mk, ok := meansKinds[n.MeansKind]
			if !ok {
				return nil, errs.E(errs.Internal, "billing: unknown means kind %q", n.MeansKind)
			}
			at := n.ChargeAt
			if at.IsZero() || at.Before(day) {
				at = day
			}
			r.method, r.code, r.chargeState = mk.method, mk.code, ChargeScheduled
			r.planned = at.In(ci.loc).Format(dateLayout)
			r.nextCharge = at.UnixMilli()
			// A charged invoice is due the day it is charged.
			if r.due < r.planned {
				r.due = r.planned
			}
		}
		if r.amount == 0 {
			r.chargeState, r.nextCharge = ChargeNone, nil // nothing to charge: paid at issue (below)
		}
		r.token = newViewToken()
		r.name, r.addr = n.PayerName, n.PayerAddress
		if r.name == "" {
			if r.name, r.addr, err = payerSnapshot(ctx, tx, companyID, n.CustomerNumber); err != nil {
				return nil, err
			}
		}
		r.subID, r.orderID, r.mID = nullable(n.SubscriptionID), nullable(n.OrderID), nullable(n.MeansID)
		rows = append(rows, r)
	}
	// Statements and their arguments are built before the numbers are
	// reserved: the sequence row stays locked from the reservation until
	// the commit, so parallel runs queue only for the inserts themselves.
	// One multi-row insert per chunk of invoices, one for their lines and
	// one for their events, instead of three round trips per invoice; 500
	// rows of 29 parameters stay below SQLite's and PostgreSQL's limits.
	const chunk, perRow = 500, 29
	type batch struct {
		lo, hi int
		query  string
		args   []any
	}
	var batches []batch
	for lo := 0; lo < len(rows); lo += chunk {
		hi := min(lo+chunk, len(rows))
		b := []byte(`INSERT INTO invoices (company_id, invoice_number, kind, customer_number, subscription_id,
			order_id, period_no, product_code, product_name, invoice_date, due_date, from_date, incl_date, period, period_unit,
			currency, amount, vat_amount, status, method_code, product_method, means_id, payment_reference, view_token,
			planned_payment_date, charge_state, next_charge_at, payer_name, payer_address, created_at, updated_at) VALUES `)
		args := make([]any, 0, (hi-lo)*perRow)
		for i := lo; i < hi; i++ {
			r := &rows[i]
			n := r.n
			if i > lo {
				b = append(b, ", "...)
			}
			b = appendRow(b, len(args), perRow, invoiceLiterals)
			// The invoice number and the KID (nil here) are set once reserved.
			args = append(args, companyID, nil, n.CustomerNumber, r.subID, r.orderID, n.PeriodNo, n.ProductCode, n.ProductName,
				r.invoiceDate, r.due, n.FromDate, n.InclDate, n.Period, n.PeriodUnit, n.Currency, r.amount, r.vat, r.code,
				r.method, r.mID, nil, r.token, r.planned, r.chargeState, r.nextCharge, r.name, r.addr, ms, ms)
		}
		b = append(b, " ON CONFLICT DO NOTHING RETURNING id, invoice_number"...)
		batches = append(batches, batch{lo: lo, hi: hi, query: string(b), args: args})
	}
	first, err := reserveInvoiceNumbers(ctx, tx, companyID, int64(len(rows)))
	if err != nil {
		return nil, err
	}
	out := make([]Issued, len(rows))
	events := make([]event.Event, 0, len(rows))
	for _, bt := range batches {
		for i := bt.lo; i < bt.hi; i++ {
			number, p := first+int64(i), (i-bt.lo)*perRow
			bt.args[p+1], bt.args[p+20] = number, KID(number, ci.settings.KidLength, ci.settings.KidCheck)
		}
		res, err := tx.QueryContext(ctx, bt.query, bt.args...)
		if err != nil {
			return nil, store.Translate(err)
		}
		ids := make(map[int64]int64, bt.hi-bt.lo)
		for res.Next() {
			var id, number int64
			if err := res.Scan(&id, &number); err != nil {
				res.Close()
				return nil, err
			}
			ids[number] = id
		}
		res.Close()
		if err := res.Err(); err != nil {
			return nil, store.Translate(err)
		}
		var lines []Line
		var owners []int64
		var settled []settledInvoice
		for i := bt.lo; i < bt.hi; i++ {
			number := first + int64(i)
			id, ok := ids[number]
			if !ok {
				// A duplicate (same period or order): its reserved number stays unused.
				if !rows[i].n.SkipDuplicate {
					return nil, errs.E(errs.Conflict, "an invoice for this period or order already exists")
				}
				out[i] = Issued{Skipped: true}
				continue
			}
			out[i] = Issued{ID: id, Number: number}
			for _, l := range rows[i].n.Lines {
				lines = append(lines, l)
				owners = append(owners, id)
			}
			n := rows[i].n
			status := StatusOpen
			if rows[i].amount == 0 {
				status = StatusPaid
				settled = append(settled, settledInvoice{id: id, subscriptionID: n.SubscriptionID, period: n.PeriodNo})
			}
			if err := recordCreditUses(ctx, tx, companyID, id, rows[i].uses, ms); err != nil {
				return nil, err
			}
			events = append(events, event.Event{CompanyID: companyID, Source: ci.code, Type: "invoice", Status: "issued",
				Data: invoiceEventData(number, n.CustomerNumber, n.ProductCode, rows[i].amount, status), Time: now})
		}
		if err := insertLinesOf(ctx, tx, companyID, owners, lines); err != nil {
			return nil, err
		}
		if err := settleEmpty(ctx, tx, companyID, settled); err != nil {
			return nil, err
		}
	}
	if _, err := event.RecordBatch(ctx, tx, events); err != nil {
		return nil, err
	}
	return out, nil
}

// invoiceLiterals are the columns an issued invoice row always starts with:
// kind after the invoice number, status after the VAT amount.
var invoiceLiterals = map[int]string{2: "'invoice'", 17: "'open'"}

// appendRow appends one row of a multi-row VALUES list: parameters p+1 to
// p+per, with fixed[k] written after the k-th of them (a literal column).
func appendRow(b []byte, p, per int, fixed map[int]string) []byte {
	b = append(b, '(')
	for k := 1; k <= per; k++ {
		if k > 1 {
			b = append(b, ", "...)
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(p+k), 10)
		if f, ok := fixed[k]; ok {
			b = append(b, ", "...)
			b = append(b, f...)
		}
	}
	return append(b, ')')
}

// insertLinesOf inserts lines (owners[i] is line i's invoice), numbering them per invoice.
func insertLinesOf(ctx context.Context, tx *sql.Tx, companyID int64, owners []int64, lines []Line) error {
	const per, perRow = 500, 11
	no := map[int64]int{}
	for lo := 0; lo < len(lines); lo += per {
		hi := min(lo+per, len(lines))
		b := []byte(`INSERT INTO invoice_lines (invoice_id, company_id, line_no, product_code, description, from_date, incl_date,
			amount, vat_amount, vat_percent, explanation) VALUES `)
		args := make([]any, 0, (hi-lo)*perRow)
		for j := lo; j < hi; j++ {
			l := lines[j]
			if j > lo {
				b = append(b, ", "...)
			}
			b = appendRow(b, len(args), perRow, nil)
			no[owners[j]]++
			args = append(args, owners[j], companyID, no[owners[j]], l.ProductCode, l.Description, l.FromDate, l.InclDate, l.Amount,
				vatOf(l.Amount, l.VatPercent), l.VatPercent, l.Explanation)
		}
		if _, err := tx.ExecContext(ctx, string(b), args...); err != nil {
			return store.Translate(err)
		}
	}
	return nil
}

func insertLines(ctx context.Context, tx *sql.Tx, companyID, invoiceID int64, lines []Line) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO invoice_lines (invoice_id, company_id, line_no, product_code, description, from_date, incl_date,
		amount, vat_amount, vat_percent, explanation) VALUES `)
	args := make([]any, 0, len(lines)*11)
	for j, l := range lines {
		if j > 0 {
			b.WriteString(", ")
		}
		p := len(args)
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", p+1, p+2, p+3, p+4, p+5, p+6, p+7, p+8, p+9, p+10, p+11)
		args = append(args, invoiceID, companyID, j+1, l.ProductCode, l.Description, l.FromDate, l.InclDate, l.Amount,
			vatOf(l.Amount, l.VatPercent), l.VatPercent, l.Explanation)
	}
	_, err := tx.ExecContext(ctx, b.String(), args...)
	return store.Translate(err)
}

func invoiceEventData(number, customer int64, product string, amount int64, status string) map[string]any {
	return map[string]any{"invoiceNumber": fmt.Sprint(number), "customerNumber": customer, "productCode": product,
		"amount": moneyFloat(amount), "invoiceStatus": apiStatus(status)}
}

func nullable(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// reserveInvoiceNumbers hands out n consecutive invoice numbers inside tx.
// Numbers start at 1000001 (seven digits; the spec allows up to ten).
func reserveInvoiceNumbers(ctx context.Context, tx *sql.Tx, companyID, n int64) (int64, error) {
	var last int64
	err := tx.QueryRowContext(ctx, `INSERT INTO invoice_number_seq (company_id, last_value) VALUES ($1, $2)
		ON CONFLICT (company_id) DO UPDATE SET last_value = invoice_number_seq.last_value + $3
		RETURNING last_value`, companyID, 1000000+n, n).Scan(&last)
	if err != nil {
		return 0, store.Translate(err)
	}
	return last - n + 1, nil
}

// payerSnapshot freezes the payer's name and address as JSON.
func payerSnapshot(ctx context.Context, q store.Queryer, companyID, customer int64) (name, addr string, err error) {
	var first, middle, last, company, dept, street, postal, place, country string
	var number sql.NullInt64
	err = q.QueryRowContext(ctx, `SELECT first_name, middle_name, last_name, company_name, department_name, street_address,
		street_number, postal_code, postal_place, country_code FROM customers WHERE company_id = $1 AND customer_number = $2`,
		companyID, customer).Scan(&first, &middle, &last, &company, &dept, &street, &number, &postal, &place, &country)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", errs.E(errs.NotFound, "customer %d not found", customer)
	}
	if err != nil {
		return "", "", store.Translate(err)
	}
	return SnapshotJSON(first, middle, last, company, dept, street, number, postal, place, country)
}

// SnapshotJSON renders the frozen name and address of an invoice.
func SnapshotJSON(first, middle, last, company, dept, street string, number sql.NullInt64, postal, place, country string) (string, string, error) {
	n, err := json.Marshal(Name{FirstName: first, MiddleName: middle, LastName: last, CompanyName: company, DepartmentName: dept})
	if err != nil {
		return "", "", err
	}
	a := Address{StreetAddress: street, PostalCode: postal, PostalPlace: place, CountryCode: country}
	if number.Valid {
		a.StreetNumber = &number.Int64
	}
	b, err := json.Marshal(a)
	return string(n), string(b), err
}

// Name is the invoice address list's name object.
type Name struct {
	FirstName      string `json:"firstName"`
	MiddleName     string `json:"middleName"`
	LastName       string `json:"lastName"`
	CompanyName    string `json:"companyName"`
	DepartmentName string `json:"departmentName"`
}

// Address is the invoice address list's address object.
type Address struct {
	StreetAddress string `json:"streetAddress,omitempty"`
	StreetNumber  *int64 `json:"streetNumber,omitempty"`
	PostalCode    string `json:"postalCode,omitempty"`
	PostalPlace   string `json:"postalPlace,omitempty"`
	CountryCode   string `json:"countryCode,omitempty"`
}

const viewAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newViewToken is the 28-character random token of invoiceHotelUrl.
func newViewToken() string {
	b := make([]byte, 28)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = viewAlphabet[int(b[i])%len(viewAlphabet)]
	}
	return string(b)
}

const dateLayout = "2006-01-02"

// markPaidEffects runs what a fully paid invoice changes beyond itself: the
// subscriptions suspended for it resume (an order's invoice may have
// suspended each subscription it bills), and the period it bills counts as
// paid.
func markPaidEffects(ctx context.Context, tx *sql.Tx, inv *Invoice) error {
	rows, err := tx.QueryContext(ctx, `SELECT subscription_id FROM billing_suspensions WHERE invoice_id = $1 ORDER BY subscription_id`, inv.ID)
	if err != nil {
		return store.Translate(err)
	}
	var suspended []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return store.Translate(err)
		}
		suspended = append(suspended, id)
	}
	if err := rows.Close(); err != nil {
		return store.Translate(err)
	}
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	for _, id := range suspended {
		// The period given back is the one the suspension took (the one
		// after the paused run's last); it is paid if this invoice bills it
		// or its own invoice is paid.
		var paid bool
		if err := tx.QueryRowContext(ctx, `SELECT s.periods + 1 = $2 OR EXISTS (SELECT 1 FROM invoices i
			WHERE i.subscription_id = s.id AND i.kind = 'invoice' AND i.period_no = s.periods + 1 AND i.status = 'paid')
			FROM subscriptions s WHERE s.id = $1`, id, inv.PeriodNo).Scan(&paid); err != nil {
			return store.Translate(err)
		}
		if err := subscription.Unsuspend(ctx, tx, inv.CompanyID, id, paid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM billing_suspensions WHERE subscription_id = $1`, id); err != nil {
			return store.Translate(err)
		}
	}
	if inv.OrderID.Valid && inv.PeriodNo == 1 {
		if err := markOrderPeriodsPaid(ctx, tx, inv); err != nil {
			return err
		}
	}
	if !inv.SubscriptionID.Valid {
		return nil
	}
	return subscription.MarkPeriodPaid(ctx, tx, inv.CompanyID, inv.SubscriptionID.Int64, inv.PeriodNo)
}

// markOrderPeriodsPaid marks the first period paid of every subscription an
// order's invoice pays: the invoice names one subscription (the first line's),
// but its lines bill each subscription the order started.
func markOrderPeriodsPaid(ctx context.Context, tx *sql.Tx, inv *Invoice) error {
	rows, err := tx.QueryContext(ctx, `SELECT subscription_id FROM order_lines
		WHERE order_id = $1 AND company_id = $2 AND subscription_id IS NOT NULL`, inv.OrderID.Int64, inv.CompanyID)
	if err != nil {
		return store.Translate(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return store.Translate(err)
		}
		if !inv.SubscriptionID.Valid || id != inv.SubscriptionID.Int64 { // that one: below, with its suspension
			ids = append(ids, id)
		}
	}
	if err := rows.Close(); err != nil {
		return store.Translate(err)
	}
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	for _, id := range ids {
		if err := subscription.MarkPeriodPaid(ctx, tx, inv.CompanyID, id, 1); err != nil {
			return err
		}
	}
	return nil
}

// BookPayment records a payment of amount on the invoice inside tx (the
// payment row with key is inserted, or a pending one of that key completed)
// and updates the invoice: paid when the balance is covered, with an
// invoice/paid event. A second booking of the same key changes nothing.
func BookPayment(ctx context.Context, tx *sql.Tx, d store.Dialect, companyID, invoiceID int64, p PaymentRecord) error {
	inv, err := getForUpdate(ctx, tx, d, companyID, invoiceID)
	if err != nil {
		return err
	}
	now := subscription.Now(ctx)
	ci, err := loadCompany(ctx, tx, companyID)
	if err != nil {
		return err
	}
	date := now.In(ci.loc).Format(dateLayout)
	var status string
	err = tx.QueryRowContext(ctx, `SELECT status FROM payments WHERE company_id = $1 AND idempotency_key = $2`, companyID, p.Key).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments (company_id, invoice_id, idempotency_key, source, amount, currency,
			method_code, provider_id, provider_ref, status, attempt, payment_date, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'succeeded', $10, $11, $12, $12)`,
			companyID, invoiceID, p.Key, p.Source, p.Amount, inv.Currency, p.MethodCode, nullable(p.ProviderID), p.ProviderRef,
			max(p.Attempt, 1), date, now.UnixMilli()); err != nil {
			return store.Translate(err)
		}
	case err != nil:
		return store.Translate(err)
	case status == "succeeded":
		return nil // booked before: a repeated confirmation books nothing
	default:
		if _, err := tx.ExecContext(ctx, `UPDATE payments SET status = 'succeeded', provider_ref = $3, payment_date = $4, updated_at = $5
			WHERE company_id = $1 AND idempotency_key = $2`, companyID, p.Key, p.ProviderRef, date, now.UnixMilli()); err != nil {
			return store.Translate(err)
		}
	}
	inv.PaidAmount += p.Amount
	newStatus, chargeState := inv.Status, inv.ChargeState
	var payDate any = inv.PaymentDate
	if inv.Balance() <= 0 && inv.Status != StatusCredited && inv.Status != StatusCancelled {
		newStatus, payDate = StatusPaid, date
		if chargeState != ChargeNone {
			chargeState = ChargeDone
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invoices SET paid_amount = $3, status = $4, payment_date = $5, charge_state = $6,
		next_charge_at = NULL, updated_at = $7 WHERE company_id = $1 AND id = $2`,
		companyID, invoiceID, inv.PaidAmount, newStatus, payDate, chargeState, now.UnixMilli()); err != nil {
		return store.Translate(err)
	}
	if newStatus == StatusPaid && inv.Status != StatusPaid {
		inv.Status = StatusPaid
		if _, err := event.Record(ctx, tx, event.Event{CompanyID: companyID, Source: ci.code, Type: "invoice", Status: "paid",
			Data: invoiceEventData(inv.Number, inv.CustomerNumber, inv.ProductCode, inv.Amount, StatusPaid), Time: now}); err != nil {
			return err
		}
		return markPaidEffects(ctx, tx, inv)
	}
	return nil
}

// PaymentRecord is a payment to book.
type PaymentRecord struct {
	Key         string // idempotency key: the same key is one payment
	Source      string // charge, flow, manual
	Amount      int64
	MethodCode  string
	ProviderID  int64
	ProviderRef string
	Attempt     int
}
