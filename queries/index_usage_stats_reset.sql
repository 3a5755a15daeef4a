-- collector "index_usage": when this database's statistics counters
-- (the idx_scan of index_usage.sql among them) started counting: their
-- last reset, else the server's start. The start is only a lower bound of
-- their age: since PostgreSQL 15 the counters survive a clean restart.
SELECT extract(epoch FROM coalesce(d.stats_reset, pg_postmaster_start_time()))::float8 AS counting_since
FROM pg_stat_database d
WHERE d.datname = current_database();
