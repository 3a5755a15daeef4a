package dashboards

// The dashboard is generated (internal/campaignsystem), so its conventions
// hold by construction: the ${datasource} variable, $job/$instance
// matchers, $__rate_interval with a 1m min interval, units, unique ids and
// a computed grid. These tests check what construction cannot: that the
// committed JSON is the generator's output, and what the dashboard means
// (metrics the exporter emits, thresholds equal to the check functions',
// status counts, no made-up data). PromQL syntax is not checked here:
// the end-to-end suite (e2e/, make e2e) runs every query on a real
// Prometheus and requires data from it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/campaign-exporter/campaign_exporter/alerts"
	"github.com/campaign-exporter/campaign_exporter/dashboards/internal/campaignsystem"
)

const (
	// defaultGolden is the exporter's end-to-end output, the metric
	// catalogue; alerts.GoldenEnv overrides it.
	defaultGolden = "../testdata/e2e-output.txt"
	// checksSQL defines monitor_system_performance(), whose GOOD/SLOW
	// boundaries the performance panels draw.
	checksSQL = "../schema/050_checks.sql"
)

// jsonPanel is the part of a panel the tests read.
type jsonPanel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	FieldConfig struct {
		Defaults struct {
			Unit       string `json:"unit"`
			NoValue    string `json:"noValue"`
			Thresholds struct {
				Steps []struct {
					Color string   `json:"color"`
					Value *float64 `json:"value"`
				} `json:"steps"`
			} `json:"thresholds"`
			Custom struct {
				ThresholdsStyle struct {
					Mode string `json:"mode"`
				} `json:"thresholdsStyle"`
			} `json:"custom"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []jsonPanel `json:"panels"` // children of a collapsed row
}

type jsonDashboard struct {
	UID        string      `json:"uid"`
	Title      string      `json:"title"`
	Panels     []jsonPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

func loadDashboard(t *testing.T) jsonDashboard {
	t.Helper()
	var d jsonDashboard
	if err := json.Unmarshal(CampaignSystem, &d); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	return d
}

// allPanels returns every panel, including rows and the children of
// collapsed rows.
func allPanels(d jsonDashboard) []jsonPanel {
	var out []jsonPanel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

func queries(t *testing.T) []Query {
	t.Helper()
	qs, err := Queries(CampaignSystem)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) == 0 {
		t.Fatal("dashboard has no queries")
	}
	return qs
}

func queryName(q Query) string {
	return fmt.Sprintf("panel %d %q target %s", q.PanelID, q.PanelTitle, q.RefID)
}

func TestGeneratedJSONIsCurrent(t *testing.T) {
	want, err := campaignsystem.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(CampaignSystem, want) {
		return
	}
	got, gen := strings.Split(string(CampaignSystem), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(got), len(gen)) {
		if got[i] != gen[i] {
			t.Fatalf("campaign-system.json is not the generator's output (run go generate ./dashboards/); line %d:\n  file:      %s\n  generated: %s",
				i+1, got[i], gen[i])
		}
	}
	t.Fatalf("campaign-system.json is not the generator's output (run go generate ./dashboards/): %d lines, generated %d",
		len(got), len(gen))
}

// TestIdentity: the Helm chart ships the file and Grafana users import it;
// a new uid would make a second dashboard beside theirs.
func TestIdentity(t *testing.T) {
	d := loadDashboard(t)
	if d.UID != "campaign-system" || d.Title != "Campaign system" {
		t.Errorf("uid %q, title %q; want campaign-system, Campaign system", d.UID, d.Title)
	}
}

// labelValuesRE matches a Grafana label_values(selector, label) variable
// query, which is not PromQL.
var labelValuesRE = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

// TestMetricsAreEmitted checks every metric and label matcher of every
// query and variable against the exporter's real end-to-end output (plus
// Prometheus's own up and scrape_duration_seconds, and the pg_cron metrics
// the end-to-end suite checks on its stand-in).
func TestMetricsAreEmitted(t *testing.T) {
	c, path, err := alerts.LoadCatalogue(defaultGolden)
	if err != nil {
		t.Fatal(err)
	}
	check := func(where, expr string) {
		sels, err := alerts.Selectors(expr)
		if err != nil {
			t.Errorf("%s: %v in %q", where, err, expr)
			return
		}
		if len(sels) == 0 {
			t.Errorf("%s selects no metric: %q", where, expr)
		}
		for _, s := range sels {
			for _, problem := range c.Check(s) {
				t.Errorf("%s: %s (%s)", where, problem, path)
			}
		}
	}
	for _, q := range queries(t) {
		check(queryName(q), q.Expr)
	}
	for _, v := range loadDashboard(t).Templating.List {
		if v.Definition == "" {
			continue // the data source variable
		}
		m := labelValuesRE.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(selector, label)", v.Name, v.Definition)
			continue
		}
		check("variable "+v.Name, m[1])
	}
}

// TestCoverage guards the dashboard's scope: the metrics, checks and
// measurements that each must appear in some query.
func TestCoverage(t *testing.T) {
	used := map[string]bool{}
	var all strings.Builder
	for _, q := range queries(t) {
		sels, err := alerts.Selectors(q.Expr)
		if err != nil {
			t.Fatalf("%s: %v", queryName(q), err)
		}
		for _, s := range sels {
			used[s.Metric] = true
		}
		all.WriteString(q.Expr + "\n")
	}
	for _, want := range []string{
		"campaign_up", "campaign_health_check_status", "campaign_health_check_value",
		"campaign_attribution_check_status", "campaign_attribution_check_value",
		"campaign_holiday_integrity_issues", "campaign_performance_duration_seconds",
		"campaign_performance_status", "campaign_records", "campaign_orders",
		"campaign_orders_revenue", "campaign_orders_null_amount",
		"campaign_table_live_rows", "campaign_table_dead_rows",
		"campaign_table_rows_inserted_total", "campaign_table_rows_updated_total",
		"campaign_table_rows_deleted_total", "campaign_table_size_bytes",
		"campaign_table_last_analyze_timestamp_seconds",
		"campaign_index_scans_total", "campaign_index_size_bytes",
		"campaign_trigger_enabled", "campaign_function_present",
		"campaign_collector_success", "campaign_collector_duration_seconds",
		"campaign_collector_last_success_timestamp_seconds",
		"campaign_exporter_build_info", "up", "scrape_duration_seconds",
		"campaign_cron_job_last_run_success", "campaign_cron_job_last_run_timestamp_seconds",
		"campaign_cron_job_last_success_timestamp_seconds", "campaign_dim_date_stale_campaign_rows",
		"campaign_backup_oldest_row_timestamp_seconds",
	} {
		if !used[want] {
			t.Errorf("no query selects %s", want)
		}
	}
	for _, want := range []string{
		`check="Revenue Balance"`, `check="Weight Distribution"`,
		`measurement="Attribution Calculation"`, `measurement="Analysis View Query"`,
	} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no query matches %s", want)
		}
	}
}

// TestNeverGreenWhileBlind: no query turns missing data into a number
// (`or vector(0)` reads 0 when the database or the exporter is down), and
// every stat panel says what no data means.
func TestNeverGreenWhileBlind(t *testing.T) {
	vectorRE := regexp.MustCompile(`\bvector\s*\(`)
	for _, q := range queries(t) {
		if vectorRE.MatchString(q.Expr) {
			t.Errorf("%s: vector() makes up data where there is none: %q", queryName(q), q.Expr)
		}
	}
	for _, p := range allPanels(loadDashboard(t)) {
		if p.Type == "stat" && p.FieldConfig.Defaults.NoValue == "" {
			t.Errorf("panel %d %q: no noValue text: an empty stat must not look like a value", p.ID, p.Title)
		}
	}
}

// TestStatusCounts checks the overview counts: PASS, WARNING and FAIL each
// counted over both health and attribution checks, and INFO never counted as
// a failure (the maintenance guide's query counts status != 'PASS').
func TestStatusCounts(t *testing.T) {
	qs := queries(t)
	for _, tt := range []struct{ title, status string }{
		{"Checks passing", "PASS"},
		{"Checks in WARNING", "WARNING"},
		{"Checks in FAIL", "FAIL"},
	} {
		var found bool
		for _, q := range qs {
			if q.PanelTitle != tt.title {
				continue
			}
			found = true
			for _, metric := range []string{"campaign_health_check_status", "campaign_attribution_check_status"} {
				if !strings.Contains(q.Expr, metric+`{job=~"$job", instance=~"$instance", status="`+tt.status+`"}`) {
					t.Errorf("%s does not count %s of %s: %q", queryName(q), tt.status, metric, q.Expr)
				}
			}
		}
		if !found {
			t.Errorf("no panel titled %q", tt.title)
		}
	}
	for _, q := range qs {
		if strings.Contains(q.Expr, `status!="PASS"`) || strings.Contains(q.Expr, `status!~"PASS"`) {
			t.Errorf("%s counts every non-PASS status (INFO included) as failed: %q", queryName(q), q.Expr)
		}
	}
}

// slowBoundaryRE finds, in monitor_system_performance(), each measurement's
// name and the milliseconds below which it is GOOD.
var slowBoundaryRE = regexp.MustCompile(`(?s)metric_name := '([^']+)';.*?CASE WHEN ms < ([0-9.]+) THEN 'GOOD' ELSE 'SLOW' END`)

// TestPerformanceThresholds checks that every panel of a performance
// measurement's duration turns red at the boundary at which
// monitor_system_performance() reports SLOW, read from the function itself,
// and that a time series draws it.
func TestPerformanceThresholds(t *testing.T) {
	sql, err := os.ReadFile(checksSQL)
	if err != nil {
		t.Fatal(err)
	}
	boundaries := slowBoundaryRE.FindAllStringSubmatch(string(sql), -1)
	if len(boundaries) != 2 {
		t.Fatalf("%s: found %d GOOD/SLOW boundaries in monitor_system_performance(), want 2", checksSQL, len(boundaries))
	}
	panels := allPanels(loadDashboard(t))
	for _, b := range boundaries {
		measurement := b[1]
		ms, err := strconv.ParseFloat(b[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		seconds := ms / 1000
		var timeSeries int
		for _, p := range panels {
			var selects bool
			for _, tg := range p.Targets {
				selects = selects || strings.Contains(tg.Expr, `campaign_performance_duration_seconds{`) &&
					strings.Contains(tg.Expr, `measurement="`+measurement+`"`)
			}
			if !selects {
				continue
			}
			name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			d := p.FieldConfig.Defaults
			if d.Unit != "s" {
				t.Errorf("%s: unit %q, want s", name, d.Unit)
			}
			var red bool
			for _, s := range d.Thresholds.Steps {
				red = red || s.Color == "red" && s.Value != nil && *s.Value == seconds
			}
			if !red {
				t.Errorf("%s: no red threshold at %v s, where %s becomes SLOW", name, seconds, measurement)
			}
			if p.Type == "timeseries" {
				timeSeries++
				if mode := d.Custom.ThresholdsStyle.Mode; mode == "" || mode == "off" {
					t.Errorf("%s: thresholds are not drawn (thresholdsStyle.mode %q)", name, mode)
				}
			}
		}
		if timeSeries == 0 {
			t.Errorf("no time series panel shows %q", measurement)
		}
	}
}

func TestQueriesRecursesIntoCollapsedRows(t *testing.T) {
	dash := []byte(`{"panels": [
		{"id": 1, "type": "stat", "title": "Top", "targets": [{"refId": "A", "expr": "campaign_up", "instant": true}]},
		{"id": 2, "type": "row", "title": "Row", "collapsed": true, "panels": [
			{"id": 3, "type": "timeseries", "title": "Nested", "targets": [
				{"refId": "A", "expr": "rate(x[$__rate_interval])", "instant": false, "range": true},
				{"refId": "B", "expr": ""}
			]}
		]},
		{"id": 4, "type": "table", "title": "After", "targets": [{"refId": "C", "expr": "up", "instant": true, "range": false}]}
	]}`)
	got, err := Queries(dash)
	if err != nil {
		t.Fatal(err)
	}
	want := []Query{
		{PanelID: 1, PanelTitle: "Top", RefID: "A", Expr: "campaign_up", Instant: true},
		{PanelID: 3, PanelTitle: "Nested", RefID: "A", Expr: "rate(x[$__rate_interval])"},
		{PanelID: 4, PanelTitle: "After", RefID: "C", Expr: "up", Instant: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Queries() =\n%+v\nwant\n%+v", got, want)
	}
	if _, err := Queries([]byte("{")); err == nil {
		t.Error("Queries accepted invalid JSON")
	}
}

func TestSubstitute(t *testing.T) {
	vars := map[string]string{"job": "campaign", "instance": "db1|db2"}
	tests := []struct{ in, want string }{
		{`up{job=~"$job", instance=~"$instance"}`, `up{job=~"campaign", instance=~"db1|db2"}`},
		{`up{job=~"${job}", instance=~"${instance:regex}"}`, `up{job=~"campaign", instance=~"db1|db2"}`},
		{`rate(x[$__rate_interval])`, `rate(x[1m])`},
		{`x[$__interval] x[$__range]`, `x[15s] x[1h]`},
		{`$jobs $unknown`, `$jobs $unknown`},
		{`x{a=~"b$"}`, `x{a=~"b$"}`},
	}
	for _, tt := range tests {
		if got := Substitute(tt.in, vars); got != tt.want {
			t.Errorf("Substitute(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Substitute("x[$__rate_interval]", map[string]string{"__rate_interval": "2m"}); got != "x[2m]" {
		t.Errorf("vars do not override $__rate_interval: got %q", got)
	}
}
