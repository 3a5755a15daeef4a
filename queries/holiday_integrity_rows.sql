-- The "holiday_integrity" collector's query with the description and
-- sample dates too, for the check command's table and JSON: the collector
-- reads the leading columns, which are those of holiday_integrity.sql.
SELECT check_type, issue_count, description, sample_dates::text AS sample_dates
FROM check_holiday_data_integrity();
