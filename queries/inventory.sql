-- collector "inventory": exact row counts, as in the maintenance guide's
-- monitoring dashboard query. The counts grow with the tables (the view's
-- probes the orders index once per dim_date day), which is why this
-- collector is cached by default.
SELECT 'campaigns' AS relation, count(*) AS records FROM campaigns
UNION ALL
SELECT 'dim_date', count(*) FROM dim_date
UNION ALL
SELECT 'holidays', count(*) FROM holidays
UNION ALL
SELECT 'revenue_attribution_analysis', count(*) FROM revenue_attribution_analysis;
