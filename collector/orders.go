package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	// A full scan of orders: cached by default.
	registerCollector("orders", true, 5*time.Minute, func(Options) Collector { return collectorFunc(updateOrders) })
}

var (
	ordersDesc = newDesc("", "orders",
		"Orders with a revenue-qualifying status, NULL amounts included.")
	ordersRevenueDesc = newDesc("orders", "revenue",
		"Summed amount of the orders with a revenue-qualifying status.")
	ordersNullDesc = newDesc("orders", "null_amount",
		"Orders with a revenue-qualifying status and a NULL amount.")
	ordersQuery = queries.Get("orders")
)

// OrdersSettings are the settings the orders collector runs its query with
// (SET LOCAL, see updateOrders), for whoever times the query as it runs.
func OrdersSettings() []string { return []string{"enable_seqscan = off"} }

// updateOrders reports the maintenance guide's order-integrity diagnosis.
//
// The query runs with sequential scans off, in a transaction of its own (one
// round trip), as check_attribution_quality() runs its own total: with the
// reference schema's covering index idx_orders_revenue_by_date it then
// reads the index alone, half the work of reading orders. On a narrow
// orders table the planner would otherwise read orders, priced a hair
// cheaper. Without such an index the sequential scan still runs, as the
// only plan.
func updateOrders(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	var total, nulls int64
	var revenue string
	b, q := LocalBatch(OrdersSettings(), ordersQuery)
	q.QueryRow(func(r pgx.Row) error { return r.Scan(&total, &revenue, &nulls) })
	if err := db.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	rev, err := parseNumeric(revenue)
	if err != nil {
		return fmt.Errorf("total_revenue: %w", err)
	}
	ch <- prometheus.MustNewConstMetric(ordersDesc, prometheus.GaugeValue, float64(total))
	ch <- prometheus.MustNewConstMetric(ordersRevenueDesc, prometheus.GaugeValue, rev)
	ch <- prometheus.MustNewConstMetric(ordersNullDesc, prometheus.GaugeValue, float64(nulls))
	return nil
}
