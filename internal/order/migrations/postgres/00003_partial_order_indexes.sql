-- +goose Up
-- Most orders have no ConnectID user and no externalOrderId, and most lines
-- are no article: index only the rows that have one, so registering a typical
-- order updates three indexes fewer (lookups compare user and externalOrderId
-- with "=", which implies NOT NULL, and look for product_spec_type = 'article',
-- so they still use the indexes).
DROP INDEX orders_user;
CREATE INDEX orders_user ON orders (company_id, user_id) WHERE user_id IS NOT NULL;
DROP INDEX orders_external;
CREATE UNIQUE INDEX orders_external ON orders (company_id, client_id, external_order_id) WHERE external_order_id IS NOT NULL;
DROP INDEX order_lines_article;
CREATE INDEX order_lines_article ON order_lines (company_id, product, article_ref) WHERE product_spec_type = 'article';

-- +goose Down
DROP INDEX order_lines_article;
CREATE INDEX order_lines_article ON order_lines (company_id, product, article_ref);
DROP INDEX orders_external;
CREATE UNIQUE INDEX orders_external ON orders (company_id, client_id, external_order_id);
DROP INDEX orders_user;
CREATE INDEX orders_user ON orders (company_id, user_id);
