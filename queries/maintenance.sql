-- collector "maintenance": backup rows past their retention (the weekly
-- cleanup deletes them), when the oldest backup row was made (NULL when
-- there is none), and whether pg_cron's tables can be read.
-- $1: the retention in seconds.
SELECT (SELECT count(*) FROM dim_date_backup
        WHERE created_at < now() - make_interval(secs => $1::float8)) AS expired_rows,
       (SELECT extract(epoch FROM min(created_at))::float8 FROM dim_date_backup) AS oldest_row,
       to_regclass('cron.job_run_details') IS NOT NULL
         AND has_table_privilege('cron.job_run_details', 'SELECT')
         AND has_table_privilege('cron.job', 'SELECT') AS has_cron;
