package privacy

// Permissions and shields per channel at three levels (global, enterprise,
// order type), privacy purposes per enterprise or order type, shield checks,
// and a payer's permissions[]/privacy[] (spec privacy.md "Channels and
// levels", "Privacy purposes").

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/privacy/choice"
	"github.com/connect-oss/connect/internal/store"
)

// Levels that decide a channel (shield checks name them).
const (
	LevelGlobal     = "global"
	LevelEnterprise = "enterprise"
	LevelOrderType  = "orderType"
	LevelErasure    = "erasure" // an erased customer: every channel shielded
)

// level is where a setting lives: both codes "" is global; orderType "" is
// the enterprise level.
type level struct {
	enterprise, orderType string
}

func (l level) name() string {
	switch {
	case l.enterprise == "":
		return LevelGlobal
	case l.orderType == "":
		return LevelEnterprise
	}
	return LevelOrderType
}

// ChannelEntry is one explicit setting: {"type": "SHIELD", "value": "TM"}.
type ChannelEntry struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// ChannelList is {"channels": [...]}.
type ChannelList struct {
	Channels []ChannelEntry `json:"channels"`
}

// ChannelChange is the body of Change enterprise/ordertype permissions.
type ChannelChange struct {
	Channels choice.Channels `json:"channels"`
}

// listChannels returns the customer's explicit entries at l, by channel.
func listChannels(ctx context.Context, q store.Queryer, companyID, customer int64, l level) ([]ChannelEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT channel, type FROM privacy_channel_settings
		WHERE company_id = $1 AND customer_number = $2 AND enterprise_code = $3 AND order_type = $4 ORDER BY channel`,
		companyID, customer, l.enterprise, l.orderType)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []ChannelEntry{}
	for rows.Next() {
		var e ChannelEntry
		if err := rows.Scan(&e.Value, &e.Type); err != nil {
			return nil, store.Translate(err)
		}
		out = append(out, e)
	}
	return out, store.Translate(rows.Err())
}

// channelSettings checks a change's channels against the catalogue and
// returns them with catalogue spelling and upper-case types.
func channelSettings(s *Settings, list []choice.Channel, field string) ([]choice.Setting, error) {
	out := make([]choice.Setting, 0, len(list))
	seen := map[string]bool{}
	for i, c := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		if c.Value == "" {
			return nil, errs.Field(f+".value", "is required")
		}
		ch, ok := s.Channel(c.Value)
		if !ok {
			return nil, errs.Field(f+".value", "unknown channel %q (the company's channels: %s)", c.Value, strings.Join(s.Channels, ", "))
		}
		if c.Type == "" {
			return nil, errs.Field(f+".type", "is required (PERMISSION, SHIELD or NONE)")
		}
		t, ok := choice.NormalizeType(c.Type)
		if !ok {
			return nil, errs.Field(f+".type", "must be PERMISSION, SHIELD or NONE")
		}
		if seen[ch] {
			return nil, errs.Field(f+".value", "channel %s is listed twice", ch)
		}
		seen[ch] = true
		out = append(out, choice.Setting{Channel: ch, Type: t})
	}
	return out, nil
}

// setChannels merges settings into the customer's entries at l: each listed
// channel is set, NONE clears its entry, unlisted channels keep theirs. Every
// change is logged. It reports whether anything changed.
func setChannels(ctx context.Context, tx *sql.Tx, companyID, customer int64, l level, settings []choice.Setting, client, source string, now int64) (bool, error) {
	changed := false
	for _, st := range settings {
		var old string
		err := tx.QueryRowContext(ctx, `SELECT type FROM privacy_channel_settings WHERE company_id = $1 AND customer_number = $2
			AND enterprise_code = $3 AND order_type = $4 AND channel = $5`, companyID, customer, l.enterprise, l.orderType, st.Channel).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, store.Translate(err)
		}
		want := st.Type
		if want == choice.TypeNone {
			want = ""
		}
		if old == want {
			continue
		}
		switch {
		case want == "":
			_, err = tx.ExecContext(ctx, `DELETE FROM privacy_channel_settings WHERE company_id = $1 AND customer_number = $2
				AND enterprise_code = $3 AND order_type = $4 AND channel = $5`, companyID, customer, l.enterprise, l.orderType, st.Channel)
		case old == "":
			_, err = tx.ExecContext(ctx, `INSERT INTO privacy_channel_settings (company_id, customer_number, enterprise_code, order_type,
				channel, type, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`, companyID, customer, l.enterprise, l.orderType, st.Channel, want, now)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE privacy_channel_settings SET type = $6, updated_at = $7 WHERE company_id = $1
				AND customer_number = $2 AND enterprise_code = $3 AND order_type = $4 AND channel = $5`,
				companyID, customer, l.enterprise, l.orderType, st.Channel, want, now)
		}
		if err != nil {
			return false, store.Translate(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO privacy_channel_log (company_id, customer_number, enterprise_code, order_type,
			channel, old_type, new_type, client_id, source, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			companyID, customer, l.enterprise, l.orderType, st.Channel, old, want, client, source, now); err != nil {
			return false, store.Translate(err)
		}
		changed = true
	}
	return changed, nil
}

// customerUpdated records the customer/update event of a change (README §11).
func customerUpdated(ctx context.Context, tx *sql.Tx, s *Settings, customer int64, now time.Time) error {
	_, err := event.Record(ctx, tx, event.Event{CompanyID: s.CompanyID, Source: s.CompanyCode, Type: event.TypeCustomer,
		Status: "update", Data: map[string]any{"customerNumber": customer}, Time: now})
	return err
}

// SetGlobalShields sets or clears global shields of a customer (types SHIELD
// or NONE). No endpoint changes the global level (spec privacy.md): this is
// for the back office, e.g. an import from a national do-not-call register.
func SetGlobalShields(ctx context.Context, tx *sql.Tx, companyID, customer int64, settings []choice.Setting, source string, now time.Time) error {
	s, err := LoadSettings(ctx, tx, companyID)
	if err != nil {
		return err
	}
	if ok, err := customerExists(ctx, tx, companyID, customer); err != nil || !ok {
		if err == nil {
			err = errs.E(errs.NotFound, "no customer %d", customer)
		}
		return err
	}
	list := make([]choice.Setting, 0, len(settings))
	for i, st := range settings {
		ch, ok := s.Channel(st.Channel)
		if !ok {
			return errs.Field(fmt.Sprintf("channels[%d].value", i), "unknown channel %q", st.Channel)
		}
		t, ok := choice.NormalizeType(st.Type)
		if !ok || t == choice.TypePermission {
			return errs.Field(fmt.Sprintf("channels[%d].type", i), "global entries are SHIELD or NONE")
		}
		list = append(list, choice.Setting{Channel: ch, Type: t})
	}
	changed, err := setChannels(ctx, tx, companyID, customer, level{}, list, "", source, now.UnixMilli())
	if err != nil || !changed {
		return err
	}
	return customerUpdated(ctx, tx, s, customer, now)
}

// PurposeEntry is {"purpose": "DM"}.
type PurposeEntry struct {
	Purpose string `json:"purpose"`
}

// PurposeList is {"permission": [...]}, the Privacy model.
type PurposeList struct {
	Permission []PurposeEntry `json:"permission"`
}

// PurposeChange is the body of Change privacy: the whole set at a level.
type PurposeChange struct {
	Permission *[]PurposeEntry `json:"permission"`
}

// listPurposes returns the customer's purposes at l, sorted.
func listPurposes(ctx context.Context, q store.Queryer, companyID, customer int64, l level) ([]PurposeEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT purpose FROM privacy_purposes WHERE company_id = $1 AND customer_number = $2
		AND enterprise_code = $3 AND order_type = $4 ORDER BY purpose`, companyID, customer, l.enterprise, l.orderType)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []PurposeEntry{}
	for rows.Next() {
		var p PurposeEntry
		if err := rows.Scan(&p.Purpose); err != nil {
			return nil, store.Translate(err)
		}
		out = append(out, p)
	}
	return out, store.Translate(rows.Err())
}

// purposeCodes checks a change's purposes against the catalogue; duplicates collapse.
func purposeCodes(s *Settings, list []PurposeEntry, field string) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	for i, p := range list {
		f := fmt.Sprintf("%s[%d].purpose", field, i)
		if p.Purpose == "" {
			return nil, errs.Field(f, "is required")
		}
		code, ok := s.Purpose(p.Purpose)
		if !ok {
			return nil, errs.Field(f, "unknown purpose %q (the company's purposes: %s)", p.Purpose, strings.Join(s.Purposes, ", "))
		}
		if !seen[code] {
			seen[code] = true
			out = append(out, code)
		}
	}
	sort.Strings(out)
	return out, nil
}

// setPurposes makes the customer's purposes at l exactly want (replace), or
// adds want to them (add). It reports whether anything changed.
func setPurposes(ctx context.Context, tx *sql.Tx, companyID, customer int64, l level, want []string, replace bool, now int64) (bool, error) {
	have, err := listPurposes(ctx, tx, companyID, customer, l)
	if err != nil {
		return false, err
	}
	keep := map[string]bool{}
	for _, w := range want {
		keep[w] = true
	}
	changed := false
	for _, h := range have {
		if keep[h.Purpose] {
			delete(keep, h.Purpose) // already there
			continue
		}
		if !replace {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM privacy_purposes WHERE company_id = $1 AND customer_number = $2
			AND enterprise_code = $3 AND order_type = $4 AND purpose = $5`, companyID, customer, l.enterprise, l.orderType, h.Purpose); err != nil {
			return false, store.Translate(err)
		}
		changed = true
	}
	for _, w := range want {
		if !keep[w] {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO privacy_purposes (company_id, customer_number, enterprise_code, order_type, purpose, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, companyID, customer, l.enterprise, l.orderType, w, now); err != nil {
			return false, store.Translate(err)
		}
		changed = true
	}
	return changed, nil
}

// IsErased reports whether the customer asked for erasure (Remove private
// data); other areas use it to restrict what they show of the customer.
func IsErased(ctx context.Context, q store.Queryer, companyID, customer int64) (bool, error) {
	return erased(ctx, q, companyID, customer)
}

// erased reports whether the customer asked for erasure (Remove private data).
func erased(ctx context.Context, q store.Queryer, companyID, customer int64) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM privacy_erasures WHERE company_id = $1 AND customer_number = $2`, companyID, customer).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, store.Translate(err)
}

// ShieldRequest is the body of the shield checks.
type ShieldRequest struct {
	CustomerNumber *int64   `json:"customerNumber"`
	EnterpriseCode string   `json:"enterpriseCode"`
	OrderType      string   `json:"orderType"`
	OrderTypeCode  string   `json:"orderTypeCode"` // synonym of orderType
	Channels       []string `json:"channels"`
}

// ShieldChannel is the decision for one channel; Type and Level name the
// deciding entry and are absent when there is none.
type ShieldChannel struct {
	Value    string `json:"value"`
	Shielded bool   `json:"shielded"`
	Type     string `json:"type,omitempty"`
	Level    string `json:"level,omitempty"`
}

// ShieldResult is the response of the shield checks.
type ShieldResult struct {
	CustomerNumber int64           `json:"customerNumber"`
	EnterpriseCode string          `json:"enterpriseCode"`
	OrderType      string          `json:"orderType,omitempty"`
	Channels       []ShieldChannel `json:"channels"`
}

// CheckShield decides each channel for a customer: the most specific entry
// (order type, then enterprise, then global) wins; none means not shielded.
// withOrderType selects the order-type check (else only the enterprise and
// global levels count).
func CheckShield(ctx context.Context, q store.Queryer, s *Settings, req *ShieldRequest, withOrderType bool) (*ShieldResult, error) {
	if req.CustomerNumber == nil {
		return nil, errs.Field("customerNumber", "is required")
	}
	if req.EnterpriseCode == "" {
		return nil, errs.Field("enterpriseCode", "is required")
	}
	ok, err := HasEnterprise(ctx, q, s, req.EnterpriseCode)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.Field("enterpriseCode", "unknown enterprise %q", req.EnterpriseCode)
	}
	orderType := req.OrderType
	if orderType == "" {
		orderType = req.OrderTypeCode
	}
	switch {
	case withOrderType && orderType == "":
		return nil, errs.Field("orderType", "is required")
	case withOrderType:
		ok, err := HasOrderType(ctx, q, s.CompanyID, req.EnterpriseCode, orderType)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.Field("orderType", "unknown order type %q of enterprise %s", orderType, req.EnterpriseCode)
		}
	default:
		orderType = ""
	}
	channels := s.Channels
	if len(req.Channels) > 0 {
		channels = nil
		for i, c := range req.Channels {
			ch, ok := s.Channel(c)
			if !ok {
				return nil, errs.Field(fmt.Sprintf("channels[%d]", i), "unknown channel %q", c)
			}
			if !containsString(channels, ch) {
				channels = append(channels, ch)
			}
		}
	}
	n := *req.CustomerNumber
	if ok, err := customerExists(ctx, q, s.CompanyID, n); err != nil || !ok {
		if err == nil {
			err = errs.E(errs.NotFound, "no customer %d", n)
		}
		return nil, err
	}
	out := &ShieldResult{CustomerNumber: n, EnterpriseCode: req.EnterpriseCode, OrderType: orderType, Channels: []ShieldChannel{}}
	gone, err := erased(ctx, q, s.CompanyID, n)
	if err != nil {
		return nil, err
	}
	// The levels from most to least specific.
	levels := []level{{req.EnterpriseCode, orderType}, {req.EnterpriseCode, ""}, {}}
	if orderType == "" {
		levels = levels[1:]
	}
	found := map[level]map[string]string{}
	for _, l := range levels {
		entries, err := listChannels(ctx, q, s.CompanyID, n, l)
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for _, e := range entries {
			m[e.Value] = e.Type
		}
		found[l] = m
	}
	for _, ch := range channels {
		d := ShieldChannel{Value: ch}
		if gone {
			d.Shielded, d.Type, d.Level = true, choice.TypeShield, LevelErasure
			out.Channels = append(out.Channels, d)
			continue
		}
		for _, l := range levels {
			if t, ok := found[l][ch]; ok {
				d.Type, d.Level, d.Shielded = t, l.name(), t == choice.TypeShield
				break
			}
		}
		out.Channels = append(out.Channels, d)
	}
	return out, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// resolvedChoices are a payer's choices checked against the catalogue.
type resolvedChoices struct {
	channels map[level][]choice.Setting
	purposes map[level][]string
	levels   []level // first-seen order, for a stable apply
}

// resolve checks c against the company's catalogue. An entry without an
// enterpriseCode is for the company's own enterprise.
func resolve(ctx context.Context, q store.Queryer, s *Settings, c choice.Payer, prefix string) (*resolvedChoices, error) {
	if err := c.Validate(prefix); err != nil {
		return nil, err
	}
	pre := prefix
	if pre != "" {
		pre += "."
	}
	out := &resolvedChoices{channels: map[level][]choice.Setting{}, purposes: map[level][]string{}}
	levelOf := func(f, enterprise, orderType string) (level, error) {
		if enterprise == "" {
			enterprise = s.CompanyCode
		}
		ok, err := HasEnterprise(ctx, q, s, enterprise)
		if err != nil {
			return level{}, err
		}
		if !ok {
			return level{}, errs.Field(f+".enterpriseCode", "unknown enterprise %q", enterprise)
		}
		if orderType != "" {
			ok, err := HasOrderType(ctx, q, s.CompanyID, enterprise, orderType)
			if err != nil {
				return level{}, err
			}
			if !ok {
				return level{}, errs.Field(f+".orderTypeCode", "unknown order type %q of enterprise %s", orderType, enterprise)
			}
		}
		l := level{enterprise, orderType}
		if !containsLevel(out.levels, l) {
			out.levels = append(out.levels, l)
		}
		return l, nil
	}
	for i, e := range c.Permissions {
		f := fmt.Sprintf("%spermissions[%d]", pre, i)
		l, err := levelOf(f, e.EnterpriseCode, e.OrderTypeOf())
		if err != nil {
			return nil, err
		}
		settings, err := e.Settings(f)
		if err != nil {
			return nil, err
		}
		for j, st := range settings {
			ch, ok := s.Channel(st.Channel)
			if !ok {
				return nil, errs.Field(fmt.Sprintf("%s.channels[%d]", f, j), "unknown channel %q (the company's channels: %s)",
					st.Channel, strings.Join(s.Channels, ", "))
			}
			// A later entry for the same channel and level wins, as in one change.
			list := out.channels[l]
			replaced := false
			for k := range list {
				if list[k].Channel == ch {
					list[k].Type, replaced = st.Type, true
				}
			}
			if !replaced {
				list = append(list, choice.Setting{Channel: ch, Type: st.Type})
			}
			out.channels[l] = list
		}
	}
	for i, e := range c.Privacy {
		f := fmt.Sprintf("%sprivacy[%d]", pre, i)
		l, err := levelOf(f, e.EnterpriseCode, e.OrderTypeOf())
		if err != nil {
			return nil, err
		}
		code, ok := s.Purpose(e.Purpose)
		if !ok {
			return nil, errs.Field(f+".purpose", "unknown purpose %q (the company's purposes: %s)", e.Purpose, strings.Join(s.Purposes, ", "))
		}
		if !containsString(out.purposes[l], code) {
			out.purposes[l] = append(out.purposes[l], code)
		}
	}
	return out, nil
}

func containsLevel(list []level, l level) bool {
	for _, x := range list {
		if x == l {
			return true
		}
	}
	return false
}

// CheckPayerChoices validates a payer's (or new customer's) permissions[]
// and privacy[]: their shape, then every enterprise, order type, channel
// and purpose against the company's catalogue. prefix is the payer's field
// path ("payer", "orderLines[0].receiver", or "" for a customer body), so a
// failure is a 400 naming the field, e.g. "payer.permissions[0].channelCode".
// Call it before the registration's transaction to refuse bad input early;
// ApplyPayerChoices checks again inside the transaction.
func CheckPayerChoices(ctx context.Context, q store.Queryer, companyID int64, c choice.Payer, prefix string) error {
	if c.Empty() {
		return nil
	}
	s, err := LoadSettings(ctx, q, companyID)
	if err != nil {
		return err
	}
	_, err = resolve(ctx, q, s, c, prefix)
	return err
}

// ApplyPayerChoices applies a payer's permissions[] and privacy[] to the
// customer inside tx (spec privacy.md "Channels and levels"): each
// permissions entry is merged as permission-*-change does, at order-type
// level when orderTypeCode is set, else at enterprise level, with
// permissionType as the type; each privacy entry adds its purpose at its
// level without removing others. Entries without enterpriseCode are for the
// company's own enterprise. clientID and source are logged with every
// channel change (source e.g. "order" or "customer"). When anything changed
// it records customer/update. Invalid input is a 400 errs.Field under
// prefix (see CheckPayerChoices); the caller's transaction must then roll back.
func ApplyPayerChoices(ctx context.Context, tx *sql.Tx, companyID, customerNumber int64, c choice.Payer, prefix, clientID, source string, now time.Time) error {
	if c.Empty() {
		return nil
	}
	s, err := LoadSettings(ctx, tx, companyID)
	if err != nil {
		return err
	}
	r, err := resolve(ctx, tx, s, c, prefix)
	if err != nil {
		return err
	}
	if ok, err := customerExists(ctx, tx, companyID, customerNumber); err != nil || !ok {
		if err == nil {
			err = errs.E(errs.NotFound, "no customer %d", customerNumber)
		}
		return err
	}
	ms := now.UnixMilli()
	changed := false
	for _, l := range r.levels {
		if list := r.channels[l]; len(list) > 0 {
			ch, err := setChannels(ctx, tx, companyID, customerNumber, l, list, clientID, source, ms)
			if err != nil {
				return err
			}
			changed = changed || ch
		}
		if list := r.purposes[l]; len(list) > 0 {
			ch, err := setPurposes(ctx, tx, companyID, customerNumber, l, list, false, ms)
			if err != nil {
				return err
			}
			changed = changed || ch
		}
	}
	if !changed {
		return nil
	}
	return customerUpdated(ctx, tx, s, customerNumber, now)
}
