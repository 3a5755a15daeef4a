package collector

import (
	"context"
	"fmt"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	registerCollector("holiday_integrity", true, perScrape, func(Options) Collector { return holidayIntegrityCollector{} })
}

var (
	holidayIssuesDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "holiday_integrity", "issues"),
		"Issues found by check_holiday_data_integrity(), by check type.", []string{"check_type"}, nil)
	holidayIntegrityQuery = queries.Get("holiday_integrity")
)

// holidayIntegrityCollector reports check_holiday_data_integrity().
type holidayIntegrityCollector struct{}

var _ Collector = holidayIntegrityCollector{}

func (holidayIntegrityCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	rows, err := db.Query(ctx, holidayIntegrityQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var checkType *string
		var count *int64
		if err := rows.Scan(&checkType, &count); err != nil {
			return err
		}
		ct, err := requireLabel("check_type", checkType)
		if err != nil {
			return err
		}
		if count == nil {
			return fmt.Errorf("check type %q: issue_count is NULL", ct)
		}
		ch <- prometheus.MustNewConstMetric(holidayIssuesDesc, prometheus.GaugeValue, float64(*count), ct)
	}
	return rows.Err()
}
