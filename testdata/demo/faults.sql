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
    ALTER TABLE campaigns DISABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
    DELETE FROM campaigns WHERE id = v_id;
    ALTER TABLE campaigns ENABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
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
    ALTER TABLE campaigns DISABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
    DELETE FROM campaigns WHERE id = v_id;
    ALTER TABLE campaigns ENABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
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
    v_date date;
BEGIN
    SELECT min(d.date) INTO v_date
    FROM dim_date d
    WHERE NOT d.is_holiday AND d.holiday_name IS NULL
      AND NOT EXISTS (SELECT 1 FROM holidays h WHERE h.date = d.date);
    IF v_date IS NULL THEN
        RAISE EXCEPTION 'campaign_fault_unsynced_holiday: no ordinary dim_date day';
    END IF;
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
    v_date date;
BEGIN
    SELECT max(d.date) INTO v_date
    FROM dim_date d
    WHERE NOT d.is_holiday AND d.holiday_name IS NULL
      AND NOT EXISTS (SELECT 1 FROM holidays h WHERE h.date = d.date);
    IF v_date IS NULL THEN
        RAISE EXCEPTION 'campaign_fault_stray_holiday_flag: no ordinary dim_date day';
    END IF;
    UPDATE dim_date SET is_holiday = true, holiday_name = '公司旅遊日' WHERE date = v_date;
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
