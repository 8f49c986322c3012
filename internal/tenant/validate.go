package tenant

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // validate and use IANA zones even on hosts without a zoneinfo database (scratch images)
)

// Grant types a client may be given.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantExtIDCode         = "https://connectid.no/oauth2/grant_type/extid_code"
)

var grantTypes = map[string]bool{
	GrantAuthorizationCode: true, GrantRefreshToken: true, GrantClientCredentials: true, GrantExtIDCode: true,
}

// Defaults for a client that leaves them out (DESIGN §4 rate limits).
const (
	DefaultAccessTokenTTL  = 12 * time.Hour
	DefaultRefreshTokenTTL = 720 * time.Hour
	DefaultRatePerSecond   = 100
	DefaultRatePerMinute   = 2000
)

// countries maps each supported country to its default currency and time zone.
var countries = map[string]struct{ currency, zone string }{
	"NO": {"NOK", "Europe/Oslo"},
	"SE": {"SEK", "Europe/Stockholm"},
	"DK": {"DKK", "Europe/Copenhagen"},
	"FI": {"EUR", "Europe/Helsinki"},
}

var (
	companyCodeRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,12}$`)
	clientIDRe    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	currencyRe    = regexp.MustCompile(`^[A-Z]{3}$`)
	hostLabelRe   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// validate checks the semantic rules of f; lineOf maps a field path to its line.
func validate(f *File, file string, lineOf func(string) int) []Problem {
	var out []Problem
	bad := func(field, format string, args ...any) {
		out = append(out, Problem{File: file, Line: lineOf(field), Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(f.Companies) == 0 {
		bad("companies", "at least one company is required")
	}
	codes := map[string]string{}
	clientIDs := map[string]string{}
	providerIDs := map[int]string{} // Payment Services: unique on the server
	// Privacy: consent and consent group ids are unique on the server.
	consentIDs, groupIDs := map[int]string{}, map[int]string{}
	for ci, c := range f.Companies {
		cp := fmt.Sprintf("companies[%d]", ci)
		switch {
		case c.Code == "":
			bad(cp+".code", "is required")
		case !companyCodeRe.MatchString(c.Code):
			bad(cp+".code", "must be 1–12 characters of A–Z, a–z, 0–9, _ or -")
		case codes[c.Code] != "":
			bad(cp+".code", "duplicate company code %q (also %s)", c.Code, codes[c.Code])
		default:
			codes[c.Code] = cp
		}
		if strings.TrimSpace(c.Name) == "" {
			bad(cp+".name", "is required")
		}
		if c.Country != "" {
			if _, ok := countries[c.Country]; !ok {
				bad(cp+".country", "must be one of NO, SE, DK, FI")
			}
		}
		if c.Currency != "" && !currencyRe.MatchString(c.Currency) {
			bad(cp+".currency", "must be an ISO 4217 code such as NOK")
		}
		if c.TimeZone != "" {
			if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "Local" {
				bad(cp+".timeZone", "unknown time zone %q (use an IANA name such as Europe/Oslo)", c.TimeZone)
			}
		}
		for i, cl := range c.Clients {
			p := fmt.Sprintf("%s.clients[%d]", cp, i)
			if cl.ClientID != "" && clientIDRe.MatchString(cl.ClientID) {
				if prev, dup := clientIDs[cl.ClientID]; dup {
					bad(p+".clientId", "duplicate clientId %q (also %s)", cl.ClientID, prev)
				} else {
					clientIDs[cl.ClientID] = p
				}
			}
			validateClient(cl, p, bad)
		}
		products := map[string]string{}
		for i, spec := range c.Products {
			p := fmt.Sprintf("%s.products[%d]", cp, i)
			for _, fp := range ValidateProduct(spec) {
				bad(p+"."+fp.Field, "%s", fp.Message)
			}
			if spec.Product == "" {
				continue
			}
			if prev, dup := products[spec.Product]; dup {
				bad(p+".product", "duplicate product code %q (also %s)", spec.Product, prev)
			} else {
				products[spec.Product] = p
			}
		}
		// Customers and orders: coupons, vouchers, articles, rewards, categories.
		validateCatalog(c, cp, bad)
		// Subscriptions, access and sharing.
		validateShareRules(c, cp, bad)
		validateProductSettings(c, cp, bad)
		validateDeliveryPlans(c, cp, bad)
		validatePublications(c, cp, bad)
		validateProductDependencies(c, cp, bad)
		// ConnectID.
		validateIdentity(c, cp, bad)
		// Payment Services.
		validateBilling(c, cp, providerIDs, bad)
		// Privacy.
		validatePrivacy(c, cp, consentIDs, groupIDs, bad)
		// Recruitment.
		validateRecruitment(c, cp, bad)
		// Diverse.
		validateDiverse(c, cp, bad)
	}
	return out
}

func validateClient(c Client, p string, bad func(field, format string, args ...any)) {
	switch {
	case c.ClientID == "":
		bad(p+".clientId", "is required")
	case !clientIDRe.MatchString(c.ClientID):
		bad(p+".clientId", "must be 1–100 characters of A–Z, a–z, 0–9, '.', '_' or '-'")
	}
	if strings.TrimSpace(c.Name) == "" {
		bad(p+".name", "is required")
	}
	if c.LogoURL != "" && !isHTTPURL(c.LogoURL) {
		bad(p+".logoUrl", "must be an absolute http(s) URL")
	}
	switch {
	case c.Public && c.Secret != "":
		bad(p+".secret", "a public client must not have a secret (it uses PKCE)")
	case c.Public && c.SecretDigest != "":
		bad(p+".secretDigest", "a public client must not have a secret (it uses PKCE)")
	case !c.Public && c.Secret == "" && c.SecretDigest == "":
		bad(p+".secret", "a confidential client needs a secret or secretDigest (or set public: true)")
	case c.Secret != "" && c.SecretDigest != "":
		bad(p+".secretDigest", "give either secret or secretDigest, not both")
	case c.SecretDigest != "":
		if b, err := hex.DecodeString(c.SecretDigest); err != nil || len(b) < 16 {
			bad(p+".secretDigest", "must be a hex digest")
		}
	}
	if len(c.GrantTypes) == 0 {
		bad(p+".grantTypes", "at least one grant type is required")
	}
	seen := map[string]bool{}
	for i, g := range c.GrantTypes {
		f := fmt.Sprintf("%s.grantTypes[%d]", p, i)
		switch {
		case !grantTypes[g]:
			bad(f, "unknown grant type %q (use authorization_code, refresh_token, client_credentials or %s)", g, GrantExtIDCode)
		case seen[g]:
			bad(f, "duplicate grant type %q", g)
		case g == GrantClientCredentials && c.Public:
			bad(f, "a public client cannot use client_credentials")
		}
		seen[g] = true
	}
	if seen[GrantAuthorizationCode] && len(c.RedirectURIs) == 0 {
		bad(p+".redirectUris", "authorization_code needs at least one redirect URI")
	}
	seen = map[string]bool{}
	for i, u := range c.RedirectURIs {
		f := fmt.Sprintf("%s.redirectUris[%d]", p, i)
		switch {
		case !isHTTPURL(u) || strings.Contains(u, "#"):
			bad(f, "must be an absolute http(s) URL without a fragment")
		case seen[u]:
			bad(f, "duplicate redirect URI")
		}
		seen[u] = true
	}
	seen = map[string]bool{}
	for i, h := range c.ReturnHosts {
		f := fmt.Sprintf("%s.returnHosts[%d]", p, i)
		switch {
		case !isHostPort(h):
			bad(f, "must be a host name, optionally with :port (no scheme or path)")
		case seen[strings.ToLower(h)]:
			bad(f, "duplicate return host")
		}
		seen[strings.ToLower(h)] = true
	}
	if w := c.Webhook; w != nil {
		if !isHTTPURL(w.URL) {
			bad(p+".webhook.url", "must be an absolute http(s) URL")
		}
		if w.Secret == "" {
			bad(p+".webhook.secret", "is required to sign deliveries")
		}
	}
	if c.AccessTokenTTL != 0 && (c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 7*24*time.Hour || c.AccessTokenTTL%time.Second != 0) {
		bad(p+".accessTokenTTL", "must be whole seconds between 1m and 168h")
	}
	if c.RefreshTokenTTL != 0 && (c.RefreshTokenTTL < time.Hour || c.RefreshTokenTTL > 2*8760*time.Hour || c.RefreshTokenTTL%time.Second != 0) {
		bad(p+".refreshTokenTTL", "must be whole seconds between 1h and 17520h")
	}
	if r := c.RateLimit; r != nil && !r.Unlimited {
		if r.PerSecond == 0 && r.PerMinute == 0 {
			bad(p+".rateLimit", `must set perSecond and/or perMinute, or be "none"`)
		}
		ps, pm := effectiveRate(r)
		if pm < ps {
			bad(p+".rateLimit.perMinute", "must not be below perSecond (%d)", ps)
		}
	}
}

func effectiveRate(r *RateLimit) (perSecond, perMinute int) {
	perSecond, perMinute = DefaultRatePerSecond, DefaultRatePerMinute
	if r == nil {
		return
	}
	if r.PerSecond > 0 {
		perSecond = r.PerSecond
	}
	if r.PerMinute > 0 {
		perMinute = r.PerMinute
	}
	return
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != "" && u.User == nil
}

// isHostPort accepts "example.com", "localhost:3000", "127.0.0.1", "[::1]:8080".
func isHostPort(s string) bool {
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	if net.ParseIP(host) != nil {
		return true
	}
	host = strings.ToLower(host)
	if host == "" || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if !hostLabelRe.MatchString(label) {
			return false
		}
	}
	return true
}
