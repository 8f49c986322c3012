-- +goose Up
-- Vacation credits (vacationStopPolicy credit, spec payment.md: "a credit
-- for days already paid is a negative line on the next invoice"). The stop
-- (package delivery) records its credit; billing copies it here when it
-- first issues an invoice of the subscription after the stop began, and
-- counts what the invoices have used of it, so a credit is used once and a
-- remainder larger than an invoice carries forward; each use is a row of
-- vacation_credit_uses.
CREATE TABLE vacation_credits (
    stop_id          BIGINT PRIMARY KEY,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    subscription_id  BIGINT NOT NULL,
    amount           BIGINT NOT NULL,              -- minor units, the stop's whole credit
    applied          BIGINT NOT NULL DEFAULT 0,    -- used so far by invoices
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX vacation_credits_subscription ON vacation_credits (subscription_id);

CREATE TABLE vacation_credit_uses (
    stop_id     BIGINT NOT NULL REFERENCES vacation_credits(stop_id),
    invoice_id  BIGINT NOT NULL REFERENCES invoices(id),
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    amount      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (stop_id, invoice_id)
);

-- +goose Down
DROP TABLE vacation_credit_uses;
DROP TABLE vacation_credits;
