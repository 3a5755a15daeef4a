package collector

import (
	"context"
	"time"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	// Exact counts grow with the tables, the view's with dim_date: cached.
	registerCollector("inventory", true, 5*time.Minute, func(Options) Collector { return collectorFunc(updateInventory) })
}

var (
	inventoryDesc = newDesc("", "records",
		"Exact row count of a relation of the campaign system.", "relation")
	inventoryQuery = queries.Get("inventory")
)

// updateInventory reports the exact counts of the maintenance guide's
// monitoring dashboard.
func updateInventory(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	var relation string
	var n int64
	return eachRow(ctx, db, inventoryQuery, nil, []any{&relation, &n}, func() error {
		ch <- prometheus.MustNewConstMetric(inventoryDesc, prometheus.GaugeValue, float64(n), relation)
		return nil
	})
}
