package tenant

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/connect-oss/connect/internal/store"
)

// OriginAllowed reports whether a browser origin ("https://www.example.no")
// belongs to the client: its host (with or without port) is one of the
// client's return hosts, or the origin of one of its redirect URIs.
func (c *ClientRecord) OriginAllowed(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
		return false
	}
	for _, h := range c.ReturnHosts {
		if strings.EqualFold(h, u.Host) || strings.EqualFold(h, u.Hostname()) {
			return true
		}
	}
	for _, r := range c.RedirectURIs {
		if ru, err := url.Parse(r); err == nil && strings.EqualFold(ru.Scheme, u.Scheme) && strings.EqualFold(ru.Host, u.Host) {
			return true
		}
	}
	return false
}

// AllowedOrigins returns, for every client, the data OriginAllowed needs, so
// a CORS preflight (which carries no token) can be answered for any origin
// registered with any client.
func AllowedOrigins(ctx context.Context, q store.Queryer) ([]ClientRecord, error) {
	rows, err := q.QueryContext(ctx, `SELECT client_id, redirect_uris, return_hosts FROM clients`)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var out []ClientRecord
	for rows.Next() {
		var c ClientRecord
		var redirects, hosts string
		if err := rows.Scan(&c.ClientID, &redirects, &hosts); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(redirects), &c.RedirectURIs)
		_ = json.Unmarshal([]byte(hosts), &c.ReturnHosts)
		out = append(out, c)
	}
	return out, rows.Err()
}
