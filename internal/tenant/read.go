package tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/connect-oss/connect/internal/store"
)

// CompanyRecord is a stored company.
type CompanyRecord struct {
	ID       int64
	Code     string
	Name     string
	Country  string
	Currency string
	TimeZone string
}

// ClientRecord is a stored client. SecretDigest is empty for public clients;
// RatePerSecond and RatePerMinute are 0 when RateUnlimited.
type ClientRecord struct {
	ID, CompanyID   int64
	CompanyCode     string
	ClientID        string
	Name            string
	SecretDigest    string
	Public          bool
	GrantTypes      []string
	RedirectURIs    []string
	ReturnHosts     []string
	LogoURL         string
	WebhookURL      string
	WebhookSecret   string
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	RatePerSecond   int
	RatePerMinute   int
	RateUnlimited   bool
}

// HasGrant reports whether the client may use grant type g.
func (c *ClientRecord) HasGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

// GetClient looks a client up by clientId (one indexed lookup plus the
// company's primary key). A missing client is errs.NotFound.
func GetClient(ctx context.Context, q store.Queryer, clientID string) (*ClientRecord, error) {
	var c ClientRecord
	var grants, redirects, hosts string
	var accessTTL, refreshTTL int64
	err := q.QueryRowContext(ctx, `SELECT cl.id, cl.company_id, co.code, cl.client_id, cl.name,
		COALESCE(cl.secret_digest, ''), cl.public, cl.grant_types, cl.redirect_uris, cl.return_hosts,
		cl.logo_url, cl.webhook_url, cl.webhook_secret, cl.access_token_ttl, cl.refresh_token_ttl,
		cl.rate_per_second, cl.rate_per_minute, cl.rate_unlimited
		FROM clients cl JOIN companies co ON co.id = cl.company_id
		WHERE cl.client_id = $1`, clientID).
		Scan(&c.ID, &c.CompanyID, &c.CompanyCode, &c.ClientID, &c.Name, &c.SecretDigest, &c.Public,
			&grants, &redirects, &hosts, &c.LogoURL, &c.WebhookURL, &c.WebhookSecret, &accessTTL, &refreshTTL,
			&c.RatePerSecond, &c.RatePerMinute, &c.RateUnlimited)
	if err != nil {
		return nil, store.Translate(err)
	}
	c.AccessTokenTTL = time.Duration(accessTTL) * time.Second
	c.RefreshTokenTTL = time.Duration(refreshTTL) * time.Second
	for _, l := range []struct {
		text string
		dst  *[]string
	}{{grants, &c.GrantTypes}, {redirects, &c.RedirectURIs}, {hosts, &c.ReturnHosts}} {
		if err := json.Unmarshal([]byte(l.text), l.dst); err != nil {
			return nil, fmt.Errorf("client %s: bad stored list: %w", clientID, err)
		}
		if *l.dst == nil {
			*l.dst = []string{}
		}
	}
	return &c, nil
}

const companyColumns = `id, code, name, country, currency, time_zone`

func scanCompany(row interface{ Scan(...any) error }) (*CompanyRecord, error) {
	var c CompanyRecord
	if err := row.Scan(&c.ID, &c.Code, &c.Name, &c.Country, &c.Currency, &c.TimeZone); err != nil {
		return nil, store.Translate(err)
	}
	return &c, nil
}

// GetCompany looks a company up by id; errs.NotFound when missing.
func GetCompany(ctx context.Context, q store.Queryer, id int64) (*CompanyRecord, error) {
	return scanCompany(q.QueryRowContext(ctx, `SELECT `+companyColumns+` FROM companies WHERE id = $1`, id))
}

// GetCompanyByCode looks a company up by its code; errs.NotFound when missing.
func GetCompanyByCode(ctx context.Context, q store.Queryer, code string) (*CompanyRecord, error) {
	return scanCompany(q.QueryRowContext(ctx, `SELECT `+companyColumns+` FROM companies WHERE code = $1`, code))
}

// Location returns the company's time zone, for day boundaries (spec README §6.1).
func (c *CompanyRecord) Location() (*time.Location, error) {
	return time.LoadLocation(c.TimeZone)
}
