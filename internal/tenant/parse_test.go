package tenant_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/connect-oss/connect/internal/tenant"
)

// base is a valid file; the bad cases below each break one thing in it.
const base = `companies:
  - code: ACME
    name: Acme News
    clients:
      - clientId: no.acme.web
        name: Acme Web
        secret: s3cret
        grantTypes: [authorization_code, refresh_token, client_credentials]
        redirectUris:
          - https://acme.no/callback
        returnHosts: [acme.no, "localhost:3000"]
      - clientId: no.acme.app
        name: Acme App
        public: true
        grantTypes: [authorization_code]
        redirectUris: [https://acme.no/app]
    products:
      - product: DIGI
        startTime: 2024-01-01
        retailPrice: 84.54
        vatPercent: 12.5
`

func TestParseValid(t *testing.T) {
	f, err := tenant.Parse("acme.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Companies[0]
	if c.Code != "ACME" || len(c.Clients) != 2 || len(c.Products) != 1 {
		t.Fatalf("got %+v", c)
	}
	if got := c.Clients[0].ReturnHosts; len(got) != 2 || got[1] != "localhost:3000" {
		t.Errorf("returnHosts = %q", got)
	}
	if !c.Clients[1].Public || c.Clients[1].RateLimit != nil {
		t.Errorf("client 1 = %+v", c.Clients[1])
	}
}

func TestParseOptionalFields(t *testing.T) {
	src := strings.Replace(base, "        returnHosts: [acme.no, \"localhost:3000\"]\n",
		"        returnHosts: [acme.no]\n        accessTokenTTL: 1h\n        refreshTokenTTL: 2160h\n"+
			"        rateLimit: {perSecond: 5, perMinute: 60}\n        webhook: {url: https://acme.no/hook, secret: x}\n", 1)
	src = strings.Replace(src, "        public: true\n", "        public: true\n        rateLimit: none\n", 1)
	f, err := tenant.Parse("acme.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	web, app := f.Companies[0].Clients[0], f.Companies[0].Clients[1]
	if web.AccessTokenTTL != time.Hour || web.RefreshTokenTTL != 2160*time.Hour {
		t.Errorf("ttls = %v %v", web.AccessTokenTTL, web.RefreshTokenTTL)
	}
	if *web.RateLimit != (tenant.RateLimit{PerSecond: 5, PerMinute: 60}) || !app.RateLimit.Unlimited {
		t.Errorf("rate limits = %+v %+v", web.RateLimit, app.RateLimit)
	}
	if web.Webhook == nil || web.Webhook.URL != "https://acme.no/hook" {
		t.Errorf("webhook = %+v", web.Webhook)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replace old with new in base
		want     []string
	}{
		{"bad company code", "code: ACME", "code: ACME.NEWS.TOO.LONG",
			[]string{"t.yaml:2: companies[0].code: must be 1–12 characters of A–Z, a–z, 0–9, _ or -"}},
		{"unknown key", "    name: Acme News\n", "    name: Acme News\n    nmae: typo\n",
			[]string{"t.yaml:4: companies[0].nmae: unknown field"}},
		{"unknown client key", "        secret: s3cret\n", "        secret: s3cret\n        redirectUri: https://x\n",
			[]string{"t.yaml:8: companies[0].clients[0].redirectUri: unknown field"}},
		{"bad redirect uri", "https://acme.no/callback", "/callback",
			[]string{"t.yaml:10: companies[0].clients[0].redirectUris[0]: must be an absolute http(s) URL without a fragment"}},
		{"redirect uri with fragment", "https://acme.no/callback", "https://acme.no/callback#x",
			[]string{"t.yaml:10: companies[0].clients[0].redirectUris[0]: must be an absolute http(s) URL without a fragment"}},
		{"public client with secret", "        public: true\n", "        public: true\n        secret: nope\n",
			[]string{"t.yaml:15: companies[0].clients[1].secret: a public client must not have a secret (it uses PKCE)"}},
		{"confidential without secret", "        secret: s3cret\n", "",
			[]string{"t.yaml:5: companies[0].clients[0].secret: a confidential client needs a secret or secretDigest (or set public: true)"}},
		{"bad grant", "[authorization_code, refresh_token, client_credentials]", "[authorization_code, password]",
			[]string{`t.yaml:8: companies[0].clients[0].grantTypes[1]: unknown grant type "password" (use authorization_code, refresh_token, client_credentials or https://connectid.no/oauth2/grant_type/extid_code)`}},
		{"public client credentials", "        grantTypes: [authorization_code]\n", "        grantTypes: [client_credentials]\n",
			[]string{"t.yaml:15: companies[0].clients[1].grantTypes[0]: a public client cannot use client_credentials"}},
		{"bad rate limit string", "        public: true\n", "        public: true\n        rateLimit: unlimited\n",
			[]string{`t.yaml:15: companies[0].clients[1].rateLimit: must be "none" or {perSecond: N, perMinute: N}`}},
		{"bad rate limit value", "        public: true\n", "        public: true\n        rateLimit:\n          perSecond: 10\n          perMinute: -1\n",
			[]string{"t.yaml:17: companies[0].clients[1].rateLimit.perMinute: must be a positive whole number"}},
		{"bad rate limit key", "        public: true\n", "        public: true\n        rateLimit: {perHour: 10}\n",
			[]string{"t.yaml:15: companies[0].clients[1].rateLimit.perHour: unknown field"}},
		{"bad duration", "        public: true\n", "        public: true\n        accessTokenTTL: 12 hours\n",
			[]string{"t.yaml:15: companies[0].clients[1].accessTokenTTL: must be a duration such as 12h or 90m"}},
		{"bad return host", `"localhost:3000"`, `"https://acme.no/x"`,
			[]string{"t.yaml:11: companies[0].clients[0].returnHosts[1]: must be a host name, optionally with :port (no scheme or path)"}},
		{"price with 3 decimals", "retailPrice: 84.54", "retailPrice: 84.545",
			[]string{"t.yaml:20: companies[0].products[0].retailPrice: must have at most 2 decimals"}},
		{"price not a number", "retailPrice: 84.54", "retailPrice: [1]",
			[]string{"t.yaml:20: companies[0].products[0].retailPrice: must be a number"}},
		{"bad time zone", "    name: Acme News\n", "    name: Acme News\n    timeZone: Europe/Olso\n",
			[]string{`t.yaml:4: companies[0].timeZone: unknown time zone "Europe/Olso" (use an IANA name such as Europe/Oslo)`}},
		{"bad country", "    name: Acme News\n", "    name: Acme News\n    country: DE\n",
			[]string{"t.yaml:4: companies[0].country: must be one of NO, SE, DK, FI"}},
		{"duplicate clientId", "clientId: no.acme.app", "clientId: no.acme.web",
			[]string{`t.yaml:12: companies[0].clients[1].clientId: duplicate clientId "no.acme.web" (also companies[0].clients[0])`}},
		{"duplicate product", "        vatPercent: 12.5\n", "        vatPercent: 12.5\n      - product: DIGI\n        startTime: 2024-02-01\n",
			[]string{`t.yaml:22: companies[0].products[1].product: duplicate product code "DIGI" (also companies[0].products[0])`}},
		{"product without start", "        startTime: 2024-01-01\n", "",
			[]string{"t.yaml:18: companies[0].products[0].startTime: is required"}},
		{"duplicate key", "    name: Acme News\n", "    name: Acme News\n    name: Again\n",
			[]string{"t.yaml:4: companies[0].name: duplicate field"}},
		{"bool not bool", "        public: true\n", "        public: maybe\n",
			[]string{"t.yaml:14: companies[0].clients[1].public: must be true or false"}},
		// The line is yaml.v3's: it names where the enclosing block began.
		{"syntax error", "    name: Acme News\n", "    name: [Acme News\n",
			[]string{"t.yaml:2: did not find expected ',' or ']'"}},
		{"decode problems stop before validation", "code: ACME", "code: \"\"\n    extra: 1",
			[]string{"t.yaml:3: companies[0].extra: unknown field"}}, // decode problems stop before validation
		{"bad clientId", "clientId: no.acme.app", "clientId: bad id!",
			[]string{"t.yaml:12: companies[0].clients[1].clientId: must be 1–100 characters of A–Z, a–z, 0–9, '.', '_' or '-'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(base, tt.old) {
				t.Fatalf("base lacks %q", tt.old)
			}
			src := strings.Replace(base, tt.old, tt.new, 1)
			_, err := tenant.Parse("t.yaml", []byte(src))
			var fe *tenant.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FileError", err)
			}
			if got := err.Error(); got != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s\nfile:\n%s", got, strings.Join(tt.want, "\n"), src)
			}
		})
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	src := strings.Replace(base, "code: ACME", "code: \"\"", 1)
	src = strings.Replace(src, "https://acme.no/callback", "ftp://acme.no", 1)
	src = strings.Replace(src, "retailPrice: 84.54", "retailPrice: -1", 1)
	_, err := tenant.Parse("t.yaml", []byte(src))
	want := "t.yaml:2: companies[0].code: is required\n" +
		"t.yaml:10: companies[0].clients[0].redirectUris[0]: must be an absolute http(s) URL without a fragment\n" +
		"t.yaml:20: companies[0].products[0].retailPrice: must be a non-negative number like 299 or 84.54"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestParseDemoFile(t *testing.T) {
	data, err := os.ReadFile("../../examples/demo-tenant.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := tenant.Parse("demo-tenant.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	c := f.Companies[0]
	if c.Code != "DEMO" || c.Name != "Demo Media" || c.Country != "NO" || len(c.Clients) != 2 || len(c.Products) != 5 || len(c.Coupons) != 5 {
		t.Fatalf("demo company = %+v", c)
	}
}
