package order

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/identity"
	"github.com/connect-oss/connect/internal/store"
)

// IdentityUsers implements Users with ConnectID (package identity).
type IdentityUsers struct {
	Service   *identity.Service
	PublicURL string // base URL of the login pages in login links
}

// UserNumber implements Users.
func (u IdentityUsers) UserNumber(ctx context.Context, q store.Queryer, uniqueID string) (int64, bool, error) {
	user, err := identity.GetUserByUniqueID(ctx, q, uniqueID)
	if errs.Is(err, errs.NotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return user.ID, true, nil
}

// Assign implements Users: the user with the credential, or a new account
// with it unverified and no password.
func (u IdentityUsers) Assign(ctx context.Context, tx *sql.Tx, companyID int64, credential string, now time.Time) (AssignedUser, error) {
	c, typ, err := identity.Normalize("credential", credential)
	if err != nil {
		return AssignedUser{}, err
	}
	user, err := identity.FindByCredential(ctx, tx, c)
	if err == nil {
		return AssignedUser{Number: user.ID, UniqueID: user.UniqueID, IsPasswordSet: user.PasswordSet}, nil
	}
	if !errs.Is(err, errs.NotFound) {
		return AssignedUser{}, err
	}
	var code string
	if err := tx.QueryRowContext(ctx, `SELECT code FROM companies WHERE id = $1`, companyID).Scan(&code); err != nil {
		return AssignedUser{}, store.Translate(err)
	}
	user, err = identity.CreateUser(ctx, tx, identity.NewUser{Credential: c, Type: typ, CompanyID: companyID,
		CompanyCode: code, Actor: "order:assign"}, now)
	if err != nil {
		return AssignedUser{}, err
	}
	return AssignedUser{Number: user.ID, UniqueID: user.UniqueID, IsNew: true}, nil
}

// SendLoginLink implements Users: a message to the credential (or, for an
// external id, the user's e-mail or phone) pointing at the login page, which
// returns to returnUrl.
func (u IdentityUsers) SendLoginLink(ctx context.Context, l LoginLink) error {
	user, err := identity.GetUser(ctx, u.Service.DB, l.UserNumber)
	if err != nil {
		return err
	}
	to, channel := user.Email(), "email"
	if to == "" {
		to, channel = user.Phone(), "sms"
	}
	if to == "" {
		return errs.Field("credential", "the user has no e-mail address or phone number to send a link to")
	}
	q := url.Values{"clientId": {l.ClientID}, "returnUrl": {l.ReturnURL}, "errorUrl": {l.ErrorURL}, "credential": {l.Credential}}
	page := "/user/login?"
	subject := "Log in to see your order"
	if l.SetPassword {
		page = "/user/createUser?"
		subject = "Create your password to see your order"
	}
	return u.Service.Sender.Send(ctx, identity.Message{Channel: channel, To: to, Subject: subject,
		Body: subject + ": " + u.PublicURL + page + q.Encode()})
}

// Credentials returns the user's first e-mail and phone credentials (Register
// customer copies them when the body has none).
func (u IdentityUsers) Credentials(ctx context.Context, q store.Queryer, userNumber int64) (string, string, error) {
	user, err := identity.GetUser(ctx, q, userNumber)
	if err != nil {
		return "", "", err
	}
	return user.Email(), user.Phone(), nil
}

// sessionCookie is the ConnectID session cookie set by the login pages
// (internal/identity/pages).
const sessionCookie = "connectid_session"

// CurrentUser implements SessionUsers: the user of the browser's ConnectID session.
func (u IdentityUsers) CurrentUser(r *http.Request) (int64, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return 0, false
	}
	ls, err := u.Service.Session(r.Context(), c.Value)
	if err != nil || ls == nil {
		return 0, false
	}
	return ls.UserID, true
}
