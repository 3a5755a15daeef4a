-- collector "holiday_integrity": holiday data consistency issues by type.
SELECT check_type, issue_count
FROM check_holiday_data_integrity();
