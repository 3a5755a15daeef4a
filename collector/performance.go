package collector

import (
	"context"
	"time"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	// The self-test runs the attribution and counts the whole view: cached.
	registerCollector("performance", true, 5*time.Minute, func(Options) Collector { return performanceCollector{} })
}

var (
	performanceDurationDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "performance", "duration_seconds"),
		"Time a measurement of monitor_system_performance() took.", []string{"measurement"}, nil)
	performanceStatusDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "performance", "status"),
		"State of each measurement of monitor_system_performance(): 1 for the current status.", []string{"measurement", "status"}, nil)
	// execution_time_ms in seconds.
	performanceRows = statusRows{
		query: queries.Get("performance"), nameColumn: "metric_name", known: performanceStates,
		statusDesc: performanceStatusDesc, valueDesc: performanceDurationDesc, parse: numericValue(1e-3),
	}
)

// performanceCollector reports monitor_system_performance().
type performanceCollector struct{}

var _ Collector = performanceCollector{}

func (performanceCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	return performanceRows.update(ctx, db, ch)
}
