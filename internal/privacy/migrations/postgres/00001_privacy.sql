-- +goose Up
-- Privacy settings of a company (tenant file: privacy); absent row = defaults.
-- channels and purposes are the comma-separated catalogues.
CREATE TABLE privacy_settings (
    company_id                  BIGINT PRIMARY KEY REFERENCES companies(id),
    default_language            TEXT NOT NULL,
    consent_evidence_years      INTEGER NOT NULL,
    accounting_retention_years  INTEGER NOT NULL,
    channels                    TEXT NOT NULL,
    purposes                    TEXT NOT NULL,
    updated_at                  BIGINT NOT NULL
);

-- Enterprises (marketing senders) beside the company code, and their order types.
CREATE TABLE privacy_enterprises (
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    code        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (company_id, code)
);

CREATE TABLE privacy_order_types (
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    enterprise_code  TEXT NOT NULL,
    code             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (company_id, enterprise_code, code)
);

-- Consent definitions. Group and consent ids come from the tenant file (the
-- ids clients see, unique on the server); text and version ids are ours.
CREATE TABLE consent_issuers (
    id          BIGSERIAL PRIMARY KEY,
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    issuer      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (company_id, issuer)
);

CREATE TABLE consent_groups (
    id               BIGINT PRIMARY KEY,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    issuer_id        BIGINT NOT NULL REFERENCES consent_issuers(id),
    selection_order  INTEGER NOT NULL,
    active           BOOLEAN NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE consent_group_texts (
    group_id       BIGINT NOT NULL REFERENCES consent_groups(id),
    language_code  TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    PRIMARY KEY (group_id, language_code)
);

CREATE TABLE consents (
    id               BIGINT PRIMARY KEY,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    issuer_id        BIGINT NOT NULL REFERENCES consent_issuers(id),
    group_id         BIGINT REFERENCES consent_groups(id),
    parent_id        BIGINT REFERENCES consents(id),
    target           TEXT NOT NULL,
    scope            TEXT NOT NULL,
    selection_order  INTEGER NOT NULL,
    display_mode     TEXT NOT NULL,    -- A: shown in forms; H: back office only
    active           BOOLEAN NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (issuer_id, target, scope)
);
CREATE INDEX consents_parent ON consents (parent_id);

CREATE TABLE consent_texts (
    id             BIGSERIAL PRIMARY KEY,
    consent_id     BIGINT NOT NULL REFERENCES consents(id),
    language_code  TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    UNIQUE (consent_id, language_code)
);

-- Published wordings. A version never changes; publishing the next one sets
-- the previous one's to_date.
CREATE TABLE consent_text_versions (
    id               BIGSERIAL PRIMARY KEY,
    consent_text_id  BIGINT NOT NULL REFERENCES consent_texts(id),
    text             TEXT NOT NULL,
    from_date        BIGINT NOT NULL,
    to_date          BIGINT,
    UNIQUE (consent_text_id, from_date)
);

-- Consent events: evidence, append-only. A trigger refuses every UPDATE, and
-- every DELETE of an event that erasure has not restricted.
CREATE TABLE consent_events (
    id               BIGSERIAL PRIMARY KEY,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    consent_id       BIGINT NOT NULL REFERENCES consents(id),
    subject_type     TEXT NOT NULL,    -- CONNECT, CONNECTID, EXTERNAL, ORDER
    subject          TEXT NOT NULL,
    action           BOOLEAN NOT NULL, -- true: given; false: withdrawn
    event_time       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    source           TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    data             TEXT NOT NULL DEFAULT '',   -- base64
    text_version_id  BIGINT REFERENCES consent_text_versions(id),
    parent_event_id  BIGINT REFERENCES consent_events(id)
);
CREATE INDEX consent_events_subject ON consent_events (company_id, subject_type, subject);
CREATE INDEX consent_events_consent ON consent_events (consent_id);

-- Events restricted by erasure: kept as proof of consent until delete_after,
-- never shown or exported.
CREATE TABLE consent_event_restrictions (
    event_id       BIGINT PRIMARY KEY REFERENCES consent_events(id) ON DELETE CASCADE,
    company_id     BIGINT NOT NULL REFERENCES companies(id),
    restricted_at  BIGINT NOT NULL,
    delete_after   BIGINT NOT NULL
);
CREATE INDEX consent_event_restrictions_due ON consent_event_restrictions (delete_after);

-- +goose StatementBegin
CREATE FUNCTION consent_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'consent events are append-only';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM consent_event_restrictions r WHERE r.event_id = OLD.id) THEN
        RAISE EXCEPTION 'only consent events restricted by erasure may be deleted';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events
    FOR EACH ROW EXECUTE FUNCTION consent_events_append_only();

-- Permissions and shields per channel: enterprise_code '' is the global
-- level, order_type '' the global and enterprise levels.
CREATE TABLE privacy_channel_settings (
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    customer_number  BIGINT NOT NULL,
    enterprise_code  TEXT NOT NULL,
    order_type       TEXT NOT NULL,
    channel          TEXT NOT NULL,
    type             TEXT NOT NULL,    -- PERMISSION, SHIELD
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (company_id, customer_number, enterprise_code, order_type, channel)
);

-- Every change of a channel setting: old and new type ('' = no entry).
CREATE TABLE privacy_channel_log (
    id               BIGSERIAL PRIMARY KEY,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    customer_number  BIGINT NOT NULL,
    enterprise_code  TEXT NOT NULL,
    order_type       TEXT NOT NULL,
    channel          TEXT NOT NULL,
    old_type         TEXT NOT NULL,
    new_type         TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    source           TEXT NOT NULL,
    changed_at       BIGINT NOT NULL
);
CREATE INDEX privacy_channel_log_customer ON privacy_channel_log (company_id, customer_number);

-- Privacy purposes the customer allows, per enterprise (order_type '') or order type.
CREATE TABLE privacy_purposes (
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    customer_number  BIGINT NOT NULL,
    enterprise_code  TEXT NOT NULL,
    order_type       TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (company_id, customer_number, enterprise_code, order_type, purpose)
);

-- Exports of private data (Access private data): the access log, and the
-- last export per user for the once-a-minute limit.
CREATE TABLE privacy_access_log (
    id           BIGSERIAL PRIMARY KEY,
    company_id   BIGINT NOT NULL REFERENCES companies(id),
    user_id      BIGINT NOT NULL,
    client_id    TEXT NOT NULL,
    accessed_at  BIGINT NOT NULL
);
CREATE INDEX privacy_access_log_user ON privacy_access_log (company_id, user_id);

CREATE TABLE privacy_export_throttle (
    user_id         BIGINT PRIMARY KEY,
    last_export_at  BIGINT NOT NULL
);

-- Erasure log: time, client, customer number and counts; no personal data.
CREATE TABLE privacy_erasures (
    id               BIGSERIAL PRIMARY KEY,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    customer_number  BIGINT,
    client_id        TEXT NOT NULL,
    requested_at     BIGINT NOT NULL,
    status           TEXT NOT NULL,    -- scheduled, completed
    completes_at     BIGINT,
    completed_at     BIGINT,
    counts           TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX privacy_erasures_customer ON privacy_erasures (company_id, customer_number);
CREATE INDEX privacy_erasures_status ON privacy_erasures (status);

-- +goose Down
DROP TABLE privacy_erasures;
DROP TABLE privacy_export_throttle;
DROP TABLE privacy_access_log;
DROP TABLE privacy_purposes;
DROP TABLE privacy_channel_log;
DROP TABLE privacy_channel_settings;
DROP TRIGGER consent_events_append_only ON consent_events;
DROP FUNCTION consent_events_append_only();
DROP TABLE consent_event_restrictions;
DROP TABLE consent_events;
DROP TABLE consent_text_versions;
DROP TABLE consent_texts;
DROP TABLE consents;
DROP TABLE consent_group_texts;
DROP TABLE consent_groups;
DROP TABLE consent_issuers;
DROP TABLE privacy_order_types;
DROP TABLE privacy_enterprises;
DROP TABLE privacy_settings;
