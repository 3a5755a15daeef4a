-- collector "orders": the maintenance guide's order-integrity diagnosis.
SELECT count(*) AS total_orders,
       coalesce(sum(total_amount), 0)::text AS total_revenue,
       count(CASE WHEN total_amount IS NULL THEN 1 END) AS null_amount_orders
FROM orders
WHERE status IN ('paid', 'processing', 'shipped', 'delivered', 'completed');
