package collector

import (
	"context"
	"time"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	// Counting the attribution view reads every qualifying order: cached.
	registerCollector("inventory", true, 5*time.Minute, func(Options) Collector { return inventoryCollector{} })
}

var (
	inventoryDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "records"),
		"Exact row count of a relation of the campaign system.", []string{"relation"}, nil)
	inventoryQuery = queries.Get("inventory")
)

// inventoryCollector reports the exact counts of the maintenance guide's
// monitoring dashboard.
type inventoryCollector struct{}

var _ Collector = inventoryCollector{}

func (inventoryCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	rows, err := db.Query(ctx, inventoryQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var relation string
		var n int64
		if err := rows.Scan(&relation, &n); err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(inventoryDesc, prometheus.GaugeValue, float64(n), relation)
	}
	return rows.Err()
}
