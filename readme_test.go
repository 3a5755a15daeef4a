package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

// readmeBlock is the first fenced block of language lang in README.md that
// contains marker, so tests run what the README tells users to run.
func readmeBlock(t *testing.T, lang, marker string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pgtest.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)```" + lang + "\n(.*?)\n```")
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[1], marker) {
			return m[1]
		}
	}
	t.Fatalf("README.md has no %s block containing %q", lang, marker)
	return ""
}

// TestReadmePrometheusSetup runs the README's runbook_url rewrite on the
// shipped rules and checks the README's prometheus.yml, with those rules,
// with the pinned promtool; every runbook_url then points at the new place.
func TestReadmePrometheusSetup(t *testing.T) {
	promtool := filepath.Join(pgtest.RepoRoot(), ".tools", "bin", "promtool")
	if _, err := os.Stat(promtool); err != nil {
		t.Skip("no pinned promtool: run make test, which builds it")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(readmeBlock(t, "yaml", "# prometheus.yml")), 0o600); err != nil {
		t.Fatal(err)
	}
	script := readmeBlock(t, "sh", "runbooks.md#")
	script = strings.ReplaceAll(script, "alerts/campaign-alerts.yml", filepath.Join(pgtest.RepoRoot(), "alerts", "campaign-alerts.yml"))
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(promtool)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's commands failed: %v\n%s", err, out)
	}
	rules, err := os.ReadFile(filepath.Join(dir, "campaign-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	urls := regexp.MustCompile(`runbook_url: (\S+)`).FindAllStringSubmatch(string(rules), -1)
	if len(urls) == 0 {
		t.Fatal("no runbook_url in the rewritten rules")
	}
	for _, u := range urls {
		if !strings.HasPrefix(u[1], "https://wiki.example.com/campaign/runbooks.md#") {
			t.Errorf("runbook_url %s was not rewritten", u[1])
		}
	}
}
