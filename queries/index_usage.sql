-- collector "index_usage": usage of the monitored tables' indexes, and
-- whether each is unique or backs a primary-key, unique or exclusion
-- constraint (dropping it would change what the table accepts, however
-- rarely it is scanned).
-- $1: the monitored table names (text[]).
SELECT s.schemaname,
       s.relname,
       s.indexrelname,
       s.idx_scan,
       s.idx_tup_read,
       s.idx_tup_fetch,
       pg_relation_size(s.indexrelid) AS size_bytes,
       i.indisunique OR i.indisprimary
         OR EXISTS (SELECT 1 FROM pg_constraint c
                    WHERE c.conindid = s.indexrelid
                      AND c.conrelid = s.relid
                      AND c.contype IN ('p', 'u', 'x')) AS backs_constraint
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.relname = ANY ($1::text[])
ORDER BY s.schemaname, s.relname, s.indexrelname;
