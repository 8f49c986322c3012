package tenant

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"time"
)

// Product & Services: the issue calendar of a periodical and its complaint
// options (spec product.md "Issue", "Delivery", "Complaint"), and product
// dependency discounts ("ProductDependency"). Package delivery applies
// publications (PublicationsApplier), package catalog the dependencies
// (ProductDependenciesApplier); the shapes live here because tenant parses
// the file.

// PublicationSpec is the issue calendar of one product. Its publication
// dates are either the weekdays of its delivery plan that are not
// noAccessOrDelivery (newspapers) or the explicit IssueDates (magazines,
// series); NoIssueDates (holidays) are left out either way. Issues are coded
// YYYY-NN, NN counting the product's publications in that year.
type PublicationSpec struct {
	Product               string                `yaml:"product"`
	ProductDeliveryPlanID int                   `yaml:"productDeliveryPlanId"` // 0: every day is a publication day unless IssueDates
	IssueDates            []string              `yaml:"issueDates"`            // YYYY-MM-DD publication dates
	NoIssueDates          []string              `yaml:"noIssueDates"`          // YYYY-MM-DD dates without an issue
	DistributionLeadDays  int                   `yaml:"distributionLeadDays"`  // distributionPlannedDate = publicationDate - this
	DeliveryLeadDays      int                   `yaml:"deliveryLeadDays"`      // deliveryDate = distributionPlannedDate + this
	ComplaintActions      []ComplaintActionSpec `yaml:"complaintActions"`
}

// ComplaintActionSpec is a complaint option of a product (complaint-list).
type ComplaintActionSpec struct {
	ComplaintAction  string `yaml:"complaintAction"` // ≤ 2 characters, e.g. "14"
	Description      string `yaml:"description"`
	PostDistribution bool   `yaml:"postDistribution"` // the action may ask for the issue to be sent again
}

// PublicationsApplier upserts a company's publications inside tx and returns
// how many it created or changed.
type PublicationsApplier func(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, pubs []PublicationSpec, now time.Time) (int, error)

// ProductDependencySpec discounts Product for a customer who holds (or buys
// in the same order) RequiredProduct: DiscountType percent (DiscountValue
// 0–100) or amount (main units off the price).
type ProductDependencySpec struct {
	Product         string   `yaml:"product"`
	RequiredProduct string   `yaml:"requiredProduct"`
	DiscountType    string   `yaml:"discountType"`
	DiscountValue   *Decimal `yaml:"discountValue"`
}

// ProductDependenciesApplier replaces a company's product dependencies
// inside tx and returns how many it created or changed.
type ProductDependenciesApplier func(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, deps []ProductDependencySpec, now time.Time) (int, error)

var complaintActionCode = regexp.MustCompile(`^[A-Za-z0-9]{1,2}$`)

func validatePublications(c Company, cp string, bad func(field, format string, args ...any)) {
	seen := map[string]bool{}
	for i, p := range c.Publications {
		pp := fmt.Sprintf("%s.publications[%d]", cp, i)
		switch {
		case p.Product == "":
			bad(pp+".product", "is required")
		case !productCode.MatchString(p.Product):
			bad(pp+".product", "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
		case seen[p.Product]:
			bad(pp+".product", "duplicate publication for %q", p.Product)
		}
		seen[p.Product] = true
		if p.ProductDeliveryPlanID < 0 {
			bad(pp+".productDeliveryPlanId", "must be a positive whole number")
		}
		if p.ProductDeliveryPlanID != 0 && len(p.IssueDates) > 0 {
			bad(pp+".issueDates", "give either productDeliveryPlanId or issueDates, not both")
		}
		dates := func(field string, list []string) {
			have := map[string]bool{}
			for j, d := range list {
				if _, err := time.Parse("2006-01-02", d); err != nil {
					bad(fmt.Sprintf("%s.%s[%d]", pp, field, j), "must be a date like 2024-12-25")
				} else if have[d] {
					bad(fmt.Sprintf("%s.%s[%d]", pp, field, j), "duplicate date %s", d)
				}
				have[d] = true
			}
		}
		dates("issueDates", p.IssueDates)
		dates("noIssueDates", p.NoIssueDates)
		if p.DistributionLeadDays < 0 || p.DistributionLeadDays > 90 {
			bad(pp+".distributionLeadDays", "must be a whole number from 0 to 90")
		}
		if p.DeliveryLeadDays < 0 || p.DeliveryLeadDays > 30 {
			bad(pp+".deliveryLeadDays", "must be a whole number from 0 to 30")
		}
		actions := map[string]bool{}
		for j, a := range p.ComplaintActions {
			ap := fmt.Sprintf("%s.complaintActions[%d]", pp, j)
			switch {
			case !complaintActionCode.MatchString(a.ComplaintAction):
				bad(ap+".complaintAction", "must be 1–2 letters or digits")
			case actions[a.ComplaintAction]:
				bad(ap+".complaintAction", "duplicate complaintAction %q", a.ComplaintAction)
			}
			actions[a.ComplaintAction] = true
			if a.Description == "" || len(a.Description) > 255 {
				bad(ap+".description", "is required, at most 255 characters")
			}
		}
	}
}

func validateProductDependencies(c Company, cp string, bad func(field, format string, args ...any)) {
	seen := map[[2]string]bool{}
	for i, d := range c.ProductDependencies {
		p := fmt.Sprintf("%s.productDependencies[%d]", cp, i)
		for _, f := range []struct{ name, v string }{{"product", d.Product}, {"requiredProduct", d.RequiredProduct}} {
			if !productCode.MatchString(f.v) {
				bad(p+"."+f.name, "is required, 1–12 characters of A–Z, a–z, 0–9, _ or -")
			}
		}
		if d.Product != "" && d.Product == d.RequiredProduct {
			bad(p+".requiredProduct", "must differ from product")
		}
		key := [2]string{d.Product, d.RequiredProduct}
		if seen[key] {
			bad(p+".requiredProduct", "duplicate dependency of %q on %q", d.Product, d.RequiredProduct)
		}
		seen[key] = true
		if d.DiscountValue == nil {
			bad(p+".discountValue", "is required")
		}
		switch d.DiscountType {
		case "percent":
			if d.DiscountValue != nil {
				if v, err := d.DiscountValue.Scaled(MoneyPlaces, 100_00); err != nil || v == 0 {
					bad(p+".discountValue", "must be a percentage above 0, at most 100, with at most 2 decimals")
				}
			}
		case "amount":
			if d.DiscountValue != nil {
				if v, err := d.DiscountValue.Scaled(MoneyPlaces, MaxMoney); err != nil || v == 0 {
					bad(p+".discountValue", "must be an amount above 0 with at most 2 decimals")
				}
			}
		default:
			bad(p+".discountType", "must be percent or amount")
		}
	}
}
