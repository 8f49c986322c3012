-- +goose Up
-- Order registration reads the company row, coupons, products and payment
-- methods from a per-node cache (order.CatalogCache). Those change only when a
-- tenant file is applied; the apply bumps the company's version here in its
-- transaction, and every node polls this table and drops what changed.
CREATE TABLE order_catalog_versions (
    company_id  BIGINT PRIMARY KEY REFERENCES companies(id),
    version     BIGINT NOT NULL
);

-- +goose Down
DROP TABLE order_catalog_versions;
