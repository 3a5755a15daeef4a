//go:build e2e

// Package e2e runs the exporter, the shipped alerting rules and the shipped
// dashboard against a real Prometheus and Alertmanager: every dashboard query
// returns data on a healthy scenario database, and an orphaned campaign_id
// pages through Alertmanager and resolves once the runbook's repair is run.
//
//	make e2e
//
// runs it with the pinned binaries (PROMETHEUS_BIN, ALERTMANAGER_BIN,
// EXPORTER_BIN); without them it uses .tools/bin/{prometheus,alertmanager}
// and builds the exporter. It needs the PostgreSQL test server of
// internal/pgtest.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/alerts"
	"github.com/campaign-exporter/campaign_exporter/dashboards"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"gopkg.in/yaml.v3"
)

const (
	// jobName must start with "campaign": CampaignExporterDown selects
	// job=~"campaign.*".
	jobName = "campaign"
	// interval is the scrape and rule evaluation interval.
	interval = time.Second
	// alertFor replaces every longer `for:` of the shipped rules.
	alertFor = 2 * time.Second
	// alertTimeout bounds each wait for a notification.
	alertTimeout = 90 * time.Second
)

const toolHint = "Build the pinned tools with `make tools` (or run `make e2e`), " +
	"or point PROMETHEUS_BIN / ALERTMANAGER_BIN at them."

// emptyOnHealthyData lists the dashboard queries that may return no data on
// the healthy scenario database, by panel title and refId, with the reason.
var emptyOnHealthyData = map[string]string{
	// time() - (last_vacuum > 0): the scenario database is new and analyzed
	// but never vacuumed, so every timestamp is 0, which the query drops on
	// purpose (the column shows "never" rather than 56 years; 0 would read
	// as "just now").
	`panel 37 "Table statistics" ref E`: "no table has been vacuumed yet",
}

func TestDashboardsAndAlerts(t *testing.T) {
	promBin := binary(t, "PROMETHEUS_BIN", ".tools/bin/prometheus", toolHint)
	amBin := binary(t, "ALERTMANAGER_BIN", ".tools/bin/alertmanager", toolHint)
	expBin := exporterBinary(t)

	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")

	hook := newWebhook(t)
	expAddr := startExporter(t, expBin, db.DSN)
	amAddr := startAlertmanager(t, amBin, hook.URL())
	prom := startPrometheus(t, promBin, expAddr, amAddr)

	if !t.Run("rules loaded", func(t *testing.T) { checkRules(t, prom) }) {
		t.FailNow()
	}
	if !t.Run("target up", func(t *testing.T) { checkTarget(t, prom, expAddr) }) {
		t.FailNow()
	}
	t.Run("dashboard queries return data", func(t *testing.T) { checkDashboard(t, prom, expAddr) })
	t.Run("orphaned campaign pages and resolves", func(t *testing.T) {
		checkOrphanAlert(t, db, prom, hook, expAddr)
	})
	if bad := hook.badRequests(); len(bad) > 0 {
		t.Errorf("the webhook received invalid notifications:\n%s", strings.Join(bad, "\n"))
	}
}

// startExporter runs the exporter on dsn with the cached collectors
// refreshed every second, and returns its address.
func startExporter(t *testing.T, bin, dsn string) string {
	t.Helper()
	addr := freeAddr(t)
	args := []string{"--web.listen-address=" + addr, "--log.level=debug", "--scrape.timeout-offset=200ms"}
	for _, c := range []string{"attribution", "performance", "orders", "inventory"} {
		args = append(args, "--collector."+c+".min-interval="+interval.String())
	}
	p := start(t, "exporter", bin, []string{"DATA_SOURCE_NAME=" + dsn}, args...)
	p.waitReady(t, "http://"+addr+"/")
	return addr
}

// startAlertmanager runs a single Alertmanager (no clustering) that sends
// every alert, firing and resolved, to webhookURL at once, and returns its
// address.
func startAlertmanager(t *testing.T, bin, webhookURL string) string {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`route:
  receiver: webhook
  group_by: ['...']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: webhook
    webhook_configs:
      - url: %q
        send_resolved: true
`, webhookURL)
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), cfg)
	p := start(t, "alertmanager", bin, nil,
		"--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
	)
	p.waitReady(t, "http://"+addr+"/-/ready")
	return addr
}

// startPrometheus runs Prometheus scraping the exporter every second as job
// "campaign", evaluating a copy of the shipped rules with short `for:`
// durations and alerting to Alertmanager.
func startPrometheus(t *testing.T, bin, exporterAddr, amAddr string) promAPI {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	rules, err := alerts.ShortenFor(alerts.Rules, alertFor)
	if err != nil {
		t.Fatal(err)
	}
	rulesFile := filepath.Join(dir, "campaign-alerts.yml")
	writeFile(t, rulesFile, string(rules))
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
rule_files:
  - %[2]q
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%[3]q]
scrape_configs:
  - job_name: %[4]q
    static_configs:
      - targets: [%[5]q]
`, interval, rulesFile, amAddr, jobName, exporterAddr)
	writeFile(t, filepath.Join(dir, "prometheus.yml"), cfg)
	p := start(t, "prometheus", bin, nil,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	p.waitReady(t, "http://"+addr+"/-/ready")
	return promAPI{base: "http://" + addr}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// eventually retries f every 250ms until it returns nil or timeout passes,
// then fails the test with f's last error.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkRules: Prometheus loaded every group of the shipped rule file, and
// every rule has been evaluated without error.
func checkRules(t *testing.T, prom promAPI) {
	var shipped struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []any  `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(alerts.Rules, &shipped); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		groups, err := prom.rules()
		if err != nil {
			return err
		}
		loaded := map[string]ruleGroup{}
		for _, g := range groups {
			loaded[g.Name] = g
		}
		var problems []string
		for _, want := range shipped.Groups {
			g, ok := loaded[want.Name]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("group %s not loaded", want.Name))
				continue
			case len(g.Rules) != len(want.Rules):
				problems = append(problems, fmt.Sprintf("group %s: %d rules loaded, %d shipped", want.Name, len(g.Rules), len(want.Rules)))
			}
			for _, r := range g.Rules {
				if r.Health != "ok" {
					problems = append(problems, fmt.Sprintf("group %s rule %s: health %q %s", want.Name, r.Name, r.Health, r.LastError))
				}
			}
		}
		if len(groups) != len(shipped.Groups) {
			problems = append(problems, fmt.Sprintf("%d groups loaded, %d shipped", len(groups), len(shipped.Groups)))
		}
		if len(problems) > 0 {
			return fmt.Errorf("rules:\n  %s", strings.Join(problems, "\n  "))
		}
		return nil
	})
}

// checkTarget: the exporter is Prometheus's only target, as job "campaign",
// and is up with campaign_up 1.
func checkTarget(t *testing.T, prom promAPI, exporterAddr string) {
	eventually(t, 30*time.Second, func() error {
		targets, err := prom.targets()
		if err != nil {
			return err
		}
		if len(targets) != 1 {
			return fmt.Errorf("%d active targets, want 1: %+v", len(targets), targets)
		}
		tg := targets[0]
		if tg.Labels["job"] != jobName || tg.Labels["instance"] != exporterAddr || tg.Health != "up" {
			return fmt.Errorf("target %v: health %q, last error %q", tg.Labels, tg.Health, tg.LastError)
		}
		for _, expr := range []string{
			fmt.Sprintf(`up{job=%q, instance=%q} == 1`, jobName, exporterAddr),
			fmt.Sprintf(`campaign_up{job=%q, instance=%q} == 1`, jobName, exporterAddr),
		} {
			if res, err := prom.query(expr); err != nil || len(res) != 1 {
				return fmt.Errorf("%s: %d results, %v", expr, len(res), err)
			}
		}
		return nil
	})
}

// checkDashboard: once a few scrapes are in, every query of the shipped
// dashboard, with $job and $instance set to the real values, returns data
// (except the allow-listed ones) and no query fails.
func checkDashboard(t *testing.T, prom promAPI, exporterAddr string) {
	queries, err := dashboards.Queries(dashboards.CampaignSystem)
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	// What Grafana sends for a 1s scrape interval: $__rate_interval is
	// max($__interval + scrape interval, 4 * scrape interval).
	vars := map[string]string{
		"job":             jobName,
		"instance":        exporterAddr,
		"__interval":      interval.String(),
		"__rate_interval": (4 * interval).String(),
		"__range":         "5m",
	}
	// A few scrapes, so that rate() has two samples in its window.
	eventually(t, 30*time.Second, func() error {
		expr := fmt.Sprintf(`count_over_time(up{job=%q}[1m]) >= 5`, jobName)
		if res, err := prom.query(expr); err != nil || len(res) == 0 {
			return fmt.Errorf("fewer than 5 scrapes: %v", err)
		}
		return nil
	})

	unresolved := regexp.MustCompile(`\$`)
	type result struct {
		key, expr string
		n         int
		err       error
	}
	run := func() []result {
		var out []result
		for _, q := range queries {
			expr := dashboards.Substitute(q.Expr, vars)
			r := result{key: fmt.Sprintf("panel %d %q ref %s", q.PanelID, q.PanelTitle, q.RefID), expr: expr}
			if unresolved.MatchString(expr) {
				r.err = fmt.Errorf("unexpanded variable in %s", expr)
			} else {
				res, err := prom.query(expr)
				r.n, r.err = len(res), err
			}
			out = append(out, r)
		}
		return out
	}
	// Poll until every query that should have data has it, bounded: the
	// cached collectors' first runs may land a scrape later.
	var results []result
	deadline := time.Now().Add(20 * time.Second)
	for {
		results = run()
		pending := slices.ContainsFunc(results, func(r result) bool {
			_, allowed := emptyOnHealthyData[r.key]
			return r.err != nil || (r.n == 0 && !allowed)
		})
		if !pending || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.key] = true
		reason, allowed := emptyOnHealthyData[r.key]
		switch {
		case r.err != nil:
			t.Errorf("%s: %v\n  query: %s", r.key, r.err, r.expr)
		case r.n == 0 && !allowed:
			t.Errorf("%s returns no data on the healthy scenario\n  query: %s", r.key, r.expr)
		case r.n == 0:
			t.Logf("%s: empty, as allowed: %s", r.key, reason)
		case allowed:
			t.Logf("%s: allow-listed as empty (%s) but returned %d series", r.key, reason, r.n)
		}
	}
	for key := range emptyOnHealthyData {
		if !seen[key] {
			t.Errorf("allow-list entry %s matches no dashboard query", key)
		}
	}
	t.Logf("%d dashboard queries checked", len(results))
}

// isOrphanPage is the page the orphaned campaign_id must cause.
func isOrphanPage(exporterAddr, status string) func(notifiedAlert) bool {
	return func(a notifiedAlert) bool {
		l := a.Labels
		return a.Status == status &&
			l["alertname"] == "CampaignHealthCheckFailed" &&
			l["check"] == "Campaign ID Integrity" &&
			l["severity"] == "critical" &&
			l["job"] == jobName && l["instance"] == exporterAddr
	}
}

// checkOrphanAlert: the healthy scenario pages nobody; an orphaned
// campaign_id, made the way a restore with the campaign trigger disabled
// makes it, pages CampaignHealthCheckFailed through Alertmanager; the
// runbook's repair resolves it, and nothing else paged.
func checkOrphanAlert(t *testing.T, db *pgtest.DB, prom promAPI, hook *webhook, exporterAddr string) {
	// The rules have run for several evaluations on healthy data by now.
	if res, err := prom.query(`count_over_time(ALERTS{severity="critical"}[1h])`); err != nil || len(res) != 0 {
		t.Fatalf("critical alerts pending or firing on the healthy scenario (err %v): %v", err, res)
	}

	db.ApplyFile(t, "testdata/demo/faults.sql")
	db.Exec(t, `SELECT campaign_fault_orphan_campaign()`)
	wantHealth(t, db, "FAIL")
	injected := time.Now()

	firing := hook.waitFor(t, alertTimeout, "firing CampaignHealthCheckFailed{check=\"Campaign ID Integrity\"}", isOrphanPage(exporterAddr, "firing"))
	t.Logf("fault notified after %s: %s", time.Since(injected).Round(100*time.Millisecond), firing)
	if u := firing.Annotations["runbook_url"]; !strings.HasSuffix(u, "/alerts/runbooks.md#campaignhealthcheckfailed") {
		t.Errorf("runbook_url = %q", u)
	}

	repair := runbookSQL(t, "### Clean up orphaned dim_date rows")
	if err := db.ExecScript(repair); err != nil {
		t.Fatalf("the runbook's repair failed: %v\n%s", err, repair)
	}
	wantHealth(t, db, "PASS")
	repaired := time.Now()

	resolved := hook.waitFor(t, alertTimeout, "resolved CampaignHealthCheckFailed{check=\"Campaign ID Integrity\"}", isOrphanPage(exporterAddr, "resolved"))
	t.Logf("repair notified after %s: %s", time.Since(repaired).Round(100*time.Millisecond), resolved)

	for _, a := range hook.received() {
		if a.Labels["severity"] == "critical" && !isOrphanPage(exporterAddr, a.Status)(a) {
			t.Errorf("unexpected critical notification: %s", a)
		}
	}
}

// wantHealth checks the database's own verdict on Campaign ID Integrity.
func wantHealth(t *testing.T, db *pgtest.DB, status string) {
	t.Helper()
	var got, details string
	db.QueryRow(t, `SELECT status, details FROM check_campaign_system_health() WHERE check_name = 'Campaign ID Integrity'`, []any{&got, &details})
	if got != status {
		t.Fatalf("check_campaign_system_health(): Campaign ID Integrity is %s (%s), want %s", got, details, status)
	}
}

// runbookSQL is the first ```sql block after heading in alerts/runbooks.md,
// so the test runs the procedure the runbook tells operators to run.
func runbookSQL(t *testing.T, heading string) string {
	t.Helper()
	doc := string(alerts.Runbooks)
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("runbooks.md has no section %q", heading)
	}
	section := doc[i+len(heading)+2:]
	start := strings.Index(section, "```sql\n")
	if start < 0 || strings.Contains(section[:start], "\n#") {
		t.Fatalf("runbooks.md section %q has no sql block", heading)
	}
	block := section[start+len("```sql\n"):]
	end := strings.Index(block, "\n```")
	if end < 0 {
		t.Fatalf("runbooks.md section %q: unterminated sql block", heading)
	}
	return block[:end]
}
