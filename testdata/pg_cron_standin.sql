-- A stand-in for pg_cron's job tables, for tests on servers without the
-- extension: schema cron with cron.job and cron.job_run_details, their
-- columns named and typed as in pg_cron 1.6, and no scheduler. The exporter
-- only reads them (queries/maintenance_cron.sql), so rows inserted here
-- look to it like pg_cron's own history. Safe to apply again; refuses to
-- run where the real pg_cron is installed.
--
-- A job, and its runs (pg_cron sets end_time when a run ends, succeeded or
-- failed; a run in progress has none):
--   INSERT INTO cron.job (jobid, jobname, schedule, command)
--   VALUES (1, 'cleanup-dim-date-backup', '0 3 * * 0',
--           $$DELETE FROM dim_date_backup WHERE created_at < now() - interval '30 days'$$);
--   -- a succeeded run:
--   INSERT INTO cron.job_run_details (jobid, status, start_time, end_time)
--   VALUES (1, 'succeeded', now() - interval '2 days', now() - interval '2 days' + interval '1 second');
--   -- a failed run (campaign_cron_job_last_run_success 0):
--   INSERT INTO cron.job_run_details (jobid, status, return_message, start_time, end_time)
--   VALUES (1, 'failed', 'ERROR:  permission denied for table dim_date_backup', now() - interval '1 hour', now() - interval '1 hour');
--   -- a missed run: no run since the schedule's period, i.e. the latest
--   -- succeeded end_time older than that (for a weekly job, say 9 days):
--   UPDATE cron.job_run_details SET start_time = start_time - interval '9 days', end_time = end_time - interval '9 days' WHERE jobid = 1;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is installed here: its stand-in is for servers without it';
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS cron;

CREATE SEQUENCE IF NOT EXISTS cron.jobid_seq;
CREATE TABLE IF NOT EXISTS cron.job (
    jobid    bigint  PRIMARY KEY DEFAULT nextval('cron.jobid_seq'),
    schedule text    NOT NULL,
    command  text    NOT NULL,
    nodename text    NOT NULL DEFAULT 'localhost',
    -- pg_cron's default is inet_server_port(), NULL over a Unix socket.
    nodeport integer NOT NULL DEFAULT coalesce(inet_server_port(), 5432),
    database text    NOT NULL DEFAULT current_database(),
    username text    NOT NULL DEFAULT current_user,
    active   boolean NOT NULL DEFAULT true,
    jobname  text,
    CONSTRAINT jobname_username_uniq UNIQUE (jobname, username)
);

CREATE SEQUENCE IF NOT EXISTS cron.runid_seq;
CREATE TABLE IF NOT EXISTS cron.job_run_details (
    jobid          bigint,
    runid          bigint PRIMARY KEY DEFAULT nextval('cron.runid_seq'),
    job_pid        integer,
    database       text,
    username       text,
    command        text,
    -- starting, running, sending, connecting, succeeded or failed
    status         text,
    return_message text,
    start_time     timestamptz,
    end_time       timestamptz
);

-- cron.alter_job as pg_cron 1.6 declares it: changes the given fields of a
-- job, leaves the others (NULL) as they are. No scheduler reads them here.
CREATE OR REPLACE FUNCTION cron.alter_job(job_id bigint, schedule text DEFAULT NULL, command text DEFAULT NULL,
                                          database text DEFAULT NULL, username text DEFAULT NULL, active boolean DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE cron.job j
    SET schedule = coalesce(alter_job.schedule, j.schedule),
        command  = coalesce(alter_job.command, j.command),
        database = coalesce(alter_job.database, j.database),
        username = coalesce(alter_job.username, j.username),
        active   = coalesce(alter_job.active, j.active)
    WHERE j.jobid = alter_job.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Job % does not exist or you don''t own it', job_id;
    END IF;
END
$$;
