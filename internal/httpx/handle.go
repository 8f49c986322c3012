package httpx

import (
	"net/http"

	"github.com/connect-oss/connect/internal/auth"
)

// Handle adapts an operation that returns its answer (or an error) to an
// http.Handler: the value is written with Reply (200, JSON or XML as
// negotiated), the error with Fail (the documented error body).
func Handle(fn func(r *http.Request, p *auth.Principal) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r, auth.FromContext(r.Context()))
		if err != nil {
			Fail(w, r, err)
			return
		}
		Reply(w, r, http.StatusOK, v)
	})
}
