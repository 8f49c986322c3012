package server

import (
	"net/http"

	"github.com/connect-oss/connect/internal/catalog"
)

// Routes is every route the server answers, in one place. The OpenAPI
// document (api/openapi.yaml) must list exactly these operations; a test
// checks that.
func Routes(d Deps) []Route {
	products := catalog.Handlers{DB: d.DB}
	var oauthToken, jwks http.Handler = unavailable(), unavailable()
	if d.OAuth != nil {
		oauthToken, jwks = d.OAuth.TokenEndpoint(), d.OAuth.JWKS()
	}
	return []Route{
		// Operations.
		{ID: "healthz", Method: "GET", Path: "/healthz", Handler: healthz()},
		{ID: "readyz", Method: "GET", Path: "/readyz", Handler: readyz(d.DB)},
		{ID: "metrics", Method: "GET", Path: "/metrics", Handler: metricsHandler(d.Metrics)},
		{ID: "openapi", Method: "GET", Path: "/capi/openapi.yaml", Handler: openAPI(d.OpenAPI)},

		// ConnectID: OAuth 2.0 (spec README §3.2).
		{ID: "oauth-token", Method: "POST", Path: "/user/oauth/token", Handler: oauthToken},
		{ID: "jwks", Method: "GET", Path: "/user/.well-known/jwks.json", Handler: jwks},

		// Product & Services: Product.
		{ID: "product-list-client", Method: "GET", Path: "/capi/v1/client/product", Mode: ClientOnly, DefaultXML: true, Handler: products.List()},
		{ID: "product-check-client", Method: "POST", Path: "/capi/v1/client/product", Mode: ClientOnly, DefaultXML: true, Handler: products.Check()},
		{ID: "product-specific-list-client", Method: "GET", Path: "/capi/v1/client/product/{productType}", Mode: ClientOnly, DefaultXML: true, Handler: products.ListByType()},
	}
}
