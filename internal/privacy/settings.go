package privacy

// Company settings of the Privacy area: catalogues, enterprises, consent
// definitions (tenant file section "privacy"), read by every endpoint and
// written only by ApplyTenant.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// DefaultChannels is the channel catalogue of a company that names none:
// telemarketing, direct mail, e-mail, SMS (spec privacy.md).
var DefaultChannels = []string{"TM", "DM", "EM", "SM"}

// DefaultEvidenceYears is how long erased consent history is kept as proof.
const DefaultEvidenceYears = 3

// countryDefaults are the default language and accounting retention per
// country: the bookkeeping acts keep vouchers 5 years in Norway and Denmark,
// 7 in Sweden and 6 in Finland (spec privacy.md gives NO and SE).
var countryDefaults = map[string]struct {
	language  string
	retention int
}{
	"NO": {"nb_NO", 5}, "SE": {"sv_SE", 7}, "DK": {"da_DK", 5}, "FI": {"fi_FI", 6},
}

// Settings are a company's privacy settings with defaults applied.
type Settings struct {
	CompanyID       int64
	CompanyCode     string
	Location        *time.Location
	DefaultLanguage string
	EvidenceYears   int
	RetentionYears  int
	Channels        []string
	Purposes        []string
}

func defaults(co *tenant.CompanyRecord) Settings {
	d, ok := countryDefaults[co.Country]
	if !ok {
		d = countryDefaults["NO"]
	}
	return Settings{CompanyID: co.ID, CompanyCode: co.Code, DefaultLanguage: d.language, EvidenceYears: DefaultEvidenceYears,
		RetentionYears: d.retention, Channels: DefaultChannels, Purposes: DefaultChannels}
}

// LoadSettings returns the company's settings (defaults when the tenant file
// has no privacy section).
func LoadSettings(ctx context.Context, q store.Queryer, companyID int64) (*Settings, error) {
	co, err := tenant.GetCompany(ctx, q, companyID)
	if err != nil {
		return nil, err
	}
	s := defaults(co)
	if s.Location, err = co.Location(); err != nil {
		return nil, err
	}
	var channels, purposes string
	err = q.QueryRowContext(ctx, `SELECT default_language, consent_evidence_years, accounting_retention_years, channels, purposes
		FROM privacy_settings WHERE company_id = $1`, companyID).Scan(&s.DefaultLanguage, &s.EvidenceYears, &s.RetentionYears, &channels, &purposes)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, store.Translate(err)
	default:
		s.Channels, s.Purposes = splitCodes(channels), splitCodes(purposes)
	}
	return &s, nil
}

func splitCodes(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// catalogCode finds code in list without regard to case and returns the
// catalogue's spelling.
func catalogCode(list []string, code string) (string, bool) {
	for _, c := range list {
		if strings.EqualFold(c, code) {
			return c, true
		}
	}
	return "", false
}

// Channel returns the catalogue spelling of a channel code.
func (s *Settings) Channel(code string) (string, bool) { return catalogCode(s.Channels, code) }

// Purpose returns the catalogue spelling of a purpose code.
func (s *Settings) Purpose(code string) (string, bool) { return catalogCode(s.Purposes, code) }

// HasEnterprise reports whether code is one of the company's enterprises:
// its own company code, or one the tenant file lists.
func HasEnterprise(ctx context.Context, q store.Queryer, s *Settings, code string) (bool, error) {
	if code == "" || tenant.IsReservedEnterpriseCode(code) {
		return false, nil
	}
	if code == s.CompanyCode {
		return true, nil
	}
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM privacy_enterprises WHERE company_id = $1 AND code = $2`, s.CompanyID, code).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, store.Translate(err)
}

// HasOrderType reports whether orderType is one of the enterprise's order types.
func HasOrderType(ctx context.Context, q store.Queryer, companyID int64, enterprise, orderType string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM privacy_order_types WHERE company_id = $1 AND enterprise_code = $2 AND code = $3`,
		companyID, enterprise, orderType).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, store.Translate(err)
}

// ApplyTenant writes a company's privacy section (tenant.PrivacyApplier).
// Like the rest of the file it only adds and updates: enterprises, order
// types, issuers, groups, consents, texts and versions missing from the file
// are kept, because customers' settings and consent history refer to them.
// A consent's issuer, target and scope never change, and a published text
// version never changes (events point at the wording shown): a different
// text needs a new version with a later fromDate. Group and consent ids are
// unique on the server; another company's id is a Conflict.
func ApplyTenant(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, spec *tenant.PrivacySpec, now time.Time) (int, error) {
	if spec == nil {
		return 0, nil
	}
	co, err := tenant.GetCompany(ctx, tx, companyID)
	if err != nil {
		return 0, err
	}
	loc, err := co.Location()
	if err != nil {
		return 0, err
	}
	a := &applier{tx: tx, companyID: companyID, code: companyCode, loc: loc, ms: now.UnixMilli()}
	if err := a.settings(ctx, co, spec); err != nil {
		return 0, err
	}
	for _, e := range spec.Enterprises {
		if err := a.insert(ctx, `INSERT INTO privacy_enterprises (company_id, code, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (company_id, code) DO NOTHING`, companyID, e.Code, a.ms); err != nil {
			return 0, err
		}
		for _, o := range e.OrderTypes {
			if err := a.insert(ctx, `INSERT INTO privacy_order_types (company_id, enterprise_code, code, created_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (company_id, enterprise_code, code) DO NOTHING`, companyID, e.Code, o, a.ms); err != nil {
				return 0, err
			}
		}
	}
	for i := range spec.Issuers {
		if err := a.issuer(ctx, &spec.Issuers[i], fmt.Sprintf("privacy.issuers[%d]", i)); err != nil {
			return 0, err
		}
	}
	return a.changed, nil
}

type applier struct {
	tx        *sql.Tx
	companyID int64
	code      string
	loc       *time.Location
	ms        int64
	changed   int
}

func (a *applier) conflict(field, format string, args ...any) error {
	return &errs.Error{Kind: errs.Conflict, Field: field, Message: fmt.Sprintf("company %s: ", a.code) + fmt.Sprintf(format, args...)}
}

// insert runs an INSERT … ON CONFLICT DO NOTHING and counts a new row.
func (a *applier) insert(ctx context.Context, query string, args ...any) error {
	res, err := a.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return store.Translate(err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		a.changed++
	}
	return nil
}

func (a *applier) exec(ctx context.Context, query string, args ...any) error {
	if _, err := a.tx.ExecContext(ctx, query, args...); err != nil {
		return store.Translate(err)
	}
	a.changed++
	return nil
}

func (a *applier) settings(ctx context.Context, co *tenant.CompanyRecord, spec *tenant.PrivacySpec) error {
	want := defaults(co)
	if spec.DefaultLanguage != "" {
		want.DefaultLanguage = spec.DefaultLanguage
	}
	if spec.ConsentEvidenceYears != nil {
		want.EvidenceYears = *spec.ConsentEvidenceYears
	}
	if spec.AccountingRetentionYears != nil {
		want.RetentionYears = *spec.AccountingRetentionYears
	}
	if spec.Channels != nil {
		want.Channels = spec.Channels
	}
	switch {
	case spec.Purposes != nil:
		want.Purposes = spec.Purposes
	case spec.Channels != nil:
		want.Purposes = spec.Channels // the examples reuse channel codes as purposes
	}
	channels, purposes := strings.Join(want.Channels, ","), strings.Join(want.Purposes, ",")
	var have Settings
	var haveChannels, havePurposes string
	err := a.tx.QueryRowContext(ctx, `SELECT default_language, consent_evidence_years, accounting_retention_years, channels, purposes
		FROM privacy_settings WHERE company_id = $1`, a.companyID).Scan(&have.DefaultLanguage, &have.EvidenceYears, &have.RetentionYears, &haveChannels, &havePurposes)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return a.exec(ctx, `INSERT INTO privacy_settings (company_id, default_language, consent_evidence_years, accounting_retention_years,
			channels, purposes, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			a.companyID, want.DefaultLanguage, want.EvidenceYears, want.RetentionYears, channels, purposes, a.ms)
	case err != nil:
		return store.Translate(err)
	case have.DefaultLanguage == want.DefaultLanguage && have.EvidenceYears == want.EvidenceYears &&
		have.RetentionYears == want.RetentionYears && haveChannels == channels && havePurposes == purposes:
		return nil
	}
	return a.exec(ctx, `UPDATE privacy_settings SET default_language = $2, consent_evidence_years = $3, accounting_retention_years = $4,
		channels = $5, purposes = $6, updated_at = $7 WHERE company_id = $1`,
		a.companyID, want.DefaultLanguage, want.EvidenceYears, want.RetentionYears, channels, purposes, a.ms)
}

func (a *applier) issuer(ctx context.Context, is *tenant.IssuerSpec, path string) error {
	var issuerID int64
	err := a.tx.QueryRowContext(ctx, `SELECT id FROM consent_issuers WHERE company_id = $1 AND issuer = $2`, a.companyID, is.Issuer).Scan(&issuerID)
	if errors.Is(err, sql.ErrNoRows) {
		err = a.tx.QueryRowContext(ctx, `INSERT INTO consent_issuers (company_id, issuer, created_at) VALUES ($1, $2, $3) RETURNING id`,
			a.companyID, is.Issuer, a.ms).Scan(&issuerID)
		a.changed++
	}
	if err != nil {
		return store.Translate(err)
	}
	for j := range is.ConsentGroups {
		if err := a.group(ctx, issuerID, &is.ConsentGroups[j], fmt.Sprintf("%s.consentGroups[%d]", path, j)); err != nil {
			return err
		}
	}
	for j := range is.Consents {
		if err := a.consent(ctx, issuerID, is.Issuer, &is.Consents[j], fmt.Sprintf("%s.consents[%d]", path, j)); err != nil {
			return err
		}
	}
	// Parents last: a consent may name a parent listed after it.
	for j, c := range is.Consents {
		var parent sql.NullInt64
		if c.ParentConsentID != 0 {
			parent = sql.NullInt64{Int64: int64(c.ParentConsentID), Valid: true}
		}
		var have sql.NullInt64
		if err := a.tx.QueryRowContext(ctx, `SELECT parent_id FROM consents WHERE id = $1`, c.ConsentID).Scan(&have); err != nil {
			return store.Translate(err)
		}
		if have != parent {
			if err := a.exec(ctx, `UPDATE consents SET parent_id = $2, updated_at = $3 WHERE id = $1`, c.ConsentID, parent, a.ms); err != nil {
				return errs.Wrap(errs.Invalid, err, "%s.consents[%d].parentConsentId: cannot be set", path, j)
			}
		}
	}
	return nil
}

func active(b *bool) bool { return b == nil || *b }

func (a *applier) group(ctx context.Context, issuerID int64, g *tenant.ConsentGroupSpec, path string) error {
	var owner, haveIssuer int64
	var order int
	var act bool
	err := a.tx.QueryRowContext(ctx, `SELECT company_id, issuer_id, selection_order, active FROM consent_groups WHERE id = $1`,
		g.ConsentGroupID).Scan(&owner, &haveIssuer, &order, &act)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if err := a.exec(ctx, `INSERT INTO consent_groups (id, company_id, issuer_id, selection_order, active, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, g.ConsentGroupID, a.companyID, issuerID, g.SelectionOrder, active(g.Active), a.ms); err != nil {
			return err
		}
	case err != nil:
		return store.Translate(err)
	case owner != a.companyID:
		return a.conflict(path+".consentGroupId", "consentGroupId %d belongs to another company", g.ConsentGroupID)
	case haveIssuer != issuerID:
		return a.conflict(path+".consentGroupId", "consentGroupId %d belongs to another issuer", g.ConsentGroupID)
	case order != g.SelectionOrder || act != active(g.Active):
		if err := a.exec(ctx, `UPDATE consent_groups SET selection_order = $2, active = $3, updated_at = $4 WHERE id = $1`,
			g.ConsentGroupID, g.SelectionOrder, active(g.Active), a.ms); err != nil {
			return err
		}
	}
	for _, t := range g.Texts {
		var name, desc string
		err := a.tx.QueryRowContext(ctx, `SELECT name, description FROM consent_group_texts WHERE group_id = $1 AND language_code = $2`,
			g.ConsentGroupID, t.LanguageCode).Scan(&name, &desc)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = a.exec(ctx, `INSERT INTO consent_group_texts (group_id, language_code, name, description) VALUES ($1, $2, $3, $4)`,
				g.ConsentGroupID, t.LanguageCode, t.Name, t.Description)
		case err != nil:
			err = store.Translate(err)
		case name != t.Name || desc != t.Description:
			err = a.exec(ctx, `UPDATE consent_group_texts SET name = $3, description = $4 WHERE group_id = $1 AND language_code = $2`,
				g.ConsentGroupID, t.LanguageCode, t.Name, t.Description)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) consent(ctx context.Context, issuerID int64, issuer string, c *tenant.ConsentSpec, path string) error {
	mode := c.DisplayMode
	if mode == "" {
		mode = "A"
	}
	var group sql.NullInt64
	if c.ConsentGroupID != 0 {
		group = sql.NullInt64{Int64: int64(c.ConsentGroupID), Valid: true}
	}
	created := a.ms
	if c.Created != "" {
		t, err := tenant.ProductTime(c.Created, a.loc, false)
		if err != nil {
			return errs.Field(path+".created", "%s", err)
		}
		created = t.UnixMilli()
	}
	var owner, haveIssuer, haveCreated int64
	var target, scope, haveMode string
	var haveGroup sql.NullInt64
	var order int
	var act bool
	err := a.tx.QueryRowContext(ctx, `SELECT company_id, issuer_id, group_id, target, scope, selection_order, display_mode, active, created_at
		FROM consents WHERE id = $1`, c.ConsentID).Scan(&owner, &haveIssuer, &haveGroup, &target, &scope, &order, &haveMode, &act, &haveCreated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var clash int64
		switch err := a.tx.QueryRowContext(ctx, `SELECT id FROM consents WHERE issuer_id = $1 AND target = $2 AND scope = $3`,
			issuerID, c.Target, c.Scope).Scan(&clash); {
		case err == nil:
			return a.conflict(path+".consentId", "target %q and scope %q of issuer %s are consent %d; they cannot get another consentId", c.Target, c.Scope, issuer, clash)
		case !errors.Is(err, sql.ErrNoRows):
			return store.Translate(err)
		}
		if err := a.exec(ctx, `INSERT INTO consents (id, company_id, issuer_id, group_id, target, scope, selection_order, display_mode,
			active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			c.ConsentID, a.companyID, issuerID, group, c.Target, c.Scope, c.SelectionOrder, mode, active(c.Active), created, a.ms); err != nil {
			return err
		}
	case err != nil:
		return store.Translate(err)
	case owner != a.companyID:
		return a.conflict(path+".consentId", "consentId %d belongs to another company", c.ConsentID)
	case haveIssuer != issuerID:
		return a.conflict(path+".consentId", "consentId %d belongs to another issuer; consents never move", c.ConsentID)
	case target != c.Target || scope != c.Scope:
		return a.conflict(path+".target", "consent %d is %q/%q: target and scope never change (its events refer to them); define a new consent", c.ConsentID, target, scope)
	default:
		if c.Created == "" {
			created = haveCreated
		}
		if haveGroup != group || order != c.SelectionOrder || haveMode != mode || act != active(c.Active) || haveCreated != created {
			if err := a.exec(ctx, `UPDATE consents SET group_id = $2, selection_order = $3, display_mode = $4, active = $5, created_at = $6,
				updated_at = $7 WHERE id = $1`, c.ConsentID, group, c.SelectionOrder, mode, active(c.Active), created, a.ms); err != nil {
				return err
			}
		}
	}
	for k := range c.Texts {
		if err := a.text(ctx, int64(c.ConsentID), &c.Texts[k], fmt.Sprintf("%s.texts[%d]", path, k)); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) text(ctx context.Context, consentID int64, t *tenant.ConsentTextSpec, path string) error {
	var id int64
	var name, desc string
	err := a.tx.QueryRowContext(ctx, `SELECT id, name, description FROM consent_texts WHERE consent_id = $1 AND language_code = $2`,
		consentID, t.LanguageCode).Scan(&id, &name, &desc)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if err := a.tx.QueryRowContext(ctx, `INSERT INTO consent_texts (consent_id, language_code, name, description) VALUES ($1, $2, $3, $4)
			RETURNING id`, consentID, t.LanguageCode, t.Name, t.Description).Scan(&id); err != nil {
			return store.Translate(err)
		}
		a.changed++
	case err != nil:
		return store.Translate(err)
	case name != t.Name || desc != t.Description:
		if err := a.exec(ctx, `UPDATE consent_texts SET name = $2, description = $3 WHERE id = $1`, id, t.Name, t.Description); err != nil {
			return err
		}
	}
	type version struct {
		text string
		from int64
	}
	rows, err := a.tx.QueryContext(ctx, `SELECT text, from_date FROM consent_text_versions WHERE consent_text_id = $1 ORDER BY from_date`, id)
	if err != nil {
		return store.Translate(err)
	}
	var have []version
	for rows.Next() {
		var v version
		if err := rows.Scan(&v.text, &v.from); err != nil {
			rows.Close()
			return store.Translate(err)
		}
		have = append(have, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	for i, v := range t.Versions {
		vp := fmt.Sprintf("%s.versions[%d]", path, i)
		from, err := tenant.ProductTime(v.FromDate, a.loc, false)
		if err != nil {
			return errs.Field(vp+".fromDate", "%s", err)
		}
		ms := from.UnixMilli()
		if j := slices.IndexFunc(have, func(h version) bool { return h.from == ms }); j >= 0 {
			if have[j].text != v.Text {
				return a.conflict(vp+".text", "the version from %s was published with another text and never changes; publish a new version with a later fromDate", v.FromDate)
			}
			continue
		}
		if n := len(have); n > 0 && ms < have[n-1].from {
			return a.conflict(vp+".fromDate", "must be after the latest published version (%s): versions never overlap",
				time.UnixMilli(have[n-1].from).In(a.loc).Format(time.RFC3339))
		}
		// Publishing closes the version in force at the new fromDate.
		if _, err := a.tx.ExecContext(ctx, `UPDATE consent_text_versions SET to_date = $2 WHERE consent_text_id = $1 AND to_date IS NULL`, id, ms); err != nil {
			return store.Translate(err)
		}
		if err := a.exec(ctx, `INSERT INTO consent_text_versions (consent_text_id, text, from_date) VALUES ($1, $2, $3)`, id, v.Text, ms); err != nil {
			return err
		}
		have = append(have, version{v.Text, ms})
	}
	return nil
}
