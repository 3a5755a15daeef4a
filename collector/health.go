package collector

import (
	"context"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	registerCollector("health", true, perScrape, func(Options) Collector { return healthCollector{} })
}

var (
	healthStatusDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "health", "check_status"),
		"State of each check of check_campaign_system_health(): 1 for the current status.", []string{"check", "status"}, nil)
	healthValueDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "health", "check_value"),
		"The first number in the check's details, such as the count of invalid rows.", []string{"check"}, nil)
	healthRows = statusRows{
		query: queries.Get("health"), nameColumn: "check_name", known: checkStates,
		statusDesc: healthStatusDesc, valueDesc: healthValueDesc, parse: detailsNumber,
	}
)

// healthCollector reports check_campaign_system_health().
type healthCollector struct{}

var _ Collector = healthCollector{}

func (healthCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	return healthRows.update(ctx, db, ch)
}
