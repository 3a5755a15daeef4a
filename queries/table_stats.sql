-- collector "table_stats": statistics of the monitored tables.
-- $1: the monitored table names (text[]).
SELECT s.schemaname,
       s.relname,
       s.n_live_tup,
       s.n_dead_tup,
       s.n_tup_ins,
       s.n_tup_upd,
       s.n_tup_del,
       pg_total_relation_size(s.relid) AS size_bytes,
       -- greatest() skips NULLs; 0 means never.
       coalesce(extract(epoch FROM greatest(s.last_analyze, s.last_autoanalyze)), 0)::float8 AS last_analyze,
       coalesce(extract(epoch FROM greatest(s.last_vacuum, s.last_autovacuum)), 0)::float8 AS last_vacuum
FROM pg_stat_user_tables s
WHERE s.relname = ANY ($1::text[])
ORDER BY s.schemaname, s.relname;
