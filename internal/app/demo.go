package app

import (
	"context"
	"database/sql"
	"time"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/identity"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
)

// DemoSubscriber is the demo user who holds an active digital subscription,
// so the paywall's access check answers yes for them out of the box.
const (
	DemoSubscriber = "demo@example.com"
	demoCompany    = "DEMO"
	demoCoupon     = "DIGI"
)

// Payment Services: the renewal demo (examples/renewal-demo.sh) renews
// RenewalSubscriber's HELG subscription by invoice. It began
// renewalDemoAge days ago, so its renewal is due within days and the first
// `connect jobs run-once` invoices it.
const (
	RenewalSubscriber = "other@example.com"
	renewalDemoCoupon = "HELG"
	renewalDemoAge    = 25
)

// SeedDemo gives the demo subscriber (already applied from the demo tenant
// file) an active, paid DIGI subscription from today, and the renewal
// subscriber a paid HELG subscription that began renewalDemoAge days ago,
// unless they have them. started reports the first. Applying it again
// changes nothing.
func (a *App) SeedDemo(ctx context.Context) (started bool, err error) {
	started, err = a.seedSubscription(ctx, DemoSubscriber, demoCoupon, 0)
	if err != nil {
		return false, err
	}
	_, err = a.seedSubscription(ctx, RenewalSubscriber, renewalDemoCoupon, renewalDemoAge)
	return started, err
}

// seedSubscription starts a paid subscription on coupon (number 1) for the
// demo user with that e-mail, from daysAgo days before today, unless the
// user has one on its product.
func (a *App) seedSubscription(ctx context.Context, email, coupon string, daysAgo int) (started bool, err error) {
	co, err := tenant.GetCompanyByCode(ctx, a.DB, demoCompany)
	if err != nil {
		return false, err
	}
	u, err := identity.FindByCredential(ctx, a.DB, email)
	if err != nil {
		return false, err
	}
	loc, err := co.Location()
	if err != nil {
		return false, err
	}
	err = a.DB.Tx(ctx, func(tx *sql.Tx) error {
		cno, err := customer.EnsureForUser(ctx, tx, co.ID, co.Code, u.ID,
			customer.UserDetails{FirstName: u.FirstName, LastName: u.LastName, Email: email}, time.Now())
		if err != nil {
			return err
		}
		cp, err := catalog.GetCoupon(ctx, tx, co.ID, coupon, 1)
		if err != nil {
			return err
		}
		if _, err := subscription.Current(ctx, tx, co.ID, cno, cp.ProductCode); err == nil {
			return nil
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		now := time.Now().In(loc)
		_, err = subscription.Start(ctx, tx, subscription.StartRequest{CompanyID: co.ID, CompanyCode: co.Code,
			CustomerNumber: cno, ProductCode: cp.ProductCode, CouponCode: cp.CouponCode, CouponNumber: cp.CouponNumber,
			StartDate: time.Date(now.Year(), now.Month(), now.Day()-daysAgo, 0, 0, 0, 0, loc), PeriodLength: cp.PeriodLength,
			PeriodType: cp.PeriodType, Price: cp.Price, Currency: cp.Currency, Paid: true, Copies: 1,
			AccessProducts: cp.ExtraProducts, RenewalPrice: cp.RenewalPrice, RenewalPeriodLength: cp.RenewalPeriodLength,
			RenewalPeriodType: cp.RenewalPeriodType})
		started = err == nil
		return err
	})
	return started, err
}
