-- +goose Up
CREATE TABLE customers (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    customer_number  BIGINT NOT NULL,
    first_name       TEXT NOT NULL DEFAULT '',
    last_name        TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    postal_code      TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (company_id, customer_number)
);

-- Customer numbers are handed out per company from this counter, in the
-- transaction that creates the customer.
CREATE TABLE customer_number_seq (
    company_id  BIGINT PRIMARY KEY REFERENCES companies(id),
    last_value  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE customer_number_seq;
DROP TABLE customers;
