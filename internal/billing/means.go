package billing

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// storedMeans is a payment_means row; sealed is the encrypted reference.
type storedMeans struct {
	ID, CompanyID, CustomerNumber int64
	ProductCode, Kind             string
	ProviderID                    int64
	sealed                        string
	MerchantID, Masked            string
	ExpMM, ExpYY, Brand, Status   string
	Created                       int64
}

// bindOf ties a sealed reference to its owner (AES-GCM additional data).
func bindOf(companyID, customer int64) string {
	return strconv.FormatInt(companyID, 10) + "/" + strconv.FormatInt(customer, 10)
}

const meansColumns = `id, company_id, customer_number, product_code, kind, provider_id, reference_enc, merchant_id,
	masked_card, exp_month, exp_year, card_type, status, created_at`

func scanMeans(r interface{ Scan(...any) error }) (*storedMeans, error) {
	var m storedMeans
	err := r.Scan(&m.ID, &m.CompanyID, &m.CustomerNumber, &m.ProductCode, &m.Kind, &m.ProviderID, &m.sealed, &m.MerchantID,
		&m.Masked, &m.ExpMM, &m.ExpYY, &m.Brand, &m.Status, &m.Created)
	return &m, err
}

// loadMeans returns the first means of the company matching cond ($2…).
func (e *Engine) loadMeans(ctx context.Context, q store.Queryer, companyID int64, cond string, args ...any) (*storedMeans, error) {
	m, err := scanMeans(q.QueryRowContext(ctx, `SELECT `+meansColumns+` FROM payment_means WHERE company_id = $1 AND `+cond+` ORDER BY id DESC LIMIT 1`,
		append([]any{companyID}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no valid payment means")
	}
	return m, store.Translate(err)
}

// expired reports whether a card's expiry month (MM/YY) has passed at now.
func (m *storedMeans) expired(now time.Time) bool {
	if m.ExpMM == "" || m.ExpYY == "" {
		return false
	}
	mm, err1 := strconv.Atoi(m.ExpMM)
	yy, err2 := strconv.Atoi(m.ExpYY)
	if err1 != nil || err2 != nil {
		return false
	}
	y, mo, _ := now.Date()
	return 2000+yy < y || (2000+yy == y && mm < int(mo))
}

// StoreMeans stores new valid means for the customer's product inside tx. The
// product's older valid means, from any provider, becomes replaced (one
// means per customer and product). It returns the new means id.
func (e *Engine) StoreMeans(ctx context.Context, tx *sql.Tx, companyID, customer int64, product string, providerID int64, r FlowResult) (int64, error) {
	if r.Means == nil {
		return 0, errs.E(errs.Internal, "flow finished without means")
	}
	if len(r.Means.Reference) == 0 || len(r.Means.Reference) > 128 {
		return 0, errs.Field("token", "must be 1 to 128 characters")
	}
	now := subscription.Now(ctx).UnixMilli()
	if _, err := tx.ExecContext(ctx, `UPDATE payment_means SET status = 'replaced', ended_at = $4
		WHERE company_id = $1 AND customer_number = $2 AND product_code = $3 AND status = 'valid'`, companyID, customer, product, now); err != nil {
		return 0, store.Translate(err)
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO payment_means (company_id, customer_number, product_code, kind, provider_id,
		reference_enc, reference_mac, merchant_id, masked_card, exp_month, exp_year, card_type, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'valid', $13) RETURNING id`,
		companyID, customer, product, r.Means.Kind, providerID, e.Sealer.Seal(r.Means.Reference, bindOf(companyID, customer)),
		e.Sealer.Digest(companyID, r.Means.Reference), r.Means.MerchantID, r.Masked, r.ExpMM, r.ExpYY, r.Brand, now).Scan(&id)
	return id, store.Translate(err)
}

// MeansView is one listed means with its reference decrypted.
type MeansView struct {
	Reference   string
	ProviderID  int64
	ProductCode string
	MerchantID  string
	Masked      string
	ExpMM       string
	ExpYY       string
	Brand       string
}

// ListMeans lists the customer's valid means of a kind, oldest first. Cards
// past their expiry month are marked expired and left out.
func (e *Engine) ListMeans(ctx context.Context, companyID, customer int64, kind string) ([]MeansView, error) {
	rows, err := e.DB.QueryContext(ctx, `SELECT `+meansColumns+` FROM payment_means
		WHERE company_id = $1 AND customer_number = $2 AND kind = $3 AND status = 'valid' ORDER BY id`, companyID, customer, kind)
	if err != nil {
		return nil, store.Translate(err)
	}
	var list []*storedMeans
	for rows.Next() {
		m, err := scanMeans(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, m)
	}
	rows.Close()
	now := subscription.Now(ctx)
	out := []MeansView{}
	for _, m := range list {
		if m.expired(now) {
			if _, err := e.DB.ExecContext(ctx, `UPDATE payment_means SET status = 'expired', ended_at = $2 WHERE id = $1 AND status = 'valid'`,
				m.ID, now.UnixMilli()); err != nil {
				return nil, store.Translate(err)
			}
			continue
		}
		ref, err := e.Sealer.Open(m.sealed, bindOf(companyID, customer))
		if err != nil {
			return nil, err
		}
		out = append(out, MeansView{Reference: ref, ProviderID: m.ProviderID, ProductCode: m.ProductCode, MerchantID: m.MerchantID,
			Masked: m.Masked, ExpMM: m.ExpMM, ExpYY: m.ExpYY, Brand: m.Brand})
	}
	return out, nil
}

// RemoveMeans ends the caller's valid means of kind with that reference and
// provider id. It reports false when none matches (unknown, already removed,
// or another customer's). Revocation at the provider follows the commit; a
// failure there is only logged (the means is removed on our side either way).
func (e *Engine) RemoveMeans(ctx context.Context, companyID, customer int64, kind string, providerID int64, ref string) (bool, error) {
	if ref == "" {
		return false, errs.Field(refField(kind), "is required")
	}
	if len(ref) > 128 {
		return false, errs.Field(refField(kind), "must be at most 128 characters")
	}
	if providerID <= 0 {
		return false, errs.Field("paymentProviderId", "is required")
	}
	var removed *storedMeans
	err := e.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, err := e.loadMeans(ctx, tx, companyID, `customer_number = $2 AND kind = $3 AND provider_id = $4 AND reference_mac = $5 AND status = 'valid'`,
			customer, kind, providerID, e.Sealer.Digest(companyID, ref))
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := execOne(ctx, tx, `UPDATE payment_means SET status = 'removed', ended_at = $2 WHERE id = $1 AND status = 'valid'`,
			m.ID, subscription.Now(ctx).UnixMilli()); err != nil {
			return err
		}
		removed = m
		return nil
	})
	if err != nil || removed == nil {
		return false, err
	}
	if p, err := providerByID(ctx, e.DB, companyID, removed.ProviderID); err == nil {
		if gw, err := e.Gateways(p); err == nil {
			if err := gw.Revoke(ctx, Means{Kind: kind, Reference: ref, ProviderID: p.ID, MerchantID: p.MerchantID}); err != nil {
				e.log().Warn("payment means revoke failed", "means", removed.ID, "ref", Redact(ref), "err", err)
			}
		}
	}
	return true, nil
}

// HoldsMeans reports whether the customer's valid means of kind for product
// has reference ref (the ticket a payment change names).
func (e *Engine) HoldsMeans(ctx context.Context, companyID, customer int64, product, kind, ref string) (bool, error) {
	if ref == "" || len(ref) > 128 {
		return false, nil
	}
	_, err := e.loadMeans(ctx, e.DB, companyID, `customer_number = $2 AND product_code = $3 AND kind = $4 AND reference_mac = $5 AND status = 'valid'`,
		customer, product, kind, e.Sealer.Digest(companyID, ref))
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	return err == nil, err
}

func refField(kind string) string {
	switch kind {
	case "klarnaToken":
		return "token"
	case "nexiSubscription":
		return "subscriptionId"
	case "payexToken":
		return "recurrenceToken"
	default:
		return "agreementRef"
	}
}

// CurrentMethod is the product payment method of the customer's product:
// the method of its valid means, else invoicePayment.
func CurrentMethod(ctx context.Context, q store.Queryer, companyID, customer int64, product string) (string, error) {
	var kind string
	err := q.QueryRowContext(ctx, `SELECT kind FROM payment_means WHERE company_id = $1 AND customer_number = $2 AND product_code = $3 AND status = 'valid'`,
		companyID, customer, product).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return MethodInvoice, nil
	}
	if err != nil {
		return "", store.Translate(err)
	}
	return meansKinds[kind].method, nil
}

// ValidMeansFor returns id and kind of the customer's valid means for the
// product (renewal runs charge it); ok is false when there is none.
func ValidMeansFor(ctx context.Context, q store.Queryer, companyID, customer int64, product string) (id int64, kind string, ok bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT id, kind FROM payment_means WHERE company_id = $1 AND customer_number = $2 AND product_code = $3 AND status = 'valid'`,
		companyID, customer, product).Scan(&id, &kind)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	return id, kind, err == nil, store.Translate(err)
}
