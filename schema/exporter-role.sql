-- The exporter's least-privilege login role. Not part of the schema apply:
-- a DBA runs it once in each monitored database, after schema/*.sql:
--   psql -v ON_ERROR_STOP=1 -d DATABASE -f schema/exporter-role.sql
-- then sets a password (ALTER ROLE campaign_exporter PASSWORD '...') or
-- configures another authentication method. No password is kept here.
--
-- The role can read the contract's tables and view and run the checks;
-- it cannot write anything. Safe to run again, and in several databases at
-- once (the role is cluster-wide).
--
-- pg_monitor is not granted: pg_stat_user_tables / pg_stat_user_indexes and
-- the relation size functions need no extra privilege, and the exporter reads
-- nothing else that pg_monitor would unlock.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'campaign_exporter') THEN
        BEGIN
            CREATE ROLE campaign_exporter LOGIN;
            -- Defence in depth: the exporter only reads.
            ALTER ROLE campaign_exporter SET default_transaction_read_only = on;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            -- Another database's run created it between the check and here.
            NULL;
        END;
    END IF;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO campaign_exporter', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO campaign_exporter;

GRANT SELECT ON campaigns, dim_date, holidays, orders, dim_date_backup, revenue_attribution_analysis
    TO campaign_exporter;

-- The checks, and the functions they call (EXECUTE is also PUBLIC's by
-- default; granted explicitly in case a DBA revoked that).
GRANT EXECUTE ON FUNCTION
    check_campaign_system_health(),
    check_attribution_quality(),
    check_holiday_data_integrity(),
    monitor_system_performance(),
    calculate_campaign_attributions(date),
    interval_to_ms(interval)
    TO campaign_exporter;

-- pg_cron's job tables, where pg_cron is installed here. Its row-level
-- security shows a role only its own jobs unless the DBA grants more.
DO $$
BEGIN
    IF to_regnamespace('cron') IS NOT NULL THEN
        EXECUTE 'GRANT USAGE ON SCHEMA cron TO campaign_exporter';
        IF to_regclass('cron.job') IS NOT NULL THEN
            EXECUTE 'GRANT SELECT ON cron.job TO campaign_exporter';
        END IF;
        IF to_regclass('cron.job_run_details') IS NOT NULL THEN
            EXECUTE 'GRANT SELECT ON cron.job_run_details TO campaign_exporter';
        END IF;
    END IF;
END
$$;
