-- +goose Up
-- Order callbacks (spec/order.md "Complete order by fulfillment API"): the
-- GET to an order's callbackUrl, recorded in the transaction that completes
-- or fails the order and delivered by the callback deliverer with the
-- webhook retry policy. status: pending, delivered, failed. A pending row is
-- leased to one node (claimed_until, claim_token) while it is being called.
CREATE TABLE order_callbacks (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    order_id         BIGINT NOT NULL REFERENCES orders(id),
    url              TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    claimed_until    BIGINT NOT NULL DEFAULT 0,
    claim_token      TEXT NOT NULL DEFAULT '',
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    last_attempt_at  BIGINT,
    delivered_at     BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
-- An order reaches one final outcome, so it has at most one callback.
CREATE UNIQUE INDEX order_callbacks_order ON order_callbacks (company_id, order_id);
CREATE INDEX order_callbacks_due ON order_callbacks (next_attempt_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE order_callbacks;
