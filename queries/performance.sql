-- collector "performance": the system's own timing self-test.
SELECT metric_name, status, execution_time_ms::text AS execution_time_ms
FROM monitor_system_performance();
