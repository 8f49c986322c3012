-- +goose Up
-- A subscription of a customer to a product. Times are epoch ms; start_time is
-- 00:00 local on the first day of the continuous paid run, end_time 23:59:59
-- local on the last day of the current (or last) period.
CREATE TABLE subscriptions (
    id                        BIGSERIAL PRIMARY KEY,
    company_id                BIGINT NOT NULL REFERENCES companies(id),
    customer_number           BIGINT NOT NULL,
    product_code              TEXT NOT NULL,
    coupon_code               TEXT NOT NULL DEFAULT '',
    coupon_number             BIGINT NOT NULL DEFAULT 0,
    copies                    INTEGER NOT NULL DEFAULT 1,
    status                    TEXT NOT NULL,               -- active, paused, stopped, ended
    start_time                BIGINT NOT NULL,
    end_time                  BIGINT NOT NULL,
    anchor_date               TEXT NOT NULL,               -- first day of period 0 (YYYY-MM-DD, company zone)
    periods                   INTEGER NOT NULL DEFAULT 1,  -- periods since anchor_date
    fixed_end                 BOOLEAN NOT NULL DEFAULT FALSE,
    period_length             INTEGER NOT NULL,
    period_type               TEXT NOT NULL,
    price                     BIGINT NOT NULL DEFAULT 0,   -- minor units per period
    currency                  TEXT NOT NULL,
    paid                      BOOLEAN NOT NULL DEFAULT FALSE,
    stop_time                 BIGINT,
    pause_from                BIGINT,
    pause_until               BIGINT,
    order_id                  BIGINT NOT NULL DEFAULT 0,
    distribution_level        TEXT NOT NULL DEFAULT '',
    product_delivery_plan_id  BIGINT,
    access_products           TEXT NOT NULL DEFAULT '',    -- comma-separated products granted besides product_code
    customer_reference        TEXT NOT NULL DEFAULT '',
    sales_person              TEXT NOT NULL DEFAULT '',
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);
-- At most one current-or-future subscription per customer and product.
CREATE UNIQUE INDEX subscriptions_current ON subscriptions(company_id, customer_number, product_code) WHERE status <> 'ended';
CREATE INDEX subscriptions_customer ON subscriptions(company_id, customer_number);
CREATE INDEX subscriptions_due ON subscriptions(status, end_time);

-- Temporary access from order lines (allowAccessProduct / allowAccessSeconds).
CREATE TABLE access_grants (
    id               BIGSERIAL PRIMARY KEY,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    customer_number  BIGINT NOT NULL,
    product_code     TEXT NOT NULL,
    valid_from       BIGINT NOT NULL,
    valid_until      BIGINT NOT NULL,   -- exclusive
    order_id         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);
CREATE INDEX access_grants_customer ON access_grants(company_id, customer_number);

-- The precomputed answer of the access check: one row per (company, customer,
-- product, level, source), rewritten in the transaction of every change to a
-- source. level A = own, B = shared. valid_until is exclusive; NULL = open.
CREATE TABLE entitlements (
    company_id       BIGINT NOT NULL,
    customer_number  BIGINT NOT NULL,
    product_code     TEXT NOT NULL,
    level            TEXT NOT NULL,
    source           TEXT NOT NULL,     -- s<subscription id>, g<grant id>, h<share id>
    valid_from       BIGINT NOT NULL,
    valid_until      BIGINT,
    PRIMARY KEY (company_id, customer_number, product_code, level, source)
);

-- +goose Down
DROP TABLE entitlements;
DROP TABLE access_grants;
DROP TABLE subscriptions;
