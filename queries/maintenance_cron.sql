-- collector "maintenance", when pg_cron is installed: each job's latest
-- finished run and latest succeeded run, in one pass over the run history
-- (pg_cron keeps it unpurged unless a job deletes it). A job with no
-- finished run has no row; last_success is NULL when no run succeeded.
-- The latest run succeeded when it ended when the latest succeeded one did.
SELECT coalesce(j.jobname, j.jobid::text) AS cron_job,
       extract(epoch FROM r.last_run)::float8 AS last_run,
       coalesce(r.last_success = r.last_run, false) AS succeeded,
       extract(epoch FROM r.last_success)::float8 AS last_success
FROM cron.job j
JOIN (SELECT d.jobid,
             max(d.end_time) AS last_run,
             max(d.end_time) FILTER (WHERE d.status = 'succeeded') AS last_success
      FROM cron.job_run_details d
      WHERE d.end_time IS NOT NULL
      GROUP BY d.jobid) r ON r.jobid = j.jobid
ORDER BY 1;
