package identity

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/audit"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// ApplyTenant is the tenant file's ConnectID section (tenant.IdentityApplier):
// it sets the company's external-identity prefix and makes each declared user
// exist, with its password, and be a customer of the company. Re-applying
// changes nothing: a password is only rehashed when it no longer verifies
// against the stored hash.
func ApplyTenant(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, spec tenant.IdentitySpec, now time.Time) (created, updated int, err error) {
	changed, err := setPrefix(ctx, tx, companyID, spec.ExternalIDPrefix, now)
	if err != nil {
		return 0, 0, err
	}
	if changed {
		updated++
	}
	for i, us := range spec.Users {
		c, u, err := applyUser(ctx, tx, companyID, companyCode, us, now)
		if err != nil {
			return 0, 0, errs.Wrap(errs.KindOf(err), err, "users[%d]", i)
		}
		created += c
		updated += u
	}
	return created, updated, nil
}

func setPrefix(ctx context.Context, tx *sql.Tx, companyID int64, prefix string, now time.Time) (bool, error) {
	var have string
	err := tx.QueryRowContext(ctx, `SELECT external_id_prefix FROM identity_company_settings WHERE company_id = $1`, companyID).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if prefix == "" {
			return false, nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO identity_company_settings (company_id, external_id_prefix, updated_at) VALUES ($1, $2, $3)`,
			companyID, prefix, now.UnixMilli())
		return true, store.Translate(err)
	case err != nil:
		return false, store.Translate(err)
	case have == prefix || prefix == "":
		// An omitted prefix leaves the stored one: apply only adds and updates.
		return false, nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE identity_company_settings SET external_id_prefix = $1, updated_at = $2 WHERE company_id = $3`,
		prefix, now.UnixMilli(), companyID)
	return true, store.Translate(err)
}

// ExternalIDPrefix returns the company's prefix, or "" when it has none.
func ExternalIDPrefix(ctx context.Context, q store.Queryer, companyID int64) (string, error) {
	var p string
	err := q.QueryRowContext(ctx, `SELECT external_id_prefix FROM identity_company_settings WHERE company_id = $1`, companyID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return p, store.Translate(err)
}

func applyUser(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, us tenant.UserSpec, now time.Time) (created, updated int, err error) {
	level := LevelNotVerified
	if us.IsVerified() {
		level = LevelVerificationCode
	}
	var creds []Credential
	if us.Email != "" {
		e, err := NormalizeEmail("email", us.Email)
		if err != nil {
			return 0, 0, err
		}
		creds = append(creds, Credential{Credential: e, Type: TypeEmail, VerificationLevel: level})
	}
	if us.Phone != "" {
		ph, err := NormalizePhone("phone", us.Phone)
		if err != nil {
			return 0, 0, err
		}
		creds = append(creds, Credential{Credential: ph, Type: TypePhone, VerificationLevel: level})
	}
	var u *User
	for _, c := range creds {
		found, err := FindByCredential(ctx, tx, c.Credential)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return 0, 0, err
		}
		if found != nil {
			if u != nil && u.ID != found.ID {
				return 0, 0, errs.E(errs.Conflict, "%s and %s belong to different users", creds[0].Credential, c.Credential)
			}
			u = found
		}
	}
	if u == nil {
		u, err = CreateUser(ctx, tx, NewUser{Credential: creds[0].Credential, Type: creds[0].Type, VerificationLevel: level,
			PasswordHash: HashPassword(us.Password), FirstName: us.FirstName, LastName: us.LastName,
			CompanyID: companyID, CompanyCode: companyCode, Actor: "operator"}, now)
		if err != nil {
			return 0, 0, err
		}
		created = 1
	}
	dirty := false
	for _, c := range creds {
		have, ok := u.Credential(c.Credential)
		switch {
		case !ok:
			if err := AddCredential(ctx, tx, u.ID, c.Credential, c.Type, c.VerificationLevel, now); err != nil {
				return 0, 0, err
			}
			dirty = true
		case have.VerificationLevel != c.VerificationLevel && (us.IsVerified() != have.Verified()):
			if err := SetVerification(ctx, tx, u.ID, c.Credential, c.VerificationLevel, now); err != nil {
				return 0, 0, err
			}
			dirty = true
		}
	}
	if created == 0 {
		if u.FirstName != us.FirstName || u.LastName != us.LastName {
			if err := SetName(ctx, tx, u.ID, us.FirstName, us.LastName, now); err != nil {
				return 0, 0, err
			}
			dirty = true
		}
		if !u.CheckPasswordOf(us.Password) {
			if err := SetPassword(ctx, tx, u.ID, HashPassword(us.Password), now); err != nil {
				return 0, 0, err
			}
			if err := audit.Record(ctx, tx, audit.Entry{CompanyID: companyID, Actor: "operator", Action: "user.password_set",
				Target: "user:" + u.UniqueID, At: now}); err != nil {
				return 0, 0, err
			}
			dirty = true
		}
	}
	had, err := CustomerNumber(ctx, tx, companyID, u.ID)
	if err != nil {
		return 0, 0, err
	}
	if had == 0 && us.IsCustomer() {
		email := ""
		if us.Email != "" {
			email = strings.ToLower(strings.TrimSpace(us.Email))
		}
		number, err := customer.EnsureForUser(ctx, tx, companyID, companyCode, u.ID,
			customer.UserDetails{FirstName: us.FirstName, LastName: us.LastName, Email: email, Phone: us.Phone}, now)
		if err != nil {
			return 0, 0, err
		}
		if err := UserEvent(ctx, tx, companyID, companyCode, "update", u.UniqueID, number, now); err != nil {
			return 0, 0, err
		}
		dirty = true
	}
	if dirty && created == 0 {
		updated = 1
	}
	return created, updated, nil
}
