-- +goose Up
-- Metadata (userdata.md): one free-form JSON object per (client, user), the
-- client's own data about a ConnectID user. company_id is the client's company
-- (clients never change company); it lets the export and the client-mode
-- lookup read a company's objects without a join.
CREATE TABLE user_metadata (
    client_id   TEXT NOT NULL REFERENCES clients(client_id),
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    data        TEXT NOT NULL,                -- compact JSON object, at most 64 KiB
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, user_id)
);
CREATE INDEX user_metadata_user ON user_metadata(user_id, company_id);

-- +goose Down
DROP TABLE user_metadata;
