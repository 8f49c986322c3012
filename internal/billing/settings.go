// Package billing owns invoices (lines, KID references, reminders, credit
// notes), payments and charges through payment gateways, stored payment
// means (encrypted at rest) and the hosted payment flows, and serves the
// Payment Services operations (spec payment.md). The renewal and dunning
// runs that drive it live in internal/jobs.
package billing

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// Settings are a company's billing rules (spec payment.md; tenant file "billing").
type Settings struct {
	InvoiceLeadDays       int
	PaymentTermDays       int
	ReminderDelayDays     int
	ReminderIntervalDays  int
	ReminderFee           int64 // minor units
	MaxReminders          int
	CollectionNotice      bool
	RenewalInvoiceIsOffer bool
	SuspendAfterDays      int
	ChargeRetryDays       []int
	KidCheck              string // mod10, mod11
	KidLength             int
}

// DefaultSettings are the spec's defaults.
func DefaultSettings() Settings {
	return Settings{InvoiceLeadDays: 14, PaymentTermDays: 14, ReminderDelayDays: 7, ReminderIntervalDays: 14,
		MaxReminders: 2, RenewalInvoiceIsOffer: true, SuspendAfterDays: 14, ChargeRetryDays: []int{1, 3},
		KidCheck: "mod10", KidLength: 10}
}

// LoadSettings returns the company's settings (defaults when none are stored).
func LoadSettings(ctx context.Context, q store.Queryer, companyID int64) (Settings, error) {
	s := DefaultSettings()
	var retry string
	err := q.QueryRowContext(ctx, `SELECT invoice_lead_days, payment_term_days, reminder_delay_days, reminder_interval_days,
		reminder_fee, max_reminders, collection_notice, renewal_invoice_is_offer, suspend_after_days, charge_retry_days,
		kid_check, kid_length FROM billing_settings WHERE company_id = $1`, companyID).Scan(
		&s.InvoiceLeadDays, &s.PaymentTermDays, &s.ReminderDelayDays, &s.ReminderIntervalDays, &s.ReminderFee,
		&s.MaxReminders, &s.CollectionNotice, &s.RenewalInvoiceIsOffer, &s.SuspendAfterDays, &retry, &s.KidCheck, &s.KidLength)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, store.Translate(err)
	}
	s.ChargeRetryDays = parseDays(retry)
	return s, nil
}

func parseDays(s string) []int {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func joinDays(d []int) string {
	parts := make([]string, len(d))
	for i, v := range d {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

// Provider is a configured payment provider of a company.
type Provider struct {
	ID             int64
	CompanyID      int64
	Kind           string // klarna, nexi, payex, vipps
	Implementation string // test
	MerchantID     string
}

// ProviderOf returns the company's configuration of the provider kind, or
// Forbidden when the company has none (spec README §8: the feature is missing).
func ProviderOf(ctx context.Context, q store.Queryer, companyID int64, kind string) (*Provider, error) {
	p := Provider{CompanyID: companyID, Kind: kind}
	err := q.QueryRowContext(ctx, `SELECT id, implementation, merchant_id FROM payment_providers WHERE company_id = $1 AND provider = $2`,
		companyID, kind).Scan(&p.ID, &p.Implementation, &p.MerchantID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.Forbidden, "the company has no %s payment provider configured", kind)
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	return &p, nil
}

// providerByID returns the company's provider with that id, or NotFound.
func providerByID(ctx context.Context, q store.Queryer, companyID, id int64) (*Provider, error) {
	p := Provider{ID: id, CompanyID: companyID}
	err := q.QueryRowContext(ctx, `SELECT provider, implementation, merchant_id FROM payment_providers WHERE company_id = $1 AND id = $2`,
		companyID, id).Scan(&p.Kind, &p.Implementation, &p.MerchantID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no payment provider %d", id)
	}
	return &p, store.Translate(err)
}

// ApplyTenant writes the company's payment providers and billing settings
// (tenant.BillingApplier). Providers are upserted by kind; a paymentProviderId
// already used by another company is a Conflict. It returns how many rows changed.
func ApplyTenant(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, providers []tenant.PaymentProviderSpec, b *tenant.BillingSpec, now time.Time) (int, error) {
	ms := now.UnixMilli()
	changed := 0
	for _, p := range providers {
		var owner int64
		var impl, merchant, kind string
		err := tx.QueryRowContext(ctx, `SELECT company_id, provider, implementation, merchant_id FROM payment_providers WHERE id = $1`,
			p.PaymentProviderID).Scan(&owner, &kind, &impl, &merchant)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// A kind configured before under another id is renumbered.
			res, err := tx.ExecContext(ctx, `UPDATE payment_providers SET id = $3, implementation = $4, merchant_id = $5, updated_at = $6
				WHERE company_id = $1 AND provider = $2`, companyID, p.Provider, p.PaymentProviderID, p.Implementation, p.MerchantID, ms)
			if err != nil {
				return 0, store.Translate(err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO payment_providers (id, company_id, provider, implementation, merchant_id, created_at, updated_at)
					VALUES ($1, $2, $3, $4, $5, $6, $6)`, p.PaymentProviderID, companyID, p.Provider, p.Implementation, p.MerchantID, ms); err != nil {
					return 0, store.Translate(err)
				}
			}
			changed++
		case err != nil:
			return 0, store.Translate(err)
		case owner != companyID:
			return 0, errs.E(errs.Conflict, "company %s: paymentProviderId %d belongs to another company", companyCode, p.PaymentProviderID)
		case kind != p.Provider:
			return 0, errs.E(errs.Conflict, "company %s: paymentProviderId %d is the %s provider; it cannot become %s", companyCode, p.PaymentProviderID, kind, p.Provider)
		case impl != p.Implementation || merchant != p.MerchantID:
			if _, err := tx.ExecContext(ctx, `UPDATE payment_providers SET implementation = $2, merchant_id = $3, updated_at = $4 WHERE id = $1`,
				p.PaymentProviderID, p.Implementation, p.MerchantID, ms); err != nil {
				return 0, store.Translate(err)
			}
			changed++
		}
	}
	if b == nil {
		return changed, nil
	}
	s := DefaultSettings()
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.InvoiceLeadDays, b.InvoiceLeadDays)
	set(&s.PaymentTermDays, b.PaymentTermDays)
	set(&s.ReminderDelayDays, b.ReminderDelayDays)
	set(&s.ReminderIntervalDays, b.ReminderIntervalDays)
	set(&s.MaxReminders, b.MaxReminders)
	set(&s.SuspendAfterDays, b.SuspendAfterDays)
	if b.ReminderFee != nil {
		v, err := b.ReminderFee.Scaled(tenant.MoneyPlaces, tenant.MaxMoney)
		if err != nil {
			return 0, errs.Field("billing.reminderFee", "%s", err)
		}
		s.ReminderFee = v
	}
	s.CollectionNotice = b.CollectionNotice
	if b.RenewalInvoiceIsOffer != nil {
		s.RenewalInvoiceIsOffer = *b.RenewalInvoiceIsOffer
	}
	if b.ChargeRetryDays != nil {
		s.ChargeRetryDays = b.ChargeRetryDays
	}
	if b.KidCheck != "" {
		s.KidCheck = b.KidCheck
	}
	if b.KidLength != 0 {
		s.KidLength = b.KidLength
	}
	have, err := LoadSettings(ctx, tx, companyID)
	if err != nil {
		return 0, err
	}
	if joinDays(have.ChargeRetryDays) == joinDays(s.ChargeRetryDays) {
		have.ChargeRetryDays = s.ChargeRetryDays
	}
	var exists int
	_ = tx.QueryRowContext(ctx, `SELECT 1 FROM billing_settings WHERE company_id = $1`, companyID).Scan(&exists)
	if exists == 1 && equalSettings(have, s) {
		return changed, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO billing_settings (company_id, invoice_lead_days, payment_term_days,
		reminder_delay_days, reminder_interval_days, reminder_fee, max_reminders, collection_notice, renewal_invoice_is_offer,
		suspend_after_days, charge_retry_days, kid_check, kid_length, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (company_id) DO UPDATE SET invoice_lead_days = $2, payment_term_days = $3, reminder_delay_days = $4,
		reminder_interval_days = $5, reminder_fee = $6, max_reminders = $7, collection_notice = $8,
		renewal_invoice_is_offer = $9, suspend_after_days = $10, charge_retry_days = $11, kid_check = $12, kid_length = $13,
		updated_at = $14`,
		companyID, s.InvoiceLeadDays, s.PaymentTermDays, s.ReminderDelayDays, s.ReminderIntervalDays, s.ReminderFee,
		s.MaxReminders, s.CollectionNotice, s.RenewalInvoiceIsOffer, s.SuspendAfterDays, joinDays(s.ChargeRetryDays),
		s.KidCheck, s.KidLength, ms); err != nil {
		return 0, store.Translate(err)
	}
	return changed + 1, nil
}

func equalSettings(a, b Settings) bool {
	return a.InvoiceLeadDays == b.InvoiceLeadDays && a.PaymentTermDays == b.PaymentTermDays &&
		a.ReminderDelayDays == b.ReminderDelayDays && a.ReminderIntervalDays == b.ReminderIntervalDays &&
		a.ReminderFee == b.ReminderFee && a.MaxReminders == b.MaxReminders && a.CollectionNotice == b.CollectionNotice &&
		a.RenewalInvoiceIsOffer == b.RenewalInvoiceIsOffer && a.SuspendAfterDays == b.SuspendAfterDays &&
		joinDays(a.ChargeRetryDays) == joinDays(b.ChargeRetryDays) && a.KidCheck == b.KidCheck && a.KidLength == b.KidLength
}
