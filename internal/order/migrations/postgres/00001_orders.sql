-- +goose Up
-- Orders (spec/order.md). Money in minor units. payment_state records how
-- the order is paid so billing can pick up invoice-paid orders
-- (none, invoice_due, invoiced, requested, paid, declined).
CREATE TABLE orders (
    id                       BIGSERIAL PRIMARY KEY,
    company_id               BIGINT NOT NULL REFERENCES companies(id),
    client_id                TEXT NOT NULL,
    mode                     TEXT NOT NULL,
    external_order_id        TEXT,
    order_time               BIGINT NOT NULL,
    status                   TEXT NOT NULL,
    payment_method           TEXT NOT NULL,
    recurring                BOOLEAN NOT NULL DEFAULT FALSE,
    prepaid                  BOOLEAN NOT NULL DEFAULT FALSE,
    amount                   BIGINT NOT NULL,
    currency                 TEXT NOT NULL,
    payer_customer_number    BIGINT NOT NULL,
    user_id                  BIGINT,
    marketing_coupon_code    TEXT NOT NULL DEFAULT '',
    marketing_coupon_number  BIGINT,
    merchant_id              TEXT NOT NULL DEFAULT '',
    customer_reference       TEXT NOT NULL DEFAULT '',
    seller                   TEXT NOT NULL DEFAULT '',
    sales_method             TEXT NOT NULL DEFAULT '',
    campaign_parameters      TEXT NOT NULL DEFAULT '',
    payment_transaction_id   TEXT NOT NULL DEFAULT '',
    payment_token            TEXT NOT NULL DEFAULT '',
    payment_info             TEXT NOT NULL DEFAULT '{}',
    payment_state            TEXT NOT NULL DEFAULT 'none',
    payment_reference        TEXT NOT NULL DEFAULT '',
    invoice_status           TEXT NOT NULL DEFAULT 'notInvoiced',
    invoice_time             BIGINT,
    callback_url             TEXT NOT NULL DEFAULT '',
    status_message           TEXT NOT NULL DEFAULT '',
    request_hash             TEXT NOT NULL,
    status_changed_at        BIGINT NOT NULL,
    completed_at             BIGINT,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL
);
-- externalOrderId is unique per client (NULLs, i.e. none given, never clash).
CREATE UNIQUE INDEX orders_external ON orders (company_id, client_id, external_order_id);
CREATE INDEX orders_payer ON orders (company_id, payer_customer_number);
CREATE INDEX orders_user ON orders (company_id, user_id);
CREATE INDEX orders_status ON orders (status, status_changed_at);
CREATE INDEX orders_payment_state ON orders (company_id, payment_state);

CREATE TABLE order_lines (
    id                          BIGSERIAL PRIMARY KEY,
    order_id                    BIGINT NOT NULL REFERENCES orders(id),
    company_id                  BIGINT NOT NULL REFERENCES companies(id),
    line_no                     INTEGER NOT NULL,
    product_spec_type           TEXT NOT NULL,
    product_spec_code           TEXT NOT NULL DEFAULT '',
    product_spec_no             BIGINT,
    product                     TEXT NOT NULL DEFAULT '',
    quantity                    INTEGER NOT NULL,
    unit_price                  BIGINT NOT NULL,
    amount                      BIGINT NOT NULL,
    voucher_id                  BIGINT,
    voucher_code                TEXT NOT NULL DEFAULT '',
    promotion_code              TEXT NOT NULL DEFAULT '',
    category_code               TEXT NOT NULL DEFAULT '',
    start_date                  TEXT NOT NULL,
    start_issue                 TEXT NOT NULL DEFAULT '',
    reward_partner_id           BIGINT,
    reward_id                   TEXT NOT NULL DEFAULT '',
    receiver_customer_number    BIGINT NOT NULL,
    recruiter_customer_number   BIGINT,
    article_ref                 TEXT NOT NULL DEFAULT '',
    article_desc                TEXT NOT NULL DEFAULT '',
    article_category            TEXT NOT NULL DEFAULT '',
    allow_access_product        TEXT NOT NULL DEFAULT '',
    allow_access_seconds        BIGINT NOT NULL DEFAULT 0,
    allow_access_category_type  TEXT NOT NULL DEFAULT '',
    delivery_status             TEXT NOT NULL DEFAULT 'waiting',
    subscription_id             BIGINT,
    UNIQUE (order_id, line_no)
);
CREATE INDEX order_lines_article ON order_lines (company_id, product, article_ref);

-- Idempotency: one row per Idempotency-Key (expires after 24 h) or
-- externalOrderId (never expires) of a client. The first request inserts
-- it in its transaction; concurrent ones wait on the key and then replay
-- the committed result.
CREATE TABLE order_claims (
    client_id     TEXT NOT NULL,
    claim_key     TEXT NOT NULL,
    company_id    BIGINT NOT NULL REFERENCES companies(id),
    kind          TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    result_id     BIGINT,
    expires_at    BIGINT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (client_id, claim_key)
);

-- +goose Down
DROP TABLE order_claims;
DROP TABLE order_lines;
DROP TABLE orders;
