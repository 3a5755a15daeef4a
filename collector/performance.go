package collector

import (
	"context"
	"fmt"
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
	performanceQuery = queries.Get("performance")
)

// performanceCollector reports monitor_system_performance().
type performanceCollector struct{}

var _ Collector = performanceCollector{}

func (performanceCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	rows, err := db.Query(ctx, performanceQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, ms, status *string
		if err := rows.Scan(&name, &ms, &status); err != nil {
			return err
		}
		measurement, err := requireLabel("metric_name", name)
		if err != nil {
			return err
		}
		st, err := requireLabel("status", status)
		if err != nil {
			return fmt.Errorf("measurement %q: %w", measurement, err)
		}
		sendStateSet(ch, performanceStatusDesc, performanceStates, st, measurement)
		if ms != nil {
			v, err := parseNumeric(*ms)
			if err != nil {
				return fmt.Errorf("measurement %q execution_time_ms: %w", measurement, err)
			}
			ch <- prometheus.MustNewConstMetric(performanceDurationDesc, prometheus.GaugeValue, v/1000, measurement)
		}
	}
	return rows.Err()
}
