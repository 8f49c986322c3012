package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/tenant"
)

// ApplyOffers writes a company's catalog sections beside products (coupons,
// vouchers, article prices, rewards, category types and codes, payment
// methods) inside the tenant-apply transaction, after its products. Like
// ApplyProducts it only adds and updates, and writes nothing when a row
// already matches, so re-applying a file is a no-op. Counters that orders
// move (voucher uses, reward redemption) are never touched. Coupons record
// "coupon" events (new / update).
func ApplyOffers(ctx context.Context, tx *sql.Tx, companyID int64, companyCode string, c *tenant.Company, now time.Time) (created, updated int, err error) {
	company, err := tenant.GetCompany(ctx, tx, companyID)
	if err != nil {
		return 0, 0, fmt.Errorf("company %d: %w", companyID, err)
	}
	loc, err := company.Location()
	if err != nil {
		return 0, 0, fmt.Errorf("company %s time zone: %w", companyCode, err)
	}
	ms := now.UnixMilli()
	count := func(c, u bool) {
		if c {
			created++
		}
		if u {
			updated++
		}
	}
	productExists := func(field, code string) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM products WHERE company_id = $1 AND code = $2`, companyID, code).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Field(field, "unknown product %q", code)
		}
		return err
	}

	for i, s := range c.Coupons {
		p := fmt.Sprintf("coupons[%d]", i)
		if err := productExists(p+".product", s.Product); err != nil {
			return created, updated, err
		}
		cols, vals, err := couponRow(s, loc)
		if err != nil {
			return created, updated, errs.Field(p, "%v", err)
		}
		cr, up, err := upsert(ctx, tx, "coupons",
			[]string{"company_id", "coupon_code", "coupon_number"}, []any{companyID, s.CouponCode, int64(s.CouponNumber)},
			append(cols, "changed_at"), append(vals, ms), 1)
		if err != nil {
			return created, updated, fmt.Errorf("%s: %w", p, err)
		}
		count(cr, up)
		if cr || up {
			status := "update"
			if cr {
				status = "new"
			}
			if _, err := event.Record(ctx, tx, event.Event{CompanyID: companyID, Source: companyCode, Type: "coupon", Status: status,
				Data: map[string]any{"productCode": s.Product, "couponCode": s.CouponCode, "couponNumber": s.CouponNumber}, Time: now}); err != nil {
				return created, updated, err
			}
		}
	}

	for i, v := range c.Vouchers {
		p := fmt.Sprintf("vouchers[%d]", i)
		from, err := tenant.ProductTime(v.ValidFrom, loc, false)
		if err != nil {
			return created, updated, errs.Field(p+".validFrom", "%v", err)
		}
		var to sql.NullInt64
		if v.ValidTo != "" {
			t, err := tenant.ProductTime(v.ValidTo, loc, true)
			if err != nil {
				return created, updated, errs.Field(p+".validTo", "%v", err)
			}
			to = sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
		}
		uses := v.MaxUses
		if uses == 0 {
			uses = 1
		}
		key := strings.ToLower(v.Code)
		cr, up, err := upsert(ctx, tx, "vouchers", []string{"company_id", "code_key"}, []any{companyID, key},
			[]string{"code", "description", "valid_from", "valid_to", "max_uses", "changed_at"},
			[]any{v.Code, v.Description, from.UnixMilli(), to, int64(uses), ms}, 1)
		if err != nil {
			return created, updated, fmt.Errorf("%s: %w", p, err)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM vouchers WHERE company_id = $1 AND code_key = $2`, companyID, key).Scan(&id); err != nil {
			return created, updated, err
		}
		changed, err := syncVoucherCoupons(ctx, tx, companyID, id, v.Coupons, p)
		if err != nil {
			return created, updated, err
		}
		count(cr, up || (changed && !cr))
	}

	for i, a := range c.Articles {
		p := fmt.Sprintf("articles[%d]", i)
		if err := productExists(p+".product", a.Product); err != nil {
			return created, updated, err
		}
		price, err := a.Price.Scaled(tenant.MoneyPlaces, tenant.MaxMoney)
		if err != nil {
			return created, updated, errs.Field(p+".price", "%v", err)
		}
		cr, up, err := upsert(ctx, tx, "article_prices", []string{"company_id", "product_code", "article_category"},
			[]any{companyID, a.Product, a.ArticleCategory}, []string{"price", "changed_at"}, []any{price, ms}, 1)
		if err != nil {
			return created, updated, fmt.Errorf("%s: %w", p, err)
		}
		count(cr, up)
	}

	for i, r := range c.Rewards {
		p := fmt.Sprintf("rewards[%d]", i)
		if err := productExists(p+".product", r.Product); err != nil {
			return created, updated, err
		}
		cr, up, err := upsert(ctx, tx, "rewards", []string{"company_id", "partner_id", "reward_id"},
			[]any{companyID, int64(r.RewardPartnerID), r.RewardID},
			[]string{"product_code", "description", "changed_at"}, []any{r.Product, r.Description, ms}, 1)
		if err != nil {
			return created, updated, fmt.Errorf("%s: %w", p, err)
		}
		count(cr, up)
	}

	for i, t := range c.CategoryTypes {
		p := fmt.Sprintf("categoryTypes[%d]", i)
		cr, up, err := upsert(ctx, tx, "category_types", []string{"company_id", "category_type"}, []any{companyID, t.CategoryType},
			[]string{"description"}, []any{t.Description}, 0)
		if err != nil {
			return created, updated, fmt.Errorf("%s: %w", p, err)
		}
		count(cr, up)
		for j, k := range t.Codes {
			cr, up, err := upsert(ctx, tx, "category_codes", []string{"company_id", "category_type", "category_code"},
				[]any{companyID, t.CategoryType, k.CategoryCode}, []string{"description"}, []any{k.Description}, 0)
			if err != nil {
				return created, updated, fmt.Errorf("%s.codes[%d]: %w", p, j, err)
			}
			count(cr, up)
		}
	}

	for i, m := range c.PaymentMethods {
		cr, up, err := upsert(ctx, tx, "payment_methods", []string{"company_id", "method"}, []any{companyID, m.Method},
			[]string{"gateway"}, []any{m.Gateway}, 0)
		if err != nil {
			return created, updated, fmt.Errorf("paymentMethods[%d]: %w", i, err)
		}
		count(cr, up)
	}
	return created, updated, nil
}

// couponRow is a coupon spec as stored columns and values (without keys and changed_at).
func couponRow(s tenant.CouponSpec, loc *time.Location) ([]string, []any, error) {
	price, err := s.Price.Scaled(tenant.MoneyPlaces, tenant.MaxMoney)
	if err != nil {
		return nil, nil, fmt.Errorf("price: %w", err)
	}
	var renewal sql.NullInt64
	if s.RenewalPrice != nil {
		v, err := s.RenewalPrice.Scaled(tenant.MoneyPlaces, tenant.MaxMoney)
		if err != nil {
			return nil, nil, fmt.Errorf("renewalPrice: %w", err)
		}
		renewal = sql.NullInt64{Int64: v, Valid: true}
	}
	var dist int64
	if s.DistributionPrice != nil {
		if dist, err = s.DistributionPrice.Scaled(tenant.MoneyPlaces, tenant.MaxMoney); err != nil {
			return nil, nil, fmt.Errorf("distributionPrice: %w", err)
		}
	}
	start, err := tenant.ProductTime(s.StartTime, loc, false)
	if err != nil {
		return nil, nil, fmt.Errorf("startTime: %w", err)
	}
	var end sql.NullInt64
	if s.EndTime != "" {
		t, err := tenant.ProductTime(s.EndTime, loc, true)
		if err != nil {
			return nil, nil, fmt.Errorf("endTime: %w", err)
		}
		end = sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
	}
	vatInclude := s.VatInclude == nil || *s.VatInclude
	var renewLen sql.NullInt64
	renewType := ""
	if s.RenewalPeriodLength > 0 {
		renewLen = sql.NullInt64{Int64: int64(s.RenewalPeriodLength), Valid: true}
	}
	if s.RenewalPeriodType != "" {
		renewType = tenant.PeriodTypes[s.RenewalPeriodType]
	}
	maxStart := s.MaxStartDays
	if maxStart == 0 {
		maxStart = 365
	}
	copies := s.Copies
	if copies == 0 {
		copies = 1
	}
	var m tenant.CouponMarketing
	if s.Marketing != nil {
		m = *s.Marketing
	}
	cols := []string{"product_code", "description", "price", "vat_include", "period_length", "period_type",
		"renewal_price", "renewal_period_length", "renewal_period_type", "start_time", "end_time",
		"backdate_days", "max_start_days", "extra_products", "distribution_price", "copies",
		"marketing_project", "marketing_market", "marketing_activity", "marketing_sales_method"}
	vals := []any{s.Product, s.Description, price, vatInclude, int64(s.PeriodLength), tenant.PeriodTypes[s.PeriodType],
		renewal, renewLen, renewType, start.UnixMilli(), end,
		int64(s.BackdateDays), int64(maxStart), strings.Join(s.ExtraProducts, ","), dist, int64(copies),
		m.Project, m.Market, m.Activity, m.SalesMethod}
	return cols, vals, nil
}

// syncVoucherCoupons makes the voucher's coupon set equal refs; it reports
// whether anything changed. Every coupon must exist.
func syncVoucherCoupons(ctx context.Context, tx *sql.Tx, companyID, voucherID int64, refs []tenant.CouponRef, path string) (bool, error) {
	want := make([]string, 0, len(refs))
	for j, r := range refs {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM coupons WHERE company_id = $1 AND coupon_code = $2 AND coupon_number = $3`,
			companyID, r.CouponCode, int64(r.CouponNumber)).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, errs.Field(fmt.Sprintf("%s.coupons[%d]", path, j), "unknown coupon %s/%d", r.CouponCode, r.CouponNumber)
		}
		if err != nil {
			return false, err
		}
		want = append(want, r.CouponCode+"/"+strconv.Itoa(r.CouponNumber))
	}
	rows, err := tx.QueryContext(ctx, `SELECT coupon_code, coupon_number FROM voucher_coupons WHERE voucher_id = $1`, voucherID)
	if err != nil {
		return false, err
	}
	var have []string
	for rows.Next() {
		var code string
		var n int64
		if err := rows.Scan(&code, &n); err != nil {
			rows.Close()
			return false, err
		}
		have = append(have, code+"/"+strconv.FormatInt(n, 10))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	slices.Sort(want)
	want = slices.Compact(want)
	slices.Sort(have)
	if slices.Equal(want, have) {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM voucher_coupons WHERE voucher_id = $1`, voucherID); err != nil {
		return false, err
	}
	for _, r := range want {
		code, n, _ := strings.Cut(r, "/")
		num, _ := strconv.ParseInt(n, 10, 64)
		if _, err := tx.ExecContext(ctx, `INSERT INTO voucher_coupons (voucher_id, coupon_code, coupon_number) VALUES ($1, $2, $3)`,
			voucherID, code, num); err != nil {
			return false, err
		}
	}
	return true, nil
}

// upsert inserts a row keyed by keys, or updates it when one of cols
// differs. The last `volatile` columns (e.g. changed_at) are written but not
// compared. It reports whether it created or updated.
func upsert(ctx context.Context, tx *sql.Tx, table string, keys []string, keyVals []any, cols []string, vals []any, volatile int) (created, updated bool, err error) {
	where := make([]string, len(keys))
	args := slices.Clone(keyVals)
	for i, k := range keys {
		where[i] = k + " = $" + strconv.Itoa(i+1)
	}
	compared := cols[:len(cols)-volatile]
	have := make([]any, len(compared))
	ptrs := make([]any, len(compared))
	for i := range have {
		ptrs[i] = &have[i]
	}
	q := "SELECT " + strings.Join(compared, ", ") + " FROM " + table + " WHERE " + strings.Join(where, " AND ")
	if len(compared) == 0 {
		q = "SELECT 1 FROM " + table + " WHERE " + strings.Join(where, " AND ")
		var one int
		ptrs = []any{&one}
	}
	err = tx.QueryRowContext(ctx, q, args...).Scan(ptrs...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		all := append(slices.Clone(keys), cols...)
		marks := make([]string, len(all))
		for i := range marks {
			marks[i] = "$" + strconv.Itoa(i+1)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO "+table+" ("+strings.Join(all, ", ")+") VALUES ("+strings.Join(marks, ", ")+")",
			append(args, vals...)...)
		return err == nil, false, err
	case err != nil:
		return false, false, err
	}
	same := true
	for i := range compared {
		if normal(have[i]) != normal(vals[i]) {
			same = false
			break
		}
	}
	if same {
		return false, false, nil
	}
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = $" + strconv.Itoa(len(keys)+i+1)
	}
	_, err = tx.ExecContext(ctx, "UPDATE "+table+" SET "+strings.Join(set, ", ")+" WHERE "+strings.Join(where, " AND "),
		append(args, vals...)...)
	return false, err == nil, err
}

// normal renders a stored or wanted value in one form for comparison, across
// drivers (SQLite returns booleans as integers, PostgreSQL as bool).
func normal(v any) string {
	switch v := v.(type) {
	case nil:
		return "<nil>"
	case bool:
		if v {
			return "1"
		}
		return "0"
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case []byte:
		return string(v)
	case string:
		return v
	case sql.NullInt64:
		if !v.Valid {
			return "<nil>"
		}
		return strconv.FormatInt(v.Int64, 10)
	}
	return fmt.Sprint(v)
}
