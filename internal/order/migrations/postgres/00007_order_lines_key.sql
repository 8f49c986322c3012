-- +goose Up
-- An order line is known by its order and line number; nothing reads the
-- surrogate id, which cost every registered line a sequence value and an
-- index entry.
ALTER TABLE order_lines DROP CONSTRAINT order_lines_pkey;
ALTER TABLE order_lines DROP COLUMN id;
ALTER TABLE order_lines DROP CONSTRAINT order_lines_order_id_line_no_key;
ALTER TABLE order_lines ADD PRIMARY KEY (order_id, line_no);

-- +goose Down
ALTER TABLE order_lines DROP CONSTRAINT order_lines_pkey;
ALTER TABLE order_lines ADD COLUMN id BIGSERIAL PRIMARY KEY;
ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_id_line_no_key UNIQUE (order_id, line_no);
