package tenant_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/app"
	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/tenant"
)

type fakeDigester struct{}

func (fakeDigester) DigestSecret(s string) string {
	sum := sha256.Sum256([]byte("test-key:" + s))
	return hex.EncodeToString(sum[:])
}

func openDB(t *testing.T, d store.Dialect) *store.DB {
	return storetest.Open(t, d, tenant.Migrations, audit.Migrations, event.Migrations, catalog.Migrations)
}

func parse(t *testing.T, src string) *tenant.File {
	t.Helper()
	f, err := tenant.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func count(t *testing.T, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestApplyCreatesThenIsIdempotent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := openDB(t, d)
		f := parse(t, base)

		res, err := tenant.Apply(ctx, db, f, tenant.Sections{Digester: fakeDigester{}, Products: catalog.ApplyProducts}, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := tenant.Result{CompaniesCreated: 1, ClientsCreated: 2, ProductsCreated: 1}
		if res != want {
			t.Fatalf("first apply = %+v, want %+v", res, want)
		}

		co, err := tenant.GetCompanyByCode(ctx, db, "ACME")
		if err != nil {
			t.Fatal(err)
		}
		if *co != (tenant.CompanyRecord{ID: co.ID, Code: "ACME", Name: "Acme News", Country: "NO", Currency: "NOK", TimeZone: "Europe/Oslo"}) {
			t.Errorf("company = %+v", co)
		}
		if byID, err := tenant.GetCompany(ctx, db, co.ID); err != nil || *byID != *co {
			t.Errorf("GetCompany = %+v, %v", byID, err)
		}

		web, err := tenant.GetClient(ctx, db, "no.acme.web")
		if err != nil {
			t.Fatal(err)
		}
		if web.CompanyID != co.ID || web.CompanyCode != "ACME" || web.Name != "Acme Web" || web.Public ||
			web.SecretDigest != (fakeDigester{}).DigestSecret("s3cret") ||
			!slices.Equal(web.GrantTypes, []string{"authorization_code", "refresh_token", "client_credentials"}) ||
			!slices.Equal(web.RedirectURIs, []string{"https://acme.no/callback"}) ||
			!slices.Equal(web.ReturnHosts, []string{"acme.no", "localhost:3000"}) ||
			web.AccessTokenTTL != 12*time.Hour || web.RefreshTokenTTL != 720*time.Hour ||
			web.RatePerSecond != 100 || web.RatePerMinute != 2000 || web.RateUnlimited {
			t.Errorf("web client = %+v", web)
		}
		app, err := tenant.GetClient(ctx, db, "no.acme.app")
		if err != nil {
			t.Fatal(err)
		}
		if !app.Public || app.SecretDigest != "" || len(app.ReturnHosts) != 0 || app.ReturnHosts == nil {
			t.Errorf("app client = %+v", app)
		}
		if count(t, db, `SELECT COUNT(*) FROM clients WHERE secret_digest = 's3cret'`) != 0 {
			t.Error("plain secret stored")
		}

		var price, vat int64
		if err := db.QueryRowContext(ctx, `SELECT retail_price, vat_percent FROM products WHERE code = 'DIGI'`).Scan(&price, &vat); err != nil {
			t.Fatal(err)
		}
		if price != 8454 || vat != 1250 {
			t.Errorf("price, vat = %d, %d; want 8454, 1250", price, vat)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM event_outbox WHERE type = 'product' AND status = 'new'`); n != 1 {
			t.Errorf("product events = %d, want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = 'tenant.apply' AND actor = 'operator'`); n != 1 {
			t.Errorf("audit rows = %d, want 1", n)
		}
		var detail string
		_ = db.QueryRowContext(ctx, `SELECT detail FROM audit_log`).Scan(&detail)
		if strings.Contains(detail, "s3cret") || !strings.Contains(detail, `"clientsCreated":2`) {
			t.Errorf("audit detail = %s", detail)
		}

		// Same file, later: nothing changes.
		res, err = tenant.Apply(ctx, db, parse(t, base), tenant.Sections{Digester: fakeDigester{}, Products: catalog.ApplyProducts}, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if res != (tenant.Result{Unchanged: true}) {
			t.Errorf("second apply = %+v, want Unchanged", res)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM event_outbox`); n != 1 {
			t.Errorf("events after re-apply = %d, want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM audit_log`); n != 1 {
			t.Errorf("audit rows after re-apply = %d, want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM companies WHERE updated_at = $1`, t0.UnixMilli()); n != 1 {
			t.Errorf("company updated_at moved")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM clients WHERE updated_at = $1`, t0.UnixMilli()); n != 2 {
			t.Errorf("client updated_at moved")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM products WHERE changed_at = $1`, t0.UnixMilli()); n != 1 {
			t.Errorf("product changed_at moved")
		}
	})
}

func TestApplyChangedProductAndClient(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := openDB(t, d)
		if _, err := tenant.Apply(ctx, db, parse(t, base), tenant.Sections{Digester: fakeDigester{}, Products: catalog.ApplyProducts}, t0); err != nil {
			t.Fatal(err)
		}
		t1 := t0.Add(24 * time.Hour)
		src := strings.Replace(base, "retailPrice: 84.54", "retailPrice: 99", 1)
		src = strings.Replace(src, "[https://acme.no/app]", "[https://acme.no/app, https://acme.no/app2]", 1)
		res, err := tenant.Apply(ctx, db, parse(t, src), tenant.Sections{Digester: fakeDigester{}, Products: catalog.ApplyProducts}, t1)
		if err != nil {
			t.Fatal(err)
		}
		if want := (tenant.Result{ClientsUpdated: 1, ProductsUpdated: 1}); res != want {
			t.Fatalf("apply = %+v, want %+v", res, want)
		}
		var price, changed int64
		if err := db.QueryRowContext(ctx, `SELECT retail_price, changed_at FROM products WHERE code = 'DIGI'`).Scan(&price, &changed); err != nil {
			t.Fatal(err)
		}
		if price != 9900 || changed != t1.UnixMilli() {
			t.Errorf("price, changed_at = %d, %d; want 9900, %d", price, changed, t1.UnixMilli())
		}
		if n := count(t, db, `SELECT COUNT(*) FROM event_outbox WHERE type = 'product' AND status = 'update' AND source = 'ACME'`); n != 1 {
			t.Errorf("update events = %d, want 1", n)
		}
		var data string
		_ = db.QueryRowContext(ctx, `SELECT data FROM event_outbox WHERE status = 'update'`).Scan(&data)
		if data != `{"companyCode":"ACME","productCode":"DIGI"}` {
			t.Errorf("event data = %s", data)
		}
		app, err := tenant.GetClient(ctx, db, "no.acme.app")
		if err != nil {
			t.Fatal(err)
		}
		if len(app.RedirectURIs) != 2 {
			t.Errorf("redirect URIs = %q", app.RedirectURIs)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM audit_log`); n != 2 {
			t.Errorf("audit rows = %d, want 2", n)
		}
		// Removing a client from the file leaves it in the database.
		src = strings.Replace(src, "      - clientId: no.acme.app\n        name: Acme App\n        public: true\n        grantTypes: [authorization_code]\n        redirectUris: [https://acme.no/app, https://acme.no/app2]\n", "", 1)
		res, err = tenant.Apply(ctx, db, parse(t, src), tenant.Sections{Digester: fakeDigester{}, Products: catalog.ApplyProducts}, t1)
		if err != nil || !res.Unchanged {
			t.Fatalf("apply without app = %+v, %v", res, err)
		}
		if _, err := tenant.GetClient(ctx, db, "no.acme.app"); err != nil {
			t.Errorf("client removed from file was deleted: %v", err)
		}
	})
}

func TestApplyRefusesAnotherCompanysClient(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := openDB(t, d)
		if _, err := tenant.Apply(ctx, db, parse(t, base), tenant.Sections{Digester: fakeDigester{}, Products: catalog.ApplyProducts}, t0); err != nil {
			t.Fatal(err)
		}
		other := `companies:
  - code: OTHER
    name: Other News
    country: SE
    products:
      - product: X
        startTime: 2024-01-01
    clients:
      - clientId: no.acme.web
        name: Stolen
        secret: x
        grantTypes: [client_credentials]
`
		_, err := tenant.Apply(ctx, db, parse(t, other), tenant.Sections{Digester: fakeDigester{}, Products: catalog.ApplyProducts}, t0)
		if !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), "companies[0].clients[0].clientId") {
			t.Fatalf("err = %v, want Conflict on the clientId", err)
		}
		if _, err := tenant.GetCompanyByCode(ctx, db, "OTHER"); !errs.Is(err, errs.NotFound) {
			t.Errorf("OTHER company was written: %v", err)
		}
		web, _ := tenant.GetClient(ctx, db, "no.acme.web")
		if web == nil || web.CompanyCode != "ACME" || web.Name != "Acme Web" {
			t.Errorf("client changed: %+v", web)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM products`); n != 1 {
			t.Errorf("products = %d, want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM event_outbox`); n != 1 {
			t.Errorf("events = %d, want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM audit_log`); n != 1 {
			t.Errorf("audit rows = %d, want 1", n)
		}
	})
}

func TestApplyDemoFile(t *testing.T) {
	data, err := os.ReadFile("../../examples/demo-tenant.yaml")
	if err != nil {
		t.Fatal(err)
	}
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		// The demo file touches every area's section: apply it as the
		// server does, with every package's migrations and appliers.
		a, err := app.Open(ctx, app.Config{DatabaseURL: storetest.NewDSN(t, d), PublicURL: "http://127.0.0.1:1",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		db := a.DB
		apply := func(at time.Time) (tenant.Result, error) {
			return a.ApplyTenantFileAt(ctx, "demo-tenant.yaml", data, at)
		}
		res, err := apply(t0)
		if err != nil {
			t.Fatal(err)
		}
		// UsersUpdated counts the external-identity prefix being set; CatalogUpdated
		// includes privacy (20 rows), payment providers, billing settings and
		// the recruitment campaign, the status message and the stock level,
		// delivery plans (2), publications (2) and a dependency discount.
		if want := (tenant.Result{CompaniesCreated: 1, ClientsCreated: 2, ProductsCreated: 5, CatalogCreated: 15, CatalogUpdated: 35, UsersCreated: 2, UsersUpdated: 1}); res != want {
			t.Errorf("apply = %+v, want %+v", res, want)
		}
		app, err := tenant.GetClient(ctx, db, "demo.app")
		if err != nil || !app.Public || app.CompanyCode != "DEMO" || app.HasGrant(tenant.GrantClientCredentials) {
			t.Errorf("demo.app = %+v, %v", app, err)
		}
		var offer, weight, end int64
		if err := db.QueryRowContext(ctx, `SELECT web_offer_price FROM products WHERE code = 'PLUSS'`).Scan(&offer); err != nil || offer != 39950 {
			t.Errorf("PLUSS web offer = %d, %v", offer, err)
		}
		if err := db.QueryRowContext(ctx, `SELECT weight_grams FROM products WHERE code = 'HELG'`).Scan(&weight); err != nil || weight != 400 {
			t.Errorf("HELG weight = %d, %v", weight, err)
		}
		oslo, _ := time.LoadLocation("Europe/Oslo")
		wantEnd := time.Date(2024, 1, 1, 0, 0, 0, 0, oslo).UnixMilli()
		if err := db.QueryRowContext(ctx, `SELECT end_time FROM products WHERE code = 'PAPIR2019'`).Scan(&end); err != nil || end != wantEnd {
			t.Errorf("PAPIR2019 end = %d, %v; want %d", end, err, wantEnd)
		}
		if res, err := apply(t0.Add(time.Minute)); err != nil || !res.Unchanged {
			t.Errorf("re-apply = %+v, %v", res, err)
		}
	})
}

func TestGetMissing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := openDB(t, d)
		if _, err := tenant.GetClient(ctx, db, "nope"); !errs.Is(err, errs.NotFound) {
			t.Errorf("GetClient = %v", err)
		}
		if _, err := tenant.GetCompany(ctx, db, 42); !errs.Is(err, errs.NotFound) {
			t.Errorf("GetCompany = %v", err)
		}
		if _, err := tenant.GetCompanyByCode(ctx, db, "NOPE"); !errs.Is(err, errs.NotFound) {
			t.Errorf("GetCompanyByCode = %v", err)
		}
	})
}

func TestApplyNeedsDigesterForPlainSecret(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		db := openDB(t, d)
		_, err := tenant.Apply(context.Background(), db, parse(t, base), tenant.Sections{Products: catalog.ApplyProducts}, t0)
		if err == nil || !strings.Contains(err.Error(), "digester") {
			t.Fatalf("err = %v", err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM companies`); n != 0 {
			t.Errorf("companies = %d after failed apply", n)
		}
	})
}
