-- Faults on top of scenario.sql, made with the fault script
-- (testdata/demo/faults.sql, applied first), so the golden output shows
-- every FAIL and WARNING. On the scenario:
--   revenue_imbalance   campaign 3 deleted with its trigger off and its
--                       dim_date rows 01-20..01-25 cleaned up: its day's
--                       80.00 drops out of the view, Revenue Balance FAIL 80;
--   orphan_campaign     campaign 1 deleted with its trigger off: its ten
--                       primary days keep its id, Campaign ID Integrity FAIL 10;
--   unsynced_holiday    a holiday on 01-02 added with its trigger off:
--                       Holiday Sync Status WARNING 1, MISSING_HOLIDAY_FLAG 1;
--   duplicate_holiday   01-01 entered twice: DUPLICATE_HOLIDAYS 1;
--   stray_holiday_flag  01-31 flagged by hand: ORPHANED_HOLIDAY_FLAG 1;
-- and a backup row the weekly cleanup missed: campaign_backup_expired_rows 1;
-- and campaign 2 extended by a day with its trigger off: 01-16 keeps a NULL
-- campaign_id, campaign_dim_date_stale_campaign_rows 1 (the orphans are
-- Campaign ID Integrity's, not counted there).
SELECT campaign_inject_faults();

ALTER TABLE campaigns DISABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
UPDATE campaigns SET end_date = '2025-01-16' WHERE id = 2;
ALTER TABLE campaigns ENABLE TRIGGER update_campaign_in_dim_date_v2_trigger;

INSERT INTO dim_date_backup (date, reason, created_at)
VALUES ('2025-01-01', 'restore', now() - interval '45 days');
