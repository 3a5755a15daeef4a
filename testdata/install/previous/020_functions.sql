-- Helper and maintenance functions: primary-campaign and holiday sync
-- machinery, ensure_dim_date, add_holiday, the repair functions, and the
-- per-day / per-period attribution functions.

-- CREATE OR REPLACE cannot change a function's result type, parameter names
-- or defaults. Drop the functions of an older copy whose signature differs
-- from this version's, and only those: dropping a function also drops the
-- privileges granted on it (exporter-role.sql grants EXECUTE), so an
-- unchanged function must survive a re-apply.
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS sig
        FROM (VALUES
            ('interval_to_ms(interval)', 'p interval', 'numeric'),
            ('primary_campaign_by_date(date,date)', 'p_start date, p_end date', 'TABLE(date date, campaign_id bigint)'),
            ('primary_campaign_on(date)', 'p_date date', 'bigint'),
            ('refresh_dim_date_campaigns(date,date)', 'p_start date, p_end date', 'integer'),
            ('refresh_dim_date_holidays(date[])', 'p_dates date[]', 'integer'),
            ('ensure_dim_date(date,date)', 'p_start date, p_end date', 'integer'),
            ('add_holiday(date,text)', 'p_date date, p_name text', 'bigint'),
            ('sync_all_existing_holidays()', '', 'integer'),
            ('cleanup_legacy_campaign_names()', '', 'integer'),
            ('calculate_campaign_attributions(date)', 'p_date date', 'jsonb'),
            ('compare_attribution_methods(date,date)', 'p_start date, p_end date',
             'TABLE(campaign_id bigint, campaign_name text, layered_revenue numeric, primary_campaign_revenue numeric, equal_split_revenue numeric)'),
            ('check_campaign_system_health()', '', 'TABLE(check_name text, status text, details text)'),
            ('check_attribution_quality()', '', 'TABLE(check_name text, status text, value numeric, description text)'),
            ('check_holiday_data_integrity()', '',
             'TABLE(check_type text, issue_count bigint, description text, sample_dates date[])'),
            ('monitor_system_performance()', '', 'TABLE(metric_name text, execution_time_ms numeric, status text)')
        ) AS want(sig, args, result)
        JOIN pg_proc p ON p.oid = to_regprocedure('public.' || want.sig)
        WHERE pg_get_function_arguments(p.oid) <> want.args
           OR pg_get_function_result(p.oid) <> want.result
    LOOP
        EXECUTE format('DROP FUNCTION %s', f.sig);
    END LOOP;
END
$$;

-- Milliseconds in an interval. EXTRACT(EPOCH ...) counts the whole interval;
-- EXTRACT(MILLISECONDS ...) (as in the seed) only its seconds field, so a
-- 62.5 s interval would read as 2500 ms.
CREATE OR REPLACE FUNCTION interval_to_ms(p interval)
RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT round(EXTRACT(EPOCH FROM p)::numeric * 1000, 3)
$$;

-- The primary campaign of each day in [p_start, p_end] that has an active
-- campaign: highest attribution_weight, then earliest start_date, then
-- lowest id. Computed from campaigns alone (not dim_date), so it also serves
-- days that have no dim_date row yet. Cost: the overlapping campaigns' days.
CREATE OR REPLACE FUNCTION primary_campaign_by_date(p_start date, p_end date)
RETURNS TABLE(date date, campaign_id bigint)
LANGUAGE sql STABLE
AS $$
    SELECT DISTINCT ON (active_day.date) active_day.date, c.id
    FROM campaigns c
    CROSS JOIN LATERAL (
        SELECT greatest(c.start_date, p_start) + n AS date
        FROM generate_series(0, least(c.end_date, p_end) - greatest(c.start_date, p_start)) AS n
    ) AS active_day
    WHERE c.start_date <= p_end AND c.end_date >= p_start
    ORDER BY active_day.date, c.attribution_weight DESC, c.start_date, c.id
$$;

-- The primary campaign of one day (NULL when none), in the same order as
-- primary_campaign_by_date. The range containment uses the GiST index
-- idx_campaigns_daterange, so a lookup costs log(campaigns) plus the
-- campaigns active that day, however many campaigns there are.
CREATE OR REPLACE FUNCTION primary_campaign_on(p_date date)
RETURNS bigint
LANGUAGE sql STABLE
AS $$
    SELECT c.id
    FROM campaigns c
    WHERE daterange(c.start_date, c.end_date, '[]') @> p_date
    ORDER BY c.attribution_weight DESC, c.start_date, c.id
    LIMIT 1
$$;

-- Sets dim_date.campaign_id to the primary campaign (NULL when none) for the
-- existing dim_date rows in [p_start, p_end]; returns rows changed. Driven by
-- the dim_date rows, so a campaign over dates dim_date lacks costs nothing.
CREATE OR REPLACE FUNCTION refresh_dim_date_campaigns(p_start date, p_end date)
RETURNS integer
LANGUAGE sql
AS $$
    WITH want AS (
        SELECT d.date, primary_campaign_on(d.date) AS campaign_id
        FROM dim_date d
        WHERE d.date BETWEEN p_start AND p_end
    ), changed AS (
        UPDATE dim_date d
        SET campaign_id = want.campaign_id
        FROM want
        WHERE d.date = want.date
          AND d.campaign_id IS DISTINCT FROM want.campaign_id
        RETURNING 1
    )
    SELECT count(*)::integer FROM changed
$$;

-- Makes dim_date.is_holiday / holiday_name of the given dates equal to what
-- holidays says (name of the earliest row by created_at, then id: the row
-- the seed's duplicate cleanup keeps), creating the dim_date row of a
-- holiday date that has none; returns rows inserted or changed.
CREATE OR REPLACE FUNCTION refresh_dim_date_holidays(p_dates date[])
RETURNS integer
LANGUAGE sql
AS $$
    WITH h AS (
        SELECT DISTINCT ON (h.date) h.date, h.name
        FROM holidays h
        WHERE h.date = ANY (p_dates)
        ORDER BY h.date, h.created_at, h.id
    ), flagged AS (
        INSERT INTO dim_date AS d (date, is_holiday, holiday_name, campaign_id)
        SELECT h.date, true, h.name,
               primary_campaign_on(h.date)
        FROM h
        ON CONFLICT (date) DO UPDATE
            SET is_holiday = true, holiday_name = EXCLUDED.holiday_name
            WHERE NOT d.is_holiday OR d.holiday_name IS DISTINCT FROM EXCLUDED.holiday_name
        RETURNING 1
    ), cleared AS (
        UPDATE dim_date d
        SET is_holiday = false, holiday_name = NULL
        WHERE d.date = ANY (p_dates)
          AND (d.is_holiday OR d.holiday_name IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM holidays h WHERE h.date = d.date)
        RETURNING 1
    )
    SELECT ((SELECT count(*) FROM flagged) + (SELECT count(*) FROM cleared))::integer
$$;

-- Adds the missing dates of [p_start, p_end] to dim_date with their holiday
-- flag, holiday name and primary campaign already right; returns rows added.
CREATE OR REPLACE FUNCTION ensure_dim_date(p_start date, p_end date)
RETURNS integer
LANGUAGE sql
AS $$
    WITH days AS (
        SELECT p_start + n AS date
        FROM generate_series(0, p_end - p_start) AS n
    ), h AS (
        SELECT DISTINCT ON (h.date) h.date, h.name
        FROM holidays h
        WHERE h.date BETWEEN p_start AND p_end
        ORDER BY h.date, h.created_at, h.id
    ), added AS (
        INSERT INTO dim_date (date, is_holiday, holiday_name, campaign_id)
        SELECT days.date, h.date IS NOT NULL, h.name, p.campaign_id
        FROM days
        LEFT JOIN h ON h.date = days.date
        LEFT JOIN primary_campaign_by_date(p_start, p_end) AS p ON p.date = days.date
        WHERE NOT EXISTS (SELECT 1 FROM dim_date d WHERE d.date = days.date)
        ON CONFLICT (date) DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::integer FROM added
$$;

-- Inserts a holiday; trigger_sync_holidays flags dim_date.
CREATE OR REPLACE FUNCTION add_holiday(p_date date, p_name text)
RETURNS bigint
LANGUAGE sql
AS $$
    INSERT INTO holidays (date, name) VALUES (p_date, p_name) RETURNING id
$$;

-- Repairs every dim_date holiday flag and name from holidays, after backing
-- up the rows it changes, and creates the missing dim_date rows of holiday
-- dates; returns rows changed plus rows created. The repair after a restore
-- that ran with trigger_sync_holidays disabled.
CREATE OR REPLACE FUNCTION sync_all_existing_holidays()
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_changed integer;
    v_added   integer;
BEGIN
    WITH h AS (
        SELECT DISTINCT ON (h.date) h.date, h.name
        FROM holidays h
        ORDER BY h.date, h.created_at, h.id
    ), diff AS (
        SELECT d.date, d.is_holiday, d.holiday_name, d.campaign_id, d.campaign_name,
               h.date IS NOT NULL AS want_holiday, h.name AS want_name
        FROM dim_date d
        LEFT JOIN h ON h.date = d.date
        WHERE d.is_holiday IS DISTINCT FROM (h.date IS NOT NULL)
           OR d.holiday_name IS DISTINCT FROM h.name
    ), backup AS (
        INSERT INTO dim_date_backup (date, is_holiday, holiday_name, campaign_id, campaign_name, reason)
        SELECT diff.date, diff.is_holiday, diff.holiday_name, diff.campaign_id, diff.campaign_name,
               'sync_all_existing_holidays'
        FROM diff
    )
    UPDATE dim_date d
    SET is_holiday = diff.want_holiday, holiday_name = diff.want_name
    FROM diff
    WHERE d.date = diff.date;
    GET DIAGNOSTICS v_changed = ROW_COUNT;

    WITH h AS (
        SELECT DISTINCT ON (h.date) h.date, h.name
        FROM holidays h
        WHERE NOT EXISTS (SELECT 1 FROM dim_date d WHERE d.date = h.date)
        ORDER BY h.date, h.created_at, h.id
    )
    INSERT INTO dim_date (date, is_holiday, holiday_name, campaign_id)
    SELECT h.date, true, h.name,
           primary_campaign_on(h.date)
    FROM h
    ON CONFLICT (date) DO NOTHING;
    GET DIAGNOSTICS v_added = ROW_COUNT;

    RETURN v_changed + v_added;
END
$$;

-- Clears the legacy dim_date.campaign_name where campaign_id (which
-- superseded it) is set, after backing the rows up; returns rows changed.
CREATE OR REPLACE FUNCTION cleanup_legacy_campaign_names()
RETURNS integer
LANGUAGE sql
AS $$
    WITH target AS (
        SELECT d.date, d.is_holiday, d.holiday_name, d.campaign_id, d.campaign_name
        FROM dim_date d
        WHERE d.campaign_id IS NOT NULL AND d.campaign_name IS NOT NULL
        FOR UPDATE
    ), backup AS (
        INSERT INTO dim_date_backup (date, is_holiday, holiday_name, campaign_id, campaign_name, reason)
        SELECT t.date, t.is_holiday, t.holiday_name, t.campaign_id, t.campaign_name,
               'cleanup_legacy_campaign_names'
        FROM target t
    ), changed AS (
        UPDATE dim_date d
        SET campaign_name = NULL
        FROM target t
        WHERE d.date = t.date
        RETURNING 1
    )
    SELECT count(*)::integer FROM changed
$$;

-- One day's layered attribution. Order revenue is shared among the
-- campaigns active that day in proportion to attribution_weight; each
-- campaign's entry carries all of the day's orders, since every order is
-- shared with every active campaign. Nothing is rounded, so the shares add
-- up to total_revenue.
CREATE OR REPLACE FUNCTION calculate_campaign_attributions(p_date date)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    WITH totals AS (
        SELECT count(*) AS order_count, coalesce(sum(o.total_amount), 0) AS revenue
        FROM orders o
        WHERE o.order_date = p_date
          AND o.status IN ('paid', 'processing', 'shipped', 'delivered', 'completed')
          AND o.total_amount IS NOT NULL
    ), active AS (
        SELECT c.id, c.campaign_name, c.attribution_weight,
               sum(c.attribution_weight) OVER () AS total_weight
        FROM campaigns c
        WHERE c.start_date <= p_date AND c.end_date >= p_date
    )
    SELECT jsonb_build_object(
        'date', p_date,
        'order_count', totals.order_count,
        'total_revenue', totals.revenue,
        'attributed_revenue', CASE WHEN EXISTS (SELECT 1 FROM active) THEN totals.revenue ELSE 0 END,
        'unattributed_revenue', CASE WHEN EXISTS (SELECT 1 FROM active) THEN 0 ELSE totals.revenue END,
        'campaigns', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'campaign_id', a.id,
                       'campaign_name', a.campaign_name,
                       'weight_share', a.attribution_weight / a.total_weight,
                       'attributed_revenue', totals.revenue * a.attribution_weight / a.total_weight,
                       'order_count', totals.order_count)
                   ORDER BY a.id)
            FROM active a), '[]'::jsonb))
    FROM totals
$$;

-- Revenue of [p_start, p_end] per campaign active in the period under three
-- models: layered (weight shares, as revenue_attribution_analysis), primary
-- campaign (the whole day to dim_date.campaign_id) and equal split (the day
-- divided evenly among active campaigns). Like the view, only days with a
-- dim_date row count.
CREATE OR REPLACE FUNCTION compare_attribution_methods(p_start date, p_end date)
RETURNS TABLE(campaign_id bigint, campaign_name text, layered_revenue numeric,
              primary_campaign_revenue numeric, equal_split_revenue numeric)
LANGUAGE sql STABLE
AS $$
    WITH days AS (
        SELECT o.order_date, sum(o.total_amount) AS revenue, min(dd.campaign_id) AS primary_id
        FROM orders o
        JOIN dim_date dd ON dd.date = o.order_date
        WHERE o.order_date BETWEEN p_start AND p_end
          AND o.status IN ('paid', 'processing', 'shipped', 'delivered', 'completed')
          AND o.total_amount IS NOT NULL
        GROUP BY o.order_date
    ), active AS (
        SELECT c.id, x.revenue, c.attribution_weight,
               sum(c.attribution_weight) OVER (PARTITION BY x.order_date) AS total_weight,
               count(*) OVER (PARTITION BY x.order_date) AS n_active
        FROM days x
        JOIN campaigns c ON c.start_date <= x.order_date AND c.end_date >= x.order_date
    ), shares AS (
        SELECT a.id,
               sum(a.revenue * a.attribution_weight / a.total_weight) AS layered,
               sum(a.revenue / a.n_active) AS equal_split
        FROM active a
        GROUP BY a.id
    ), prim AS (
        SELECT x.primary_id AS id, sum(x.revenue) AS revenue
        FROM days x
        WHERE x.primary_id IS NOT NULL
        GROUP BY x.primary_id
    )
    SELECT c.id, c.campaign_name,
           coalesce(s.layered, 0), coalesce(p.revenue, 0), coalesce(s.equal_split, 0)
    FROM campaigns c
    LEFT JOIN shares s ON s.id = c.id
    LEFT JOIN prim p ON p.id = c.id
    WHERE c.start_date <= p_end AND c.end_date >= p_start
    ORDER BY c.id
$$;
