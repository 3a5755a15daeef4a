package collector

import (
	"context"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	registerCollector("objects", true, perScrape, func(Options) Collector { return objectsCollector{} })
}

var (
	triggerEnabledDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "trigger", "enabled"),
		"1 when the contract's trigger exists and fires, 0 when disabled or missing.", []string{"table", "trigger"}, nil)
	functionPresentDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "function", "present"),
		"1 when the contract's function exists, else 0. All are the maintenance guide's except ensure_dim_date, this project's repair helper, which a database built from the guide lacks.", []string{"function"}, nil)
	objectsQuery = queries.Get("objects")
)

// objectsCollector reports the state of the contract's triggers and functions.
type objectsCollector struct{}

var _ Collector = objectsCollector{}

func (objectsCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	rows, err := db.Query(ctx, objectsQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, table, name string
		var present bool
		if err := rows.Scan(&kind, &table, &name, &present); err != nil {
			return err
		}
		if kind == "trigger" {
			ch <- prometheus.MustNewConstMetric(triggerEnabledDesc, prometheus.GaugeValue, boolValue(present), table, name)
		} else {
			ch <- prometheus.MustNewConstMetric(functionPresentDesc, prometheus.GaugeValue, boolValue(present), name)
		}
	}
	return rows.Err()
}
