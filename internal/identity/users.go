package identity

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
)

// User is a ConnectID account.
type User struct {
	ID           int64 // the legacy numeric userId
	UniqueID     string
	FirstName    string
	LastName     string
	Blocked      bool
	PasswordSet  bool
	CreatedAt    time.Time
	Credentials  []Credential // e-mail, then phone, then external; each by date added
	passwordHash string
}

// Credential is one login credential of a user.
type Credential struct {
	Credential        string
	Type              string // A, B or D
	VerificationLevel string
	CreatedAt         int64
}

// Verified reports whether the credential counts as verified (userdata.md).
func (c Credential) Verified() bool { return c.VerificationLevel != LevelNotVerified }

// Email is the user's first e-mail credential, or "".
func (u *User) Email() string { return u.first(TypeEmail) }

// Phone is the user's first mobile-number credential, or "".
func (u *User) Phone() string { return u.first(TypePhone) }

func (u *User) first(t string) string {
	for _, c := range u.Credentials {
		if c.Type == t {
			return c.Credential
		}
	}
	return ""
}

// HasOwnLogin reports whether the user has a verified e-mail or mobile
// number (External identity "enabled").
func (u *User) HasOwnLogin() bool {
	for _, c := range u.Credentials {
		if c.Type != TypeExternal && c.Verified() {
			return true
		}
	}
	return false
}

// Credential returns the user's credential c, if it has it.
func (u *User) Credential(c string) (Credential, bool) {
	for _, x := range u.Credentials {
		if x.Credential == c {
			return x, true
		}
	}
	return Credential{}, false
}

// NewUniqueID returns a fresh uniqueId: 32 lower-case hex characters.
func NewUniqueID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

const userColumns = `id, unique_id, COALESCE(password_hash, ''), first_name, last_name, blocked, created_at`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created int64
	if err := row.Scan(&u.ID, &u.UniqueID, &u.passwordHash, &u.FirstName, &u.LastName, &u.Blocked, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.E(errs.NotFound, "no such user")
		}
		return nil, store.Translate(err)
	}
	u.CreatedAt = time.UnixMilli(created)
	u.PasswordSet = u.passwordHash != ""
	return &u, nil
}

func loadCredentials(ctx context.Context, q store.Queryer, u *User) error {
	rows, err := q.QueryContext(ctx, `SELECT credential, credential_type, verification_level, created_at
		FROM user_credentials WHERE user_id = $1 ORDER BY created_at, id`, u.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	u.Credentials = u.Credentials[:0]
	for rows.Next() {
		var c Credential
		if err := rows.Scan(&c.Credential, &c.Type, &c.VerificationLevel, &c.CreatedAt); err != nil {
			return err
		}
		u.Credentials = append(u.Credentials, c)
	}
	order := map[string]int{TypeEmail: 0, TypePhone: 1, TypeExternal: 2}
	sort.SliceStable(u.Credentials, func(i, j int) bool { return order[u.Credentials[i].Type] < order[u.Credentials[j].Type] })
	return rows.Err()
}

// GetUser returns the user with its credentials; NotFound when missing.
func GetUser(ctx context.Context, q store.Queryer, id int64) (*User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	return u, loadCredentials(ctx, q, u)
}

// GetUserByUniqueID returns the user by uniqueId; NotFound when missing.
func GetUserByUniqueID(ctx context.Context, q store.Queryer, uniqueID string) (*User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE unique_id = $1`, uniqueID))
	if err != nil {
		return nil, err
	}
	return u, loadCredentials(ctx, q, u)
}

// FindByCredential returns the user owning a normalised credential; NotFound when none.
func FindByCredential(ctx context.Context, q store.Queryer, credential string) (*User, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT user_id FROM user_credentials WHERE credential = $1`, credential).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no such credential")
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	return GetUser(ctx, q, id)
}

// ResolveUser finds the user named by uniqueId and/or credential (e-mail,
// E.164 mobile number or external id, normalised here); when both are given
// they must name the same user. ok is false when there is no such user or a
// credential is malformed.
func ResolveUser(ctx context.Context, q store.Queryer, uniqueID, credential string) (id int64, ok bool, err error) {
	var byID, byCredential *User
	if uniqueID != "" {
		if byID, err = GetUserByUniqueID(ctx, q, strings.ToLower(uniqueID)); err != nil {
			return 0, false, notFoundIsNo(err)
		}
	}
	if credential != "" {
		c, _, err := Normalize("credential", credential)
		if err != nil {
			return 0, false, nil
		}
		if byCredential, err = FindByCredential(ctx, q, c); err != nil {
			return 0, false, notFoundIsNo(err)
		}
	}
	switch {
	case byID != nil && byCredential != nil && byID.ID != byCredential.ID:
		return 0, false, nil
	case byID != nil:
		return byID.ID, true, nil
	case byCredential != nil:
		return byCredential.ID, true, nil
	}
	return 0, false, nil
}

// notFoundIsNo turns NotFound into "no such user" (nil); other errors stay.
func notFoundIsNo(err error) error {
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	return err
}

// NewUser describes an account to create.
type NewUser struct {
	Credential        string // normalised
	Type              string
	VerificationLevel string
	PasswordHash      string // "" for no password
	FirstName         string
	LastName          string
	// The company whose client creates the user: its "user new" event goes there.
	CompanyID   int64
	CompanyCode string
	Actor       string // audit actor, e.g. "client:demo.web"
	RemoteIP    string
}

// CheckName validates a name part.
func CheckName(field, s string) error {
	if utf8.RuneCountInString(s) > 100 {
		return errs.Field(field, "must be at most 100 characters")
	}
	if strings.ContainsAny(s, "<>\x00") {
		return errs.Field(field, "contains characters that are not allowed")
	}
	return nil
}

// CreateUser creates an account with its first credential inside tx, with
// its audit row and "user new" event. A taken credential is a Conflict.
func CreateUser(ctx context.Context, tx *sql.Tx, n NewUser, now time.Time) (*User, error) {
	if n.VerificationLevel == "" {
		n.VerificationLevel = LevelNotVerified
	}
	ms := now.UnixMilli()
	var hash any
	if n.PasswordHash != "" {
		hash = n.PasswordHash
	}
	var company any
	if n.CompanyID != 0 {
		company = n.CompanyID
	}
	uid := NewUniqueID()
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO users (unique_id, password_hash, first_name, last_name, created_company_id, created_at, updated_at, password_changed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id`, uid, hash, n.FirstName, n.LastName, company, ms,
		func() any {
			if hash != nil {
				return ms
			}
			return nil
		}()).Scan(&id)
	if err != nil {
		return nil, store.Translate(err)
	}
	if err := AddCredential(ctx, tx, id, n.Credential, n.Type, n.VerificationLevel, now); err != nil {
		return nil, err
	}
	if n.Actor == "" {
		n.Actor = "user:" + uid
	}
	if err := audit.Record(ctx, tx, audit.Entry{CompanyID: n.CompanyID, Actor: n.Actor, Action: "user.create",
		Target: "user:" + uid, Detail: map[string]any{"credentialType": n.Type}, RemoteIP: n.RemoteIP, At: now}); err != nil {
		return nil, err
	}
	if n.CompanyID != 0 {
		if err := UserEvent(ctx, tx, n.CompanyID, n.CompanyCode, "new", uid, 0, now); err != nil {
			return nil, err
		}
	}
	return GetUser(ctx, tx, id)
}

// AddCredential gives a user another credential; a taken one is a Conflict.
func AddCredential(ctx context.Context, tx *sql.Tx, userID int64, credential, typ, level string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO user_credentials (user_id, credential, credential_type, verification_level, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)`, userID, credential, typ, level, now.UnixMilli())
	if errs.Is(store.Translate(err), errs.Conflict) {
		return errs.E(errs.Conflict, "the credential is already in use")
	}
	return store.Translate(err)
}

// SetVerification sets a credential's verification level.
func SetVerification(ctx context.Context, q store.Queryer, userID int64, credential, level string, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE user_credentials SET verification_level = $1, updated_at = $2
		WHERE user_id = $3 AND credential = $4`, level, now.UnixMilli(), userID, credential)
	return store.Translate(err)
}

// SetPassword stores a new password hash.
func SetPassword(ctx context.Context, q store.Queryer, userID int64, hash string, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3`,
		hash, now.UnixMilli(), userID)
	return store.Translate(err)
}

// SetName changes the account's name.
func SetName(ctx context.Context, q store.Queryer, userID int64, first, last string, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE users SET first_name = $1, last_name = $2, updated_at = $3 WHERE id = $4`,
		first, last, now.UnixMilli(), userID)
	return store.Translate(err)
}

// UserEvent records a ConnectID "user" event (spec README §11) for a company.
func UserEvent(ctx context.Context, tx store.Queryer, companyID int64, companyCode, status, uniqueID string, customerNumber int64, now time.Time) error {
	data := map[string]any{"uniqueId": uniqueID}
	if customerNumber != 0 {
		data["customerNumber"] = customerNumber
	}
	_, err := event.Record(ctx, tx, event.Event{CompanyID: companyID, Source: companyCode, Type: "user", Status: status, Data: data, Time: now})
	return err
}

// CheckPasswordOf verifies pw against the user's stored hash.
func (u *User) CheckPasswordOf(pw string) bool {
	if u.passwordHash == "" {
		VerifyPassword(dummyHash, pw) // same cost either way
		return false
	}
	return VerifyPassword(u.passwordHash, pw)
}

// CustomerNumber returns the user's customer at a company, or 0.
func CustomerNumber(ctx context.Context, q store.Queryer, companyID, userID int64) (int64, error) {
	n, err := customer.NumberFor(ctx, q, &auth.Principal{Mode: auth.UserMode, CompanyID: companyID, UserNumber: userID})
	if errs.Is(err, errs.NotFound) {
		return 0, nil
	}
	return n, err
}
