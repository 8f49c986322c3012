-- +goose Up
-- Hosted flows with purpose orderPayment (the fulfillment page paying a card
-- or wallet order at the provider) are bound to their order, and keep the
-- provider's reference of the payment they finished with.
ALTER TABLE payment_transactions ADD COLUMN order_id BIGINT;
ALTER TABLE payment_transactions ADD COLUMN provider_ref TEXT NOT NULL DEFAULT '';
CREATE INDEX payment_transactions_order ON payment_transactions (company_id, order_id) WHERE order_id IS NOT NULL;

-- +goose Down
DROP INDEX payment_transactions_order;
ALTER TABLE payment_transactions DROP COLUMN provider_ref;
ALTER TABLE payment_transactions DROP COLUMN order_id;
