-- The "attribution" collector's query with the description column too, for
-- the check command's table and JSON: the collector reads the leading
-- columns, which are those of attribution.sql.
SELECT check_name, status, value::text AS value, description
FROM check_attribution_quality();
