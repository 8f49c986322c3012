package tenant

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Delivery: product delivery plans (spec product.md "ProductDeliveryPlan"),
// which say per weekday whether a subscriber gets digital access and/or a
// paper. Package delivery applies them (DeliveryPlansApplier); the shape
// lives here because tenant parses the file.

// DeliveryPlanSpec is one plan. A weekday left out is fullAccessAndDelivery.
type DeliveryPlanSpec struct {
	ProductDeliveryPlanID int    `yaml:"productDeliveryPlanId"`
	PlanName              string `yaml:"planName"`
	Monday                string `yaml:"monday"`
	Tuesday               string `yaml:"tuesday"`
	Wednesday             string `yaml:"wednesday"`
	Thursday              string `yaml:"thursday"`
	Friday                string `yaml:"friday"`
	Saturday              string `yaml:"saturday"`
	Sunday                string `yaml:"sunday"`
}

// Weekdays are the plan's values from Monday to Sunday, as written.
func (p DeliveryPlanSpec) Weekdays() [7]string {
	return [7]string{p.Monday, p.Tuesday, p.Wednesday, p.Thursday, p.Friday, p.Saturday, p.Sunday}
}

// DeliveryPlanValues are the weekday values of spec product.md.
var DeliveryPlanValues = []string{"fullAccessAndDelivery", "onlyPhysicalDelivery", "onlyDigitalAccess", "noAccessOrDelivery"}

// DeliveryPlansApplier upserts a company's delivery plans inside tx and
// returns how many it created or changed.
type DeliveryPlansApplier func(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, plans []DeliveryPlanSpec, now time.Time) (int, error)

func validateDeliveryPlans(c Company, cp string, bad func(field, format string, args ...any)) {
	seen := map[int]bool{}
	names := [7]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	for i, p := range c.DeliveryPlans {
		pp := fmt.Sprintf("%s.deliveryPlans[%d]", cp, i)
		switch {
		case p.ProductDeliveryPlanID <= 0 || p.ProductDeliveryPlanID > 999999999:
			bad(pp+".productDeliveryPlanId", "must be a whole number from 1 to 999999999")
		case seen[p.ProductDeliveryPlanID]:
			bad(pp+".productDeliveryPlanId", "duplicate productDeliveryPlanId %d", p.ProductDeliveryPlanID)
		}
		seen[p.ProductDeliveryPlanID] = true
		if p.PlanName == "" || len(p.PlanName) > 12 {
			bad(pp+".planName", "is required, at most 12 characters")
		}
		for d, v := range p.Weekdays() {
			ok := v == ""
			for _, allowed := range DeliveryPlanValues {
				ok = ok || v == allowed
			}
			if !ok {
				bad(pp+"."+names[d], "must be fullAccessAndDelivery, onlyPhysicalDelivery, onlyDigitalAccess or noAccessOrDelivery")
			}
		}
	}
}
