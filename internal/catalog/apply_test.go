package catalog_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/tenant"
)

func dec(s string) *catalog.Decimal { d := catalog.Decimal(s); return &d }

func TestValidateProduct(t *testing.T) {
	ok := catalog.ProductSpec{Product: "DIGI", StartTime: "2024-01-01", RetailPrice: dec("84.54"), VatPercent: dec("12.5")}
	tests := []struct {
		name  string
		edit  func(p *catalog.ProductSpec)
		field string
		msg   string
	}{
		{"valid", func(p *catalog.ProductSpec) {}, "", ""},
		{"valid instant and end", func(p *catalog.ProductSpec) {
			p.StartTime, p.EndTime = "2024-01-01T10:00:00+01:00", "2024-01-01"
		}, "", ""},
		{"missing code", func(p *catalog.ProductSpec) { p.Product = "" }, "product", "is required"},
		{"long code", func(p *catalog.ProductSpec) { p.Product = "ABCDEFGHIJKLM" }, "product", "must be 1–12 characters of A–Z, a–z, 0–9, _ or -"},
		{"bad type", func(p *catalog.ProductSpec) { p.ProductType = "bundle" }, "productType", "must be one of subscription, series, single, article"},
		{"no start", func(p *catalog.ProductSpec) { p.StartTime = "" }, "startTime", "is required"},
		{"bad start", func(p *catalog.ProductSpec) { p.StartTime = "01.01.2024" }, "startTime", "must be a date (2024-01-01) or an RFC 3339 instant"},
		{"end before start", func(p *catalog.ProductSpec) { p.EndTime = "2023-12-30" }, "endTime", "must be after startTime"},
		{"bad currency", func(p *catalog.ProductSpec) { p.Currency = "kr" }, "currency", "must be an ISO 4217 code such as NOK"},
		{"3 decimals", func(p *catalog.ProductSpec) { p.RetailPrice = dec("84.545") }, "retailPrice", "must have at most 2 decimals"},
		{"negative", func(p *catalog.ProductSpec) { p.WebOfferPrice = dec("-1") }, "webOfferPrice", "must be a non-negative number like 299 or 84.54"},
		{"exponent", func(p *catalog.ProductSpec) { p.RetailPrice = dec("1e3") }, "retailPrice", "must be a non-negative number like 299 or 84.54"},
		{"vat over 100", func(p *catalog.ProductSpec) { p.VatPercent = dec("101") }, "vatPercent", "is too large"},
		{"weight 4 decimals", func(p *catalog.ProductSpec) { p.Weight = dec("0.4001") }, "weight", "must have at most 3 decimals"},
		{"campaign comma", func(p *catalog.ProductSpec) { p.Campaigns = []string{"A", "B,C"} }, "campaigns[1]", "must be a non-empty code without commas or spaces"},
		{"campaign duplicate", func(p *catalog.ProductSpec) { p.Campaigns = []string{"A", "A"} }, "campaigns[1]", `duplicate campaign "A"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			got := catalog.ValidateProduct(p)
			if tt.field == "" {
				if len(got) != 0 {
					t.Fatalf("problems = %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0] != (catalog.FieldProblem{Field: tt.field, Message: tt.msg}) {
				t.Fatalf("problems = %+v, want [{%s %s}]", got, tt.field, tt.msg)
			}
		})
	}
}

// company creates a company through tenant.Apply (the only writer of companies).
func company(t *testing.T, db *store.DB, code, country string) int64 {
	t.Helper()
	ctx := context.Background()
	f := &tenant.File{Companies: []tenant.Company{{Code: code, Name: code, Country: country}}}
	if _, err := tenant.Apply(ctx, db, f, tenant.Sections{Products: catalog.ApplyProducts}, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	c, err := tenant.GetCompanyByCode(ctx, db, code)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func apply(t *testing.T, db *store.DB, id int64, code string, specs []catalog.ProductSpec, now time.Time) (int, int) {
	t.Helper()
	var c, u int
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		c, u, err = catalog.ApplyProducts(context.Background(), tx, id, code, specs, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, u
}

func TestApplyProducts(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := storetest.Open(t, d, tenant.Migrations, audit.Migrations, event.Migrations, catalog.Migrations)
		id := company(t, db, "SVD", "SE")
		t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		specs := []catalog.ProductSpec{
			// 0.29 and 19.99 are the classic float traps (0.29*100 = 28.999…).
			{Product: "A", StartTime: "2024-01-01", RetailPrice: dec("0.29"), WebOfferPrice: dec("19.99"), VatPercent: dec("6"), Weight: dec("0.125"), Campaigns: []string{"X", "Y"}, Shop: true},
			{Product: "B", StartTime: "2024-01-01T00:00:00Z", EndTime: "2024-06-30", Currency: "EUR", Digital: true},
		}
		if c, u := apply(t, db, id, "SVD", specs, t0); c != 2 || u != 0 {
			t.Fatalf("created, updated = %d, %d", c, u)
		}
		var (
			retail, offer, vat, weight, start, changed int64
			currency, ptype, campaigns                 string
			shop                                       bool
		)
		err := db.QueryRowContext(ctx, `SELECT retail_price, web_offer_price, vat_percent, weight_grams, start_time,
			changed_at, currency, product_type, campaigns, shop FROM products WHERE company_id = $1 AND code = 'A'`, id).
			Scan(&retail, &offer, &vat, &weight, &start, &changed, &currency, &ptype, &campaigns, &shop)
		if err != nil {
			t.Fatal(err)
		}
		stockholm, _ := time.LoadLocation("Europe/Stockholm")
		if retail != 29 || offer != 1999 || vat != 600 || weight != 125 || currency != "SEK" || ptype != "subscription" ||
			campaigns != "X,Y" || !shop || changed != t0.UnixMilli() ||
			start != time.Date(2024, 1, 1, 0, 0, 0, 0, stockholm).UnixMilli() {
			t.Errorf("A = %d %d %d %d %d %d %s %s %q %v", retail, offer, vat, weight, start, changed, currency, ptype, campaigns, shop)
		}
		var end sql.NullInt64
		var price sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT end_time, retail_price, currency FROM products WHERE code = 'B'`).Scan(&end, &price, &currency); err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2024, 7, 1, 0, 0, 0, 0, stockholm).UnixMilli(); end.Int64 != want || price.Valid || currency != "EUR" {
			t.Errorf("B end, price, currency = %v, %v, %s; want end %d, no price, EUR", end, price, currency, want)
		}

		// Same specs: nothing written.
		if c, u := apply(t, db, id, "SVD", specs, t0.Add(time.Hour)); c != 0 || u != 0 {
			t.Fatalf("re-apply created, updated = %d, %d", c, u)
		}
		// One change, one product left out: one update, nothing deleted.
		t1 := t0.Add(48 * time.Hour)
		specs[0].Description = "Now described"
		if c, u := apply(t, db, id, "SVD", specs[:1], t1); c != 0 || u != 1 {
			t.Fatalf("change created, updated = %d, %d", c, u)
		}
		var n int
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM products WHERE company_id = $1`, id).Scan(&n)
		if n != 2 {
			t.Errorf("products = %d, want 2", n)
		}
		_ = db.QueryRowContext(ctx, `SELECT changed_at FROM products WHERE code = 'A'`).Scan(&changed)
		if changed != t1.UnixMilli() {
			t.Errorf("changed_at = %d, want %d", changed, t1.UnixMilli())
		}
		rows, err := db.QueryContext(ctx, `SELECT status, source, data, time FROM event_outbox WHERE type = 'product' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var status, source, data string
			var at int64
			if err := rows.Scan(&status, &source, &data, &at); err != nil {
				t.Fatal(err)
			}
			got = append(got, status+" "+source+" "+data)
		}
		want := []string{
			`new SVD {"companyCode":"SVD","productCode":"A"}`,
			`new SVD {"companyCode":"SVD","productCode":"B"}`,
			`update SVD {"companyCode":"SVD","productCode":"A"}`,
		}
		if len(got) != len(want) {
			t.Fatalf("events = %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("event %d = %s, want %s", i, got[i], want[i])
			}
		}
	})
}

func TestApplyProductsRejectsInvalid(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		db := storetest.Open(t, d, tenant.Migrations, audit.Migrations, event.Migrations, catalog.Migrations)
		id := company(t, db, "ACME", "")
		err := db.Tx(context.Background(), func(tx *sql.Tx) error {
			_, _, err := catalog.ApplyProducts(context.Background(), tx, id, "ACME",
				[]catalog.ProductSpec{{Product: "OK", StartTime: "2024-01-01"}, {Product: "BAD", StartTime: "2024-01-01", RetailPrice: dec("1.234")}}, time.Now())
			return err
		})
		if err == nil || err.Error() != "products[1].retailPrice: must have at most 2 decimals" {
			t.Fatalf("err = %v", err)
		}
	})
}
