package collector

import (
	"context"
	"fmt"
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
	attributionQuery = queries.Get("attribution")
)

// attributionCollector reports check_attribution_quality().
type attributionCollector struct{}

var _ Collector = attributionCollector{}

func (attributionCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	rows, err := db.Query(ctx, attributionQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, status, value *string
		if err := rows.Scan(&name, &status, &value); err != nil {
			return err
		}
		check, err := requireLabel("check_name", name)
		if err != nil {
			return err
		}
		st, err := requireLabel("status", status)
		if err != nil {
			return fmt.Errorf("check %q: %w", check, err)
		}
		sendStateSet(ch, attributionStatusDesc, checkStates, st, check)
		if value != nil {
			v, err := parseNumeric(*value)
			if err != nil {
				return fmt.Errorf("check %q value: %w", check, err)
			}
			ch <- prometheus.MustNewConstMetric(attributionValueDesc, prometheus.GaugeValue, v, check)
		}
	}
	return rows.Err()
}
