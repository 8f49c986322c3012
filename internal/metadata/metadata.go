// Package metadata is User Data → Metadata (spec userdata.md): one free-form
// JSON object per (client, ConnectID user), which the client reads, replaces
// and removes as a whole. It is JSON only, and belongs to the user, not the
// customer, so users without a customer have metadata too.
package metadata

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
)

// Limits of a stored object (userdata.md Metadata).
const (
	MaxBytes     = 64 << 10 // the compact serialisation
	MaxDepth     = 10       // the object itself is level 1
	MaxKeyLength = 100      // characters (code points); at least 1
)

// empty is the answer when nothing is stored.
var empty = json.RawMessage(`{}`)

// Parse checks a request body against the rules and returns its compact
// serialisation, the form that is stored. Key order is not kept (keys come
// out sorted); numbers keep their exact text.
func Parse(body []byte) (json.RawMessage, error) {
	body = bytes.TrimPrefix(body, []byte("\uFEFF"))
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errs.Field("metadata", "required: send a JSON object")
	}
	if !utf8.Valid(body) {
		return nil, errs.E(errs.Invalid, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "malformed JSON")
	}
	if _, err := dec.Token(); err == nil || !errors.Is(err, io.EOF) {
		return nil, errs.E(errs.Invalid, "malformed JSON: data after the object")
	}
	object, ok := v.(map[string]any)
	if !ok {
		return nil, errs.Field("metadata", "must be a JSON object")
	}
	if err := check(object, "metadata", 1); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // stored as sent: "<" stays "<"
	if err := enc.Encode(object); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "malformed JSON")
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > MaxBytes {
		return nil, errs.Field("metadata", "is %d bytes serialised; at most %d are allowed", len(out), MaxBytes)
	}
	return json.RawMessage(out), nil
}

// check enforces the nesting and key limits on v, found at path and level.
func check(v any, path string, level int) error {
	switch x := v.(type) {
	case map[string]any:
		if level > MaxDepth {
			return errs.Field(path, "nested deeper than %d levels", MaxDepth)
		}
		for k, child := range x {
			if n := utf8.RuneCountInString(k); n < 1 || n > MaxKeyLength {
				return errs.Field(path, "key %q has %d characters; keys have 1 to %d", shorten(k), n, MaxKeyLength)
			}
			if err := check(child, path+"."+k, level+1); err != nil {
				return err
			}
		}
	case []any:
		if level > MaxDepth {
			return errs.Field(path, "nested deeper than %d levels", MaxDepth)
		}
		for i, child := range x {
			if err := check(child, path+"["+strconv.Itoa(i)+"]", level+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// shorten keeps error messages about long keys readable.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	r := []rune(s)
	return string(r[:40]) + "…"
}

// Get returns the client's object about the user, or {} when none is stored.
func Get(ctx context.Context, q store.Queryer, clientID string, userID int64) (json.RawMessage, error) {
	var data string
	err := q.QueryRowContext(ctx, `SELECT data FROM user_metadata WHERE client_id = $1 AND user_id = $2`, clientID, userID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return empty, nil
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	return json.RawMessage(data), nil
}

// Put replaces the client's object about the user with data (from Parse);
// concurrent writes: the last one wins.
func Put(ctx context.Context, q store.Queryer, companyID int64, clientID string, userID int64, data json.RawMessage, now time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO user_metadata (client_id, user_id, company_id, data, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (client_id, user_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		clientID, userID, companyID, string(data), now.UnixMilli())
	return store.Translate(err)
}

// Remove deletes the client's object about the user and returns it, or {}
// when none was stored (so repeating the call is harmless).
func Remove(ctx context.Context, q store.Queryer, clientID string, userID int64) (json.RawMessage, error) {
	var data string
	err := q.QueryRowContext(ctx, `DELETE FROM user_metadata WHERE client_id = $1 AND user_id = $2 RETURNING data`,
		clientID, userID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return empty, nil
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	return json.RawMessage(data), nil
}

// ForCompany returns the user's objects from every client of the company,
// keyed by clientId (privacy's Access private data).
func ForCompany(ctx context.Context, q store.Queryer, companyID, userID int64) (map[string]any, error) {
	rows, err := q.QueryContext(ctx, `SELECT client_id, data FROM user_metadata WHERE company_id = $1 AND user_id = $2
		ORDER BY client_id`, companyID, userID)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := map[string]any{}
	for rows.Next() {
		var clientID, data string
		if err := rows.Scan(&clientID, &data); err != nil {
			return nil, store.Translate(err)
		}
		out[clientID] = json.RawMessage(data)
	}
	return out, store.Translate(rows.Err())
}

// DeleteUser deletes every client's object about the user, in every company
// (privacy's Remove private data erases the global account). It returns how
// many objects were deleted.
func DeleteUser(ctx context.Context, q store.Queryer, userID int64) (int, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM user_metadata WHERE user_id = $1`, userID)
	if err != nil {
		return 0, store.Translate(err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

var uniqueIDShape = regexp.MustCompile(`^[0-9a-f]{32}$`)

// clientUser resolves a client-mode path's uniqueId to a user of the
// company: an account (not erased: it still has a credential) that the
// company created, has as a customer, has issued a login grant for, or
// already keeps metadata about. Anything else is answered as unknown.
func clientUser(ctx context.Context, q store.Queryer, companyID int64, uniqueID string) (int64, error) {
	uid := strings.ToLower(strings.TrimSpace(uniqueID))
	if !uniqueIDShape.MatchString(uid) {
		return 0, errs.Field("uniqueId", "must be 32 hexadecimal characters")
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT u.id FROM users u WHERE u.unique_id = $1
		AND EXISTS (SELECT 1 FROM user_credentials uc WHERE uc.user_id = u.id)
		AND (u.created_company_id = $2
			OR EXISTS (SELECT 1 FROM customers c WHERE c.company_id = $2 AND c.user_id = u.id)
			OR EXISTS (SELECT 1 FROM oauth_requests r WHERE r.company_id = $2 AND r.user_id = u.id)
			OR EXISTS (SELECT 1 FROM user_metadata m WHERE m.company_id = $2 AND m.user_id = u.id))`, uid, companyID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errs.E(errs.NotFound, "no user %s", uid)
	}
	if err != nil {
		return 0, store.Translate(err)
	}
	return id, nil
}

// tokenUser checks that a user-mode token's account still exists (a token
// minted for an account that is gone, or erased, stores nothing).
func tokenUser(ctx context.Context, q store.Queryer, userID int64) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT u.id FROM users u WHERE u.id = $1
		AND EXISTS (SELECT 1 FROM user_credentials uc WHERE uc.user_id = u.id)`, userID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errs.E(errs.NotFound, "no such user")
	}
	if err != nil {
		return 0, store.Translate(err)
	}
	return id, nil
}
