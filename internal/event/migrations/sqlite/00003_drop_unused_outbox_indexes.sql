-- +goose Up
-- No query reads the outbox by (delivery_state, next_attempt_at) since
-- deliveries got their own table, nor by (company_id, time); every order,
-- customer change and renewal paid two index entries for them, on insert
-- and again when the dispatcher marks the row dispatched.
DROP INDEX event_outbox_pending;
DROP INDEX event_outbox_company_time;

-- +goose Down
CREATE INDEX event_outbox_pending ON event_outbox(delivery_state, next_attempt_at);
CREATE INDEX event_outbox_company_time ON event_outbox(company_id, time);
