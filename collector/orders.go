package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/campaign-exporter/campaign_exporter/queries"
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

// updateOrders reports the maintenance guide's order-integrity diagnosis.
func updateOrders(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	var total, nulls int64
	var revenue string
	if err := db.QueryRow(ctx, ordersQuery).Scan(&total, &revenue, &nulls); err != nil {
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
