-- Demo data for the campaign system: apply after schema/*.sql, then
--   SELECT campaign_demo_generate(1);        -- about 100k orders
--   SELECT campaign_demo_generate(100);      -- about 10M orders, a few minutes
--
-- campaign_demo_generate(p_scale, p_seed) empties the tables and fills them:
-- dim_date for 2022-2026, 41 campaigns (8 a year with overlaps and differing
-- weights, plus a year-long low-weight membership campaign in 2024), Taiwan's
-- public holidays of those years (lunar ones as observed in those years), a
-- legacy dim_date.campaign_name on 2022's campaign days, and
-- round(100000 * p_scale) orders across all statuses with a few NULL amounts.
-- Set-based throughout; deterministic for a given seed (setseed, and rows
-- generated in a fixed order). Every check passes on the result.

CREATE OR REPLACE FUNCTION campaign_demo_generate(p_scale numeric DEFAULT 1, p_seed double precision DEFAULT 0.42)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    c_first    constant date := DATE '2022-01-01';
    c_last     constant date := DATE '2026-12-31';
    v_orders   bigint;
    v_dates    integer;
    v_campaigns bigint;
    v_holidays bigint;
BEGIN
    IF p_scale IS NULL OR p_scale < 0 THEN
        RAISE EXCEPTION 'campaign_demo_generate: scale must be >= 0, got %', p_scale;
    END IF;
    v_orders := round(100000 * p_scale);

    TRUNCATE orders, holidays, campaigns, dim_date, dim_date_backup RESTART IDENTITY;
    PERFORM setseed(p_seed);

    v_dates := ensure_dim_date(c_first, c_last);

    -- Campaigns, in id order; the trigger sets dim_date.campaign_id.
    INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight)
    SELECT x.name, x.start_date, x.start_date + x.length_days, x.weight
    FROM (
        SELECT i,
               (ARRAY['新春開運', '春季促銷', '母親節感恩', '年中慶', '夏日清涼', '中秋團圓', '雙11購物節', '週年慶'])[i % 8 + 1]
                   || ' ' || (2022 + i / 8) AS name,
               make_date(2022 + i / 8, 1, 1) + (i % 8) * 42 + floor(random() * 40)::integer AS start_date,
               7 + floor(random() * 50)::integer AS length_days,
               (ARRAY[0.5, 1, 1, 1.5, 2, 3])[1 + floor(random() * 6)::integer] AS weight
        FROM generate_series(0, 39) AS i
        ORDER BY i
    ) AS x
    ORDER BY x.i;
    INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight)
    VALUES ('會員回饋計畫 2024', DATE '2024-01-01', DATE '2024-12-31', 0.25);

    -- Taiwan's public holidays; the trigger flags dim_date.
    INSERT INTO holidays (date, name)
    SELECT make_date(y, 1, 1), '元旦' FROM generate_series(2022, 2026) AS y
    UNION ALL SELECT make_date(y, 2, 28), '和平紀念日' FROM generate_series(2022, 2026) AS y
    UNION ALL SELECT make_date(y, 5, 1), '勞動節' FROM generate_series(2022, 2026) AS y
    UNION ALL SELECT make_date(y, 10, 10), '國慶日' FROM generate_series(2022, 2026) AS y
    UNION ALL SELECT make_date(y, 9, 28), '教師節' FROM generate_series(2025, 2026) AS y
    UNION ALL SELECT make_date(y, 10, 25), '臺灣光復暨金門古寧頭大捷紀念日' FROM generate_series(2025, 2026) AS y
    UNION ALL SELECT make_date(y, 12, 25), '行憲紀念日' FROM generate_series(2025, 2026) AS y
    UNION ALL
    SELECT v.date::date, v.name
    FROM (VALUES
        ('2022-01-31', '農曆除夕'), ('2022-02-01', '春節'), ('2022-02-02', '春節'), ('2022-02-03', '春節'),
        ('2022-04-04', '兒童節'), ('2022-04-05', '民族掃墓節'), ('2022-06-03', '端午節'), ('2022-09-10', '中秋節'),
        ('2023-01-21', '農曆除夕'), ('2023-01-22', '春節'), ('2023-01-23', '春節'), ('2023-01-24', '春節'),
        ('2023-04-04', '兒童節'), ('2023-04-05', '民族掃墓節'), ('2023-06-22', '端午節'), ('2023-09-29', '中秋節'),
        ('2024-02-09', '農曆除夕'), ('2024-02-10', '春節'), ('2024-02-11', '春節'), ('2024-02-12', '春節'),
        ('2024-04-04', '民族掃墓節'), ('2024-04-05', '兒童節'), ('2024-06-10', '端午節'), ('2024-09-17', '中秋節'),
        ('2025-01-28', '農曆除夕'), ('2025-01-29', '春節'), ('2025-01-30', '春節'), ('2025-01-31', '春節'),
        ('2025-04-03', '兒童節'), ('2025-04-04', '民族掃墓節'), ('2025-05-31', '端午節'), ('2025-10-06', '中秋節'),
        ('2026-02-16', '農曆除夕'), ('2026-02-17', '春節'), ('2026-02-18', '春節'), ('2026-02-19', '春節'),
        ('2026-04-04', '兒童節'), ('2026-04-05', '民族掃墓節'), ('2026-06-19', '端午節'), ('2026-09-25', '中秋節')
    ) AS v(date, name)
    ORDER BY 1;

    -- Pre-migration rows still carry the legacy campaign name (2022 only),
    -- for cleanup_legacy_campaign_names() to find.
    UPDATE dim_date d
    SET campaign_name = c.campaign_name
    FROM campaigns c
    WHERE c.id = d.campaign_id AND d.date < DATE '2023-01-01';

    -- Orders. Each day gets a share of v_orders proportional to its demand
    -- (weekends +30%, holidays +60%, campaign days +25%, +20% a year, +-20%
    -- noise); cumulative rounding makes the counts add up to v_orders exactly.
    -- Rows are generated day by day, so ids follow order_date as in real life.
    -- random() in a select list runs after its ORDER BY, so in date order.
    WITH demand AS (
        SELECT dd.date,
               (1 + 0.3 * dd.is_weekend::integer + 0.6 * dd.is_holiday::integer
                  + 0.25 * (dd.campaign_id IS NOT NULL)::integer)
               * power(1.2, dd.year - 2022) * (0.8 + 0.4 * random()::numeric) AS weight
        FROM dim_date dd
        WHERE dd.date BETWEEN c_first AND c_last
        ORDER BY dd.date
    ), per_day AS (
        SELECT demand.date,
               round(v_orders * sum(demand.weight) OVER (ORDER BY demand.date) / sum(demand.weight) OVER ()) AS upto
        FROM demand
    ), counts AS (
        SELECT per_day.date, (per_day.upto - coalesce(lag(per_day.upto) OVER (ORDER BY per_day.date), 0))::integer AS n
        FROM per_day
    )
    INSERT INTO orders (order_date, total_amount, status, created_at)
    SELECT r.date,
           CASE WHEN r.r_null < 0.005 THEN NULL
                ELSE round((20 + 1480 * r.r_amount * r.r_amount)::numeric, 2)
           END,
           CASE WHEN r.r_status < 0.40 THEN 'completed'
                WHEN r.r_status < 0.55 THEN 'delivered'
                WHEN r.r_status < 0.63 THEN 'shipped'
                WHEN r.r_status < 0.68 THEN 'processing'
                WHEN r.r_status < 0.75 THEN 'paid'
                WHEN r.r_status < 0.83 THEN 'pending'
                WHEN r.r_status < 0.93 THEN 'cancelled'
                ELSE 'refunded'
           END,
           (r.date + make_interval(secs => floor(r.r_time * 86400)))::timestamp AT TIME ZONE 'Asia/Taipei'
    FROM (
        -- No ORDER BY: the loop over the days (sorted by the window) and each
        -- day's series already runs in a fixed order, and sorting millions of
        -- rows would cost more than inserting them.
        SELECT counts.date, random() AS r_null, random() AS r_amount, random() AS r_status, random() AS r_time
        FROM counts
        CROSS JOIN LATERAL generate_series(1, counts.n) AS g
        OFFSET 0
    ) AS r;

    ANALYZE campaigns;
    ANALYZE dim_date;
    ANALYZE holidays;
    ANALYZE orders;

    SELECT count(*) INTO v_campaigns FROM campaigns;
    SELECT count(*) INTO v_holidays FROM holidays;
    RETURN format('dim_date: %s days (%s to %s), campaigns: %s, holidays: %s, orders: %s (scale %s, seed %s)',
                  v_dates, c_first, c_last, v_campaigns, v_holidays, v_orders, p_scale, p_seed);
END
$$;
