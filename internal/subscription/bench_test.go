package subscription_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
	"github.com/connect-oss/connect/internal/testkit"
)

// BenchmarkAccessCheck calls POST /capi/v1/customer/access in-process (no
// sockets) for a subscriber, on SQLite and, when CONNECT_TEST_POSTGRES_URL
// is set, PostgreSQL; bench/run.sh measures it over loopback.
func BenchmarkAccessCheck(b *testing.B) {
	dialects := []store.Dialect{store.SQLite}
	if os.Getenv("CONNECT_TEST_POSTGRES_URL") != "" {
		dialects = append(dialects, store.Postgres)
	}
	for _, d := range dialects {
		b.Run(string(d), func(b *testing.B) {
			e := testkit.New(b, d, testkit.WithoutRateLimits())
			ctx := context.Background()
			c, err := tenant.GetCompanyByCode(ctx, e.App.DB, testkit.Company)
			if err != nil {
				b.Fatal(err)
			}
			var cno int64
			err = e.App.DB.Tx(ctx, func(tx *sql.Tx) error {
				if cno, err = customer.EnsureForUser(ctx, tx, c.ID, c.Code, 4242, customer.UserDetails{Email: "b@example.com"}, time.Now()); err != nil {
					return err
				}
				_, err = subscription.Start(ctx, tx, subscription.StartRequest{CompanyID: c.ID, CompanyCode: c.Code, CustomerNumber: cno,
					ProductCode: "NEWS", StartDate: time.Now().AddDate(0, 0, -1), PeriodLength: 1, PeriodType: "month", Price: 19900, Paid: true})
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			token := e.MintUserToken(strings.Repeat("ab", 16), 4242, cno)
			h := e.App.Handler
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/capi/v1/customer/access", strings.NewReader(`{"product":"NEWS"}`))
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Accept", "application/json")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"access":true`) {
						b.Fatalf("%d %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
