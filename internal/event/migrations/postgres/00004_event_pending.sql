-- +goose Up
-- The dispatcher's queue is a table of its own: an event waits in
-- event_pending until it is fanned out, and its outbox row is never written
-- again. Before, marking each row dispatched rewrote it (a new row version and
-- two index entries in the largest table, and its dead version to vacuum),
-- which cost as much as recording the event.
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

-- Every way of recording events (event.Record, the order statements) inserts
-- into event_outbox; the trigger queues what each statement inserted.
-- +goose StatementBegin
CREATE FUNCTION event_outbox_enqueue() RETURNS trigger AS $$
BEGIN
    INSERT INTO event_pending (id, event_id, company_id, time)
        SELECT id, event_id, company_id, time FROM new_events;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER event_outbox_enqueue AFTER INSERT ON event_outbox
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION event_outbox_enqueue();

-- +goose Down
DROP TRIGGER event_outbox_enqueue ON event_outbox;
DROP FUNCTION event_outbox_enqueue();
ALTER TABLE event_outbox ADD COLUMN delivery_state TEXT NOT NULL DEFAULT 'dispatched';
UPDATE event_outbox SET delivery_state = 'pending' WHERE id IN (SELECT id FROM event_pending);
CREATE INDEX event_outbox_undispatched ON event_outbox(id) WHERE delivery_state = 'pending';
DROP TABLE event_pending;
