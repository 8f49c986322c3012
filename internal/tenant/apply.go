package tenant

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
)

// SecretDigester turns a client secret into the digest that is stored; the
// oauth package implements it with a keyed HMAC. It must be deterministic, or
// re-applying a file would count every client as changed.
type SecretDigester interface {
	DigestSecret(secret string) string
}

// Sections are what Apply needs from the packages that own the file's other
// tables; the wiring (internal/app) supplies them. Domain packages import
// tenant (for company lookups), so tenant never imports them.
type Sections struct {
	Digester SecretDigester
	Products ProductApplier // catalog.ApplyProducts
	// Customers and orders: coupons, vouchers, articles, rewards, categories,
	// payment methods (catalog.ApplyOffers).
	Catalog CatalogApplier
	// Subscriptions, access and sharing: share rules (subscription.ApplyShareRules)
	// and product settings (subscription.ApplySettings).
	ShareRules      ShareRulesApplier
	ProductSettings ProductSettingsApplier
	// Delivery: product delivery plans (delivery.ApplyPlans).
	DeliveryPlans DeliveryPlansApplier
	// Product & Services: issue calendars (delivery.ApplyPublications) and
	// product dependency discounts (catalog.ApplyDependencies).
	Publications        PublicationsApplier
	ProductDependencies ProductDependenciesApplier
	// ConnectID: users and the external-identity prefix (identity.ApplyTenant).
	Identity IdentityApplier
	// Payment Services: payment providers and billing settings (billing.ApplyTenant).
	Billing BillingApplier
	// Privacy: consents, catalogues and retention settings (privacy.ApplyTenant).
	Privacy PrivacyApplier
	// Recruitment: campaigns, after the catalog their coupons belong to
	// (recruitment.ApplyTenant).
	Recruitment RecruitmentApplier
	// Diverse: service notices (message.ApplyStatusMessages), after the
	// products they target, and seeded stock levels (stock.ApplyTenant).
	StatusMessages StatusMessagesApplier
	Stock          StockApplier
	// Changed, when set, is called in the transaction for every company the
	// file changed, after its sections: caches of tenant data record the
	// change there (Customers and orders: order.CatalogChanged).
	Changed func(ctx context.Context, tx *sql.Tx, companyID int64) error
}

// Result counts what Apply changed.
type Result struct {
	CompaniesCreated, CompaniesUpdated int
	ClientsCreated, ClientsUpdated     int
	ProductsCreated, ProductsUpdated   int
	CatalogCreated, CatalogUpdated     int  // coupons, vouchers, articles, rewards, categories, payment methods
	UsersCreated, UsersUpdated         int  // ConnectID users
	Unchanged                          bool // nothing was written
}

// Apply makes the database match f, in one transaction: companies are upserted
// by code, clients by clientId, products by (company, code). Rows are only
// written when a value differs, so applying the same file again changes
// nothing: no updated_at bumps, no events, no audit rows.
//
// Apply only adds and updates. Clients and products in the database but not
// in the file are left alone, because a file may describe part of a tenant and
// deleting a client would silently break a publisher's integration; products
// are retired with an endTime instead. A clientId that belongs to another
// company is refused (Conflict) rather than moved.
func Apply(ctx context.Context, db *store.DB, f *File, s Sections, now time.Time) (Result, error) {
	if err := f.Validate(); err != nil {
		return Result{}, err
	}
	var res Result
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		res = Result{}
		for i := range f.Companies {
			if err := applyCompany(ctx, tx, &f.Companies[i], fmt.Sprintf("companies[%d]", i), s, now, &res); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	res.Unchanged = res == Result{}
	return res, nil
}

func applyCompany(ctx context.Context, tx *sql.Tx, c *Company, path string, s Sections, now time.Time, res *Result) error {
	want := companyRecord(c)
	ms := now.UnixMilli()
	var r Result // this company's changes, for its audit row
	have, err := GetCompanyByCode(ctx, tx, c.Code)
	switch {
	case errs.Is(err, errs.NotFound):
		err = tx.QueryRowContext(ctx, `INSERT INTO companies (code, name, country, currency, time_zone, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
			want.Code, want.Name, want.Country, want.Currency, want.TimeZone, ms).Scan(&want.ID)
		if err != nil {
			return fmt.Errorf("create company %s: %w", c.Code, err)
		}
		r.CompaniesCreated++
	case err != nil:
		return err
	default:
		want.ID = have.ID
		if *have != want {
			_, err = tx.ExecContext(ctx, `UPDATE companies SET name = $2, country = $3, currency = $4, time_zone = $5, updated_at = $6
				WHERE id = $1`, want.ID, want.Name, want.Country, want.Currency, want.TimeZone, ms)
			if err != nil {
				return fmt.Errorf("update company %s: %w", c.Code, err)
			}
			r.CompaniesUpdated++
		}
	}

	for i := range c.Clients {
		if err := applyClient(ctx, tx, want, &c.Clients[i], fmt.Sprintf("%s.clients[%d]", path, i), s.Digester, ms, &r); err != nil {
			return err
		}
	}

	if len(c.Products) > 0 {
		if s.Products == nil {
			return errors.New("tenant: no product applier configured")
		}
		r.ProductsCreated, r.ProductsUpdated, err = s.Products(ctx, tx, want.ID, want.Code, c.Products, now)
		if err != nil {
			return err
		}
	}

	// Customers and orders: the catalog sections refer to products, so they follow them.
	if c.HasCatalog() {
		if s.Catalog == nil {
			return errors.New("tenant: no catalog applier configured")
		}
		r.CatalogCreated, r.CatalogUpdated, err = s.Catalog(ctx, tx, want.ID, want.Code, c, now)
		if err != nil {
			return err
		}
	}

	// Subscriptions, access and sharing: share rules refer to products.
	if len(c.ShareRules) > 0 {
		if s.ShareRules == nil {
			return errors.New("tenant: no share rules applier configured")
		}
		n, err := s.ShareRules(ctx, tx, want.ID, want.Code, c.ShareRules, now)
		if err != nil {
			return err
		}
		r.CatalogUpdated += n
	}
	if c.ProductSettings != nil {
		if s.ProductSettings == nil {
			return errors.New("tenant: no product settings applier configured")
		}
		n, err := s.ProductSettings(ctx, tx, want.ID, want.Code, c.ProductSettings, now)
		if err != nil {
			return err
		}
		r.CatalogUpdated += n
	}
	if len(c.DeliveryPlans) > 0 {
		if s.DeliveryPlans == nil {
			return errors.New("tenant: no delivery plans applier configured")
		}
		n, err := s.DeliveryPlans(ctx, tx, want.ID, want.Code, c.DeliveryPlans, now)
		if err != nil {
			return err
		}
		r.CatalogUpdated += n
	}
	if len(c.Publications) > 0 {
		if s.Publications == nil {
			return errors.New("tenant: no publications applier configured")
		}
		n, err := s.Publications(ctx, tx, want.ID, want.Code, c.Publications, now)
		if err != nil {
			return err
		}
		r.CatalogUpdated += n
	}
	if len(c.ProductDependencies) > 0 {
		if s.ProductDependencies == nil {
			return errors.New("tenant: no product dependencies applier configured")
		}
		n, err := s.ProductDependencies(ctx, tx, want.ID, want.Code, c.ProductDependencies, now)
		if err != nil {
			return err
		}
		r.CatalogUpdated += n
	}

	// Payment Services: payment providers and billing settings.
	if c.HasBilling() {
		if s.Billing == nil {
			return errors.New("tenant: no billing applier configured")
		}
		n, err := s.Billing(ctx, tx, want.ID, want.Code, c.PaymentProviders, c.Billing, now)
		if err != nil {
			return err
		}
		r.CatalogUpdated += n
	}

	// Privacy: consent definitions and the channel/purpose catalogues.
	if c.Privacy != nil {
		if s.Privacy == nil {
			return errors.New("tenant: no privacy applier configured")
		}
		n, err := s.Privacy(ctx, tx, want.ID, want.Code, c.Privacy, now)
		if err != nil {
			return err
		}
		r.CatalogUpdated += n
	}

	// Recruitment: campaigns refer to the catalog's coupons.
	if len(c.RecruitmentCampaigns) > 0 {
		if s.Recruitment == nil {
			return errors.New("tenant: no recruitment applier configured")
		}
		n, err := s.Recruitment(ctx, tx, want.ID, c.RecruitmentCampaigns, now)
		if err != nil {
			return err
		}
		r.CatalogUpdated += n
	}

	// Diverse: notices and stock levels refer to products.
	if len(c.StatusMessages) > 0 {
		if s.StatusMessages == nil {
			return errors.New("tenant: no status messages applier configured")
		}
		n, err := s.StatusMessages(ctx, tx, want.ID, want.Country, c.StatusMessages, now)
		if err != nil {
			return err
		}
		r.CatalogUpdated += n
	}
	if len(c.Stock) > 0 {
		if s.Stock == nil {
			return errors.New("tenant: no stock applier configured")
		}
		n, err := s.Stock(ctx, tx, want.ID, c.Stock, now)
		if err != nil {
			return err
		}
		r.CatalogUpdated += n
	}

	// ConnectID: users become customers of the company, so they come last.
	if c.HasIdentity() {
		if s.Identity == nil {
			return errors.New("tenant: no identity applier configured")
		}
		r.UsersCreated, r.UsersUpdated, err = s.Identity(ctx, tx, want.ID, want.Code,
			IdentitySpec{ExternalIDPrefix: c.ExternalIDPrefix, Users: c.Users}, now)
		if err != nil {
			return err
		}
	}

	if r != (Result{}) && s.Changed != nil {
		if err := s.Changed(ctx, tx, want.ID); err != nil {
			return err
		}
	}
	if r != (Result{}) {
		// Counts only: the file holds secrets, the audit log must not.
		err := audit.Record(ctx, tx, audit.Entry{
			CompanyID: want.ID,
			Actor:     "operator",
			Action:    "tenant.apply",
			Target:    want.Code,
			Detail: map[string]any{
				"companiesCreated": r.CompaniesCreated, "companiesUpdated": r.CompaniesUpdated,
				"clientsCreated": r.ClientsCreated, "clientsUpdated": r.ClientsUpdated,
				"productsCreated": r.ProductsCreated, "productsUpdated": r.ProductsUpdated,
				"catalogCreated": r.CatalogCreated, "catalogUpdated": r.CatalogUpdated,
				"usersCreated": r.UsersCreated, "usersUpdated": r.UsersUpdated,
			},
			At: now,
		})
		if err != nil {
			return err
		}
	}
	res.CompaniesCreated += r.CompaniesCreated
	res.CompaniesUpdated += r.CompaniesUpdated
	res.ClientsCreated += r.ClientsCreated
	res.ClientsUpdated += r.ClientsUpdated
	res.ProductsCreated += r.ProductsCreated
	res.ProductsUpdated += r.ProductsUpdated
	res.CatalogCreated += r.CatalogCreated
	res.CatalogUpdated += r.CatalogUpdated
	res.UsersCreated += r.UsersCreated
	res.UsersUpdated += r.UsersUpdated
	return nil
}

func applyClient(ctx context.Context, tx *sql.Tx, co CompanyRecord, c *Client, path string, d SecretDigester, ms int64, r *Result) error {
	want, err := clientRecord(co, c, d)
	if err != nil {
		return errs.Field(path+".secret", "%s", err.Error())
	}
	have, err := GetClient(ctx, tx, c.ClientID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	if have != nil && have.CompanyID != co.ID {
		return &errs.Error{Kind: errs.Conflict, Field: path + ".clientId",
			Message: fmt.Sprintf("client %q already belongs to another company", c.ClientID)}
	}
	if have != nil && clientEqual(have, &want) {
		return nil
	}
	grants, redirects, hosts := jsonList(want.GrantTypes), jsonList(want.RedirectURIs), jsonList(want.ReturnHosts)
	var digest sql.NullString
	if want.SecretDigest != "" {
		digest = sql.NullString{String: want.SecretDigest, Valid: true}
	}
	args := []any{want.ClientID, want.Name, digest, want.Public, grants, redirects, hosts,
		want.LogoURL, want.WebhookURL, want.WebhookSecret,
		int64(want.AccessTokenTTL / time.Second), int64(want.RefreshTokenTTL / time.Second),
		want.RatePerSecond, want.RatePerMinute, want.RateUnlimited, ms, co.ID}
	if have == nil {
		_, err = tx.ExecContext(ctx, `INSERT INTO clients (client_id, name, secret_digest, public, grant_types,
			redirect_uris, return_hosts, logo_url, webhook_url, webhook_secret, access_token_ttl, refresh_token_ttl,
			rate_per_second, rate_per_minute, rate_unlimited, created_at, updated_at, company_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17)`, args...)
		if err != nil {
			return fmt.Errorf("create client %s: %w", c.ClientID, err)
		}
		r.ClientsCreated++
		return nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE clients SET name = $2, secret_digest = $3, public = $4, grant_types = $5,
		redirect_uris = $6, return_hosts = $7, logo_url = $8, webhook_url = $9, webhook_secret = $10,
		access_token_ttl = $11, refresh_token_ttl = $12, rate_per_second = $13, rate_per_minute = $14,
		rate_unlimited = $15, updated_at = $16
		WHERE client_id = $1 AND company_id = $17`, args...)
	if err != nil {
		return fmt.Errorf("update client %s: %w", c.ClientID, err)
	}
	r.ClientsUpdated++
	return nil
}

// companyRecord is c with defaults applied (ID unset).
func companyRecord(c *Company) CompanyRecord {
	rec := CompanyRecord{Code: c.Code, Name: c.Name, Country: c.Country, Currency: c.Currency, TimeZone: c.TimeZone}
	if rec.Country == "" {
		rec.Country = "NO"
	}
	def := countries[rec.Country]
	if rec.Currency == "" {
		rec.Currency = def.currency
	}
	if rec.TimeZone == "" {
		rec.TimeZone = def.zone
	}
	return rec
}

// clientRecord is c as it should be stored, with defaults applied.
func clientRecord(co CompanyRecord, c *Client, d SecretDigester) (ClientRecord, error) {
	rec := ClientRecord{
		CompanyID: co.ID, CompanyCode: co.Code, ClientID: c.ClientID, Name: c.Name, Public: c.Public,
		GrantTypes: nonNil(c.GrantTypes), RedirectURIs: nonNil(c.RedirectURIs), ReturnHosts: make([]string, len(c.ReturnHosts)),
		LogoURL: c.LogoURL, AccessTokenTTL: c.AccessTokenTTL, RefreshTokenTTL: c.RefreshTokenTTL,
	}
	for i, h := range c.ReturnHosts {
		rec.ReturnHosts[i] = strings.ToLower(h) // host names compare case-insensitively
	}
	switch {
	case c.Public:
	case c.Secret != "":
		if d == nil {
			return rec, errors.New("a secret digester is required to apply a plain secret")
		}
		rec.SecretDigest = d.DigestSecret(c.Secret)
	default:
		rec.SecretDigest = strings.ToLower(c.SecretDigest)
	}
	if c.Webhook != nil {
		rec.WebhookURL, rec.WebhookSecret = c.Webhook.URL, c.Webhook.Secret
	}
	if rec.AccessTokenTTL == 0 {
		rec.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if rec.RefreshTokenTTL == 0 {
		rec.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if c.RateLimit != nil && c.RateLimit.Unlimited {
		rec.RateUnlimited = true
	} else {
		rec.RatePerSecond, rec.RatePerMinute = effectiveRate(c.RateLimit)
	}
	return rec, nil
}

// clientEqual compares the stored fields (not IDs).
func clientEqual(a, b *ClientRecord) bool {
	return a.CompanyID == b.CompanyID && a.Name == b.Name && a.SecretDigest == b.SecretDigest &&
		a.Public == b.Public && slices.Equal(a.GrantTypes, b.GrantTypes) &&
		slices.Equal(a.RedirectURIs, b.RedirectURIs) && slices.Equal(a.ReturnHosts, b.ReturnHosts) &&
		a.LogoURL == b.LogoURL && a.WebhookURL == b.WebhookURL && a.WebhookSecret == b.WebhookSecret &&
		a.AccessTokenTTL == b.AccessTokenTTL && a.RefreshTokenTTL == b.RefreshTokenTTL &&
		a.RatePerSecond == b.RatePerSecond && a.RatePerMinute == b.RatePerMinute &&
		a.RateUnlimited == b.RateUnlimited
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func jsonList(s []string) string {
	b, _ := json.Marshal(nonNil(s))
	return string(b)
}
