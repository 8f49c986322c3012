package order_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/testkit"
)

// BenchmarkOrderRegistration registers orders in client mode in-process (no
// sockets) from 32 goroutines per core, the body bench/orders.sh posts (one
// coupon line, invoice, an existing payer), on SQLite and, when
// CONNECT_TEST_POSTGRES_URL is set, PostgreSQL, where concurrent orders share
// the batch writer's statements. ns/op is the machine's time per order with
// the server and the database on the same cores; bench/orders.sh measures the
// same over loopback against pgbench.
func BenchmarkOrderRegistration(b *testing.B) {
	dialects := []store.Dialect{store.SQLite}
	if os.Getenv("CONNECT_TEST_POSTGRES_URL") != "" {
		dialects = append(dialects, store.Postgres)
	}
	for _, d := range dialects {
		b.Run(string(d), func(b *testing.B) {
			e := testkit.New(b, d, testkit.WithoutRateLimits())
			tok := e.ClientToken()
			r := e.Call(testkit.Request{Method: "POST", Path: "/capi/v1/client/customer", Token: tok, Accept: "application/json",
				ContentType: "application/json", Body: `{"lastName":"Bench","postalCode":"0150","emails":["bench@example.no"]}`})
			var payer struct{ CustomerNumber int64 }
			r.JSON(b, &payer)
			if r.Status != 200 || payer.CustomerNumber == 0 {
				b.Fatalf("payer: %d %s", r.Status, r.Body)
			}
			body := payerOrder("", payer.CustomerNumber, newsLine)
			h := e.App.Handler
			b.ReportAllocs()
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/capi/v1/client/order", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+tok)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Accept", "application/json")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"orderId"`) {
						b.Errorf("%d %s", rec.Code, rec.Body)
						return
					}
				}
			})
		})
	}
}
