package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/exportertest"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/model"
)

// demoDB is the demo data at scale 0.01 (about 1,000 orders) with the
// fault functions applied: faults.sql's header gives each one's effect.
func demoDB(t *testing.T, faults ...string) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/demo/generate.sql")
	db.ApplyFile(t, "testdata/demo/faults.sql")
	db.Exec(t, "SELECT campaign_demo_generate(0.01)")
	for _, f := range faults {
		db.Exec(t, "SELECT "+f+"()")
	}
	return db
}

// The exit codes of the issue, each on a real database in that state.
func TestCheckExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults []string
		sql    string // run on the database after the faults
		down   bool   // check a closed port instead
		want   int
		says   string // in the table output
	}{
		{name: "healthy", want: 0, says: "worst PASS: 6 PASS, 2 INFO, 2 GOOD, 0 WARNING, 0 SLOW, 0 FAIL, 0 unknown; 0 errors of 11 collectors"},
		{name: "unsynced holiday", faults: []string{"campaign_fault_unsynced_holiday"}, want: 1, says: "Holiday Sync Status   | WARNING | 1 筆假期記錄尚未同步到 dim_date"},
		{name: "stray holiday flag", faults: []string{"campaign_fault_stray_holiday_flag"}, want: 1, says: "ORPHANED_HOLIDAY_FLAG | 1           |"},
		{name: "orphan campaign", faults: []string{"campaign_fault_orphan_campaign"}, want: 2, says: "Campaign ID Integrity | FAIL   | 26 筆 dim_date 記錄有無效的 campaign_id"},
		{name: "revenue imbalance", faults: []string{"campaign_fault_revenue_imbalance"}, want: 2, says: "Revenue Balance     | FAIL   | 16026.060000 |"},
		{name: "database down", down: true, want: 3, says: "  database: "},
		{
			name: "function missing", sql: "DROP FUNCTION check_attribution_quality()", want: 3,
			says: "check_attribution_quality()\nerror: ERROR: function check_attribution_quality() does not exist",
		},
		{
			name: "unknown status", want: 3, says: "Campaign ID Integrity | ERROR  |",
			sql: `CREATE OR REPLACE FUNCTION check_campaign_system_health() RETURNS TABLE(check_name text, status text, details text)
LANGUAGE sql AS $$ SELECT 'Campaign ID Integrity'::text, 'ERROR'::text, '0 筆 dim_date 記錄有無效的 campaign_id'::text $$`,
		},
		{
			// FAIL outranks UNKNOWN: a known failure pages even when
			// another check could not run.
			name: "fail and a missing function", faults: []string{"campaign_fault_orphan_campaign"},
			sql: "DROP FUNCTION monitor_system_performance()", want: 2, says: "worst FAIL:",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := "postgres://postgres@" + exportertest.FreeAddr(t) + "/none?sslmode=disable"
			if !tc.down {
				db := demoDB(t, tc.faults...)
				if tc.sql != "" {
					db.Exec(t, tc.sql)
				}
				dsn = db.DSN
			}
			r := exportertest.Run(t, []string{"DATA_SOURCE_NAME=" + dsn}, "check", "--check.timeout=30s")
			if r.Code != tc.want {
				t.Errorf("exit %d, want %d\n%s%s", r.Code, tc.want, r.Stdout, r.Stderr)
			}
			if !strings.Contains(r.Stdout, tc.says) {
				t.Errorf("output does not say %q:\n%s", tc.says, r.Stdout)
			}
		})
	}
}

// maskCheck hides what changes from run to run in each output format:
// times and durations.
var maskCheck = map[string]func(string) string{
	"table": func(s string) string {
		return regexp.MustCompile(`(?m)^((?:Attribution Calculation|Analysis View Query) +\| )[0-9.]+ *\|`).ReplaceAllString(s, "$1<volatile> |")
	},
	"nagios": func(s string) string {
		return regexp.MustCompile(`('(?:Attribution Calculation|Analysis View Query)')=[0-9.e-]+s`).ReplaceAllString(s, "$1=<volatile>s")
	},
	"prom": normalize,
}

// Every output format on the demo data with all five faults, against
// testdata/check/. go test -run TestCheckGolden -update regenerates them.
func TestCheckGolden(t *testing.T) {
	db := demoDB(t, "campaign_inject_faults")
	cfg := filepath.Join(t.TempDir(), "targets.yml")
	if err := os.WriteFile(cfg, []byte("targets:\n  - name: demo\n    dsn: "+db.DSN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"table", "json", "prom", "nagios"} {
		t.Run(format, func(t *testing.T) {
			r := exportertest.Run(t, []string{"DATA_SOURCE_NAME="}, "check", "--config.file="+cfg, "--target=demo", "--output="+format)
			if r.Code != 2 {
				t.Errorf("exit %d, want 2 (FAIL)\n%s", r.Code, r.Stderr)
			}
			got := r.Stdout
			switch format {
			case "json":
				got = maskJSON(t, got)
			case "prom":
				promtool(t, got)
				got = maskCheck[format](got)
			default:
				got = maskCheck[format](got)
			}
			golden := filepath.Join("testdata", "check", "faults."+format)
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestCheckGolden -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("%s output differs from %s:\n--- got\n%s\n--- want\n%s", format, golden, got, want)
			}
		})
	}
}

// checkDocument is the JSON output as the README documents it, decoded
// strictly.
type checkDocument struct {
	Target          string   `json:"target"`
	StartedAt       string   `json:"started_at"`
	DurationSeconds *float64 `json:"duration_seconds"`
	Worst           string   `json:"worst"`
	ExitCode        *int     `json:"exit_code"`
	Checks          []struct {
		Source      string   `json:"source"`
		Check       string   `json:"check"`
		Status      string   `json:"status"`
		Value       *float64 `json:"value"`
		Details     string   `json:"details"`
		SampleDates []string `json:"sample_dates,omitempty"`
	} `json:"checks"`
	Errors []struct {
		Collector string `json:"collector"`
		Error     string `json:"error"`
	} `json:"errors"`
}

// maskJSON checks the document is one line of JSON naming every check of
// the contract, and returns it indented with its times masked.
func maskJSON(t *testing.T, out string) string {
	t.Helper()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("JSON output is not one line:\n%s", out)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var doc checkDocument
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("JSON output does not parse: %v\n%s", err, out)
	}
	if _, err := time.Parse(time.RFC3339Nano, doc.StartedAt); err != nil || doc.DurationSeconds == nil || *doc.DurationSeconds <= 0 {
		t.Errorf("started_at %q, duration_seconds %v", doc.StartedAt, doc.DurationSeconds)
	}
	// The contract's checks (campaign-system.md), by function.
	want := []string{
		"check_attribution_quality/Revenue Balance", "check_attribution_quality/Weight Distribution",
		"check_campaign_system_health/Campaign ID Integrity", "check_campaign_system_health/Campaign Overlaps", "check_campaign_system_health/Holiday Sync Status",
		"check_holiday_data_integrity/DUPLICATE_HOLIDAYS", "check_holiday_data_integrity/MISSING_HOLIDAY_FLAG", "check_holiday_data_integrity/ORPHANED_HOLIDAY_FLAG",
		"monitor_system_performance/Analysis View Query", "monitor_system_performance/Attribution Calculation",
	}
	var got []string
	for _, c := range doc.Checks {
		got = append(got, c.Source+"/"+c.Check)
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("JSON checks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	doc.StartedAt = "<volatile>"
	doc.DurationSeconds = new(float64)
	for i := range doc.Checks {
		if doc.Checks[i].Source == "monitor_system_performance" {
			doc.Checks[i].Value = new(float64)
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// promtool lints an exposition as promtool check metrics does (its linter
// is client_golang's promlint), and with the pinned promtool too when it
// has been built (make test builds it first).
func promtool(t *testing.T, exposition string) {
	t.Helper()
	problems, err := promlint.New(strings.NewReader(exposition)).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", err, problems)
	}
	bin := filepath.Join(pgtest.RepoRoot(), ".tools", "bin", "promtool")
	if _, err := os.Stat(bin); err != nil {
		t.Logf("no %s: linted with promlint only", bin)
		return
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// The server's first scrape and a check of the same database hold the same
// series with the same values (but for times and durations).
func TestCheckAgreesWithServer(t *testing.T) {
	db := demoDB(t, "campaign_inject_faults")
	env := []string{"DATA_SOURCE_NAME=" + db.DSN}
	p := exportertest.Start(t, env)
	code, _, scraped := exportertest.Do(t, nil, http.MethodGet, p.URL+"/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	r := exportertest.Run(t, env, "check", "--output=prom")
	if r.Code != 2 {
		t.Fatalf("check: exit %d\n%s", r.Code, r.Stderr)
	}
	server, checked := seriesOf(t, scraped), seriesOf(t, r.Stdout)
	checks := 0
	for s, v := range checked {
		if strings.HasPrefix(s, "campaign_health_") || strings.HasPrefix(s, "campaign_attribution_") ||
			strings.HasPrefix(s, "campaign_holiday_") || strings.HasPrefix(s, "campaign_performance_status") {
			checks++
		}
		if sv, ok := server[s]; !ok {
			t.Errorf("check has %s, the server does not", s)
		} else if sv != v {
			t.Errorf("%s: check %s, server %s", s, v, sv)
		}
	}
	for s := range server {
		if _, ok := checked[s]; !ok && strings.HasPrefix(s, "campaign_") && !strings.HasPrefix(s, "campaign_exporter_") {
			t.Errorf("the server has %s, check does not", s)
		}
	}
	if checks < 30 {
		t.Errorf("only %d check series compared", checks)
	}
}

// seriesOf maps each campaign_ series of an exposition (name and labels)
// to its value, masked where it changes between runs.
func seriesOf(t *testing.T, exposition string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for s, v := range exportertest.ParseText(t, exposition).Series() {
		if !strings.HasPrefix(s, "campaign_") {
			continue
		}
		out[s] = model.SampleValue(v).String()
		if volatile.MatchString(s) || strings.HasPrefix(s, "campaign_exporter_build_info{") {
			out[s] = "<volatile>"
		}
	}
	return out
}

// --output.file replaces the file whole, and --push.url pushes the same
// metrics to a Pushgateway under the job and target.
func TestCheckFileAndPush(t *testing.T) {
	db := demoDB(t, "campaign_fault_unsynced_holiday")
	type pushed struct {
		method, path, auth string
		body               string
	}
	got := make(chan pushed, 4)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		user, pw, _ := r.BasicAuth()
		got <- pushed{r.Method, r.URL.Path, user + ":" + pw, string(b)}
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "campaign.prom")
	if err := os.WriteFile(out, []byte("old content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "targets.yml")
	if err := os.WriteFile(cfg, []byte("targets:\n  - name: taipei\n    dsn: "+db.DSN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pushURL := strings.Replace(gw.URL, "http://", "http://pusher:s3cret@", 1)
	r := exportertest.Run(t, nil, "check", "--config.file="+cfg, "--target=taipei", "--output=prom", "--output.file="+out, "--push.url="+pushURL)
	if r.Code != 1 || r.Stdout != "" {
		t.Errorf("exit %d, want 1 (WARNING); stdout %q\n%s", r.Code, r.Stdout, r.Stderr)
	}
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(file), `campaign_health_check_status{check="Holiday Sync Status",status="WARNING"} 1`) {
		t.Errorf("%s:\n%s", out, file)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	select {
	case p := <-got:
		if p.method != http.MethodPut || p.path != "/metrics/job/campaign_check/target/taipei" || p.auth != "pusher:s3cret" {
			t.Errorf("pushed %s %s as %q", p.method, p.path, p.auth)
		}
		if len(p.body) == 0 {
			t.Error("pushed nothing")
		}
	default:
		t.Error("nothing pushed")
	}

	// A Pushgateway that refuses: UNKNOWN, and the URL's password unsaid.
	gw.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusBadRequest) })
	r = exportertest.Run(t, nil, "check", "--config.file="+cfg, "--target=taipei", "--output=json", "--push.url="+pushURL)
	if r.Code != 3 || !strings.Contains(r.Stdout, `"collector":"push"`) || strings.Contains(r.Stdout+r.Stderr, "s3cret") {
		t.Errorf("refused push: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// check-config validates both files as the server does at start, without
// a database (every DSN here points at a closed port).
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	dsn := "postgres://postgres@" + exportertest.FreeAddr(t) + "/none?sslmode=disable"
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yml", "targets:\n  - name: a\n    dsn: "+dsn+"\n")
	goodWeb := write("web.yml", "basic_auth_users:\n  prometheus: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n")
	for _, tc := range []struct {
		name string
		args []string
		want int
		says []string
	}{
		{"valid", []string{"--config.file=" + good, "--web.config.file=" + goodWeb}, 0, []string{good + ": valid", goodWeb + ": valid"}},
		{"unknown key", []string{"--config.file=" + write("bad.yml", "targets:\n  - name: a\n    dsn: "+dsn+"\n    dns: x\n")}, 1, []string{"bad.yml: line 4: unknown key \"dns\""}},
		{"unparsable dsn", []string{"--config.file=" + write("dsn.yml", "targets:\n  - name: a\n    dsn: postgres://u@[bad\n")}, 1, []string{`line 2: target "a": cannot parse the data source name`}},
		{"bad web config", []string{"--config.file=" + good, "--web.config.file=" + write("badweb.yml", "tls_server_config:\n  cert_fil: x\n")}, 1, []string{"badweb.yml", "line 2", "cert_fil"}},
		{"nothing to check", nil, 1, []string{"nothing to check"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exportertest.Run(t, []string{"DATA_SOURCE_NAME="}, append([]string{"check-config"}, tc.args...)...)
			if r.Code != tc.want {
				t.Errorf("exit %d, want %d\n%s%s", r.Code, tc.want, r.Stdout, r.Stderr)
			}
			for _, s := range tc.says {
				if !strings.Contains(r.Stdout+r.Stderr, s) {
					t.Errorf("output does not say %q:\n%s%s", s, r.Stdout, r.Stderr)
				}
			}
		})
	}
}

// The password of the DSN never shows in any output or error of check or
// check-config, working or broken, in any format, at debug level.
func TestCheckNeverShowsPassword(t *testing.T) {
	db := demoDB(t, "campaign_fault_orphan_campaign")
	role, password := secLoginRole(t)
	dir := t.TempDir()
	right := secURL(role, password, db.TargetAddr(), db.Name)
	closedPort := secURL(role, password, exportertest.FreeAddr(t), db.Name)
	noSuchDB := secURL(role, password, db.TargetAddr(), "campaign_nosuch_"+secRandom())
	unparsable := "postgres://" + role + ":" + password + "@[bad/" + db.Name
	config := secWrite(t, dir, "targets.yml", "targets:\n  - name: right\n    dsn: "+right+"\n  - name: closed\n    dsn: "+closedPort+"\n")
	badConfig := secWrite(t, dir, "bad.yml", "targets:\n  - name: right\n    dsn: "+right+"\n    password: "+password+"\n")
	badDSNConfig := secWrite(t, dir, "baddsn.yml", "targets:\n  - name: right\n    dsn: "+unparsable+"\n")

	type run struct {
		env  []string
		args []string
		want int
	}
	var runs []run
	for _, format := range []string{"table", "json", "prom", "nagios"} {
		for _, dsn := range []struct {
			dsn  string
			want int
		}{{right, 2}, {closedPort, 3}, {noSuchDB, 3}, {unparsable, 3}} {
			runs = append(runs, run{[]string{"DATA_SOURCE_NAME=" + dsn.dsn}, []string{"check", "--log.level=debug", "--output=" + format}, dsn.want})
		}
		runs = append(runs,
			run{[]string{"DATA_SOURCE_NAME="}, []string{"check", "--log.level=debug", "--output=" + format, "--config.file=" + config, "--target=closed"}, 3},
			run{[]string{"DATA_SOURCE_NAME="}, []string{"check", "--log.level=debug", "--output=" + format, "--db.dsn-file=" + secWrite(t, dir, "db.dsn", noSuchDB)}, 3},
		)
	}
	runs = append(runs,
		run{nil, []string{"check", "--config.file=" + badConfig, "--target=right"}, 3},
		run{nil, []string{"check", "--config.file=" + badDSNConfig, "--target=right"}, 3},
		run{nil, []string{"check-config", "--config.file=" + badConfig}, 1},
		run{nil, []string{"check-config", "--config.file=" + badDSNConfig}, 1},
		run{nil, []string{"check-config", "--config.file=" + config}, 0},
	)
	for _, rc := range runs {
		r := exportertest.Run(t, rc.env, rc.args...)
		if r.Code != rc.want {
			t.Errorf("%v %v: exit %d, want %d\n%s", rc.env, rc.args, r.Code, rc.want, r.Stderr)
		}
		if strings.Contains(r.Stdout+r.Stderr, password) {
			t.Errorf("%v: the password is in the output:\n%s%s", rc.args, r.Stdout, r.Stderr)
		}
	}
}

// Usage errors of check are UNKNOWN (3) to Nagios; the server's stay 1,
// and a server started without a command still serves.
func TestCheckUsageAndHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
		says string
	}{
		{[]string{"check", "--output=xml"}, 3, "table,json,prom,nagios"},
		{[]string{"check", "--check.timeout=0s"}, 3, "--check.timeout must be positive"},
		{[]string{"check", "--target=a"}, 3, "--target needs --config.file"},
		{[]string{"check"}, 3, "no database"},
		{[]string{"--nosuch-flag"}, 1, "nosuch-flag"},
		{[]string{"check", "--help"}, 0, "(UNKNOWN)"},
		{[]string{"--help"}, 0, "check-config"},
	} {
		r := exportertest.Run(t, []string{"DATA_SOURCE_NAME="}, tc.args...)
		if r.Code != tc.want || !strings.Contains(r.Stdout+r.Stderr, tc.says) {
			t.Errorf("%v: exit %d (want %d), output without %q:\n%s%s", tc.args, r.Code, tc.want, tc.says, r.Stdout, r.Stderr)
		}
	}
}
