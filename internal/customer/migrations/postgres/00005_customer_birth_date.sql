-- +goose Up
-- Search accepts a birth date on its own; without an index that read every
-- customer of the company (0.5 s at a million).
CREATE INDEX customers_birth_date ON customers (company_id, birth_date);

-- +goose Down
DROP INDEX customers_birth_date;
