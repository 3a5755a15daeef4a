-- collector "health": the campaign system's health checks, one row each.
SELECT check_name, status, details
FROM check_campaign_system_health();
