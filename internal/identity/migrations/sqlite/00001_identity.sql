-- +goose Up
-- ConnectID accounts. A user is global (one account works at every
-- publisher); customers.user_id links it to a customer per company.
CREATE TABLE users (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,    -- the legacy numeric userId: stable, never reused
    unique_id            TEXT NOT NULL UNIQUE,        -- 32 lower-case hex
    password_hash        TEXT,                        -- argon2id (PHC string); NULL: no password set
    first_name           TEXT NOT NULL DEFAULT '',
    last_name            TEXT NOT NULL DEFAULT '',
    blocked              BOOLEAN NOT NULL DEFAULT 0,
    created_company_id   BIGINT,                      -- the company whose client created it (events)
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    password_changed_at  BIGINT
);

-- Login credentials: e-mail (A, trimmed and lower-cased), mobile number (B,
-- E.164) and external identities (D, PREFIX:id). A credential belongs to one user.
CREATE TABLE user_credentials (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id             BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential          TEXT NOT NULL UNIQUE,
    credential_type     TEXT NOT NULL,
    verification_level  TEXT NOT NULL DEFAULT 'notVerified',
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX user_credentials_user ON user_credentials(user_id);

-- What an external identity provider sent at the user's last login through
-- it (List external user profiles), one row per source.
CREATE TABLE user_external_profiles (
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    info        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, source)
);

-- One-time codes (registration, password reset, login by code). Only a keyed
-- hash is stored; attempts are counted so a code cannot be guessed.
CREATE TABLE verification_codes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose      TEXT NOT NULL,
    credential   TEXT NOT NULL,
    user_id      BIGINT,
    code_hash    TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX verification_codes_credential ON verification_codes(credential, purpose);

-- Messages handed to the default Sender: kept so that the demo mailbox page
-- (and operators without SMTP/SMS) can read them.
CREATE TABLE outbound_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel     TEXT NOT NULL,          -- email or sms
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX outbound_messages_recipient ON outbound_messages(recipient);

-- Browser sessions of the login host. id_hash is SHA-256 of the cookie value.
CREATE TABLE login_sessions (
    id_hash        TEXT PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential     TEXT NOT NULL,
    auth_time      BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,   -- idle expiry, moved on each use
    ended_at       BIGINT,
    remote_ip      TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL
);
CREATE INDEX login_sessions_user ON login_sessions(user_id);

-- "Remember me": per client, logs the user in again on later visits.
CREATE TABLE remember_tokens (
    token_hash   TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL,
    credential   TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX remember_tokens_user ON remember_tokens(user_id);

-- Failed login and code attempts per key (credential digest or IP) in fixed
-- windows; shared by every node through the database.
CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    failures      INTEGER NOT NULL
);

-- Per-company ConnectID settings from the tenant file: the external-identity
-- prefix names the company's identity provider in credentials (AID:...).
CREATE TABLE identity_company_settings (
    company_id          BIGINT PRIMARY KEY REFERENCES companies(id),
    external_id_prefix  TEXT NOT NULL DEFAULT '',
    updated_at          BIGINT NOT NULL
);

-- +goose Down
DROP TABLE identity_company_settings;
DROP TABLE login_throttle;
DROP TABLE remember_tokens;
DROP TABLE login_sessions;
DROP TABLE outbound_messages;
DROP TABLE verification_codes;
DROP TABLE user_external_profiles;
DROP TABLE user_credentials;
DROP TABLE users;
