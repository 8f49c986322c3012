package metadata

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
)

// Handlers serves User Data → Metadata in both modes: user mode acts on the
// token's user, client mode on the path's uniqueId; either way the object is
// the calling client's.
type Handlers struct {
	DB *store.DB
}

// List is metadata-list and metadata-list-client.
func (h Handlers) List() http.Handler {
	return handle(func(r *http.Request, p *auth.Principal) (json.RawMessage, error) {
		ctx := r.Context()
		user, err := subject(ctx, h.DB, r, p)
		if err != nil {
			return nil, err
		}
		return Get(ctx, h.DB, p.ClientID, user)
	})
}

// Change is metadata-change and metadata-change-client: a full replace.
func (h Handlers) Change() http.Handler {
	return handle(func(r *http.Request, p *auth.Principal) (json.RawMessage, error) {
		body, err := readJSON(r)
		if err != nil {
			return nil, err
		}
		data, err := Parse(body)
		if err != nil {
			return nil, err
		}
		ctx := r.Context()
		err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
			user, err := subject(ctx, tx, r, p)
			if err != nil {
				return err
			}
			return Put(ctx, tx, p.CompanyID, p.ClientID, user, data, time.Now())
		})
		if err != nil {
			return nil, err
		}
		return data, nil
	})
}

// Remove is metadata-remove and metadata-remove-client: it answers the
// object it removed.
func (h Handlers) Remove() http.Handler {
	return handle(func(r *http.Request, p *auth.Principal) (json.RawMessage, error) {
		ctx := r.Context()
		var removed json.RawMessage
		err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
			user, err := subject(ctx, tx, r, p)
			if err != nil {
				return err
			}
			removed, err = Remove(ctx, tx, p.ClientID, user)
			return err
		})
		return removed, err
	})
}

// subject is the users.id whose object the call is about.
func subject(ctx context.Context, q store.Queryer, r *http.Request, p *auth.Principal) (int64, error) {
	if p == nil {
		return 0, errs.E(errs.Unauthenticated, "the access token is missing")
	}
	if p.Mode == auth.UserMode {
		return tokenUser(ctx, q, p.UserNumber)
	}
	return clientUser(ctx, q, p.CompanyID, r.PathValue("uniqueId"))
}

// handle is httpx.Handle pinned to JSON: metadata answers JSON whatever
// Accept says (README §5.3), and so do its errors.
func handle(fn func(r *http.Request, p *auth.Principal) (json.RawMessage, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r, auth.FromContext(r.Context()))
		if err != nil {
			asJSON := r.Clone(r.Context())
			asJSON.Header.Set("Accept", "application/json")
			httpx.Fail(w, asJSON, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, v)
	})
}

// readJSON reads a request body that must be JSON: an XML body (or any other
// type) is 415, more than httpx.MaxBodyBytes is 413.
func readJSON(r *http.Request) ([]byte, error) {
	typ, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	typ = strings.ToLower(strings.TrimSpace(typ))
	if typ != "" && typ != "application/json" && !(strings.HasSuffix(typ, "+json") && strings.Contains(typ, "/")) {
		return nil, errs.E(errs.UnsupportedMedia, "metadata is JSON only: send Content-Type application/json")
	}
	if r.ContentLength > httpx.MaxBodyBytes {
		return nil, tooLarge()
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, httpx.MaxBodyBytes+1))
		if err != nil {
			var maxBytes *http.MaxBytesError
			if errors.As(err, &maxBytes) {
				return nil, tooLarge()
			}
			return nil, errs.Wrap(errs.Invalid, err, "could not read the request body")
		}
	}
	if len(body) > httpx.MaxBodyBytes {
		return nil, tooLarge()
	}
	// Without a Content-Type the body itself tells: XML is refused.
	if typ == "" && bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\uFEFF")), " \t\r\n"), []byte("<")) {
		return nil, errs.E(errs.UnsupportedMedia, "metadata is JSON only: send Content-Type application/json")
	}
	return body, nil
}

func tooLarge() error {
	return errs.E(errs.TooLarge, "request body exceeds %d bytes", httpx.MaxBodyBytes)
}
