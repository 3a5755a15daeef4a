package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/campaign-exporter/campaign_exporter/internal/exportertest"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/jackc/pgx/v5/pgconn"
)

// readmeBlock is the first fenced block of language lang in README.md that
// contains marker, so tests run what the README tells users to run.
func readmeBlock(t *testing.T, lang, marker string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pgtest.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)( *)```" + lang + "\n(.*?)\n *```")
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[2], marker) {
			// A block inside a list item is indented: drop the indent.
			lines := strings.Split(m[2], "\n")
			for i, l := range lines {
				lines[i] = strings.TrimPrefix(l, m[1])
			}
			return strings.Join(lines, "\n")
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

// TestReadmeQuickStart runs the Quick start's commands from README.md, as
// written, on a database that already runs the campaign system: the safe
// install's dry run and apply, the exporter's role and password, the DSN
// file, and the exporter started as the README starts it. Only the names
// of this test's server and database replace the README's examples.
func TestReadmeQuickStart(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql not installed")
	}
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	// The safe install runs on a live database: take away one object so
	// the apply has something to add.
	db.Exec(t, "DROP FUNCTION ensure_dim_date(date, date)")

	cfg, err := pgconnConfig(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	password := "qs" + secRandom()
	replace := strings.NewReplacer(
		"-d campaigns", "-d "+db.Name,
		"choose-a-password", password,
		"db.example.com:5432", db.TargetAddr(),
		"/campaigns?sslmode=verify-full&sslrootcert=/etc/ssl/campaign-db-ca.pem", "/"+db.Name+"?sslmode=disable",
	)
	dir := t.TempDir()
	run := func(script string) string {
		t.Helper()
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", replace.Replace(script))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PGHOST="+cfg.host, fmt.Sprintf("PGPORT=%d", cfg.port), "PGUSER="+cfg.user, "PGPASSWORD="+cfg.password)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README commands failed: %v\n%s\n%s", err, replace.Replace(script), out)
		}
		return string(out)
	}
	// The schema files are read relative to the repository.
	install := strings.ReplaceAll(readmeBlock(t, "sh", "-v apply=1 -f schema/install/install.sql"), "schema/", filepath.Join(pgtest.RepoRoot(), "schema")+"/")
	if out := run(install); !strings.Contains(out, "ensure_dim_date") {
		t.Errorf("the safe install did not report the missing ensure_dim_date:\n%s", out)
	}
	run(strings.ReplaceAll(readmeBlock(t, "sh", "-f schema/exporter-role.sql"), "schema/", filepath.Join(pgtest.RepoRoot(), "schema")+"/"))

	// Step 3 without `make build` (the test has built the binary) and
	// without its last line, which the test runs as a process it stops.
	lines := strings.Split(strings.TrimSpace(readmeBlock(t, "sh", "./campaign_exporter --db.dsn-file=campaign-dsn")), "\n")
	last := strings.Fields(lines[len(lines)-1])
	if last[0] != "./campaign_exporter" {
		t.Fatalf("the Quick start's last line does not run the exporter: %q", lines[len(lines)-1])
	}
	var setup []string
	for _, l := range lines[:len(lines)-1] {
		if strings.TrimSpace(l) != "make build" {
			setup = append(setup, l)
		}
	}
	run(strings.Join(setup, "\n"))
	args := make([]string, 0, len(last)-1)
	for _, a := range last[1:] {
		args = append(args, strings.Replace(a, "=campaign-dsn", "="+filepath.Join(dir, "campaign-dsn"), 1))
	}
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME="}, args...)
	s := p.Scrape(t, "/metrics", nil).Series()
	if s["campaign_up"] != 1 || len(failing(s)) > 0 {
		t.Errorf("the exporter started as the README says: campaign_up %v, failing %v\n%s", s["campaign_up"], failing(s), p.Log())
	}
	var user string
	db.QueryRow(t, "SELECT coalesce(max(usename), '') FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'campaign_exporter'", []any{&user})
	if user != "campaign_exporter" {
		t.Errorf("the exporter connected as %q, want campaign_exporter", user)
	}
}

type pgConn struct {
	host, user, password string
	port                 uint16
}

// pgconnConfig is what psql needs to reach the server of dsn.
func pgconnConfig(dsn string) (pgConn, error) {
	c, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return pgConn{}, err
	}
	return pgConn{host: c.Host, port: c.Port, user: c.User, password: c.Password}, nil
}
