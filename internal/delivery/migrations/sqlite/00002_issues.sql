-- +goose Up
-- Issue calendars (tenant file publications; spec product.md "Issue"): a
-- product's publication dates are the weekdays of plan_id that are not
-- noAccessOrDelivery, or the explicit issue_dates; no_issue_dates are left
-- out. Date lists are comma-separated YYYY-MM-DD.
CREATE TABLE publications (
    company_id              BIGINT NOT NULL REFERENCES companies(id),
    product_code            TEXT NOT NULL,
    plan_id                 BIGINT,
    issue_dates             TEXT NOT NULL DEFAULT '',
    no_issue_dates          TEXT NOT NULL DEFAULT '',
    distribution_lead_days  INTEGER NOT NULL DEFAULT 0,
    delivery_lead_days      INTEGER NOT NULL DEFAULT 0,
    updated_at              BIGINT NOT NULL,
    PRIMARY KEY (company_id, product_code)
);

-- Complaint options of a product (complaint-list complaintActions).
CREATE TABLE complaint_actions (
    company_id         BIGINT NOT NULL REFERENCES companies(id),
    product_code       TEXT NOT NULL,
    action             TEXT NOT NULL,
    description        TEXT NOT NULL,
    post_distribution  BOOLEAN NOT NULL DEFAULT 0,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (company_id, product_code, action)
);

-- A customer's complaint about one issue (complaint-register). status:
-- registered, handled (customer service).
CREATE TABLE complaints (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id         BIGINT NOT NULL REFERENCES companies(id),
    customer_number    BIGINT NOT NULL,
    subscription_id    BIGINT NOT NULL REFERENCES subscriptions(id),
    product_code       TEXT NOT NULL,
    issue              TEXT NOT NULL,
    distributed_date   BIGINT NOT NULL,
    action             TEXT NOT NULL,
    post_distribution  BOOLEAN NOT NULL DEFAULT 0,
    status             TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    UNIQUE (company_id, customer_number, product_code, issue, action)
);
CREATE INDEX complaints_customer ON complaints(company_id, customer_number, product_code, created_at);

-- One copy of an issue queued for the delivery address current when the
-- complaint was registered (address: JSON snapshot). status: queued, sent.
CREATE TABLE post_distributions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    complaint_id     BIGINT NOT NULL REFERENCES complaints(id),
    customer_number  BIGINT NOT NULL,
    product_code     TEXT NOT NULL,
    issue            TEXT NOT NULL,
    copies           INTEGER NOT NULL DEFAULT 1,
    address          TEXT NOT NULL,
    status           TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX post_distributions_status ON post_distributions(company_id, status);

-- +goose Down
DROP TABLE post_distributions;
DROP TABLE complaints;
DROP TABLE complaint_actions;
DROP TABLE publications;
