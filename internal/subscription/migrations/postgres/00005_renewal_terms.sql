-- +goose Up
-- The coupon's renewal terms (renewalPrice, renewalPeriodLength/Type), kept
-- from the start until the first renewal switches the subscription to them:
-- a trial ("four weeks for 1 krone, then 199 a month") renews at the
-- renewal price and period. NULL: the first period's terms continue.
ALTER TABLE subscriptions ADD COLUMN renewal_price BIGINT;
ALTER TABLE subscriptions ADD COLUMN renewal_period_length INTEGER;
ALTER TABLE subscriptions ADD COLUMN renewal_period_type TEXT;

-- +goose Down
ALTER TABLE subscriptions DROP COLUMN renewal_period_type;
ALTER TABLE subscriptions DROP COLUMN renewal_period_length;
ALTER TABLE subscriptions DROP COLUMN renewal_price;
