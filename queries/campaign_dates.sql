-- collector "campaign_dates": dim_date rows whose campaign_id is not what
-- update_campaign_in_dim_date_v2_trigger would set now, left behind when a
-- campaign's dates or weight changed (or a campaign was added) while the
-- trigger was disabled. The date's primary campaign: among the campaigns
-- active that day (start_date <= date <= end_date) the highest
-- attribution_weight, then the earliest start_date, then the lowest id;
-- NULL when none is active.
--
-- Rows whose campaign_id matches no campaign at all are not counted: they
-- are orphans, which Campaign ID Integrity (check_campaign_system_health())
-- already counts, so one fault raises one alert.
--
-- Reads the contract's tables only, so it runs on a database built from the
-- guide alone. Each campaign is expanded into its days within dim_date's
-- span and joined to dim_date by date: no index needed, and the cost is the
-- campaign-days in that span plus one pass over dim_date (a campaign that
-- never ends costs only the span).
WITH span AS (
    SELECT min(date) AS first_date, max(date) AS last_date FROM dim_date
), active AS (
    SELECT greatest(c.start_date, s.first_date) + n AS date,
           c.id, c.attribution_weight, c.start_date
    FROM span s
    JOIN campaigns c ON c.start_date <= s.last_date AND c.end_date >= s.first_date
    CROSS JOIN LATERAL generate_series(0, least(c.end_date, s.last_date) - greatest(c.start_date, s.first_date)) AS n
), primary_campaign AS (
    SELECT DISTINCT ON (a.date) a.date, a.id
    FROM active a
    ORDER BY a.date, a.attribution_weight DESC, a.start_date, a.id
)
SELECT count(*) AS stale_rows
FROM dim_date d
LEFT JOIN primary_campaign p ON p.date = d.date
WHERE d.campaign_id IS DISTINCT FROM p.id
  AND (d.campaign_id IS NULL OR EXISTS (SELECT 1 FROM campaigns c WHERE c.id = d.campaign_id));
