-- +goose Up
-- Delivery stops (spec product.md "DeliveryStop"). A temporary stop pauses
-- the subscription from stop_time (00:00 of the first day without delivery)
-- through stop_end_time (23:59:59 of the last one); a permanent stop ends it
-- before stop_time. requested_time is the stopTime asked for when the
-- permanentStopPolicy moved it. begun_at is set once the stop's effects at
-- its first day (credits) are done; removed stops keep their row.
CREATE TABLE delivery_stops (
    id               BIGSERIAL PRIMARY KEY,
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    customer_number  BIGINT NOT NULL,
    subscription_id  BIGINT NOT NULL REFERENCES subscriptions(id),
    product_code     TEXT NOT NULL,
    stop_type        TEXT NOT NULL,                -- temporary, permanent
    stop_time        BIGINT NOT NULL,
    stop_end_time    BIGINT,
    requested_time   BIGINT NOT NULL,
    channel          TEXT NOT NULL,
    reason           TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,                -- registered, removed
    policy           TEXT NOT NULL,                -- the stop policy in force when registered
    begun_at         BIGINT,
    credit_days      INTEGER NOT NULL DEFAULT 0,   -- paid days credited (policies credit, asRequested)
    credit_amount    BIGINT NOT NULL DEFAULT 0,    -- minor units
    created_at       BIGINT NOT NULL,
    removed_at       BIGINT
);
CREATE INDEX delivery_stops_customer ON delivery_stops(company_id, customer_number, product_code, stop_time);
CREATE INDEX delivery_stops_subscription ON delivery_stops(subscription_id, stop_time);
CREATE INDEX delivery_stops_due ON delivery_stops(status, begun_at, stop_time);

-- Product delivery plans (spec product.md "ProductDeliveryPlan"; tenant file
-- deliveryPlans): per weekday, digital access and/or paper.
CREATE TABLE delivery_plans (
    company_id    BIGINT NOT NULL REFERENCES companies(id),
    plan_id       BIGINT NOT NULL,
    plan_name     TEXT NOT NULL,
    monday        TEXT NOT NULL,
    tuesday       TEXT NOT NULL,
    wednesday     TEXT NOT NULL,
    thursday      TEXT NOT NULL,
    friday        TEXT NOT NULL,
    saturday      TEXT NOT NULL,
    sunday        TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (company_id, plan_id)
);

-- +goose Down
DROP TABLE delivery_plans;
DROP TABLE delivery_stops;
