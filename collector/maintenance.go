package collector

import (
	"context"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	registerCollector("maintenance", true, perScrape, func(o Options) Collector { return maintenanceCollector{retention: o.BackupRetention.Seconds()} })
}

// The pg_cron job's name is the label cron_job, not job: Prometheus
// overwrites a scraped job label with its scrape job's name.
var (
	backupExpiredDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "backup", "expired_rows"),
		"dim_date_backup rows older than the retention, which the weekly cleanup should have deleted.", nil, nil)
	backupOldestDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "backup", "oldest_row_timestamp_seconds"),
		"created_at of the oldest dim_date_backup row; absent when the table is empty.", nil, nil)
	cronLastRunDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "cron", "job_last_run_timestamp_seconds"),
		"When the pg_cron job's latest finished run ended.", []string{"cron_job"}, nil)
	cronLastRunSuccessDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "cron", "job_last_run_success"),
		"1 when the pg_cron job's latest finished run succeeded, else 0.", []string{"cron_job"}, nil)
	cronLastSuccessDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "cron", "job_last_success_timestamp_seconds"),
		"When the pg_cron job's latest succeeded run ended; absent if none in pg_cron's run history.", []string{"cron_job"}, nil)
	maintenanceQuery     = queries.Get("maintenance")
	maintenanceCronQuery = queries.Get("maintenance_cron")
)

// maintenanceCollector reports missed backup cleanups and, where pg_cron is
// installed, its jobs' latest runs.
type maintenanceCollector struct{ retention float64 }

var _ Collector = maintenanceCollector{}

func (c maintenanceCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	var expired int64
	var oldest *float64
	var hasCron bool
	if err := db.QueryRow(ctx, maintenanceQuery, c.retention).Scan(&expired, &oldest, &hasCron); err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(backupExpiredDesc, prometheus.GaugeValue, float64(expired))
	sendIfNotNull(ch, backupOldestDesc, oldest)
	if !hasCron {
		return nil
	}
	rows, err := db.Query(ctx, maintenanceCronQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var job string
		var lastRun float64
		var ok bool
		var lastSuccess *float64
		if err := rows.Scan(&job, &lastRun, &ok, &lastSuccess); err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(cronLastRunDesc, prometheus.GaugeValue, lastRun, job)
		ch <- prometheus.MustNewConstMetric(cronLastRunSuccessDesc, prometheus.GaugeValue, boolValue(ok), job)
		sendIfNotNull(ch, cronLastSuccessDesc, lastSuccess, job)
	}
	return rows.Err()
}
