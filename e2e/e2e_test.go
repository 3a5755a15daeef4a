//go:build e2e

// Package e2e runs the exporter, the shipped alerting rules, the shipped
// Alertmanager configuration and the shipped dashboard against a real
// Prometheus and Alertmanager: every dashboard query returns data on a
// healthy database, and every fault of the table in alerts/runbooks.md,
// each on its own database, pages exactly its alerts and resolves once the
// runbook's procedures are run, while nothing else fires anywhere.
//
//	make e2e
//
// runs it with the pinned binaries (PROMETHEUS_BIN, ALERTMANAGER_BIN,
// AMTOOL_BIN, EXPORTER_BIN); without them it uses
// .tools/bin/{prometheus,alertmanager,amtool} and builds the exporter. It
// needs the PostgreSQL test server of internal/pgtest, and psql.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/alerts"
	"github.com/campaign-exporter/campaign_exporter/dashboards"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"gopkg.in/yaml.v3"
)

const (
	// jobName is the probe job of the databases, exporterJob the exporter's
	// own: the names the rules expect (campaign-alerts.yml's header).
	jobName     = "campaign"
	exporterJob = "campaign_exporter"
	// scrapeInterval is the scrape interval and timeout of both jobs; the
	// slow-attribution fault (1.2s) fits its deadline (2.5s, the default
	// offset kept back) even on a loaded machine, the check timeout fault
	// (5s) does not.
	scrapeInterval = 3 * time.Second
	// evalInterval is Prometheus's rule evaluation interval.
	evalInterval = time.Second
	// alertFor replaces every longer `for:` of the shipped rules: a few
	// scrapes, so that, as with the shipped durations, one scrape that a
	// loaded machine cut short pages nobody.
	alertFor = 3 * scrapeInterval
	// alertTimeout bounds each wait for a notification.
	alertTimeout = 90 * time.Second
	// healthyTarget is the target the dashboard queries are checked on.
	healthyTarget = "healthy"
)

// keepFor are the alerts whose `for:` the test keeps: CampaignTargetMissing
// fires on absent(up{job="campaign"}) before the first scrape.
var keepFor = []string{"CampaignTargetMissing"}

const toolHint = "Build the pinned tools with `make tools` (or run `make e2e`), " +
	"or point PROMETHEUS_BIN / ALERTMANAGER_BIN / AMTOOL_BIN at them."

// emptyOnHealthyData lists the dashboard queries that may return no data on
// the healthy database, by panel title and refId, with the reason.
var emptyOnHealthyData = map[string]string{
	`panel 61 "pg_cron jobs" ref A`:      "no pg_cron on the healthy database (checked on cron-refresh-failed)",
	`panel 61 "pg_cron jobs" ref B`:      "no pg_cron on the healthy database (checked on cron-refresh-failed)",
	`panel 61 "pg_cron jobs" ref C`:      "no pg_cron on the healthy database (checked on cron-refresh-failed)",
	`panel 63 "Oldest backup row" ref A`: "dim_date_backup is empty on the healthy database: the series is absent by design",
}

// TestEndToEnd runs one exporter in multi-target mode over a database per
// fault of alerts/runbooks.md's table, one Prometheus with the shipped
// rules and one Alertmanager with the shipped configuration. Every
// dashboard query returns data on the healthy database; each fault pages
// exactly its alerts, the runbook's procedures resolve them, and nothing
// else fires on any database at any point.
func TestEndToEnd(t *testing.T) {
	started := time.Now()
	promBin := binary(t, "PROMETHEUS_BIN", ".tools/bin/prometheus", toolHint)
	amBin := binary(t, "ALERTMANAGER_BIN", ".tools/bin/alertmanager", toolHint)
	amtoolBin := binary(t, "AMTOOL_BIN", ".tools/bin/amtool", toolHint)
	expBin := exporterBinary(t)

	t.Run("alertmanager config checks", func(t *testing.T) { checkAlertmanagerConfig(t, amtoolBin) })

	dbs := map[string]*pgtest.DB{}
	for _, fc := range faultCases {
		dbs[fc.name] = prepareDB(t, fc)
	}
	t.Logf("%d databases ready after %s", len(dbs), time.Since(started).Round(time.Second))

	hook := newWebhook(t)
	expAddr, expConfig := startExporter(t, expBin, dbs)
	// One database served the default way, by an exporter of its own
	// (DATA_SOURCE_NAME), scraped directly: the exporter_down case.
	single := newSingleExporter(t, expBin, prepareDB(t, faultCase{name: "single_exporter"}).DSN)
	amAddr := startAlertmanager(t, amBin, amtoolBin, hook.URL())
	prom := startPrometheus(t, promBin, expAddr, single.addr, amAddr)

	if !t.Run("rules loaded", func(t *testing.T) { checkRules(t, prom) }) {
		t.FailNow()
	}
	if !t.Run("targets up", func(t *testing.T) { checkTargets(t, prom, expAddr, len(faultCases)+1) }) {
		t.FailNow()
	}
	// From here on every database is watched: no alert but the expected
	// ones may fire. (Before the first scrape,
	// absent(up{job="campaign"}) is pending by design.)
	watchFrom := time.Now()
	t.Run("dashboard queries return data", func(t *testing.T) { checkDashboard(t, prom, expAddr) })

	results := make(chan faultResult, len(faultCases))
	t.Run("faults", func(t *testing.T) {
		t.Run("config_reload_failed", func(t *testing.T) {
			t.Parallel()
			exerciseConfigReload(t, expBin, expAddr, expConfig, hook)
		})
		t.Run("exporter_down", func(t *testing.T) {
			t.Parallel()
			exerciseExporterDown(t, single, hook)
		})
		for _, fc := range faultCases {
			switch {
			case fc.exercise != nil:
				t.Run(fc.name, func(t *testing.T) {
					t.Parallel()
					fc.exercise(t, dbs[fc.name])
				})
			case fc.inject != "":
				t.Run(fc.name, func(t *testing.T) {
					t.Parallel()
					results <- runFault(t, fc, dbs[fc.name], hook, prom)
				})
			}
		}
	})
	close(results)

	t.Run("pg_cron panel on the stand-in", func(t *testing.T) { checkCronPanel(t, prom) })

	// Late alerts: give every rule a few more evaluations.
	time.Sleep(3 * alertFor)
	others := map[scrapeTarget][]wantAlert{
		{exporterJob, expAddr}: {reloadFailed},
		{jobName, single.addr}: {exporterDown},
	}
	t.Run("nothing else fired", func(t *testing.T) { checkNothingElse(t, prom, hook, watchFrom, others) })
	if bad := hook.badRequests(); len(bad) > 0 {
		t.Errorf("the webhook received invalid notifications:\n%s", strings.Join(bad, "\n"))
	}

	var rows []faultResult
	for r := range results {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
	var b strings.Builder
	fmt.Fprintf(&b, "%-26s %-90s %8s %8s\n", "case", "alerts", "fired", "resolved")
	for _, r := range rows {
		var names []string
		for _, a := range r.alerts {
			names = append(names, a.String())
		}
		fmt.Fprintf(&b, "%-26s %-90s %8s %8s\n", r.name, strings.Join(names, "; "),
			r.fired.Round(100*time.Millisecond), r.resolve.Round(100*time.Millisecond))
	}
	t.Logf("fault table (injection to firing notification; end of repair to resolved notification):\n%s", b.String())
	t.Logf("end-to-end wall time %s", time.Since(started).Round(time.Second))
}

// targetName is the exporter's target name of a fault case.
func targetName(c string) string { return strings.ReplaceAll(c, "_", "-") }

// runFault injects one fault, waits for exactly its notifications, runs the
// runbook's procedures and waits for them to resolve.
func runFault(t *testing.T, fc faultCase, db *pgtest.DB, hook *webhook, prom promAPI) faultResult {
	res := faultResult{name: fc.name, alerts: fc.want}
	if err := db.ExecScript(fc.inject); err != nil {
		t.Fatalf("inject %s: %v", fc.inject, err)
	}
	injected := time.Now()
	for _, w := range fc.want {
		hook.waitFor(t, alertTimeout, "firing "+w.String()+" on "+fc.name, isNotification(targetName(fc.name), w, "firing"))
	}
	res.fired = time.Since(injected)

	if fc.drift != "" {
		if err := db.ExecScript(fc.drift); err != nil {
			t.Fatalf("drift %s: %v", fc.drift, err)
		}
		for _, w := range fc.inhibited {
			eventually(t, alertTimeout, func() error {
				res, err := prom.query(fmt.Sprintf(`ALERTS{alertname=%q, alertstate="firing", job=%q, instance=%q}`, w.name, jobName, targetName(fc.name)))
				if err != nil {
					return err
				}
				for _, s := range res {
					if w.matches(s.Metric) {
						return nil
					}
				}
				return fmt.Errorf("%s is not firing in Prometheus on %s", w, fc.name)
			})
		}
		// A few notification rounds: the inhibited alert must not be sent.
		time.Sleep(5 * time.Second)
		for _, w := range fc.inhibited {
			for _, a := range hook.received() {
				if a.Labels["instance"] == targetName(fc.name) && w.matches(a.Labels) {
					t.Errorf("%s was notified although %s inhibits it: %s", w, fc.want[0].name, a)
				}
			}
		}
	}

	for _, p := range fc.procedures {
		runProcedure(t, db, p)
	}
	if fc.afterRepair != "" {
		if err := db.ExecScript(fc.afterRepair); err != nil {
			t.Fatalf("after the repair: %v", err)
		}
	}
	repaired := time.Now()
	for _, w := range fc.want {
		hook.waitFor(t, alertTimeout, "resolved "+w.String()+" on "+fc.name, isNotification(targetName(fc.name), w, "resolved"))
	}
	res.resolve = time.Since(repaired)
	return res
}

// receiverFor is the receiver of alerts/alertmanager.yml a severity routes to.
var receiverFor = map[string]string{"critical": "pager", "warning": "tickets"}

// isNotification matches w's notification for target with status.
func isNotification(target string, w wantAlert, status string) func(notifiedAlert) bool {
	return isJobNotification(jobName, target, w, status)
}

// isJobNotification matches w's notification for job and instance with
// status.
func isJobNotification(job, instance string, w wantAlert, status string) func(notifiedAlert) bool {
	return func(a notifiedAlert) bool {
		return a.Status == status && a.Labels["job"] == job && a.Labels["instance"] == instance &&
			w.matches(a.Labels) && a.Receiver == receiverFor[w.severity] &&
			strings.HasSuffix(a.Annotations["runbook_url"], "/alerts/runbooks.md#"+strings.ToLower(w.name))
	}
}

// scrapeTarget is a job and instance, as the alerts' labels name them.
type scrapeTarget struct{ job, instance string }

// checkNothingElse: over the whole run, Prometheus never fired an alert
// that is not one of its target's expected alerts (a pending one that
// never fired is logged), and Alertmanager notified nothing else. The fault
// cases' databases expect theirs; others holds the expected alerts of
// targets that are no fault case's database.
func checkNothingElse(t *testing.T, prom promAPI, hook *webhook, since time.Time, others map[scrapeTarget][]wantAlert) {
	want, inhibited := map[scrapeTarget][]wantAlert{}, map[scrapeTarget][]wantAlert{}
	for _, fc := range faultCases {
		k := scrapeTarget{jobName, targetName(fc.name)}
		want[k], inhibited[k] = fc.want, fc.inhibited
	}
	for k, ws := range others {
		want[k] = append(want[k], ws...)
	}
	matchesAny := func(ws []wantAlert, labels map[string]string) bool {
		for _, w := range ws {
			if w.matches(labels) {
				return true
			}
		}
		return false
	}
	// Prometheus may hold the expected and the inhibited alerts;
	// Alertmanager may notify only the expected ones.
	inPrometheus := func(labels map[string]string) bool {
		k := scrapeTarget{labels["job"], labels["instance"]}
		return matchesAny(want[k], labels) || matchesAny(inhibited[k], labels)
	}
	notified := func(labels map[string]string) bool {
		return matchesAny(want[scrapeTarget{labels["job"], labels["instance"]}], labels)
	}
	window := time.Since(since).Truncate(time.Second)
	res, err := prom.query(fmt.Sprintf(`count_over_time(ALERTS[%ds])`, int(window.Seconds())))
	if err != nil {
		t.Fatal(err)
	}
	perTarget := map[string]int{}
	for _, s := range res {
		// A pending alert that never fired paged nobody: that is what
		// `for:` is for (the restore reloads whole tables, and a moment of
		// dead rows before its VACUUM may set one pending; on a loaded
		// machine a scrape cut short may too). Logged, not an error.
		switch {
		case inPrometheus(s.Metric):
		case s.Metric["alertstate"] == "pending":
			t.Logf("pending, never fired: %v", s.Metric)
		default:
			t.Errorf("unexpected alert in Prometheus: %v", s.Metric)
		}
		perTarget[s.Metric["instance"]]++
	}
	for _, a := range hook.received() {
		if !notified(a.Labels) {
			t.Errorf("unexpected notification: %s (receiver %s)", a, a.Receiver)
		}
	}
	for _, fc := range faultCases {
		if len(fc.want) == 0 {
			t.Logf("%s: %d alerts seen, pending or firing (want 0)", fc.name, perTarget[targetName(fc.name)])
		}
	}
}

// checkAlertmanagerConfig runs amtool check-config on the shipped
// configuration.
func checkAlertmanagerConfig(t *testing.T, amtool string) {
	path := filepath.Join(pgtest.RepoRoot(), "alerts", "alertmanager.yml")
	out, err := exec.Command(amtool, "check-config", path).CombinedOutput()
	if err != nil {
		t.Fatalf("amtool check-config %s: %v\n%s", path, err, out)
	}
}

// startExporter runs one exporter in multi-target mode, a target per
// database named after its case, with the cached collectors refreshed
// every second, and returns its address.
func startExporter(t *testing.T, bin string, dbs map[string]*pgtest.DB) (addr, configFile string) {
	t.Helper()
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("targets:\n")
	total := 0
	for _, fc := range faultCases {
		conns := fc.maxConnections
		if conns == 0 {
			conns = 2
		}
		total += conns
		dsn := dbs[fc.name].DSN
		if fc.role != "" {
			dsn = dbs[fc.name].DSNAs(fc.role)
		}
		fmt.Fprintf(&cfg, "  - name: %s\n    dsn: %q\n    max_connections: %d\n", targetName(fc.name), dsn, conns)
	}
	path := filepath.Join(dir, "exporter.yml")
	writeFile(t, path, cfg.String())
	addr = freeAddr(t)
	// Sized as the README's "Sizing connections" says: every target keeps
	// its connections, so none has to reconnect on every 2s scrape (the
	// default bounds would make each scrape close another target's idle
	// connection and dial anew; the hardening and scale tests cover that).
	bound := fmt.Sprint(total)
	// The default --scrape.timeout-offset (500ms): a scrape that reaches its
	// deadline still waits for its queries' cancellation on the server, and
	// must answer before Prometheus's timeout on a loaded machine too.
	args := []string{"--web.listen-address=" + addr, "--config.file=" + path, "--log.level=info", "--web.enable-lifecycle",
		"--db.max-connections-per-host=" + bound, "--db.max-connections-total=" + bound}
	p := start(t, "exporter", bin, nil, append(args, cachedEvery1s()...)...)
	p.waitReady(t, "http://"+addr+"/")
	return addr, path
}

// cachedEvery1s are the flags that run the collectors cached by default
// (min intervals of minutes) at most every second, so that faults show
// within seconds.
func cachedEvery1s() []string {
	var args []string
	for _, c := range []string{"attribution", "performance", "orders", "inventory", "campaign_dates"} {
		args = append(args, "--collector."+c+".min-interval=1s")
	}
	return args
}

// startAlertmanager runs a single Alertmanager (no clustering) with the
// shipped alerts/alertmanager.yml: its routes and inhibitions as shipped,
// each receiver's integrations replaced by the test's webhook
// (webhookURL/RECEIVER), and notifications sent at once.
func startAlertmanager(t *testing.T, bin, amtool, webhookURL string) string {
	t.Helper()
	var cfg map[string]any
	if err := yaml.Unmarshal(alerts.AlertmanagerConfig, &cfg); err != nil {
		t.Fatal(err)
	}
	route, _ := cfg["route"].(map[string]any)
	route["group_wait"], route["group_interval"], route["repeat_interval"] = "1s", "1s", "24h"
	if routes, ok := route["routes"].([]any); ok {
		for _, r := range routes {
			if m, ok := r.(map[string]any); ok {
				delete(m, "repeat_interval")
			}
		}
	}
	receivers, _ := cfg["receivers"].([]any)
	for _, r := range receivers {
		m, _ := r.(map[string]any)
		if _, ok := m["webhook_configs"]; ok {
			m["webhook_configs"] = []any{map[string]any{"url": webhookURL + "/" + fmt.Sprint(m["name"]), "send_resolved": true}}
		}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "alertmanager.yml")
	writeFile(t, path, string(out))
	if out, err := exec.Command(amtool, "check-config", path).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config (the test's copy): %v\n%s", err, out)
	}
	addr := freeAddr(t)
	p := start(t, "alertmanager", bin, nil,
		"--config.file="+path,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
	)
	p.waitReady(t, "http://"+addr+"/-/ready")
	return addr
}

// startPrometheus runs Prometheus with the README's multi-target scrape
// configuration (job campaign probing each target the exporter's /sd
// lists, job campaign_exporter scraping the exporter itself), evaluating a copy of the shipped rules
// with short `for:` durations and alerting to Alertmanager.
func startPrometheus(t *testing.T, bin, exporterAddr, singleAddr, amAddr string) promAPI {
	t.Helper()
	dir := t.TempDir()
	rules, err := alerts.ShortenForExcept(alerts.Rules, alertFor, keepFor...)
	if err != nil {
		t.Fatal(err)
	}
	rulesFile := filepath.Join(dir, "campaign-alerts.yml")
	writeFile(t, rulesFile, string(rules))
	// The databases' targets come from the exporter's /sd: every target of
	// its config file, one per case.
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[2]s
rule_files:
  - %[3]q
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%[4]q]
scrape_configs:
  - job_name: %[5]q
%[6]s  - job_name: %[7]q
    static_configs:
      - targets: [%[8]q]
  # A single-database exporter, in job campaign too (job names are unique
  # in a configuration; the label is not).
  - job_name: campaign_single
    static_configs:
      - targets: [%[9]q]
    relabel_configs:
      - target_label: job
        replacement: %[5]q
`, scrapeInterval, evalInterval, rulesFile, amAddr, jobName, probeScrape(exporterAddr, time.Second), exporterJob, exporterAddr, singleAddr)
	return startPrometheusWith(t, bin, cfg)
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

// checkTargets: every database's probe (job campaign, instance = its name)
// and the exporter itself (job campaign_exporter) are up, and every
// database is reachable (campaign_up 1).
func checkTargets(t *testing.T, prom promAPI, exporterAddr string, databases int) {
	eventually(t, 60*time.Second, func() error {
		targets, err := prom.targets()
		if err != nil {
			return err
		}
		if len(targets) != databases+1 {
			return fmt.Errorf("%d active targets, want %d", len(targets), databases+1)
		}
		for _, tg := range targets {
			if tg.Health != "up" {
				return fmt.Errorf("target %v: health %q, last error %q", tg.Labels, tg.Health, tg.LastError)
			}
		}
		for expr, want := range map[string]int{
			fmt.Sprintf(`up{job=%q} == 1`, jobName):                                databases,
			fmt.Sprintf(`up{job=%q, instance=%q} == 1`, exporterJob, exporterAddr): 1,
			fmt.Sprintf(`campaign_up{job=%q} == 1`, jobName):                       databases,
			fmt.Sprintf(`campaign_exporter_build_info{job=%q}`, exporterJob):       1,
		} {
			if res, err := prom.query(expr); err != nil || len(res) != want {
				return fmt.Errorf("%s: %d results, want %d (%v)", expr, len(res), want, err)
			}
		}
		return nil
	})
}

// checkDashboard: once a few scrapes are in, every query of the shipped
// dashboard, with $job and $instance set to the healthy database, returns
// data (except the allow-listed ones) and no query fails.
func checkDashboard(t *testing.T, prom promAPI, _ string) {
	queries, err := dashboards.Queries(dashboards.CampaignSystem)
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	// What Grafana sends for the healthy database at this scrape interval:
	// $__rate_interval is max($__interval + scrape interval, 4 * scrape
	// interval).
	vars := map[string]string{
		"job":             jobName,
		"instance":        targetName(healthyTarget),
		"__interval":      scrapeInterval.String(),
		"__rate_interval": (4 * scrapeInterval).String(),
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

// checkCronPanel: the pg_cron panel's queries return the job of the
// database with the pg_cron stand-in, labelled cron_job.
func checkCronPanel(t *testing.T, prom promAPI) {
	queries, err := dashboards.Queries(dashboards.CampaignSystem)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"job": jobName, "instance": targetName("cron_refresh_failed")}
	n := 0
	for _, q := range queries {
		if q.PanelTitle != "pg_cron jobs" {
			continue
		}
		n++
		expr := dashboards.Substitute(q.Expr, vars)
		res, err := prom.query(expr)
		if err != nil || len(res) != 1 || res[0].Metric["cron_job"] != "refresh-attribution" {
			t.Errorf("%s: %v, %v", expr, res, err)
		}
	}
	if n == 0 {
		t.Error("no pg_cron panel")
	}
}
