package order

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/value"
)

// Item is an order in lists: the status item, plus details and lines in
// Search order details and List order product history.
type Item struct {
	OrderID         int64       `json:"orderId"`
	ExternalOrderID string      `json:"externalOrderId,omitempty"`
	OrderTime       int64       `json:"orderTime"`
	OrderStatus     string      `json:"orderStatus"`
	OrderAmount     value.Money `json:"orderAmount"`
	Currency        string      `json:"currency"`
	PaymentMethod   string      `json:"paymentMethod,omitempty"`
	Recurring       *bool       `json:"recurring,omitempty"`
	CustomerNumber  int64       `json:"customerNumber"`
	OrderLines      []LineItem  `json:"orderLines,omitempty"`
}

// LineItem is an order line in details.
type LineItem struct {
	ProductSpecType        string      `json:"productSpecType"`
	ProductSpecCode        string      `json:"productSpecCode,omitempty"`
	ProductSpecNo          *int64      `json:"productSpecNo,omitempty"`
	Product                string      `json:"product,omitempty"`
	ArticleRef             string      `json:"articleRef,omitempty"`
	Quantity               int         `json:"quantity"`
	UnitPrice              value.Money `json:"unitPrice"`
	ReceiverCustomerNumber int64       `json:"receiverCustomerNumber"`
	InvoiceStatus          string      `json:"invoiceStatus"`
	InvoiceTime            *int64      `json:"invoiceTime,omitempty"`
	DeliveryStatus         string      `json:"deliveryStatus"`
	Target                 string      `json:"target"`
}

// List is {"orders":[...]}.
type List struct {
	Orders []Item `json:"orders"`
}

// Filter selects orders; zero fields mean any.
type Filter struct {
	CompanyID      int64
	OrderID        int64
	ExternalID     string
	UserCustomer   int64 // user mode: orders paid by this customer …
	UserNumber     int64 // … or assigned to this user
	UserScope      bool
	CompletedOnly  bool
	Details        bool
	SingleProducts bool // only product, issue and article lines (product history)
}

// Find returns the matching orders, newest first.
func Find(ctx context.Context, q store.Queryer, f Filter) ([]Item, error) {
	var sb strings.Builder
	sb.WriteString(`SELECT ` + recordColumns + ` FROM orders WHERE company_id = $1`)
	args := []any{f.CompanyID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.UserScope {
		sb.WriteString(" AND (payer_customer_number = " + arg(f.UserCustomer) + " OR user_id = " + arg(f.UserNumber) + ")")
	}
	if f.OrderID != 0 {
		sb.WriteString(" AND id = " + arg(f.OrderID))
	}
	if f.ExternalID != "" {
		sb.WriteString(" AND external_order_id = " + arg(f.ExternalID))
	}
	if f.CompletedOnly {
		sb.WriteString(" AND status = " + arg(Completed))
	}
	if f.SingleProducts {
		sb.WriteString(` AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id AND l.product_spec_type IN ('product', 'issue', 'article'))`)
	}
	sb.WriteString(" ORDER BY order_time DESC, id DESC LIMIT 1000")
	rows, err := q.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, store.Translate(err)
	}
	var recs []*record
	for rows.Next() {
		o, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		recs = append(recs, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(recs))
	for _, o := range recs {
		it := Item{OrderID: o.ID, ExternalOrderID: o.ExternalOrderID, OrderTime: o.OrderTime, OrderStatus: o.Status,
			OrderAmount: o.Amount, Currency: o.Currency, CustomerNumber: o.Payer}
		if f.Details {
			rec := o.Recurring
			it.PaymentMethod, it.Recurring = o.PaymentMethod, &rec
			lines, err := linesOf(ctx, q, o.ID)
			if err != nil {
				return nil, err
			}
			it.OrderLines = []LineItem{}
			for _, l := range lines {
				if f.SingleProducts && l.SpecType == "coupon" {
					continue
				}
				inv := o.InvoiceStatus
				it.OrderLines = append(it.OrderLines, LineItem{ProductSpecType: l.SpecType, ProductSpecCode: l.SpecCode,
					ProductSpecNo: l.SpecNo, Product: l.Product, ArticleRef: l.ArticleRef, Quantity: l.Quantity,
					UnitPrice: l.UnitPrice, ReceiverCustomerNumber: l.Receiver, InvoiceStatus: inv, InvoiceTime: o.InvoiceTime,
					DeliveryStatus: l.DeliveryStatus, Target: "C"})
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// ArticlePurchased reports whether the customer has a completed order for
// the article (as payer or receiver).
func ArticlePurchased(ctx context.Context, q store.Queryer, companyID, customerNumber int64, product, ref string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM order_lines l JOIN orders o ON o.id = l.order_id
		WHERE l.company_id = $1 AND l.product = $2 AND l.article_ref = $3 AND l.product_spec_type = 'article'
		AND o.status = 'completed' AND (o.payer_customer_number = $4 OR l.receiver_customer_number = $4) LIMIT 1`,
		companyID, product, ref, customerNumber).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, store.Translate(err)
}
