package collector

import (
	"context"
	"time"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	// Revenue Balance reads every qualifying order: cached by default.
	registerCollector("attribution", true, 5*time.Minute, func(Options) Collector { return attributionCollector{} })
}

var (
	attributionStatusDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "attribution", "check_status"),
		"State of each check of check_attribution_quality(): 1 for the current status.", []string{"check", "status"}, nil)
	attributionValueDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "attribution", "check_value"),
		"The check's value column (Revenue Balance: absolute difference; Weight Distribution: average share).", []string{"check"}, nil)
	attributionRows = statusRows{
		query: queries.Get("attribution"), nameColumn: "check_name", known: checkStates,
		statusDesc: attributionStatusDesc, valueDesc: attributionValueDesc, parse: numericValue(1),
	}
)

// attributionCollector reports check_attribution_quality().
type attributionCollector struct{}

var _ Collector = attributionCollector{}

func (attributionCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	return attributionRows.update(ctx, db, ch)
}
