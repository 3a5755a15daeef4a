-- revenue_attribution_analysis: the layered attribution, one row per
-- (attribution_date, campaign_id) with attributed orders; campaign_id NULL
-- for the orders of a day without an active campaign.
--
-- Orders are aggregated per day first and only the day totals meet the
-- campaigns, so the cost is one pass over orders plus days x active
-- campaigns, never orders x campaigns. Nothing is rounded: the shares of a
-- day add up to its revenue, and Revenue Balance compares the sum.
--
-- Attribution runs over the date dimension: a day's orders are attributed
-- only if the day has a dim_date row. A date missing from dim_date (never
-- added, or deleted by the seed's "clean up orphaned dim_date rows" DELETE)
-- drops its revenue out of the view, which Revenue Balance reports as FAIL;
-- ensure_dim_date() repairs it.

-- CREATE OR REPLACE VIEW can only append columns; an older copy with other
-- columns is dropped first. No CASCADE: a dependent object (such as the
-- seed's revenue_attribution_analysis_materialized) makes this fail loudly
-- rather than vanish.
DO $$
DECLARE
    v_have text;
BEGIN
    SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
    INTO v_have
    FROM pg_attribute a
    WHERE a.attrelid = to_regclass('public.revenue_attribution_analysis')
      AND a.attnum > 0 AND NOT a.attisdropped;
    IF v_have IS DISTINCT FROM 'attribution_date date, campaign_id bigint, campaign_name text, '
        'attribution_weight numeric, order_count bigint, order_revenue numeric, '
        'total_attributed_revenue numeric, avg_attribution_weight numeric'
       AND v_have IS NOT NULL THEN
        DROP VIEW revenue_attribution_analysis;
    END IF;
END
$$;

CREATE OR REPLACE VIEW revenue_attribution_analysis AS
SELECT d.order_date AS attribution_date,
       c.id AS campaign_id,
       c.campaign_name,
       c.attribution_weight,
       -- Orders of the day: each is shared with every active campaign.
       d.order_count,
       -- Revenue of the day, before sharing.
       d.order_revenue,
       CASE WHEN c.id IS NULL THEN d.order_revenue
            ELSE d.order_revenue * c.attribution_weight
                 / sum(c.attribution_weight) OVER (PARTITION BY d.order_date)
       END AS total_attributed_revenue,
       -- The campaign's share of each of the day's orders (1 when unattributed).
       CASE WHEN c.id IS NULL THEN 1::numeric
            ELSE c.attribution_weight / sum(c.attribution_weight) OVER (PARTITION BY d.order_date)
       END AS avg_attribution_weight
FROM (
    SELECT o.order_date, count(*) AS order_count, sum(o.total_amount) AS order_revenue
    FROM orders o
    WHERE o.status IN ('paid', 'processing', 'shipped', 'delivered', 'completed')
      AND o.total_amount IS NOT NULL
    GROUP BY o.order_date
) AS d
JOIN dim_date dd ON dd.date = d.order_date
LEFT JOIN campaigns c ON c.start_date <= d.order_date AND c.end_date >= d.order_date;
