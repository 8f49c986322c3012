// Package pages serves ConnectID's browser pages under /user: login
// (oauthLogin), createUser/register, loginCheck, logout, password reset, the
// account page, the OAuth authorize endpoint and, in demo mode, the mailbox.
// The pages are server-rendered (html/template, embedded), work without
// JavaScript, speak Norwegian and English by Accept-Language, carry a CSRF
// token on every form, and only ever redirect to URLs registered for the client.
package pages

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/identity"
	"github.com/connect-oss/connect/internal/oauth"
	"github.com/connect-oss/connect/internal/tenant"
)

//go:embed templates/*.html
var templateFS embed.FS

// Cookie names. The remember-me cookie is per client (spec README §4).
const (
	sessionCookie  = "connectid_session"
	csrfCookie     = "connectid_csrf"
	rememberPrefix = "connectid_remember_"
)

// Pages are the browser pages.
type Pages struct {
	S      *identity.Service
	OAuth  *oauth.Provider
	Secure bool // the public URL is https: cookies get Secure

	key   []byte // CSRF and proof HMAC key
	pages map[string]*template.Template
}

// New parses the templates and loads the page key.
func New(ctx context.Context, s *identity.Service, publicURL string) (*Pages, error) {
	key, err := s.OAuth.ServerSecret(ctx, "pages_key")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"credWord": identity.TypeWord}
	pg := &Pages{S: s, OAuth: s.OAuth, Secure: strings.HasPrefix(publicURL, "https://"), key: key, pages: map[string]*template.Template{}}
	for _, name := range []string{"login", "create", "reset", "account", "mailbox", "message"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pg.pages[name] = t
	}
	return pg, nil
}

// flow is the context a page was opened in: the client and where to go next.
type flow struct {
	Client    *tenant.ClientRecord
	ClientID  string
	ReturnURL string
	ErrorURL  string
	Continue  string // a local URL to resume (the authorize request, the account page)
}

// links are the navigation targets of a page, keeping the flow.
type links struct {
	Login, Register, Reset, Back string
}

// view is what a template renders.
type view struct {
	Lang, Title, CSRF, Error, Info, Body string
	T                                    map[string]string
	Client                               *tenant.ClientRecord
	Flow                                 *flow
	Links                                links
	Step, Credential, Proof, Remember    string
	FirstName, LastName                  string
	AssumeNewUser                        bool
	Demo                                 bool
	User                                 *identity.User
	Messages                             []identity.StoredMessage
}

func (pg *Pages) newView(w http.ResponseWriter, r *http.Request, f *flow, titleKey string) *view {
	lang := language(r.Header.Get("Accept-Language"))
	v := &view{Lang: lang, T: texts[lang], Flow: f, CSRF: pg.csrfToken(w, r), Demo: pg.S.Demo}
	v.Title = v.T[titleKey]
	if f == nil {
		v.Flow = &flow{}
	}
	v.Client = v.Flow.Client
	q := v.Flow.query()
	v.Links = links{Login: "/user/login?" + q, Register: "/user/createUser?" + q, Reset: "/user/reset?" + q}
	if v.Flow.ClientID == "" && v.Flow.Continue == "" {
		v.Links = links{Login: "/user/account", Register: "/user/createUser", Reset: "/user/reset"}
	}
	return v
}

// query is the flow as URL parameters.
func (f *flow) query() string {
	q := url.Values{}
	if f.ClientID != "" {
		q.Set("clientId", f.ClientID)
	}
	if f.ReturnURL != "" {
		q.Set("returnUrl", f.ReturnURL)
	}
	if f.ErrorURL != "" {
		q.Set("errorUrl", f.ErrorURL)
	}
	if f.Continue != "" {
		q.Set("continue", f.Continue)
	}
	return q.Encode()
}

func (pg *Pages) render(w http.ResponseWriter, status int, name string, v *view) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := pg.pages[name].ExecuteTemplate(w, "layout", v); err != nil {
		slog.Error("render page", "page", name, "err", err)
	}
}

// fail shows an error page: the parameters were not valid, so nothing is
// followed (no open redirects).
func (pg *Pages) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	v := pg.newView(w, r, nil, "errorTitle")
	v.Error = msg
	pg.render(w, status, "message", v)
}

func (pg *Pages) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	v := pg.newView(w, r, nil, "errorTitle")
	pg.fail(w, r, http.StatusBadRequest, fmt.Sprintf(v.T["badRequest"], publicMessage(err)))
}

func publicMessage(err error) string {
	if e, ok := err.(*errs.Error); ok {
		return e.PublicMessage()
	}
	return "internal error"
}

// internalError logs err and shows a page that reveals nothing.
func (pg *Pages) internalError(w http.ResponseWriter, r *http.Request, err error) {
	slog.ErrorContext(r.Context(), "login page failed", "path", r.URL.Path, "err", err)
	v := pg.newView(w, r, nil, "errorTitle")
	pg.fail(w, r, http.StatusInternalServerError, v.T["errorTitle"])
}

// allowedURL reports whether raw is an absolute http(s) URL on a host
// registered for the client (returnHosts; an entry without a port allows any port).
func allowedURL(c *tenant.ClientRecord, raw string) bool {
	if raw == "" || len(raw) > 2048 {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	hostPort := strings.ToLower(u.Host)
	for _, h := range c.ReturnHosts {
		h = strings.ToLower(h)
		if _, _, err := net.SplitHostPort(h); err == nil {
			if h == hostPort {
				return true
			}
		} else if strings.Trim(h, "[]") == host {
			return true
		}
	}
	return false
}

// localContinue accepts only the local pages a flow may resume.
func localContinue(s string) bool {
	if len(s) > 4096 || strings.HasPrefix(s, "//") || strings.Contains(s, "\\") {
		return false
	}
	return strings.HasPrefix(s, "/user/oauth/authorize?") || s == "/user/account"
}

// readFlow reads clientId, returnUrl, errorUrl and continue. With needURLs,
// a client flow must carry both URLs (spec README §4); every URL given must
// be registered for the client.
func (pg *Pages) readFlow(r *http.Request, needURLs bool) (*flow, error) {
	f := &flow{ClientID: r.FormValue("clientId"), ReturnURL: r.FormValue("returnUrl"), ErrorURL: r.FormValue("errorUrl"),
		Continue: r.FormValue("continue")}
	if f.Continue != "" && !localContinue(f.Continue) {
		return nil, errs.Field("continue", "is not a page of this server")
	}
	if f.ClientID == "" {
		if f.ReturnURL != "" || f.ErrorURL != "" {
			return nil, errs.Field("clientId", "is required with returnUrl and errorUrl")
		}
		if needURLs && f.Continue == "" {
			return nil, errs.Field("clientId", "is required")
		}
		if f.Continue != "" && strings.HasPrefix(f.Continue, "/user/oauth/authorize?") {
			// The authorize request names the client: show its branding.
			if cu, err := url.Parse(f.Continue); err == nil {
				if c, err := tenant.GetClient(r.Context(), pg.S.DB, cu.Query().Get("client_id")); err == nil {
					f.Client = c
				}
			}
		}
		return f, nil
	}
	if len(f.ClientID) > 100 {
		return nil, errs.Field("clientId", "is too long")
	}
	c, err := tenant.GetClient(r.Context(), pg.S.DB, f.ClientID)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Field("clientId", "unknown client")
	}
	if err != nil {
		return nil, err
	}
	f.Client = c
	if needURLs && f.Continue == "" {
		if f.ReturnURL == "" {
			return nil, errs.Field("returnUrl", "is required")
		}
		if f.ErrorURL == "" {
			return nil, errs.Field("errorUrl", "is required")
		}
	}
	if f.ReturnURL != "" && !allowedURL(c, f.ReturnURL) {
		return nil, errs.Field("returnUrl", "is not on a host registered for the client")
	}
	if f.ErrorURL != "" && !allowedURL(c, f.ErrorURL) {
		return nil, errs.Field("errorUrl", "is not on a host registered for the client")
	}
	return f, nil
}

// next is where a completed flow goes.
func (f *flow) next() string {
	switch {
	case f.Continue != "":
		return f.Continue
	case f.ReturnURL != "":
		return f.ReturnURL
	}
	return "/user/account"
}

// ---- cookies, CSRF ----

func (pg *Pages) cookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: pg.Secure, SameSite: http.SameSiteLaxMode})
}

func (pg *Pages) mac(parts ...string) string {
	m := hmac.New(sha256.New, pg.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfToken returns the form token bound to the browser's CSRF cookie,
// setting the cookie on first use.
func (pg *Pages) csrfToken(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		v = c.Value
	} else {
		var b [32]byte
		_, _ = rand.Read(b[:])
		v = base64.RawURLEncoding.EncodeToString(b[:])
		pg.cookie(w, csrfCookie, v, 0)
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: v})
	}
	return pg.mac("csrf", v)
}

// checkCSRF verifies a POST's form token against its cookie.
func (pg *Pages) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(pg.mac("csrf", c.Value)))
}

// ---- sessions ----

// current returns the browser's live session, or nil.
func (pg *Pages) current(r *http.Request) *identity.LoginSession {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	ls, err := pg.S.Session(r.Context(), c.Value)
	if err != nil {
		slog.WarnContext(r.Context(), "session lookup failed", "err", err)
		return nil
	}
	return ls
}

// remembered logs the browser in from the client's remember-me cookie, with a
// fresh session.
func (pg *Pages) remembered(w http.ResponseWriter, r *http.Request, clientID string) *identity.LoginSession {
	if clientID == "" {
		return nil
	}
	c, err := r.Cookie(rememberPrefix + clientID)
	if err != nil {
		return nil
	}
	userID, credential, ok := pg.S.Remembered(r.Context(), c.Value, clientID)
	if !ok {
		return nil
	}
	ls, err := pg.login(w, r, userID, credential, clientID, false, "remember_me")
	if err != nil {
		slog.WarnContext(r.Context(), "remember-me login failed", "err", err)
		return nil
	}
	return ls
}

// sessionOrRemembered is the browser's session, or one from remember-me.
func (pg *Pages) sessionOrRemembered(w http.ResponseWriter, r *http.Request, clientID string) *identity.LoginSession {
	if ls := pg.current(r); ls != nil {
		return ls
	}
	return pg.remembered(w, r, clientID)
}

// login starts a new session (a new id: the old one, if any, ends), sets the
// cookies and writes the audit row.
func (pg *Pages) login(w http.ResponseWriter, r *http.Request, userID int64, credential, clientID string, remember bool, method string) (*identity.LoginSession, error) {
	ctx := r.Context()
	now := time.Now()
	var companyID int64
	if clientID != "" {
		if c, err := tenant.GetClient(ctx, pg.S.DB, clientID); err == nil {
			companyID = c.CompanyID
		}
	}
	old := pg.current(r)
	var cookieValue, rememberValue string
	var ls *identity.LoginSession
	err := pg.S.DB.Tx(ctx, func(tx *sql.Tx) error {
		if old != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE login_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL`, now.UnixMilli(), old.ID); err != nil {
				return err
			}
		}
		var err error
		cookieValue, ls, err = pg.S.StartSession(ctx, tx, userID, credential, clientIP(r), now)
		if err != nil {
			return err
		}
		if remember && clientID != "" {
			if rememberValue, err = pg.S.Remember(ctx, tx, userID, clientID, credential); err != nil {
				return err
			}
		}
		u, err := identity.GetUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{CompanyID: companyID, Actor: "user:" + u.UniqueID, Action: "login.success",
			Target: "user:" + u.UniqueID, Detail: map[string]any{"method": method, "clientId": clientID, "remember": remember},
			RemoteIP: clientIP(r), At: now})
	})
	if err != nil {
		return nil, err
	}
	pg.cookie(w, sessionCookie, cookieValue, 0)
	if rememberValue != "" {
		pg.cookie(w, rememberPrefix+clientID, rememberValue, int(identity.RememberMeLife/time.Second))
	}
	return ls, nil
}

// logout ends the browser's session (revoking its tokens) and, for a client,
// its remember-me cookie.
func (pg *Pages) logout(w http.ResponseWriter, r *http.Request, clientID string) error {
	ctx := r.Context()
	ls := pg.current(r)
	var rememberValue string
	if clientID != "" {
		if c, err := r.Cookie(rememberPrefix + clientID); err == nil {
			rememberValue = c.Value
		}
	}
	err := pg.S.DB.Tx(ctx, func(tx *sql.Tx) error {
		revoked := 0
		if ls != nil {
			var err error
			if revoked, err = pg.S.EndSession(ctx, tx, ls.ID); err != nil {
				return err
			}
		}
		if err := pg.S.Forget(ctx, tx, rememberValue); err != nil {
			return err
		}
		if ls == nil {
			return nil
		}
		u, err := identity.GetUser(ctx, tx, ls.UserID)
		if err != nil {
			return err
		}
		var companyID int64
		if c, err := tenant.GetClient(ctx, tx, clientID); err == nil {
			companyID = c.CompanyID
		}
		return audit.Record(ctx, tx, audit.Entry{CompanyID: companyID, Actor: "user:" + u.UniqueID, Action: "logout",
			Target: "user:" + u.UniqueID, Detail: map[string]any{"clientId": clientID, "refreshTokensRevoked": revoked},
			RemoteIP: clientIP(r), At: time.Now()})
	})
	if err != nil {
		return err
	}
	pg.cookie(w, sessionCookie, "", -1)
	if clientID != "" {
		pg.cookie(w, rememberPrefix+clientID, "", -1)
	}
	return nil
}

// grantUser makes the user a customer of the client's company (on first use)
// and returns the user as the OAuth grant carries it.
func (pg *Pages) grantUser(ctx context.Context, c *tenant.ClientRecord, ls *identity.LoginSession) (*oauth.User, error) {
	var out *oauth.User
	err := pg.S.DB.Tx(ctx, func(tx *sql.Tx) error {
		u, err := identity.GetUser(ctx, tx, ls.UserID)
		if err != nil {
			return err
		}
		had, err := identity.CustomerNumber(ctx, tx, c.CompanyID, u.ID)
		if err != nil {
			return err
		}
		number := had
		if had == 0 {
			number, err = customer.EnsureForUser(ctx, tx, c.CompanyID, c.CompanyCode, u.ID,
				customer.UserDetails{FirstName: u.FirstName, LastName: u.LastName, Email: u.Email(), Phone: u.Phone()}, time.Now())
			if err != nil {
				return err
			}
			if err := identity.UserEvent(ctx, tx, c.CompanyID, c.CompanyCode, "update", u.UniqueID, number, time.Now()); err != nil {
				return err
			}
		}
		typ := identity.TypeEmail
		if cr, ok := u.Credential(ls.Credential); ok {
			typ = cr.Type
		}
		out = &oauth.User{ID: u.ID, UniqueID: u.UniqueID, Credential: ls.Credential, CredentialType: typ,
			SessionID: ls.ID, AuthTime: ls.AuthTime, CustomerNumber: number, Claims: identity.Claims(u, []string{"read"})}
		delete(out.Claims, "sub")
		return nil
	})
	return out, err
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func boolParam(r *http.Request, name string, def bool) bool {
	v := r.FormValue(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(strings.ToLower(v))
	if err != nil {
		return def
	}
	return b
}
