-- +goose Up
-- Product dependency discounts (tenant file productDependencies; spec
-- product.md "ProductDependency"): product_code is discounted for a customer
-- who holds or buys required_product. discount_value is hundredths of a
-- percent (percent) or minor units (amount).
CREATE TABLE product_dependencies (
    company_id        BIGINT NOT NULL REFERENCES companies(id),
    product_code      TEXT NOT NULL,
    required_product  TEXT NOT NULL,
    discount_type     TEXT NOT NULL,
    discount_value    BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (company_id, product_code, required_product)
);

-- +goose Down
DROP TABLE product_dependencies;
