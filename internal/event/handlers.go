package event

import (
	"net/http"
	"strconv"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
)

// Handlers serve the operators' endpoints for the caller's company.
type Handlers struct {
	DB  *store.DB
	Now func() time.Time // nil: time.Now
}

// DeliveryList is the list wrapper of both endpoints.
type DeliveryList struct {
	Deliveries []Delivery `json:"deliveries"`
}

const maxListLimit = 1000

// ListFailed serves GET /capi/v1/client/events/failed (event-failed-list-client).
func (h Handlers) ListFailed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		o := ListOptions{CompanyID: p.CompanyID, Limit: 100}
		q := r.URL.Query()
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > maxListLimit {
				httpx.Fail(w, r, errs.Field("limit", "must be a whole number from 1 to %d", maxListLimit))
				return
			}
			o.Limit = n
		}
		if s := q.Get("offset"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				httpx.Fail(w, r, errs.Field("offset", "must be a whole number, 0 or more"))
				return
			}
			o.Offset = n
		}
		list, err := ListFailed(r.Context(), h.DB, o)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, DeliveryList{Deliveries: list})
	})
}

// Replay serves POST /capi/v1/client/events/{eventId}/replay (event-replay-client).
func (h Handlers) Replay() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		now := time.Now
		if h.Now != nil {
			now = h.Now
		}
		list, err := Replay(r.Context(), h.DB, p.CompanyID, r.PathValue("eventId"), now())
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, DeliveryList{Deliveries: list})
	})
}
