// Package campaignsystem defines the "Campaign system" Grafana dashboard,
// written to dashboards/campaign-system.json by go generate.
//
// The helpers guarantee its conventions by construction: every panel and
// query uses the ${datasource} variable (grafana.NewPanel), every selector
// filters by $job and $instance (sel), every rate is over
// $__rate_interval with a panel min interval of 1m (rate, Dashboard), every
// panel has a unit (the panel constructors require one), and the grid
// layout is computed (grafana.Layout).
package campaignsystem

import (
	"fmt"
	"slices"
	"strings"

	"github.com/campaign-exporter/campaign_exporter/dashboards/internal/grafana"
)

// UID and Title identify the dashboard. They never change: the Helm chart
// ships the file and Grafana users import it by uid.
const (
	UID   = "campaign-system"
	Title = "Campaign system"
)

// noValue is what a stat panel shows without data, so that an empty panel
// never passes for a healthy value.
const noValue = "No data: database, exporter or collector down"

// day is a day in seconds, for age thresholds.
const day = 24 * 60 * 60

// rateMinInterval is the min interval of a panel that uses rate(): Grafana
// takes it as the scrape interval in $__rate_interval (4 x 1m), so that the
// window holds enough samples at any scrape interval up to 1m.
const rateMinInterval = "1m"

// Slow thresholds of monitor_system_performance() (schema/050_checks.sql):
// a measurement at or above them is SLOW.
const (
	attributionSlowSeconds  = 1
	analysisViewSlowSeconds = 5
)

// slowSteps colour a duration red from the SLOW threshold up.
func slowSteps(seconds float64) *grafana.Thresholds {
	return grafana.Steps("green", grafana.At(seconds, "red"))
}

// targetMatchers select the targets chosen by the $job and $instance
// variables.
var targetMatchers = []string{`job=~"$job"`, `instance=~"$instance"`}

// sel is the selector of metric on the chosen targets, with more matchers.
func sel(metric string, matchers ...string) string {
	all := append(slices.Clip(targetMatchers), matchers...)
	return metric + "{" + strings.Join(all, ", ") + "}"
}

// exporterSel is the selector of a metric of the exporter's own /metrics:
// in multi-target mode that is job campaign_exporter, whose instance is the
// exporter's address rather than a database, so it selects by job only.
func exporterSel(metric string) string {
	return metric + `{job=~"$job|campaign_exporter"}`
}

// rate is the per-second rate of the counters of selector s.
func rate(s string) string {
	return "rate(" + s + "[$__rate_interval])"
}

// instant is a query evaluated at the end of the time range.
func instant(expr, legend string) grafana.Query {
	return grafana.Query{Expr: expr, Legend: legend, Instant: true}
}

// series is a query over the time range.
func series(expr, legend string) grafana.Query {
	return grafana.Query{Expr: expr, Legend: legend}
}

// table is an instant query in table format.
func table(expr string) grafana.Query {
	return grafana.Query{Expr: expr, Table: true}
}

// sumBy sums expr by target and labels, so that the merge transformation
// of a table joins several such queries into one row per label set.
func sumBy(labels, expr string) string {
	return fmt.Sprintf("sum by (job, instance, %s) (%s)", labels, expr)
}

// value is a value column of a table: its header and its query's
// expression.
type value struct {
	header, expr string
}

// labelTable is a table of one row per target and label set, hiding
// excluded: its columns are the instance, labels, then one per value in
// order, named "Value #A", ... after the refIds grafana.NewPanel gives their
// queries.
func labelTable(title, description string, unit grafana.Unit, labels []grafana.Column, excluded []string, values ...value) *grafana.Panel {
	cols := append([]grafana.Column{grafana.Col("instance", "Instance")}, labels...)
	qs := make([]grafana.Query, len(values))
	for i, v := range values {
		cols = append(cols, grafana.Col(fmt.Sprintf("Value #%c", 'A'+i), v.header))
		qs[i] = table(v.expr)
	}
	return grafana.Table(title, description, unit, cols, excluded, qs...)
}

// stat is a stat panel that says so when it has no data.
func stat(title, description string, unit grafana.Unit, colorMode string, thresholds *grafana.Thresholds, q grafana.Query) *grafana.Panel {
	return grafana.Stat(title, description, unit, colorMode, noValue, thresholds, q)
}

// records is the overview stat of the exact row count of relation, whose
// rows the description says.
func records(title, relation, rows string) *grafana.Panel {
	return stat(title, rows+". Exact count, as in the maintenance guide's dashboard query.", grafana.UnitShort, grafana.StatPlain, grafana.Steps("text"),
		series(sel("campaign_records", `relation="`+relation+`"`), "{{instance}}")).
		Size(4, 4)
}

// checksIn counts the health and attribution checks whose status is status.
func checksIn(status string) string {
	return fmt.Sprintf("(sum(%s))\n+ (sum(%s))",
		sel("campaign_health_check_status", `status="`+status+`"`),
		sel("campaign_attribution_check_status", `status="`+status+`"`))
}

// statusCodes maps the status of each check of metric to the codes of
// statusMapping; a check in PASS is 0, as every term is for it.
func statusCodes(metric string) string {
	return fmt.Sprintf(`max by (job, instance, check) (
  %s * 1
  or %s * 2
  or %s * 3
  or %s * 4
)`, sel(metric, `status="INFO"`), sel(metric, `status="WARNING"`), sel(metric, `status="FAIL"`),
		sel(metric, `status!~"PASS|INFO|WARNING|FAIL"`))
}

// Value mappings shared by several panels.
var (
	// statusMapping names the status codes of the check state timelines.
	statusMapping = grafana.ValueMapping(grafana.Text("PASS", "green"), grafana.Text("INFO", "blue"),
		grafana.Text("WARNING", "orange"), grafana.Text("FAIL", "red"), grafana.Text("OTHER", "purple"))
	upMapping      = grafana.ValueMapping(grafana.Text("DOWN", "red"), grafana.Text("UP", "green"))
	successMapping = grafana.ValueMapping(grafana.Text("FAILED", "red"), grafana.Text("OK", "green"))
)

// Dashboard returns the dashboard.
func Dashboard() (*grafana.Dashboard, error) {
	panels, err := grafana.Layout(rows()...)
	if err != nil {
		return nil, err
	}
	for _, p := range panels {
		if p, ok := p.(*grafana.Panel); ok && usesRate(p) {
			p.MinInterval(rateMinInterval)
		}
	}
	return &grafana.Dashboard{
		Annotations:   grafana.BuiltInAnnotations,
		Description:   "Health, attribution quality, holiday integrity, performance self-test, table and index statistics of the campaign attribution system, from campaign_exporter.",
		Editable:      true,
		GraphTooltip:  1, // shared crosshair
		Links:         []grafana.Link{},
		Panels:        panels,
		Refresh:       "1m",
		SchemaVersion: grafana.SchemaVersion,
		Tags:          []string{"campaign", "postgresql"},
		Templating: grafana.Templating{List: []grafana.Variable{
			grafana.DatasourceVariable("datasource", "Data source", "prometheus"),
			grafana.QueryVariable("job", "Job", "label_values(campaign_up, job)"),
			grafana.QueryVariable("instance", "Instance", `label_values(campaign_up{job=~"$job"}, instance)`),
		}},
		Time:    grafana.TimeRange{From: "now-6h", To: "now"},
		Title:   Title,
		UID:     UID,
		Version: 1,
	}, nil
}

// JSON returns the dashboard as the file dashboards/campaign-system.json
// holds it.
func JSON() ([]byte, error) {
	d, err := Dashboard()
	if err != nil {
		return nil, err
	}
	return grafana.Marshal(d)
}

// usesRate reports whether a target of p calls rate().
func usesRate(p *grafana.Panel) bool {
	for _, t := range p.Targets {
		if strings.Contains(t.Expr, "[$__rate_interval]") {
			return true
		}
	}
	return false
}

// rows are the dashboard's rows and panels, in order; sizes are in grid
// units (24 columns), positions are computed.
func rows() []*grafana.Row {
	return []*grafana.Row{
		grafana.NewRow("Overview",
			stat("Checks passing", "Health and attribution checks whose current status is PASS, summed over the selected instances. INFO checks (Campaign Overlaps, Weight Distribution) are informational and counted neither here nor as failures.", grafana.UnitShort, grafana.StatBackground, grafana.Steps("blue"),
				instant(checksIn("PASS"), "passing")).
				Size(4, 4),
			stat("Checks in WARNING", "Health and attribution checks whose current status is WARNING (Holiday Sync Status: holidays not synced to dim_date). Run sync_all_existing_holidays() to repair.", grafana.UnitShort, grafana.StatBackground, grafana.Steps("green", grafana.At(1, "orange")),
				instant(checksIn("WARNING"), "warning")).
				Size(4, 4),
			stat("Checks in FAIL", "Health and attribution checks whose current status is FAIL (Campaign ID Integrity: orphaned campaign_id in dim_date; Revenue Balance: attributed revenue differs from order revenue by more than 0.01).", grafana.UnitShort, grafana.StatBackground, grafana.Steps("green", grafana.At(1, "red")),
				instant(checksIn("FAIL"), "fail")).
				Size(4, 4),
			stat("Database reachable", "campaign_up: 1 when the exporter's last scrape reached the database. Check values are absent or stale while it is down.", grafana.UnitNone, grafana.StatBackground, grafana.Steps("red", grafana.At(1, "green")),
				instant(sel("campaign_up"), "{{instance}}")).Mappings(upMapping).
				Size(4, 4),
			stat("Holiday integrity issues", "Sum of issue_count over all rows of check_holiday_data_integrity(): holidays missing their dim_date flag, orphaned flags and duplicate holiday dates.", grafana.UnitShort, grafana.StatBackground, grafana.Steps("green", grafana.At(1, "orange")),
				instant(fmt.Sprintf("sum(%s)", sel("campaign_holiday_integrity_issues")), "issues")).
				Size(4, 4),
			stat("Slow performance measurements", "Measurements of monitor_system_performance() whose status is SLOW (attribution calculation >= 1 s, analysis view query >= 5 s).", grafana.UnitShort, grafana.StatBackground, grafana.Steps("green", grafana.At(1, "orange")),
				instant(fmt.Sprintf("sum(%s)", sel("campaign_performance_status", `status="SLOW"`)), "slow")).
				Size(4, 4),
			stat("Attribution calculation time", "Time calculate_campaign_attributions(CURRENT_DATE) took in the last performance self-test. GOOD below 1 s.", grafana.UnitSeconds, grafana.StatValue, slowSteps(attributionSlowSeconds),
				series(sel("campaign_performance_duration_seconds", `measurement="Attribution Calculation"`), "{{instance}}")).
				Size(4, 4),
			stat("Analysis view query time", "Time a full count over revenue_attribution_analysis took in the last performance self-test. GOOD below 5 s.", grafana.UnitSeconds, grafana.StatValue, slowSteps(analysisViewSlowSeconds),
				series(sel("campaign_performance_duration_seconds", `measurement="Analysis View Query"`), "{{instance}}")).
				Size(4, 4),
			records("Campaigns", "campaigns", "Rows in campaigns"),
			records("Dates", "dim_date", "Rows in dim_date"),
			records("Holidays", "holidays", "Rows in holidays"),
			records("Attribution records", "revenue_attribution_analysis", "Rows in the revenue_attribution_analysis view: one per (attribution_date, campaign_id) with attributed orders"),
		),
		grafana.NewRow("Health checks",
			grafana.StateTimeline("Health check status", "Status of every row of check_campaign_system_health() over time. Campaign ID Integrity FAILs on dim_date rows pointing to a missing campaign; Holiday Sync Status WARNs on holiday dates not flagged in dim_date; Campaign Overlaps is always INFO. OTHER is a status outside PASS/INFO/WARNING/FAIL.", grafana.Steps("green"), statusMapping,
				series(statusCodes("campaign_health_check_status"), "{{check}} ({{instance}})")).
				Size(12, 8),
			grafana.TimeSeries("Health check values", "The number in each health check's details: invalid campaign_id rows in dim_date, holiday dates not synced to dim_date, and overlapping campaign pairs.", grafana.UnitShort, nil,
				series(sel("campaign_health_check_value"), "{{check}} ({{instance}})")).Decimals(0).
				Size(12, 8),
		),
		grafana.NewRow("Attribution quality",
			grafana.StateTimeline("Attribution check status", "Status of every row of check_attribution_quality() over time. Revenue Balance FAILs when attributed revenue differs from qualifying order revenue by more than 0.01; Weight Distribution is always INFO.", grafana.Steps("green"), statusMapping,
				series(statusCodes("campaign_attribution_check_status"), "{{check}} ({{instance}})")).
				Size(8, 8),
			grafana.TimeSeries("Revenue balance difference", "Revenue Balance value: abs(original revenue - attributed revenue), in the orders' currency. Above 0.01 (red line) the attribution is wrong: see the orders panels and recreate the attribution function.", grafana.UnitNone, grafana.Steps("green", grafana.At(0.01, "red")),
				series(sel("campaign_attribution_check_value", `check="Revenue Balance"`), "{{instance}}")).Decimals(2).
				Size(8, 8),
			grafana.TimeSeries("Average attribution weight share", "Weight Distribution value: the average share an attributed order gives each of its campaigns (1 when campaigns never overlap). Unusually low or high: check the campaigns' attribution_weight.", grafana.UnitPercentOne, nil,
				series(sel("campaign_attribution_check_value", `check="Weight Distribution"`), "{{instance}}")).Min(0).Max(1).
				Size(8, 8),
		),
		grafana.NewRow("Holiday integrity",
			grafana.BarGauge("Holiday integrity issues by type", "Current issue_count per check_holiday_data_integrity() row. MISSING_HOLIDAY_FLAG: holiday not flagged in dim_date (is trigger_sync_holidays enabled?); ORPHANED_HOLIDAY_FLAG: dim_date flag without a holiday; DUPLICATE_HOLIDAYS: dates with several holidays rows.", grafana.UnitShort, grafana.Steps("green", grafana.At(1, "orange"), grafana.At(10, "red")),
				instant(sel("campaign_holiday_integrity_issues"), "{{check_type}} ({{instance}})")).
				Size(8, 8),
			grafana.TimeSeries("Holiday integrity issues over time", "issue_count per check_type over time. A rise after a restore usually means trigger_sync_holidays was left disabled; sync_all_existing_holidays() repairs the flags.", grafana.UnitShort, nil,
				series(sel("campaign_holiday_integrity_issues"), "{{check_type}} ({{instance}})")).Decimals(0).
				Size(16, 8),
		),
		grafana.NewRow("Performance self-test",
			grafana.TimeSeries("Attribution calculation time", "Execution time of calculate_campaign_attributions(CURRENT_DATE) measured by monitor_system_performance(). The red line is the 1 s threshold above which the function reports SLOW.", grafana.UnitSeconds, slowSteps(attributionSlowSeconds),
				series(sel("campaign_performance_duration_seconds", `measurement="Attribution Calculation"`), "{{instance}}")).
				Size(8, 8),
			grafana.TimeSeries("Analysis view query time", "Execution time of a full count over revenue_attribution_analysis measured by monitor_system_performance(). The red line is the 5 s threshold above which the function reports SLOW.", grafana.UnitSeconds, slowSteps(analysisViewSlowSeconds),
				series(sel("campaign_performance_duration_seconds", `measurement="Analysis View Query"`), "{{instance}}")).
				Size(8, 8),
			grafana.StateTimeline("Performance status", "Status monitor_system_performance() reports per measurement: GOOD, SLOW, or OTHER for a status outside those two.", grafana.Steps("green"), grafana.ValueMapping(grafana.Text("GOOD", "green"), grafana.Text("SLOW", "red"), grafana.Text("OTHER", "purple")),
				series(fmt.Sprintf(`max by (job, instance, measurement) (
  %s * 1
  or %s * 2
)`, sel("campaign_performance_status", `status="SLOW"`), sel("campaign_performance_status", `status!~"GOOD|SLOW"`)), "{{measurement}} ({{instance}})")).
				Size(8, 8),
		),
		grafana.NewRow("Inventory, orders and revenue",
			grafana.TimeSeries("Records by relation", "Exact row counts of campaigns, dim_date, holidays and the revenue_attribution_analysis view.", grafana.UnitShort, nil,
				series(sel("campaign_records"), "{{relation}} ({{instance}})")).Decimals(0).
				Size(8, 8),
			grafana.TimeSeries("Qualifying orders", "Orders whose status is paid, processing, shipped, delivered or completed (NULL amounts included), and those of them with a NULL total_amount. NULL-amount orders carry no revenue and are not attributed.", grafana.UnitShort, nil,
				series(sel("campaign_orders"), "orders ({{instance}})"),
				series(sel("campaign_orders_null_amount"), "NULL amount ({{instance}})")).Decimals(0).
				Size(8, 8),
			grafana.TimeSeries("Order revenue", "Summed total_amount of qualifying orders, in the orders' currency: the original revenue the Revenue Balance check compares with the attributed revenue.", grafana.UnitShort, nil,
				series(sel("campaign_orders_revenue"), "{{instance}}")).
				Size(8, 8),
			stat("Orders with NULL amount", "Qualifying orders whose total_amount is NULL (the maintenance guide's null_amount_orders). They should be fixed at the source.", grafana.UnitShort, grafana.StatBackground, grafana.Steps("green", grafana.At(1, "orange")),
				instant(sel("campaign_orders_null_amount"), "{{instance}}")).
				Size(6, 4),
			stat("Share of orders with NULL amount", "NULL-amount orders as a fraction of qualifying orders.", grafana.UnitPercentOne, grafana.StatBackground, grafana.Steps("green", grafana.At(0.001, "orange"), grafana.At(0.01, "red")),
				instant(fmt.Sprintf(`%s
/ clamp_min(%s, 1)`, sel("campaign_orders_null_amount"), sel("campaign_orders")), "{{instance}}")).
				Size(6, 4),
			stat("Expired backup rows", "dim_date_backup rows older than the retention (30 days by default) that the weekly cleanup should have deleted.", grafana.UnitShort, grafana.StatBackground, grafana.Steps("green", grafana.At(1, "orange")),
				instant(sel("campaign_backup_expired_rows"), "{{instance}}")).
				Size(6, 4),
			stat("Overlapping campaign pairs", "Campaign Overlaps (INFO): pairs of campaigns whose date ranges overlap. Orders on those days are shared among the active campaigns by attribution_weight.", grafana.UnitShort, grafana.StatPlain, grafana.Steps("text"),
				series(sel("campaign_health_check_value", `check="Campaign Overlaps"`), "{{instance}}")).
				Size(6, 4),
		),
		grafana.NewRow("Tables",
			labelTable("Table statistics", "Per monitored table: live and dead rows, total relation size (table, indexes and TOAST), and time since the last ANALYZE and VACUUM (manual or automatic). Empty age cells mean never.", grafana.UnitShort,
				[]grafana.Column{grafana.Col("schema", "Schema"), grafana.Col("table", "Table")},
				[]string{"Time", "job"},
				value{"Live rows", sumBy("schema, table", sel("campaign_table_live_rows"))},
				value{"Dead rows", sumBy("schema, table", sel("campaign_table_dead_rows"))},
				value{"Size", sumBy("schema, table", sel("campaign_table_size_bytes"))},
				value{"Since last analyze", sumBy("schema, table", fmt.Sprintf("time() - (%s > 0)", sel("campaign_table_last_analyze_timestamp_seconds")))},
				value{"Since last vacuum", sumBy("schema, table", fmt.Sprintf("time() - (%s > 0)", sel("campaign_table_last_vacuum_timestamp_seconds")))},
			).SortBy("Size", true).
				Override(grafana.ByName("Size", grafana.UnitOf(grafana.UnitBytes))).
				Override(grafana.ByName("Since last analyze", grafana.UnitOf(grafana.UnitSeconds))).
				Override(grafana.ByName("Since last vacuum", grafana.UnitOf(grafana.UnitSeconds))).
				Override(grafana.ByName("Dead rows", grafana.CellsOf("color-text", ""), grafana.ThresholdsOf(grafana.Steps("text", grafana.At(1000, "orange"))))).
				Size(24, 8),
			grafana.TimeSeries("Row writes per second", "Rows inserted, updated and deleted per second per table (rate of the pg_stat_user_tables counters). Min interval 1m, so that $__rate_interval spans at least four samples at any scrape interval up to 1m.", grafana.UnitShort, nil,
				series(rate(sel("campaign_table_rows_inserted_total")), "{{table}} inserted ({{instance}})"),
				series(rate(sel("campaign_table_rows_updated_total")), "{{table}} updated ({{instance}})"),
				series(rate(sel("campaign_table_rows_deleted_total")), "{{table}} deleted ({{instance}})")).AxisLabel("rows/s").
				Size(12, 8),
			grafana.TimeSeries("Live and dead rows", "Estimated live and dead tuples per table. Dead rows that keep growing mean vacuum is not keeping up.", grafana.UnitShort, nil,
				series(sel("campaign_table_live_rows"), "{{table}} live ({{instance}})"),
				series(sel("campaign_table_dead_rows"), "{{table}} dead ({{instance}})")).Decimals(0).
				Size(12, 8),
			grafana.TimeSeries("Table size", "Total relation size per table: heap, indexes and TOAST.", grafana.UnitBytes, nil,
				series(sel("campaign_table_size_bytes"), "{{table}} ({{instance}})")).
				Size(12, 8),
			grafana.TimeSeries("Time since last analyze", "Age of the latest manual or automatic ANALYZE per table. The maintenance guide runs ANALYZE weekly; the orange line marks 7 days.", grafana.UnitSeconds, grafana.Steps("green", grafana.At(7*day, "orange")),
				series(fmt.Sprintf("time() - (%s > 0)", sel("campaign_table_last_analyze_timestamp_seconds")), "{{table}} ({{instance}})")).
				Size(12, 8),
		),
		grafana.NewRow("Indexes",
			labelTable("Index usage", "Per index of the monitored tables: scans, tuples read and fetched since statistics were last reset, and size. Never-scanned indexes are red: candidates for removal, or a sign that queries miss them; idx_campaigns_date_range and idx_dim_date_campaign_id are expected to be used.", grafana.UnitShort,
				[]grafana.Column{grafana.Col("schema", "Schema"), grafana.Col("table", "Table"), grafana.Col("index", "Index")},
				[]string{"Time", "job"},
				value{"Scans", sumBy("schema, table, index", sel("campaign_index_scans_total"))},
				value{"Tuples read", sumBy("schema, table, index", sel("campaign_index_tuples_read_total"))},
				value{"Tuples fetched", sumBy("schema, table, index", sel("campaign_index_tuples_fetched_total"))},
				value{"Size", sumBy("schema, table, index", sel("campaign_index_size_bytes"))},
			).SortBy("Scans", false).
				Override(grafana.ByName("Scans", grafana.CellsOf("color-background", "basic"), grafana.ThresholdsOf(grafana.Steps("red", grafana.At(1, "transparent"))))).
				Override(grafana.ByName("Size", grafana.UnitOf(grafana.UnitBytes))).
				Size(16, 9),
			stat("Never-scanned indexes", "Indexes with zero scans since statistics were last reset.", grafana.UnitShort, grafana.StatBackground, grafana.Steps("green", grafana.At(1, "orange")),
				instant(fmt.Sprintf(`count(%s == 0)
or
(0 * count(%s == 1))`, sel("campaign_index_scans_total"), sel("campaign_collector_success", `collector="index_usage"`)), "never scanned")).
				Size(8, 4),
			stat("Size of never-scanned indexes", "Disk space taken by indexes with zero scans: what dropping them would save, and what every write to their tables pays for.", grafana.UnitBytes, grafana.StatBackground, grafana.Steps("green", grafana.At(1<<20, "orange")),
				instant(fmt.Sprintf(`sum(%s
  and on (job, instance, schema, table, index) (%s == 0))
or
(0 * count(%s == 1))`, sel("campaign_index_size_bytes"), sel("campaign_index_scans_total"), sel("campaign_collector_success", `collector="index_usage"`)), "size")).
				Size(8, 5),
			grafana.TimeSeries("Index scans per second", "Index scans per second per index. Min interval 1m, so that $__rate_interval spans at least four samples at any scrape interval up to 1m.", grafana.UnitShort, nil,
				series(rate(sel("campaign_index_scans_total")), "{{table}}.{{index}} ({{instance}})")).AxisLabel("scans/s").
				Size(12, 8),
			grafana.BarGauge("Index size", "Current size per index.", grafana.UnitBytes, grafana.Steps("blue"),
				instant(sel("campaign_index_size_bytes"), "{{table}}.{{index}} ({{instance}})")).
				Size(12, 8),
		),
		grafana.NewRow("Triggers and functions",
			grafana.StateTimeline("Triggers", "Whether trigger_sync_holidays and update_campaign_in_dim_date_v2_trigger are enabled. The restore procedure disables both; while one is disabled, dim_date silently drifts from holidays and campaigns.", grafana.Steps("red", grafana.At(1, "green")), grafana.ValueMapping(grafana.Text("DISABLED or MISSING", "red"), grafana.Text("ENABLED", "green")),
				series(sel("campaign_trigger_enabled"), "{{table}}.{{trigger}} ({{instance}})")).
				Size(12, 7),
			stat("Functions", "Whether every function of the campaign system exists in the database. A missing function means its collector fails or a check cannot run: install it from the reference schema.", grafana.UnitNone, grafana.StatBackground, grafana.Steps("red", grafana.At(1, "green")),
				instant(sel("campaign_function_present"), "{{function}}")).WithNames().Mappings(grafana.ValueMapping(grafana.Text("MISSING", "red"), grafana.Text("present", "green"))).
				Size(12, 7),
		),
		grafana.NewRow("Exporter",
			stat("Scrape target up", "Prometheus's up for the exporter: 0 means Prometheus cannot scrape the exporter at all (every other panel goes stale).", grafana.UnitNone, grafana.StatBackground, grafana.Steps("red", grafana.At(1, "green")),
				instant(sel("up"), "{{instance}}")).Mappings(upMapping).
				Size(6, 4),
			stat("Failing collectors", "Enabled collectors whose data in the last scrape is not from a successful run.", grafana.UnitShort, grafana.StatBackground, grafana.Steps("green", grafana.At(1, "red")),
				instant(fmt.Sprintf(`count(%s == 0)
or
(0 * count(%s))`, sel("campaign_collector_success"), sel("campaign_up")), "failing")).
				Size(6, 4),
			grafana.Table("Build", "Exporter version, revision, branch and Go version per instance. Build information lives on the exporter's own /metrics: job campaign_exporter in multi-target mode (whose instance is the exporter, not a database), the database's job in single-database mode; so this panel selects by job only.", grafana.UnitNone,
				[]grafana.Column{grafana.Col("instance", "Instance"), grafana.Col("version", "Version"), grafana.Col("revision", "Revision"), grafana.Col("branch", "Branch"), grafana.Col("goversion", "Go version"), grafana.Col("tags", "Tags")},
				[]string{"Time", "Value", "__name__", "job"},
				table(exporterSel("campaign_exporter_build_info"))).
				Size(12, 4),
			grafana.StateTimeline("Collector success", "Per collector: whether its data in each scrape came from a successful database run. All collectors report failure while the database is down.", grafana.Steps("red", grafana.At(1, "green")), successMapping,
				series(sel("campaign_collector_success"), "{{collector}} ({{instance}})")).
				Size(12, 8),
			grafana.TimeSeries("Data age", "Time since each collector last fetched its data successfully. It grows with the collector's cache interval and keeps growing while the collector fails.", grafana.UnitSeconds, nil,
				series(fmt.Sprintf("time() - %s", sel("campaign_collector_last_success_timestamp_seconds")), "{{collector}} ({{instance}})")).
				Size(12, 8),
			grafana.TimeSeries("Collector duration", "How long each collector's last database run took.", grafana.UnitSeconds, nil,
				series(sel("campaign_collector_duration_seconds"), "{{collector}} ({{instance}})")).
				Size(12, 8),
			grafana.TimeSeries("Scrape duration", "How long Prometheus's scrape of the exporter took. Compare with the scrape timeout.", grafana.UnitSeconds, nil,
				series(sel("scrape_duration_seconds"), "{{instance}}")).
				Size(12, 8),
			labelTable("Collectors", "Per collector: success of the last scrape, duration of the last database run, and when its data was last fetched successfully.", grafana.UnitShort,
				[]grafana.Column{grafana.Col("collector", "Collector")},
				[]string{"Time", "job"},
				value{"Success", sumBy("collector", sel("campaign_collector_success"))},
				value{"Duration", sumBy("collector", sel("campaign_collector_duration_seconds"))},
				value{"Last success", sumBy("collector", sel("campaign_collector_last_success_timestamp_seconds")) + " * 1000"}, // ms, for the dateTime unit
				value{"Data age", sumBy("collector", fmt.Sprintf("time() - %s", sel("campaign_collector_last_success_timestamp_seconds")))},
			).SortBy("Collector", false).
				Override(grafana.ByName("Success", grafana.UnitOf(grafana.UnitNone), grafana.MappingsOf(successMapping), grafana.CellsOf("color-text", ""))).
				Override(grafana.ByName("Duration", grafana.UnitOf(grafana.UnitSeconds))).
				Override(grafana.ByName("Last success", grafana.UnitOf(grafana.UnitDateTime))).
				Override(grafana.ByName("Data age", grafana.UnitOf(grafana.UnitSeconds))).
				Size(24, 8),
		),
		grafana.NewRow("Maintenance and pg_cron",
			labelTable("pg_cron jobs", "Each pg_cron job's latest run (label cron_job: pg_cron's own job name; a label named job would be overwritten by Prometheus). Last run OK is 0 when the latest run failed (CampaignCronJobFailed); the ages show a job that stopped (CampaignCronJobMissed). Empty where pg_cron is not installed.", grafana.UnitSeconds,
				[]grafana.Column{grafana.Col("cron_job", "Job")},
				[]string{"Time", "__name__", "job"},
				value{"Last run OK", sel("campaign_cron_job_last_run_success")},
				value{"Since last run", fmt.Sprintf("time() - %s", sel("campaign_cron_job_last_run_timestamp_seconds"))},
				value{"Since last success", fmt.Sprintf("time() - %s", sel("campaign_cron_job_last_success_timestamp_seconds"))},
			).SortBy("Job", false).
				Override(grafana.ByName("Last run OK", grafana.UnitOf(grafana.UnitBoolYesNo), grafana.CellsOf("color-background", ""), grafana.ThresholdsOf(grafana.Steps("red", grafana.At(1, "green"))))).
				Size(16, 7),
			stat("Stale campaign dates", "dim_date rows whose campaign_id is not the primary campaign the campaign trigger would set now (orphans excluded). Not 0: CampaignDimDateStaleCampaign.", grafana.UnitShort, grafana.StatBackground, grafana.Steps("green", grafana.At(1, "red")),
				instant(sel("campaign_dim_date_stale_campaign_rows"), "{{instance}}")).
				Size(4, 7),
			stat("Oldest backup row", "Age of the oldest dim_date_backup row. The weekly cleanup keeps it under 37 days; older than 38: CampaignBackupCleanupMissed. Empty when the table is empty.", grafana.UnitSeconds, grafana.StatBackground, grafana.Steps("green", grafana.At(38*day, "orange")),
				instant(fmt.Sprintf("time() - %s", sel("campaign_backup_oldest_row_timestamp_seconds")), "{{instance}}")).
				NoValue("No backup rows (or no data)").
				Size(4, 7),
		),
	}
}
