package customer

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
)

// UserDetails is what a new customer record copies from the user.
type UserDetails struct {
	FirstName, LastName, Email, Phone string
}

// EnsureForUser returns the customer number of the user's customer at the
// company, creating the customer (and its "customer new" event) inside tx on
// the user's first use of one of the company's clients.
func EnsureForUser(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, userID int64, d UserDetails, now time.Time) (int64, error) {
	var number int64
	err := tx.QueryRowContext(ctx, `SELECT customer_number FROM customers WHERE company_id = $1 AND user_id = $2`, companyID, userID).Scan(&number)
	if err == nil {
		return number, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, store.Translate(err)
	}
	number, err = ReserveNumbers(ctx, tx, companyID, 1)
	if err != nil {
		return 0, err
	}
	ms := now.UnixMilli()
	var emails, phones []string
	if d.Email != "" {
		emails = []string{d.Email}
	}
	if d.Phone != "" {
		phones = []string{d.Phone}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO customers
		(company_id, customer_number, user_id, first_name, last_name, email, phone, emails, phone_numbers,
		search_first, search_last, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
		companyID, number, userID, d.FirstName, d.LastName, strings.ToLower(d.Email), d.Phone, jsonList(emails), jsonList(phones),
		Fold(d.FirstName), Fold(d.LastName), ms); err != nil {
		return 0, store.Translate(err)
	}
	if _, err := event.Record(ctx, tx, event.Event{CompanyID: companyID, Source: companyCode, Type: "customer", Status: "new",
		Data: map[string]any{"customerNumber": number}, Time: now}); err != nil {
		return 0, err
	}
	return number, nil
}

// NumberFor returns the customer number of a user-mode caller: from the token
// when it was known at issuance, else by the user link. A user without a
// customer at the company gets NotFound "no customer linked to user" (spec
// README §8).
func NumberFor(ctx context.Context, q store.Queryer, p *auth.Principal) (int64, error) {
	if p == nil || p.Mode != auth.UserMode {
		return 0, errs.E(errs.Forbidden, "a user token is required")
	}
	if p.CustomerNumber != 0 {
		return p.CustomerNumber, nil
	}
	var number int64
	err := q.QueryRowContext(ctx, `SELECT customer_number FROM customers WHERE company_id = $1 AND user_id = $2`, p.CompanyID, p.UserNumber).Scan(&number)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errs.E(errs.NotFound, "no customer linked to user")
	}
	return number, store.Translate(err)
}
