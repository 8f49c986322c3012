-- +goose Up
-- Offers on products (spec/order.md "Coupon"): couponCode + couponNumber,
-- price of the first period, period, renewal, validity window and start rules.
-- Money in minor units.
CREATE TABLE coupons (
    id                     BIGSERIAL PRIMARY KEY,
    company_id             BIGINT NOT NULL REFERENCES companies(id),
    product_code           TEXT NOT NULL,
    coupon_code            TEXT NOT NULL,
    coupon_number          BIGINT NOT NULL,
    description            TEXT NOT NULL DEFAULT '',
    price                  BIGINT NOT NULL,
    vat_include            BOOLEAN NOT NULL DEFAULT TRUE,
    period_length          INTEGER NOT NULL,
    period_type            TEXT NOT NULL,
    renewal_price          BIGINT,
    renewal_period_length  INTEGER,
    renewal_period_type    TEXT NOT NULL DEFAULT '',
    start_time             BIGINT NOT NULL,
    end_time               BIGINT,
    -- start rules: how far back and ahead of today a subscription may start
    backdate_days          INTEGER NOT NULL DEFAULT 0,
    max_start_days         INTEGER NOT NULL DEFAULT 365,
    extra_products         TEXT NOT NULL DEFAULT '',
    distribution_price     BIGINT NOT NULL DEFAULT 0,
    copies                 INTEGER NOT NULL DEFAULT 1,
    marketing_project      TEXT NOT NULL DEFAULT '',
    marketing_market       TEXT NOT NULL DEFAULT '',
    marketing_activity     TEXT NOT NULL DEFAULT '',
    marketing_sales_method TEXT NOT NULL DEFAULT '',
    changed_at             BIGINT NOT NULL,
    UNIQUE (company_id, coupon_code, coupon_number)
);
CREATE INDEX coupons_product ON coupons (company_id, product_code);

-- Voucher codes: a code (matched case-insensitively through code_key) valid
-- for some coupons, within a window, a number of times. reserved counts open
-- orders holding a use; used counts completed ones.
CREATE TABLE vouchers (
    id           BIGSERIAL PRIMARY KEY,
    company_id   BIGINT NOT NULL REFERENCES companies(id),
    code         TEXT NOT NULL,
    code_key     TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    valid_from   BIGINT NOT NULL,
    valid_to     BIGINT,
    max_uses     INTEGER NOT NULL DEFAULT 1,
    reserved     INTEGER NOT NULL DEFAULT 0,
    used         INTEGER NOT NULL DEFAULT 0,
    changed_at   BIGINT NOT NULL,
    UNIQUE (company_id, code_key)
);

CREATE TABLE voucher_coupons (
    voucher_id     BIGINT NOT NULL REFERENCES vouchers(id),
    coupon_code    TEXT NOT NULL,
    coupon_number  BIGINT NOT NULL,
    PRIMARY KEY (voucher_id, coupon_code, coupon_number)
);

-- Article prices: an article product's price, optionally per articleCategory
-- ('' = the default price).
CREATE TABLE article_prices (
    id                BIGSERIAL PRIMARY KEY,
    company_id        BIGINT NOT NULL REFERENCES companies(id),
    product_code      TEXT NOT NULL,
    article_category  TEXT NOT NULL DEFAULT '',
    price             BIGINT NOT NULL,
    changed_at        BIGINT NOT NULL,
    UNIQUE (company_id, product_code, article_category)
);

-- Rewards granted through partners. reserved_order_id holds an open order's
-- claim; customer_number and redeemed are set when that order completes.
CREATE TABLE rewards (
    id                 BIGSERIAL PRIMARY KEY,
    company_id         BIGINT NOT NULL REFERENCES companies(id),
    partner_id         BIGINT NOT NULL,
    reward_id          TEXT NOT NULL,
    product_code       TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    customer_number    BIGINT,
    reserved_order_id  BIGINT,
    redeemed           BOOLEAN NOT NULL DEFAULT FALSE,
    changed_at         BIGINT NOT NULL,
    UNIQUE (company_id, partner_id, reward_id)
);

CREATE TABLE category_types (
    id             BIGSERIAL PRIMARY KEY,
    company_id     BIGINT NOT NULL REFERENCES companies(id),
    category_type  TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    UNIQUE (company_id, category_type)
);

CREATE TABLE category_codes (
    id             BIGSERIAL PRIMARY KEY,
    company_id     BIGINT NOT NULL REFERENCES companies(id),
    category_type  TEXT NOT NULL,
    category_code  TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    UNIQUE (company_id, category_type, category_code)
);
CREATE INDEX category_codes_code ON category_codes (company_id, category_code);

-- Payment methods a company accepts beyond free and invoice, and the gateway
-- that serves each (spec README §12.3).
CREATE TABLE payment_methods (
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    method      TEXT NOT NULL,
    gateway     TEXT NOT NULL,
    PRIMARY KEY (company_id, method)
);

-- +goose Down
DROP TABLE payment_methods;
DROP TABLE category_codes;
DROP TABLE category_types;
DROP TABLE rewards;
DROP TABLE article_prices;
DROP TABLE voucher_coupons;
DROP TABLE vouchers;
DROP TABLE coupons;
