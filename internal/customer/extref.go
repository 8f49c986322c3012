package customer

// External references (spec/customer.md "External Reference"): a customer's
// id in another system, one per referenceCode, unique per company and code.

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
)

// ExternalReference is one reference.
type ExternalReference struct {
	ReferenceCode string `json:"referenceCode"`
	ExternalID    string `json:"externalId"`
}

// ExternalReferenceList is {"externalReferences":[...]}.
type ExternalReferenceList struct {
	ExternalReferences []ExternalReference `json:"externalReferences"`
}

// ValidReferenceCode checks a referenceCode (1 to 12 characters).
func ValidReferenceCode(code string) error {
	if code == "" || len(code) > 12 {
		return errs.Field("referenceCode", "must be 1 to 12 characters")
	}
	return nil
}

// ValidExternalID checks an externalId (1 to 16 characters).
func ValidExternalID(id string) error {
	if id == "" || len(id) > 16 {
		return errs.Field("externalId", "must be 1 to 16 characters")
	}
	return nil
}

// ExternalReferences lists the customer's references by referenceCode.
func ExternalReferences(ctx context.Context, q store.Queryer, companyID, number int64) ([]ExternalReference, error) {
	id, err := IDOf(ctx, q, companyID, number)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT reference_code, external_id FROM customer_external_refs
		WHERE customer_id = $1 ORDER BY reference_code`, id)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	out := []ExternalReference{}
	for rows.Next() {
		var r ExternalReference
		if err := rows.Scan(&r.ReferenceCode, &r.ExternalID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddExternalReference registers a reference; false when the customer
// already has the code or another customer holds the same code and id.
func AddExternalReference(ctx context.Context, db *store.DB, companyID, number int64, ref ExternalReference, now time.Time) (bool, error) {
	added := false
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		id, err := IDOf(ctx, tx, companyID, number)
		if err != nil {
			return err
		}
		// DO NOTHING covers both unique constraints, so a duplicate is an
		// outcome, not an aborted transaction.
		res, err := tx.ExecContext(ctx, `INSERT INTO customer_external_refs (company_id, customer_id, reference_code,
			external_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING`,
			companyID, id, ref.ReferenceCode, ref.ExternalID, now.UnixMilli())
		if err != nil {
			return store.Translate(err)
		}
		n, _ := res.RowsAffected()
		added = n == 1
		return nil
	})
	return added, err
}

// ChangeExternalReference sets a new externalId on an existing reference;
// false when there is none or another customer holds the new id.
func ChangeExternalReference(ctx context.Context, db *store.DB, companyID, number int64, ref ExternalReference, now time.Time) (bool, error) {
	changed := false
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		id, err := IDOf(ctx, tx, companyID, number)
		if err != nil {
			return err
		}
		var holder int64
		err = tx.QueryRowContext(ctx, `SELECT customer_id FROM customer_external_refs
			WHERE company_id = $1 AND reference_code = $2 AND external_id = $3`, companyID, ref.ReferenceCode, ref.ExternalID).Scan(&holder)
		switch {
		case err == nil && holder != id:
			return nil // taken by another customer
		case err == nil:
			changed = true // already this value
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return store.Translate(err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE customer_external_refs SET external_id = $3, updated_at = $4
			WHERE customer_id = $1 AND reference_code = $2`, id, ref.ReferenceCode, ref.ExternalID, now.UnixMilli())
		if err != nil {
			return store.Translate(err)
		}
		n, _ := res.RowsAffected()
		changed = n == 1
		return nil
	})
	return changed, err
}

// RemoveExternalReference deletes the customer's reference with code; false
// when there was none.
func RemoveExternalReference(ctx context.Context, db *store.DB, companyID, number int64, code string) (bool, error) {
	removed := false
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		id, err := IDOf(ctx, tx, companyID, number)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM customer_external_refs WHERE customer_id = $1 AND reference_code = $2`, id, code)
		if err != nil {
			return store.Translate(err)
		}
		n, _ := res.RowsAffected()
		removed = n == 1
		return nil
	})
	return removed, err
}
