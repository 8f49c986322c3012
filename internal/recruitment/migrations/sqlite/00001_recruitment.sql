-- +goose Up
-- Recruitment campaigns of a company (tenant file: recruitmentCampaigns).
-- spec_digest is the applied spec, so re-applying an unchanged file writes nothing.
CREATE TABLE recruitment_campaigns (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id              BIGINT NOT NULL REFERENCES companies(id),
    code                    TEXT NOT NULL,
    description             TEXT NOT NULL DEFAULT '',
    start_date              TEXT NOT NULL,           -- YYYY-MM-DD, company zone
    end_date                TEXT,                    -- inclusive; NULL: open-ended
    points_per_recruitment  BIGINT NOT NULL DEFAULT 0,
    quarantine_days         INTEGER NOT NULL DEFAULT 180,
    spec_digest             TEXT NOT NULL,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    UNIQUE (company_id, code)
);

-- The products of a campaign with the coupon the recruited person gets.
CREATE TABLE recruitment_offers (
    campaign_id    BIGINT NOT NULL REFERENCES recruitment_campaigns(id),
    product_code   TEXT NOT NULL,
    coupon_code    TEXT NOT NULL,
    coupon_number  BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, product_code)
);

CREATE TABLE recruitment_premiums (
    campaign_id   BIGINT NOT NULL REFERENCES recruitment_campaigns(id),
    premium_code  TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    points        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, premium_code)
);

-- One recruited person. status is registered or rejected as stored; a
-- registered recruitment reads as approved or cancelled from its order.
-- first_name/last_name are what the recruiter sees (also for rejected people
-- who got no customer record).
CREATE TABLE recruitments (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id                  BIGINT NOT NULL REFERENCES companies(id),
    campaign_id                 BIGINT NOT NULL REFERENCES recruitment_campaigns(id),
    product_code                TEXT NOT NULL,
    recruiter_customer_number   BIGINT NOT NULL,
    recruited_customer_number   BIGINT,
    first_name                  TEXT NOT NULL DEFAULT '',
    last_name                   TEXT NOT NULL DEFAULT '',
    status                      TEXT NOT NULL,
    reject_reason               TEXT NOT NULL DEFAULT '',
    points                      BIGINT NOT NULL DEFAULT 0,
    order_id                    BIGINT,
    created_at                  BIGINT NOT NULL
);
CREATE INDEX recruitments_recruiter ON recruitments (company_id, campaign_id, recruiter_customer_number, created_at);
CREATE INDEX recruitments_recruited ON recruitments (campaign_id, product_code, recruited_customer_number);

-- The e-mail addresses and mobile numbers of a recruited person (lower case),
-- for the duplicate check.
CREATE TABLE recruitment_contacts (
    recruitment_id  BIGINT NOT NULL REFERENCES recruitments(id),
    campaign_id     BIGINT NOT NULL,
    product_code    TEXT NOT NULL,
    contact         TEXT NOT NULL,
    PRIMARY KEY (recruitment_id, contact)
);
CREATE INDEX recruitment_contacts_lookup ON recruitment_contacts (campaign_id, product_code, contact);

-- A recruiter's premium preferences in a campaign, in priority order.
CREATE TABLE recruitment_preferences (
    campaign_id      BIGINT NOT NULL REFERENCES recruitment_campaigns(id),
    customer_number  BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    premium_code     TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, customer_number, position)
);

-- +goose Down
DROP TABLE recruitment_preferences;
DROP TABLE recruitment_contacts;
DROP TABLE recruitments;
DROP TABLE recruitment_premiums;
DROP TABLE recruitment_offers;
DROP TABLE recruitment_campaigns;
