package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/value"
)

// apiStatus is the invoiceStatus of a stored status.
func apiStatus(s string) string {
	switch s {
	case StatusOpen:
		return "Invoiced"
	case StatusOverdue:
		return "Overdue"
	case StatusReminded:
		return "Reminded"
	case StatusPaid:
		return "Paid"
	case StatusCredited:
		return "Credited"
	case StatusCancelled:
		return "Cancelled"
	}
	return s
}

// paymentStatus: "0" unpaid, "1" partly paid, "2" paid, "3" credited.
func paymentStatus(i *Invoice) string {
	switch {
	case i.Status == StatusPaid:
		return "2"
	case i.Status == StatusCredited || i.Status == StatusCancelled:
		return "3"
	case i.PaidAmount > 0:
		return "1"
	}
	return "0"
}

func moneyFloat(minor int64) value.Money { return value.Money(minor) }

// amountText renders "295.00".
func amountText(minor int64) string {
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor/100, 10) + "." + strconv.FormatInt(100+minor%100, 10)[1:]
	if neg {
		s = "-" + s
	}
	return s
}

// noonMillis is a date as epoch ms: 12:00 that day in the company zone.
func noonMillis(date string, loc *time.Location) int64 {
	d, err := time.ParseInLocation(dateLayout, date, loc)
	if err != nil {
		return 0
	}
	return d.Add(12 * time.Hour).UnixMilli()
}

func parseDigits(s string, max int) (int64, bool) {
	if s == "" || len(s) > max {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// UserInvoice is the Invoice (user) shape.
type UserInvoice struct {
	CustomerNumber    int64       `json:"customerNumber"`
	Product           string      `json:"product"`
	ProductName       string      `json:"productName"`
	InvoiceNumber     string      `json:"invoiceNumber"`
	InvoiceOfferCount string      `json:"invoiceOfferCount"`
	CompanyCode       string      `json:"companyCode"`
	InvoiceDate       string      `json:"invoiceDate"`
	DueDate           string      `json:"dueDate"`
	PaymentDate       string      `json:"paymentDate"`
	Amount            value.Money `json:"amount"`
	InvoiceAmount     string      `json:"invoiceAmount"`
	PaidAmount        value.Money `json:"paidAmount"`
	PaymentStatus     string      `json:"paymentStatus"`
	PaymentMethod     string      `json:"paymentMethod"`
	InvoiceStatus     string      `json:"invoiceStatus"`
	InvoiceHotelURL   string      `json:"invoiceHotelUrl"`
}

func paymentDateOf(i *Invoice) string {
	if i.PaymentDate.Valid {
		return i.PaymentDate.String
	}
	return i.PlannedPaymentDate
}

func (v *viewer) user(i *Invoice) UserInvoice {
	return UserInvoice{CustomerNumber: i.CustomerNumber, Product: i.ProductCode, ProductName: i.ProductName,
		InvoiceNumber: strconv.FormatInt(i.Number, 10), InvoiceOfferCount: strconv.Itoa(max(i.PeriodNo, 1)),
		CompanyCode: v.companyCode, InvoiceDate: i.InvoiceDate, DueDate: i.DueDate, PaymentDate: paymentDateOf(i),
		Amount: moneyFloat(i.Balance()), InvoiceAmount: amountText(i.Amount), PaidAmount: moneyFloat(i.PaidAmount),
		PaymentStatus: paymentStatus(i), PaymentMethod: i.MethodCode, InvoiceStatus: apiStatus(i.Status),
		InvoiceHotelURL: v.viewURL(i)}
}

// BasicInvoice is one entry of the basic lists.
type BasicInvoice struct {
	InvoiceNumber string      `json:"invoiceNumber"`
	Product       string      `json:"product"`
	ProductName   string      `json:"productName"`
	InvoiceDate   string      `json:"invoiceDate"`
	DueDate       string      `json:"dueDate"`
	InvoiceAmount string      `json:"invoiceAmount"`
	PaidAmount    value.Money `json:"paidAmount"`
	InvoiceStatus string      `json:"invoiceStatus"`
}

// Reminder is the Reminder shape.
type Reminder struct {
	InvoiceNumber   int64       `json:"invoiceNumber"`
	Product         string      `json:"product"`
	FromTime        string      `json:"fromTime,omitempty"`
	IncludeTime     string      `json:"includeTime,omitempty"`
	ReminderDate    int64       `json:"reminderDate"`
	DueDate         int64       `json:"dueDate"`
	Amount          value.Money `json:"amount"`
	ReminderNumber  int         `json:"reminderNumber"`
	ReminderType    string      `json:"reminderType"`
	InvoiceHotelURL string      `json:"invoiceHotelUrl"`
}

// LineInfo is one invoiceLineInfo entry.
type LineInfo struct {
	ProductCode       string        `json:"productCode"`
	InvoiceAmount     value.Money   `json:"invoiceAmount"`
	InvoiceVatAmount  value.Money   `json:"invoiceVatAmount"`
	InvoiceVatPercent value.Percent `json:"invoiceVatPercent"`
	Description       string        `json:"description,omitempty"`
	Explanation       string        `json:"explanation,omitempty"`
}

// ClientInvoice is the Invoice (client) shape.
type ClientInvoice struct {
	InvoiceID         string      `json:"invoiceId"`
	InvoiceNumber     string      `json:"invoiceNumber"`
	CustomerNumber    int64       `json:"customerNumber"`
	Product           string      `json:"product"`
	ProductName       string      `json:"productName"`
	CompanyCode       string      `json:"companyCode"`
	InvoiceDate       int64       `json:"invoiceDate"`
	DueDate           int64       `json:"dueDate"`
	PaymentDate       int64       `json:"paymentDate"`
	InvoiceOfferCount string      `json:"invoiceOfferCount"`
	Amount            value.Money `json:"amount"`
	InvoiceAmount     value.Money `json:"invoiceAmount"`
	PaidAmount        value.Money `json:"paidAmount"`
	PaymentStatus     string      `json:"paymentStatus"`
	PaymentMethod     string      `json:"paymentMethod"`
	InvoiceStatus     string      `json:"invoiceStatus"`
	InvoiceHotelURL   string      `json:"invoiceHotelUrl"`
	Desc              []string    `json:"desc"`
	Period            int         `json:"period"`
	PeriodUnit        string      `json:"periodUnit"`
	FromTime          string      `json:"fromTime,omitempty"`
	InclTime          string      `json:"incltime,omitempty"`
	InvoiceLineInfo   []LineInfo  `json:"invoiceLineInfo"`
}

// PaymentEntry is one payment of the details.
type PaymentEntry struct {
	PaymentDate   string      `json:"paymentDate"`
	Amount        value.Money `json:"amount"`
	PaymentMethod string      `json:"paymentMethod"`
}

// CreditNote is a credit note of the details.
type CreditNote struct {
	InvoiceNumber   string     `json:"invoiceNumber"`
	InvoiceDate     string     `json:"invoiceDate"`
	InvoiceAmount   string     `json:"invoiceAmount"`
	InvoiceLineInfo []LineInfo `json:"invoiceLineInfo"`
}

// InvoiceDetails is the invoice-details response.
type InvoiceDetails struct {
	UserInvoice
	Currency         string         `json:"currency"`
	PaymentReference string         `json:"paymentReference"`
	CreditedAmount   value.Money    `json:"creditedAmount"`
	ReminderFees     value.Money    `json:"reminderFees"`
	FromTime         string         `json:"fromTime,omitempty"`
	InclTime         string         `json:"incltime,omitempty"`
	Desc             []string       `json:"desc"`
	Period           int            `json:"period"`
	PeriodUnit       string         `json:"periodUnit"`
	InvoiceLineInfo  []LineInfo     `json:"invoiceLineInfo"`
	Reminders        []Reminder     `json:"reminders"`
	Payments         []PaymentEntry `json:"payments"`
	CreditNotes      []CreditNote   `json:"creditNotes"`
	Name             Name           `json:"name"`
	Address          Address        `json:"address"`
}

// viewer renders invoices for one company.
type viewer struct {
	db          store.Queryer
	companyID   int64
	companyCode string
	loc         *time.Location
	viewBase    string // https://<login host>/user/invoice/view/
}

func (v *viewer) viewURL(i *Invoice) string { return v.viewBase + i.ViewToken }

// Filter narrows invoice lists.
type Filter struct {
	Customer int64
	Product  string // only invoices with a line for it
	From, To string // inclusive invoice dates
	Unpaid   bool
}

// list returns the customer's invoices (not credit notes), newest first.
func (v *viewer) list(ctx context.Context, f Filter) ([]*Invoice, error) {
	q := `SELECT ` + invoiceColumns + ` FROM invoices i WHERE company_id = $1 AND customer_number = $2 AND kind = 'invoice'`
	args := []any{v.companyID, f.Customer}
	add := func(cond string, arg any) {
		args = append(args, arg)
		q += strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
	}
	if f.Product != "" {
		add(` AND EXISTS (SELECT 1 FROM invoice_lines l WHERE l.invoice_id = i.id AND l.product_code = ?)`, f.Product)
	}
	if f.From != "" {
		add(` AND invoice_date >= ?`, f.From)
	}
	if f.To != "" {
		add(` AND invoice_date <= ?`, f.To)
	}
	if f.Unpaid {
		q += ` AND status IN ('open', 'overdue', 'reminded')`
	}
	rows, err := v.db.QueryContext(ctx, q+` ORDER BY invoice_date DESC, invoice_number DESC`, args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var out []*Invoice
	for rows.Next() {
		i, err := scanInvoice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

func (v *viewer) lines(ctx context.Context, invoiceID int64) ([]LineInfo, []string, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT product_code, description, amount, vat_amount, vat_percent, explanation
		FROM invoice_lines WHERE company_id = $1 AND invoice_id = $2 ORDER BY line_no`, v.companyID, invoiceID)
	if err != nil {
		return nil, nil, store.Translate(err)
	}
	defer rows.Close()
	lines, desc := []LineInfo{}, []string{}
	for rows.Next() {
		var l LineInfo
		var amount, vat, pct int64
		if err := rows.Scan(&l.ProductCode, &l.Description, &amount, &vat, &pct, &l.Explanation); err != nil {
			return nil, nil, err
		}
		l.InvoiceAmount, l.InvoiceVatAmount, l.InvoiceVatPercent = value.Money(amount), value.Money(vat), value.Percent(pct)
		lines = append(lines, l)
		desc = append(desc, l.Description)
	}
	return lines, desc, rows.Err()
}

func (v *viewer) reminders(ctx context.Context, i *Invoice) ([]Reminder, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT reminder_number, reminder_type, reminder_date, due_date, amount
		FROM invoice_reminders WHERE company_id = $1 AND invoice_id = $2 ORDER BY reminder_number`, v.companyID, i.ID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []Reminder{}
	for rows.Next() {
		r := Reminder{InvoiceNumber: i.Number, Product: i.ProductCode, FromTime: i.FromDate, IncludeTime: i.InclDate, InvoiceHotelURL: v.viewURL(i)}
		var amount int64
		if err := rows.Scan(&r.ReminderNumber, &r.ReminderType, &r.ReminderDate, &r.DueDate, &amount); err != nil {
			return nil, err
		}
		r.Amount = value.Money(amount)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (v *viewer) client(ctx context.Context, i *Invoice) (ClientInvoice, error) {
	lines, desc, err := v.lines(ctx, i.ID)
	if err != nil {
		return ClientInvoice{}, err
	}
	n := strconv.FormatInt(i.Number, 10)
	return ClientInvoice{InvoiceID: n, InvoiceNumber: n, CustomerNumber: i.CustomerNumber, Product: i.ProductCode,
		ProductName: i.ProductName, CompanyCode: v.companyCode, InvoiceDate: noonMillis(i.InvoiceDate, v.loc),
		DueDate: noonMillis(i.DueDate, v.loc), PaymentDate: noonMillis(paymentDateOf(i), v.loc),
		InvoiceOfferCount: strconv.Itoa(max(i.PeriodNo, 1)), Amount: moneyFloat(i.Balance()), InvoiceAmount: moneyFloat(i.Amount),
		PaidAmount: moneyFloat(i.PaidAmount), PaymentStatus: paymentStatus(i), PaymentMethod: i.MethodCode,
		InvoiceStatus: apiStatus(i.Status), InvoiceHotelURL: v.viewURL(i), Desc: desc, Period: i.Period, PeriodUnit: i.PeriodUnit,
		FromTime: i.FromDate, InclTime: i.InclDate, InvoiceLineInfo: lines}, nil
}

func (v *viewer) details(ctx context.Context, i *Invoice) (*InvoiceDetails, error) {
	lines, desc, err := v.lines(ctx, i.ID)
	if err != nil {
		return nil, err
	}
	rems, err := v.reminders(ctx, i)
	if err != nil {
		return nil, err
	}
	d := &InvoiceDetails{UserInvoice: v.user(i), Currency: i.Currency, PaymentReference: i.PaymentReference,
		CreditedAmount: moneyFloat(i.CreditedAmount), ReminderFees: moneyFloat(i.FeeAmount), FromTime: i.FromDate,
		InclTime: i.InclDate, Desc: desc, Period: i.Period, PeriodUnit: i.PeriodUnit, InvoiceLineInfo: lines, Reminders: rems,
		Payments: []PaymentEntry{}, CreditNotes: []CreditNote{}}
	_ = json.Unmarshal([]byte(i.PayerName), &d.Name)
	_ = json.Unmarshal([]byte(i.PayerAddress), &d.Address)
	rows, err := v.db.QueryContext(ctx, `SELECT payment_date, amount, method_code FROM payments
		WHERE company_id = $1 AND invoice_id = $2 AND status = 'succeeded' ORDER BY id`, v.companyID, i.ID)
	if err != nil {
		return nil, store.Translate(err)
	}
	for rows.Next() {
		var p PaymentEntry
		var date sql.NullString
		var amount int64
		if err := rows.Scan(&date, &amount, &p.PaymentMethod); err != nil {
			rows.Close()
			return nil, err
		}
		p.PaymentDate, p.Amount = date.String, value.Money(amount)
		d.Payments = append(d.Payments, p)
	}
	rows.Close()
	crows, err := v.db.QueryContext(ctx, `SELECT `+invoiceColumns+` FROM invoices WHERE company_id = $1 AND credits_invoice_id = $2 ORDER BY id`, v.companyID, i.ID)
	if err != nil {
		return nil, store.Translate(err)
	}
	var credits []*Invoice
	for crows.Next() {
		c, err := scanInvoice(crows)
		if err != nil {
			crows.Close()
			return nil, err
		}
		credits = append(credits, c)
	}
	crows.Close()
	for _, c := range credits {
		cl, _, err := v.lines(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		d.CreditNotes = append(d.CreditNotes, CreditNote{InvoiceNumber: strconv.FormatInt(c.Number, 10), InvoiceDate: c.InvoiceDate,
			InvoiceAmount: amountText(c.Amount), InvoiceLineInfo: cl})
	}
	return d, nil
}

// parseFilter reads from, to and unpaid (empty values count as absent).
func parseFilter(get func(string) string, withUnpaid bool) (Filter, error) {
	var f Filter
	for _, p := range []struct {
		name string
		dst  *string
	}{{"from", &f.From}, {"to", &f.To}} {
		s := strings.TrimSpace(get(p.name))
		if s == "" {
			continue
		}
		if len(s) > 10 {
			return f, errs.Field(p.name, "must be a date YYYY-MM-DD")
		}
		if _, err := time.Parse(dateLayout, s); err != nil {
			return f, errs.Field(p.name, "must be a date YYYY-MM-DD")
		}
		*p.dst = s
	}
	if f.From != "" && f.To != "" && f.From > f.To {
		return f, errs.Field("from", "must not be after to")
	}
	if withUnpaid {
		switch strings.ToLower(strings.TrimSpace(get("unpaid"))) {
		case "", "false", "0":
		case "true", "1":
			f.Unpaid = true
		default:
			return f, errs.Field("unpaid", "must be true or false")
		}
	}
	return f, nil
}

// InvoiceView is an invoice as its hosted view (invoiceHotelUrl) shows it.
type InvoiceView struct {
	CompanyName string
	CompanyCode string
	Status      string // stored status: open, overdue, reminded, paid, credited, cancelled
	Balance     int64  // minor units
	Details     *InvoiceDetails
}

// ValidViewToken reports whether s has the shape of a view token: 28
// characters of a–z and 0–9.
func ValidViewToken(s string) bool {
	if len(s) != 28 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(viewAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

// ViewInvoice returns the invoice whose view token is token, for its hosted
// view: the token is the only credential, so it opens that one invoice and
// nothing else (NotFound otherwise). publicURL is the login host's base.
func (e *Engine) ViewInvoice(ctx context.Context, publicURL, token string) (*InvoiceView, error) {
	if !ValidViewToken(token) {
		return nil, errs.E(errs.NotFound, "invoice not found")
	}
	inv, err := scanInvoice(e.DB.QueryRowContext(ctx, `SELECT `+invoiceColumns+` FROM invoices WHERE view_token = $1 AND kind = 'invoice'`, token))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "invoice not found")
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	c, err := tenant.GetCompany(ctx, e.DB, inv.CompanyID)
	if err != nil {
		return nil, err
	}
	loc, err := c.Location()
	if err != nil {
		return nil, err
	}
	v := &viewer{db: e.DB, companyID: c.ID, companyCode: c.Code, loc: loc, viewBase: strings.TrimSuffix(publicURL, "/") + "/user/invoice/view/"}
	d, err := v.details(ctx, inv)
	if err != nil {
		return nil, err
	}
	return &InvoiceView{CompanyName: c.Name, CompanyCode: c.Code, Status: inv.Status, Balance: inv.Balance(), Details: d}, nil
}

// AmountText renders minor units as "295.00".
func AmountText(minor int64) string { return amountText(minor) }
