package customer

// Addresses (spec/customer.md "Address"): the home address on the customer
// row (always id 1), future temporary and permanent changes, and historical
// addresses in customer_addresses. Due changes are applied lazily, in the
// transaction of the next address read or change of that customer: a
// permanent change becomes the home address on its start date, and a
// temporary change becomes historical after its end date.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/value"
)

// HomeAddressID is the id of the current home address.
const HomeAddressID = 1

// Address types.
const (
	Home       = "home"
	Temporary  = "temporary"
	Permanent  = "permanent"
	Historical = "historical"
)

// Address is an address entry in responses.
type Address struct {
	ID                       int64   `json:"id"`
	AddressType              string  `json:"addressType"`
	Product                  string  `json:"product,omitempty"`
	CareOfAddress            string  `json:"careOfAddress,omitempty"`
	StreetAddress            string  `json:"streetAddress,omitempty"`
	StreetNumber             *int64  `json:"streetNumber,omitempty"`
	Entrance                 string  `json:"entrance,omitempty"`
	PostalCode               string  `json:"postalCode,omitempty"`
	PostalPlace              string  `json:"postalPlace,omitempty"`
	PostalAddress            string  `json:"postalAddress,omitempty"`
	PostalAddressPostalCode  string  `json:"postalAddressPostalCode,omitempty"`
	PostalAddressPostalPlace string  `json:"postalAddressPostalPlace,omitempty"`
	CountryCode              string  `json:"countryCode,omitempty"`
	Period                   *Period `json:"period,omitempty"`
}

// Period is a dated address change's validity.
type Period struct {
	StartDate string `json:"startDate,omitempty"`
	EndDate   string `json:"endDate,omitempty"`
}

// AddressList is {"addresses":[...]}.
type AddressList struct {
	Addresses []Address `json:"addresses"`
}

// AddressChange is the body of address-change.
type AddressChange struct {
	ChangeType               string       `json:"changeType"`
	Product                  string       `json:"product"`
	ID                       *int64       `json:"id"`
	CareOfAddress            *string      `json:"careOfAddress"`
	StreetAddress            *string      `json:"streetAddress"`
	Street                   *string      `json:"street"`
	StreetNumber             *int64       `json:"streetNumber"`
	Entrance                 *string      `json:"entrance"`
	PostalCode               *string      `json:"postalCode"`
	PostalPlace              *string      `json:"postalPlace"`
	PostalAddress            *string      `json:"postalAddress"`
	PostalAddressPostalCode  *string      `json:"postalAddressPostalCode"`
	PostalAddressPostalPlace *string      `json:"postalAddressPostalPlace"`
	CountryCode              *string      `json:"countryCode"`
	Period                   *PeriodInput `json:"period"`
}

// PeriodInput is a period as sent: dates in any accepted form.
type PeriodInput struct {
	StartDate value.Instant `json:"startDate"`
	EndDate   value.Instant `json:"endDate"`
}

func (a *AddressChange) input() *Input {
	return &Input{CareOfAddress: a.CareOfAddress, StreetAddress: a.StreetAddress, Street: a.Street,
		StreetNumber: a.StreetNumber, Entrance: a.Entrance, PostalCode: a.PostalCode, PostalPlace: a.PostalPlace,
		PostalAddress: a.PostalAddress, PostalAddressPostalCode: a.PostalAddressPostalCode,
		PostalAddressPostalPlace: a.PostalAddressPostalPlace, CountryCode: a.CountryCode}
}

// SubscriptionCheck tells whether a customer has a subscription on a product.
type SubscriptionCheck func(ctx context.Context, q store.Queryer, companyID, customerNumber int64, product string) (bool, error)

const addressColumns = `address_id, address_type, products, start_date, end_date, care_of_address, street_address,
	street_number, entrance, postal_code, postal_place, postal_address, postal_address_postal_code,
	postal_address_postal_place, country_code`

func scanAddress(row interface{ Scan(...any) error }) (Address, error) {
	var a Address
	var street sql.NullInt64
	var start, end string
	err := row.Scan(&a.ID, &a.AddressType, &a.Product, &start, &end, &a.CareOfAddress, &a.StreetAddress, &street,
		&a.Entrance, &a.PostalCode, &a.PostalPlace, &a.PostalAddress, &a.PostalAddressPostalCode,
		&a.PostalAddressPostalPlace, &a.CountryCode)
	if street.Valid {
		a.StreetNumber = &street.Int64
	}
	if start != "" || end != "" {
		a.Period = &Period{StartDate: start, EndDate: end}
	}
	return a, err
}

func homeOf(c *Customer) Address {
	return Address{ID: HomeAddressID, AddressType: Home, CareOfAddress: c.CareOfAddress, StreetAddress: c.StreetAddress,
		StreetNumber: c.StreetNumber, Entrance: c.Entrance, PostalCode: c.PostalCode, PostalPlace: c.PostalPlace,
		PostalAddress: c.PostalAddress, PostalAddressPostalCode: c.PostalAddressPostalCode,
		PostalAddressPostalPlace: c.PostalAddressPostalPlace, CountryCode: c.CountryCode}
}

func (a Address) empty() bool {
	return a.StreetAddress == "" && a.PostalCode == "" && a.PostalAddress == "" && a.CareOfAddress == "" && a.PostalPlace == ""
}

// today is the company's current date.
func today(ctx context.Context, q store.Queryer, companyID int64, now time.Time) (string, *time.Location, error) {
	loc, err := CompanyLocation(ctx, q, companyID)
	if err != nil {
		return "", nil, err
	}
	return now.In(loc).Format("2006-01-02"), loc, nil
}

// Addresses returns the customer's addresses: home first, then future changes
// by start date, then historical ones, newest first. With product, only the
// home address, the temporary changes naming product and permanent changes.
// Due changes are applied first (see the file comment).
func Addresses(ctx context.Context, db *store.DB, companyID int64, companyCode string, number int64, product string, now time.Time) ([]Address, error) {
	var out []Address
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		c, err := Get(ctx, tx, companyID, number)
		if err != nil {
			return err
		}
		day, _, err := today(ctx, tx, companyID, now)
		if err != nil {
			return err
		}
		if c, err = applyDue(ctx, tx, c, companyID, companyCode, day, now); err != nil {
			return err
		}
		all, err := listAddresses(ctx, tx, c, true)
		if err != nil {
			return err
		}
		for _, a := range all {
			if product == "" || a.AddressType == Home || a.AddressType == Permanent ||
				(a.AddressType == Temporary && slices.Contains(strings.Split(a.Product, ","), product)) {
				out = append(out, a)
			}
		}
		return nil
	})
	return out, err
}

func listAddresses(ctx context.Context, q store.Queryer, c *Customer, historical bool) ([]Address, error) {
	out := []Address{homeOf(c)}
	rows, err := q.QueryContext(ctx, `SELECT `+addressColumns+` FROM customer_addresses WHERE customer_id = $1
		ORDER BY CASE WHEN address_type = 'historical' THEN 1 ELSE 0 END,
		CASE WHEN address_type = 'historical' THEN '' ELSE start_date END, address_id`, c.id)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var hist []Address
	for rows.Next() {
		a, err := scanAddress(rows)
		if err != nil {
			return nil, err
		}
		if a.AddressType == Historical {
			hist = append(hist, a)
		} else {
			out = append(out, a)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if historical {
		slices.Reverse(hist) // newest (highest id) first
		out = append(out, hist...)
	}
	return out, nil
}

// applyDue makes due permanent changes the home address and ends past
// temporary changes; it returns the customer as it is afterwards.
func applyDue(ctx context.Context, tx *sql.Tx, c *Customer, companyID int64, companyCode, day string, now time.Time) (*Customer, error) {
	ms := now.UnixMilli()
	if _, err := tx.ExecContext(ctx, `UPDATE customer_addresses SET address_type = 'historical', updated_at = $3
		WHERE customer_id = $1 AND address_type = 'temporary' AND end_date <> '' AND end_date < $2`, c.id, day, ms); err != nil {
		return nil, store.Translate(err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+addressColumns+` FROM customer_addresses
		WHERE customer_id = $1 AND address_type = 'permanent' AND start_date <= $2 ORDER BY start_date, address_id`, c.id, day)
	if err != nil {
		return nil, store.Translate(err)
	}
	var due []Address
	for rows.Next() {
		a, err := scanAddress(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		due = append(due, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(due) == 0 {
		return c, nil
	}
	for _, a := range due {
		endOld := a.Period.StartDate
		if t, err := time.Parse("2006-01-02", endOld); err == nil {
			endOld = t.AddDate(0, 0, -1).Format("2006-01-02")
		}
		if err := replaceHome(ctx, tx, c, a, endOld, ms); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM customer_addresses WHERE customer_id = $1 AND address_id = $2`, c.id, a.ID); err != nil {
			return nil, store.Translate(err)
		}
		if c, err = Get(ctx, tx, companyID, c.CustomerNumber); err != nil {
			return nil, err
		}
	}
	if _, err := event.Record(ctx, tx, event.Event{CompanyID: companyID, Source: companyCode, Type: "customer", Status: "update",
		Data: map[string]any{"customerNumber": c.CustomerNumber}, Time: now}); err != nil {
		return nil, err
	}
	return c, nil
}

// replaceHome writes a as the home address, keeping the old one as a
// historical address that ended on endOld.
func replaceHome(ctx context.Context, tx *sql.Tx, c *Customer, a Address, endOld string, ms int64) error {
	if old := homeOf(c); !old.empty() {
		old.AddressType = Historical
		old.Period = &Period{EndDate: endOld}
		if _, err := insertAddress(ctx, tx, c, old, ms); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE customers SET care_of_address = $2, street_address = $3, street_number = $4,
		entrance = $5, postal_code = $6, postal_place = $7, postal_address = $8, postal_address_postal_code = $9,
		postal_address_postal_place = $10, country_code = $11, search_street = $12, updated_at = $13 WHERE id = $1`,
		c.id, a.CareOfAddress, a.StreetAddress, a.StreetNumber, a.Entrance, a.PostalCode, a.PostalPlace, a.PostalAddress,
		a.PostalAddressPostalCode, a.PostalAddressPostalPlace, a.CountryCode, Fold(a.StreetAddress), ms)
	return store.Translate(err)
}

// insertAddress stores a under the customer's next address id and returns it.
func insertAddress(ctx context.Context, tx *sql.Tx, c *Customer, a Address, ms int64) (int64, error) {
	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(address_id), $2) + 1 FROM customer_addresses WHERE customer_id = $1`,
		c.id, HomeAddressID).Scan(&next); err != nil {
		return 0, store.Translate(err)
	}
	var start, end string
	if a.Period != nil {
		start, end = a.Period.StartDate, a.Period.EndDate
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO customer_addresses (company_id, customer_id, address_id, address_type,
		products, start_date, end_date, care_of_address, street_address, street_number, entrance, postal_code,
		postal_place, postal_address, postal_address_postal_code, postal_address_postal_place, country_code,
		created_at, updated_at)
		SELECT company_id, id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17
		FROM customers WHERE id = $1`,
		c.id, next, a.AddressType, a.Product, start, end, a.CareOfAddress, a.StreetAddress, a.StreetNumber, a.Entrance,
		a.PostalCode, a.PostalPlace, a.PostalAddress, a.PostalAddressPostalCode, a.PostalAddressPostalPlace,
		a.CountryCode, ms)
	return next, store.Translate(err)
}

// ChangeAddress performs an address-change request in one transaction and
// returns the home address and future changes afterwards.
func ChangeAddress(ctx context.Context, db *store.DB, companyID int64, companyCode string, number int64, req *AddressChange, hasSub SubscriptionCheck, now time.Time) ([]Address, error) {
	var out []Address
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		// Lock the customer row first, so concurrent changes of one customer
		// queue instead of racing for address ids.
		res, err := tx.ExecContext(ctx, `UPDATE customers SET updated_at = $3 WHERE company_id = $1 AND customer_number = $2`,
			companyID, number, now.UnixMilli())
		if err != nil {
			return store.Translate(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "no customer %d", number)
		}
		c, err := Get(ctx, tx, companyID, number)
		if err != nil {
			return err
		}
		day, loc, err := today(ctx, tx, companyID, now)
		if err != nil {
			return err
		}
		if c, err = applyDue(ctx, tx, c, companyID, companyCode, day, now); err != nil {
			return err
		}
		if err := changeAddress(ctx, tx, c, companyID, req, hasSub, day, loc, now); err != nil {
			return err
		}
		if c, err = Get(ctx, tx, companyID, number); err != nil {
			return err
		}
		if out, err = listAddresses(ctx, tx, c, false); err != nil {
			return err
		}
		_, err = event.Record(ctx, tx, event.Event{CompanyID: companyID, Source: companyCode, Type: "customer", Status: "update",
			Data: map[string]any{"customerNumber": number}, Time: now})
		return err
	})
	return out, err
}

func getAddress(ctx context.Context, q store.Queryer, c *Customer, id int64) (Address, error) {
	a, err := scanAddress(q.QueryRowContext(ctx, `SELECT `+addressColumns+` FROM customer_addresses
		WHERE customer_id = $1 AND address_id = $2`, c.id, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, errs.E(errs.NotFound, "no address %d", id)
	}
	return a, store.Translate(err)
}

func changeAddress(ctx context.Context, tx *sql.Tx, c *Customer, companyID int64, req *AddressChange, hasSub SubscriptionCheck, day string, loc *time.Location, now time.Time) error {
	ms := now.UnixMilli()
	kind := strings.ToLower(req.ChangeType)
	var period Period
	if req.Period != nil {
		if !req.Period.StartDate.IsZero() {
			period.StartDate = req.Period.StartDate.Time(loc).In(loc).Format("2006-01-02")
		}
		if !req.Period.EndDate.IsZero() {
			period.EndDate = req.Period.EndDate.Time(loc).In(loc).Format("2006-01-02")
		}
	}
	// addressData validates the address fields (countryCode required).
	addressData := func() (Address, error) {
		co, _, err := companyOf(ctx, tx, companyID)
		if err != nil {
			return Address{}, err
		}
		in := req.input()
		if in.CountryCode == nil || strings.TrimSpace(*in.CountryCode) == "" {
			return Address{}, errs.Field("countryCode", "required")
		}
		f, err := in.normalize("", nil, co.Country, RequireNone, loc)
		if err != nil {
			return Address{}, err
		}
		if f.street == "" && f.postalAddress == "" {
			return Address{}, errs.Field("streetAddress", "required (or postalAddress)")
		}
		if f.postalCode == "" {
			return Address{}, errs.Field("postalCode", "required")
		}
		return Address{CareOfAddress: f.careOf, StreetAddress: f.street, StreetNumber: f.streetNumber, Entrance: f.entrance,
			PostalCode: f.postalCode, PostalPlace: f.postalPlace, PostalAddress: f.postalAddress,
			PostalAddressPostalCode: f.postalAddressCode, PostalAddressPostalPlace: f.postalAddressPlace, CountryCode: f.country}, nil
	}
	// products validates the product list of a temporary change.
	products := func() (string, error) {
		if req.Product == "" {
			return "", errs.Field("product", "required")
		}
		var list []string
		for _, p := range strings.Split(req.Product, ",") {
			p = strings.TrimSpace(p)
			if p == "" || len(p) > 12 {
				return "", errs.Field("product", "each product code must be 1 to 12 characters")
			}
			ok, err := hasSub(ctx, tx, companyID, c.CustomerNumber, p)
			if err != nil {
				return "", err
			}
			if !ok {
				return "", errs.Field("product", "the customer has no subscription on %s", p)
			}
			if !slices.Contains(list, p) {
				list = append(list, p)
			}
		}
		return strings.Join(list, ","), nil
	}
	checkDates := func(temporary bool) error {
		if period.StartDate == "" {
			return errs.Field("period.startDate", "required")
		}
		if period.StartDate <= day {
			return errs.Field("period.startDate", "must be in the future")
		}
		if temporary {
			if period.EndDate == "" {
				return errs.Field("period.endDate", "required")
			}
			if period.EndDate <= period.StartDate {
				return errs.Field("period.endDate", "must be after startDate")
			}
		} else {
			period.EndDate = ""
		}
		return nil
	}
	// overlaps checks temporary changes of the same products (or permanent
	// changes on the same day), skipping the address being changed.
	overlaps := func(a Address, skip int64) error {
		all, err := listAddresses(ctx, tx, c, false)
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.ID == skip || o.Period == nil || o.AddressType != a.AddressType {
				continue
			}
			if a.AddressType == Permanent {
				if o.Period.StartDate == a.Period.StartDate {
					return errs.Field("period.startDate", "another permanent change starts on %s", o.Period.StartDate)
				}
				continue
			}
			shared := false
			for _, p := range strings.Split(a.Product, ",") {
				shared = shared || slices.Contains(strings.Split(o.Product, ","), p)
			}
			if shared && a.Period.StartDate <= o.Period.EndDate && o.Period.StartDate <= a.Period.EndDate {
				return errs.Field("period", "overlaps the temporary change %d", o.ID)
			}
		}
		return nil
	}

	switch kind {
	case "update":
		if req.ID == nil || *req.ID == HomeAddressID {
			if req.Period != nil {
				if req.ID == nil {
					return errs.Field("period", "a period needs the id of a future address change")
				}
				return errs.Field("period", "the home address has no period")
			}
			a, err := addressData()
			if err != nil {
				return err
			}
			return replaceHome(ctx, tx, c, a, now.In(loc).AddDate(0, 0, -1).Format("2006-01-02"), ms)
		}
		a, err := getAddress(ctx, tx, c, *req.ID)
		if err != nil {
			return err
		}
		if a.AddressType == Historical {
			return errs.Field("id", "a historical address cannot be changed")
		}
		if req.Period == nil {
			return errs.Field("period", "required: only the period of a future address change can be updated (delete it and create a new one to change the address)")
		}
		if period.StartDate == "" {
			period.StartDate = a.Period.StartDate
		}
		if period.StartDate != a.Period.StartDate || a.Period.StartDate > day {
			if err := checkDates(a.AddressType == Temporary); err != nil {
				return err
			}
		} else if a.AddressType == Temporary && (period.EndDate == "" || period.EndDate < day) {
			return errs.Field("period.endDate", "must be today or later")
		}
		a.Period = &period
		if err := overlaps(a, a.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE customer_addresses SET start_date = $3, end_date = $4, updated_at = $5
			WHERE customer_id = $1 AND address_id = $2`, c.id, a.ID, period.StartDate, period.EndDate, ms)
		return store.Translate(err)

	case "delete":
		if req.ID == nil {
			return errs.Field("id", "required")
		}
		if *req.ID == HomeAddressID {
			return errs.Field("id", "the home address cannot be deleted")
		}
		a, err := getAddress(ctx, tx, c, *req.ID)
		if err != nil {
			return err
		}
		if a.AddressType == Historical || a.Period == nil || a.Period.StartDate <= day {
			return errs.Field("id", "only a future address change can be deleted, before its start date")
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM customer_addresses WHERE customer_id = $1 AND address_id = $2`, c.id, a.ID)
		return store.Translate(err)

	case "create", "createpermanent":
		permanent := kind == "createpermanent"
		var a Address
		var err error
		if req.ID != nil {
			if *req.ID == HomeAddressID {
				return errs.Field("id", "the home address cannot be reused; give the id of a historical address")
			}
			if a, err = getAddress(ctx, tx, c, *req.ID); err != nil {
				return err
			}
			if a.AddressType != Historical {
				return errs.Field("id", "only a historical address can be reused")
			}
		} else if a, err = addressData(); err != nil {
			return err
		}
		if err := checkDates(!permanent); err != nil {
			return err
		}
		a.Period = &period
		if permanent {
			a.AddressType, a.Product = Permanent, ""
		} else {
			a.AddressType = Temporary
			if a.Product, err = products(); err != nil {
				return err
			}
		}
		if err := overlaps(a, -1); err != nil {
			return err
		}
		_, err = insertAddress(ctx, tx, c, a, ms)
		return err
	}
	return errs.Field("changeType", "must be update, delete, create or createPermanent")
}

// ErrNoSubscription is the 404 of address-product-list.
func ErrNoSubscription(product string) error {
	return errs.E(errs.NotFound, "%s", fmt.Sprintf("no subscription on %s", product))
}
