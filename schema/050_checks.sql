-- The checks the exporter scrapes, and monitor_system_performance().
-- All of them only read, so they run inside a READ ONLY transaction (the
-- exporter's); the check functions are STABLE. Health and holiday checks
-- never read orders, so their cost does not grow with the order count.
-- plpgsql so that rows come out in a fixed order.

-- Campaign ID Integrity, Holiday Sync Status, Campaign Overlaps.
CREATE OR REPLACE FUNCTION check_campaign_system_health()
RETURNS TABLE(check_name text, status text, details text)
LANGUAGE plpgsql STABLE
AS $$
#variable_conflict use_column
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n
    FROM dim_date d
    WHERE d.campaign_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = d.campaign_id);
    check_name := 'Campaign ID Integrity';
    status := CASE WHEN n = 0 THEN 'PASS' ELSE 'FAIL' END;
    details := n || ' 筆 dim_date 記錄有無效的 campaign_id';
    RETURN NEXT;

    SELECT count(DISTINCT h.date) INTO n
    FROM holidays h
    WHERE NOT EXISTS (SELECT 1 FROM dim_date d WHERE d.date = h.date AND d.is_holiday);
    check_name := 'Holiday Sync Status';
    status := CASE WHEN n = 0 THEN 'PASS' ELSE 'WARNING' END;
    details := n || ' 筆假期記錄尚未同步到 dim_date';
    RETURN NEXT;

    -- Overlapping unordered pairs = all pairs minus the pairs where one
    -- campaign ends before the other starts. The latter are counted by one
    -- sweep over the sorted start and end dates: at each start, the ends
    -- already passed (an end on the same day sorts after the start, since
    -- inclusive ranges touching on a day overlap). O(n log n), not a self-join.
    WITH events AS (
        SELECT c.start_date AS day, 0 AS is_end FROM campaigns c
        UNION ALL
        SELECT c.end_date, 1 FROM campaigns c
    ), swept AS (
        SELECT e.is_end, sum(e.is_end) OVER (ORDER BY e.day, e.is_end ROWS UNBOUNDED PRECEDING) AS ends_before
        FROM events e
    )
    SELECT coalesce(count(*) FILTER (WHERE s.is_end = 0) * (count(*) FILTER (WHERE s.is_end = 0) - 1) / 2
                    - sum(s.ends_before) FILTER (WHERE s.is_end = 0), 0)::bigint
    INTO n
    FROM swept s;
    check_name := 'Campaign Overlaps';
    status := 'INFO';
    details := n || ' 對活動期間有重疊';
    RETURN NEXT;
END
$$;

-- Revenue Balance and Weight Distribution. Two passes over orders: the
-- original revenue straight from orders, the attributed revenue from
-- revenue_attribution_analysis (one pass of its own), so a fault in the
-- view or in the data it depends on shows as a difference.
CREATE OR REPLACE FUNCTION check_attribution_quality()
RETURNS TABLE(check_name text, status text, value numeric, description text)
LANGUAGE plpgsql STABLE
-- The original total reads the revenue orders, about three quarters of
-- orders: the planner then prefers a (parallel) sequential scan of orders
-- to the narrower covering index idx_orders_revenue_by_date
-- (010_tables.sql), which an index-only scan reads in about half the time
-- (the view reads the same index a day at a time). Without the index, the
-- sequential scan still runs.
SET enable_seqscan = off
-- No parallel workers, whoever calls it (psql at the server's defaults, or
-- the exporter with --db.parallel-workers): the workers of a parallel
-- index-only scan take the index a page at a time from each other, and on
-- two cores it took 1.5 s against 0.6 s for one process at 10M orders
-- (0.17 s against 0.07 s at 1M), while taking three processes from the
-- database's own work, for a check that runs every few minutes. Nor the
-- two passes side by side, one process each (a Parallel Append, which
-- needs a view without LATERAL or a window function): tried, the check
-- took 244 ms against 132 at 1M orders and 1.41 s against 1.37 at 10M,
-- on two cores. A worker is a new server process each time, and on the
-- measured VM starting one and its first reads of shared memory (about 4,000
-- page faults more per run) cost more than the pass it took over.
SET max_parallel_workers_per_gather = 0
-- Nor JIT: at 10M orders the planner's cost passes jit_above_cost, and
-- compiling took longer than it saved (1.55 s with, 1.39 s without).
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH original AS (
        -- sum() skips the NULL amounts, without a filter on every order.
        SELECT coalesce(sum(o.total_amount), 0) AS revenue
        FROM orders o
        WHERE o.status IN ('paid', 'processing', 'shipped', 'delivered', 'completed')
    ), attributed AS (
        -- Average share over attributed order-campaign pairs: each view row
        -- stands for order_count pairs with the same share.
        SELECT coalesce(sum(v.total_attributed_revenue), 0) AS revenue,
               coalesce(sum(v.order_count * v.avg_attribution_weight) FILTER (WHERE v.campaign_id IS NOT NULL)
                        / nullif(sum(v.order_count) FILTER (WHERE v.campaign_id IS NOT NULL), 0), 0) AS share
        FROM revenue_attribution_analysis v
    ), r AS (
        SELECT o.revenue AS original, a.revenue AS attributed,
               round(abs(o.revenue - a.revenue), 6) AS diff, round(a.share, 4) AS share
        FROM original o, attributed a
    )
    SELECT x.check_name, x.status, x.value, x.description
    FROM (
        SELECT 1 AS ord, 'Revenue Balance'::text AS check_name,
               CASE WHEN r.diff <= 0.01 THEN 'PASS' ELSE 'FAIL' END AS status,
               r.diff AS value,
               '原始營收: ' || round(r.original, 2) || ', 歸因營收: ' || round(r.attributed, 2) AS description
        FROM r
        UNION ALL
        SELECT 2, 'Weight Distribution', 'INFO', r.share, '平均歸因權重: ' || r.share
        FROM r
    ) AS x
    ORDER BY x.ord;
END
$$;

-- MISSING_HOLIDAY_FLAG, ORPHANED_HOLIDAY_FLAG, DUPLICATE_HOLIDAYS, each with
-- up to 10 sample dates, ascending ('{}' when none).
CREATE OR REPLACE FUNCTION check_holiday_data_integrity()
RETURNS TABLE(check_type text, issue_count bigint, description text, sample_dates date[])
LANGUAGE plpgsql STABLE
AS $$
#variable_conflict use_column
BEGIN
    -- The dates each check finds; every check reports a row, also with none.
    RETURN QUERY
    WITH issue(check_type, date) AS (
        SELECT DISTINCT 'MISSING_HOLIDAY_FLAG'::text, h.date
        FROM holidays h
        WHERE NOT EXISTS (SELECT 1 FROM dim_date d WHERE d.date = h.date AND d.is_holiday)
        UNION ALL
        SELECT 'ORPHANED_HOLIDAY_FLAG', d.date
        FROM dim_date d
        WHERE d.is_holiday
          AND NOT EXISTS (SELECT 1 FROM holidays h WHERE h.date = d.date)
        UNION ALL
        SELECT 'DUPLICATE_HOLIDAYS', h.date
        FROM holidays h
        GROUP BY h.date
        HAVING count(*) > 1
    )
    SELECT c.check_type,
           (SELECT count(*) FROM issue i WHERE i.check_type = c.check_type),
           c.description,
           ARRAY(SELECT i.date FROM issue i WHERE i.check_type = c.check_type ORDER BY i.date LIMIT 10)
    FROM (VALUES (1, 'MISSING_HOLIDAY_FLAG'::text, 'holidays 表中的假期在 dim_date 中未標記'::text),
                 (2, 'ORPHANED_HOLIDAY_FLAG', 'dim_date 中標記為假期但不在 holidays 表中'),
                 (3, 'DUPLICATE_HOLIDAYS', 'holidays 表中有重複的日期')) AS c(ord, check_type, description)
    ORDER BY c.ord;
END
$$;

-- Response times of the attribution function and the analysis view, as in
-- the seed, but measured over the whole interval (interval_to_ms).
-- VOLATILE because it reads the clock; it writes nothing.
CREATE OR REPLACE FUNCTION monitor_system_performance()
RETURNS TABLE(metric_name text, execution_time_ms numeric, status text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    t0 timestamptz;
    ms numeric;
BEGIN
    t0 := clock_timestamp();
    PERFORM calculate_campaign_attributions(CURRENT_DATE);
    ms := interval_to_ms(clock_timestamp() - t0);
    metric_name := 'Attribution Calculation';
    execution_time_ms := ms;
    status := CASE WHEN ms < 1000 THEN 'GOOD' ELSE 'SLOW' END;
    RETURN NEXT;

    t0 := clock_timestamp();
    PERFORM count(*) FROM revenue_attribution_analysis;
    ms := interval_to_ms(clock_timestamp() - t0);
    metric_name := 'Analysis View Query';
    execution_time_ms := ms;
    status := CASE WHEN ms < 5000 THEN 'GOOD' ELSE 'SLOW' END;
    RETURN NEXT;
END
$$;
