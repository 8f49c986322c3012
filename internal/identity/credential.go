// Package identity is ConnectID's account store: users, their credentials
// (e-mail, mobile number, external identities), argon2id passwords, one-time
// codes through a Sender, login sessions, remember-me tokens and login
// throttling; and the API endpoints of the area (profiles, credential check,
// external identity).
package identity

import (
	"net/mail"
	"regexp"
	"strings"

	"github.com/connect-oss/connect/internal/errs"
)

// Credential types (spec userdata.md "Credential types").
const (
	TypeEmail    = "A"
	TypePhone    = "B"
	TypeExternal = "D"
)

// Verification levels (spec README §4).
const (
	LevelNotVerified        = "notVerified"
	LevelVerificationCode   = "verificationCode"
	LevelVerificationLink   = "verificationLink"
	LevelExternallyVerified = "externallyVerified"
)

// MaxCredential is the documented length limit of a credential (README §6.3).
const MaxCredential = 60

var (
	e164Re     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	externalRe = regexp.MustCompile(`^[A-Z0-9]{2,10}:[!-~]+$`)
)

// TypeWord is the word used by List user profile for a type letter.
func TypeWord(t string) string {
	switch t {
	case TypeEmail:
		return "email"
	case TypePhone:
		return "phone"
	case TypeExternal:
		return "external"
	}
	return ""
}

// Normalize checks a credential and returns it in stored form with its type:
// e-mail addresses trimmed and lower-cased, mobile numbers in E.164 (spaces
// and dashes dropped), external ids (PREFIX:id) exactly as given. field names
// the input in error messages.
func Normalize(field, raw string) (credential, typ string, err error) {
	c := strings.TrimSpace(raw)
	switch {
	case c == "":
		return "", "", errs.Field(field, "is required")
	case len(c) > MaxCredential:
		return "", "", errs.Field(field, "must be at most %d characters", MaxCredential)
	case strings.Contains(c, "@"):
		e, err := NormalizeEmail(field, c)
		return e, TypeEmail, err
	case externalRe.MatchString(c):
		return c, TypeExternal, nil
	}
	phone := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(c)
	if strings.HasPrefix(phone, "00") {
		phone = "+" + phone[2:]
	}
	if e164Re.MatchString(phone) {
		return phone, TypePhone, nil
	}
	return "", "", errs.Field(field, "must be an e-mail address or a mobile number in E.164 form (+4712345678)")
}

// NormalizeEmail checks an e-mail address and returns it trimmed and lower-cased.
func NormalizeEmail(field, raw string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(raw))
	if len(e) > 255 {
		return "", errs.Field(field, "must be at most 255 characters")
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || !strings.Contains(e[strings.LastIndexByte(e, '@'):], ".") {
		return "", errs.Field(field, "is not a valid e-mail address")
	}
	return e, nil
}

// NormalizePhone checks a mobile number and returns it in E.164 form.
func NormalizePhone(field, raw string) (string, error) {
	c, t, err := Normalize(field, raw)
	if err != nil {
		return "", err
	}
	if t != TypePhone {
		return "", errs.Field(field, "must be a mobile number in E.164 form (+4712345678)")
	}
	return c, nil
}
