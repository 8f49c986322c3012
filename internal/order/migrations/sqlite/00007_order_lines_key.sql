-- +goose Up
-- An order line is known by its order and line number; nothing reads the
-- surrogate id (see the PostgreSQL migration). SQLite cannot drop a key
-- column, so the table is rebuilt; nothing references it.
CREATE TABLE order_lines_new (
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
    PRIMARY KEY (order_id, line_no)
);
INSERT INTO order_lines_new (order_id, company_id, line_no, product_spec_type, product_spec_code, product_spec_no, product, quantity, unit_price, amount, voucher_id, voucher_code, promotion_code, category_code, start_date, start_issue, reward_partner_id, reward_id, receiver_customer_number, recruiter_customer_number, article_ref, article_desc, article_category, allow_access_product, allow_access_seconds, allow_access_category_type, delivery_status, subscription_id)
    SELECT order_id, company_id, line_no, product_spec_type, product_spec_code, product_spec_no, product, quantity, unit_price, amount, voucher_id, voucher_code, promotion_code, category_code, start_date, start_issue, reward_partner_id, reward_id, receiver_customer_number, recruiter_customer_number, article_ref, article_desc, article_category, allow_access_product, allow_access_seconds, allow_access_category_type, delivery_status, subscription_id FROM order_lines;
DROP TABLE order_lines;
ALTER TABLE order_lines_new RENAME TO order_lines;
CREATE INDEX order_lines_article ON order_lines (company_id, product, article_ref) WHERE product_spec_type = 'article';

-- +goose Down
CREATE TABLE order_lines_old (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO order_lines_old (order_id, company_id, line_no, product_spec_type, product_spec_code, product_spec_no, product, quantity, unit_price, amount, voucher_id, voucher_code, promotion_code, category_code, start_date, start_issue, reward_partner_id, reward_id, receiver_customer_number, recruiter_customer_number, article_ref, article_desc, article_category, allow_access_product, allow_access_seconds, allow_access_category_type, delivery_status, subscription_id)
    SELECT order_id, company_id, line_no, product_spec_type, product_spec_code, product_spec_no, product, quantity, unit_price, amount, voucher_id, voucher_code, promotion_code, category_code, start_date, start_issue, reward_partner_id, reward_id, receiver_customer_number, recruiter_customer_number, article_ref, article_desc, article_category, allow_access_product, allow_access_seconds, allow_access_category_type, delivery_status, subscription_id FROM order_lines;
DROP TABLE order_lines;
ALTER TABLE order_lines_old RENAME TO order_lines;
CREATE INDEX order_lines_article ON order_lines (company_id, product, article_ref) WHERE product_spec_type = 'article';
