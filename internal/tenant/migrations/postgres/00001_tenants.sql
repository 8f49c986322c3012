-- +goose Up
CREATE TABLE companies (
    id          BIGSERIAL PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    country     TEXT NOT NULL DEFAULT 'NO',
    currency    TEXT NOT NULL DEFAULT 'NOK',
    time_zone   TEXT NOT NULL DEFAULT 'Europe/Oslo',
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE clients (
    id                  BIGSERIAL PRIMARY KEY,
    company_id          BIGINT NOT NULL REFERENCES companies(id),
    client_id           TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    -- HMAC-SHA256 digest of the secret (hex); NULL for public clients.
    secret_digest       TEXT,
    public              BOOLEAN NOT NULL DEFAULT FALSE,
    grant_types         TEXT NOT NULL DEFAULT '[]',
    redirect_uris       TEXT NOT NULL DEFAULT '[]',
    return_hosts        TEXT NOT NULL DEFAULT '[]',
    logo_url            TEXT NOT NULL DEFAULT '',
    webhook_url         TEXT NOT NULL DEFAULT '',
    webhook_secret      TEXT NOT NULL DEFAULT '',
    access_token_ttl    BIGINT NOT NULL DEFAULT 43200,
    refresh_token_ttl   BIGINT NOT NULL DEFAULT 2592000,
    rate_per_second     INTEGER NOT NULL DEFAULT 100,
    rate_per_minute     INTEGER NOT NULL DEFAULT 2000,
    rate_unlimited      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX clients_company ON clients(company_id);

-- +goose Down
DROP TABLE clients;
DROP TABLE companies;
