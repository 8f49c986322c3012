-- +goose Up
-- anchor_period: the number of the period that begins on anchor_date (period
-- n begins n - anchor_period periods after it), so a period end moved later
-- (a vacation stop with vacationStopPolicy extend) re-anchors the following
-- periods without renumbering them (invoices are unique per period number).
ALTER TABLE subscriptions ADD COLUMN anchor_period INTEGER NOT NULL DEFAULT 1;
-- pause_extend: when the planned pause begins inside the paid period, the
-- period end moves later by the paused days (vacationStopPolicy extend).
ALTER TABLE subscriptions ADD COLUMN pause_extend BOOLEAN NOT NULL DEFAULT 0;

-- Company settings of spec product.md (tenant file: productSettings); no row
-- means the defaults.
CREATE TABLE product_settings (
    company_id                     BIGINT PRIMARY KEY REFERENCES companies(id),
    stop_lead_days                 INTEGER NOT NULL,
    max_temporary_stop_days        INTEGER NOT NULL,
    vacation_stop_policy           TEXT NOT NULL,     -- none, extend, credit
    permanent_stop_policy          TEXT NOT NULL,     -- endOfPeriod, asRequested
    complaint_window_days          INTEGER NOT NULL,
    share_invitation_pool_factor   INTEGER NOT NULL,
    share_invitation_expiry_days   INTEGER NOT NULL,
    allow_invoice_start            BOOLEAN NOT NULL,
    updated_at                     BIGINT NOT NULL
);

-- +goose Down
DROP TABLE product_settings;
ALTER TABLE subscriptions DROP COLUMN pause_extend;
ALTER TABLE subscriptions DROP COLUMN anchor_period;
