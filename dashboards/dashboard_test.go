package dashboards

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// goldenEnv overrides the path of the end-to-end golden output, which lists
// every metric the exporter emits.
const goldenEnv = "CAMPAIGN_GOLDEN"

const defaultGolden = "../testdata/e2e-output.txt"

var wantDatasource = map[string]any{"type": "prometheus", "uid": "${datasource}"}

var allowedPanelTypes = []string{"row", "stat", "timeseries", "table", "state-timeline", "bargauge"}

// promMetrics are Prometheus's own per-target series, which the dashboard may
// use although the exporter does not emit them.
var promMetrics = []string{"up", "scrape_duration_seconds"}

var (
	metricTokenRE = regexp.MustCompile(`\b(campaign_[a-z0-9_]+|up|scrape_duration_seconds)\b`)
	rateFuncRE    = regexp.MustCompile(`\b(rate|irate|increase)\s*\(`)
	matcherRE     = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"$`)
	durationRE    = regexp.MustCompile(`^(\d+(ms|s|m|h|d|w|y))+$`)
)

// jsonPanel is a panel as a generic JSON object.
type jsonPanel = map[string]any

func loadDashboard(t *testing.T) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(CampaignSystem, &d); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	return d
}

func panelList(v any) []jsonPanel {
	list, _ := v.([]any)
	out := make([]jsonPanel, 0, len(list))
	for _, p := range list {
		if m, ok := p.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// allPanels returns every panel, including rows and the children of
// collapsed rows.
func allPanels(d map[string]any) []jsonPanel {
	var out []jsonPanel
	for _, p := range panelList(d["panels"]) {
		out = append(out, p)
		out = append(out, panelList(p["panels"])...)
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func panelName(p jsonPanel) string {
	return fmt.Sprintf("panel %v %q", p["id"], str(p["title"]))
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

// blankStrings replaces the contents of PromQL string literals with spaces,
// keeping the quotes and every offset, so that label values are not taken
// for metric names or brackets.
func blankStrings(expr string) (string, error) {
	b := []byte(expr)
	var quote byte
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case quote == 0:
			if c == '"' || c == '\'' || c == '`' {
				quote = c
			}
		case c == quote:
			quote = 0
		case c == '\\' && quote != '`' && i+1 < len(b):
			b[i], b[i+1] = ' ', ' '
			i++
		default:
			b[i] = ' '
		}
	}
	if quote != 0 {
		return "", fmt.Errorf("unterminated string literal")
	}
	return string(b), nil
}

// closing returns the index of the bracket closing the one at open in the
// blanked expression s, or -1.
func closing(s string, open int) int {
	pairs := map[byte]byte{'(': ')', '[': ']', '{': '}'}
	var stack []byte
	for i := open; i < len(s); i++ {
		switch c := s[i]; c {
		case '(', '[', '{':
			stack = append(stack, pairs[c])
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return -1
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return i
			}
		}
	}
	return -1
}

// splitMatchers splits the inside of a selector's braces at the commas that
// are outside string literals.
func splitMatchers(inner string) []string {
	blank, err := blankStrings(inner)
	if err != nil {
		return []string{inner}
	}
	var out []string
	start := 0
	for i := 0; i < len(blank); i++ {
		if blank[i] == ',' {
			out = append(out, strings.TrimSpace(inner[start:i]))
			start = i + 1
		}
	}
	if last := strings.TrimSpace(inner[start:]); last != "" {
		out = append(out, last)
	}
	return out
}

// checkPromQL is a cheap syntax check for an expression whose variables have
// been substituted: balanced brackets and quotes, no leftover "$", valid
// label matchers and range durations.
func checkPromQL(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return errors.New("empty expression")
	}
	if strings.Contains(expr, "$") {
		return errors.New("leftover $ (unsubstituted variable)")
	}
	blank, err := blankStrings(expr)
	if err != nil {
		return err
	}
	pairs := map[byte]byte{')': '(', ']': '[', '}': '{'}
	var stack []int
	for i := 0; i < len(blank); i++ {
		switch c := blank[i]; c {
		case '(', '[', '{':
			stack = append(stack, i)
		case ')', ']', '}':
			if len(stack) == 0 || blank[stack[len(stack)-1]] != pairs[c] {
				return fmt.Errorf("unbalanced %q at offset %d", c, i)
			}
			open := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			inner := expr[open+1 : i]
			switch c {
			case '}':
				for _, m := range splitMatchers(inner) {
					if !matcherRE.MatchString(m) {
						return fmt.Errorf("bad label matcher %q", m)
					}
				}
			case ']':
				rng, step, subquery := strings.Cut(strings.TrimSpace(inner), ":")
				if !durationRE.MatchString(rng) || (subquery && step != "" && !durationRE.MatchString(step)) {
					return fmt.Errorf("bad range %q", inner)
				}
			}
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %q at offset %d", blank[stack[len(stack)-1]], stack[len(stack)-1])
	}
	return nil
}

// emittedMetrics reads the metric names of a Prometheus text exposition:
// those of "# TYPE" lines and of samples.
func emittedMetrics(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "# TYPE "):
			if f := strings.Fields(line); len(f) >= 3 {
				names[f[2]] = true
			}
		case strings.HasPrefix(line, "#"):
		default:
			if end := strings.IndexAny(line, "{ \t"); end > 0 {
				names[line[:end]] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s holds no metrics", path)
	}
	return names, nil
}

func TestDashboardMetadata(t *testing.T) {
	if !json.Valid(CampaignSystem) {
		t.Fatal("dashboard is not valid JSON")
	}
	d := loadDashboard(t)
	if got := str(d["uid"]); got != "campaign-system" {
		t.Errorf("uid = %q, want campaign-system", got)
	}
	if str(d["title"]) == "" {
		t.Error("dashboard has no title")
	}
	if got, _ := d["schemaVersion"].(float64); got != 39 {
		t.Errorf("schemaVersion = %v, want 39", d["schemaVersion"])
	}
	var tags []string
	for _, tag := range d["tags"].([]any) {
		tags = append(tags, str(tag))
	}
	for _, want := range []string{"campaign", "postgresql"} {
		if !slices.Contains(tags, want) {
			t.Errorf("tags %v lack %q", tags, want)
		}
	}
}

func TestTemplateVariables(t *testing.T) {
	d := loadDashboard(t)
	templating, _ := d["templating"].(map[string]any)
	vars := map[string]map[string]any{}
	for _, v := range panelList(templating["list"]) {
		vars[str(v["name"])] = v
	}
	tests := []struct {
		name, typ, query string
		datasource       bool
	}{
		{"datasource", "datasource", "prometheus", false},
		{"job", "query", "label_values(campaign_up, job)", true},
		{"instance", "query", `label_values(campaign_up{job=~"$job"}, instance)`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := vars[tt.name]
			if !ok {
				t.Fatalf("variable %q missing", tt.name)
			}
			if got := str(v["type"]); got != tt.typ {
				t.Errorf("type = %q, want %q", got, tt.typ)
			}
			query := str(v["query"])
			if q, ok := v["query"].(map[string]any); ok {
				query = str(q["query"])
			}
			if query != tt.query {
				t.Errorf("query = %q, want %q", query, tt.query)
			}
			if tt.datasource && !reflect.DeepEqual(v["datasource"], wantDatasource) {
				t.Errorf("datasource = %v, want %v", v["datasource"], wantDatasource)
			}
		})
	}
}

func TestPanels(t *testing.T) {
	d := loadDashboard(t)
	for _, p := range allPanels(d) {
		t.Run(panelName(p), func(t *testing.T) {
			typ := str(p["type"])
			if !slices.Contains(allowedPanelTypes, typ) {
				t.Errorf("type %q not one of %v", typ, allowedPanelTypes)
			}
			if str(p["title"]) == "" {
				t.Error("no title")
			}
			if typ == "row" {
				if collapsed, _ := p["collapsed"].(bool); !collapsed && len(panelList(p["panels"])) > 0 {
					t.Error("an expanded row must not hold panels")
				}
				return
			}
			if str(p["description"]) == "" {
				t.Error("no description")
			}
			if !reflect.DeepEqual(p["datasource"], wantDatasource) {
				t.Errorf("datasource = %v, want %v", p["datasource"], wantDatasource)
			}
			fc, _ := p["fieldConfig"].(map[string]any)
			defaults, _ := fc["defaults"].(map[string]any)
			if str(defaults["unit"]) == "" {
				t.Error("fieldConfig.defaults.unit is not set")
			}
			targets := panelList(p["targets"])
			if len(targets) == 0 {
				t.Error("no targets")
			}
			for _, tg := range targets {
				if str(tg["expr"]) == "" {
					t.Errorf("target %s has no expr", str(tg["refId"]))
				}
				if ds, ok := tg["datasource"]; ok && !reflect.DeepEqual(ds, wantDatasource) {
					t.Errorf("target %s datasource = %v, want %v", str(tg["refId"]), ds, wantDatasource)
				}
			}
		})
	}
}

func TestPanelIDsUnique(t *testing.T) {
	seen := map[float64]string{}
	for _, p := range allPanels(loadDashboard(t)) {
		id, ok := p["id"].(float64)
		if !ok {
			t.Errorf("%s has no numeric id", panelName(p))
			continue
		}
		if other, dup := seen[id]; dup {
			t.Errorf("id %v used by %q and %q", id, other, str(p["title"]))
		}
		seen[id] = str(p["title"])
	}
}

type rect struct {
	name       string
	x, y, w, h int
}

func gridRect(t *testing.T, p jsonPanel) (rect, bool) {
	t.Helper()
	gp, _ := p["gridPos"].(map[string]any)
	r := rect{name: panelName(p)}
	for key, dst := range map[string]*int{"x": &r.x, "y": &r.y, "w": &r.w, "h": &r.h} {
		v, ok := gp[key].(float64)
		if !ok {
			t.Errorf("%s: gridPos.%s missing", r.name, key)
			return r, false
		}
		*dst = int(v)
	}
	if r.w <= 0 || r.h <= 0 || r.x < 0 || r.y < 0 || r.x+r.w > 24 {
		t.Errorf("%s: gridPos %+v out of the 24-column grid", r.name, gp)
		return r, false
	}
	return r, true
}

func checkNoOverlap(t *testing.T, rs []rect) {
	t.Helper()
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			a, b := rs[i], rs[j]
			if a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h {
				t.Errorf("%s %+v overlaps %s %+v", a.name, a, b.name, b)
			}
		}
	}
}

func TestGridPosNoOverlap(t *testing.T) {
	// Top-level panels share one grid; the children of a collapsed row are
	// laid out where they appear once it is expanded, so they form their own.
	var top []rect
	for _, p := range panelList(loadDashboard(t)["panels"]) {
		if r, ok := gridRect(t, p); ok {
			top = append(top, r)
		}
		var children []rect
		for _, c := range panelList(p["panels"]) {
			if r, ok := gridRect(t, c); ok {
				children = append(children, r)
			}
		}
		checkNoOverlap(t, children)
	}
	checkNoOverlap(t, top)
}

// selectors returns, for every selector of a campaign_ metric, up or
// scrape_duration_seconds in expr, the metric name and the text inside its
// braces ("" and false when it has none).
type selector struct {
	metric   string
	matchers string
	braces   bool
}

func selectors(expr string) ([]selector, error) {
	blank, err := blankStrings(expr)
	if err != nil {
		return nil, err
	}
	var out []selector
	for _, m := range metricTokenRE.FindAllStringIndex(blank, -1) {
		s := selector{metric: expr[m[0]:m[1]]}
		rest := strings.TrimLeft(blank[m[1]:], " \t\n")
		if strings.HasPrefix(rest, "{") {
			open := len(blank) - len(rest)
			end := closing(blank, open)
			if end < 0 {
				return nil, fmt.Errorf("unbalanced braces after %s", s.metric)
			}
			s.matchers, s.braces = expr[open+1:end], true
		}
		out = append(out, s)
	}
	return out, nil
}

// buildInfoSelector is the one selector that does not filter by instance:
// build information is on the exporter's own /metrics, which in
// multi-target mode is job campaign_exporter with the exporter's address as
// instance, never a database's name.
const buildInfoSelector = `job=~"$job|campaign_exporter"`

func TestQueriesFilterByJobAndInstance(t *testing.T) {
	for _, q := range queries(t) {
		sels, err := selectors(q.Expr)
		if err != nil {
			t.Errorf("%s: %v", queryName(q), err)
			continue
		}
		for _, s := range sels {
			ms := splitMatchers(s.matchers)
			if s.metric == "campaign_exporter_build_info" {
				if !slices.Equal(ms, []string{buildInfoSelector}) {
					t.Errorf("%s: build info selector %q, want {%s}", queryName(q), s.matchers, buildInfoSelector)
				}
				continue
			}
			for _, want := range []string{`job=~"$job"`, `instance=~"$instance"`} {
				if !slices.Contains(ms, want) {
					t.Errorf("%s: selector of %s lacks %s: %q", queryName(q), s.metric, want, q.Expr)
				}
			}
		}
	}
}

func TestRangeSelectorsUseGrafanaIntervals(t *testing.T) {
	for _, q := range queries(t) {
		blank, err := blankStrings(q.Expr)
		if err != nil {
			t.Errorf("%s: %v", queryName(q), err)
			continue
		}
		for _, m := range rateFuncRE.FindAllStringIndex(blank, -1) {
			fn := strings.TrimRight(blank[m[0]:m[1]-1], " \t\n")
			end := closing(blank, m[1]-1)
			if end < 0 {
				t.Errorf("%s: unbalanced %s(", queryName(q), fn)
				continue
			}
			arg := q.Expr[m[1]:end]
			if !strings.Contains(arg, "[$__rate_interval]") {
				t.Errorf("%s: %s without [$__rate_interval]: %q", queryName(q), fn, q.Expr)
			}
		}
		for i := 0; i < len(blank); i++ {
			if blank[i] != '[' {
				continue
			}
			end := closing(blank, i)
			if end < 0 {
				t.Errorf("%s: unbalanced [", queryName(q))
				break
			}
			if rng := q.Expr[i+1 : end]; !strings.HasPrefix(rng, "$__") {
				t.Errorf("%s: fixed range [%s]; use $__rate_interval, $__interval or $__range", queryName(q), rng)
			}
		}
	}
}

func TestMetricNamesAreEmitted(t *testing.T) {
	path := os.Getenv(goldenEnv)
	if path == "" {
		path = defaultGolden
	}
	emitted, err := emittedMetrics(path)
	if err != nil {
		t.Fatalf("reading the end-to-end golden output (set %s to override its path): %v", goldenEnv, err)
	}
	for _, name := range promMetrics {
		emitted[name] = true
	}
	// Emitted only where pg_cron's tables exist, which the golden scenario
	// has not; the end-to-end suite checks the panel on the pg_cron
	// stand-in.
	for _, name := range []string{"campaign_cron_job_last_run_success", "campaign_cron_job_last_run_timestamp_seconds",
		"campaign_cron_job_last_success_timestamp_seconds"} {
		emitted[name] = true
	}
	check := func(where, expr string) {
		blank, err := blankStrings(expr)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			return
		}
		for _, name := range metricTokenRE.FindAllString(blank, -1) {
			if !emitted[name] {
				t.Errorf("%s uses %s, which the exporter does not emit (not in %s)", where, name, path)
			}
		}
	}
	for _, q := range queries(t) {
		check(queryName(q), q.Expr)
	}
	templating, _ := loadDashboard(t)["templating"].(map[string]any)
	for _, v := range panelList(templating["list"]) {
		check("variable "+str(v["name"]), str(v["definition"]))
	}
}

func TestQueriesParse(t *testing.T) {
	vars := map[string]string{
		"job":             "campaign",
		"instance":        "localhost:9187",
		"__rate_interval": "1m",
		"__interval":      "15s",
		"__range":         "1h",
	}
	for _, q := range queries(t) {
		expr := Substitute(q.Expr, vars)
		if err := checkPromQL(expr); err != nil {
			t.Errorf("%s: %v in %q", queryName(q), err, expr)
		}
	}
}

// TestCoverage guards the dashboard's scope: the metrics, checks and
// measurements that each must appear in some query.
func TestCoverage(t *testing.T) {
	var all strings.Builder
	for _, q := range queries(t) {
		all.WriteString(q.Expr)
		all.WriteByte('\n')
	}
	text := all.String()
	want := []string{
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
	}
	// Label matchers, found as written (a metric name is never matched as
	// a substring: "up" is not used because "campaign_up" is).
	wantMatchers := []string{
		`check="Revenue Balance"`, `check="Weight Distribution"`,
		`measurement="Attribution Calculation"`, `measurement="Analysis View Query"`,
	}
	blank, err := blankStrings(text)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, name := range metricTokenRE.FindAllString(blank, -1) {
		used[name] = true
	}
	for _, w := range want {
		if !used[w] {
			t.Errorf("no query uses %s", w)
		}
	}
	for _, w := range wantMatchers {
		if !strings.Contains(text, w) {
			t.Errorf("no query selects %s", w)
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
		if str(p["type"]) != "stat" {
			continue
		}
		defaults, _ := p["fieldConfig"].(map[string]any)["defaults"].(map[string]any)
		if str(defaults["noValue"]) == "" {
			t.Errorf("%s: no noValue text: an empty stat must not look like a value", panelName(p))
		}
	}
}

// TestRatePanelsMinInterval: a panel with rate() sets a min interval of at
// least 1m, which Grafana uses as the scrape interval in $__rate_interval
// (4 x 1m), so that the window holds two samples at any scrape interval up
// to 1m, not only at the data source's default 15s.
func TestRatePanelsMinInterval(t *testing.T) {
	for _, p := range allPanels(loadDashboard(t)) {
		var hasRate bool
		for _, tg := range panelList(p["targets"]) {
			blank, err := blankStrings(str(tg["expr"]))
			hasRate = hasRate || (err == nil && rateFuncRE.MatchString(blank))
		}
		if !hasRate {
			continue
		}
		iv := str(p["interval"])
		d, err := time.ParseDuration(iv)
		if err != nil || d < time.Minute {
			t.Errorf("%s uses rate() with min interval %q, want at least 1m", panelName(p), iv)
		}
	}
}

// TestStatusCounts checks the overview counts: PASS, WARNING and FAIL each
// counted over both health and attribution checks, and INFO never counted as
// a failure (the maintenance guide's query counts status != 'PASS').
func TestStatusCounts(t *testing.T) {
	qs := queries(t)
	tests := []struct{ title, status string }{
		{"Checks passing", "PASS"},
		{"Checks in WARNING", "WARNING"},
		{"Checks in FAIL", "FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
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
		})
	}
	for _, q := range qs {
		if strings.Contains(q.Expr, `status!="PASS"`) || strings.Contains(q.Expr, `status!~"PASS"`) {
			t.Errorf("%s counts every non-PASS status (INFO included) as failed: %q", queryName(q), q.Expr)
		}
	}
}

// TestPerformanceThresholds checks that the performance time series draw the
// thresholds at which monitor_system_performance() reports SLOW.
func TestPerformanceThresholds(t *testing.T) {
	tests := []struct {
		measurement string
		threshold   float64
	}{
		{"Attribution Calculation", 1},
		{"Analysis View Query", 5},
	}
	panels := allPanels(loadDashboard(t))
	for _, tt := range tests {
		t.Run(tt.measurement, func(t *testing.T) {
			var found int
			for _, p := range panels {
				if str(p["type"]) != "timeseries" {
					continue
				}
				var selects bool
				for _, tg := range panelList(p["targets"]) {
					selects = selects || strings.Contains(str(tg["expr"]), `measurement="`+tt.measurement+`"`)
				}
				if !selects {
					continue
				}
				found++
				defaults := p["fieldConfig"].(map[string]any)["defaults"].(map[string]any)
				if unit := str(defaults["unit"]); unit != "s" {
					t.Errorf("%s: unit %q, want s", panelName(p), unit)
				}
				custom, _ := defaults["custom"].(map[string]any)
				style, _ := custom["thresholdsStyle"].(map[string]any)
				if mode := str(style["mode"]); mode == "" || mode == "off" {
					t.Errorf("%s: thresholds are not drawn (thresholdsStyle.mode %q)", panelName(p), mode)
				}
				thresholds, _ := defaults["thresholds"].(map[string]any)
				var has bool
				for _, step := range panelList(thresholds["steps"]) {
					has = has || step["value"] == tt.threshold
				}
				if !has {
					t.Errorf("%s: no threshold step at %v s", panelName(p), tt.threshold)
				}
			}
			if found == 0 {
				t.Errorf("no time series panel shows %q", tt.measurement)
			}
		})
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

func TestCheckPromQL(t *testing.T) {
	tests := []struct {
		expr string
		ok   bool
	}{
		{`sum by (job) (rate(campaign_index_scans_total{job=~"a", instance=~"b"}[1m]))`, true},
		{`x{check="Campaign ID Integrity", status!~"PASS|INFO"} * 2`, true},
		{`x{a="}"}`, true},
		{`x[5m:30s]`, true},
		{`sum(x`, false},
		{`x{a="b"]`, false},
		{`x{a="b}`, false},
		{`x{job=~"$job"}`, false},
		{`x{a=}`, false},
		{`rate(x[1 minute])`, false},
		{`  `, false},
	}
	for _, tt := range tests {
		if err := checkPromQL(tt.expr); (err == nil) != tt.ok {
			t.Errorf("checkPromQL(%q) = %v, want ok=%v", tt.expr, err, tt.ok)
		}
	}
}
