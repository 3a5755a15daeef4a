-- collector "maintenance": backup rows past their retention (the weekly
-- cleanup deletes them), and whether pg_cron's tables can be read.
-- $1: the retention in seconds.
SELECT (SELECT count(*) FROM dim_date_backup
        WHERE created_at < now() - make_interval(secs => $1::float8)) AS expired_rows,
       to_regclass('cron.job_run_details') IS NOT NULL
         AND has_table_privilege('cron.job_run_details', 'SELECT')
         AND has_table_privilege('cron.job', 'SELECT') AS has_cron;
