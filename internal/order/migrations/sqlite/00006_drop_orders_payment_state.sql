-- +goose Up
-- No query selects orders by payment state (an invoice-paid order's invoice
-- is created when it completes); the index only cost every registration and
-- completion an entry.
DROP INDEX orders_payment_state;

-- +goose Down
CREATE INDEX orders_payment_state ON orders (company_id, payment_state);
