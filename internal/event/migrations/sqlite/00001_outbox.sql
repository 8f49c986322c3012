-- +goose Up
-- Transactional outbox: domain code records events in the transaction that
-- made the change; the dispatcher delivers them afterwards.
CREATE TABLE event_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL UNIQUE,
    company_id      BIGINT NOT NULL REFERENCES companies(id),
    type            TEXT NOT NULL,
    source          TEXT NOT NULL,
    status          TEXT NOT NULL,
    data            TEXT NOT NULL,
    time            BIGINT NOT NULL,
    delivery_state  TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
CREATE INDEX event_outbox_pending ON event_outbox(delivery_state, next_attempt_at);
CREATE INDEX event_outbox_company_time ON event_outbox(company_id, time);

-- +goose Down
DROP TABLE event_outbox;
