package tenant

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Payment Services: the payment providers a company has configured and its
// billing settings, as declared in a tenant file. The shapes live here
// because tenant parses the file; package billing applies them
// (BillingApplier), so tenant never imports it.

// PaymentProviderSpec configures one payment provider for a company (spec
// payment.md "Payment providers").
type PaymentProviderSpec struct {
	PaymentProviderID int    `yaml:"paymentProviderId"` // the id the API lists show; unique on the server
	Provider          string `yaml:"provider"`          // klarna, nexi, payex, vipps
	Implementation    string `yaml:"implementation"`    // test: the built-in simulated gateway
	MerchantID        string `yaml:"merchantId"`
}

// BillingSpec overrides a company's billing defaults (spec payment.md
// "Invoices" and "Reminders"). Absent fields keep the defaults shown.
type BillingSpec struct {
	InvoiceLeadDays       *int     `yaml:"invoiceLeadDays"`       // 14: a period is invoiced this long before it starts
	PaymentTermDays       *int     `yaml:"paymentTermDays"`       // 14: due this long after the invoice date
	ReminderDelayDays     *int     `yaml:"reminderDelayDays"`     // 7: first reminder after the due date
	ReminderIntervalDays  *int     `yaml:"reminderIntervalDays"`  // 14: a reminder's own due date
	ReminderFee           *Decimal `yaml:"reminderFee"`           // 0: added per reminder, main units
	MaxReminders          *int     `yaml:"maxReminders"`          // 2
	CollectionNotice      bool     `yaml:"collectionNotice"`      // the last reminder is a collectionNotice
	RenewalInvoiceIsOffer *bool    `yaml:"renewalInvoiceIsOffer"` // true: an unpaid renewal lapses
	SuspendAfterDays      *int     `yaml:"suspendAfterDays"`      // 14: access stops this long after the due date
	ChargeRetryDays       []int    `yaml:"chargeRetryDays"`       // [1, 3]: retries of a failed charge, days after the first
	KidCheck              string   `yaml:"kidCheck"`              // mod10 (default) or mod11
	KidLength             int      `yaml:"kidLength"`             // 10: digits of the KID incl. the check digit
}

// BillingApplier writes one company's payment providers and billing
// settings inside the apply transaction.
type BillingApplier func(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, providers []PaymentProviderSpec, billing *BillingSpec, now time.Time) (changed int, err error)

// HasBilling reports whether c declares payment providers or billing settings.
func (c *Company) HasBilling() bool { return len(c.PaymentProviders) > 0 || c.Billing != nil }

// PaymentProviderKinds are the providers of spec payment.md.
var PaymentProviderKinds = []string{"klarna", "nexi", "payex", "vipps"}

// validateBilling checks the Payment Services sections of company c (path cp).
// providerIDs collects ids across companies: they are unique on the server.
func validateBilling(c Company, cp string, providerIDs map[int]string, bad func(field, format string, args ...any)) {
	kinds := map[string]string{}
	for i, p := range c.PaymentProviders {
		pp := fmt.Sprintf("%s.paymentProviders[%d]", cp, i)
		switch {
		case p.PaymentProviderID <= 0 || p.PaymentProviderID > 999999999:
			bad(pp+".paymentProviderId", "must be a whole number from 1 to 999999999")
		case providerIDs[p.PaymentProviderID] != "":
			bad(pp+".paymentProviderId", "duplicate paymentProviderId %d (also %s); ids are unique on the server", p.PaymentProviderID, providerIDs[p.PaymentProviderID])
		default:
			providerIDs[p.PaymentProviderID] = pp
		}
		known := false
		for _, k := range PaymentProviderKinds {
			known = known || k == p.Provider
		}
		switch {
		case !known:
			bad(pp+".provider", "must be one of klarna, nexi, payex, vipps")
		case kinds[p.Provider] != "":
			bad(pp+".provider", "%s is configured twice (also %s)", p.Provider, kinds[p.Provider])
		default:
			kinds[p.Provider] = pp
		}
		switch p.Implementation {
		case "test":
		case "live":
			bad(pp+".implementation", "no live adapter is built into this server yet; use test (the simulated gateway)")
		default:
			bad(pp+".implementation", "must be test")
		}
		if len(p.MerchantID) > 40 {
			bad(pp+".merchantId", "must be at most 40 characters")
		}
	}
	b := c.Billing
	if b == nil {
		return
	}
	bp := cp + ".billing"
	days := func(field string, v *int, lo, hi int) {
		if v != nil && (*v < lo || *v > hi) {
			bad(bp+"."+field, "must be a whole number from %d to %d", lo, hi)
		}
	}
	days("invoiceLeadDays", b.InvoiceLeadDays, 0, 90)
	days("paymentTermDays", b.PaymentTermDays, 0, 90)
	days("reminderDelayDays", b.ReminderDelayDays, 0, 90)
	days("reminderIntervalDays", b.ReminderIntervalDays, 1, 90)
	days("maxReminders", b.MaxReminders, 0, 5)
	days("suspendAfterDays", b.SuspendAfterDays, 0, 365)
	if b.ReminderFee != nil {
		if v, err := b.ReminderFee.Scaled(MoneyPlaces, MaxMoney); err != nil {
			bad(bp+".reminderFee", "%s", err)
		} else if v < 0 {
			bad(bp+".reminderFee", "must not be negative")
		}
	}
	prev := 0
	for i, d := range b.ChargeRetryDays {
		if d <= prev || d > 30 {
			bad(fmt.Sprintf("%s.chargeRetryDays[%d]", bp, i), "must be increasing whole days from 1 to 30")
		}
		prev = d
	}
	if len(b.ChargeRetryDays) > 5 {
		bad(bp+".chargeRetryDays", "at most 5 retries")
	}
	switch b.KidCheck {
	case "", "mod10", "mod11":
	default:
		bad(bp+".kidCheck", "must be mod10 or mod11")
	}
	if b.KidLength != 0 && (b.KidLength < 8 || b.KidLength > 25) {
		bad(bp+".kidLength", "must be from 8 to 25 digits")
	}
}
