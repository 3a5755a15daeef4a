package collector

import (
	"context"
	"fmt"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	registerCollector("holiday_integrity", true, perScrape, func(Options) Collector { return collectorFunc(updateHolidayIntegrity) })
}

var (
	holidayIssuesDesc = newDesc("holiday_integrity", "issues",
		"Issues found by check_holiday_data_integrity(), by check type.", "check_type")
	holidayIntegrityQuery = queries.Get("holiday_integrity")
)

// updateHolidayIntegrity reports check_holiday_data_integrity().
func updateHolidayIntegrity(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	var checkType *string
	var count *int64
	return eachRow(ctx, db, holidayIntegrityQuery, nil, []any{&checkType, &count}, func() error {
		ct, err := requireLabel("check_type", checkType)
		if err != nil {
			return err
		}
		if count == nil {
			return fmt.Errorf("check type %q: issue_count is NULL", ct)
		}
		ch <- prometheus.MustNewConstMetric(holidayIssuesDesc, prometheus.GaugeValue, float64(*count), ct)
		return nil
	})
}
