package collector

import (
	"context"
	"fmt"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	registerCollector("health", true, 0, func(Options) Collector { return healthCollector{} })
}

var (
	healthStatusDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "health", "check_status"),
		"State of each check of check_campaign_system_health(): 1 for the current status.", []string{"check", "status"}, nil)
	healthValueDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "health", "check_value"),
		"The first number in the check's details, such as the count of invalid rows.", []string{"check"}, nil)
	healthQuery = queries.Get("health")
)

// healthCollector reports check_campaign_system_health().
type healthCollector struct{}

var _ Collector = healthCollector{}

func (healthCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	rows, err := db.Query(ctx, healthQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, status, details *string
		if err := rows.Scan(&name, &status, &details); err != nil {
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
		sendStateSet(ch, healthStatusDesc, checkStates, st, check)
		if details != nil {
			if v, ok := firstNumber(*details); ok {
				ch <- prometheus.MustNewConstMetric(healthValueDesc, prometheus.GaugeValue, v, check)
			}
		}
	}
	return rows.Err()
}
