-- +goose Up
-- Change log of entitlements: every transaction that rewrites a customer's
-- entitlements adds a row, so each node can evict its cached copy (see
-- cache.go). customer_number 0 means every customer of the company.
CREATE TABLE entitlement_changes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id       BIGINT NOT NULL,
    customer_number  BIGINT NOT NULL,
    changed_at       BIGINT NOT NULL
);
CREATE INDEX entitlement_changes_changed ON entitlement_changes(changed_at);

-- +goose Down
DROP TABLE entitlement_changes;
