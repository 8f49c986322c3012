package tenant

import (
	"context"
	"database/sql"
	"time"
)

// Subscriptions, access and sharing: the company settings of spec
// product.md ("Company settings"). Package subscription applies them
// (ProductSettingsApplier); the shape lives here because tenant parses the
// file.

// ProductSettingsSpec overrides a company's product settings. Absent fields
// keep the defaults shown.
type ProductSettingsSpec struct {
	StopLeadDays              *int   `yaml:"stopLeadDays"`              // 1: a stop takes effect no earlier than today + this
	MaxTemporaryStopDays      *int   `yaml:"maxTemporaryStopDays"`      // 90
	VacationStopPolicy        string `yaml:"vacationStopPolicy"`        // extend (default), none or credit
	PermanentStopPolicy       string `yaml:"permanentStopPolicy"`       // endOfPeriod (default) or asRequested
	ComplaintWindowDays       *int   `yaml:"complaintWindowDays"`       // 14
	ShareInvitationPoolFactor *int   `yaml:"shareInvitationPoolFactor"` // 2
	ShareInvitationExpiryDays *int   `yaml:"shareInvitationExpiryDays"` // 30
	AllowInvoiceStart         *bool  `yaml:"allowInvoiceStart"`         // false: Start subscription only for free coupons
}

// ProductSettingsApplier writes a company's product settings inside tx and
// returns 1 when they changed.
type ProductSettingsApplier func(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, spec *ProductSettingsSpec, now time.Time) (int, error)

func validateProductSettings(c Company, cp string, bad func(field, format string, args ...any)) {
	s := c.ProductSettings
	if s == nil {
		return
	}
	p := cp + ".productSettings"
	days := func(field string, v *int, lo, hi int) {
		if v != nil && (*v < lo || *v > hi) {
			bad(p+"."+field, "must be a whole number from %d to %d", lo, hi)
		}
	}
	days("stopLeadDays", s.StopLeadDays, 0, 60)
	days("maxTemporaryStopDays", s.MaxTemporaryStopDays, 1, 366)
	days("complaintWindowDays", s.ComplaintWindowDays, 0, 365)
	days("shareInvitationPoolFactor", s.ShareInvitationPoolFactor, 1, 100)
	days("shareInvitationExpiryDays", s.ShareInvitationExpiryDays, 1, 365)
	switch s.VacationStopPolicy {
	case "", "none", "extend", "credit":
	default:
		bad(p+".vacationStopPolicy", "must be none, extend or credit")
	}
	switch s.PermanentStopPolicy {
	case "", "endOfPeriod", "asRequested":
	default:
		bad(p+".permanentStopPolicy", "must be endOfPeriod or asRequested")
	}
}
