-- Faults on top of scenario.sql, made the way the maintenance guide's own
-- procedures make them, so the golden output shows every FAIL and WARNING:
--
-- a restore with the triggers disabled, during which campaign 3 (尾牙促銷,
-- primary campaign of 01-20..01-25) was deleted and a holiday added:
--   Campaign ID Integrity FAIL (6 rows), Holiday Sync Status WARNING (1),
--   MISSING_HOLIDAY_FLAG 1; campaign 3's order becomes unattributed, so
--   Revenue Balance still passes and Weight Distribution drops to 0.6667;
-- a holiday entered twice: DUPLICATE_HOLIDAYS 1;
-- a hand-set flag on a working day: ORPHANED_HOLIDAY_FLAG 1;
-- a backup row the weekly cleanup missed: campaign_backup_expired_rows 1.
ALTER TABLE campaigns DISABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
ALTER TABLE holidays DISABLE TRIGGER trigger_sync_holidays;
DELETE FROM campaigns WHERE campaign_name = '尾牙促銷';
INSERT INTO holidays (date, name) VALUES ('2025-01-29', '春節');
ALTER TABLE campaigns ENABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
ALTER TABLE holidays ENABLE TRIGGER trigger_sync_holidays;

INSERT INTO holidays (date, name) VALUES ('2025-01-01', '元旦');
UPDATE dim_date SET is_holiday = true WHERE date = '2025-01-14';

INSERT INTO dim_date_backup (date, reason, created_at)
VALUES ('2025-01-01', 'restore', now() - interval '45 days');
