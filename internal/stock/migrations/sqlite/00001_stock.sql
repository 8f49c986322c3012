-- +goose Up
-- Stock levels per company, product and location (diverse.md Stock), as the
-- publisher's warehouse system reports them. updated_at is the last change.
CREATE TABLE stock_levels (
    company_id    BIGINT NOT NULL REFERENCES companies(id),
    product_code  TEXT NOT NULL,
    location      TEXT NOT NULL,
    quantity      BIGINT NOT NULL CHECK (quantity >= 0),
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (company_id, product_code, location)
);
CREATE INDEX stock_levels_changed ON stock_levels (company_id, updated_at);

-- +goose Down
DROP TABLE stock_levels;
