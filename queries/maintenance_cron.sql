-- collector "maintenance", when pg_cron is installed: each job's latest
-- finished run.
SELECT coalesce(j.jobname, j.jobid::text) AS job,
       extract(epoch FROM r.end_time)::float8 AS last_run,
       coalesce(r.status = 'succeeded', false) AS succeeded
FROM cron.job j
JOIN LATERAL (SELECT d.status, d.end_time
              FROM cron.job_run_details d
              WHERE d.jobid = j.jobid AND d.end_time IS NOT NULL
              ORDER BY d.end_time DESC
              LIMIT 1) r ON true
ORDER BY 1;
