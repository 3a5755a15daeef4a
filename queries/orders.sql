-- collector "orders": the maintenance guide's order-integrity diagnosis.
-- The exporter runs it after SET LOCAL enable_seqscan = off, in a read-only
-- transaction of its own, so that it reads the covering index
-- idx_orders_revenue_by_date instead of orders when there is one; to time
-- it as the exporter does in psql, do the same.
SELECT count(*) AS total_orders,
       coalesce(sum(total_amount), 0)::text AS total_revenue,
       count(CASE WHEN total_amount IS NULL THEN 1 END) AS null_amount_orders
FROM orders
WHERE status IN ('paid', 'processing', 'shipped', 'delivered', 'completed');
