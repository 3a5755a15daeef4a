-- collector "performance": the system's own timing self-test.
SELECT metric_name, execution_time_ms::text AS execution_time_ms, status
FROM monitor_system_performance();
