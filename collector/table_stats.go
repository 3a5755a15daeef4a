package collector

import (
	"context"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	registerCollector("table_stats", true, perScrape, func(o Options) Collector { return tableStatsCollector{tables: o.TableStatsTables} })
}

var (
	tableLabels       = []string{"schema", "table"}
	tableLiveRowsDesc = tableDesc("live_rows", "Estimated live rows (pg_stat_user_tables.n_live_tup).")
	tableDeadRowsDesc = tableDesc("dead_rows", "Estimated dead rows (n_dead_tup).")
	tableInsertedDesc = tableDesc("rows_inserted_total", "Rows inserted (n_tup_ins).")
	tableUpdatedDesc  = tableDesc("rows_updated_total", "Rows updated (n_tup_upd).")
	tableDeletedDesc  = tableDesc("rows_deleted_total", "Rows deleted (n_tup_del).")
	tableSizeDesc     = tableDesc("size_bytes", "Total size of the table with its indexes and TOAST.")
	tableLastAnalyze  = tableDesc("last_analyze_timestamp_seconds", "Last manual or automatic ANALYZE; 0 if never.")
	tableLastVacuum   = tableDesc("last_vacuum_timestamp_seconds", "Last manual or automatic VACUUM; 0 if never.")
	tableStatsQuery   = queries.Get("table_stats")
)

func tableDesc(name, help string) *prometheus.Desc {
	return newDesc("table", name, help, tableLabels...)
}

// tableStatsCollector reports pg_stat_user_tables for the monitored tables.
type tableStatsCollector struct{ tables []string }

var _ Collector = tableStatsCollector{}

func (c tableStatsCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	var schema, table string
	var live, dead, ins, upd, del, size int64
	var analyzed, vacuumed float64
	dest := []any{&schema, &table, &live, &dead, &ins, &upd, &del, &size, &analyzed, &vacuumed}
	return eachRow(ctx, db, tableStatsQuery, []any{c.tables}, dest, func() error {
		for _, m := range []struct {
			desc *prometheus.Desc
			typ  prometheus.ValueType
			v    float64
		}{
			{tableLiveRowsDesc, prometheus.GaugeValue, float64(live)},
			{tableDeadRowsDesc, prometheus.GaugeValue, float64(dead)},
			{tableInsertedDesc, prometheus.CounterValue, float64(ins)},
			{tableUpdatedDesc, prometheus.CounterValue, float64(upd)},
			{tableDeletedDesc, prometheus.CounterValue, float64(del)},
			{tableSizeDesc, prometheus.GaugeValue, float64(size)},
			{tableLastAnalyze, prometheus.GaugeValue, analyzed},
			{tableLastVacuum, prometheus.GaugeValue, vacuumed},
		} {
			ch <- prometheus.MustNewConstMetric(m.desc, m.typ, m.v, schema, table)
		}
		return nil
	})
}
