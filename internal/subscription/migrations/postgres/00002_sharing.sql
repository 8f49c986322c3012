-- +goose Up
-- How a product may be shared (tenant file: shareRules).
CREATE TABLE share_rules (
    company_id    BIGINT NOT NULL REFERENCES companies(id),
    product_code  TEXT NOT NULL,
    share_type    TEXT NOT NULL,      -- USERS, NETS, B2B
    share_count   INTEGER NOT NULL,
    PRIMARY KEY (company_id, product_code)
);

-- USERS shares: an invitation by e-mail or phone, accepted by a user.
CREATE TABLE shares (
    id                  BIGSERIAL PRIMARY KEY,
    company_id          BIGINT NOT NULL REFERENCES companies(id),
    share_code          TEXT NOT NULL,
    subscription_id     BIGINT NOT NULL REFERENCES subscriptions(id),
    owner_customer      BIGINT NOT NULL,
    product_code        TEXT NOT NULL,
    contact             TEXT NOT NULL,
    contact_type        TEXT NOT NULL,  -- A_EMAIL, B_PHONENUMBER
    first_name          TEXT NOT NULL DEFAULT '',
    last_name           TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL,  -- PENDING, ACCEPTED, DECLINED, ENDED
    recipient_customer  BIGINT,
    recipient_user      BIGINT,
    created_at          BIGINT NOT NULL,
    accepted_at         BIGINT,
    ended_at            BIGINT,
    expires_at          BIGINT NOT NULL,
    UNIQUE (company_id, share_code)
);
CREATE INDEX shares_owner ON shares(company_id, owner_customer, product_code);
CREATE INDEX shares_subscription ON shares(subscription_id);
CREATE INDEX shares_recipient ON shares(company_id, recipient_customer);

-- NETS shares: e-mail domains and IP ranges (ip_from/ip_to: 32 hex digits of
-- the 16-byte address, so a range lookup is a text comparison on one index).
CREATE TABLE share_nets (
    id               BIGSERIAL PRIMARY KEY,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    subscription_id  BIGINT NOT NULL REFERENCES subscriptions(id),
    owner_customer   BIGINT NOT NULL,
    product_code     TEXT NOT NULL,
    net_type         TEXT NOT NULL,   -- domain, ip
    value            TEXT NOT NULL,
    ip_from          TEXT NOT NULL DEFAULT '',
    ip_to            TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    UNIQUE (company_id, net_type, value)
);
CREATE INDEX share_nets_ip ON share_nets(company_id, net_type, ip_from);
CREATE INDEX share_nets_owner ON share_nets(company_id, owner_customer, product_code);

-- +goose Down
DROP TABLE share_nets;
DROP TABLE shares;
DROP TABLE share_rules;
