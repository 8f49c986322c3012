-- +goose Up
-- Delivered and given-up callbacks are deleted after their retention
-- (order.PurgeCallbacks, by last change); this finds them without a scan.
CREATE INDEX order_callbacks_done ON order_callbacks (updated_at) WHERE status <> 'pending';

-- +goose Down
DROP INDEX order_callbacks_done;
