// Package tenant owns companies (publishers) and their OAuth clients: the
// declarative tenant file an operator writes, its idempotent Apply, and the
// hot read helpers the rest of the server uses to look clients up.
package tenant

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// File is a tenant file: one or more companies with their clients and products.
type File struct {
	Companies []Company `yaml:"companies"`
}

// Company is a publisher. Empty Country, Currency and TimeZone take defaults
// (NO; the country's currency; the country's capital's zone).
type Company struct {
	Code     string        `yaml:"code"`
	Name     string        `yaml:"name"`
	Country  string        `yaml:"country"`
	Currency string        `yaml:"currency"`
	TimeZone string        `yaml:"timeZone"`
	Clients  []Client      `yaml:"clients"`
	Products []ProductSpec `yaml:"products"`

	// Customers and orders: catalog sections beside products (catalog.go).
	Coupons        []CouponSpec        `yaml:"coupons"`
	Vouchers       []VoucherSpec       `yaml:"vouchers"`
	Articles       []ArticleSpec       `yaml:"articles"`
	Rewards        []RewardSpec        `yaml:"rewards"`
	CategoryTypes  []CategoryTypeSpec  `yaml:"categoryTypes"`
	PaymentMethods []PaymentMethodSpec `yaml:"paymentMethods"`

	// Subscriptions, access and sharing: share rules per product (sharing.go)
	// and the company settings of product.md (productsettings.go).
	ShareRules      []ShareRuleSpec      `yaml:"shareRules"`
	ProductSettings *ProductSettingsSpec `yaml:"productSettings"`
	// Delivery: product delivery plans (delivery.go).
	DeliveryPlans []DeliveryPlanSpec `yaml:"deliveryPlans"`
	// Product & Services: issue calendars with complaint options, and
	// product dependency discounts (publications.go).
	Publications        []PublicationSpec       `yaml:"publications"`
	ProductDependencies []ProductDependencySpec `yaml:"productDependencies"`

	// ConnectID: demo/development users (customers of this company) and the
	// external-identity prefix (identity.go).
	Users            []UserSpec `yaml:"users"`
	ExternalIDPrefix string     `yaml:"externalIdPrefix"`

	// Payment Services: payment providers and billing settings (billing.go).
	PaymentProviders []PaymentProviderSpec `yaml:"paymentProviders"`
	Billing          *BillingSpec          `yaml:"billing"`

	// Privacy: consents, channel and purpose catalogues, enterprises (privacy.go).
	Privacy *PrivacySpec `yaml:"privacy"`

	// Recruitment: member-gets-member campaigns (recruitment.go).
	RecruitmentCampaigns []RecruitmentCampaignSpec `yaml:"recruitmentCampaigns"`

	// Diverse: service notices and seeded stock levels (diverse.go).
	StatusMessages []StatusMessageSpec `yaml:"statusMessages"`
	Stock          []StockSpec         `yaml:"stock"`
}

// Client is an OAuth client of a company. A confidential client has exactly
// one of Secret (hashed at apply, never stored) or SecretDigest; a public
// client has neither and must use PKCE.
type Client struct {
	ClientID        string        `yaml:"clientId"`
	Name            string        `yaml:"name"`
	LogoURL         string        `yaml:"logoUrl"`
	Secret          string        `yaml:"secret"`
	SecretDigest    string        `yaml:"secretDigest"`
	Public          bool          `yaml:"public"`
	GrantTypes      []string      `yaml:"grantTypes"`
	RedirectURIs    []string      `yaml:"redirectUris"`
	ReturnHosts     []string      `yaml:"returnHosts"`
	Webhook         *Webhook      `yaml:"webhook"`
	AccessTokenTTL  time.Duration `yaml:"accessTokenTTL"`  // 0: 12h
	RefreshTokenTTL time.Duration `yaml:"refreshTokenTTL"` // 0: 720h
	RateLimit       *RateLimit    `yaml:"rateLimit"`       // nil: 100/s, 2000/min
}

// Webhook is where the company's events are pushed, signed with Secret.
type Webhook struct {
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"`
}

// RateLimit is written either as the string "none" or as
// {perSecond: N, perMinute: N}; an omitted limit takes its default.
type RateLimit struct {
	Unlimited bool
	PerSecond int
	PerMinute int
}

// nodeError is an error about a sub-field of a custom-decoded node, so the
// decoder can still report its line and path.
type nodeError struct {
	line  int
	field string
	msg   string
}

func (e *nodeError) Error() string { return e.field + ": " + e.msg }

// UnmarshalYAML reads "none" or a {perSecond, perMinute} mapping.
func (r *RateLimit) UnmarshalYAML(n *yaml.Node) error {
	const want = `must be "none" or {perSecond: N, perMinute: N}`
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" && n.Value == "none" {
			*r = RateLimit{Unlimited: true}
			return nil
		}
		return errors.New(want)
	case yaml.MappingNode:
	default:
		return errors.New(want)
	}
	*r = RateLimit{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var dst *int
		switch k.Value {
		case "perSecond":
			dst = &r.PerSecond
		case "perMinute":
			dst = &r.PerMinute
		default:
			return &nodeError{k.Line, k.Value, "unknown field"}
		}
		if seen[k.Value] {
			return &nodeError{k.Line, k.Value, "duplicate field"}
		}
		seen[k.Value] = true
		if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Decode(dst) != nil || *dst <= 0 {
			return &nodeError{k.Line, k.Value, "must be a positive whole number"}
		}
	}
	return nil
}

// Problem is one thing wrong in a tenant file.
type Problem struct {
	File    string
	Line    int // 0 when unknown (a File built in code)
	Field   string
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// FileError lists every problem found, so an operator fixes a file in one pass.
type FileError struct {
	Problems []Problem
}

func (e *FileError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Parse decodes and validates a tenant file. name is used in error messages
// (usually the file's base name). Problems come back as *FileError, each with
// the line and field path it is about; unknown keys are problems too, so a
// misspelt field does not silently fall back to a default.
func Parse(name string, data []byte) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &FileError{Problems: []Problem{{File: name, Line: yamlErrorLine(err), Message: yamlErrorText(err)}}}
	}
	d := &decoder{file: name, lines: map[string]int{}}
	f := &File{}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, &FileError{Problems: []Problem{{File: name, Message: "file is empty"}}}
	}
	d.decode(root.Content[0], "", f)
	if len(d.problems) > 0 {
		return nil, &FileError{Problems: d.problems}
	}
	if probs := validate(f, name, d.lineOf); len(probs) > 0 {
		return nil, &FileError{Problems: probs}
	}
	return f, nil
}

// Validate checks a File built in code (no line numbers).
func (f *File) Validate() error {
	if probs := validate(f, "", func(string) int { return 0 }); len(probs) > 0 {
		return &FileError{Problems: probs}
	}
	return nil
}
