package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/oauth"
	"github.com/connect-oss/connect/internal/store"
)

// Handlers are the API endpoints of the ConnectID area.
type Handlers struct{ S *Service }

type profileCredential struct {
	Credential        string `json:"credential"`
	CredentialType    string `json:"credentialType"`
	VerificationLevel string `json:"verificationLevel,omitempty"`
}

type profileName struct {
	FirstName      string `json:"firstName,omitempty"`
	MiddleName     string `json:"middleName,omitempty"`
	LastName       string `json:"lastName,omitempty"`
	CompanyName    string `json:"companyName,omitempty"`
	DepartmentName string `json:"departmentName,omitempty"`
}

func (n profileName) empty() bool { return n == profileName{} }

type phoneNumber struct {
	PhoneNumber     string `json:"phoneNumber"`
	PhoneNumberType string `json:"phoneNumberType"`
}

// userProfile is List user profile (userdata.md profile-list).
type userProfile struct {
	UniqueID        string              `json:"uniqueId"`
	LoginCredential *profileCredential  `json:"loginCredential,omitempty"`
	UserCredentials []profileCredential `json:"userCredentials"`
	Name            *profileName        `json:"name,omitempty"`
	PhoneNumbers    []phoneNumber       `json:"phoneNumbers"`
	Emails          []string            `json:"emails"`
	ExternalSources []string            `json:"externalSources"`
}

// legacyProfile is the legacy GET /v1/customer/profile (customer-profile-list).
type legacyProfile struct {
	UniqueID       string             `json:"uniqueId"`
	UserID         int64              `json:"userId"`
	CustomerNumber int64              `json:"customerNumber,omitempty"`
	Name           *profileName       `json:"name,omitempty"`
	PhoneNumbers   []phoneNumber      `json:"phoneNumbers"`
	Emails         []string           `json:"emails"`
	Credential     *profileCredential `json:"credential,omitempty"`
}

// caller loads the token's user; a user deleted since is NotFound.
func (h Handlers) caller(ctx context.Context) (*auth.Principal, *User, error) {
	p := auth.FromContext(ctx)
	if p == nil || p.Mode != auth.UserMode {
		return nil, nil, errs.E(errs.Forbidden, "a user token is required")
	}
	u, err := GetUserByUniqueID(ctx, h.S.DB, p.UserID)
	if err != nil {
		return nil, nil, err
	}
	return p, u, nil
}

// loginCredential is the credential behind the token: recorded at issuance,
// else (tokens not issued by a login) the user's first credential.
func (h Handlers) loginCredential(ctx context.Context, p *auth.Principal, u *User) (Credential, bool) {
	if c, t, ok := h.S.OAuth.Storage.LoginCredential(ctx, p.TokenID); ok {
		if have, ok := u.Credential(c); ok {
			return have, true
		}
		return Credential{Credential: c, Type: t, VerificationLevel: LevelNotVerified}, true
	}
	if len(u.Credentials) > 0 {
		return u.Credentials[0], true
	}
	return Credential{}, false
}

func externalSources(ctx context.Context, q store.Queryer, userID int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT source FROM user_external_profiles WHERE user_id = $1 ORDER BY source`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Profile serves profile-list: GET /capi/v1/user/profile.
func (h Handlers) Profile() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p, u, err := h.caller(ctx)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		out := userProfile{UniqueID: u.UniqueID, UserCredentials: []profileCredential{}, PhoneNumbers: []phoneNumber{}, Emails: []string{}}
		for _, c := range u.Credentials {
			out.UserCredentials = append(out.UserCredentials, profileCredential{c.Credential, TypeWord(c.Type), c.VerificationLevel})
			switch c.Type {
			case TypeEmail:
				out.Emails = append(out.Emails, c.Credential)
			case TypePhone:
				out.PhoneNumbers = append(out.PhoneNumbers, phoneNumber{c.Credential, "personal"})
			}
		}
		if c, ok := h.loginCredential(ctx, p, u); ok {
			out.LoginCredential = &profileCredential{c.Credential, TypeWord(c.Type), c.VerificationLevel}
		}
		if n := (profileName{FirstName: u.FirstName, LastName: u.LastName}); !n.empty() {
			out.Name = &n
		}
		if out.ExternalSources, err = externalSources(ctx, h.S.DB, u.ID); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		writeProfile(w, r, out)
	})
}

func writeProfile(w http.ResponseWriter, r *http.Request, v any) {
	o := httpx.RouteOptions(r)
	o.Root = "profile" // both profiles are <profile> in XML (README §5.3)
	w.Header().Set("Cache-Control", "no-store")
	httpx.Write(w, r, http.StatusOK, v, o)
}

// LegacyProfile serves customer-profile-list: GET /capi/v1/customer/profile,
// the shape deployed clients parse (XML by default).
func (h Handlers) LegacyProfile() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p, u, err := h.caller(ctx)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		out := legacyProfile{UniqueID: u.UniqueID, UserID: u.ID, PhoneNumbers: []phoneNumber{}, Emails: []string{}}
		name := profileName{FirstName: u.FirstName, LastName: u.LastName}
		number, err := customer.NumberFor(ctx, h.S.DB, p)
		switch {
		case err == nil:
			if c, err := customer.Get(ctx, h.S.DB, p.CompanyID, number); err == nil {
				out.CustomerNumber = number
				cn := profileName{FirstName: c.FirstName, MiddleName: c.MiddleName, LastName: c.LastName,
					CompanyName: c.CompanyName, DepartmentName: c.DepartmentName}
				if !cn.empty() {
					name = cn
				}
				for _, ph := range c.PhoneNumbers {
					if _, own := u.Credential(ph); !own {
						out.PhoneNumbers = append(out.PhoneNumbers, phoneNumber{ph, "home"})
					}
				}
				for _, e := range c.Emails {
					if _, own := u.Credential(e); !own {
						out.Emails = append(out.Emails, e)
					}
				}
			} else if !errs.Is(err, errs.NotFound) {
				httpx.Fail(w, r, err)
				return
			}
		case !errs.Is(err, errs.NotFound):
			httpx.Fail(w, r, err)
			return
		}
		var mobiles []phoneNumber
		var emails []string
		for _, c := range u.Credentials {
			switch c.Type {
			case TypeEmail:
				emails = append(emails, c.Credential)
			case TypePhone:
				mobiles = append(mobiles, phoneNumber{c.Credential, "mobile"})
			}
		}
		out.Emails = append(emails, out.Emails...)
		out.PhoneNumbers = append(mobiles, out.PhoneNumbers...)
		if out.Emails == nil {
			out.Emails = []string{}
		}
		if out.PhoneNumbers == nil {
			out.PhoneNumbers = []phoneNumber{}
		}
		if !name.empty() {
			out.Name = &name
		}
		if c, ok := h.loginCredential(ctx, p, u); ok {
			out.Credential = &profileCredential{Credential: c.Credential, CredentialType: c.Type}
		}
		writeProfile(w, r, out)
	})
}

type externalProfile struct {
	Source string          `json:"source"`
	Info   json.RawMessage `json:"info"`
}

// ExternalProfiles serves profile-external-list: GET /capi/v1/user/profile/external.
func (h Handlers) ExternalProfiles() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		_, u, err := h.caller(ctx)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		rows, err := h.S.DB.QueryContext(ctx, `SELECT source, info FROM user_external_profiles WHERE user_id = $1 ORDER BY source`, u.ID)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		defer rows.Close()
		list := []externalProfile{}
		for rows.Next() {
			var e externalProfile
			var info string
			if err := rows.Scan(&e.Source, &info); err != nil {
				httpx.Fail(w, r, err)
				return
			}
			e.Info = json.RawMessage(info)
			list = append(list, e)
		}
		if err := rows.Err(); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.Reply(w, r, http.StatusOK, map[string]any{"externalProfileList": list})
	})
}

type credentialCheckRequest struct {
	Credential string `json:"credential"`
}

type credentialCheckResponse struct {
	Credential        string `json:"credential"`
	Exists            bool   `json:"exists"`
	CredentialType    string `json:"credentialType"`
	VerificationLevel string `json:"verificationLevel,omitempty"`
	UniqueID          string `json:"uniqueId,omitempty"`
	PasswordSet       *bool  `json:"passwordSet,omitempty"`
	CustomerNumber    int64  `json:"customerNumber,omitempty"`
}

// CredentialCheck serves credential-check-client: POST /capi/v1/client/credential/check.
func (h Handlers) CredentialCheck() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := auth.FromContext(ctx)
		var req credentialCheckRequest
		if err := httpx.Decode(r, &req); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		cred, typ, err := Normalize("credential", req.Credential)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		out := credentialCheckResponse{Credential: cred, CredentialType: typ}
		u, err := FindByCredential(ctx, h.S.DB, cred)
		switch {
		case errs.Is(err, errs.NotFound):
		case err != nil:
			httpx.Fail(w, r, err)
			return
		default:
			c, _ := u.Credential(cred)
			set := u.PasswordSet
			out.Exists, out.VerificationLevel, out.UniqueID, out.PasswordSet = true, c.VerificationLevel, u.UniqueID, &set
			if out.CustomerNumber, err = CustomerNumber(ctx, h.S.DB, p.CompanyID, u.ID); err != nil {
				httpx.Fail(w, r, err)
				return
			}
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

type extIDRequest struct {
	ExternalID     string `json:"externalId"`
	CredentialType string `json:"credentialType"`
	CustomerNumber int64  `json:"customerNumber"`
}

type extIDResponse struct {
	Credential     string `json:"credential"`
	ExternalID     string `json:"externalId"`
	CredentialType string `json:"credentialType"`
	CanLogin       bool   `json:"canLogin"`
	CustomerNumber int64  `json:"customerNumber,omitempty"`
	UniqueID       string `json:"uniqueId"`
	Enabled        bool   `json:"enabled"`
	NewUser        bool   `json:"newUser"`
	ExtIDCode      string `json:"extidCode,omitempty"`
}

var externalIDRe = regexp.MustCompile(`^[!-~]+$`)

// extCredential validates the request and builds the external credential.
func (h Handlers) extCredential(ctx context.Context, p *auth.Principal, req extIDRequest) (string, error) {
	if req.CredentialType != "" && !strings.EqualFold(req.CredentialType, TypeExternal) {
		return "", errs.Field("credentialType", "must be D (an external identity)")
	}
	if req.ExternalID == "" {
		return "", errs.Field("externalId", "is required")
	}
	if !externalIDRe.MatchString(req.ExternalID) {
		return "", errs.Field("externalId", "must be printable ASCII without spaces")
	}
	prefix, err := ExternalIDPrefix(ctx, h.S.DB, p.CompanyID)
	if err != nil {
		return "", err
	}
	if prefix == "" {
		return "", errs.E(errs.Forbidden, "the company has no external-identity prefix configured")
	}
	cred := prefix + ":" + req.ExternalID
	if len(cred) > MaxCredential {
		return "", errs.Field("externalId", "must be at most %d characters", MaxCredential-len(prefix)-1)
	}
	return cred, nil
}

// ensureExternalUser finds or creates the user behind an external credential.
func (h Handlers) ensureExternalUser(ctx context.Context, tx *sql.Tx, r *http.Request, p *auth.Principal, cred string) (*User, bool, error) {
	u, err := FindByCredential(ctx, tx, cred)
	if err == nil {
		return u, false, nil
	}
	if !errs.Is(err, errs.NotFound) {
		return nil, false, err
	}
	u, err = CreateUser(ctx, tx, NewUser{Credential: cred, Type: TypeExternal, VerificationLevel: LevelExternallyVerified,
		CompanyID: p.CompanyID, CompanyCode: p.CompanyCode, Actor: "client:" + p.ClientID, RemoteIP: clientIP(r)}, h.S.now())
	return u, true, err
}

// ExtIDRegister serves extid-register-client: POST /capi/v1/client/extid.
func (h Handlers) ExtIDRegister() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := auth.FromContext(ctx)
		var req extIDRequest
		if err := httpx.Decode(r, &req); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		cred, err := h.extCredential(ctx, p, req)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		var out extIDResponse
		err = h.S.DB.Tx(ctx, func(tx *sql.Tx) error {
			u, created, err := h.ensureExternalUser(ctx, tx, r, p, cred)
			if err != nil {
				return err
			}
			number, err := CustomerNumber(ctx, tx, p.CompanyID, u.ID)
			if err != nil {
				return err
			}
			out = extIDResponse{Credential: cred, ExternalID: req.ExternalID, CredentialType: TypeExternal,
				CustomerNumber: number, UniqueID: u.UniqueID, Enabled: u.HasOwnLogin(), NewUser: created, CanLogin: !u.Blocked}
			if out.CanLogin {
				out.ExtIDCode, err = h.S.OAuth.IssueExtIDCode(ctx, tx, oauth.ExtIDGrant{ClientID: p.ClientID, CompanyID: p.CompanyID,
					UserID: u.ID, UniqueID: u.UniqueID, Credential: cred, CustomerNumber: number}, h.S.now())
				if err != nil {
					return err
				}
			}
			return audit.Record(ctx, tx, audit.Entry{CompanyID: p.CompanyID, Actor: "client:" + p.ClientID, Action: "extid.register",
				Target: "user:" + u.UniqueID, Detail: map[string]any{"newUser": created, "codeIssued": out.CanLogin},
				RemoteIP: clientIP(r), At: h.S.now()})
		})
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

// ExtIDCustomerRegister serves extid-customer-register-client: POST
// /capi/v1/client/extid/customer, linking a customer to an external id.
func (h Handlers) ExtIDCustomerRegister() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := auth.FromContext(ctx)
		var req extIDRequest
		if err := httpx.Decode(r, &req); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if req.CustomerNumber <= 0 {
			httpx.Fail(w, r, errs.Field("customerNumber", "is required"))
			return
		}
		cred, err := h.extCredential(ctx, p, req)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		var out extIDResponse
		err = h.S.DB.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := customer.Get(ctx, tx, p.CompanyID, req.CustomerNumber); err != nil {
				return err
			}
			u, created, err := h.ensureExternalUser(ctx, tx, r, p, cred)
			if err != nil {
				return err
			}
			had, err := CustomerNumber(ctx, tx, p.CompanyID, u.ID)
			if err != nil {
				return err
			}
			if had != req.CustomerNumber {
				if err := customer.LinkUser(ctx, tx, p.CompanyID, req.CustomerNumber, u.ID); err != nil {
					return err
				}
				if err := UserEvent(ctx, tx, p.CompanyID, p.CompanyCode, "update", u.UniqueID, req.CustomerNumber, h.S.now()); err != nil {
					return err
				}
				if err := audit.Record(ctx, tx, audit.Entry{CompanyID: p.CompanyID, Actor: "client:" + p.ClientID, Action: "extid.link_customer",
					Target: "user:" + u.UniqueID, Detail: map[string]any{"customerNumber": req.CustomerNumber}, RemoteIP: clientIP(r), At: h.S.now()}); err != nil {
					return err
				}
			}
			out = extIDResponse{Credential: cred, ExternalID: req.ExternalID, CredentialType: TypeExternal,
				CustomerNumber: req.CustomerNumber, UniqueID: u.UniqueID, Enabled: u.HasOwnLogin(), NewUser: created}
			return nil
		})
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

// Userinfo serves the OpenID Connect UserInfo endpoint (GET or POST
// /user/oauth/userinfo) for any user access token; claims follow the scopes.
func (h Handlers) Userinfo() http.Handler {
	v := h.S.OAuth.Verifier()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		token, err := auth.BearerToken(r.Header.Get("Authorization"))
		if err == nil {
			var p *auth.Principal
			if p, err = v.Verify(ctx, token); err == nil {
				if p.Mode != auth.UserMode {
					w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
					httpx.WriteJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope", "error_description": "userinfo needs a user token"})
					return
				}
				var u *User
				if u, err = GetUserByUniqueID(ctx, h.S.DB, p.UserID); err == nil {
					w.Header().Set("Cache-Control", "no-store")
					httpx.WriteJSON(w, http.StatusOK, Claims(u, p.Scopes))
					return
				}
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		httpx.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the access token is missing, invalid or expired"})
	})
}

// Claims are the OpenID Connect claims of a user for the granted scopes
// ("read" alone gives the profile and contact claims too: it is "all access").
func Claims(u *User, scopes []string) map[string]any {
	has := func(s string) bool {
		for _, x := range scopes {
			if x == s || x == "read" {
				return true
			}
		}
		return false
	}
	c := map[string]any{"sub": u.UniqueID, "user_id": u.ID}
	if has("profile") {
		if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
			c["name"] = n
		}
		if u.FirstName != "" {
			c["given_name"] = u.FirstName
		}
		if u.LastName != "" {
			c["family_name"] = u.LastName
		}
	}
	for _, cr := range u.Credentials {
		switch {
		case cr.Type == TypeEmail && has("email") && c["email"] == nil:
			c["email"], c["email_verified"] = cr.Credential, cr.Verified()
		case cr.Type == TypePhone && has("phone") && c["phone_number"] == nil:
			c["phone_number"], c["phone_number_verified"] = cr.Credential, cr.Verified()
		}
	}
	return c
}

// clientIP is the caller's address without the port.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
