-- +goose Up
-- Delivery targets of a company's events: one row per webhook (a client with a
-- webhook URL, target 'webhook:<clientId>') and one for the NATS stream
-- (target 'nats'). A dispatcher leases a whole endpoint (claimed_until,
-- claim_token) so its events go out in order and one node at a time; version
-- is bumped whenever work is added, so a releasing worker never loses a wake-up.
CREATE TABLE event_endpoints (
    id             BIGSERIAL PRIMARY KEY,
    company_id     BIGINT NOT NULL REFERENCES companies(id),
    target         TEXT NOT NULL,
    next_due       BIGINT NOT NULL,
    version        BIGINT NOT NULL DEFAULT 0,
    claimed_until  BIGINT NOT NULL DEFAULT 0,
    claim_token    TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    UNIQUE (company_id, target)
);
CREATE INDEX event_endpoints_due ON event_endpoints(next_due);

-- One row per (event, endpoint). state: pending, delivered, failed.
CREATE TABLE event_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES event_outbox(event_id),
    company_id      BIGINT NOT NULL REFERENCES companies(id),
    endpoint_id     BIGINT NOT NULL REFERENCES event_endpoints(id),
    event_seq       BIGINT NOT NULL,
    event_time      BIGINT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    last_attempt_at BIGINT NOT NULL DEFAULT 0,
    delivered_at    BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX event_deliveries_pending ON event_deliveries(endpoint_id, event_time, event_seq) WHERE state = 'pending';
CREATE INDEX event_deliveries_company_state ON event_deliveries(company_id, state, event_time);

-- The delivery log: one row per finished attempt.
CREATE TABLE event_attempts (
    id           BIGSERIAL PRIMARY KEY,
    delivery_id  BIGINT NOT NULL REFERENCES event_deliveries(id),
    company_id   BIGINT NOT NULL REFERENCES companies(id),
    attempt      INTEGER NOT NULL,
    started_at   BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    node         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX event_attempts_delivery ON event_attempts(delivery_id, id);

-- Only not-yet-fanned-out rows are read by the dispatcher.
CREATE INDEX event_outbox_undispatched ON event_outbox(id) WHERE delivery_state = 'pending';

-- +goose Down
DROP INDEX event_outbox_undispatched;
DROP TABLE event_attempts;
DROP TABLE event_deliveries;
DROP TABLE event_endpoints;
