package main

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/campaign-exporter/campaign_exporter/internal/exportertest"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

var update = flag.Bool("update", false, "regenerate testdata/e2e-output.txt from the exporter's output")

const goldenFile = "testdata/e2e-output.txt"

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(exportertest.Main(m))
}

// runExporter runs the server on a free port expecting it to stop by
// itself (a start-up that fails).
func runExporter(t *testing.T, env []string, args ...string) exportertest.Result {
	t.Helper()
	return exportertest.Run(t, env, append([]string{"--web.listen-address=" + exportertest.FreeAddr(t)}, args...)...)
}

// e2eDatabase is the scenario with the faults the golden output shows
// (testdata/scenario-faults.sql, made with the fault script).
func e2eDatabase(t *testing.T) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	db.ApplyFile(t, "testdata/demo/faults.sql")
	db.ApplyFile(t, "testdata/scenario-faults.sql")
	return db
}

// volatile series keep their names and labels in the golden file but not
// their values, which depend on time, speed or the server's bookkeeping.
var volatile = regexp.MustCompile(`^campaign_(exporter_config_last_reload_success_timestamp_seconds|collector_duration_seconds|collector_last_success_timestamp_seconds|performance_duration_seconds|table_|index_(scans|tuples|size)_|backup_oldest_row_timestamp_seconds|stats_reset_timestamp_seconds)`)

// normalize drops the Go runtime's and process's series and masks what
// changes from run to run.
func normalize(exposition string) string {
	var out []string
	for _, line := range strings.Split(exposition, "\n") {
		name := line
		if strings.HasPrefix(line, "# ") {
			if f := strings.Fields(line); len(f) >= 3 {
				name = f[2]
			}
		}
		switch {
		case line == "",
			strings.HasPrefix(name, "go_"), strings.HasPrefix(name, "process_"), strings.HasPrefix(name, "promhttp_"):
			continue
		case strings.HasPrefix(line, "campaign_exporter_build_info{"):
			line = "campaign_exporter_build_info{<volatile>} 1"
		case !strings.HasPrefix(line, "#") && volatile.MatchString(line):
			line = line[:strings.LastIndexByte(line, ' ')] + " <volatile>"
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n") + "\n"
}

// The binary against the scenario database, scraped over HTTP, equals the
// golden output. go test -run TestEndToEndGolden -update regenerates it.
func TestEndToEndGolden(t *testing.T) {
	db := e2eDatabase(t)
	// With a config file too, so the reload metrics are in the output.
	cfg := filepath.Join(t.TempDir(), "targets.yml")
	if err := os.WriteFile(cfg, []byte("targets:\n  - name: scenario\n    dsn: "+db.DSN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME=" + db.DSN}, "--config.file="+cfg)
	code, _, body := exportertest.Do(t, nil, http.MethodGet, p.URL+"/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	got := normalize(body)
	if *update {
		if err := os.WriteFile(goldenFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run go test -run TestEndToEndGolden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("/metrics differs from %s (run with -update to accept):\n%s", goldenFile, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// The HTTP surface: landing page, a bad timeout header is the client's
// error, and a bad flag or missing DSN stops start-up with a message.
func TestHTTPAndStartup(t *testing.T) {
	db := pgtest.New(t)
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME=" + db.DSN})
	if code, _, body := exportertest.Do(t, nil, http.MethodGet, p.URL+"/", nil); code != http.StatusOK || !strings.Contains(body, "/metrics") {
		t.Errorf("GET /: %d, links to /metrics: %v", code, strings.Contains(body, "/metrics"))
	}
	if code, _, _ := exportertest.Do(t, nil, http.MethodGet, p.URL+"/metrics", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"soon"}}); code != http.StatusBadRequest {
		t.Errorf("bad timeout header: %d, want 400", code)
	}
	if code, _, body := exportertest.Do(t, nil, http.MethodGet, p.URL+"/metrics", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"5"}}); code != http.StatusOK || !strings.Contains(body, "campaign_up 1") {
		t.Errorf("scrape with timeout header: %d, up 1: %v", code, strings.Contains(body, "campaign_up 1"))
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no dsn", []string{"DATA_SOURCE_NAME="}, nil, "DATA_SOURCE_NAME"},
		{"bad flag", []string{"DATA_SOURCE_NAME=" + db.DSN}, []string{"--collector.nosuch"}, "collector.nosuch"},
		{"bad duration", []string{"DATA_SOURCE_NAME=" + db.DSN}, []string{"--collector.health.min-interval=soon"}, "min-interval"},
		{"bad dsn", []string{"DATA_SOURCE_NAME=postgres://u:hunter2@[bad"}, nil, "cannot parse the data source name"},
		{"missing dsn file", nil, []string{"--db.dsn-file=/nonexistent/dsn"}, "--db.dsn-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runExporter(t, tc.env, tc.args...)
			out := r.Stdout + r.Stderr
			if r.Code == 0 {
				t.Fatalf("started; want an error naming %q", tc.want)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output does not name %q:\n%s", tc.want, out)
			}
			if strings.Contains(out, "hunter2") {
				t.Errorf("output shows the password:\n%s", out)
			}
		})
	}
}
