package customer

import (
	"fmt"
	"strings"
	"testing"
)

// customerPage decodes rows of customerColumns by position; every column must
// land in its own field, over several rows (the text of a page is shared).
func TestCustomerPageDecodesCustomerColumns(t *testing.T) {
	text := map[string]func(c *Customer) string{
		"company_registration_number": func(c *Customer) string { return c.CompanyRegistrationNumber },
		"company_name":                func(c *Customer) string { return c.CompanyName },
		"department":                  func(c *Customer) string { return c.Department },
		"department_name":             func(c *Customer) string { return c.DepartmentName },
		"first_name":                  func(c *Customer) string { return c.FirstName },
		"middle_name":                 func(c *Customer) string { return c.MiddleName },
		"last_name":                   func(c *Customer) string { return c.LastName },
		"care_of_address":             func(c *Customer) string { return c.CareOfAddress },
		"street_address":              func(c *Customer) string { return c.StreetAddress },
		"entrance":                    func(c *Customer) string { return c.Entrance },
		"floor_type":                  func(c *Customer) string { return c.FloorType },
		"suite":                       func(c *Customer) string { return c.Suite },
		"postal_code":                 func(c *Customer) string { return c.PostalCode },
		"postal_place":                func(c *Customer) string { return c.PostalPlace },
		"postal_address":              func(c *Customer) string { return c.PostalAddress },
		"postal_address_postal_code":  func(c *Customer) string { return c.PostalAddressPostalCode },
		"postal_address_postal_place": func(c *Customer) string { return c.PostalAddressPostalPlace },
		"country_code":                func(c *Customer) string { return c.CountryCode },
		"birth_date":                  func(c *Customer) string { return c.BirthDate },
		"sex":                         func(c *Customer) string { return c.Sex },
		"invoice_email":               func(c *Customer) string { return c.InvoiceEmailAddress },
	}
	num := func(p *int64) string {
		if p == nil {
			return "NULL"
		}
		return fmt.Sprint(*p)
	}
	numbers := map[string]func(c *Customer) string{
		"id":              func(c *Customer) string { return fmt.Sprint(c.id) },
		"customer_number": func(c *Customer) string { return fmt.Sprint(c.CustomerNumber) },
		"user_id":         func(c *Customer) string { return num(c.userID) },
		"street_number":   func(c *Customer) string { return num(c.StreetNumber) },
		"floor":           func(c *Customer) string { return num(c.Floor) },
	}
	columns := strings.Split(customerColumns, ",")
	var page customerPage
	for row := 0; row < 3; row++ {
		vals := make([][]byte, len(columns))
		for i, col := range columns {
			col = strings.TrimSpace(col)
			switch {
			case numbers[col] != nil:
				if row == 1 && col != "id" && col != "customer_number" {
					continue // NULL
				}
				vals[i] = []byte(fmt.Sprint(row*100 + i))
			case col == "emails":
				vals[i] = []byte(fmt.Sprintf(`["e%d@example.no","f@example.no"]`, row))
			case col == "phone_numbers":
				vals[i] = []byte("[]")
			case col == "email", col == "phone":
				vals[i] = []byte(fmt.Sprintf("%s-%d", col, row))
			default:
				if text[col] == nil {
					t.Fatalf("column %s: teach this test and customerPage", col)
				}
				vals[i] = []byte(fmt.Sprintf("%s-%d-ø", col, row))
			}
		}
		if err := page.add(vals); err != nil {
			t.Fatal(err)
		}
	}
	for row, c := range page.customers() {
		for i, col := range columns {
			col = strings.TrimSpace(col)
			want := fmt.Sprintf("%s-%d-ø", col, row)
			get := text[col]
			if get == nil {
				if get = numbers[col]; get == nil {
					continue
				}
				want = fmt.Sprint(row*100 + i)
				if row == 1 && col != "id" && col != "customer_number" {
					want = "NULL"
				}
			}
			if got := get(c); got != want {
				t.Errorf("row %d, %s = %q, want %q", row, col, got, want)
			}
		}
		if want := fmt.Sprintf(`[e%d@example.no f@example.no]`, row); fmt.Sprint(c.Emails) != want {
			t.Errorf("row %d: emails %v, want %s", row, c.Emails, want)
		}
		if want := fmt.Sprintf(`[phone-%d]`, row); fmt.Sprint(c.PhoneNumbers) != want {
			t.Errorf("row %d: phone numbers %v, want %s (the single column when the list is empty)", row, c.PhoneNumbers, want)
		}
		if c.Categories == nil || len(c.Categories) != 0 {
			t.Errorf("row %d: categories %#v, want empty", row, c.Categories)
		}
	}
}
