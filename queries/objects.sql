-- collector "objects": whether the contract's triggers are enabled and its
-- functions exist, as seen through the session's search_path.
-- tgenabled: O and A fire in normal sessions; D is disabled; R fires only
-- on replicas, so it counts as disabled here.
SELECT 'trigger' AS kind, t.tbl AS table_name, t.trg AS object_name,
       coalesce((SELECT bool_or(tg.tgenabled IN ('O', 'A'))
                 FROM pg_trigger tg
                 JOIN pg_class c ON c.oid = tg.tgrelid
                 WHERE c.relname = t.tbl
                   AND tg.tgname = t.trg
                   AND NOT tg.tgisinternal
                   AND pg_table_is_visible(c.oid)), false) AS present
FROM (VALUES ('holidays', 'trigger_sync_holidays'),
             ('campaigns', 'update_campaign_in_dim_date_v2_trigger')) AS t(tbl, trg)
UNION ALL
SELECT 'function', '', f.name,
       EXISTS (SELECT 1 FROM pg_proc p
               WHERE p.proname = f.name AND pg_function_is_visible(p.oid))
FROM unnest(ARRAY[
       'check_campaign_system_health',
       'check_attribution_quality',
       'check_holiday_data_integrity',
       'calculate_campaign_attributions',
       'compare_attribution_methods',
       'monitor_system_performance',
       'add_holiday',
       'sync_all_existing_holidays',
       'cleanup_legacy_campaign_names',
       'sync_holiday_to_dim_date',
       -- not in the guide: this project's repair helper
       'ensure_dim_date']) AS f(name)
ORDER BY 1, 2, 3;
