package delivery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/testkit"
)

const plansYAML = `companies:
  - code: ACME
    name: Acme Media
    country: NO
    deliveryPlans:
      - {productDeliveryPlanId: 7, planName: WEEKDAYS, saturday: onlyDigitalAccess, sunday: noAccessOrDelivery}
      - productDeliveryPlanId: 3
        planName: WEEKEND
        monday: onlyDigitalAccess
        tuesday: onlyDigitalAccess
        wednesday: onlyDigitalAccess
        thursday: onlyDigitalAccess
        friday: onlyDigitalAccess
        saturday: fullAccessAndDelivery
        sunday: onlyPhysicalDelivery
`

// TestDeliveryPlansClient: plans come from the tenant file (re-applying
// changes nothing) and a client lists its company's, all or one.
func TestDeliveryPlansClient(t *testing.T) {
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, time.Now(), plansYAML)
		if res, err := e.App.ApplyTenantFile(context.Background(), "plans.yaml", []byte(plansYAML)); err != nil || !res.Unchanged {
			t.Errorf("re-apply: %+v %v", res, err)
		}
		bad := strings.Replace(plansYAML, "sunday: onlyPhysicalDelivery", "sunday: sometimes", 1)
		if _, err := e.App.ApplyTenantFile(context.Background(), "bad.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "deliveryPlans[1].sunday: must be") {
			t.Errorf("bad weekday: %v", err)
		}
		ct := e.ClientToken()
		st, m := e.call(t, "GET", "/capi/v1/client/productdeliveryplan", ct, "")
		plans, _ := m["productDeliveryPlans"].([]any)
		if st != 200 || len(plans) != 2 {
			t.Fatalf("plans: %d %v", st, m)
		}
		weekend := plans[0].(map[string]any)
		weekdays := plans[1].(map[string]any)
		if weekend["productDeliveryPlanId"] != float64(3) || weekend["planName"] != "WEEKEND" || weekend["monday"] != "onlyDigitalAccess" ||
			weekend["sunday"] != "onlyPhysicalDelivery" || weekdays["monday"] != "fullAccessAndDelivery" || weekdays["sunday"] != "noAccessOrDelivery" {
			t.Errorf("plans: %v", plans)
		}
		res := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/client/productdeliveryplan?productDeliveryPlanId=7", Token: ct, Accept: "application/xml"})
		if res.Status != 200 || !strings.Contains(string(res.Body), "<productDeliveryPlans><productDeliveryPlan><productDeliveryPlanId>7</productDeliveryPlanId><planName>WEEKDAYS</planName>") ||
			strings.Count(string(res.Body), "<productDeliveryPlan>") != 1 {
			t.Errorf("one plan, XML: %d %s", res.Status, res.Body)
		}
		for _, tc := range []struct {
			name, path, token string
			status, plans     int
		}{
			{"unknown id", "/capi/v1/client/productdeliveryplan?productDeliveryPlanId=99", ct, 200, 0},
			{"another company", "/capi/v1/client/productdeliveryplan", e.Token(testkit.RivalClientID, testkit.RivalSecret), 200, 0},
			{"malformed id", "/capi/v1/client/productdeliveryplan?productDeliveryPlanId=x", ct, 400, 0},
			{"user token", "/capi/v1/client/productdeliveryplan", e.newUser(t, 7601, "u@firm.no").token, 403, 0},
		} {
			st, m := e.call(t, "GET", tc.path, tc.token, "")
			if got, _ := m["productDeliveryPlans"].([]any); st != tc.status || len(got) != tc.plans {
				t.Errorf("%s: %d %v", tc.name, st, m)
			}
		}
	})
}
