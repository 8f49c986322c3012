-- +goose Up
-- Signing keys for access and ID tokens. The newest active key signs; retired
-- keys stay published in the JWKS until every token they signed has expired.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL,
    private_pem  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    retired_at   BIGINT
);

-- Access tokens are verified without the database; this list revokes them
-- before they expire (logout, erasure, RFC 7009). Rows go once expired.
CREATE TABLE token_revocations (
    id          BIGSERIAL PRIMARY KEY,
    jti         TEXT NOT NULL UNIQUE,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX token_revocations_expires ON token_revocations(expires_at);

-- Server-wide secrets generated on first start when the operator configured none.
CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE server_secrets;
DROP TABLE token_revocations;
DROP TABLE signing_keys;
