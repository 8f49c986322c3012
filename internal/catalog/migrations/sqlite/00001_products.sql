-- +goose Up
CREATE TABLE products (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id          BIGINT NOT NULL REFERENCES companies(id),
    code                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    product_type        TEXT NOT NULL DEFAULT 'subscription',
    start_time          BIGINT NOT NULL,
    end_time            BIGINT,
    currency            TEXT NOT NULL DEFAULT 'NOK',
    -- money in minor units (øre/öre); VAT percent in hundredths (2500 = 25 %)
    retail_price        BIGINT,
    web_offer_price     BIGINT,
    vat_percent         INTEGER,
    weight_grams        INTEGER,
    campaigns           TEXT NOT NULL DEFAULT '',
    digital             BOOLEAN NOT NULL DEFAULT 0,
    shop                BOOLEAN NOT NULL DEFAULT 0,
    changed_at          BIGINT NOT NULL,
    UNIQUE (company_id, code)
);
CREATE INDEX products_company_changed ON products(company_id, changed_at);

-- +goose Down
DROP TABLE products;
