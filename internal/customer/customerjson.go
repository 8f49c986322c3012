package customer

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON implements httpx.JSONAppender: a search page is encoded
// without reflection (about a quarter of its cost).
func (l CustomerList) AppendJSON(dst []byte, escapeHTML bool) []byte {
	return appendCustomerList(dst, l.Customers, escapeHTML)
}

// appendCustomerList appends {"customers":[...]} as encoding/json encodes a
// CustomerList, with or without HTML escaping.
func appendCustomerList(dst []byte, list []*Customer, escapeHTML bool) []byte {
	dst = append(dst, `{"customers":`...)
	if list == nil {
		return append(dst, "null}"...)
	}
	dst = append(dst, '[')
	for i, c := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendCustomer(dst, c, escapeHTML)
	}
	return append(dst, "]}"...)
}

// appendCustomer appends c as encoding/json encodes a Customer.
func appendCustomer(dst []byte, c *Customer, escapeHTML bool) []byte {
	if c == nil {
		return append(dst, "null"...)
	}
	str := func(name, v string) {
		if v != "" {
			dst = append(dst, name...)
			dst = appendJSONString(dst, v, escapeHTML)
		}
	}
	num := func(name string, v *int64) {
		if v != nil {
			dst = append(dst, name...)
			dst = strconv.AppendInt(dst, *v, 10)
		}
	}
	list := func(name string, v []string) {
		dst = append(dst, name...)
		if v == nil {
			dst = append(dst, "null"...)
			return
		}
		dst = append(dst, '[')
		for i, s := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, s, escapeHTML)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `{"customerNumber":`...)
	dst = strconv.AppendInt(dst, c.CustomerNumber, 10)
	str(`,"companyRegistrationNumber":`, c.CompanyRegistrationNumber)
	str(`,"companyName":`, c.CompanyName)
	str(`,"department":`, c.Department)
	str(`,"departmentName":`, c.DepartmentName)
	str(`,"firstName":`, c.FirstName)
	str(`,"middleName":`, c.MiddleName)
	str(`,"lastName":`, c.LastName)
	str(`,"careOfAddress":`, c.CareOfAddress)
	str(`,"streetAddress":`, c.StreetAddress)
	num(`,"streetNumber":`, c.StreetNumber)
	str(`,"entrance":`, c.Entrance)
	str(`,"floorType":`, c.FloorType)
	num(`,"floor":`, c.Floor)
	str(`,"suite":`, c.Suite)
	str(`,"postalCode":`, c.PostalCode)
	str(`,"postalPlace":`, c.PostalPlace)
	str(`,"postalAddress":`, c.PostalAddress)
	str(`,"postalAddressPostalCode":`, c.PostalAddressPostalCode)
	str(`,"postalAddressPostalPlace":`, c.PostalAddressPostalPlace)
	str(`,"countryCode":`, c.CountryCode)
	str(`,"birthDate":`, c.BirthDate)
	str(`,"sex":`, c.Sex)
	list(`,"emails":`, c.Emails)
	list(`,"phoneNumbers":`, c.PhoneNumbers)
	str(`,"invoiceEmailAddress":`, c.InvoiceEmailAddress)
	dst = append(dst, `,"categories":`...)
	if c.Categories == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, cat := range c.Categories {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"addressCategory":`...)
			dst = appendJSONString(dst, cat.AddressCategory, escapeHTML)
			dst = append(dst, `,"freeValue":`...)
			dst = appendJSONString(dst, cat.FreeValue, escapeHTML)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// jsonPlain[escapeHTML][b] tells whether ASCII byte b needs no escaping.
var jsonPlain = func() (t [2][utf8.RuneSelf]bool) {
	for b := byte(0x20); b < utf8.RuneSelf; b++ {
		plain := b != '"' && b != '\\'
		t[0][b] = plain
		t[1][b] = plain && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// appendJSONString quotes s as encoding/json does: ", \ and control
// characters escaped (\b \f \n \r \t by name, others as \u00XX), <, > and &
// as \u00XX only when escapeHTML, U+2028 and U+2029 always, and each byte of
// invalid UTF-8 replaced by \ufffd.
func appendJSONString(dst []byte, s string, escapeHTML bool) []byte {
	plain := &jsonPlain[0]
	if escapeHTML {
		plain = &jsonPlain[1]
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if plain[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
