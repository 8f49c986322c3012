-- +goose Up
-- Nothing on SQLite: the index of the PostgreSQL migration was chosen by
-- PostgreSQL plans measured at a million customers; SQLite keeps its plans.
-- The file keeps both dialects' version numbers in step.
SELECT 1;

-- +goose Down
SELECT 1;
