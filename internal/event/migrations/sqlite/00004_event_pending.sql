-- +goose Up
-- The dispatcher's queue is a table of its own (see the PostgreSQL
-- migration): outbox rows are never written again once recorded.
CREATE TABLE event_pending (
    id         BIGINT PRIMARY KEY, -- event_outbox.id
    event_id   TEXT NOT NULL,
    company_id BIGINT NOT NULL,
    time       BIGINT NOT NULL
);
INSERT INTO event_pending (id, event_id, company_id, time)
    SELECT id, event_id, company_id, time FROM event_outbox WHERE delivery_state = 'pending';
DROP INDEX event_outbox_undispatched;
ALTER TABLE event_outbox DROP COLUMN delivery_state;
-- +goose StatementBegin
CREATE TRIGGER event_outbox_enqueue AFTER INSERT ON event_outbox
BEGIN
    INSERT INTO event_pending (id, event_id, company_id, time) VALUES (NEW.id, NEW.event_id, NEW.company_id, NEW.time);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER event_outbox_enqueue;
ALTER TABLE event_outbox ADD COLUMN delivery_state TEXT NOT NULL DEFAULT 'dispatched';
UPDATE event_outbox SET delivery_state = 'pending' WHERE id IN (SELECT id FROM event_pending);
CREATE INDEX event_outbox_undispatched ON event_outbox(id) WHERE delivery_state = 'pending';
DROP TABLE event_pending;
