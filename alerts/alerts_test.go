package alerts

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

const (
	rulesFile     = "campaign-alerts.yml"
	runbooksFile  = "runbooks.md"
	runbookPrefix = "https://github.com/campaign-exporter/campaign_exporter/blob/main/alerts/runbooks.md#"

	// defaultGolden is the exporter's end-to-end output, the metric
	// catalogue; GoldenEnv overrides it.
	defaultGolden = "../testdata/e2e-output.txt"
)

var severities = map[string]bool{"critical": true, "warning": true, "info": true}

// rule is one rule of a Prometheus rule file.
type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

// loadRules parses the shipped rule file (go:embed guarantees Rules is
// campaign-alerts.yml as built).
func loadRules(t *testing.T) []rule {
	t.Helper()
	var f ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(Rules))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("parse %s: %v", rulesFile, err)
	}
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s holds no rules", rulesFile)
	}
	return rules
}

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

var headingRE = regexp.MustCompile(`^(#{1,6})\s+(.+?)\s*#*\s*$`)

// runbookHeadings returns the anchors of runbooks.md and its level-2
// headings, skipping fenced code blocks.
func runbookHeadings(t *testing.T) (anchors map[string]bool, h2 []string) {
	t.Helper()
	b := Runbooks
	anchors = map[string]bool{}
	seen := map[string]int{}
	inFence := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		m := headingRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		a := githubAnchor(m[2])
		if n := seen[a]; n > 0 {
			anchors[a+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
		if len(m[1]) == 2 {
			h2 = append(h2, m[2])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return anchors, h2
}

func TestAlertMetadata(t *testing.T) {
	rules := loadRules(t)
	anchors, h2 := runbookHeadings(t)
	h2Set := map[string]bool{}
	for _, h := range h2 {
		h2Set[h] = true
	}
	names := map[string]bool{}
	for _, r := range rules {
		if r.Alert == "" {
			continue
		}
		t.Run(r.Alert, func(t *testing.T) {
			if names[r.Alert] {
				t.Errorf("alert %s is defined twice", r.Alert)
			}
			names[r.Alert] = true
			if !severities[r.Labels["severity"]] {
				t.Errorf("severity %q, want critical, warning or info", r.Labels["severity"])
			}
			if strings.TrimSpace(r.Annotations["summary"]) == "" {
				t.Error("no summary annotation")
			}
			d := r.Annotations["description"]
			if strings.TrimSpace(d) == "" {
				t.Error("no description annotation")
			} else if !strings.Contains(d, "$labels") && !strings.Contains(d, "$value") {
				t.Error("description is not templated with $labels or $value")
			}
			u := r.Annotations["runbook_url"]
			want := runbookPrefix + strings.ToLower(r.Alert)
			if u != want {
				t.Errorf("runbook_url %q, want %q", u, want)
			}
			if !h2Set[r.Alert] {
				t.Errorf("%s has no section headed %q", runbooksFile, "## "+r.Alert)
			}
			if anchor := strings.TrimPrefix(u, runbookPrefix); !anchors[anchor] {
				t.Errorf("anchor #%s does not exist in %s", anchor, runbooksFile)
			}
			if r.For != "" {
				if _, err := model.ParseDuration(r.For); err != nil {
					t.Errorf("for: %v", err)
				}
			}
		})
	}
	// Every runbook section named like an alert documents an existing one.
	for _, h := range h2 {
		if strings.HasPrefix(h, "Campaign") && !names[h] {
			t.Errorf("%s has a section %q for an alert that does not exist", runbooksFile, h)
		}
	}
}

// TestRunbookLinks checks the runbooks' links within the document resolve.
func TestRunbookLinks(t *testing.T) {
	anchors, _ := runbookHeadings(t)
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(Runbooks), -1) {
		if !anchors[m[1]] {
			t.Errorf("%s links to #%s, which is no heading", runbooksFile, m[1])
		}
	}
}

// unitTestFile is the part of a promtool rule test file checked here.
type unitTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		InputSeries []struct {
			Series string `yaml:"series"`
		} `yaml:"input_series"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels map[string]string `yaml:"exp_labels"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func loadUnitTests(t *testing.T) map[string]unitTestFile {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("tests", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no promtool rule tests under tests/")
	}
	out := map[string]unitTestFile{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var u unitTestFile
		if err := yaml.Unmarshal(b, &u); err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		out[f] = u
	}
	return out
}

// TestAlertsHaveUnitTests checks every alert has a promtool test in which it
// fires and one in which it stays quiet.
func TestAlertsHaveUnitTests(t *testing.T) {
	rules := loadRules(t)
	alerts := map[string]bool{}
	for _, r := range rules {
		if r.Alert != "" {
			alerts[r.Alert] = true
		}
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for f, u := range loadUnitTests(t) {
		ok := false
		for _, rf := range u.RuleFiles {
			if filepath.Clean(filepath.Join(filepath.Dir(f), rf)) == rulesFile {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: rule_files does not name ../%s", f, rulesFile)
		}
		for _, tc := range u.Tests {
			for _, at := range tc.AlertRuleTest {
				if !alerts[at.Alertname] {
					t.Errorf("%s: alert_rule_test for unknown alert %q", f, at.Alertname)
				}
				if len(at.ExpAlerts) > 0 {
					fires[at.Alertname] = true
				} else {
					quiet[at.Alertname] = true
				}
				for _, e := range at.ExpAlerts {
					if e.ExpLabels["severity"] == "" {
						t.Errorf("%s: %s: an expected alert lists no severity label", f, at.Alertname)
					}
				}
			}
		}
	}
	for a := range alerts {
		if !fires[a] {
			t.Errorf("alert %s has no promtool test in which it fires", a)
		}
		if !quiet[a] {
			t.Errorf("alert %s has no promtool test in which it stays quiet", a)
		}
	}
}

// loadCatalogue returns the metric catalogue the expressions and promtool
// tests are checked against.
func loadCatalogue(t *testing.T) Catalogue {
	t.Helper()
	c, _, err := LoadCatalogue(defaultGolden)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkSelectors reports, once each, what is wrong with the selectors of
// expr by the catalogue.
func checkSelectors(c Catalogue, expr string, report func(format string, args ...any)) {
	sels, err := Selectors(expr)
	if err != nil {
		report("%v in %q", err, expr)
		return
	}
	for _, s := range sels {
		for _, p := range c.Check(s) {
			report("%s", p)
		}
	}
}

// reporter returns a function reporting each distinct problem once, as
// where: problem.
func reporter(t *testing.T, where string) func(format string, args ...any) {
	reported := map[string]bool{}
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if !reported[msg] {
			reported[msg] = true
			t.Errorf("%s: %s", where, msg)
		}
	}
}

// TestExpressionsUseEmittedMetrics checks every metric and label matcher an
// expression uses against the exporter's real end-to-end output and the
// rule file's own recording rules.
func TestExpressionsUseEmittedMetrics(t *testing.T) {
	c := loadCatalogue(t)
	rules := loadRules(t)
	for _, r := range rules {
		if r.Record != "" {
			c[r.Record] = nil // labels not known without evaluating it
		}
	}
	for _, r := range rules {
		checkSelectors(c, r.Expr, reporter(t, r.Alert+r.Record))
	}
}

// TestUnitTestSeriesAreEmitted checks the promtool tests feed the rules
// series the exporter really emits, with the label names it really uses.
func TestUnitTestSeriesAreEmitted(t *testing.T) {
	c := loadCatalogue(t)
	for f, u := range loadUnitTests(t) {
		report := reporter(t, f)
		for _, tc := range u.Tests {
			for _, in := range tc.InputSeries {
				checkSelectors(c, in.Series, report)
			}
		}
	}
}

func TestSelectors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []Selector
	}{
		{`campaign_up == 0`, []Selector{{Metric: "campaign_up"}}},
		// up inside campaign_up is no selector of up.
		{`sum by (upper) (campaign_up)`, []Selector{{Metric: "campaign_up"}}},
		{`up{job=~"campaign.*"} == 0`, []Selector{{Metric: "up", Labels: []string{"job"}}}},
		{`campaign_a{check="campaign_not_a_metric", status!~'x}'} unless on(job) campaign_b_total`,
			[]Selector{{Metric: "campaign_a", Labels: []string{"check", "status"}}, {Metric: "campaign_b_total"}}},
		{"SUM WITHOUT (le) (rate(x_total[$__rate_interval] offset 5m)) > bool 1e-3 # scrape_duration_seconds",
			[]Selector{{Metric: "x_total"}}},
		{`a * on (job) group_left (version) b or max_over_time(c[5m:1m]) @ start()`,
			[]Selector{{Metric: "a"}, {Metric: "b"}, {Metric: "c"}}},
		{`time() - (x > 0)`, []Selector{{Metric: "x"}}},
	} {
		got, err := Selectors(tc.expr)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Selectors(%q) = %+v, %v; want %+v", tc.expr, got, err, tc.want)
		}
	}
	for _, expr := range []string{`{__name__="x"}`, `x{__name__="y"}`, `x{a="b`, `x{a="b"`, `rate(x[5m)`} {
		if got, err := Selectors(expr); err == nil {
			t.Errorf("Selectors(%q) = %+v, want an error", expr, got)
		}
	}
}

func TestCatalogue(t *testing.T) {
	c, err := ParseCatalogue([]byte(`# TYPE campaign_up gauge
campaign_up 1
# TYPE campaign_x gauge
campaign_x{check="a"} <volatile>
# TYPE campaign_d_seconds histogram
campaign_d_seconds_bucket{le="+Inf"} 1
campaign_d_seconds_sum 1
campaign_d_seconds_count 1
# TYPE campaign_exporter_build_info gauge
campaign_exporter_build_info{<volatile>} 1
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sel Selector
		ok  bool
	}{
		{Selector{Metric: "campaign_up", Labels: []string{"job", "instance"}}, true},
		{Selector{Metric: "up"}, false},
		{Selector{Metric: "campaign"}, false},
		{Selector{Metric: "campaign_x", Labels: []string{"check"}}, true},
		{Selector{Metric: "campaign_x", Labels: []string{"status"}}, false},
		{Selector{Metric: "campaign_d_seconds_bucket", Labels: []string{"le"}}, true},
		{Selector{Metric: "campaign_d_seconds"}, false},
		{Selector{Metric: "campaign_exporter_build_info", Labels: []string{"version"}}, true},
	} {
		if got := c.Check(tc.sel); (len(got) == 0) != tc.ok {
			t.Errorf("Check(%+v) = %v, want ok %v", tc.sel, got, tc.ok)
		}
	}
	if _, err := ParseCatalogue([]byte("campaign_up{\n")); err == nil {
		t.Error("ParseCatalogue accepted a broken exposition")
	}
}

func TestGithubAnchor(t *testing.T) {
	for in, want := range map[string]string{
		"CampaignExporterDown":            "campaignexporterdown",
		"Clean up orphaned dim_date rows": "clean-up-orphaned-dim_date-rows",
		"Severities and routing":          "severities-and-routing",
	} {
		if got := githubAnchor(in); got != want {
			t.Errorf("githubAnchor(%q) = %q, want %q", in, got, want)
		}
	}
}

// shortenForFixture is a rule file whose for: values are fors, in order,
// among the look-alikes ShortenFor must leave alone (comments,
// keep_firing_for, a description) and in every YAML style it supports.
func shortenForFixture(fors ...any) string {
	return fmt.Sprintf(`# for: 1h in a comment stays
groups:
  - name: a
    rules:
      - alert: Long
        expr: x == 0   # for: 2h
        for: %s
        keep_firing_for: 1h
        annotations:
          description: "for: 1h"
      - alert: Quoted
        expr: y == 0
        for: "%s"
      - alert: SingleQuoted
        expr: y == 0
        for: '%s'
      - alert: Short
        expr: z == 0
        for: %s
      - alert: Equal
        expr: z == 0
        for: %s
      - alert: None
        expr: z == 0
  - name: b
    rules:
      - record: r
        expr: sum(x)
      - {alert: Flow, expr: w == 0, for: %s}
`, fors...)
}

func TestShortenFor(t *testing.T) {
	in := shortenForFixture("1h", "30m", "2d", "2m", "5m", "10m")
	want := shortenForFixture("5m", "5m", "5m", "2m", "5m", "5m")
	got, err := ShortenFor([]byte(in), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("ShortenFor:\n%s\nwant:\n%s", got, want)
	}

	for _, tc := range []struct {
		name string
		in   string
		max  time.Duration
	}{
		{"zero max", "groups: []\n", 0},
		{"sub-millisecond max", "groups: []\n", time.Microsecond},
		{"bad duration", "groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: x\n        for: soon\n", time.Minute},
		{"not YAML", "groups: [\n", time.Minute},
		{"block scalar", "groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: x\n        for: |\n          1h\n", time.Minute},
	} {
		if _, err := ShortenFor([]byte(tc.in), tc.max); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestShortenForShippedRules checks the rewrite of the shipped rules: every
// for: at most max, and nothing but for: values changed.
func TestShortenForShippedRules(t *testing.T) {
	const max = 30 * time.Second
	out, err := ShortenFor(Rules, max)
	if err != nil {
		t.Fatal(err)
	}
	inLines := strings.Split(string(Rules), "\n")
	outLines := strings.Split(string(out), "\n")
	if len(inLines) != len(outLines) {
		t.Fatalf("line count changed: %d -> %d", len(inLines), len(outLines))
	}
	forLine := regexp.MustCompile(`^(\s+for: )(\S+)$`)
	changed := 0
	for i := range inLines {
		if inLines[i] == outLines[i] {
			continue
		}
		a, b := forLine.FindStringSubmatch(inLines[i]), forLine.FindStringSubmatch(outLines[i])
		if a == nil || b == nil || a[1] != b[1] || b[2] != "30s" {
			t.Errorf("line %d changed beyond its for: value:\n%s\n%s", i+1, inLines[i], outLines[i])
		}
		changed++
	}
	if changed == 0 {
		t.Error("no for: was shortened")
	}

	var f ruleFile
	if err := yaml.Unmarshal(out, &f); err != nil {
		t.Fatal(err)
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.For == "" {
				continue
			}
			d, err := model.ParseDuration(r.For)
			if err != nil {
				t.Fatalf("%s: %v", r.Alert, err)
			}
			if time.Duration(d) > max {
				t.Errorf("%s: for %s, want at most %s", r.Alert, r.For, max)
			}
		}
	}
	if again, err := ShortenFor(out, max); err != nil || !bytes.Equal(again, out) {
		t.Errorf("ShortenFor is not idempotent (err %v)", err)
	}

	kept, err := ShortenForExcept(Rules, max, "CampaignTargetMissing")
	if err != nil {
		t.Fatal(err)
	}
	var k ruleFile
	if err := yaml.Unmarshal(kept, &k); err != nil {
		t.Fatal(err)
	}
	for _, g := range k.Groups {
		for _, r := range g.Rules {
			if r.Alert == "CampaignTargetMissing" && r.For != "10m" {
				t.Errorf("ShortenForExcept changed the kept alert's for: to %q", r.For)
			}
			if r.Alert == "CampaignDatabaseDown" && r.For != "30s" {
				t.Errorf("ShortenForExcept left CampaignDatabaseDown's for: at %q", r.For)
			}
		}
	}
}

// TestAlertmanagerConfig checks the example Alertmanager configuration
// against the rules: every alert name its routes and inhibitions match
// exists, every severity has a route, and info notifies nobody.
func TestAlertmanagerConfig(t *testing.T) {
	var cfg struct {
		Route struct {
			Receiver string `yaml:"receiver"`
			Routes   []struct {
				Matchers []string `yaml:"matchers"`
				Receiver string   `yaml:"receiver"`
			} `yaml:"routes"`
		} `yaml:"route"`
		Receivers []map[string]any `yaml:"receivers"`
		Inhibit   []struct {
			Source []string `yaml:"source_matchers"`
			Target []string `yaml:"target_matchers"`
			Equal  []string `yaml:"equal"`
		} `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(AlertmanagerConfig, &cfg); err != nil {
		t.Fatal(err)
	}
	alerts := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Alert != "" {
			alerts[r.Alert] = true
		}
	}
	matcherRE := regexp.MustCompile(`^alertname(=~|=|!=)"([^"]*)"$`)
	checkNames := func(where string, matchers []string) {
		for _, m := range matchers {
			sub := matcherRE.FindStringSubmatch(m)
			if sub == nil {
				continue
			}
			if sub[1] == "=~" && sub[2] == "Campaign.+" {
				continue
			}
			for _, name := range strings.Split(sub[2], "|") {
				if !alerts[name] {
					t.Errorf("%s: matcher %s names %q, which is no alert", where, m, name)
				}
			}
		}
	}
	for i, r := range cfg.Inhibit {
		where := fmt.Sprintf("inhibit_rules[%d]", i)
		checkNames(where+" source", r.Source)
		checkNames(where+" target", r.Target)
		if !slices.Contains(r.Equal, "instance") || !slices.Contains(r.Equal, "job") {
			t.Errorf("%s: equal %v lacks job and instance: it would inhibit across databases", where, r.Equal)
		}
	}
	receivers := map[string]map[string]any{}
	for _, r := range cfg.Receivers {
		receivers[fmt.Sprint(r["name"])] = r
	}
	for sev := range severities {
		found := false
		for _, r := range cfg.Route.Routes {
			if slices.Contains(r.Matchers, `severity="`+sev+`"`) {
				found = true
				rc, ok := receivers[r.Receiver]
				switch {
				case !ok:
					t.Errorf("route for %s names unknown receiver %q", sev, r.Receiver)
				case sev == "info" && len(rc) > 1:
					t.Errorf("info alerts must not notify, but receiver %q has integrations", r.Receiver)
				case sev != "info" && len(rc) < 2:
					t.Errorf("%s alerts go to receiver %q, which notifies nobody", sev, r.Receiver)
				}
			}
		}
		if !found {
			t.Errorf("no route for severity %s", sev)
		}
	}
}
