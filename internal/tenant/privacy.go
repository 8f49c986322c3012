package tenant

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Privacy: a company's consent definitions, channel and purpose catalogues,
// enterprises and order types, and retention settings (spec privacy.md: "company
// settings; no endpoint changes them"). Package privacy applies them
// (PrivacyApplier); the shapes live here because tenant parses the file.

// PrivacySpec is the privacy section of a company. Absent fields keep the
// defaults shown.
type PrivacySpec struct {
	DefaultLanguage          string           `yaml:"defaultLanguage"`          // by country: nb_NO, sv_SE, da_DK, fi_FI
	ConsentEvidenceYears     *int             `yaml:"consentEvidenceYears"`     // 3: erased consent history kept as proof
	AccountingRetentionYears *int             `yaml:"accountingRetentionYears"` // by country: 5 NO/DK, 7 SE, 6 FI
	Channels                 []string         `yaml:"channels"`                 // TM, DM, EM, SM
	Purposes                 []string         `yaml:"purposes"`                 // default: the channel codes
	Enterprises              []EnterpriseSpec `yaml:"enterprises"`              // the company code is always one
	Issuers                  []IssuerSpec     `yaml:"issuers"`
}

// EnterpriseSpec is a marketing sender of the company with its order types
// (product groups, usually one publication each).
type EnterpriseSpec struct {
	Code       string   `yaml:"code"`
	OrderTypes []string `yaml:"orderTypes"`
}

// IssuerSpec is a consent issuer (usually an organisation number) with its
// consent groups and consents.
type IssuerSpec struct {
	Issuer        string             `yaml:"issuer"`
	ConsentGroups []ConsentGroupSpec `yaml:"consentGroups"`
	Consents      []ConsentSpec      `yaml:"consents"`
}

// ConsentGroupSpec orders consents in forms. ConsentGroupID is the id
// clients see: given in the file so it stays stable, unique on the server.
type ConsentGroupSpec struct {
	ConsentGroupID int                `yaml:"consentGroupId"`
	SelectionOrder int                `yaml:"selectionOrder"`
	Active         *bool              `yaml:"active"` // default true
	Texts          []ConsentLabelSpec `yaml:"texts"`
}

// ConsentLabelSpec is a group's name and description in one language.
type ConsentLabelSpec struct {
	LanguageCode string `yaml:"languageCode"`
	Name         string `yaml:"name"`
	Description  string `yaml:"description"`
}

// ConsentSpec is one consent; target and scope identify it within its
// issuer and never change once applied (events refer to it).
type ConsentSpec struct {
	ConsentID       int               `yaml:"consentId"`
	ConsentGroupID  int               `yaml:"consentGroupId"`  // 0: no group
	ParentConsentID int               `yaml:"parentConsentId"` // 0: top level
	Target          string            `yaml:"target"`
	Scope           string            `yaml:"scope"`
	SelectionOrder  int               `yaml:"selectionOrder"`
	DisplayMode     string            `yaml:"displayMode"` // A (default) or H
	Active          *bool             `yaml:"active"`      // default true
	Created         string            `yaml:"created"`     // date or RFC 3339; default: when first applied
	Texts           []ConsentTextSpec `yaml:"texts"`
}

// ConsentTextSpec is a consent's text in one language: its label and the
// versions of the wording shown to the person, oldest first.
type ConsentTextSpec struct {
	LanguageCode string               `yaml:"languageCode"`
	Name         string               `yaml:"name"`
	Description  string               `yaml:"description"`
	Versions     []ConsentVersionSpec `yaml:"versions"`
}

// ConsentVersionSpec is one published wording, in force from FromDate (a
// date, 00:00 in the company's zone, or an RFC 3339 instant) until the next
// version's FromDate. A stored version never changes.
type ConsentVersionSpec struct {
	Text     string `yaml:"text"`
	FromDate string `yaml:"fromDate"`
}

// PrivacyApplier writes one company's privacy section inside the apply
// transaction and counts what it created or changed.
type PrivacyApplier func(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, spec *PrivacySpec, now time.Time) (changed int, err error)

// ReservedEnterpriseCodes cannot be enterprise codes: they are literal path
// segments beside /privacy/{enterpriseCode} (spec README §14).
var ReservedEnterpriseCodes = []string{"consents", "consentEvent", "consent"}

var (
	privacyCode  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,12}$`)
	languageCode = regexp.MustCompile(`^[a-z]{2}_[A-Z]{2}$`)
)

// IsReservedEnterpriseCode reports whether code clashes with a literal path
// segment (compared without regard to case).
func IsReservedEnterpriseCode(code string) bool {
	for _, r := range ReservedEnterpriseCodes {
		if strings.EqualFold(code, r) {
			return true
		}
	}
	return false
}

// validatePrivacy checks the privacy section of company c (path cp).
// consentIDs and groupIDs collect ids across companies: they are unique on
// the server.
func validatePrivacy(c Company, cp string, consentIDs, groupIDs map[int]string, bad func(field, format string, args ...any)) {
	s := c.Privacy
	if s == nil {
		return
	}
	pp := cp + ".privacy"
	if s.DefaultLanguage != "" && !languageCode.MatchString(s.DefaultLanguage) {
		bad(pp+".defaultLanguage", "must be a language code such as nb_NO")
	}
	if v := s.ConsentEvidenceYears; v != nil && (*v < 1 || *v > 30) {
		bad(pp+".consentEvidenceYears", "must be a whole number from 1 to 30")
	}
	if v := s.AccountingRetentionYears; v != nil && (*v < 1 || *v > 30) {
		bad(pp+".accountingRetentionYears", "must be a whole number from 1 to 30")
	}
	codeList := func(field string, list []string) {
		seen := map[string]bool{}
		for i, v := range list {
			f := fmt.Sprintf("%s.%s[%d]", pp, field, i)
			switch {
			case !privacyCode.MatchString(v):
				bad(f, "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
			case seen[strings.ToUpper(v)]:
				bad(f, "duplicate code %q", v)
			}
			seen[strings.ToUpper(v)] = true
		}
	}
	codeList("channels", s.Channels)
	codeList("purposes", s.Purposes)
	if s.Channels != nil && len(s.Channels) == 0 {
		bad(pp+".channels", "must list at least one channel (leave it out for TM, DM, EM, SM)")
	}
	enterprises := map[string]string{}
	for i, e := range s.Enterprises {
		p := fmt.Sprintf("%s.enterprises[%d]", pp, i)
		switch {
		case !privacyCode.MatchString(e.Code):
			bad(p+".code", "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
		case IsReservedEnterpriseCode(e.Code):
			bad(p+".code", "%q is a path segment of the API and cannot be an enterprise code", e.Code)
		case enterprises[e.Code] != "":
			bad(p+".code", "duplicate enterprise %q (also %s)", e.Code, enterprises[e.Code])
		default:
			enterprises[e.Code] = p
		}
		seen := map[string]bool{}
		for j, o := range e.OrderTypes {
			f := fmt.Sprintf("%s.orderTypes[%d]", p, j)
			switch {
			case !privacyCode.MatchString(o):
				bad(f, "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
			case seen[o]:
				bad(f, "duplicate order type %q", o)
			}
			seen[o] = true
		}
	}
	issuers := map[string]string{}
	for i, is := range s.Issuers {
		ip := fmt.Sprintf("%s.issuers[%d]", pp, i)
		switch {
		case strings.TrimSpace(is.Issuer) == "":
			bad(ip+".issuer", "is required")
		case len(is.Issuer) > 255 || strings.ContainsAny(is.Issuer, "/?#"):
			bad(ip+".issuer", "must be at most 255 characters without /, ? or #")
		case issuers[is.Issuer] != "":
			bad(ip+".issuer", "duplicate issuer %q (also %s)", is.Issuer, issuers[is.Issuer])
		default:
			issuers[is.Issuer] = ip
		}
		groups := map[int]bool{}
		for j, g := range is.ConsentGroups {
			gp := fmt.Sprintf("%s.consentGroups[%d]", ip, j)
			switch {
			case g.ConsentGroupID <= 0 || g.ConsentGroupID > 999999999:
				bad(gp+".consentGroupId", "must be a whole number from 1 to 999999999")
			case groupIDs[g.ConsentGroupID] != "":
				bad(gp+".consentGroupId", "duplicate consentGroupId %d (also %s); ids are unique on the server", g.ConsentGroupID, groupIDs[g.ConsentGroupID])
			default:
				groupIDs[g.ConsentGroupID] = gp
			}
			groups[g.ConsentGroupID] = true
			validateLabels(gp, g.Texts, bad)
		}
		pairs := map[string]string{}
		parents := map[int]int{}
		for j, cs := range is.Consents {
			p := fmt.Sprintf("%s.consents[%d]", ip, j)
			switch {
			case cs.ConsentID <= 0 || cs.ConsentID > 999999999:
				bad(p+".consentId", "must be a whole number from 1 to 999999999")
			case consentIDs[cs.ConsentID] != "":
				bad(p+".consentId", "duplicate consentId %d (also %s); ids are unique on the server", cs.ConsentID, consentIDs[cs.ConsentID])
			default:
				consentIDs[cs.ConsentID] = p
			}
			parents[cs.ConsentID] = cs.ParentConsentID
			for _, f := range []struct{ name, v string }{{"target", cs.Target}, {"scope", cs.Scope}} {
				if strings.TrimSpace(f.v) == "" {
					bad(p+"."+f.name, "is required")
				} else if len(f.v) > 255 {
					bad(p+"."+f.name, "must be at most 255 characters")
				}
			}
			key := cs.Target + "\x00" + cs.Scope
			if prev := pairs[key]; prev != "" {
				bad(p+".scope", "target %q and scope %q are used twice in the issuer (also %s)", cs.Target, cs.Scope, prev)
			}
			pairs[key] = p
			if cs.ConsentGroupID != 0 && !groups[cs.ConsentGroupID] {
				bad(p+".consentGroupId", "is not a consent group of this issuer")
			}
			switch cs.DisplayMode {
			case "", "A", "H":
			default:
				bad(p+".displayMode", "must be A (shown in forms) or H (hidden from self-service)")
			}
			if cs.Created != "" {
				if _, err := ProductTime(cs.Created, time.UTC, false); err != nil {
					bad(p+".created", "%s", err)
				}
			}
			validateConsentTexts(p, cs.Texts, bad)
		}
		// Parents belong to the same issuer and never form a cycle.
		for j, cs := range is.Consents {
			if cs.ParentConsentID == 0 {
				continue
			}
			p := fmt.Sprintf("%s.consents[%d].parentConsentId", ip, j)
			if _, ok := parents[cs.ParentConsentID]; !ok {
				bad(p, "is not a consent of this issuer")
				continue
			}
			seen := map[int]bool{cs.ConsentID: true}
			for at := cs.ParentConsentID; at != 0; at = parents[at] {
				if seen[at] {
					bad(p, "consents must not be their own ancestors")
					break
				}
				seen[at] = true
			}
		}
	}
}

func validateLabels(p string, texts []ConsentLabelSpec, bad func(field, format string, args ...any)) {
	langs := map[string]bool{}
	for k, t := range texts {
		tp := fmt.Sprintf("%s.texts[%d]", p, k)
		switch {
		case !languageCode.MatchString(t.LanguageCode):
			bad(tp+".languageCode", "must be a language code such as nb_NO")
		case langs[t.LanguageCode]:
			bad(tp+".languageCode", "duplicate language %s", t.LanguageCode)
		}
		langs[t.LanguageCode] = true
		if strings.TrimSpace(t.Name) == "" || utf8.RuneCountInString(t.Name) > 255 {
			bad(tp+".name", "is required, at most 255 characters")
		}
		if utf8.RuneCountInString(t.Description) > 4000 {
			bad(tp+".description", "must be at most 4000 characters")
		}
	}
}

func validateConsentTexts(p string, texts []ConsentTextSpec, bad func(field, format string, args ...any)) {
	labels := make([]ConsentLabelSpec, len(texts))
	for k, t := range texts {
		labels[k] = ConsentLabelSpec{LanguageCode: t.LanguageCode, Name: t.Name, Description: t.Description}
		var prev time.Time
		for v, ver := range t.Versions {
			vp := fmt.Sprintf("%s.texts[%d].versions[%d]", p, k, v)
			if strings.TrimSpace(ver.Text) == "" || utf8.RuneCountInString(ver.Text) > 4000 {
				bad(vp+".text", "is required, at most 4000 characters")
			}
			from, err := ProductTime(ver.FromDate, time.UTC, false)
			switch {
			case ver.FromDate == "":
				bad(vp+".fromDate", "is required")
			case err != nil:
				bad(vp+".fromDate", "%s", err)
			case v > 0 && !from.After(prev):
				bad(vp+".fromDate", "must be after the previous version's fromDate (versions never overlap)")
			}
			prev = from
		}
	}
	validateLabels(p, labels, bad)
}
