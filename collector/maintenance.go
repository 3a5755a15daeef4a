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
	backupExpiredDesc = newDesc("backup", "expired_rows",
		"dim_date_backup rows older than the retention, which the weekly cleanup should have deleted.")
	backupOldestDesc = newDesc("backup", "oldest_row_timestamp_seconds",
		"created_at of the oldest dim_date_backup row; absent when the table is empty.")
	cronLastRunDesc = newDesc("cron", "job_last_run_timestamp_seconds",
		"When the pg_cron job's latest finished run ended.", "cron_job")
	cronLastRunSuccessDesc = newDesc("cron", "job_last_run_success",
		"1 when the pg_cron job's latest finished run succeeded, else 0.", "cron_job")
	cronLastSuccessDesc = newDesc("cron", "job_last_success_timestamp_seconds",
		"When the pg_cron job's latest succeeded run ended; absent if none in pg_cron's run history.", "cron_job")
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
	var job string
	var lastRun float64
	var ok bool
	var lastSuccess *float64
	return eachRow(ctx, db, maintenanceCronQuery, nil, []any{&job, &lastRun, &ok, &lastSuccess}, func() error {
		ch <- prometheus.MustNewConstMetric(cronLastRunDesc, prometheus.GaugeValue, lastRun, job)
		ch <- prometheus.MustNewConstMetric(cronLastRunSuccessDesc, prometheus.GaugeValue, boolValue(ok), job)
		sendIfNotNull(ch, cronLastSuccessDesc, lastSuccess, job)
		return nil
	})
}
