-- Triggers that keep dim_date in step with holidays and campaigns.
-- Row-level because the seed names one trigger per table for all three
-- events; each firing recomputes only the affected dates, set-based.
-- JIT is off in the trigger functions: their statements are small, but
-- row estimates of generate_series can push them over jit_above_cost, and
-- compiling would then cost more than running, on every row.
-- DROP + CREATE (PostgreSQL 13 has no CREATE OR REPLACE TRIGGER) also
-- upgrades an older definition; note it re-enables a disabled trigger.

SET client_min_messages = warning;

-- A holiday row changed: recompute the flag and name of its old and new date.
CREATE OR REPLACE FUNCTION sync_holiday_to_dim_date()
RETURNS trigger
LANGUAGE plpgsql
SET jit = off
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_dim_date_holidays(ARRAY[NEW.date]);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM refresh_dim_date_holidays(ARRAY[OLD.date, NEW.date]);
    ELSE
        PERFORM refresh_dim_date_holidays(ARRAY[OLD.date]);
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS trigger_sync_holidays ON holidays;
CREATE TRIGGER trigger_sync_holidays
    AFTER INSERT OR UPDATE OR DELETE ON holidays
    FOR EACH ROW
    EXECUTE FUNCTION sync_holiday_to_dim_date();

-- A campaign changed: recompute the primary campaign of the dates its old
-- and new ranges cover (one pass when the ranges overlap or touch).
CREATE OR REPLACE FUNCTION update_campaign_in_dim_date_v2()
RETURNS trigger
LANGUAGE plpgsql
SET jit = off
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_dim_date_campaigns(NEW.start_date, NEW.end_date);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM refresh_dim_date_campaigns(OLD.start_date, OLD.end_date);
    ELSIF (NEW.id, NEW.start_date, NEW.end_date, NEW.attribution_weight)
          IS DISTINCT FROM (OLD.id, OLD.start_date, OLD.end_date, OLD.attribution_weight) THEN
        IF NEW.start_date <= OLD.end_date + 1 AND OLD.start_date <= NEW.end_date + 1 THEN
            PERFORM refresh_dim_date_campaigns(least(OLD.start_date, NEW.start_date),
                                               greatest(OLD.end_date, NEW.end_date));
        ELSE
            PERFORM refresh_dim_date_campaigns(OLD.start_date, OLD.end_date);
            PERFORM refresh_dim_date_campaigns(NEW.start_date, NEW.end_date);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS update_campaign_in_dim_date_v2_trigger ON campaigns;
CREATE TRIGGER update_campaign_in_dim_date_v2_trigger
    AFTER INSERT OR UPDATE OR DELETE ON campaigns
    FOR EACH ROW
    EXECUTE FUNCTION update_campaign_in_dim_date_v2();
