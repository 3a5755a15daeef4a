-- Faults for the demo data (testdata/demo/generate.sql): each function
-- breaks the data the way a procedure of the maintenance guide can, so that
-- exactly the intended checks report it. Targets are picked from the data
-- deterministically and never overlap, so the faults compose in any order.
-- Each returns void and raises if the data offers no target.
--
-- Effects, on otherwise healthy data (all checks PASS / counts 0):
--
-- campaign_fault_orphan_campaign()
--   A restore with update_campaign_in_dim_date_v2_trigger disabled that lacks
--   a campaign: deletes the lowest-id campaign that is some date's primary
--   campaign while the trigger is off. Its P primary days keep the stale id.
--   Campaign ID Integrity: FAIL, "P 筆 dim_date 記錄有無效的 campaign_id".
--   Campaign Overlaps: minus the pairs the campaign was in (INFO).
--   Revenue Balance stays PASS (the view reads campaigns, and the dim_date
--   rows are still there); Weight Distribution moves (INFO).
--   Repair: the guide's "清理孤立的 dim_date 記錄" DELETE, which removes the
--   P dim_date rows themselves (so Revenue Balance then FAILs by the revenue
--   of those days, see below), then ensure_dim_date() over the order dates
--   puts them back with the right primary campaign.
--
-- campaign_fault_revenue_imbalance()
--   That repair half done: the same kind of orphan (the highest-id campaign
--   that is the primary campaign of a day with revenue and of no holiday or
--   flagged day), followed by the guide's cleanup DELETE of its orphaned
--   dim_date rows. The orders of those days lose their date dimension and
--   drop out of revenue_attribution_analysis.
--   Revenue Balance: FAIL, value = the qualifying revenue of those days,
--   "原始營收: X, 歸因營收: X - value".
--   Campaign ID Integrity stays PASS; Campaign Overlaps and Weight
--   Distribution move (INFO); holiday checks unchanged.
--   Repair: SELECT ensure_dim_date(min(order_date), max(order_date)) FROM orders.
--
-- campaign_fault_unsynced_holiday()
--   A holiday restored with trigger_sync_holidays disabled: inserts
--   "彈性放假" on the earliest dim_date date that is neither a holiday nor
--   flagged. Holiday Sync Status: WARNING, "1 筆假期記錄尚未同步到 dim_date";
--   MISSING_HOLIDAY_FLAG: 1, {that date}.
--   Repair: SELECT sync_all_existing_holidays();  (returns 1)
--
-- campaign_fault_duplicate_holiday()
--   A restore that appends instead of replacing: inserts a second, later
--   copy of the earliest holiday that has a single row. dim_date keeps the
--   earliest row's name, so only DUPLICATE_HOLIDAYS: 1, {that date}.
--   Repair: the guide's duplicate cleanup CTE (ROW_NUMBER() OVER (PARTITION
--   BY date ORDER BY created_at), keeps the earliest).
--
-- campaign_fault_stray_holiday_flag()
--   A hand-edited dim_date: flags the latest dim_date date that is neither a
--   holiday nor flagged as holiday "公司旅遊日".
--   ORPHANED_HOLIDAY_FLAG: 1, {that date}; nothing else.
--   Repair: SELECT sync_all_existing_holidays();  (returns 1)
--
-- campaign_inject_faults() applies all five: Campaign ID Integrity FAIL,
-- Holiday Sync Status WARNING (1), Revenue Balance FAIL, and 1 of each
-- holiday-integrity issue.
--
-- On campaign_demo_generate(1) (seed 0.42; healthy: Overlaps 21, Revenue
-- 38250656.20, Weight Distribution 0.7709):
--   orphan_campaign      campaign 1: Integrity FAIL 26; Overlaps 20; WD 0.7726
--   revenue_imbalance    campaign 37, 46 dim_date rows: Revenue Balance FAIL
--                        1433285.350000 ("原始營收: 38250656.20, 歸因營收:
--                        36817370.85"); Overlaps 20; WD 0.7640
--   unsynced_holiday     2022-01-02; duplicate_holiday 2022-01-01;
--   stray_holiday_flag   2026-12-31
--   inject_faults        Integrity 26, Sync 1, Overlaps 19, Revenue Balance
--                        1433285.350000, WD 0.7657, holiday issues 1/1/1
-- At scale 0.01 the same targets; Revenue Balance FAIL 16026.060000.

-- Steps the faults below share.

-- The earliest (p_last: the latest) dim_date day that is neither a holiday
-- nor flagged as one; raises, naming the fault p_fault, if there is none.
CREATE OR REPLACE FUNCTION campaign_fault_ordinary_day(p_fault text, p_last boolean)
RETURNS date
LANGUAGE plpgsql
AS $$
DECLARE
    v_date date;
BEGIN
    SELECT CASE WHEN p_last THEN max(d.date) ELSE min(d.date) END INTO v_date
    FROM dim_date d
    WHERE NOT d.is_holiday AND d.holiday_name IS NULL
      AND NOT EXISTS (SELECT 1 FROM holidays h WHERE h.date = d.date);
    IF v_date IS NULL THEN
        RAISE EXCEPTION '%: no ordinary dim_date day', p_fault;
    END IF;
    RETURN v_date;
END
$$;

-- Deletes campaign p_id with update_campaign_in_dim_date_v2_trigger
-- disabled, as a restore lacking it does: its dim_date rows keep the id.
CREATE OR REPLACE FUNCTION campaign_fault_delete_campaign_untracked(p_id bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    ALTER TABLE campaigns DISABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
    DELETE FROM campaigns WHERE id = p_id;
    ALTER TABLE campaigns ENABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
END
$$;

-- Keeps the shipped p_name(p_args) as p_name_base, once, so that a fault
-- can put a wrapper calling it in its place (and be applied again).
CREATE OR REPLACE FUNCTION campaign_fault_keep_base(p_name text, p_args text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF to_regprocedure(format('%I(%s)', p_name || '_base', p_args)) IS NULL THEN
        EXECUTE format('ALTER FUNCTION %I(%s) RENAME TO %I', p_name, p_args, p_name || '_base');
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_orphan_campaign()
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT min(d.campaign_id) INTO v_id
    FROM dim_date d
    JOIN campaigns c ON c.id = d.campaign_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'campaign_fault_orphan_campaign: no campaign is any date''s primary campaign';
    END IF;
    PERFORM campaign_fault_delete_campaign_untracked(v_id);
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_revenue_imbalance()
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT max(c.id) INTO v_id
    FROM campaigns c
    WHERE EXISTS (
            SELECT 1
            FROM dim_date d
            JOIN orders o ON o.order_date = d.date
            WHERE d.campaign_id = c.id
              AND o.status IN ('paid', 'processing', 'shipped', 'delivered', 'completed')
              AND o.total_amount IS NOT NULL)
      AND NOT EXISTS (
            SELECT 1
            FROM dim_date d
            WHERE d.campaign_id = c.id
              AND (d.is_holiday OR d.holiday_name IS NOT NULL
                   OR EXISTS (SELECT 1 FROM holidays h WHERE h.date = d.date)));
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'campaign_fault_revenue_imbalance: no campaign is the primary campaign of a non-holiday day with revenue';
    END IF;
    PERFORM campaign_fault_delete_campaign_untracked(v_id);
    -- The guide's cleanup (DELETE FROM dim_date WHERE campaign_id IS NOT NULL
    -- AND NOT EXISTS (matching campaign)), limited to this campaign's rows so
    -- that an orphan left by campaign_fault_orphan_campaign() survives.
    DELETE FROM dim_date WHERE campaign_id = v_id;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_unsynced_holiday()
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_date date := campaign_fault_ordinary_day('campaign_fault_unsynced_holiday', false);
BEGIN
    ALTER TABLE holidays DISABLE TRIGGER trigger_sync_holidays;
    INSERT INTO holidays (date, name) VALUES (v_date, '彈性放假');
    ALTER TABLE holidays ENABLE TRIGGER trigger_sync_holidays;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_duplicate_holiday()
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_date date;
BEGIN
    SELECT min(h.date) INTO v_date
    FROM holidays h
    WHERE EXISTS (SELECT 1 FROM dim_date d WHERE d.date = h.date AND d.is_holiday)
      AND NOT EXISTS (SELECT 1 FROM holidays h2 WHERE h2.date = h.date AND h2.id <> h.id);
    IF v_date IS NULL THEN
        RAISE EXCEPTION 'campaign_fault_duplicate_holiday: no synced holiday with a single row';
    END IF;
    -- clock_timestamp() is later than the original's created_at even in the
    -- same transaction, so the original stays the earliest row.
    INSERT INTO holidays (date, name, created_at)
    SELECT h.date, h.name, clock_timestamp()
    FROM holidays h
    WHERE h.date = v_date;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_stray_holiday_flag()
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_date date := campaign_fault_ordinary_day('campaign_fault_stray_holiday_flag', true);
BEGIN
    UPDATE dim_date SET is_holiday = true, holiday_name = '公司旅遊日' WHERE date = v_date;
END
$$;

-- Faults for the rest of the alert table (alerts/runbooks.md), one per
-- alert, each on otherwise healthy data. They are not part of
-- campaign_inject_faults(); the end-to-end suite gives each its own database.
--
-- campaign_fault_holiday_trigger_disabled()
-- campaign_fault_campaign_trigger_disabled()
--   A restore that stopped after disabling the trigger (the guide's script
--   has no set -e): the trigger stays disabled, nothing else changes yet.
--   campaign_trigger_enabled{trigger} 0.
--
-- campaign_fault_check_function_missing()
--   A non-transactional upgrade that dropped check_campaign_system_health()
--   and failed before re-creating it: campaign_function_present 0, the
--   health collector fails.
--
-- campaign_fault_slow_attribution()
--   A migration shipped a calculate_campaign_attributions(date) that takes
--   over a second per call (here: it waits 1.2s first). Attribution
--   Calculation: SLOW.
--
-- campaign_fault_attribution_check_timeout()
--   check_attribution_quality() outgrew the scrape deadline (here: it waits
--   5s first): the attribution collector times out on every scrape.
--
-- campaign_fault_duplicate_campaigns()
--   A restore that appended the campaigns instead of replacing them: a
--   second copy of every campaign (new ids; same name, dates and weight).
--   The originals stay primary (lower ids), so dim_date does not change;
--   every attributed order is shared by twice as many campaigns, so Weight
--   Distribution halves (scale 1: 0.7709 -> about 0.385). Campaign
--   Overlaps grows (INFO); Revenue Balance stays PASS.
--
-- campaign_fault_stale_campaign_dates()
--   A campaign's end date moved three days earlier while
--   update_campaign_in_dim_date_v2_trigger was disabled (the lowest-id
--   campaign that is the primary campaign of its own last day): dim_date
--   still names it on days it no longer covers. No guide check notices;
--   campaign_dim_date_stale_campaign_rows > 0.
--
-- campaign_fault_expired_backups()
--   Backup rows of a repair 45 days ago that no weekly cleanup deleted:
--   three dim_date_backup rows created 45 days ago.
--
-- campaign_fault_table_never_analyzed()
--   orders reloaded with autovacuum disabled on it and its statistics reset
--   (pg_stat_reset_single_table_counters, as after a restore onto a new
--   table): 100 rows copied from the first orders, never analyzed. Revenue
--   grows by their amount; every check stays PASS.
--
-- campaign_fault_dim_date_bloat()
--   A campaign reshuffle rewrote every dim_date row twice while autovacuum
--   was off on dim_date: two dead rows per live one, none vacuumed. The
--   values are unchanged; every check stays PASS.
--
-- campaign_fault_unknown_status()
--   A DBA adds a check to check_campaign_system_health(): "Legacy Campaign
--   Names", status ERROR while dim_date rows carry the legacy campaign_name
--   next to a campaign_id (the demo's 2022 campaign days), PASS once the
--   monthly cleanup_legacy_campaign_names() has run. The original function
--   is kept as check_campaign_system_health_base().
--
-- campaign_fault_cron_refresh_failed()
--   Needs pg_cron or the stand-in schema (cron.job, cron.job_run_details):
--   schedules the guide's hourly refresh-attribution job if missing, and
--   records its latest run as failed ("materialized view ... does not
--   exist": the materialized view was never created).

CREATE OR REPLACE FUNCTION campaign_fault_holiday_trigger_disabled()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    ALTER TABLE holidays DISABLE TRIGGER trigger_sync_holidays;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_campaign_trigger_disabled()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    ALTER TABLE campaigns DISABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_check_function_missing()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    DROP FUNCTION check_campaign_system_health();
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_slow_attribution()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM campaign_fault_keep_base('calculate_campaign_attributions', 'date');
    CREATE OR REPLACE FUNCTION calculate_campaign_attributions(p_date date)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $f$
    BEGIN
        PERFORM pg_sleep(1.2);
        RETURN calculate_campaign_attributions_base(p_date);
    END
    $f$;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_attribution_check_timeout()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM campaign_fault_keep_base('check_attribution_quality', '');
    CREATE OR REPLACE FUNCTION check_attribution_quality()
    RETURNS TABLE(check_name text, status text, value numeric, description text)
    LANGUAGE plpgsql STABLE
    AS $f$
    BEGIN
        PERFORM pg_sleep(5);
        RETURN QUERY SELECT * FROM check_attribution_quality_base();
    END
    $f$;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_duplicate_campaigns()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM campaigns) THEN
        RAISE EXCEPTION 'campaign_fault_duplicate_campaigns: no campaigns';
    END IF;
    INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight)
    SELECT c.campaign_name, c.start_date, c.end_date, c.attribution_weight
    FROM campaigns c
    ORDER BY c.id;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_stale_campaign_dates()
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT min(c.id) INTO v_id
    FROM campaigns c
    JOIN dim_date d ON d.date = c.end_date AND d.campaign_id = c.id
    WHERE c.end_date - c.start_date >= 3;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'campaign_fault_stale_campaign_dates: no campaign is the primary campaign of its last day';
    END IF;
    ALTER TABLE campaigns DISABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
    UPDATE campaigns SET end_date = end_date - 3, updated_at = now() WHERE id = v_id;
    ALTER TABLE campaigns ENABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_expired_backups()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO dim_date_backup (date, is_holiday, holiday_name, campaign_id, campaign_name, reason, created_at)
    SELECT d.date, d.is_holiday, d.holiday_name, d.campaign_id, d.campaign_name,
           'sync_all_existing_holidays', now() - interval '45 days'
    FROM dim_date d
    ORDER BY d.date
    LIMIT 3;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_table_never_analyzed()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    ALTER TABLE orders SET (autovacuum_enabled = false);
    PERFORM pg_stat_reset_single_table_counters('orders'::regclass);
    INSERT INTO orders (order_date, total_amount, status)
    SELECT o.order_date, o.total_amount, o.status
    FROM orders o
    ORDER BY o.id
    LIMIT 100;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_dim_date_bloat()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    ALTER TABLE dim_date SET (autovacuum_enabled = false);
    UPDATE dim_date SET campaign_id = campaign_id;
    UPDATE dim_date SET campaign_id = campaign_id;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_unknown_status()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM campaign_fault_keep_base('check_campaign_system_health', '');
    CREATE OR REPLACE FUNCTION check_campaign_system_health()
    RETURNS TABLE(check_name text, status text, details text)
    LANGUAGE plpgsql STABLE
    AS $f$
    #variable_conflict use_column
    DECLARE
        n bigint;
    BEGIN
        RETURN QUERY SELECT * FROM check_campaign_system_health_base();
        SELECT count(*) INTO n
        FROM dim_date d
        WHERE d.campaign_id IS NOT NULL AND d.campaign_name IS NOT NULL;
        check_name := 'Legacy Campaign Names';
        status := CASE WHEN n = 0 THEN 'PASS' ELSE 'ERROR' END;
        details := n || ' 筆 dim_date 記錄仍有舊版 campaign_name';
        RETURN NEXT;
    END
    $f$;
END
$$;

CREATE OR REPLACE FUNCTION campaign_fault_cron_refresh_failed()
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_job bigint;
BEGIN
    IF to_regclass('cron.job') IS NULL OR to_regclass('cron.job_run_details') IS NULL THEN
        RAISE EXCEPTION 'campaign_fault_cron_refresh_failed: no cron.job / cron.job_run_details (install pg_cron or the stand-in)';
    END IF;
    SELECT j.jobid INTO v_job FROM cron.job j WHERE j.jobname = 'refresh-attribution';
    IF v_job IS NULL THEN
        INSERT INTO cron.job (schedule, command, jobname)
        VALUES ('0 * * * *', 'SELECT refresh_attribution_analysis();', 'refresh-attribution')
        RETURNING jobid INTO v_job;
    END IF;
    INSERT INTO cron.job_run_details (jobid, command, status, return_message, start_time, end_time)
    VALUES (v_job, 'SELECT refresh_attribution_analysis();',
            'failed', 'ERROR:  relation "revenue_attribution_analysis_materialized" does not exist',
            now() - interval '2 seconds', now() - interval '1 second');
END
$$;

CREATE OR REPLACE FUNCTION campaign_inject_faults()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM campaign_fault_revenue_imbalance();
    PERFORM campaign_fault_orphan_campaign();
    PERFORM campaign_fault_unsynced_holiday();
    PERFORM campaign_fault_duplicate_holiday();
    PERFORM campaign_fault_stray_holiday_flag();
END
$$;
