package tenant

import (
	"context"
	"database/sql"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// ConnectID: accounts declared in a tenant file (demo and development data)
// and the company's external-identity prefix. Package identity applies them
// (IdentityApplier); the shapes live here because tenant parses the file.

// UserSpec is a ConnectID user who is a customer of the company. Password is
// for demo and development only: it is hashed when applied, and re-applying
// the file keeps the stored hash when the password still matches it.
type UserSpec struct {
	Email     string `yaml:"email"`
	Phone     string `yaml:"phone"` // E.164, e.g. +4712345678
	Password  string `yaml:"password"`
	FirstName string `yaml:"firstName"`
	LastName  string `yaml:"lastName"`
	Verified  *bool  `yaml:"verified"` // default true
	Customer  *bool  `yaml:"customer"` // default true: also a customer of the company
}

// IsVerified applies the default (true).
func (u UserSpec) IsVerified() bool { return u.Verified == nil || *u.Verified }

// IsCustomer applies the default (true).
func (u UserSpec) IsCustomer() bool { return u.Customer == nil || *u.Customer }

// IdentitySpec is a company's ConnectID section.
type IdentitySpec struct {
	ExternalIDPrefix string
	Users            []UserSpec
}

// IdentityApplier writes one company's ConnectID section inside the apply
// transaction and counts the users it created and updated.
type IdentityApplier func(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, spec IdentitySpec, now time.Time) (created, updated int, err error)

var (
	extIDPrefixRe = regexp.MustCompile(`^[A-Z0-9]{2,10}$`)
	e164Re        = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// HasIdentity reports whether the company has a ConnectID section.
func (c *Company) HasIdentity() bool { return len(c.Users) > 0 || c.ExternalIDPrefix != "" }

func validateIdentity(c Company, cp string, bad func(field, format string, args ...any)) {
	if c.ExternalIDPrefix != "" && !extIDPrefixRe.MatchString(c.ExternalIDPrefix) {
		bad(cp+".externalIdPrefix", "must be 2–10 upper-case letters or digits, e.g. AID")
	}
	seen := map[string]string{}
	for i, u := range c.Users {
		p := fmt.Sprintf("%s.users[%d]", cp, i)
		if u.Email == "" && u.Phone == "" {
			bad(p+".email", "an e-mail address or a phone number is required")
		}
		if u.Email != "" {
			e := strings.ToLower(strings.TrimSpace(u.Email))
			if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 60 {
				bad(p+".email", "must be an e-mail address of at most 60 characters")
			} else if prev, dup := seen[e]; dup {
				bad(p+".email", "duplicate user %q (also %s)", e, prev)
			} else {
				seen[e] = p
			}
		}
		if u.Phone != "" {
			if !e164Re.MatchString(u.Phone) {
				bad(p+".phone", "must be a mobile number in E.164 form, e.g. +4712345678")
			} else if prev, dup := seen[u.Phone]; dup {
				bad(p+".phone", "duplicate user %q (also %s)", u.Phone, prev)
			} else {
				seen[u.Phone] = p
			}
		}
		if n := utf8.RuneCountInString(u.Password); n < 8 || len(u.Password) > 256 {
			bad(p+".password", "must be 8 to 256 characters")
		}
		if utf8.RuneCountInString(u.FirstName) > 100 {
			bad(p+".firstName", "must be at most 100 characters")
		}
		if utf8.RuneCountInString(u.LastName) > 100 {
			bad(p+".lastName", "must be at most 100 characters")
		}
	}
}
