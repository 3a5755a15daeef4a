package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// scenarioDB is a database with the schema, testdata/scenario.sql and the
// fault script's functions (not yet called).
func scenarioDB(t *testing.T) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	db.ApplyFile(t, "testdata/demo/faults.sql")
	return db
}

// single runs one Collector as a prometheus.Collector, for testutil.
type single struct {
	t  *testing.T
	c  Collector
	db Querier
}

func (single) Describe(chan<- *prometheus.Desc) {}

func (s single) Collect(ch chan<- prometheus.Metric) {
	if err := s.c.Update(context.Background(), s.db, ch); err != nil {
		s.t.Errorf("Update: %v", err)
	}
}

func build(name string) Collector { return factories[name].build(DefaultOptions()) }

// helps are the HELP texts of the metrics TestCollectors expects, all
// gauges: its cases list their series alone, and expo adds the rest.
var helps = map[string]string{
	"campaign_attribution_check_status":                "State of each check of check_attribution_quality(): 1 for the current status.",
	"campaign_attribution_check_value":                 "The check's value column (Revenue Balance: absolute difference; Weight Distribution: average share).",
	"campaign_backup_expired_rows":                     "dim_date_backup rows older than the retention, which the weekly cleanup should have deleted.",
	"campaign_backup_oldest_row_timestamp_seconds":     "created_at of the oldest dim_date_backup row; absent when the table is empty.",
	"campaign_cron_job_last_run_success":               "1 when the pg_cron job's latest finished run succeeded, else 0.",
	"campaign_cron_job_last_run_timestamp_seconds":     "When the pg_cron job's latest finished run ended.",
	"campaign_cron_job_last_success_timestamp_seconds": "When the pg_cron job's latest succeeded run ended; absent if none in pg_cron's run history.",
	"campaign_dim_date_stale_campaign_rows":            "dim_date rows whose campaign_id is not the date's primary campaign that update_campaign_in_dim_date_v2_trigger would set now; rows whose campaign_id matches no campaign are not counted (Campaign ID Integrity counts them).",
	"campaign_function_present":                        "1 when the contract's function exists, else 0. All are the maintenance guide's except ensure_dim_date, this project's repair helper, which a database built from the guide lacks.",
	"campaign_health_check_status":                     "State of each check of check_campaign_system_health(): 1 for the current status.",
	"campaign_health_check_value":                      "The first number in the check's details, such as the count of invalid rows.",
	"campaign_holiday_integrity_issues":                "Issues found by check_holiday_data_integrity(), by check type.",
	"campaign_index_backs_constraint":                  "1 when the index is unique or backs a primary-key, unique or exclusion constraint (needed however rarely scanned), else 0.",
	"campaign_orders":                                  "Orders with a revenue-qualifying status, NULL amounts included.",
	"campaign_orders_null_amount":                      "Orders with a revenue-qualifying status and a NULL amount.",
	"campaign_orders_revenue":                          "Summed amount of the orders with a revenue-qualifying status.",
	"campaign_performance_status":                      "State of each measurement of monitor_system_performance(): 1 for the current status.",
	"campaign_records":                                 "Exact row count of a relation of the campaign system.",
	"campaign_trigger_enabled":                         "1 when the contract's trigger exists and fires, 0 when disabled or missing.",
}

// expo is the text exposition of series, one a line: each metric's HELP
// (from helps) and TYPE lines, then its series.
func expo(series string) string {
	byName := map[string][]string{}
	var names []string
	for _, line := range strings.Split(series, "\n") {
		if line == "" {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		if _, seen := byName[name]; !seen {
			names = append(names, name)
		}
		byName[name] = append(byName[name], line)
	}
	var b strings.Builder
	for _, name := range names {
		help, ok := helps[name]
		if !ok {
			panic("no HELP text for " + name)
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s\n", name, help, name, strings.Join(byName[name], "\n"))
	}
	return b.String()
}

// checkStatus is the state set of each check, given as "name=STATE": a
// series for each of the four check states, 1 on the check's own.
func checkStatus(metric string, checks ...string) string {
	var b strings.Builder
	for _, c := range checks {
		name, state, _ := strings.Cut(c, "=")
		for _, s := range []string{"FAIL", "INFO", "PASS", "WARNING"} {
			v := 0
			if s == state {
				v = 1
			}
			fmt.Fprintf(&b, "%s{check=%q,status=%q} %d\n", metric, name, s, v)
		}
	}
	return b.String()
}

// Each collector on the scenario data, healthy and then broken the ways the
// maintenance guide's own procedures break it. The expected values follow
// from testdata/scenario.sql by hand.
func TestCollectors(t *testing.T) {
	dayAgo := time.Now().Add(-24 * time.Hour).Unix()
	// The indexes of the reference schema, and which back a constraint: the
	// primary keys only.
	schemaIndexes := `
campaign_index_backs_constraint{index="campaigns_pkey",schema="public",table="campaigns"} 1
campaign_index_backs_constraint{index="dim_date_backup_pkey",schema="public",table="dim_date_backup"} 1
campaign_index_backs_constraint{index="dim_date_pkey",schema="public",table="dim_date"} 1
campaign_index_backs_constraint{index="holidays_pkey",schema="public",table="holidays"} 1
campaign_index_backs_constraint{index="idx_campaigns_date_range",schema="public",table="campaigns"} 0
campaign_index_backs_constraint{index="idx_campaigns_daterange",schema="public",table="campaigns"} 0
campaign_index_backs_constraint{index="idx_dim_date_backup_created_at",schema="public",table="dim_date_backup"} 0
campaign_index_backs_constraint{index="idx_dim_date_campaign_id",schema="public",table="dim_date"} 0
campaign_index_backs_constraint{index="idx_holidays_date",schema="public",table="holidays"} 0
campaign_index_backs_constraint{index="idx_orders_order_date",schema="public",table="orders"} 0
campaign_index_backs_constraint{index="idx_orders_revenue_by_date",schema="public",table="orders"} 0
campaign_index_backs_constraint{index="orders_pkey",schema="public",table="orders"} 1
`
	tests := []struct {
		name      string
		collector string
		apply     string // a testdata file applied on the scenario first
		fault     string // SQL run on the scenario then
		metrics   []string
		want      string
	}{
		{
			name: "health pass", collector: "health",
			want: expo(checkStatus("campaign_health_check_status", "Campaign ID Integrity=PASS", "Campaign Overlaps=INFO", "Holiday Sync Status=PASS") + `
campaign_health_check_value{check="Campaign ID Integrity"} 0
campaign_health_check_value{check="Campaign Overlaps"} 1
campaign_health_check_value{check="Holiday Sync Status"} 0
`),
		},
		{
			// The fault script's restore with triggers off: campaign 1, the
			// primary campaign of 01-01..01-10, deleted (ten orphaned rows,
			// no overlap left), and a holiday added on 01-02, unsynced.
			name: "health fail and warning", collector: "health",
			fault:   `SELECT campaign_fault_orphan_campaign(); SELECT campaign_fault_unsynced_holiday();`,
			metrics: []string{"campaign_health_check_value"},
			want: expo(`
campaign_health_check_value{check="Campaign ID Integrity"} 10
campaign_health_check_value{check="Campaign Overlaps"} 0
campaign_health_check_value{check="Holiday Sync Status"} 1
`),
		},
		{
			name: "attribution pass", collector: "attribution",
			want: expo(checkStatus("campaign_attribution_check_status", "Revenue Balance=PASS", "Weight Distribution=INFO") + `
campaign_attribution_check_value{check="Revenue Balance"} 0
campaign_attribution_check_value{check="Weight Distribution"} 0.75
`),
		},
		{
			// The guide's orphan cleanup half done: campaign 3's dim_date rows
			// (01-20..01-25) deleted, so its day's 80.00 drops out of the view.
			// What is left is attributed to campaigns 1 and 2 alone:
			// shares 1, 2/3, 1/3.
			name: "attribution revenue imbalance", collector: "attribution",
			fault: `SELECT campaign_fault_revenue_imbalance();`,
			want: expo(checkStatus("campaign_attribution_check_status", "Revenue Balance=FAIL", "Weight Distribution=INFO") + `
campaign_attribution_check_value{check="Revenue Balance"} 80
campaign_attribution_check_value{check="Weight Distribution"} 0.6667
`),
		},
		{
			// A DBA's own check with a status of its own shows up unchanged.
			name: "attribution unknown status", collector: "attribution",
			fault: `
ALTER FUNCTION check_attribution_quality() RENAME TO check_attribution_quality_orig;
CREATE FUNCTION check_attribution_quality()
RETURNS TABLE(check_name text, status text, value numeric, description text) LANGUAGE sql AS $$
    SELECT 'Revenue Balance', 'FAIL', 12.5::numeric, 'x'
    UNION ALL SELECT 'Custom', 'DEGRADED', NULL, 'no value'
$$;`,
			metrics: []string{"campaign_attribution_check_status", "campaign_attribution_check_value"},
			want: expo(`
campaign_attribution_check_status{check="Custom",status="DEGRADED"} 1
campaign_attribution_check_status{check="Custom",status="FAIL"} 0
campaign_attribution_check_status{check="Custom",status="INFO"} 0
campaign_attribution_check_status{check="Custom",status="PASS"} 0
campaign_attribution_check_status{check="Custom",status="WARNING"} 0
campaign_attribution_check_value{check="Revenue Balance"} 12.5
` + checkStatus("campaign_attribution_check_status", "Revenue Balance=FAIL")),
		},
		{
			name: "holiday integrity pass", collector: "holiday_integrity",
			want: expo(`
campaign_holiday_integrity_issues{check_type="DUPLICATE_HOLIDAYS"} 0
campaign_holiday_integrity_issues{check_type="MISSING_HOLIDAY_FLAG"} 0
campaign_holiday_integrity_issues{check_type="ORPHANED_HOLIDAY_FLAG"} 0
`),
		},
		{
			// The fault script: a holiday added with its trigger off (01-02),
			// 01-01 entered twice, and stray flags on 01-31 and, by hand, 01-30.
			name: "holiday integrity issues", collector: "holiday_integrity",
			fault: `
SELECT campaign_fault_unsynced_holiday();
SELECT campaign_fault_duplicate_holiday();
SELECT campaign_fault_stray_holiday_flag();
UPDATE dim_date SET is_holiday = true WHERE date = '2025-01-30';`,
			want: expo(`
campaign_holiday_integrity_issues{check_type="DUPLICATE_HOLIDAYS"} 1
campaign_holiday_integrity_issues{check_type="MISSING_HOLIDAY_FLAG"} 1
campaign_holiday_integrity_issues{check_type="ORPHANED_HOLIDAY_FLAG"} 2
`),
		},
		{
			name: "performance", collector: "performance",
			metrics: []string{"campaign_performance_status"},
			want: expo(`
campaign_performance_status{measurement="Analysis View Query",status="GOOD"} 1
campaign_performance_status{measurement="Analysis View Query",status="SLOW"} 0
campaign_performance_status{measurement="Attribution Calculation",status="GOOD"} 1
campaign_performance_status{measurement="Attribution Calculation",status="SLOW"} 0
`),
		},
		{
			name: "inventory", collector: "inventory",
			want: expo(`
campaign_records{relation="campaigns"} 3
campaign_records{relation="dim_date"} 31
campaign_records{relation="holidays"} 2
campaign_records{relation="revenue_attribution_analysis"} 5
`),
		},
		{
			name: "orders", collector: "orders",
			want: expo(`
campaign_orders 5
campaign_orders_null_amount 1
campaign_orders_revenue 530
`),
		},
		{
			name: "objects pass", collector: "objects",
			metrics: []string{"campaign_trigger_enabled"},
			want: expo(`
campaign_trigger_enabled{table="campaigns",trigger="update_campaign_in_dim_date_v2_trigger"} 1
campaign_trigger_enabled{table="holidays",trigger="trigger_sync_holidays"} 1
`),
		},
		{
			// A restore that never re-enabled one trigger and dropped the other.
			name: "objects disabled and missing", collector: "objects",
			fault: `
ALTER TABLE holidays DISABLE TRIGGER trigger_sync_holidays;
DROP TRIGGER update_campaign_in_dim_date_v2_trigger ON campaigns;
DROP FUNCTION add_holiday(date, text);`,
			want: expo(`
campaign_function_present{function="add_holiday"} 0
campaign_function_present{function="calculate_campaign_attributions"} 1
campaign_function_present{function="check_attribution_quality"} 1
campaign_function_present{function="check_campaign_system_health"} 1
campaign_function_present{function="check_holiday_data_integrity"} 1
campaign_function_present{function="cleanup_legacy_campaign_names"} 1
campaign_function_present{function="compare_attribution_methods"} 1
campaign_function_present{function="ensure_dim_date"} 1
campaign_function_present{function="monitor_system_performance"} 1
campaign_function_present{function="sync_all_existing_holidays"} 1
campaign_function_present{function="sync_holiday_to_dim_date"} 1
campaign_trigger_enabled{table="campaigns",trigger="update_campaign_in_dim_date_v2_trigger"} 0
campaign_trigger_enabled{table="holidays",trigger="trigger_sync_holidays"} 0
`),
		},
		{
			// The primary keys only.
			name: "index backs constraint", collector: "index_usage",
			metrics: []string{"campaign_index_backs_constraint"},
			want:    expo(schemaIndexes),
		},
		{
			// An exclusion constraint (its GiST index is not unique), a
			// unique constraint, a unique index with no constraint, and a
			// plain index.
			name: "index backs constraint added", collector: "index_usage",
			fault: `
ALTER TABLE holidays ADD CONSTRAINT holidays_one_per_day EXCLUDE USING gist (daterange(date, date, '[]') WITH &&);
ALTER TABLE dim_date_backup ADD CONSTRAINT dim_date_backup_reason_key UNIQUE (reason);
CREATE UNIQUE INDEX orders_id_status_idx ON orders (id, status);
CREATE INDEX orders_status_idx ON orders (status);`,
			metrics: []string{"campaign_index_backs_constraint"},
			want: expo(schemaIndexes + `
campaign_index_backs_constraint{index="dim_date_backup_reason_key",schema="public",table="dim_date_backup"} 1
campaign_index_backs_constraint{index="holidays_one_per_day",schema="public",table="holidays"} 1
campaign_index_backs_constraint{index="orders_id_status_idx",schema="public",table="orders"} 1
campaign_index_backs_constraint{index="orders_status_idx",schema="public",table="orders"} 0
`),
		},
		{
			name: "campaign dates pass", collector: "campaign_dates",
			want: expo(`
campaign_dim_date_stale_campaign_rows 0
`),
		},
		{
			// Campaign edits with the campaign trigger off. Stale rows:
			// 01-05..01-10, where 2 now outweighs 1 (6); 01-20, 01-21, which
			// 3 left (2), and 01-26, 01-27, which it joined (2); 01-01,
			// dim_date's first day, where 6 has 1's weight and starts
			// earlier (1); 01-29, the new 7's day (1); 01-31, dim_date's
			// last day, where 8 starts (1). On 01-02 and 01-03, 5 has 1's
			// weight and start date: 1 stays primary, by its lower id.
			name: "campaign dates stale", collector: "campaign_dates",
			fault: `
ALTER TABLE campaigns DISABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
UPDATE campaigns SET attribution_weight = 3 WHERE id = 2;
UPDATE campaigns SET start_date = '2025-01-22', end_date = '2025-01-27' WHERE id = 3;
INSERT INTO campaigns (id, campaign_name, start_date, end_date, attribution_weight) VALUES
    (5, 'same weight and start as 1', '2025-01-01', '2025-01-03', 2),
    (6, 'same weight as 1, earlier', '2024-12-31', '2025-01-01', 2),
    (7, 'new', '2025-01-29', '2025-01-29', 1),
    (8, 'from the last day', '2025-01-31', '2025-02-05', 1);
ALTER TABLE campaigns ENABLE TRIGGER update_campaign_in_dim_date_v2_trigger;`,
			want: expo(`
campaign_dim_date_stale_campaign_rows 13
`),
		},
		{
			// Campaign 1 deleted with the trigger off: its ten days keep its
			// id. They are orphans, for Campaign ID Integrity, not counted
			// here, though 01-05..01-10 now belong to campaign 2.
			name: "campaign dates orphans not counted", collector: "campaign_dates",
			fault: `SELECT campaign_fault_orphan_campaign();`,
			want: expo(`
campaign_dim_date_stale_campaign_rows 0
`),
		},
		{
			name: "maintenance pass", collector: "maintenance",
			want: expo(`
campaign_backup_expired_rows 0
`),
		},
		{
			// A backup a day old, and pg_cron's backup cleanup whose latest
			// run succeeded after a failure (and an earlier success).
			name: "maintenance backups and cron healthy", collector: "maintenance",
			apply: "testdata/pg_cron_standin.sql",
			fault: fmt.Sprintf(`
INSERT INTO dim_date_backup (date, reason, created_at) VALUES
    ('2025-01-01', 'restore', to_timestamp(%d)),
    ('2025-01-02', 'restore', now());
INSERT INTO cron.job (jobid, jobname, schedule, command)
    VALUES (1, 'cleanup-dim-date-backup', '0 3 * * 0', 'SELECT 1');
INSERT INTO cron.job_run_details (jobid, status, start_time, end_time) VALUES
    (1, 'succeeded', '2025-01-01 03:00:00+00', '2025-01-01 03:00:01+00'),
    (1, 'failed',    '2025-01-08 03:00:00+00', '2025-01-08 03:00:02+00'),
    (1, 'succeeded', '2025-01-15 03:00:00+00', '2025-01-15 03:00:01+00');`, dayAgo),
			want: expo(fmt.Sprintf(`
campaign_backup_expired_rows 0
campaign_backup_oldest_row_timestamp_seconds %d
campaign_cron_job_last_run_success{cron_job="cleanup-dim-date-backup"} 1
campaign_cron_job_last_run_timestamp_seconds{cron_job="cleanup-dim-date-backup"} 1736910001
campaign_cron_job_last_success_timestamp_seconds{cron_job="cleanup-dim-date-backup"} 1736910001
`, dayAgo)),
		},
		{
			// Two backups past the 30 days (the oldest from 2024-11-01), one
			// recent. pg_cron: a job that failed after succeeding, an
			// unnamed one that never succeeded (a run still going is not
			// its latest), and one that never finished a run.
			name: "maintenance expired and cron failing", collector: "maintenance",
			apply: "testdata/pg_cron_standin.sql",
			fault: `
INSERT INTO dim_date_backup (date, reason, created_at) VALUES
    ('2025-01-01', 'test', '2024-12-01 00:00:00+00'),
    ('2025-01-02', 'test', '2024-11-01 00:00:00+00'),
    ('2025-01-03', 'test', now() - interval '1 day');
INSERT INTO cron.job (jobid, jobname, schedule, command) VALUES
    (1, 'refresh-attribution', '0 * * * *', 'SELECT 1'),
    (2, NULL, '0 * * * *', 'SELECT 2'),
    (3, 'never-finished', '0 * * * *', 'SELECT 3');
INSERT INTO cron.job_run_details (jobid, status, start_time, end_time) VALUES
    (1, 'succeeded', '2025-01-01 00:00:00+00', '2025-01-01 00:00:10+00'),
    (1, 'failed',    '2025-01-01 01:00:00+00', '2025-01-01 01:00:05+00'),
    (2, 'failed',    '2025-01-01 02:00:00+00', '2025-01-01 02:00:01+00'),
    (2, 'running',   '2025-01-01 03:00:00+00', NULL),
    (3, 'running',   '2025-01-01 03:00:00+00', NULL);`,
			want: expo(`
campaign_backup_expired_rows 2
campaign_backup_oldest_row_timestamp_seconds 1730419200
campaign_cron_job_last_run_success{cron_job="2"} 0
campaign_cron_job_last_run_success{cron_job="refresh-attribution"} 0
campaign_cron_job_last_run_timestamp_seconds{cron_job="2"} 1735696801
campaign_cron_job_last_run_timestamp_seconds{cron_job="refresh-attribution"} 1735693205
campaign_cron_job_last_success_timestamp_seconds{cron_job="refresh-attribution"} 1735689610
`),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := scenarioDB(t)
			if tc.apply != "" {
				db.ApplyFile(t, tc.apply)
			}
			if tc.fault != "" {
				if err := db.ExecScript(tc.fault); err != nil {
					t.Fatalf("fault: %v", err)
				}
			}
			c := single{t, build(tc.collector), db.Pool}
			if err := testutil.CollectAndCompare(c, strings.NewReader(tc.want), tc.metrics...); err != nil {
				t.Error(err)
			}
			if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
				t.Errorf("lint: %v %v", err, problems)
			}
		})
	}
}

// table_stats and index_usage report volatile numbers; check the series set
// and the values the scenario fixes.
func TestTableAndIndexStats(t *testing.T) {
	db := scenarioDB(t)
	db.FlushStats(t)
	ctx := context.Background()
	metrics, err := collect(ctx, build("table_stats"), db.Pool)
	if err != nil {
		t.Fatal(err)
	}
	// 8 metrics for each of the 5 default tables.
	if len(metrics) != 8*len(DefaultTables) {
		t.Fatalf("table_stats sent %d metrics, want %d", len(metrics), 8*len(DefaultTables))
	}
	c := single{t, build("table_stats"), db.Pool}
	if got := testutil.ToFloat64(filter(c, "campaign_table_rows_inserted_total", `table="orders"`)); got != 6 {
		t.Errorf("orders rows inserted = %v, want 6", got)
	}
	if got := testutil.ToFloat64(filter(c, "campaign_table_last_analyze_timestamp_seconds", `table="orders"`)); got <= 0 {
		t.Errorf("orders last analyze = %v, want a time (the scenario ANALYZEs)", got)
	}
	if got := testutil.ToFloat64(filter(c, "campaign_table_last_vacuum_timestamp_seconds", `table="holidays"`)); got != 0 {
		t.Errorf("holidays last vacuum = %v, want 0 (never)", got)
	}

	ic := single{t, build("index_usage"), db.Pool}
	for _, idx := range []string{"idx_campaigns_date_range", "idx_dim_date_campaign_id"} {
		if n := testutil.CollectAndCount(filter(ic, "campaign_index_size_bytes", `index="`+idx+`"`)); n != 1 {
			t.Errorf("index %s: %d size series, want 1", idx, n)
		}
	}
	for _, c := range []prometheus.Collector{c, ic} {
		if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
			t.Errorf("lint: %v %v", err, problems)
		}
	}
}

// filter keeps the metrics of one name whose labels contain match.
func filter(c prometheus.Collector, name, match string) prometheus.Collector {
	return filtered{c, name, match}
}

type filtered struct {
	c           prometheus.Collector
	name, match string
}

func (filtered) Describe(chan<- *prometheus.Desc) {}

func (f filtered) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric)
	go func() { f.c.Collect(all); close(all) }()
	for m := range all {
		d := m.Desc().String()
		if strings.Contains(d, `fqName: "`+f.name+`"`) && strings.Contains(labelString(m), f.match) {
			ch <- m
		}
	}
}

func labelString(m prometheus.Metric) string {
	var b strings.Builder
	for _, lp := range metricLabels(m) {
		b.WriteString(lp[0] + `="` + lp[1] + `" `)
	}
	return b.String()
}

// campaign_stats_reset_timestamp_seconds: the server's start while the
// database's counters were never reset, then the time of a reset.
func TestStatsReset(t *testing.T) {
	db := scenarioDB(t)
	c := filter(single{t, build("index_usage"), db.Pool}, "campaign_stats_reset_timestamp_seconds", "")
	var started float64
	db.QueryRow(t, "SELECT extract(epoch FROM pg_postmaster_start_time())::float8", []any{&started})
	if got := testutil.ToFloat64(c); got != started || got > float64(time.Now().Unix()) {
		t.Errorf("never reset: %v, want the server's start %v", got, started)
	}

	before := float64(time.Now().UnixMicro())/1e6 - 0.001
	db.Exec(t, "SELECT pg_stat_reset()")
	after := float64(time.Now().UnixMicro())/1e6 + 0.001
	if got := testutil.ToFloat64(c); got < before || got > after {
		t.Errorf("after a reset between %.3f and %.3f: %.3f", before, after, got)
	}
}

// campaign_dim_date_stale_campaign_rows against a second method: the
// reference schema's primary_campaign_on(), one GiST lookup per date, on
// the demo data after random campaign edits with the trigger off.
func TestCampaignDatesAgainstPrimaryCampaignOn(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/demo/generate.sql")
	if err := db.ExecScript(`
SELECT campaign_demo_generate(0.01);
SELECT setseed(0.7);
ALTER TABLE campaigns DISABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
UPDATE campaigns SET attribution_weight = (ARRAY[0.5, 1, 2, 3])[1 + floor(random() * 4)::int] WHERE random() < 0.3;
UPDATE campaigns SET start_date = start_date - floor(random() * 20)::int,
                     end_date = end_date + floor(random() * 20)::int WHERE random() < 0.3;
DELETE FROM campaigns WHERE id IN (SELECT id FROM campaigns ORDER BY random() LIMIT 3);
INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight)
SELECT 'late ' || i, DATE '2023-01-01' + i * 50, DATE '2023-01-01' + i * 50 + 30, 1.5 FROM generate_series(1, 5) AS i;
ALTER TABLE campaigns ENABLE TRIGGER update_campaign_in_dim_date_v2_trigger;`); err != nil {
		t.Fatal(err)
	}
	var want, orphans int
	db.QueryRow(t, `
SELECT count(*) FILTER (WHERE d.campaign_id IS DISTINCT FROM primary_campaign_on(d.date)
                          AND (d.campaign_id IS NULL OR d.campaign_id IN (SELECT id FROM campaigns))),
       count(*) FILTER (WHERE d.campaign_id NOT IN (SELECT id FROM campaigns))
FROM dim_date d`, []any{&want, &orphans})
	if want < 50 || orphans == 0 {
		t.Fatalf("the edits left %d stale rows and %d orphans; want a test with both", want, orphans)
	}
	c := single{t, build("campaign_dates"), db.Pool}
	if got := testutil.ToFloat64(c); got != float64(want) {
		t.Errorf("stale rows %v, primary_campaign_on() finds %d", got, want)
	}
}

// TestSimpleProtocol: every collector runs over the simple query protocol
// (--db.simple-protocol, for pgbouncer in transaction mode), the orders
// collector's batch included, with the same values as over the extended one.
func TestSimpleProtocol(t *testing.T) {
	t.Parallel()
	db := scenarioDB(t)
	var got [2]map[string]float64
	for i, simple := range []bool{false, true} {
		o := DefaultPoolOptions
		o.SimpleProtocol = simple
		pool, err := NewPool(db.DSN, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		e, err := New(pool, Config{Collectors: allCollectors(), Options: DefaultOptions()}, log.NewNopLogger())
		if err != nil {
			t.Fatal(err)
		}
		got[i] = scrape(t, context.Background(), e)
	}
	for _, n := range Names() {
		if got[1][success(n)] != 1 {
			t.Errorf("%s failed over the simple protocol", n)
		}
	}
	for _, name := range []string{"campaign_orders", "campaign_orders_revenue", "campaign_orders_null_amount"} {
		if got[0][name] != got[1][name] {
			t.Errorf("%s: %v over the extended protocol, %v over the simple one", name, got[0][name], got[1][name])
		}
	}
}

// TestOrdersCollectorReadsTheCoveringIndex: the orders collector, run as a
// scrape runs it, reads idx_orders_revenue_by_date and never scans orders,
// by the server's own counters (a session's counters reach them when it
// ends, so every session on the database is ended before each reading).
func TestOrdersCollectorReadsTheCoveringIndex(t *testing.T) {
	t.Parallel()
	db := scenarioDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	counters := func() (indexScans, tableScans int64) {
		t.Helper()
		db.Pool.Reset()
		for {
			var others int
			err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&others)
			if err != nil {
				t.Fatal(err)
			}
			if others == 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		db.Pool.Reset() // the session that counted: its reads are not of orders
		err := db.Pool.QueryRow(ctx, `SELECT
			(SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'idx_orders_revenue_by_date'),
			(SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'orders')`).Scan(&indexScans, &tableScans)
		if err != nil {
			t.Fatal(err)
		}
		return indexScans, tableScans
	}
	index0, table0 := counters()
	pool, err := NewPool(db.DSN, DefaultPoolOptions)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan prometheus.Metric, 8)
	err = updateOrders(ctx, pool, ch)
	pool.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 3 {
		t.Fatalf("%d metrics, want 3", len(ch))
	}
	// A session leaves pg_stat_activity a moment before its counters are
	// flushed: read until the index scan shows, then once more.
	index1, _ := counters()
	for deadline := time.Now().Add(10 * time.Second); index1 <= index0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		index1, _ = counters()
	}
	time.Sleep(100 * time.Millisecond)
	index1, table1 := counters()
	if index1 <= index0 || table1 != table0 {
		t.Errorf("the orders collector scanned the covering index %d times and orders %d times; want at least once and never",
			index1-index0, table1-table0)
	}
}
