package oauth

import (
	"net/http"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/connect-oss/connect/internal/httpx"
)

// JWKS serves the public signing keys (/user/.well-known/jwks.json), retired
// ones included, so tokens signed before a rotation keep verifying elsewhere.
func (p *Provider) JWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		all := p.Keys.All()
		set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(all))}
		for i := len(all) - 1; i >= 0; i-- { // newest first
			k := all[i]
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public(), KeyID: k.KID, Algorithm: k.Algorithm, Use: "sig"})
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		httpx.WriteJSON(w, http.StatusOK, set)
	})
}
