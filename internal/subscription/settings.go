package subscription

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// Vacation (temporary) and permanent stop policies (spec product.md,
// "Company settings").
const (
	VacationNone      = "none"
	VacationExtend    = "extend"
	VacationCredit    = "credit"
	StopEndOfPeriod   = "endOfPeriod"
	StopAsRequested   = "asRequested"
	defaultLeadDays   = 1
	defaultMaxStop    = 90
	defaultComplaint  = 14
	defaultPoolFactor = 2
	defaultExpiryDays = 30
)

// Settings are a company's product settings (spec product.md, "Company
// settings"; tenant file productSettings).
type Settings struct {
	StopLeadDays              int
	MaxTemporaryStopDays      int
	VacationStopPolicy        string
	PermanentStopPolicy       string
	ComplaintWindowDays       int
	ShareInvitationPoolFactor int
	ShareInvitationExpiryDays int
	AllowInvoiceStart         bool
}

// DefaultSettings are the settings of a company without productSettings.
func DefaultSettings() Settings {
	return Settings{StopLeadDays: defaultLeadDays, MaxTemporaryStopDays: defaultMaxStop, VacationStopPolicy: VacationExtend,
		PermanentStopPolicy: StopEndOfPeriod, ComplaintWindowDays: defaultComplaint,
		ShareInvitationPoolFactor: defaultPoolFactor, ShareInvitationExpiryDays: defaultExpiryDays}
}

// LoadSettings returns the company's product settings.
func LoadSettings(ctx context.Context, q store.Queryer, companyID int64) (Settings, error) {
	var s Settings
	err := q.QueryRowContext(ctx, `SELECT stop_lead_days, max_temporary_stop_days, vacation_stop_policy, permanent_stop_policy,
		complaint_window_days, share_invitation_pool_factor, share_invitation_expiry_days, allow_invoice_start
		FROM product_settings WHERE company_id = $1`, companyID).Scan(&s.StopLeadDays, &s.MaxTemporaryStopDays,
		&s.VacationStopPolicy, &s.PermanentStopPolicy, &s.ComplaintWindowDays, &s.ShareInvitationPoolFactor,
		&s.ShareInvitationExpiryDays, &s.AllowInvoiceStart)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultSettings(), nil
	}
	return s, store.Translate(err)
}

// ApplySettings writes the product settings of a tenant file
// (tenant.Sections.ProductSettings): absent fields take the defaults. It
// returns 1 when the stored settings changed.
func ApplySettings(ctx context.Context, tx *sql.Tx, companyID int64, _ string, spec *tenant.ProductSettingsSpec, now time.Time) (int, error) {
	want := DefaultSettings()
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	set(&want.StopLeadDays, spec.StopLeadDays)
	set(&want.MaxTemporaryStopDays, spec.MaxTemporaryStopDays)
	set(&want.ComplaintWindowDays, spec.ComplaintWindowDays)
	set(&want.ShareInvitationPoolFactor, spec.ShareInvitationPoolFactor)
	set(&want.ShareInvitationExpiryDays, spec.ShareInvitationExpiryDays)
	if spec.VacationStopPolicy != "" {
		want.VacationStopPolicy = spec.VacationStopPolicy
	}
	if spec.PermanentStopPolicy != "" {
		want.PermanentStopPolicy = spec.PermanentStopPolicy
	}
	if spec.AllowInvoiceStart != nil {
		want.AllowInvoiceStart = *spec.AllowInvoiceStart
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) > 0 FROM product_settings WHERE company_id = $1`, companyID).Scan(&exists); err != nil {
		return 0, store.Translate(err)
	}
	if exists {
		have, err := LoadSettings(ctx, tx, companyID)
		if err != nil {
			return 0, err
		}
		if have == want {
			return 0, nil
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO product_settings (company_id, stop_lead_days, max_temporary_stop_days,
		vacation_stop_policy, permanent_stop_policy, complaint_window_days, share_invitation_pool_factor,
		share_invitation_expiry_days, allow_invoice_start, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (company_id) DO UPDATE SET stop_lead_days = $2, max_temporary_stop_days = $3, vacation_stop_policy = $4,
		permanent_stop_policy = $5, complaint_window_days = $6, share_invitation_pool_factor = $7,
		share_invitation_expiry_days = $8, allow_invoice_start = $9, updated_at = $10`,
		companyID, want.StopLeadDays, want.MaxTemporaryStopDays, want.VacationStopPolicy, want.PermanentStopPolicy,
		want.ComplaintWindowDays, want.ShareInvitationPoolFactor, want.ShareInvitationExpiryDays, want.AllowInvoiceStart,
		now.UnixMilli())
	if err != nil {
		return 0, store.Translate(err)
	}
	return 1, nil
}
