package order

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
)

// writeOptions are what the single-statement registration adds to the write.
type writeOptions struct {
	checkPayer bool   // write nothing unless the payer is one of the company's customers
	claim      *claim // take this idempotency key in the same statement; write nothing if it is taken
}

// orderColumns are the orders columns a registration sets, in the order of
// orderValues.
const orderColumns = `company_id, client_id, mode, external_order_id, order_time, status, payment_method, recurring,
	prepaid, amount, currency, payer_customer_number, user_id, marketing_coupon_code, marketing_coupon_number, merchant_id,
	customer_reference, seller, sales_method, campaign_parameters, payment_transaction_id, payment_token, payment_info,
	request_hash, status_changed_at, created_at, updated_at`

func orderValues(c Caller, req *RegisterRequest, o *resolved, hash string, now time.Time) []any {
	orderTime := now
	if !req.OrderDate.IsZero() {
		orderTime = req.OrderDate.Time(o.co.loc)
	}
	info, _, _ := req.paymentInfo()
	infoJSON := "{}"
	var token, txID string
	if info != nil {
		token, txID = info.Ticket, info.TransactionID
		masked := *info
		masked.Ticket = "" // the ticket is a payment token: kept apart, never echoed
		b, _ := json.Marshal(masked)
		infoJSON = string(b)
	}
	var ext any
	if req.ExternalOrderID != "" {
		ext = req.ExternalOrderID
	}
	mode := "client"
	if c.UserMode {
		mode = "user"
	}
	ms := now.UnixMilli()
	return []any{c.CompanyID, c.ClientID, mode, ext, orderTime.UnixMilli(), Preliminary, req.PaymentMethod, req.Recurring,
		req.Prepaid, int64(o.total), o.co.Currency, o.payer, o.userNumber, req.MarketingCouponCode, req.MarketingCouponNumber,
		req.MerchantID, req.CustomerReference, req.Seller, req.SalesMethod, req.CampaignParameters, txID, token, infoJSON,
		hash, ms, ms, ms}
}

// lineColumns are the order_lines columns after order_id, in the order of
// lineValues.
const lineColumns = `company_id, line_no, product_spec_type, product_spec_code, product_spec_no, product, quantity,
	unit_price, amount, voucher_id, voucher_code, promotion_code, category_code, start_date, start_issue, reward_partner_id,
	reward_id, receiver_customer_number, recruiter_customer_number, article_ref, article_desc, article_category,
	allow_access_product, allow_access_seconds, allow_access_category_type`

func lineValues(companyID int64, l *line) []any {
	r := l.req
	var specNo, rewardPartner any
	if r.ProductSpecNo != nil {
		specNo = *r.ProductSpecNo
	}
	if r.RewardPartnerID != nil {
		rewardPartner = *r.RewardPartnerID
	}
	var a ArticleDetail
	if r.ArticleDetail != nil {
		a = *r.ArticleDetail
	}
	startIssue := ""
	if r.StartInfo != nil {
		startIssue = r.StartInfo.StartIssue
	}
	return []any{companyID, l.no, r.ProductSpecType, r.ProductSpecCode, specNo, l.product, *r.Quantity,
		int64(l.unitPrice), int64(l.amount), l.voucherID, r.VoucherCode, r.PromotionCode, r.CategoryCode, l.startDate,
		startIssue, rewardPartner, r.RewardID, l.receiver, l.recruiter, a.ArticleRef, a.ArticleDesc, a.ArticleCategory,
		r.AllowAccessProduct, r.AllowAccessSeconds, r.AllowAccessCategoryType}
}

// insertOrder writes the order, its lines and its "order" event and returns
// the order id, or 0 when opts made it write nothing. On PostgreSQL that is
// one statement; on SQLite (no round trips to save, no data-modifying WITH)
// one statement per table, inside the caller's transaction, which opts
// cannot be used without.
func insertOrder(ctx context.Context, q store.Queryer, dialect store.Dialect, c Caller, req *RegisterRequest, o *resolved,
	hash string, opts writeOptions, now time.Time) (int64, error) {
	if dialect == store.Postgres {
		return insertOrderPostgres(ctx, q, c, req, o, hash, opts, now)
	}
	if opts.checkPayer || opts.claim != nil {
		return 0, fmt.Errorf("order: single-statement registration needs PostgreSQL")
	}
	var id int64
	err := q.QueryRowContext(ctx, `INSERT INTO orders (`+orderColumns+`) VALUES (`+placeholders(1, 27)+`) RETURNING id`,
		orderValues(c, req, o, hash, now)...).Scan(&id)
	if err != nil {
		return 0, store.Translate(err)
	}
	var sb strings.Builder
	sb.WriteString(`INSERT INTO order_lines (order_id, ` + lineColumns + `) VALUES `)
	var args []any
	for i, l := range o.lines {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(" + placeholders(len(args)+1, 26) + ")")
		args = append(append(args, id), lineValues(c.CompanyID, l)...)
	}
	if _, err := q.ExecContext(ctx, sb.String(), args...); err != nil {
		return 0, store.Translate(err)
	}
	_, err = event.Record(ctx, q, event.Event{CompanyID: c.CompanyID, Source: c.CompanyCode, Type: event.TypeOrder,
		Status: Preliminary, Data: orderEventData(id, req.ExternalOrderID, o.payer, c.ClientID), Time: now})
	return id, err
}

// insertOrderPostgres is insertOrder as one statement of data-modifying WITH
// queries: [payer check], [order id, idempotency key], order, one insert per
// line, event. Each step selects from the previous one, so when the payer is
// unknown or the key is taken nothing at all is written.
func insertOrderPostgres(ctx context.Context, q store.Queryer, c Caller, req *RegisterRequest, o *resolved,
	hash string, opts writeOptions, now time.Time) (int64, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	list := func(vs []any) string {
		marks := make([]string, len(vs))
		for i, v := range vs {
			marks[i] = arg(v)
		}
		return strings.Join(marks, ", ")
	}
	company := arg(c.CompanyID)
	var with []string
	var guards []string // conditions the order insert needs
	if opts.checkPayer {
		with = append(with, `payer AS (SELECT 1 FROM customers WHERE company_id = `+company+` AND customer_number = `+arg(o.payer)+`)`)
		guards = append(guards, `EXISTS (SELECT 1 FROM payer)`)
	}
	idColumn, idValue, from := "", "", ""
	if opts.claim != nil {
		// The key row records the order id, so the id is drawn first.
		with = append(with, `new_order AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id)`)
		ms := arg(now.UnixMilli())
		with = append(with, `claim AS (INSERT INTO order_claims (client_id, claim_key, company_id, kind, request_hash, result_id,
			expires_at, created_at)
			SELECT `+list([]any{c.ClientID, opts.claim.key})+`, `+company+`, 'order', `+arg(hash)+`, new_order.id, `+
			arg(opts.claim.expiresAt)+`, `+ms+` FROM new_order`+where(guards)+`
			ON CONFLICT (client_id, claim_key) DO UPDATE SET request_hash = excluded.request_hash, result_id = excluded.result_id,
				expires_at = excluded.expires_at, created_at = excluded.created_at
			WHERE order_claims.expires_at IS NOT NULL AND order_claims.expires_at < excluded.created_at
			RETURNING 1)`)
		guards = append(guards, `EXISTS (SELECT 1 FROM claim)`)
		idColumn, idValue, from = "id, ", "new_order.id, ", " FROM new_order"
	}
	values := orderValues(c, req, o, hash, now)
	values[0] = nil // company_id: the shared parameter below
	orderSQL := `o AS (INSERT INTO orders (` + idColumn + orderColumns + `) SELECT ` + idValue + company + `, ` +
		list(values[1:]) + from + where(guards) + ` RETURNING id)`
	with = append(with, orderSQL)
	for i, l := range o.lines {
		v := lineValues(c.CompanyID, l)
		with = append(with, `line`+strconv.Itoa(i)+` AS (INSERT INTO order_lines (order_id, `+lineColumns+`) SELECT o.id, `+
			company+`, `+list(v[1:])+` FROM o)`)
	}
	// The outbox row event.Record would write; its data ends with the order
	// id, which only the order insert knows.
	prefix, err := orderEventDataPrefix(req.ExternalOrderID, o.payer, c.ClientID)
	if err != nil {
		return 0, err
	}
	wall := arg(time.Now().UnixMilli())
	with = append(with, `event AS (INSERT INTO event_outbox (event_id, company_id, type, source, status, data, time,
		next_attempt_at, created_at) SELECT `+arg(event.NewID())+`, `+company+`, `+list([]any{event.TypeOrder, c.CompanyCode, Preliminary})+`, `+
		arg(prefix)+`::text || o.id::text || '}', `+arg(now.UnixMilli())+`, `+wall+`, `+wall+` FROM o)`)
	var id int64
	err = q.QueryRowContext(ctx, `WITH `+strings.Join(with, ",\n")+`
		SELECT id FROM o`, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, store.Translate(err)
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func placeholders(first, n int) string {
	marks := make([]string, n)
	for i := range marks {
		marks[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(marks, ", ")
}

// orderEventData is the data of an "order" event.
func orderEventData(id int64, ext string, payer int64, clientID string) map[string]any {
	return map[string]any{"orderId": id, "externalOrderId": ext, "customerNumber": payer, "clientId": clientID}
}

// orderEventDataPrefix is the JSON of orderEventData up to the order id:
// json.Marshal sorts the keys and "orderId" comes last, so the data is the
// prefix, the id and "}" — byte for byte what event.Record stores.
func orderEventDataPrefix(ext string, payer int64, clientID string) (string, error) {
	b, err := json.Marshal(orderEventData(0, ext, payer, clientID))
	if err != nil {
		return "", err
	}
	s, ok := strings.CutSuffix(string(b), `"orderId":0}`)
	if !ok {
		return "", fmt.Errorf("order event data %s does not end with the order id", b)
	}
	return s + `"orderId":`, nil
}
