package collector

import (
	"context"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	registerCollector("objects", true, perScrape, func(Options) Collector { return collectorFunc(updateObjects) })
}

var (
	triggerEnabledDesc = newDesc("trigger", "enabled",
		"1 when the contract's trigger exists and fires, 0 when disabled or missing.", "table", "trigger")
	functionPresentDesc = newDesc("function", "present",
		"1 when the contract's function exists, else 0. All are the maintenance guide's except ensure_dim_date, this project's repair helper, which a database built from the guide lacks.", "function")
	objectsQuery = queries.Get("objects")
)

// updateObjects reports the state of the contract's triggers and functions.
func updateObjects(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	var kind, table, name string
	var present bool
	return eachRow(ctx, db, objectsQuery, nil, []any{&kind, &table, &name, &present}, func() error {
		if kind == "trigger" {
			ch <- prometheus.MustNewConstMetric(triggerEnabledDesc, prometheus.GaugeValue, boolValue(present), table, name)
		} else {
			ch <- prometheus.MustNewConstMetric(functionPresentDesc, prometheus.GaugeValue, boolValue(present), name)
		}
		return nil
	})
}
