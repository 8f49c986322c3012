package pages

import (
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/identity"
)

// maxForm bounds page form bodies.
const maxForm = 64 << 10

func parse(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	return r.ParseForm() == nil
}

// Authorize serves GET /user/oauth/authorize: the code flow. A browser
// without a session (or remember-me cookie) gets the login page and comes
// back here after logging in.
func (pg *Pages) Authorize() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ar, aerr := pg.OAuth.ParseAuthorize(ctx, r)
		if aerr != nil {
			if aerr.Safe {
				pg.OAuth.WriteAuthorizeError(ctx, w, aerr)
				return
			}
			code, desc := aerr.Description()
			pg.fail(w, r, http.StatusBadRequest, code+": "+desc)
			return
		}
		ls := pg.sessionOrRemembered(w, r, ar.Client.GetID())
		if ls == nil {
			if ar.GetRequestForm().Get("prompt") == "none" {
				pg.OAuth.Deny(ctx, w, ar, fosite.ErrLoginRequired)
				return
			}
			f := &flow{Client: ar.Client.Record, Continue: r.URL.RequestURI()}
			v := pg.newView(w, r, f, "loginTitle")
			pg.render(w, http.StatusOK, "login", v)
			return
		}
		u, err := pg.grantUser(ctx, ar.Client.Record, ls)
		if err != nil {
			pg.internalError(w, r, err)
			return
		}
		pg.OAuth.CompleteAuthorize(ctx, w, ar, u)
	})
}

// LoginPage serves GET /user/login and GET /user/oauthLogin: it makes sure
// the user is logged in, then goes to returnUrl (or the pending authorize
// request). assumeNewUser=true starts the createUser flow instead.
func (pg *Pages) LoginPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := pg.readFlow(r, r.URL.Path == "/user/login")
		if err != nil {
			pg.badRequest(w, r, err)
			return
		}
		if boolParam(r, "assumeNewUser", false) {
			http.Redirect(w, r, "/user/createUser?"+r.URL.RawQuery, http.StatusFound)
			return
		}
		if f.ClientID != "" || f.Continue != "" {
			if ls := pg.sessionOrRemembered(w, r, f.ClientID); ls != nil {
				http.Redirect(w, r, f.next(), http.StatusFound)
				return
			}
		}
		v := pg.newView(w, r, f, "loginTitle")
		v.Credential = r.FormValue("credential")
		pg.render(w, http.StatusOK, "login", v)
	})
}

// LoginSubmit serves POST /user/oauthLogin (and POST /user/login): j_username
// and j_password.
func (pg *Pages) LoginSubmit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parse(w, r) {
			pg.fail(w, r, http.StatusBadRequest, "bad form")
			return
		}
		f, err := pg.readFlow(r, false)
		if err != nil {
			pg.badRequest(w, r, err)
			return
		}
		v := pg.newView(w, r, f, "loginTitle")
		v.Credential = r.PostFormValue("j_username")
		if !pg.checkCSRF(r) {
			v.Error = v.T["csrf"]
			pg.render(w, http.StatusForbidden, "login", v)
			return
		}
		var companyID int64
		if f.Client != nil {
			companyID = f.Client.CompanyID
		}
		u, credential, err := pg.S.Authenticate(r.Context(), r.PostFormValue("j_username"), r.PostFormValue("j_password"), clientIP(r), companyID)
		if err != nil {
			status := http.StatusUnauthorized
			if errs.Is(err, errs.TooManyRequests) {
				status = http.StatusTooManyRequests
			} else if !errs.Is(err, errs.Unauthenticated) {
				pg.internalError(w, r, err)
				return
			}
			v.Error = publicMessage(err)
			pg.render(w, status, "login", v)
			return
		}
		clientID := f.ClientID
		if clientID == "" && f.Client != nil {
			clientID = f.Client.ClientID
		}
		if _, err := pg.login(w, r, u.ID, credential, clientID, r.PostFormValue("remember") == "true", "password"); err != nil {
			pg.internalError(w, r, err)
			return
		}
		http.Redirect(w, r, f.next(), http.StatusFound)
	})
}

// LoginCheck serves GET /user/loginCheck: no UI, a redirect to returnUrl
// when the user is logged in (a remember-me cookie counts), else to errorUrl.
func (pg *Pages) LoginCheck() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := pg.readFlow(r, true)
		if err != nil || f.ClientID == "" {
			if err == nil {
				err = errs.Field("clientId", "is required")
			}
			pg.badRequest(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if ls := pg.sessionOrRemembered(w, r, f.ClientID); ls != nil {
			http.Redirect(w, r, f.ReturnURL, http.StatusFound)
			return
		}
		http.Redirect(w, r, f.ErrorURL, http.StatusFound)
	})
}

// Logout serves GET /user/logout: ends the session, revokes its tokens and
// the client's remember-me cookie, then goes to returnUrl. Bad parameters go
// to errorUrl when that one is valid, else to an error page.
func (pg *Pages) Logout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := pg.readFlow(r, true)
		if err != nil || f.ClientID == "" {
			if c := r.FormValue("clientId"); c != "" {
				if f2, err2 := pg.readFlow(&http.Request{Form: url.Values{"clientId": {c}, "errorUrl": {r.FormValue("errorUrl")}}}, false); err2 == nil && f2.ErrorURL != "" {
					http.Redirect(w, r, f2.ErrorURL, http.StatusFound)
					return
				}
			}
			if err == nil {
				err = errs.Field("clientId", "is required")
			}
			pg.badRequest(w, r, err)
			return
		}
		if err := pg.logout(w, r, f.ClientID); err != nil {
			pg.internalError(w, r, err)
			return
		}
		http.Redirect(w, r, f.ReturnURL, http.StatusFound)
	})
}

// CreateUser serves GET and POST /user/createUser (alias /user/register):
// make sure the user has an account and is logged in, by one-time code.
func (pg *Pages) CreateUser() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !parse(w, r) {
			pg.fail(w, r, http.StatusBadRequest, "bad form")
			return
		}
		f, err := pg.readFlow(r, r.Method == http.MethodGet && r.FormValue("clientId") != "")
		if err != nil {
			pg.badRequest(w, r, err)
			return
		}
		v := pg.newView(w, r, f, "createTitle")
		v.AssumeNewUser = boolParam(r, "assumeNewUser", true)
		v.Credential = strings.TrimSpace(r.FormValue("credential"))
		if r.Method == http.MethodGet {
			pg.createStart(w, r, f, v)
			return
		}
		if !pg.checkCSRF(r) {
			v.Error, v.Step = v.T["csrf"], "credential"
			pg.render(w, http.StatusForbidden, "create", v)
			return
		}
		switch r.PostFormValue("step") {
		case "code":
			pg.createCode(w, r, f, v)
		case "profile":
			pg.createProfile(w, r, f, v)
		default:
			pg.createCredential(w, r, f, v)
		}
	})
}

func (pg *Pages) createStart(w http.ResponseWriter, r *http.Request, f *flow, v *view) {
	ls := pg.sessionOrRemembered(w, r, f.ClientID)
	if ls != nil {
		want, _, nerr := identity.Normalize("credential", v.Credential)
		if v.Credential == "" || (nerr == nil && want == ls.Credential) {
			http.Redirect(w, r, f.next(), http.StatusFound)
			return
		}
		// Logged in with another credential: log out first (spec README §4).
		if err := pg.logout(w, r, f.ClientID); err != nil {
			pg.internalError(w, r, err)
			return
		}
	}
	v.Step = "credential"
	if v.Credential != "" && boolParam(r, "credentialSubmit", false) {
		pg.createCredential(w, r, f, v)
		return
	}
	pg.render(w, http.StatusOK, "create", v)
}

// createCredential sends a one-time code. The page is the same whether the
// account exists or not; without assumeNewUser an existing account is asked
// for its password instead.
func (pg *Pages) createCredential(w http.ResponseWriter, r *http.Request, f *flow, v *view) {
	ctx := r.Context()
	cred, typ, err := identity.Normalize("credential", v.Credential)
	if err != nil || typ == identity.TypeExternal {
		if err == nil {
			err = errs.Field("credential", "must be an e-mail address or a mobile number")
		}
		v.Step, v.Error = "credential", publicMessage(err)
		pg.render(w, http.StatusBadRequest, "create", v)
		return
	}
	v.Credential = cred
	u, err := identity.FindByCredential(ctx, pg.S.DB, cred)
	if err != nil && !errs.Is(err, errs.NotFound) {
		pg.internalError(w, r, err)
		return
	}
	if u != nil && !v.AssumeNewUser && u.PasswordSet {
		lv := pg.newView(w, r, f, "loginTitle")
		lv.Credential = cred
		pg.render(w, http.StatusOK, "login", lv)
		return
	}
	if err := pg.S.Throttle.Check(ctx, time.Now(), identity.CredentialKey(cred), identity.IPKey(clientIP(r))); err != nil {
		v.Step, v.Error = "credential", publicMessage(err)
		pg.render(w, http.StatusTooManyRequests, "create", v)
		return
	}
	var uid int64
	if u != nil {
		uid = u.ID
	}
	if err := pg.S.IssueCode(ctx, identity.PurposeRegister, cred, typ, uid, v.Lang); err != nil {
		pg.internalError(w, r, err)
		return
	}
	v.Step = "code"
	pg.render(w, http.StatusOK, "create", v)
}

// createCode checks the code: an existing account is logged in; a new one
// goes on to choose a password, carrying a signed proof of the code.
func (pg *Pages) createCode(w http.ResponseWriter, r *http.Request, f *flow, v *view) {
	ctx := r.Context()
	cred, typ, err := identity.Normalize("credential", v.Credential)
	if err != nil {
		v.Step, v.Error = "credential", publicMessage(err)
		pg.render(w, http.StatusBadRequest, "create", v)
		return
	}
	v.Credential = cred
	if err := pg.S.VerifyCode(ctx, identity.PurposeRegister, cred, strings.TrimSpace(r.PostFormValue("code")), clientIP(r)); err != nil {
		v.Step, v.Error = "code", publicMessage(err)
		status := http.StatusBadRequest
		if errs.Is(err, errs.TooManyRequests) {
			status = http.StatusTooManyRequests
		}
		pg.render(w, status, "create", v)
		return
	}
	remember := r.PostFormValue("remember") == "true"
	u, err := identity.FindByCredential(ctx, pg.S.DB, cred)
	switch {
	case err == nil:
		if c, ok := u.Credential(cred); ok && !c.Verified() {
			if err := identity.SetVerification(ctx, pg.S.DB, u.ID, cred, identity.LevelVerificationCode, time.Now()); err != nil {
				pg.internalError(w, r, err)
				return
			}
		}
		if _, err := pg.login(w, r, u.ID, cred, f.ClientID, remember, "code"); err != nil {
			pg.internalError(w, r, err)
			return
		}
		http.Redirect(w, r, f.next(), http.StatusFound)
		return
	case !errs.Is(err, errs.NotFound):
		pg.internalError(w, r, err)
		return
	}
	v.Step, v.Proof = "profile", pg.proof(cred, typ, time.Now().Add(30*time.Minute))
	if remember {
		v.Remember = "true"
	}
	pg.render(w, http.StatusOK, "create", v)
}

// proof signs "this browser proved it owns credential" until expiry.
func (pg *Pages) proof(cred, typ string, until time.Time) string {
	exp := until.UTC().Format(time.RFC3339)
	return exp + "." + pg.mac("proof", cred, typ, exp)
}

func (pg *Pages) checkProof(p, cred, typ string) bool {
	exp, mac, ok := strings.Cut(p, ".")
	if !ok {
		return false
	}
	t, err := time.Parse(time.RFC3339, exp)
	if err != nil || time.Now().After(t) {
		return false
	}
	return mac == pg.mac("proof", cred, typ, exp)
}

// createProfile creates the account (credential verified by the code) and logs it in.
func (pg *Pages) createProfile(w http.ResponseWriter, r *http.Request, f *flow, v *view) {
	ctx := r.Context()
	cred, typ, err := identity.Normalize("credential", v.Credential)
	if err != nil || !pg.checkProof(r.PostFormValue("proof"), cred, typ) {
		v.Step, v.Error = "credential", v.T["csrf"]
		pg.render(w, http.StatusBadRequest, "create", v)
		return
	}
	v.Credential, v.Proof, v.Remember = cred, r.PostFormValue("proof"), r.PostFormValue("remember")
	v.FirstName, v.LastName = strings.TrimSpace(r.PostFormValue("firstName")), strings.TrimSpace(r.PostFormValue("lastName"))
	pw := r.PostFormValue("password")
	for _, e := range []error{identity.CheckName("firstName", v.FirstName), identity.CheckName("lastName", v.LastName), identity.CheckPassword("password", pw)} {
		if e != nil {
			v.Step, v.Error = "profile", publicMessage(e)
			pg.render(w, http.StatusBadRequest, "create", v)
			return
		}
	}
	n := identity.NewUser{Credential: cred, Type: typ, VerificationLevel: identity.LevelVerificationCode,
		PasswordHash: identity.HashPassword(pw), FirstName: v.FirstName, LastName: v.LastName, RemoteIP: clientIP(r)}
	if f.Client != nil {
		n.CompanyID, n.CompanyCode, n.Actor = f.Client.CompanyID, f.Client.CompanyCode, "client:"+f.Client.ClientID
	}
	var u *identity.User
	err = pg.S.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = identity.CreateUser(ctx, tx, n, time.Now())
		return err
	})
	if errs.Is(err, errs.Conflict) {
		// Created meanwhile (another tab): the code proved ownership, so log in.
		u, err = identity.FindByCredential(ctx, pg.S.DB, cred)
	}
	if err != nil {
		pg.internalError(w, r, err)
		return
	}
	clientID := f.ClientID
	if clientID == "" && f.Client != nil {
		clientID = f.Client.ClientID
	}
	if _, err := pg.login(w, r, u.ID, cred, clientID, v.Remember == "true", "register"); err != nil {
		pg.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, f.next(), http.StatusFound)
}

// Reset serves GET and POST /user/reset: a code to the credential, then a new
// password. The answers are the same whether the account exists or not.
func (pg *Pages) Reset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.Method == http.MethodPost && !parse(w, r) {
			pg.fail(w, r, http.StatusBadRequest, "bad form")
			return
		}
		f, err := pg.readFlow(r, false)
		if err != nil {
			pg.badRequest(w, r, err)
			return
		}
		v := pg.newView(w, r, f, "resetTitle")
		v.Step, v.Credential = "credential", strings.TrimSpace(r.FormValue("credential"))
		if r.Method == http.MethodGet {
			pg.render(w, http.StatusOK, "reset", v)
			return
		}
		if !pg.checkCSRF(r) {
			v.Error = v.T["csrf"]
			pg.render(w, http.StatusForbidden, "reset", v)
			return
		}
		cred, typ, err := identity.Normalize("credential", v.Credential)
		if err != nil || typ == identity.TypeExternal {
			if err == nil {
				err = errs.Field("credential", "must be an e-mail address or a mobile number")
			}
			v.Error = publicMessage(err)
			pg.render(w, http.StatusBadRequest, "reset", v)
			return
		}
		v.Credential = cred
		if r.PostFormValue("step") != "code" {
			if err := pg.S.Throttle.Check(ctx, time.Now(), identity.CredentialKey(cred), identity.IPKey(clientIP(r))); err != nil {
				v.Error = publicMessage(err)
				pg.render(w, http.StatusTooManyRequests, "reset", v)
				return
			}
			u, err := identity.FindByCredential(ctx, pg.S.DB, cred)
			if err != nil && !errs.Is(err, errs.NotFound) {
				pg.internalError(w, r, err)
				return
			}
			if u != nil {
				if err := pg.S.IssueCode(ctx, identity.PurposeReset, cred, typ, u.ID, v.Lang); err != nil {
					pg.internalError(w, r, err)
					return
				}
			}
			v.Step = "code"
			pg.render(w, http.StatusOK, "reset", v)
			return
		}
		v.Step = "code"
		pw := r.PostFormValue("password")
		if err := identity.CheckPassword("password", pw); err != nil {
			v.Error = publicMessage(err)
			pg.render(w, http.StatusBadRequest, "reset", v)
			return
		}
		if err := pg.S.VerifyCode(ctx, identity.PurposeReset, cred, strings.TrimSpace(r.PostFormValue("code")), clientIP(r)); err != nil {
			v.Error = publicMessage(err)
			status := http.StatusBadRequest
			if errs.Is(err, errs.TooManyRequests) {
				status = http.StatusTooManyRequests
			}
			pg.render(w, status, "reset", v)
			return
		}
		u, err := identity.FindByCredential(ctx, pg.S.DB, cred)
		if err != nil {
			pg.internalError(w, r, err)
			return
		}
		err = pg.S.DB.Tx(ctx, func(tx *sql.Tx) error {
			now := time.Now()
			if err := identity.SetPassword(ctx, tx, u.ID, identity.HashPassword(pw), now); err != nil {
				return err
			}
			if c, ok := u.Credential(cred); ok && !c.Verified() {
				if err := identity.SetVerification(ctx, tx, u.ID, cred, identity.LevelVerificationCode, now); err != nil {
					return err
				}
			}
			// A new password ends every session and revokes every token.
			if err := pg.S.EndAllSessions(ctx, tx, u.ID); err != nil {
				return err
			}
			return audit.Record(ctx, tx, audit.Entry{Actor: "user:" + u.UniqueID, Action: "user.password_reset",
				Target: "user:" + u.UniqueID, RemoteIP: clientIP(r), At: now})
		})
		if err != nil {
			pg.internalError(w, r, err)
			return
		}
		if _, err := pg.login(w, r, u.ID, cred, f.ClientID, false, "reset"); err != nil {
			pg.internalError(w, r, err)
			return
		}
		http.Redirect(w, r, f.next(), http.StatusFound)
	})
}

// Account serves GET and POST /user/account: the logged-in user sees and
// edits their account (name, password) and can log out.
func (pg *Pages) Account() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.Method == http.MethodPost && !parse(w, r) {
			pg.fail(w, r, http.StatusBadRequest, "bad form")
			return
		}
		ls := pg.current(r)
		if ls == nil {
			v := pg.newView(w, r, &flow{Continue: "/user/account"}, "loginTitle")
			pg.render(w, http.StatusOK, "login", v)
			return
		}
		v := pg.newView(w, r, nil, "accountTitle")
		u, err := identity.GetUser(ctx, pg.S.DB, ls.UserID)
		if err != nil {
			pg.internalError(w, r, err)
			return
		}
		v.User = u
		if r.Method == http.MethodGet {
			pg.render(w, http.StatusOK, "account", v)
			return
		}
		if !pg.checkCSRF(r) {
			v.Error = v.T["csrf"]
			pg.render(w, http.StatusForbidden, "account", v)
			return
		}
		now := time.Now()
		switch r.PostFormValue("action") {
		case "name":
			first, last := strings.TrimSpace(r.PostFormValue("firstName")), strings.TrimSpace(r.PostFormValue("lastName"))
			for _, e := range []error{identity.CheckName("firstName", first), identity.CheckName("lastName", last)} {
				if e != nil {
					v.Error = publicMessage(e)
					pg.render(w, http.StatusBadRequest, "account", v)
					return
				}
			}
			err = pg.S.DB.Tx(ctx, func(tx *sql.Tx) error {
				if err := identity.SetName(ctx, tx, u.ID, first, last, now); err != nil {
					return err
				}
				return audit.Record(ctx, tx, audit.Entry{Actor: "user:" + u.UniqueID, Action: "user.update",
					Target: "user:" + u.UniqueID, Detail: map[string]any{"fields": "name"}, RemoteIP: clientIP(r), At: now})
			})
			u.FirstName, u.LastName, v.Info = first, last, v.T["saved"]
		case "password":
			pw := r.PostFormValue("password")
			if u.PasswordSet && !u.CheckPasswordOf(r.PostFormValue("current")) {
				v.Error = v.T["wrongCurrent"]
				_ = pg.S.Throttle.Fail(ctx, now, identity.CredentialKey(ls.Credential), identity.IPKey(clientIP(r)))
				pg.render(w, http.StatusBadRequest, "account", v)
				return
			}
			if e := identity.CheckPassword("password", pw); e != nil {
				v.Error = publicMessage(e)
				pg.render(w, http.StatusBadRequest, "account", v)
				return
			}
			err = pg.S.DB.Tx(ctx, func(tx *sql.Tx) error {
				if err := identity.SetPassword(ctx, tx, u.ID, identity.HashPassword(pw), now); err != nil {
					return err
				}
				return audit.Record(ctx, tx, audit.Entry{Actor: "user:" + u.UniqueID, Action: "user.password_change",
					Target: "user:" + u.UniqueID, RemoteIP: clientIP(r), At: now})
			})
			v.Info = v.T["passwordChanged"]
		case "logout":
			if err := pg.logout(w, r, ""); err != nil {
				pg.internalError(w, r, err)
				return
			}
			mv := pg.newView(w, r, nil, "loggedOut")
			mv.Title, mv.Links.Back = mv.T["logout"], "/user/account"
			mv.Info = mv.T["loggedOut"]
			pg.render(w, http.StatusOK, "message", mv)
			return
		default:
			v.Error = "unknown action"
			pg.render(w, http.StatusBadRequest, "account", v)
			return
		}
		if err != nil {
			pg.internalError(w, r, err)
			return
		}
		pg.render(w, http.StatusOK, "account", v)
	})
}

// Mailbox serves GET /user/dev/mailbox in demo mode: the messages the default
// sender recorded. Outside demo mode it does not exist.
func (pg *Pages) Mailbox() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !pg.S.Demo {
			http.NotFound(w, r)
			return
		}
		msgs, err := identity.RecentMessages(r.Context(), pg.S.DB, 50)
		if err != nil {
			pg.internalError(w, r, err)
			return
		}
		v := pg.newView(w, r, nil, "mailboxTitle")
		v.Messages = msgs
		pg.render(w, http.StatusOK, "mailbox", v)
	})
}
