-- collector "attribution": attribution quality checks. value is read as text
-- so that NaN and numbers beyond float8 are parsed, not rejected, by the exporter.
SELECT check_name, status, value::text AS value
FROM check_attribution_quality();
