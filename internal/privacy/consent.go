package privacy

// Consents: definitions, texts and groups of an issuer (read-only; the tenant
// file writes them), and consent events with their history and state.

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/value"
)

// Label is a name and description in one language.
type Label struct {
	LanguageCode string `json:"languageCode"`
	Name         string `json:"name"`
	Description  string `json:"description"`
}

// Consent is the Consent shape (spec privacy.md). ConsentGiven is the
// caller's current state in user mode, absent when never asked.
type Consent struct {
	ConsentID       int64   `json:"consentId"`
	ConsentGroupID  *int64  `json:"consentGroupId,omitempty"`
	Target          string  `json:"target"`
	Scope           string  `json:"scope"`
	ParentConsentID *int64  `json:"parentConsentId,omitempty"`
	SelectionOrder  int     `json:"selectionOrder"`
	DisplayMode     string  `json:"displayMode"`
	Created         int64   `json:"created"`
	Active          bool    `json:"active"`
	Texts           []Label `json:"texts"`
	ConsentGiven    *bool   `json:"consentGiven,omitempty"`
}

// ConsentList is {"issuer", "consents"}.
type ConsentList struct {
	Issuer   string     `json:"issuer"`
	Consents []*Consent `json:"consents"`
}

// Group is the Consent group shape.
type Group struct {
	ConsentGroupID int64   `json:"consentGroupId"`
	SelectionOrder int     `json:"selectionOrder"`
	Active         bool    `json:"active"`
	Texts          []Label `json:"texts"`
}

// GroupList is {"issuer", "consentGroups"}.
type GroupList struct {
	Issuer        string  `json:"issuer"`
	ConsentGroups []Group `json:"consentGroups"`
}

// findIssuer returns the id of the company's issuer; another company's
// issuer is unknown (404).
func findIssuer(ctx context.Context, q store.Queryer, companyID int64, issuer string) (int64, error) {
	if issuer == "" || len(issuer) > 255 {
		return 0, errs.E(errs.NotFound, "no issuer %q", issuer)
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM consent_issuers WHERE company_id = $1 AND issuer = $2`, companyID, issuer).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errs.E(errs.NotFound, "no issuer %q", issuer)
	}
	return id, store.Translate(err)
}

// consentFilter selects an issuer's consents; zero fields mean any.
type consentFilter struct {
	companyID, issuerID int64
	onlyActive          bool
	groupID, consentID  int64
	target, scope       string
	withoutLabels       bool
}

// listConsents returns an issuer's consents ordered by group, then
// selectionOrder (consents without a group last).
func listConsents(ctx context.Context, q store.Queryer, f consentFilter) ([]*Consent, error) {
	var sb strings.Builder
	sb.WriteString(`SELECT c.id, c.group_id, c.target, c.scope, c.parent_id, c.selection_order, c.display_mode, c.created_at, c.active
		FROM consents c LEFT JOIN consent_groups g ON g.id = c.group_id
		WHERE c.company_id = $1 AND c.issuer_id = $2`)
	args := []any{f.companyID, f.issuerID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.onlyActive {
		sb.WriteString(` AND c.active = TRUE`)
	}
	if f.groupID != 0 {
		sb.WriteString(` AND c.group_id = ` + arg(f.groupID))
	}
	if f.consentID != 0 {
		sb.WriteString(` AND c.id = ` + arg(f.consentID))
	}
	if f.target != "" {
		sb.WriteString(` AND c.target = ` + arg(f.target))
	}
	if f.scope != "" {
		sb.WriteString(` AND c.scope = ` + arg(f.scope))
	}
	sb.WriteString(` ORDER BY CASE WHEN g.id IS NULL THEN 1 ELSE 0 END, g.selection_order, g.id, c.selection_order, c.id`)
	rows, err := q.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	var out []*Consent
	for rows.Next() {
		var c Consent
		var g, p sql.NullInt64
		if err := rows.Scan(&c.ConsentID, &g, &c.Target, &c.Scope, &p, &c.SelectionOrder, &c.DisplayMode, &c.Created, &c.Active); err != nil {
			rows.Close()
			return nil, store.Translate(err)
		}
		if g.Valid {
			c.ConsentGroupID = &g.Int64
		}
		if p.Valid {
			c.ParentConsentID = &p.Int64
		}
		c.Texts = []Label{}
		out = append(out, &c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, store.Translate(err)
	}
	if f.withoutLabels || len(out) == 0 {
		return out, nil
	}
	byID := map[int64]*Consent{}
	for _, c := range out {
		byID[c.ConsentID] = c
	}
	rows, err = q.QueryContext(ctx, `SELECT t.consent_id, t.language_code, t.name, t.description FROM consent_texts t
		JOIN consents c ON c.id = t.consent_id WHERE c.company_id = $1 AND c.issuer_id = $2 ORDER BY t.consent_id, t.language_code`, f.companyID, f.issuerID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var l Label
		if err := rows.Scan(&id, &l.LanguageCode, &l.Name, &l.Description); err != nil {
			return nil, store.Translate(err)
		}
		if c := byID[id]; c != nil {
			c.Texts = append(c.Texts, l)
		}
	}
	return out, store.Translate(rows.Err())
}

// listGroups returns an issuer's groups by selectionOrder.
func listGroups(ctx context.Context, q store.Queryer, companyID, issuerID int64, onlyActive bool) ([]Group, error) {
	query := `SELECT id, selection_order, active FROM consent_groups WHERE company_id = $1 AND issuer_id = $2`
	if onlyActive {
		query += ` AND active = TRUE`
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY selection_order, id`, companyID, issuerID)
	if err != nil {
		return nil, store.Translate(err)
	}
	out := []Group{}
	idx := map[int64]int{}
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.ConsentGroupID, &g.SelectionOrder, &g.Active); err != nil {
			rows.Close()
			return nil, store.Translate(err)
		}
		g.Texts = []Label{}
		idx[g.ConsentGroupID] = len(out)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, store.Translate(err)
	}
	rows, err = q.QueryContext(ctx, `SELECT t.group_id, t.language_code, t.name, t.description FROM consent_group_texts t
		JOIN consent_groups g ON g.id = t.group_id WHERE g.company_id = $1 AND g.issuer_id = $2 ORDER BY t.group_id, t.language_code`, companyID, issuerID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var l Label
		if err := rows.Scan(&id, &l.LanguageCode, &l.Name, &l.Description); err != nil {
			return nil, store.Translate(err)
		}
		if i, ok := idx[id]; ok {
			out[i].Texts = append(out[i].Texts, l)
		}
	}
	return out, store.Translate(rows.Err())
}

// TextVersion is one entry of textHistory.
type TextVersion struct {
	ConsentTextHistoryID int64  `json:"consentTextHistoryId"`
	Text                 string `json:"text"`
	FromDate             int64  `json:"fromDate"`
	ToDate               *int64 `json:"toDate,omitempty"`
}

// ConsentText is a consent's text in one language: with its versions
// (history) or with the version in force (current).
type ConsentText struct {
	ConsentTextID        int64         `json:"consentTextId"`
	LanguageCode         string        `json:"languageCode"`
	TextHistory          []TextVersion `json:"textHistory,omitempty"`
	ConsentTextHistoryID int64         `json:"consentTextHistoryId,omitempty"`
	Text                 string        `json:"text,omitempty"`
	FromDate             int64         `json:"fromDate,omitempty"`
}

// ConsentTexts is one consent of the text lists.
type ConsentTexts struct {
	ConsentID      int64         `json:"consentId"`
	ConsentGroupID *int64        `json:"consentGroupId,omitempty"`
	Target         string        `json:"target"`
	Scope          string        `json:"scope"`
	Texts          []ConsentText `json:"texts"`
}

// TextList is {"issuer", "consents"} of the text lists.
type TextList struct {
	Issuer   string         `json:"issuer"`
	Consents []ConsentTexts `json:"consents"`
}

// consentTexts returns the text lists for consents: every version oldest
// first (history), or only the version in force at now in language lang
// (any language when "") when current is set.
func consentTexts(ctx context.Context, q store.Queryer, consents []*Consent, current bool, lang string, now int64) ([]ConsentTexts, error) {
	out := make([]ConsentTexts, 0, len(consents))
	idx := map[int64]int{}
	ids := make([]any, 0, len(consents))
	for _, c := range consents {
		idx[c.ConsentID] = len(out)
		out = append(out, ConsentTexts{ConsentID: c.ConsentID, ConsentGroupID: c.ConsentGroupID, Target: c.Target, Scope: c.Scope, Texts: []ConsentText{}})
		ids = append(ids, c.ConsentID)
	}
	if len(ids) == 0 {
		return out, nil
	}
	query := `SELECT t.consent_id, t.id, t.language_code, v.id, v.text, v.from_date, v.to_date
		FROM consent_texts t JOIN consent_text_versions v ON v.consent_text_id = t.id
		WHERE t.consent_id IN (` + placeholders(1, len(ids)) + `)`
	args := ids
	if current {
		args = append(args, now)
		query += ` AND v.from_date <= $` + strconv.Itoa(len(args)) + ` AND (v.to_date IS NULL OR v.to_date > $` + strconv.Itoa(len(args)) + `)`
		if lang != "" {
			args = append(args, lang)
			query += ` AND t.language_code = $` + strconv.Itoa(len(args))
		}
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY t.consent_id, t.language_code, v.from_date`, args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var consentID, textID int64
		var lang string
		var v TextVersion
		var to sql.NullInt64
		if err := rows.Scan(&consentID, &textID, &lang, &v.ConsentTextHistoryID, &v.Text, &v.FromDate, &to); err != nil {
			return nil, store.Translate(err)
		}
		if to.Valid {
			v.ToDate = &to.Int64
		}
		c := &out[idx[consentID]]
		if current {
			c.Texts = append(c.Texts, ConsentText{ConsentTextID: textID, LanguageCode: lang,
				ConsentTextHistoryID: v.ConsentTextHistoryID, Text: v.Text, FromDate: v.FromDate})
			continue
		}
		if n := len(c.Texts); n == 0 || c.Texts[n-1].ConsentTextID != textID {
			c.Texts = append(c.Texts, ConsentText{ConsentTextID: textID, LanguageCode: lang, TextHistory: []TextVersion{}})
		}
		t := &c.Texts[len(c.Texts)-1]
		t.TextHistory = append(t.TextHistory, v)
	}
	return out, store.Translate(rows.Err())
}

// placeholders returns "$from, $from+1, …" for n values.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// consentDef is what recording an event needs of a consent.
type consentDef struct {
	id        int64
	issuer    string
	target    string
	scope     string
	active    bool
	createdMs int64
}

const consentDefColumns = `c.id, i.issuer, c.target, c.scope, c.active, c.created_at`

func scanConsentDef(row interface{ Scan(...any) error }) (*consentDef, error) {
	var d consentDef
	err := row.Scan(&d.id, &d.issuer, &d.target, &d.scope, &d.active, &d.createdMs)
	return &d, err
}

// EventInput is the body of Register consent event (both modes).
type EventInput struct {
	ConsentID            *int64        `json:"consentId"`
	ConsentTarget        string        `json:"consentTarget"`
	ConsentScope         string        `json:"consentScope"`
	Target               string        `json:"target"` // synonym of consentTarget
	Scope                string        `json:"scope"`  // synonym of consentScope
	Issuer               string        `json:"issuer"`
	Subject              string        `json:"subject"`
	SubjectType          string        `json:"subjectType"`
	Action               *bool         `json:"action"`
	Source               string        `json:"source"`
	EventTime            value.Instant `json:"eventTime"`
	Data                 string        `json:"data"`
	ConsentTextHistoryID *int64        `json:"consentTextHistoryId"`
}

// ChildEvent is one entry of childEvents.
type ChildEvent struct {
	ConsentEventID int64 `json:"consentEventId"`
	ConsentID      int64 `json:"consentId"`
	Created        int64 `json:"created"`
	Action         bool  `json:"action"`
}

// Registered is the response of Register consent event.
type Registered struct {
	ConsentID            int64        `json:"consentId"`
	Subject              string       `json:"subject"`
	SubjectType          string       `json:"subjectType"`
	ConsentEventID       int64        `json:"consentEventId"`
	Created              int64        `json:"created"`
	EventTime            int64        `json:"eventTime"`
	Source               string       `json:"source"`
	Action               bool         `json:"action"`
	ConsentTextHistoryID *int64       `json:"consentTextHistoryId,omitempty"`
	ChildEvents          []ChildEvent `json:"childEvents"`
}

// maxEventFuture is how far ahead of the server's clock an eventTime may be.
const maxEventFuture = 5 * time.Minute

// maxData is the largest decoded evidence (data) of an event.
const maxData = 4096

// Caller is who records an event: the company, its client and the subject
// a user-mode caller stands for.
type Caller struct {
	CompanyID   int64
	CompanyCode string
	ClientID    string
}

// RegisterEvent validates in and records the event (and one per active
// descendant of the consent) in tx. typ and subject are already resolved by
// the caller (client mode: from the body, user mode: the token's user).
func RegisterEvent(ctx context.Context, tx *sql.Tx, s *Settings, c Caller, in *EventInput, typ, subject string, now time.Time) (*Registered, error) {
	if in.Action == nil {
		return nil, errs.Field("action", "is required (true: given, false: withdrawn)")
	}
	source := strings.TrimSpace(in.Source)
	if source == "" {
		source = c.ClientID
	}
	if len(source) > 40 {
		return nil, errs.Field("source", "must be at most 40 characters")
	}
	data := ""
	if in.Data != "" {
		raw, err := base64.StdEncoding.DecodeString(in.Data)
		if err != nil {
			if raw, err = base64.RawStdEncoding.DecodeString(in.Data); err != nil {
				return nil, errs.Field("data", "must be base64")
			}
		}
		if len(raw) > maxData {
			return nil, errs.Field("data", "must be at most %d bytes decoded", maxData)
		}
		data = base64.StdEncoding.EncodeToString(raw)
	}
	def, err := findConsent(ctx, tx, c.CompanyID, in)
	if err != nil {
		return nil, err
	}
	nowMs := now.UnixMilli()
	eventTime := nowMs
	if !in.EventTime.IsZero() {
		eventTime = in.EventTime.Time(s.Location).UnixMilli()
		if eventTime > now.Add(maxEventFuture).UnixMilli() {
			return nil, errs.Field("eventTime", "must not be more than 5 minutes ahead of the server's time")
		}
	}
	if eventTime < def.createdMs {
		return nil, errs.Field("eventTime", "must not be before the consent was created (%d)", def.createdMs)
	}
	if *in.Action && !def.active {
		return nil, errs.Field("consentId", "consent %d is not active and cannot be given (withdrawing is always allowed)", def.id)
	}
	var version sql.NullInt64
	if in.ConsentTextHistoryID != nil {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM consent_text_versions v JOIN consent_texts t ON t.id = v.consent_text_id
			WHERE v.id = $1 AND t.consent_id = $2`, *in.ConsentTextHistoryID, def.id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.Field("consentTextHistoryId", "is not a text version of consent %d", def.id)
		}
		if err != nil {
			return nil, store.Translate(err)
		}
		version = sql.NullInt64{Int64: *in.ConsentTextHistoryID, Valid: true}
	} else if version, err = versionInForce(ctx, tx, def.id, s.DefaultLanguage, eventTime); err != nil {
		return nil, err
	}
	rec := eventRecord{companyID: c.CompanyID, companyCode: c.CompanyCode, issuer: def.issuer, typ: typ, subject: subject,
		action: *in.Action, eventTime: eventTime, created: nowMs, source: source, client: c.ClientID, data: data}
	id, err := rec.insert(ctx, tx, def.id, version, sql.NullInt64{})
	if err != nil {
		return nil, err
	}
	out := &Registered{ConsentID: def.id, Subject: subject, SubjectType: typ, ConsentEventID: id, Created: nowMs, EventTime: eventTime,
		Source: source, Action: *in.Action, ChildEvents: []ChildEvent{}}
	if version.Valid {
		out.ConsentTextHistoryID = &version.Int64
	}
	if err := rec.children(ctx, tx, s, def.id, id, 0, &out.ChildEvents); err != nil {
		return nil, err
	}
	return out, nil
}

// findConsent resolves the consent named by consentId and/or target+scope
// (and issuer) among the company's consents.
func findConsent(ctx context.Context, q store.Queryer, companyID int64, in *EventInput) (*consentDef, error) {
	target, scope := in.ConsentTarget, in.ConsentScope
	targetField, scopeField := "consentTarget", "consentScope"
	if target == "" && in.Target != "" {
		target, targetField = in.Target, "target"
	}
	if scope == "" && in.Scope != "" {
		scope, scopeField = in.Scope, "scope"
	}
	for _, f := range []struct{ name, v string }{{targetField, target}, {scopeField, scope}, {"issuer", in.Issuer}} {
		if len(f.v) > 255 {
			return nil, errs.Field(f.name, "must be at most 255 characters")
		}
	}
	var issuerID int64
	if in.Issuer != "" {
		err := q.QueryRowContext(ctx, `SELECT id FROM consent_issuers WHERE company_id = $1 AND issuer = $2`, companyID, in.Issuer).Scan(&issuerID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.Field("issuer", "unknown issuer %q", in.Issuer)
		}
		if err != nil {
			return nil, store.Translate(err)
		}
	}
	if in.ConsentID != nil {
		def, err := scanConsentDef(q.QueryRowContext(ctx, `SELECT `+consentDefColumns+` FROM consents c
			JOIN consent_issuers i ON i.id = c.issuer_id WHERE c.id = $1 AND c.company_id = $2`, *in.ConsentID, companyID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.Field("consentId", "unknown consent %d", *in.ConsentID)
		}
		if err != nil {
			return nil, store.Translate(err)
		}
		switch {
		case target != "" && target != def.target:
			return nil, errs.Field(targetField, "consent %d has target %q", def.id, def.target)
		case scope != "" && scope != def.scope:
			return nil, errs.Field(scopeField, "consent %d has scope %q", def.id, def.scope)
		case in.Issuer != "" && in.Issuer != def.issuer:
			return nil, errs.Field("issuer", "consent %d belongs to issuer %q", def.id, def.issuer)
		}
		return def, nil
	}
	if target == "" || scope == "" {
		if target == "" {
			return nil, errs.Field("consentId", "consentId or consentTarget and consentScope is required")
		}
		return nil, errs.Field(scopeField, "is required with %s", targetField)
	}
	query := `SELECT ` + consentDefColumns + ` FROM consents c JOIN consent_issuers i ON i.id = c.issuer_id
		WHERE c.company_id = $1 AND c.target = $2 AND c.scope = $3`
	args := []any{companyID, target, scope}
	if issuerID != 0 {
		query += ` AND c.issuer_id = $4`
		args = append(args, issuerID)
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY c.id LIMIT 2`, args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var found []*consentDef
	for rows.Next() {
		d, err := scanConsentDef(rows)
		if err != nil {
			return nil, store.Translate(err)
		}
		found = append(found, d)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Translate(err)
	}
	switch len(found) {
	case 0:
		return nil, errs.Field(targetField, "unknown consent %q/%q", target, scope)
	case 1:
		return found[0], nil
	}
	return nil, errs.Field("issuer", "is required: %q/%q is a consent of several issuers", target, scope)
}

// versionInForce is the consent's text version in force at t in lang, if any.
func versionInForce(ctx context.Context, q store.Queryer, consentID int64, lang string, t int64) (sql.NullInt64, error) {
	var id sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT v.id FROM consent_text_versions v JOIN consent_texts t ON t.id = v.consent_text_id
		WHERE t.consent_id = $1 AND t.language_code = $2 AND v.from_date <= $3 AND (v.to_date IS NULL OR v.to_date > $3)
		ORDER BY v.from_date DESC LIMIT 1`, consentID, lang, t).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return sql.NullInt64{}, nil
	}
	return id, store.Translate(err)
}

// eventRecord is one event to store, shared by a parent and its children.
type eventRecord struct {
	companyID   int64
	companyCode string
	issuer      string
	typ         string
	subject     string
	action      bool
	eventTime   int64
	created     int64
	source      string
	client      string
	data        string
}

// insert stores the event for consentID and records its consent event (README §11).
func (r eventRecord) insert(ctx context.Context, tx *sql.Tx, consentID int64, version, parent sql.NullInt64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO consent_events (company_id, consent_id, subject_type, subject, action, event_time,
		created_at, source, client_id, data, text_version_id, parent_event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		RETURNING id`, r.companyID, consentID, r.typ, r.subject, r.action, r.eventTime, r.created, r.source, r.client, r.data,
		version, parent).Scan(&id)
	if err != nil {
		return 0, store.Translate(err)
	}
	status := "withdrawn"
	if r.action {
		status = "given"
	}
	_, err = event.Record(ctx, tx, event.Event{CompanyID: r.companyID, Source: r.companyCode, Type: event.TypeConsent, Status: status,
		Data: map[string]any{"issuer": r.issuer, "consentId": consentID, "subject": r.subject, "subjectType": r.typ, "consentEventId": id},
		Time: time.UnixMilli(r.eventTime)})
	return id, err
}

// maxDepth bounds consent nesting (the tenant file forbids cycles).
const maxDepth = 16

// children records the action on each active child of consentID, recursively.
func (r eventRecord) children(ctx context.Context, tx *sql.Tx, s *Settings, consentID, parentEvent int64, depth int, out *[]ChildEvent) error {
	if depth >= maxDepth {
		return fmt.Errorf("consent %d: nesting deeper than %d", consentID, maxDepth)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM consents WHERE parent_id = $1 AND active = TRUE ORDER BY selection_order, id`, consentID)
	if err != nil {
		return store.Translate(err)
	}
	var kids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return store.Translate(err)
		}
		kids = append(kids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Translate(err)
	}
	for _, kid := range kids {
		version, err := versionInForce(ctx, tx, kid, s.DefaultLanguage, r.eventTime)
		if err != nil {
			return err
		}
		id, err := r.insert(ctx, tx, kid, version, sql.NullInt64{Int64: parentEvent, Valid: true})
		if err != nil {
			return err
		}
		*out = append(*out, ChildEvent{ConsentEventID: id, ConsentID: kid, Created: r.created, Action: r.action})
		if err := r.children(ctx, tx, s, kid, id, depth+1, out); err != nil {
			return err
		}
	}
	return nil
}

// HistoryEvent is one event of a history list. Subject and SubjectType are
// set when the event was recorded under another member of the group.
type HistoryEvent struct {
	ConsentEventID       int64  `json:"consentEventId"`
	Created              int64  `json:"created"`
	EventTime            int64  `json:"eventTime"`
	Source               string `json:"source"`
	Action               bool   `json:"action"`
	ConsentTextHistoryID *int64 `json:"consentTextHistoryId,omitempty"`
	Subject              string `json:"subject,omitempty"`
	SubjectType          string `json:"subjectType,omitempty"`
}

// HistoryConsent is one consent of a history list.
type HistoryConsent struct {
	ConsentID int64          `json:"consentId"`
	Target    string         `json:"target"`
	Scope     string         `json:"scope"`
	Events    []HistoryEvent `json:"events"`
}

// History is the response of the consent event history lists.
type History struct {
	Issuer      string           `json:"issuer"`
	Subject     string           `json:"subject"`
	SubjectType string           `json:"subjectType"`
	Consents    []HistoryConsent `json:"consents"`
}

// groupEvent is a stored event read for a group.
type groupEvent struct {
	HistoryEvent
	consentID int64
	typ, subj string
	data      string
}

// groupEvents returns the group's unrestricted events of the company (of
// one issuer when issuerID is not 0), oldest first.
func groupEvents(ctx context.Context, q store.Queryer, companyID, issuerID int64, g *group) ([]groupEvent, error) {
	base := []any{companyID}
	issuerCond := ""
	if issuerID != 0 {
		base = append(base, issuerID)
		issuerCond = ` AND c.issuer_id = $2`
	}
	cond, args := g.where(len(base) + 1)
	query := `SELECT e.id, e.consent_id, e.subject_type, e.subject, e.action, e.event_time, e.created_at, e.source, e.text_version_id, e.data
		FROM consent_events e JOIN consents c ON c.id = e.consent_id
		WHERE e.company_id = $1` + issuerCond + ` AND ` + cond + ` AND ` + notRestricted + `
		ORDER BY e.event_time, e.id`
	rows, err := q.QueryContext(ctx, query, append(base, args...)...)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var out []groupEvent
	for rows.Next() {
		var e groupEvent
		var version sql.NullInt64
		if err := rows.Scan(&e.ConsentEventID, &e.consentID, &e.typ, &e.subj, &e.Action, &e.EventTime, &e.Created, &e.Source, &version, &e.data); err != nil {
			return nil, store.Translate(err)
		}
		if version.Valid {
			e.ConsentTextHistoryID = &version.Int64
		}
		out = append(out, e)
	}
	return out, store.Translate(rows.Err())
}

// states is each consent's current action for the group: the action of the
// event with the latest eventTime (ties: highest id); absent = never asked.
func states(events []groupEvent) map[int64]bool {
	out := map[int64]bool{}
	for _, e := range events { // oldest first, so the last one wins
		out[e.consentID] = e.Action
	}
	return out
}

// history builds the history response for a group asked as (typ, subject).
func history(ctx context.Context, q store.Queryer, companyID, issuerID int64, issuer string, typ, subject string, g *group, onlyActive bool) (*History, error) {
	consents, err := listConsents(ctx, q, consentFilter{companyID: companyID, issuerID: issuerID, onlyActive: onlyActive, withoutLabels: true})
	if err != nil {
		return nil, err
	}
	events, err := groupEvents(ctx, q, companyID, issuerID, g)
	if err != nil {
		return nil, err
	}
	byConsent := map[int64][]HistoryEvent{}
	for _, e := range events {
		h := e.HistoryEvent
		if e.typ != typ || e.subj != subject {
			h.Subject, h.SubjectType = e.subj, e.typ
		}
		byConsent[e.consentID] = append(byConsent[e.consentID], h)
	}
	out := &History{Issuer: issuer, Subject: subject, SubjectType: typ, Consents: []HistoryConsent{}}
	for _, c := range consents {
		if evs := byConsent[c.ConsentID]; len(evs) > 0 {
			out.Consents = append(out.Consents, HistoryConsent{ConsentID: c.ConsentID, Target: c.Target, Scope: c.Scope, Events: evs})
		}
	}
	return out, nil
}
