package httpx

import (
	"context"
	"net/http"
)

type optionsKey struct{}

// WithRouteOptions attaches the route's response options (its default format)
// to the request, so handlers and middleware answer in the route's format.
func WithRouteOptions(r *http.Request, o Options) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), optionsKey{}, o))
}

// RouteOptions returns the options attached by WithRouteOptions.
func RouteOptions(r *http.Request) Options {
	o, _ := r.Context().Value(optionsKey{}).(Options)
	return o
}

// Reply writes v with status in the route's negotiated format.
func Reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	Write(w, r, status, v, RouteOptions(r))
}

// Fail writes err as the documented error body in the route's negotiated format.
func Fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(w, r, err, RouteOptions(r))
}
