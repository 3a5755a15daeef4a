-- Tables of the campaign system: campaigns, dim_date, holidays, orders and
-- dim_date_backup.
--
-- Idempotent: CREATE ... IF NOT EXISTS, and ADD COLUMN IF NOT EXISTS so that
-- an older copy (one created before a column existed) is upgraded in place.
-- Every column beyond the contract's is nullable, defaulted or generated, so
-- INSERTs naming only the contract's columns keep working.

-- Quiet the "already exists, skipping" notices of a re-apply.
SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS campaigns (
    id                 bigserial PRIMARY KEY,
    campaign_name      text        NOT NULL,
    start_date         date        NOT NULL,
    end_date           date        NOT NULL,
    attribution_weight numeric     NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz
);
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS attribution_weight numeric NOT NULL DEFAULT 1;
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS updated_at timestamptz;

-- dim_date: the calendar attributes are generated from date, so inserting
-- just the date works and they can never disagree with it.
-- day_of_week is ISO (1 = Monday ... 7 = Sunday).
CREATE TABLE IF NOT EXISTS dim_date (
    date          date PRIMARY KEY,
    year          integer  GENERATED ALWAYS AS (extract(year FROM date)::integer) STORED,
    quarter       smallint GENERATED ALWAYS AS (extract(quarter FROM date)::smallint) STORED,
    month         smallint GENERATED ALWAYS AS (extract(month FROM date)::smallint) STORED,
    day           smallint GENERATED ALWAYS AS (extract(day FROM date)::smallint) STORED,
    day_of_week   smallint GENERATED ALWAYS AS (extract(isodow FROM date)::smallint) STORED,
    day_of_year   smallint GENERATED ALWAYS AS (extract(doy FROM date)::smallint) STORED,
    week_of_year  smallint GENERATED ALWAYS AS (extract(week FROM date)::smallint) STORED,
    is_weekend    boolean  GENERATED ALWAYS AS (extract(isodow FROM date) >= 6) STORED,
    is_holiday    boolean  NOT NULL DEFAULT false,
    holiday_name  text,
    -- No foreign key on purpose: orphans are detected (Campaign ID
    -- Integrity), not prevented, as in the databases being monitored.
    campaign_id   bigint,
    -- Legacy, superseded by campaign_id; see cleanup_legacy_campaign_names().
    campaign_name text
);
ALTER TABLE dim_date
    ADD COLUMN IF NOT EXISTS year         integer  GENERATED ALWAYS AS (extract(year FROM date)::integer) STORED,
    ADD COLUMN IF NOT EXISTS quarter      smallint GENERATED ALWAYS AS (extract(quarter FROM date)::smallint) STORED,
    ADD COLUMN IF NOT EXISTS month        smallint GENERATED ALWAYS AS (extract(month FROM date)::smallint) STORED,
    ADD COLUMN IF NOT EXISTS day          smallint GENERATED ALWAYS AS (extract(day FROM date)::smallint) STORED,
    ADD COLUMN IF NOT EXISTS day_of_week  smallint GENERATED ALWAYS AS (extract(isodow FROM date)::smallint) STORED,
    ADD COLUMN IF NOT EXISTS day_of_year  smallint GENERATED ALWAYS AS (extract(doy FROM date)::smallint) STORED,
    ADD COLUMN IF NOT EXISTS week_of_year smallint GENERATED ALWAYS AS (extract(week FROM date)::smallint) STORED,
    ADD COLUMN IF NOT EXISTS is_weekend   boolean  GENERATED ALWAYS AS (extract(isodow FROM date) >= 6) STORED;
ALTER TABLE dim_date ADD COLUMN IF NOT EXISTS is_holiday boolean NOT NULL DEFAULT false;
ALTER TABLE dim_date ADD COLUMN IF NOT EXISTS holiday_name text;
ALTER TABLE dim_date ADD COLUMN IF NOT EXISTS campaign_id bigint;
ALTER TABLE dim_date ADD COLUMN IF NOT EXISTS campaign_name text;

-- holidays.date is deliberately not unique: duplicates are detected
-- (DUPLICATE_HOLIDAYS), not prevented.
CREATE TABLE IF NOT EXISTS holidays (
    id         bigserial PRIMARY KEY,
    date       date        NOT NULL,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE holidays ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();

-- Revenue counts only for status in (paid, processing, shipped, delivered,
-- completed) and a non-NULL amount; other statuses are stored as they come.
CREATE TABLE IF NOT EXISTS orders (
    id           bigserial PRIMARY KEY,
    order_date   date          NOT NULL,
    total_amount numeric(12,2),
    status       text          NOT NULL,
    created_at   timestamptz   NOT NULL DEFAULT now()
);

-- Before-images of dim_date rows changed by the repair functions; rows older
-- than 30 days are expired by the weekly maintenance.
CREATE TABLE IF NOT EXISTS dim_date_backup (
    backup_id     bigserial PRIMARY KEY,
    date          date NOT NULL,
    is_holiday    boolean,
    holiday_name  text,
    campaign_id   bigint,
    campaign_name text,
    reason        text,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Checks added by name only when missing, so an older copy gains them and a
-- second run does nothing. Existing rows are validated when added.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conrelid = 'campaigns'::regclass AND conname = 'campaigns_date_range_check') THEN
        ALTER TABLE campaigns ADD CONSTRAINT campaigns_date_range_check CHECK (end_date >= start_date);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conrelid = 'campaigns'::regclass AND conname = 'campaigns_attribution_weight_check') THEN
        ALTER TABLE campaigns ADD CONSTRAINT campaigns_attribution_weight_check CHECK (attribution_weight > 0);
    END IF;
END
$$;

-- Campaigns by date range: scans by start date, overlap queries.
CREATE INDEX IF NOT EXISTS idx_campaigns_date_range ON campaigns (start_date, end_date);
-- The campaigns active on one day: a B-tree on (start_date, end_date) has to
-- walk every campaign that started before the day, a GiST index on the range
-- only the ones containing it. Used by the campaign trigger.
CREATE INDEX IF NOT EXISTS idx_campaigns_daterange ON campaigns USING gist (daterange(start_date, end_date, '[]'));
-- Campaign ID Integrity and the primary-campaign method look dim_date up by campaign.
CREATE INDEX IF NOT EXISTS idx_dim_date_campaign_id ON dim_date (campaign_id);
-- The holiday trigger finds a date's rows and its earliest one.
CREATE INDEX IF NOT EXISTS idx_holidays_date ON holidays (date, created_at, id);
-- One day's orders (calculate_campaign_attributions, period comparisons).
CREATE INDEX IF NOT EXISTS idx_orders_order_date ON orders (order_date);
-- The orders of the statuses every revenue check counts, and their amounts,
-- by day: check_attribution_quality() reads its original total from it by
-- an index-only scan, revenue_attribution_analysis each day's (so the
-- check's attributed total too), and the exporter's orders collector its
-- counts, instead of reading the whole of orders. The orders with a NULL
-- amount are in it for the collector, which counts them; the view and the
-- check skip them as they read. Its predicate must stay the status list all
-- three write.
CREATE INDEX IF NOT EXISTS idx_orders_revenue_by_date ON orders (order_date) INCLUDE (total_amount)
    WHERE status IN ('paid', 'processing', 'shipped', 'delivered', 'completed');
-- Backup expiry and the exporter's expired-rows metric.
CREATE INDEX IF NOT EXISTS idx_dim_date_backup_created_at ON dim_date_backup (created_at);
