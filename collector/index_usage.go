package collector

import (
	"context"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	registerCollector("index_usage", true, perScrape, func(o Options) Collector { return indexUsageCollector{tables: o.IndexUsageTables} })
}

var (
	indexLabels      = []string{"schema", "table", "index"}
	indexScansDesc   = indexDesc("scans_total", "Index scans started on the index (idx_scan).")
	indexReadDesc    = indexDesc("tuples_read_total", "Index entries returned by scans (idx_tup_read).")
	indexFetchedDesc = indexDesc("tuples_fetched_total", "Live table rows fetched by simple index scans (idx_tup_fetch).")
	indexSizeDesc    = indexDesc("size_bytes", "Size of the index.")
	indexConstraint  = indexDesc("backs_constraint", "1 when the index is unique or backs a primary-key, unique or exclusion constraint (needed however rarely scanned), else 0.")
	// The age of the scan counters, so that "never scanned" can be told
	// from "not scanned since the counters were reset".
	statsResetDesc = newDesc("stats", "reset_timestamp_seconds",
		"When this database's statistics counters started counting: pg_stat_database.stats_reset (set by any reset, even of one table's counters), "+
			"else the server's start time, then a lower bound of their age: since PostgreSQL 15 counters survive a clean restart.")
	indexUsageQuery      = queries.Get("index_usage")
	indexStatsResetQuery = queries.Get("index_usage_stats_reset")
)

func indexDesc(name, help string) *prometheus.Desc {
	return newDesc("index", name, help, indexLabels...)
}

// indexUsageCollector reports pg_stat_user_indexes for the monitored tables,
// and since when those counters count.
type indexUsageCollector struct{ tables []string }

var _ Collector = indexUsageCollector{}

func (c indexUsageCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	var since float64
	if err := db.QueryRow(ctx, indexStatsResetQuery).Scan(&since); err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(statsResetDesc, prometheus.GaugeValue, since)

	var schema, table, index string
	var scans, read, fetched, size int64
	var backsConstraint bool
	dest := []any{&schema, &table, &index, &scans, &read, &fetched, &size, &backsConstraint}
	return eachRow(ctx, db, indexUsageQuery, []any{c.tables}, dest, func() error {
		ch <- prometheus.MustNewConstMetric(indexScansDesc, prometheus.CounterValue, float64(scans), schema, table, index)
		ch <- prometheus.MustNewConstMetric(indexReadDesc, prometheus.CounterValue, float64(read), schema, table, index)
		ch <- prometheus.MustNewConstMetric(indexFetchedDesc, prometheus.CounterValue, float64(fetched), schema, table, index)
		ch <- prometheus.MustNewConstMetric(indexSizeDesc, prometheus.GaugeValue, float64(size), schema, table, index)
		ch <- prometheus.MustNewConstMetric(indexConstraint, prometheus.GaugeValue, boolValue(backsConstraint), schema, table, index)
		return nil
	})
}
