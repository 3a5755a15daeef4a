-- A small, fully known data set for the collector and end-to-end tests:
-- every expected metric value follows from these rows by hand.
--
-- January 2025; three campaigns, two of them overlapping on 01-05..01-10:
--   1 新年檔期  01-01..01-10 weight 2
--   2 冬季特賣  01-05..01-15 weight 1
--   3 尾牙促銷  01-20..01-25 weight 1
-- Qualifying revenue 530.00 over 5 orders (one with a NULL amount):
--   01-02 100.00 -> campaign 1 alone (share 1)
--   01-06 300.00 -> campaigns 1 and 2 (shares 2/3 and 1/3)
--   01-17  50.00 -> no campaign (unattributed)
--   01-21  80.00 -> campaign 3 alone (share 1)
-- Weight Distribution: mean of 1, 2/3, 1/3, 1 = 0.7500.
SELECT ensure_dim_date('2025-01-01', '2025-01-31');

INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight) VALUES
    ('新年檔期', '2025-01-01', '2025-01-10', 2),
    ('冬季特賣', '2025-01-05', '2025-01-15', 1),
    ('尾牙促銷', '2025-01-20', '2025-01-25', 1);

SELECT add_holiday('2025-01-01', '中華民國開國紀念日');
SELECT add_holiday('2025-01-28', '農曆除夕');

INSERT INTO orders (order_date, total_amount, status) VALUES
    ('2025-01-02', 100.00, 'paid'),
    ('2025-01-06', 300.00, 'completed'),
    ('2025-01-06', NULL, 'paid'),
    ('2025-01-17', 50.00, 'shipped'),
    ('2025-01-21', 80.00, 'delivered'),
    ('2025-01-21', 999.00, 'cancelled');

ANALYZE;
