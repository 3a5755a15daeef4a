-- collector "index_usage": usage of the monitored tables' indexes.
-- $1: the monitored table names (text[]).
SELECT s.schemaname,
       s.relname,
       s.indexrelname,
       s.idx_scan,
       s.idx_tup_read,
       s.idx_tup_fetch,
       pg_relation_size(s.indexrelid) AS size_bytes
FROM pg_stat_user_indexes s
WHERE s.relname = ANY ($1::text[])
ORDER BY s.schemaname, s.relname, s.indexrelname;
