-- +goose Up
-- A user (internal/identity) has at most one customer per company, and a
-- customer at most one user (spec README §2). No foreign key: the identity
-- package owns users and migrates independently.
ALTER TABLE customers ADD COLUMN user_id BIGINT;
CREATE UNIQUE INDEX customers_company_user ON customers(company_id, user_id);

-- +goose Down
DROP INDEX customers_company_user;
ALTER TABLE customers DROP COLUMN user_id;
