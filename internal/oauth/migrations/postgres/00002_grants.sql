-- +goose Up
-- fosite's per-request state: authorization codes, PKCE challenges, OpenID
-- Connect requests and refresh tokens, keyed by the HMAC signature of the
-- opaque token (the token itself is never stored). request_id is fosite's
-- grant id and groups one login's tokens into a family: a reused code or a
-- replayed refresh token revokes every row and access token of the family.
CREATE TABLE oauth_requests (
    kind          TEXT NOT NULL,           -- code, pkce, oidc, refresh
    signature     TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    company_id    BIGINT NOT NULL,
    user_id       BIGINT,                  -- identity users.id; NULL for client tokens
    session_id    TEXT NOT NULL DEFAULT '', -- the login session (logout revokes it)
    data          TEXT NOT NULL,           -- the serialised fosite request
    active        BOOLEAN NOT NULL DEFAULT FALSE,
    revoked       BOOLEAN NOT NULL DEFAULT FALSE,
    rotated_seq   BIGINT NOT NULL DEFAULT 0, -- refresh: order of rotation in the family (0: not rotated)
    rotated_at    BIGINT,
    expires_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (kind, signature)
);
CREATE INDEX oauth_requests_request ON oauth_requests(request_id);
CREATE INDEX oauth_requests_user ON oauth_requests(user_id);
CREATE INDEX oauth_requests_session ON oauth_requests(session_id);
CREATE INDEX oauth_requests_expires ON oauth_requests(expires_at);

-- User access tokens are stateless JWTs; this registry maps their ids to the
-- grant family, login session and user so that logout, reuse detection and
-- erasure can put them on the revocation list. client_credentials tokens are
-- not registered (they are issued at thousands per second and revoked by
-- expiry or, when needed, by their jti).
CREATE TABLE oauth_access_tokens (
    jti          TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    user_id      BIGINT,
    session_id   TEXT NOT NULL DEFAULT '',
    credential   TEXT NOT NULL DEFAULT '', -- the login credential behind the token (profile loginCredential)
    credential_type TEXT NOT NULL DEFAULT '',
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX oauth_access_tokens_request ON oauth_access_tokens(request_id);
CREATE INDEX oauth_access_tokens_user ON oauth_access_tokens(user_id);
CREATE INDEX oauth_access_tokens_session ON oauth_access_tokens(session_id);
CREATE INDEX oauth_access_tokens_expires ON oauth_access_tokens(expires_at);

-- Codes for the extid_code grant (spec README §3.2): single-use, 5 minutes,
-- redeemable only by the client that registered the external id.
CREATE TABLE oauth_extid_codes (
    code_hash    TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    company_id   BIGINT NOT NULL,
    user_id      BIGINT NOT NULL,
    subject      TEXT NOT NULL,            -- the user's uniqueId
    credential   TEXT NOT NULL,            -- the external credential (PREFIX:id)
    customer_number BIGINT NOT NULL DEFAULT 0, -- linked customer at issuance; 0 when none
    used_at      BIGINT,
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX oauth_extid_codes_expires ON oauth_extid_codes(expires_at);

-- +goose Down
DROP TABLE oauth_extid_codes;
DROP TABLE oauth_access_tokens;
DROP TABLE oauth_requests;
