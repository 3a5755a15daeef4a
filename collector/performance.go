package collector

import (
	"time"

	"github.com/campaign-exporter/campaign_exporter/queries"
)

func init() {
	// The self-test runs an attribution and times a count of the view, work
	// for the database done to measure it: cached.
	registerCollector("performance", true, 5*time.Minute, func(Options) Collector { return performanceRows })
}

var (
	performanceDurationDesc = newDesc("performance", "duration_seconds",
		"Time a measurement of monitor_system_performance() took.", "measurement")
	performanceStatusDesc = newDesc("performance", "status",
		"State of each measurement of monitor_system_performance(): 1 for the current status.", "measurement", "status")
	// performanceRows reports monitor_system_performance(), its
	// execution_time_ms in seconds.
	performanceRows = statusRows{
		query: queries.Get("performance"), nameColumn: "metric_name", known: performanceStates,
		statusDesc: performanceStatusDesc, valueDesc: performanceDurationDesc, parse: numericValue(1e-3),
	}
)
