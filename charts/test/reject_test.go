package charttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRejects: values a careless operator might write stop the rendering
// with a message that says what to fix, instead of a pod that cannot start
// or alerts that never fire.
func TestRejects(t *testing.T) {
	withDB := []string{"--set", "database.existingSecret=db"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no database", nil, "no database"},
		{"secret and dsn", []string{"--set", "database.existingSecret=db", "--set", "database.dsn=postgres://x@db/campaigns"}, "not both"},
		{"bad target name", []string{"--set", "targets[0].name=Taipei", "--set", "targets[0].existingSecret=s"}, "/targets/0/name"},
		{"target without dsn", []string{"--set", "targets[0].name=taipei"}, "give existingSecret"},
		{"names equal to Kubernetes", []string{
			"--set", "targets[0].name=tai_pei", "--set", "targets[0].existingSecret=s",
			"--set", "targets[1].name=tai-pei", "--set", "targets[1].existingSecret=s",
		}, "same name"},
		{"timeout not below interval", append(withDB, "--set", "serviceMonitor.enabled=true", "--set", "serviceMonitor.interval=30s", "--set", "serviceMonitor.scrapeTimeout=30s"), "must be below interval"},
		{"timeout above interval in minutes", append(withDB, "--set", "serviceMonitor.enabled=true", "--set", "serviceMonitor.interval=1m", "--set", "serviceMonitor.scrapeTimeout=1m30s"), "must be below interval"},
		{"target timeout", []string{
			"--set", "targets[0].name=taipei", "--set", "targets[0].existingSecret=s",
			"--set", "targetScrape.enabled=true", "--set", "targets[0].interval=30s",
		}, "must be below interval"},
		{"bad duration", append(withDB, "--set", "serviceMonitor.enabled=true", "--set", "serviceMonitor.interval=30"), "/serviceMonitor/interval"},
		{"job the rules cannot see", append(withDB, "--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true", "--set", "serviceMonitor.jobName=campaign-api"), "only see the jobs"},
		{"probe job the rules cannot see", []string{
			"--set", "targets[0].name=taipei", "--set", "targets[0].existingSecret=s",
			"--set", "targetScrape.enabled=true", "--set", "prometheusRule.enabled=true", "--set", "targetScrape.jobName=postgres",
		}, "only see the jobs"},
		{"misspelt option", append(withDB, "--set", "serviceMonitor.enable=true"), "serviceMonitor"},
		{"DSN in extraArgs", append(withDB, "--set", "exporter.extraArgs[0]=postgres://x@db/c"), "extraArgs"},
		{"unknown scrape kind", []string{
			"--set", "targets[0].name=taipei", "--set", "targets[0].existingSecret=s",
			"--set", "targetScrape.enabled=true", "--set", "targetScrape.kind=PodMonitor",
		}, "/targetScrape/kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := helmTemplate(t, chartDir, c.args...)
			if err == nil {
				t.Fatalf("rendered, want an error containing %q:\n%s", c.want, out)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want one containing %q", err, c.want)
			}
		})
	}
}

// TestRuleDriftDetected: the equality checks fail when the chart's copies
// differ from the repository's files, here a copy of the chart whose rules
// have one `for:` changed and whose dashboard has one byte more.
func TestRuleDriftDetected(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "campaign-exporter")
	copyDir(t, chartDir, dir)
	rules := readRepoFile(t, "alerts/campaign-alerts.yml")
	changed := strings.Replace(string(rules), "for: 5m", "for: 6m", 1)
	if changed == string(rules) {
		t.Fatal("the alert rules have no `for: 5m` to change; pick another edit")
	}
	writeFile(t, filepath.Join(dir, "files/campaign-alerts.yml"), changed)
	writeFile(t, filepath.Join(dir, "files/campaign-system.json"), string(readRepoFile(t, "dashboards/campaign-system.json"))+" ")

	out, err := helmTemplate(t, dir, "--set", "database.existingSecret=db", "--set", "prometheusRule.enabled=true", "--set", "dashboard.enabled=true")
	if err != nil {
		t.Fatal(err)
	}
	r, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := rulesDiff(t, rules, one(t, "PrometheusRule", r.rules).Spec); diff == "" {
		t.Error("a changed `for:` went unnoticed")
	}
	for _, cm := range r.configMaps {
		if d, ok := cm.Data["campaign-system.json"]; ok && d == string(readRepoFile(t, "dashboards/campaign-system.json")) {
			t.Error("a changed dashboard went unnoticed")
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
