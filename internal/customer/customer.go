package customer

// Customer master data: the API shape, input validation, and reads and
// writes of the customers row (spec/customer.md "Customer").

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/value"
)

// Customer is the API shape of a customer.
type Customer struct {
	CustomerNumber            int64      `json:"customerNumber"`
	CompanyRegistrationNumber string     `json:"companyRegistrationNumber,omitempty"`
	CompanyName               string     `json:"companyName,omitempty"`
	Department                string     `json:"department,omitempty"`
	DepartmentName            string     `json:"departmentName,omitempty"`
	FirstName                 string     `json:"firstName,omitempty"`
	MiddleName                string     `json:"middleName,omitempty"`
	LastName                  string     `json:"lastName,omitempty"`
	CareOfAddress             string     `json:"careOfAddress,omitempty"`
	StreetAddress             string     `json:"streetAddress,omitempty"`
	StreetNumber              *int64     `json:"streetNumber,omitempty"`
	Entrance                  string     `json:"entrance,omitempty"`
	FloorType                 string     `json:"floorType,omitempty"`
	Floor                     *int64     `json:"floor,omitempty"`
	Suite                     string     `json:"suite,omitempty"`
	PostalCode                string     `json:"postalCode,omitempty"`
	PostalPlace               string     `json:"postalPlace,omitempty"`
	PostalAddress             string     `json:"postalAddress,omitempty"`
	PostalAddressPostalCode   string     `json:"postalAddressPostalCode,omitempty"`
	PostalAddressPostalPlace  string     `json:"postalAddressPostalPlace,omitempty"`
	CountryCode               string     `json:"countryCode,omitempty"`
	BirthDate                 string     `json:"birthDate,omitempty"`
	Sex                       string     `json:"sex,omitempty"`
	Emails                    []string   `json:"emails"`
	PhoneNumbers              []string   `json:"phoneNumbers"`
	InvoiceEmailAddress       string     `json:"invoiceEmailAddress,omitempty"`
	Categories                []Category `json:"categories"`

	id     int64
	userID *int64
}

// ID is the row id (for joins inside the domain packages).
func (c *Customer) ID() int64 { return c.id }

// UserID is the linked ConnectID user's numeric id, nil when none.
func (c *Customer) UserID() *int64 { return c.userID }

// Category is one of a customer's categories.
type Category struct {
	AddressCategory string `json:"addressCategory"`
	FreeValue       string `json:"freeValue"`
}

// Input is the customer part of a request: Register customer, Change
// customer info, and an order's payer and receiver. Pointers tell absent
// fields (left alone) from given ones.
type Input struct {
	CustomerNumber              *int64          `json:"customerNumber"`
	CompanyRegistrationNumber   *string         `json:"companyRegistrationNumber"`
	CompanyName                 *string         `json:"companyName"`
	Department                  *string         `json:"department"`
	DepartmentName              *string         `json:"departmentName"`
	FirstName                   *string         `json:"firstName"`
	MiddleName                  *string         `json:"middleName"`
	LastName                    *string         `json:"lastName"`
	CareOfAddress               *string         `json:"careOfAddress"`
	CoAddress                   *string         `json:"coAddress"` // synonym (order payer)
	StreetAddress               *string         `json:"streetAddress"`
	Street                      *string         `json:"street"` // synonym (order payer)
	StreetNumber                *int64          `json:"streetNumber"`
	Entrance                    *string         `json:"entrance"`
	FloorType                   *string         `json:"floorType"`
	Floor                       *int64          `json:"floor"`
	Suite                       *string         `json:"suite"`
	PostalCode                  *string         `json:"postalCode"`
	PostalPlace                 *string         `json:"postalPlace"`
	PostalAddress               *string         `json:"postalAddress"`
	PostalAddressPostalCode     *string         `json:"postalAddressPostalCode"`
	PostalAddressPostalPlace    *string         `json:"postalAddressPostalPlace"`
	CountryCode                 *string         `json:"countryCode"`
	BirthDate                   *value.Instant  `json:"birthDate"`
	Sex                         *string         `json:"sex"`
	Emails                      []string        `json:"emails"`
	PhoneNumbers                []string        `json:"phoneNumbers"`
	InvoiceEmailAddress         *string         `json:"invoiceEmailAddress"`
	Categories                  []Category      `json:"categories"`
	PersonsSocialSecurityNumber *string         `json:"personsSocialSecurityNumber"` // accepted, never stored (data minimisation)
	Permissions                 json.RawMessage `json:"permissions"`
	Privacy                     json.RawMessage `json:"privacy"`
}

// HasAddress reports whether any address field is given.
func (in *Input) HasAddress() (string, bool) {
	for name, p := range map[string]*string{"careOfAddress": in.CareOfAddress, "coAddress": in.CoAddress,
		"streetAddress": in.StreetAddress, "street": in.Street, "entrance": in.Entrance, "postalCode": in.PostalCode,
		"postalPlace": in.PostalPlace, "postalAddress": in.PostalAddress, "postalAddressPostalCode": in.PostalAddressPostalCode,
		"postalAddressPostalPlace": in.PostalAddressPostalPlace, "countryCode": in.CountryCode, "floorType": in.FloorType, "suite": in.Suite} {
		if p != nil {
			return name, true
		}
	}
	if in.StreetNumber != nil {
		return "streetNumber", true
	}
	if in.Floor != nil {
		return "floor", true
	}
	return "", false
}

// Required says which fields a new customer must have.
type Required int

const (
	RequireNone     Required = iota // a partial update
	RequireReceiver                 // lastName or companyName, postalCode
	RequirePayer                    // as receiver, plus emails or phoneNumbers
)

var (
	e164        = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	countryCode = regexp.MustCompile(`^[A-Z]{2}$`)
	phoneJunk   = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", ".", "")
)

// callingCodes are the country calling codes used to complete national numbers.
var callingCodes = map[string]string{"NO": "47", "SE": "46", "DK": "45", "FI": "358"}

// NormalizePhone returns the E.164 form of a phone number: spaces and
// punctuation dropped, 00 read as +, and a national number completed with the
// calling code of country. ok is false when it is not a phone number.
func NormalizePhone(s, country string) (string, bool) {
	s = phoneJunk.Replace(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(s, "+"):
	case strings.HasPrefix(s, "00"):
		s = "+" + s[2:]
	case callingCodes[country] != "":
		s = "+" + callingCodes[country] + strings.TrimPrefix(s, "0")
	}
	return s, e164.MatchString(s)
}

// ValidEmail reports whether s is a bare e-mail address.
func ValidEmail(s string) bool {
	if len(s) > 255 || strings.ContainsAny(s, " <>\t\r\n") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@'):], ".")
}

// PadPostalCode left-pads a numeric postal code to the country's length
// (4 digits in NO and DK, 5 in SE and FI; spec README §5.1).
func PadPostalCode(code, country string) string {
	n := map[string]int{"NO": 4, "DK": 4, "SE": 5, "FI": 5}[country]
	if n == 0 || code == "" || len(code) >= n {
		return code
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return code
		}
	}
	return strings.Repeat("0", n-len(code)) + code
}

// fields is a validated Input in stored form.
type fields struct {
	regNo, companyName, department, departmentName, first, middle, last           string
	careOf, street, entrance, floorType, suite, postalCode, postalPlace           string
	postalAddress, postalAddressCode, postalAddressPlace, country, birthDate, sex string
	streetNumber, floor                                                           *int64
	emails, phones                                                                []string
	invoiceEmail                                                                  string
}

// Normalize validates in against the stored customer cur (nil for a new one)
// and returns the resulting stored fields. prefix names the object in error
// messages ("payer."); companyCountry completes phone numbers and postal codes.
func (in *Input) normalize(prefix string, cur *Customer, companyCountry string, req Required, loc *time.Location) (fields, error) {
	var f fields
	if cur != nil {
		f = fields{regNo: cur.CompanyRegistrationNumber, companyName: cur.CompanyName, department: cur.Department,
			departmentName: cur.DepartmentName, first: cur.FirstName, middle: cur.MiddleName, last: cur.LastName,
			careOf: cur.CareOfAddress, street: cur.StreetAddress, entrance: cur.Entrance, floorType: cur.FloorType,
			suite: cur.Suite, postalCode: cur.PostalCode, postalPlace: cur.PostalPlace, postalAddress: cur.PostalAddress,
			postalAddressCode: cur.PostalAddressPostalCode, postalAddressPlace: cur.PostalAddressPostalPlace,
			country: cur.CountryCode, birthDate: cur.BirthDate, sex: cur.Sex, streetNumber: cur.StreetNumber,
			floor: cur.Floor, emails: cur.Emails, phones: cur.PhoneNumbers, invoiceEmail: cur.InvoiceEmailAddress}
	}
	var err error
	text := func(dst *string, src *string, name string, limit int) {
		if err != nil || src == nil {
			return
		}
		v := strings.TrimSpace(*src)
		if utf8.RuneCountInString(v) > limit {
			err = errs.Field(prefix+name, "at most %d characters", limit)
			return
		}
		if strings.ContainsAny(v, "\x00\r\n") {
			err = errs.Field(prefix+name, "must be a single line")
			return
		}
		*dst = v
	}
	text(&f.regNo, in.CompanyRegistrationNumber, "companyRegistrationNumber", 20)
	text(&f.companyName, in.CompanyName, "companyName", 50)
	text(&f.department, in.Department, "department", 50)
	text(&f.departmentName, in.DepartmentName, "departmentName", 50)
	text(&f.first, in.FirstName, "firstName", 30)
	text(&f.middle, in.MiddleName, "middleName", 30)
	text(&f.last, in.LastName, "lastName", 30)
	careOf, street := in.CareOfAddress, in.StreetAddress
	if careOf == nil {
		careOf = in.CoAddress
	}
	if street == nil {
		street = in.Street
	}
	text(&f.careOf, careOf, "careOfAddress", 40)
	text(&f.street, street, "streetAddress", 40)
	text(&f.entrance, in.Entrance, "entrance", 12)
	text(&f.floorType, in.FloorType, "floorType", 12)
	text(&f.suite, in.Suite, "suite", 12)
	text(&f.country, in.CountryCode, "countryCode", 3)
	text(&f.postalCode, in.PostalCode, "postalCode", 10)
	text(&f.postalPlace, in.PostalPlace, "postalPlace", 30)
	text(&f.postalAddress, in.PostalAddress, "postalAddress", 40)
	text(&f.postalAddressCode, in.PostalAddressPostalCode, "postalAddressPostalCode", 10)
	text(&f.postalAddressPlace, in.PostalAddressPostalPlace, "postalAddressPostalPlace", 30)
	text(&f.invoiceEmail, in.InvoiceEmailAddress, "invoiceEmailAddress", 255)
	if err != nil {
		return f, err
	}
	if in.CountryCode != nil {
		f.country = strings.ToUpper(f.country)
		if f.country != "" && !countryCode.MatchString(f.country) {
			return f, errs.Field(prefix+"countryCode", "must be an ISO 3166-1 alpha-2 code such as NO")
		}
	}
	country := f.country
	if country == "" {
		country = companyCountry
	}
	f.postalCode = PadPostalCode(f.postalCode, country)
	f.postalAddressCode = PadPostalCode(f.postalAddressCode, country)
	if in.StreetNumber != nil {
		if *in.StreetNumber < 0 || *in.StreetNumber > 99999 {
			return f, errs.Field(prefix+"streetNumber", "must be from 0 to 99999")
		}
		f.streetNumber = in.StreetNumber
	}
	if in.Floor != nil {
		if *in.Floor < -10 || *in.Floor > 200 {
			return f, errs.Field(prefix+"floor", "must be from -10 to 200")
		}
		f.floor = in.Floor
	}
	if in.BirthDate != nil && !in.BirthDate.IsZero() {
		d := in.BirthDate.Time(loc).In(loc)
		if d.After(time.Now()) || d.Year() < 1900 {
			return f, errs.Field(prefix+"birthDate", "must be a date between 1900 and today")
		}
		f.birthDate = d.Format("2006-01-02")
	}
	if in.Sex != nil {
		switch s := strings.ToLower(strings.TrimSpace(*in.Sex)); s {
		case "", "male", "female":
			f.sex = s
		default:
			return f, errs.Field(prefix+"sex", "must be male or female")
		}
	}
	if in.Emails != nil {
		if len(in.Emails) > 10 {
			return f, errs.Field(prefix+"emails", "at most 10 addresses")
		}
		f.emails = []string{}
		for i, e := range in.Emails {
			e = strings.TrimSpace(e)
			if !ValidEmail(e) {
				return f, errs.Field(fmt.Sprintf("%semails[%d]", prefix, i), "not a valid e-mail address")
			}
			f.emails = append(f.emails, e)
		}
	}
	if in.PhoneNumbers != nil {
		if len(in.PhoneNumbers) > 10 {
			return f, errs.Field(prefix+"phoneNumbers", "at most 10 numbers")
		}
		f.phones = []string{}
		for i, p := range in.PhoneNumbers {
			n, ok := NormalizePhone(p, country)
			if !ok {
				return f, errs.Field(fmt.Sprintf("%sphoneNumbers[%d]", prefix, i), "not a phone number (E.164, e.g. +4712345678)")
			}
			f.phones = append(f.phones, n)
		}
	}
	if f.invoiceEmail != "" && !ValidEmail(f.invoiceEmail) {
		return f, errs.Field(prefix+"invoiceEmailAddress", "not a valid e-mail address")
	}
	if req >= RequireReceiver || cur != nil {
		if f.last == "" && f.companyName == "" {
			return f, errs.Field(prefix+"lastName", "required (or companyName)")
		}
	}
	if req >= RequireReceiver && f.postalCode == "" {
		return f, errs.Field(prefix+"postalCode", "required")
	}
	if req >= RequirePayer && len(f.emails) == 0 && len(f.phones) == 0 {
		return f, errs.Field(prefix+"emails", "required (or phoneNumbers)")
	}
	return f, nil
}

func first(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

func jsonList(list []string) string {
	if list == nil {
		list = []string{}
	}
	b, _ := json.Marshal(list)
	return string(b)
}

// NewCustomer says who creates a customer.
type NewCustomer struct {
	CompanyID   int64
	CompanyCode string
	Prefix      string // field prefix in messages, e.g. "payer."
	Required    Required
	UserID      *int64 // link to this ConnectID user
	Now         time.Time
}

// Create validates in and creates a customer inside tx, with its categories
// and a "customer new" event; it returns the new customer number.
func Create(ctx context.Context, tx *sql.Tx, n NewCustomer, in *Input) (int64, error) {
	co, loc, err := companyOf(ctx, tx, n.CompanyID)
	if err != nil {
		return 0, err
	}
	f, err := in.normalize(n.Prefix, nil, co.Country, n.Required, loc)
	if err != nil {
		return 0, err
	}
	cats, err := validCategories(ctx, tx, n.CompanyID, n.Prefix, in.Categories)
	if err != nil {
		return 0, err
	}
	number, err := ReserveNumbers(ctx, tx, n.CompanyID, 1)
	if err != nil {
		return 0, err
	}
	ms := n.Now.UnixMilli()
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO customers (company_id, customer_number, user_id,
		company_registration_number, company_name, department, department_name, first_name, middle_name, last_name,
		care_of_address, street_address, street_number, entrance, floor_type, floor, suite, postal_code, postal_place,
		postal_address, postal_address_postal_code, postal_address_postal_place, country_code, birth_date, sex,
		emails, phone_numbers, email, phone, invoice_email, search_first, search_last, search_company, search_street,
		created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
		$24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $35) RETURNING id`,
		n.CompanyID, number, n.UserID, f.regNo, f.companyName, f.department, f.departmentName, f.first, f.middle, f.last,
		f.careOf, f.street, f.streetNumber, f.entrance, f.floorType, f.floor, f.suite, f.postalCode, f.postalPlace,
		f.postalAddress, f.postalAddressCode, f.postalAddressPlace, f.country, f.birthDate, f.sex,
		jsonList(f.emails), jsonList(f.phones), strings.ToLower(first(f.emails)), first(f.phones), f.invoiceEmail,
		Fold(f.first), Fold(f.last), Fold(f.companyName), Fold(f.street), ms).Scan(&id)
	if err != nil {
		if errs.Is(store.Translate(err), errs.Conflict) && n.UserID != nil {
			return 0, errs.E(errs.Conflict, "the user already has a customer at this company")
		}
		return 0, store.Translate(err)
	}
	if err := setCategories(ctx, tx, n.CompanyID, id, cats); err != nil {
		return 0, err
	}
	if _, err := event.Record(ctx, tx, event.Event{CompanyID: n.CompanyID, Source: n.CompanyCode, Type: "customer", Status: "new",
		Data: map[string]any{"customerNumber": number}, Time: n.Now}); err != nil {
		return 0, err
	}
	return number, nil
}

// Update applies the given fields of in to the customer inside tx (a
// partial update: absent fields stay) and records a "customer update" event
// when anything changed.
func Update(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, number int64, in *Input, now time.Time) (*Customer, error) {
	cur, err := Get(ctx, tx, companyID, number)
	if err != nil {
		return nil, err
	}
	co, loc, err := companyOf(ctx, tx, companyID)
	if err != nil {
		return nil, err
	}
	f, err := in.normalize("", cur, co.Country, RequireNone, loc)
	if err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE customers SET company_registration_number = $3, company_name = $4,
		department = $5, department_name = $6, first_name = $7, middle_name = $8, last_name = $9, birth_date = $10,
		sex = $11, emails = $12, phone_numbers = $13, email = $14, phone = $15, invoice_email = $16,
		search_first = $17, search_last = $18, search_company = $19, updated_at = $20
		WHERE company_id = $1 AND customer_number = $2`,
		companyID, number, f.regNo, f.companyName, f.department, f.departmentName, f.first, f.middle, f.last,
		f.birthDate, f.sex, jsonList(f.emails), jsonList(f.phones), strings.ToLower(first(f.emails)), first(f.phones),
		f.invoiceEmail, Fold(f.first), Fold(f.last), Fold(f.companyName), now.UnixMilli())
	if err != nil {
		return nil, store.Translate(err)
	}
	if _, err := event.Record(ctx, tx, event.Event{CompanyID: companyID, Source: companyCode, Type: "customer", Status: "update",
		Data: map[string]any{"customerNumber": number}, Time: now}); err != nil {
		return nil, err
	}
	return Get(ctx, tx, companyID, number)
}

// Fold is the search form of a name: trimmed and lower-cased (Unicode).
func Fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func companyOf(ctx context.Context, q store.Queryer, companyID int64) (*tenant.CompanyRecord, *time.Location, error) {
	co, err := tenant.GetCompany(ctx, q, companyID)
	if err != nil {
		return nil, nil, err
	}
	loc, err := co.Location()
	if err != nil {
		loc = time.UTC
	}
	return co, loc, nil
}

// CompanyLocation returns the company's time zone (UTC when unknown).
func CompanyLocation(ctx context.Context, q store.Queryer, companyID int64) (*time.Location, error) {
	_, loc, err := companyOf(ctx, q, companyID)
	return loc, err
}

func validCategories(ctx context.Context, q store.Queryer, companyID int64, prefix string, cats []Category) ([]Category, error) {
	if len(cats) > 50 {
		return nil, errs.Field(prefix+"categories", "at most 50 categories")
	}
	seen := map[string]bool{}
	out := make([]Category, 0, len(cats))
	for i, c := range cats {
		field := fmt.Sprintf("%scategories[%d]", prefix, i)
		c.AddressCategory = strings.TrimSpace(c.AddressCategory)
		if c.AddressCategory == "" || len(c.AddressCategory) > 12 {
			return nil, errs.Field(field+".addressCategory", "required, at most 12 characters")
		}
		if utf8.RuneCountInString(c.FreeValue) > 100 {
			return nil, errs.Field(field+".freeValue", "at most 100 characters")
		}
		ok, err := catalog.CategoryCodeExists(ctx, q, companyID, c.AddressCategory)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.Field(field+".addressCategory", "unknown category code %q", c.AddressCategory)
		}
		if seen[c.AddressCategory] {
			continue
		}
		seen[c.AddressCategory] = true
		out = append(out, c)
	}
	return out, nil
}

// setCategories adds categories (a category already held gets the new free value).
func setCategories(ctx context.Context, tx *sql.Tx, companyID, customerID int64, cats []Category) error {
	for _, c := range cats {
		if _, err := tx.ExecContext(ctx, `INSERT INTO customer_categories (company_id, customer_id, category_code, free_value)
			VALUES ($1, $2, $3, $4) ON CONFLICT (customer_id, category_code) DO UPDATE SET free_value = excluded.free_value`,
			companyID, customerID, c.AddressCategory, c.FreeValue); err != nil {
			return store.Translate(err)
		}
	}
	return nil
}

// AddCategory gives the customer a category (an order line's categoryCode).
func AddCategory(ctx context.Context, tx *sql.Tx, companyID, number int64, code string) error {
	id, err := IDOf(ctx, tx, companyID, number)
	if err != nil {
		return err
	}
	return setCategories(ctx, tx, companyID, id, []Category{{AddressCategory: code}})
}

const customerColumns = `id, customer_number, user_id, company_registration_number, company_name, department,
	department_name, first_name, middle_name, last_name, care_of_address, street_address, street_number, entrance,
	floor_type, floor, suite, postal_code, postal_place, postal_address, postal_address_postal_code,
	postal_address_postal_place, country_code, birth_date, sex, emails, phone_numbers, email, phone, invoice_email`

func scanCustomer(row interface{ Scan(...any) error }) (*Customer, error) {
	var (
		c                   Customer
		user, street, floor sql.NullInt64
		emails, phones      string
		email, phone        string
	)
	if err := row.Scan(&c.id, &c.CustomerNumber, &user, &c.CompanyRegistrationNumber, &c.CompanyName, &c.Department,
		&c.DepartmentName, &c.FirstName, &c.MiddleName, &c.LastName, &c.CareOfAddress, &c.StreetAddress, &street,
		&c.Entrance, &c.FloorType, &floor, &c.Suite, &c.PostalCode, &c.PostalPlace, &c.PostalAddress,
		&c.PostalAddressPostalCode, &c.PostalAddressPostalPlace, &c.CountryCode, &c.BirthDate, &c.Sex,
		&emails, &phones, &email, &phone, &c.InvoiceEmailAddress); err != nil {
		return nil, err
	}
	if user.Valid {
		c.userID = &user.Int64
	}
	if street.Valid {
		c.StreetNumber = &street.Int64
	}
	if floor.Valid {
		c.Floor = &floor.Int64
	}
	c.Emails, c.PhoneNumbers = stringList(emails), stringList(phones)
	// Rows written before the lists existed (or by the benchmark generator)
	// only have the single columns.
	if len(c.Emails) == 0 && email != "" {
		c.Emails = []string{email}
	}
	if len(c.PhoneNumbers) == 0 && phone != "" {
		c.PhoneNumbers = []string{phone}
	}
	if c.Emails == nil {
		c.Emails = []string{}
	}
	if c.PhoneNumbers == nil {
		c.PhoneNumbers = []string{}
	}
	c.Categories = []Category{}
	return &c, nil
}

// stringList decodes a stored JSON list of strings. The lists are written by
// json.Marshal, so the common shapes ("[]", or plain strings without escapes)
// are split directly: a search returns up to 100 customers with two lists
// each, and json.Unmarshal was a tenth of its CPU time.
func stringList(s string) []string {
	switch {
	case s == "" || s == "[]":
		return nil
	case len(s) >= 4 && strings.HasPrefix(s, `["`) && strings.HasSuffix(s, `"]`) && !strings.ContainsRune(s, '\\'):
		// Without backslashes every quote is a delimiter, so the separators
		// are exactly `","`; anything else takes the general decoder.
		parts := strings.Split(s[2:len(s)-2], `","`)
		for _, p := range parts {
			if strings.ContainsRune(p, '"') || !utf8.ValidString(p) {
				return decodeStringList(s)
			}
		}
		return parts
	}
	return decodeStringList(s)
}

func decodeStringList(s string) []string {
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

// Get returns the company's customer with its categories; errs.NotFound when
// the number is not one of the company's customers.
func Get(ctx context.Context, q store.Queryer, companyID, number int64) (*Customer, error) {
	c, err := scanCustomer(q.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers
		WHERE company_id = $1 AND customer_number = $2`, companyID, number))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no customer %d", number)
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	if err := loadCategories(ctx, q, []*Customer{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// IDOf returns the row id of the company's customer; errs.NotFound when missing.
func IDOf(ctx context.Context, q store.Queryer, companyID, number int64) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM customers WHERE company_id = $1 AND customer_number = $2`, companyID, number).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errs.E(errs.NotFound, "no customer %d", number)
	}
	return id, store.Translate(err)
}

// NumberOfUser returns the customer number linked to the user at the
// company, 0 when there is none.
func NumberOfUser(ctx context.Context, q store.Queryer, companyID, userID int64) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT customer_number FROM customers WHERE company_id = $1 AND user_id = $2`, companyID, userID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, store.Translate(err)
}

// LinkUser links a customer without a user to userID. It is a conflict when
// the customer is linked to another user or the user to another customer.
func LinkUser(ctx context.Context, tx *sql.Tx, companyID, number, userID int64) error {
	c, err := Get(ctx, tx, companyID, number)
	if err != nil {
		return err
	}
	if c.userID != nil {
		if *c.userID == userID {
			return nil
		}
		return errs.E(errs.Conflict, "customer %d is linked to another user", number)
	}
	if other, err := NumberOfUser(ctx, tx, companyID, userID); err != nil {
		return err
	} else if other != 0 {
		return errs.E(errs.Conflict, "the user is already linked to customer %d", other)
	}
	_, err = tx.ExecContext(ctx, `UPDATE customers SET user_id = $3 WHERE company_id = $1 AND customer_number = $2`, companyID, number, userID)
	return store.Translate(err)
}

func loadCategories(ctx context.Context, q store.Queryer, list []*Customer) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[int64]*Customer, len(list))
	args := make([]any, 0, len(list))
	marks := make([]string, 0, len(list))
	for _, c := range list {
		byID[c.id] = c
		args = append(args, c.id)
		marks = append(marks, "$"+strconv.Itoa(len(args)))
	}
	rows, err := q.QueryContext(ctx, `SELECT customer_id, category_code, free_value FROM customer_categories
		WHERE customer_id IN (`+strings.Join(marks, ", ")+`) ORDER BY customer_id, category_code`, args...)
	if err != nil {
		return store.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c Category
		if err := rows.Scan(&id, &c.AddressCategory, &c.FreeValue); err != nil {
			return err
		}
		byID[id].Categories = append(byID[id].Categories, c)
	}
	return rows.Err()
}
