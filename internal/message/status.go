package message

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
	"github.com/connect-oss/connect/internal/tenant"
)

// StatusMessage is one service notice as customers see it. Postal-code
// targets are never shown.
type StatusMessage struct {
	ID        int64    `json:"id"`
	Title     string   `json:"title"`
	Message   string   `json:"message"`
	Severity  string   `json:"severity"`
	Products  []string `json:"products,omitempty"`
	StartTime int64    `json:"startTime"`
	EndTime   *int64   `json:"endTime,omitempty"`
}

// StatusList is the response of status-message-list.
type StatusList struct {
	StatusMessages []StatusMessage `json:"statusMessages"`
}

// notice is a stored notice with its targets.
type notice struct {
	StatusMessage
	postalCodes []string
}

// activeNotices returns the company's notices active at now: started, and
// not ended (endTime is exclusive).
func activeNotices(ctx context.Context, q store.Queryer, companyID int64, now time.Time) ([]notice, error) {
	ms := now.UnixMilli()
	rows, err := q.QueryContext(ctx, `SELECT notice_id, title, message, severity, start_time, end_time, products, postal_codes
		FROM status_messages WHERE company_id = $1 AND start_time <= $2 AND (end_time IS NULL OR end_time > $2)`, companyID, ms)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var out []notice
	for rows.Next() {
		var n notice
		var end sql.NullInt64
		var products, postal string
		if err := rows.Scan(&n.ID, &n.Title, &n.Message, &n.Severity, &n.StartTime, &end, &products, &postal); err != nil {
			return nil, store.Translate(err)
		}
		if end.Valid {
			n.EndTime = &end.Int64
		}
		if err := json.Unmarshal([]byte(products), &n.Products); err != nil {
			return nil, fmt.Errorf("status message %d products: %w", n.ID, err)
		}
		if err := json.Unmarshal([]byte(postal), &n.postalCodes); err != nil {
			return nil, fmt.Errorf("status message %d postal codes: %w", n.ID, err)
		}
		out = append(out, n)
	}
	return out, store.Translate(rows.Err())
}

// audience is what targeting needs to know of a customer; a user without a
// customer is the zero audience and sees untargeted notices only.
type audience struct {
	companyID      int64
	customerNumber int64
	postalCode     string
	now            int64
	subscribed     map[string]bool // product → has an active subscription (memo)
}

func (a *audience) hasActive(ctx context.Context, q store.Queryer, product string) (bool, error) {
	if v, ok := a.subscribed[product]; ok {
		return v, nil
	}
	s, err := subscription.Current(ctx, q, a.companyID, a.customerNumber, product)
	active := false
	switch {
	case errs.Is(err, errs.NotFound):
	case err != nil:
		return false, err
	default:
		// A future subscription is not active yet; a stopped or fixed-term
		// one only through its last paid second (endTime + 1 s).
		active = s.StartTime <= a.now
		if s.Status == subscription.StatusStopped || s.FixedEnd {
			active = active && a.now < s.EndTime+1000
		}
	}
	a.subscribed[product] = active
	return active, nil
}

// matches applies a notice's targets: every kind of target given must be met.
func (a *audience) matches(ctx context.Context, q store.Queryer, n notice) (bool, error) {
	if len(n.Products) == 0 && len(n.postalCodes) == 0 {
		return true, nil
	}
	if a.customerNumber == 0 {
		return false, nil
	}
	if len(n.postalCodes) > 0 && (a.postalCode == "" || !slices.Contains(n.postalCodes, a.postalCode)) {
		return false, nil
	}
	if len(n.Products) == 0 {
		return true, nil
	}
	for _, p := range n.Products {
		ok, err := a.hasActive(ctx, q, p)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

var severityRank = map[string]int{"critical": 0, "warning": 1, "info": 2}

// statusFor selects and orders the notices a customer (0: none) sees at now.
func statusFor(ctx context.Context, q store.Queryer, companyID, customerNumber int64, now time.Time) (StatusList, error) {
	all, err := activeNotices(ctx, q, companyID, now)
	if err != nil {
		return StatusList{}, err
	}
	a := &audience{companyID: companyID, customerNumber: customerNumber, now: now.UnixMilli(), subscribed: map[string]bool{}}
	if customerNumber != 0 {
		c, err := customer.Get(ctx, q, companyID, customerNumber)
		switch {
		case errs.Is(err, errs.NotFound):
			a.customerNumber = 0
		case err != nil:
			return StatusList{}, err
		default:
			a.postalCode = c.PostalCode
		}
	}
	out := []StatusMessage{}
	for _, n := range all {
		ok, err := a.matches(ctx, q, n)
		if err != nil {
			return StatusList{}, err
		}
		if ok {
			out = append(out, n.StatusMessage)
		}
	}
	slices.SortFunc(out, func(x, y StatusMessage) int {
		if d := severityRank[x.Severity] - severityRank[y.Severity]; d != 0 {
			return d
		}
		if d := cmp.Compare(y.StartTime, x.StartTime); d != 0 {
			return d // newest first
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return StatusList{StatusMessages: out}, nil
}

// ApplyStatusMessages writes a company's notices from the tenant file
// (tenant.StatusMessagesApplier). Product targets must be the company's
// products; postal codes are padded as customers' are (country). Notices not
// in the file are left alone (end one with endTime); an unchanged notice is
// not written.
func ApplyStatusMessages(ctx context.Context, tx *sql.Tx, companyID int64, country string, specs []tenant.StatusMessageSpec, now time.Time) (int, error) {
	loc := time.UTC
	if co, err := tenant.GetCompany(ctx, tx, companyID); err == nil {
		if l, err := co.Location(); err == nil {
			loc = l
		}
	}
	changed := 0
	for i, s := range specs {
		p := fmt.Sprintf("statusMessages[%d]", i)
		products := []string{}
		for j, code := range s.Products {
			ok, err := catalog.ProductExists(ctx, tx, companyID, code)
			if err != nil {
				return 0, err
			}
			if !ok {
				return 0, errs.Field(fmt.Sprintf("%s.products[%d]", p, j), "unknown product %s", code)
			}
			if !slices.Contains(products, code) {
				products = append(products, code)
			}
		}
		postal := []string{}
		for _, code := range s.PostalCodes {
			if c := customer.PadPostalCode(code, country); !slices.Contains(postal, c) {
				postal = append(postal, c)
			}
		}
		start, err := tenant.ProductTime(s.StartTime, loc, false)
		if err != nil {
			return 0, errs.Field(p+".startTime", "%v", err)
		}
		var end any
		if s.EndTime != "" {
			e, err := tenant.ProductTime(s.EndTime, loc, true)
			if err != nil {
				return 0, errs.Field(p+".endTime", "%v", err)
			}
			end = e.UnixMilli()
		}
		productsJSON, _ := json.Marshal(products)
		postalJSON, _ := json.Marshal(postal)
		b, _ := json.Marshal([]any{s.Title, s.Message, s.Severity, start.UnixMilli(), end, products, postal})
		sum := sha256.Sum256(b)
		digest := hex.EncodeToString(sum[:])
		var have string
		err = tx.QueryRowContext(ctx, `SELECT spec_digest FROM status_messages WHERE company_id = $1 AND notice_id = $2`,
			companyID, s.ID).Scan(&have)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO status_messages (company_id, notice_id, title, message, severity, start_time,
				end_time, products, postal_codes, spec_digest, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				companyID, s.ID, s.Title, s.Message, s.Severity, start.UnixMilli(), end, string(productsJSON), string(postalJSON),
				digest, now.UnixMilli())
		case err != nil:
		case have == digest:
			continue
		default:
			_, err = tx.ExecContext(ctx, `UPDATE status_messages SET title = $3, message = $4, severity = $5, start_time = $6,
				end_time = $7, products = $8, postal_codes = $9, spec_digest = $10, updated_at = $11
				WHERE company_id = $1 AND notice_id = $2`,
				companyID, s.ID, s.Title, s.Message, s.Severity, start.UnixMilli(), end, string(productsJSON), string(postalJSON),
				digest, now.UnixMilli())
		}
		if err != nil {
			return 0, store.Translate(err)
		}
		changed++
	}
	return changed, nil
}
