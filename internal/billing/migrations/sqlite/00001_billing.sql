-- +goose Up
-- Payment providers a company has configured (tenant file: paymentProviders).
-- id is the paymentProviderId the API shows, unique on the server.
CREATE TABLE payment_providers (
    id              BIGINT PRIMARY KEY,
    company_id      BIGINT NOT NULL REFERENCES companies(id),
    provider        TEXT NOT NULL,              -- klarna, nexi, payex, vipps
    implementation  TEXT NOT NULL,              -- test (the built-in simulator) or live
    merchant_id     TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (company_id, provider)
);

-- Billing settings of a company (tenant file: billing); absent row = defaults.
CREATE TABLE billing_settings (
    company_id                BIGINT PRIMARY KEY REFERENCES companies(id),
    invoice_lead_days         INTEGER NOT NULL,
    payment_term_days         INTEGER NOT NULL,
    reminder_delay_days       INTEGER NOT NULL,
    reminder_interval_days    INTEGER NOT NULL,
    reminder_fee              BIGINT NOT NULL,
    max_reminders             INTEGER NOT NULL,
    collection_notice         BOOLEAN NOT NULL,
    renewal_invoice_is_offer  BOOLEAN NOT NULL,
    suspend_after_days        INTEGER NOT NULL,
    charge_retry_days         TEXT NOT NULL,    -- comma-separated day offsets, e.g. "1,3"
    kid_check                 TEXT NOT NULL,    -- mod10 or mod11
    kid_length                INTEGER NOT NULL,
    updated_at                BIGINT NOT NULL
);

-- Per-company invoice number sequence.
CREATE TABLE invoice_number_seq (
    company_id  BIGINT PRIMARY KEY REFERENCES companies(id),
    last_value  BIGINT NOT NULL
);

-- Invoices and credit notes. Never deleted: corrections are credit notes
-- (kind credit, credits_invoice_id set). Amounts are minor units incl. VAT.
CREATE TABLE invoices (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id            BIGINT NOT NULL REFERENCES companies(id),
    invoice_number        BIGINT NOT NULL,
    kind                  TEXT NOT NULL,            -- invoice, credit
    credits_invoice_id    BIGINT,
    customer_number       BIGINT NOT NULL,          -- the payer
    subscription_id       BIGINT,
    order_id              BIGINT,
    period_no             INTEGER NOT NULL DEFAULT 0, -- the subscription period it bills (invoiceOfferCount)
    product_code          TEXT NOT NULL,
    product_name          TEXT NOT NULL DEFAULT '',
    invoice_date          TEXT NOT NULL,            -- YYYY-MM-DD, company zone
    due_date              TEXT NOT NULL,
    from_date             TEXT NOT NULL DEFAULT '',
    incl_date             TEXT NOT NULL DEFAULT '',
    period                INTEGER NOT NULL DEFAULT 0,
    period_unit           TEXT NOT NULL DEFAULT '',
    currency              TEXT NOT NULL,
    amount                BIGINT NOT NULL,
    vat_amount            BIGINT NOT NULL,
    fee_amount            BIGINT NOT NULL DEFAULT 0,
    paid_amount           BIGINT NOT NULL DEFAULT 0,
    credited_amount       BIGINT NOT NULL DEFAULT 0,
    status                TEXT NOT NULL,            -- open, overdue, reminded, paid, credited, cancelled
    method_code           TEXT NOT NULL,            -- A invoice, K card, L Klarna, V Vipps ...
    product_method        TEXT NOT NULL,            -- invoicePayment, recurringPayExCardPayment ...
    means_id              BIGINT,
    payment_reference     TEXT NOT NULL,            -- KID with check digit
    view_token            TEXT NOT NULL,
    payment_date          TEXT,
    planned_payment_date  TEXT NOT NULL,
    charge_state          TEXT NOT NULL DEFAULT 'none', -- none, scheduled, charging, retry, reconcile, failed, done
    charge_attempts       INTEGER NOT NULL DEFAULT 0,
    next_charge_at        BIGINT,
    payer_name            TEXT NOT NULL DEFAULT '{}',
    payer_address         TEXT NOT NULL DEFAULT '{}',
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE UNIQUE INDEX invoices_number ON invoices (company_id, invoice_number);
CREATE UNIQUE INDEX invoices_view_token ON invoices (view_token);
-- One invoice per subscription period and per order: the renewal run's and
-- the fulfilment's guard against duplicates.
CREATE UNIQUE INDEX invoices_period ON invoices (subscription_id, period_no) WHERE kind = 'invoice' AND subscription_id IS NOT NULL;
CREATE UNIQUE INDEX invoices_order ON invoices (company_id, order_id) WHERE kind = 'invoice' AND order_id IS NOT NULL;
CREATE INDEX invoices_customer ON invoices (company_id, customer_number, invoice_date);
CREATE INDEX invoices_dunning ON invoices (status, due_date);
CREATE INDEX invoices_charge ON invoices (charge_state, next_charge_at);

CREATE TABLE invoice_lines (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id    BIGINT NOT NULL REFERENCES invoices(id),
    company_id    BIGINT NOT NULL REFERENCES companies(id),
    line_no       INTEGER NOT NULL,
    product_code  TEXT NOT NULL,
    description   TEXT NOT NULL,
    from_date     TEXT NOT NULL DEFAULT '',
    incl_date     TEXT NOT NULL DEFAULT '',
    amount        BIGINT NOT NULL,           -- incl. VAT; negative on credit notes
    vat_amount    BIGINT NOT NULL,
    vat_percent   BIGINT NOT NULL,           -- hundredths
    explanation   TEXT NOT NULL DEFAULT '',
    UNIQUE (invoice_id, line_no)
);

CREATE TABLE invoice_reminders (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id       BIGINT NOT NULL REFERENCES invoices(id),
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    reminder_number  INTEGER NOT NULL,
    reminder_type    TEXT NOT NULL,          -- reminder, collectionNotice
    reminder_date    BIGINT NOT NULL,        -- epoch ms (12:00 company zone)
    due_date         BIGINT NOT NULL,
    fee              BIGINT NOT NULL,
    amount           BIGINT NOT NULL,        -- the balance the reminder claims, fee included
    created_at       BIGINT NOT NULL,
    UNIQUE (invoice_id, reminder_number)
);

-- Payments booked on invoices, and charge attempts of stored means. The
-- idempotency key is derived from the invoice and attempt, so a retry of
-- the same attempt is the same charge at the gateway.
CREATE TABLE payments (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id        BIGINT NOT NULL REFERENCES companies(id),
    invoice_id        BIGINT NOT NULL REFERENCES invoices(id),
    idempotency_key   TEXT NOT NULL,
    source            TEXT NOT NULL,          -- charge (stored means), flow (hosted), manual
    amount            BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    method_code       TEXT NOT NULL,
    provider_id       BIGINT,
    provider_ref      TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,          -- pending, succeeded, declined, unknown
    attempt           INTEGER NOT NULL DEFAULT 1,
    payment_date      TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX payments_key ON payments (company_id, idempotency_key);
CREATE INDEX payments_invoice ON payments (invoice_id);

-- Stored payment means (Klarna tokens, Nexi subscriptions, PayEx tokens,
-- Vipps agreements). The reference is AES-GCM encrypted; reference_mac is a
-- keyed digest so a removal can find it without decrypting every row.
CREATE TABLE payment_means (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    customer_number  BIGINT NOT NULL,
    product_code     TEXT NOT NULL,
    kind             TEXT NOT NULL,          -- klarnaToken, nexiSubscription, payexToken, vippsAgreement
    provider_id      BIGINT NOT NULL REFERENCES payment_providers(id),
    reference_enc    TEXT NOT NULL,
    reference_mac    TEXT NOT NULL,
    merchant_id      TEXT NOT NULL DEFAULT '',
    masked_card      TEXT NOT NULL DEFAULT '',
    exp_month        TEXT NOT NULL DEFAULT '',
    exp_year         TEXT NOT NULL DEFAULT '',
    card_type        TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,          -- valid, replaced, removed, expired, revoked
    created_at       BIGINT NOT NULL,
    ended_at         BIGINT
);
CREATE UNIQUE INDEX payment_means_valid ON payment_means (company_id, customer_number, product_code) WHERE status = 'valid';
CREATE INDEX payment_means_mac ON payment_means (company_id, reference_mac);

-- Hosted payment flows (spec README §12.2): a start endpoint creates one,
-- the login-server page finishes it.
CREATE TABLE payment_transactions (
    id               BIGINT PRIMARY KEY,     -- random 8-9 digits: transactionId / paymentChangeId
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    client_id        TEXT NOT NULL,
    user_id          TEXT NOT NULL,          -- uniqueId of the user who started it
    customer_number  BIGINT NOT NULL,
    purpose          TEXT NOT NULL,          -- klarnaToken, nexiSubscription, payexToken, vippsAgreement, invoicePayment, paymentChange
    product_code     TEXT NOT NULL DEFAULT '',
    invoice_id       BIGINT,
    amount           BIGINT NOT NULL DEFAULT 0,
    currency         TEXT NOT NULL DEFAULT '',
    provider_id      BIGINT,
    method           TEXT NOT NULL DEFAULT '',
    ticket           TEXT NOT NULL DEFAULT '',
    return_url       TEXT NOT NULL DEFAULT '',   -- set by the login-server page
    error_url        TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,          -- created, initiated, finished, cancelled, failed, unknown
    means_id         BIGINT,
    expires_at       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE INDEX payment_transactions_customer ON payment_transactions (company_id, customer_number, purpose, product_code);

-- Subscriptions whose access billing suspended for an unpaid invoice.
CREATE TABLE billing_suspensions (
    subscription_id  BIGINT PRIMARY KEY,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    invoice_id       BIGINT NOT NULL REFERENCES invoices(id),
    suspended_at     BIGINT NOT NULL
);

-- The ledger of the built-in simulated payment gateway: what a real
-- provider would remember about charges, by idempotency key. It lives in our
-- database only because the simulator has no server of its own.
CREATE TABLE simulated_gateway_charges (
    idempotency_key  TEXT PRIMARY KEY,
    amount           BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    reference        TEXT NOT NULL,
    outcome          TEXT NOT NULL,          -- succeeded, declined
    calls            INTEGER NOT NULL,
    created_at       BIGINT NOT NULL
);

-- +goose Down
DROP TABLE simulated_gateway_charges;
DROP TABLE billing_suspensions;
DROP TABLE payment_transactions;
DROP TABLE payment_means;
DROP TABLE payments;
DROP TABLE invoice_reminders;
DROP TABLE invoice_lines;
DROP TABLE invoices;
DROP TABLE invoice_number_seq;
DROP TABLE billing_settings;
DROP TABLE payment_providers;
