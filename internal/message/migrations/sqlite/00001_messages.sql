-- +goose Up
-- Correspondence between a customer and the company's customer service
-- (diverse.md Message). IN rows are written by the API, OUT rows (replies) by
-- the back office. case_type is '' for a general inquiry, A or B.
CREATE TABLE customer_messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    customer_number  BIGINT NOT NULL,
    direction        TEXT NOT NULL CHECK (direction IN ('IN', 'OUT')),
    product_code     TEXT NOT NULL DEFAULT '',
    case_type        TEXT NOT NULL DEFAULT '',
    subject          TEXT NOT NULL DEFAULT '',
    content          TEXT NOT NULL,
    client_id        TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL
);
CREATE INDEX customer_messages_thread ON customer_messages (company_id, customer_number, created_at, id);

-- Service notices of a company (tenant file: statusMessages). notice_id is
-- the file's id (the API's); products and postal_codes are JSON lists of
-- targets. spec_digest is the applied spec, so an unchanged notice is not
-- written again.
CREATE TABLE status_messages (
    company_id    BIGINT NOT NULL REFERENCES companies(id),
    notice_id     BIGINT NOT NULL,
    title         TEXT NOT NULL,
    message       TEXT NOT NULL,
    severity      TEXT NOT NULL,
    start_time    BIGINT NOT NULL,
    end_time      BIGINT,
    products      TEXT NOT NULL DEFAULT '[]',
    postal_codes  TEXT NOT NULL DEFAULT '[]',
    spec_digest   TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (company_id, notice_id)
);
CREATE INDEX status_messages_window ON status_messages (company_id, start_time);

-- +goose Down
DROP TABLE status_messages;
DROP TABLE customer_messages;
