package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/exportertest"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

// Regression tests for the hardening round: each is named after the defect
// it proves fixed, and runs the real binary against a real database or a
// real socket.

// hostileChecks makes three check functions hostile: the health check
// switches the session's read-only mode and statement timeout off for
// whatever runs next on its connection and puts a schema whose
// current_setting lies about that before pg_catalog, the holiday check
// tries to write, directly and through a SECURITY DEFINER function, and
// the performance
// self-test reports the session's statement_timeout (ms) and read-only
// mode (1 on) as measurements, so the test sees what a later query sees.
func hostileChecks(t *testing.T, db *pgtest.DB) {
	t.Helper()
	if err := db.ExecScript(`
CREATE TABLE hostile_writes (at timestamptz DEFAULT now(), via text);
GRANT INSERT ON hostile_writes TO PUBLIC;
CREATE FUNCTION hostile_definer_write() RETURNS void LANGUAGE sql SECURITY DEFINER
AS $$ INSERT INTO hostile_writes (via) VALUES ('security definer') $$;

-- A current_setting that answers what the exporter expects, found before
-- pg_catalog's once the health check below puts its schema first.
CREATE SCHEMA hostile;
GRANT USAGE ON SCHEMA hostile TO PUBLIC;
CREATE FUNCTION hostile.current_setting(text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE $1 WHEN 'default_transaction_read_only' THEN 'on'
                   WHEN 'statement_timeout' THEN '30s'
                   WHEN 'lock_timeout' THEN '2s'
                   WHEN 'search_path' THEN '"$user", public'
                   WHEN 'max_parallel_workers_per_gather' THEN '0'
                   ELSE pg_catalog.current_setting($1) END
$$;

CREATE OR REPLACE FUNCTION check_campaign_system_health() RETURNS TABLE(check_name text, status text, details text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('default_transaction_read_only', 'off', false);
    PERFORM set_config('statement_timeout', '0', false);
    PERFORM set_config('search_path', 'hostile, pg_catalog, public', false);
    RETURN QUERY SELECT 'Campaign ID Integrity'::text, 'PASS'::text, '0 筆 dim_date 記錄有無效的 campaign_id'::text;
END $$;

CREATE OR REPLACE FUNCTION check_holiday_data_integrity()
RETURNS TABLE(check_type text, issue_count bigint, description text, sample_dates date[])
LANGUAGE plpgsql AS $$
BEGIN
    -- The only setting this one changes: caught on its own. The local
    -- value hides the change from a read inside this transaction; it
    -- takes effect at the commit.
    PERFORM set_config('max_parallel_workers_per_gather', '8', false);
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
    BEGIN
        INSERT INTO hostile_writes (via) VALUES ('grant');
    EXCEPTION WHEN read_only_sql_transaction THEN NULL;
    END;
    BEGIN
        PERFORM hostile_definer_write();
    EXCEPTION WHEN read_only_sql_transaction THEN NULL;
    END;
    RETURN QUERY SELECT 'MISSING_HOLIDAY_FLAG'::text, 0::bigint, ''::text, ARRAY[]::date[];
END $$;

CREATE OR REPLACE FUNCTION monitor_system_performance() RETURNS TABLE(metric_name text, execution_time_ms numeric, status text)
LANGUAGE sql AS $$
    SELECT 'session statement_timeout', (SELECT setting::numeric FROM pg_catalog.pg_settings WHERE name = 'statement_timeout'), 'GOOD'
    UNION ALL
    SELECT 'session read only', CASE pg_catalog.current_setting('default_transaction_read_only') WHEN 'on' THEN 1 ELSE 0 END, 'GOOD'
    UNION ALL
    SELECT 'session parallel workers', pg_catalog.current_setting('max_parallel_workers_per_gather')::numeric, 'GOOD'
$$;`); err != nil {
		t.Fatal(err)
	}
}

func TestReadOnlyPromiseSurvivesHostileFunctions(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	hostileChecks(t, db)
	args := []string{"--db.max-connections=1", "--no-collector.attribution", "--no-collector.orders", "--no-collector.inventory"}
	for _, c := range []string{"health", "holiday_integrity", "performance", "table_stats", "index_usage", "objects", "maintenance"} {
		args = append(args, "--collector."+c+".min-interval=0")
	}
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME=" + db.DSN}, args...)
	for i := range 15 {
		s, _ := scrapeBinary(t, p, 10*time.Second)
		if s["campaign_up"] != 1 {
			t.Fatalf("scrape %d: campaign_up %v\n%s", i, s["campaign_up"], p.Log())
		}
		if got := s[`campaign_performance_duration_seconds{measurement="session statement_timeout"}`]; got != 30 {
			t.Errorf("scrape %d: a later query ran with statement_timeout %vs, want the exporter's 30s", i, got)
		}
		if got := s[`campaign_performance_duration_seconds{measurement="session read only"}`]; got != 0.001 {
			t.Errorf("scrape %d: a later query ran with default_transaction_read_only off", i)
		}
		// Parallel workers are server processes beyond the connection bound.
		if got, ok := s[`campaign_performance_duration_seconds{measurement="session parallel workers"}`]; !ok || got != 0 {
			t.Errorf("scrape %d: a later query ran with max_parallel_workers_per_gather %v (reported: %v), want 0", i, got*1000, ok)
		}
	}
	var n int
	var via string
	db.QueryRow(t, `SELECT count(*), coalesce(string_agg(DISTINCT via, ','), '') FROM hostile_writes`, []any{&n, &via})
	if n != 0 {
		t.Errorf("%d rows written through the exporter's sessions (via %s)", n, via)
	}
}

func TestAbortedRequestsDoNotFloodTheLog(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME=" + db.DSN})
	scrapeBinary(t, p, 10*time.Second) // warm: the aborts below hit cached collectors
	before := len(strings.Split(p.Log(), "\n"))
	addr := strings.TrimPrefix(p.URL, "http://")
	for range 1000 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n")
		// Close with a reset, as a client killed mid-scrape does.
		_ = c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	// A tiny timeout header is a bad request, not a database outage.
	code, _, body := exportertest.Do(t, nil, http.MethodGet, p.URL+"/metrics", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"1e-9"}})
	if code != http.StatusBadRequest {
		t.Errorf("timeout header 1e-9: %d, want 400: %s", code, body)
	}
	s, _ := scrapeBinary(t, p, 10*time.Second)
	if s["campaign_up"] != 1 {
		t.Errorf("campaign_up %v after the aborted requests", s["campaign_up"])
	}
	logs := p.Log()
	lines := strings.Split(logs, "\n")[before-1:]
	if len(lines) > 5 {
		t.Errorf("1000 aborted requests logged %d lines, want at most a handful:\n%s", len(lines), strings.Join(lines[:min(len(lines), 20)], "\n"))
	}
	if strings.Contains(logs, "database unreachable") {
		t.Errorf("a client that gave up was logged as a database outage:\n%s", logs)
	}
	// What is not logged is counted (a request reset before the server read
	// it is neither).
	counted := s["campaign_exporter_scrapes_aborted_total"] + s["campaign_exporter_scrape_write_errors_total"]
	if counted == 0 {
		t.Errorf("no aborted request counted in campaign_exporter_scrapes_aborted_total")
	}
	t.Logf("aborted requests counted: %v; log lines: %d", counted, len(lines))
}

func TestSlowAndIdleClientsAreCut(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME=" + db.DSN}, "--web.read-header-timeout=1s")
	addr := strings.TrimPrefix(p.URL, "http://")
	var conns []net.Conn
	for range 100 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n") // headers never finished
		conns = append(conns, c)
	}
	start := time.Now()
	var wg sync.WaitGroup
	cut := make(chan time.Duration, len(conns))
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, _ = io.Copy(io.Discard, c) // returns when the server closes
			cut <- time.Since(start)
		}()
	}
	wg.Wait()
	close(cut)
	var worst time.Duration
	for d := range cut {
		worst = max(worst, d)
	}
	if worst > 10*time.Second {
		t.Errorf("slow clients held their connections for %s; want them cut after the 1s header timeout", worst)
	}
	if s, _ := scrapeBinary(t, p, 10*time.Second); s["campaign_up"] != 1 {
		t.Errorf("campaign_up %v", s["campaign_up"])
	}
}

func TestIdleSocketsDoNotExhaustFileDescriptors(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	addr := exportertest.FreeAddr(t)
	// A hard limit of 64 open files, which Go's start-up cannot raise.
	cmd := exec.Command("sh", "-c", `ulimit -n 64 && exec "$0" "$@"`, exportertest.Build(t),
		"--web.listen-address="+addr, "--web.read-header-timeout=1s")
	cmd.Env = append(os.Environ(), "DATA_SOURCE_NAME="+db.DSN)
	p := exportertest.StartCmd(t, cmd, addr)

	var idle []net.Conn
	for range 80 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	// Each scrape on a new connection (Scrape's client keeps none alive).
	for i := range 3 {
		if s := p.Scrape(t, "/metrics", nil).Series(); s["campaign_up"] != 1 || s[`campaign_collector_success{collector="health"}`] != 1 {
			t.Errorf("scrape %d with 80 idle sockets open: campaign_up %v, health %v\n%s", i, s["campaign_up"], s[`campaign_collector_success{collector="health"}`], p.Log())
		}
	}
}

// sighup reloads p's config file and waits up to 3s for one more log line
// containing want.
func sighup(t *testing.T, p *exportertest.Process, want string) {
	t.Helper()
	n := strings.Count(p.Log(), want)
	p.Signal(t, syscall.SIGHUP)
	for i := 0; strings.Count(p.Log(), want) == n; i++ {
		if i == 150 {
			t.Fatalf("no %q in the log 3s after SIGHUP:\n%s", want, p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// probeLastSuccess is a target's attribution collector's last success.
func probeLastSuccess(t *testing.T, p *exportertest.Process, target string) float64 {
	t.Helper()
	code, body := mtProbe(t, p, target)
	if code != http.StatusOK {
		t.Fatalf("probe %s: %d", target, code)
	}
	v, ok := exportertest.ParseText(t, body).Value("campaign_collector_last_success_timestamp_seconds", map[string]string{"collector": "attribution"})
	if !ok {
		t.Fatalf("probe %s: no attribution last success:\n%s", target, body)
	}
	return v
}

func TestReloadKeepsUnchangedTargets(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	cfg := filepath.Join(t.TempDir(), "targets.yml")
	mtConfig(t, cfg, mtTarget("a", db.DSN), mtTarget("b", db.DSN))
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+cfg)
	a, b := probeLastSuccess(t, p, "a"), probeLastSuccess(t, p, "b")

	// Only the targets' places in the file change.
	secWrite(t, filepath.Dir(cfg), filepath.Base(cfg), "# a comment above the targets\n\n"+string(body))
	sighup(t, p, "loaded config file")
	if a2, b2 := probeLastSuccess(t, p, "a"), probeLastSuccess(t, p, "b"); a2 != a || b2 != b {
		t.Errorf("a reload that changed no target ran the cached attribution check again (a %v -> %v, b %v -> %v): the targets were rebuilt", a, a2, b, b2)
	}
}

func TestReloadEndpointNeedsLifecycleFlag(t *testing.T) {
	db := pgtest.New(t)
	cfg := filepath.Join(t.TempDir(), "targets.yml")
	mtConfig(t, cfg, mtTarget("a", db.DSN))

	off := exportertest.Start(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+cfg)
	if code, _, _ := exportertest.Do(t, nil, "POST", off.URL+"/-/reload", nil); code != http.StatusNotFound {
		t.Errorf("POST /-/reload without --web.enable-lifecycle and without a web config: %d, want 404", code)
	}

	on := exportertest.Start(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+cfg, "--web.enable-lifecycle")
	if code, _, _ := exportertest.Do(t, nil, "GET", on.URL+"/-/reload", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", code)
	}
	// A reload that fails says so without the file's path or content.
	secWrite(t, filepath.Dir(cfg), filepath.Base(cfg), "targets:\n  - name: a\n    dsn: postgres://u:hunter2@h/d?sslrootcert=/etc/secret/root.crt\n    sslkey: x\n")
	code, _, out := exportertest.Do(t, nil, "POST", on.URL+"/-/reload", nil)
	if code != http.StatusInternalServerError {
		t.Errorf("bad reload: %d, want 500", code)
	}
	for _, leak := range []string{cfg, "hunter2", "/etc/secret", "sslkey", "line"} {
		if strings.Contains(out, leak) {
			t.Errorf("bad reload's response shows %q: %s", leak, out)
		}
	}
}

func TestReloadRefusesUnboundedFiles(t *testing.T) {
	db := pgtest.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "targets.yml")
	mtConfig(t, cfg, mtTarget("a", db.DSN))
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+cfg)

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/dev/zero", fifo} {
		if err := os.Remove(cfg); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, cfg); err != nil {
			t.Fatal(err)
		}
		sighup(t, p, "reload failed")
		if code, _ := mtProbe(t, p, "a"); code != http.StatusOK {
			t.Errorf("after a refused reload of %s: old target answers %d", target, code)
		}
	}
	if !strings.Contains(p.Log(), "not a regular file") {
		t.Errorf("the log does not say why:\n%s", p.Log())
	}
}

func TestRefusedConnectionsBackOffToLiveOnes(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	role, password := secLoginRole(t)
	secAdminExec(t, fmt.Sprintf("ALTER ROLE %s CONNECTION LIMIT 2", role))
	dsn := secURL(role, password, db.TargetAddr(), db.Name)
	args := []string{"--db.max-connections=3"}
	for _, c := range binaryCollectors {
		args = append(args, "--collector."+c+".min-interval=0")
	}
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME=" + dsn}, args...)
	for i := range 10 {
		s, _ := scrapeBinary(t, p, 20*time.Second)
		if bad := failing(s); len(bad) > 0 || s["campaign_up"] != 1 {
			t.Errorf("scrape %d under a connection limit of 2 and a pool of 3: up %v, failing %v", i, s["campaign_up"], bad)
		}
	}
	if t.Failed() {
		t.Log(p.Log())
	}
}

func TestBadFlagsStopStartUp(t *testing.T) {
	for _, tc := range []struct {
		flag, want string
	}{
		{"--db.statement-timeout=-1s", "--db.statement-timeout must not be negative"},
		{"--db.lock-timeout=-5s", "--db.lock-timeout must not be negative"},
		{"--db.parallel-workers=-1", "--db.parallel-workers must be between 0 and 1024"},
		{"--db.statement-timeout=500us", "--db.statement-timeout must be 0 (no timeout) or at least 1ms"},
		{"--scrape.timeout-offset=-10s", "--scrape.timeout-offset must not be negative"},
		{"--web.telemetry-path=/probe", "--web.telemetry-path /probe is taken"},
		{"--web.telemetry-path=/-/reload", "--web.telemetry-path /-/reload is taken"},
		{"--web.telemetry-path=metrics", "--web.telemetry-path must start with /"},
		{"--web.telemetry-path=", "--web.telemetry-path must start with /"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			r := runExporter(t, []string{"DATA_SOURCE_NAME=postgres://u@127.0.0.1:1/d"}, tc.flag)
			out := r.Stdout + r.Stderr
			if r.Code == 0 {
				t.Fatalf("started with %s", tc.flag)
			}
			if !strings.Contains(out, tc.want) || strings.Contains(out, "goroutine") {
				t.Errorf("%s: output does not say %q (or panicked):\n%s", tc.flag, tc.want, out)
			}
		})
	}
}

func TestManyTargetsStayWithinTheConnectionBound(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	cfg := filepath.Join(t.TempDir(), "targets.yml")
	const targets = 30
	specs := make([]string, targets)
	for i := range specs {
		specs[i] = mtTarget(fmt.Sprintf("t%02d", i), db.DSN)
	}
	mtConfig(t, cfg, specs...)
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+cfg,
		"--db.max-connections-total=5", "--db.max-connections-per-host=4", "--db.idle-timeout=1s")

	sampler := exportertest.SampleSessions(db)
	var wg sync.WaitGroup
	down := make(chan string, targets)
	for i := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("t%02d", i)
			req, _ := http.NewRequest("GET", p.URL+"/probe?target="+name, nil)
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "25")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				down <- name + ": " + err.Error()
				return
			}
			defer resp.Body.Close()
			m, err := exportertest.Parse(resp.Body)
			if err != nil {
				down <- name + ": " + err.Error()
				return
			}
			if s := m.Series(); s["campaign_up"] != 1 || len(failing(s)) > 0 {
				down <- fmt.Sprintf("%s: up %v, failing %v", name, s["campaign_up"], failing(s))
			}
		}()
	}
	wg.Wait()
	close(down)
	for d := range down {
		t.Errorf("target %s", d)
	}
	peak, err := sampler.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if peak > 4 {
		t.Errorf("%d exporter sessions at once on one server, want at most --db.max-connections-per-host=4", peak)
	}
	// Idle connections go back soon after the scrapes.
	deadline := time.Now().Add(10 * time.Second)
	for secSessions(t, db) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d exporter sessions still open 10s after the scrapes, with --db.idle-timeout=1s", secSessions(t, db))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d targets, peak %d sessions", targets, peak)
}

func TestHTTPEdges(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	cfg := filepath.Join(t.TempDir(), "targets.yml")
	mtConfig(t, cfg, mtTarget("a", db.DSN))
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME=" + db.DSN}, "--config.file="+cfg)

	t.Run("scrapes are GET only", func(t *testing.T) {
		for _, path := range []string{"/metrics", "/probe?target=a"} {
			for _, m := range []string{"POST", "PUT", "DELETE"} {
				if code, hdr, _ := exportertest.Do(t, nil, m, p.URL+path, nil); code != http.StatusMethodNotAllowed || !strings.Contains(hdr.Get("Allow"), "GET") {
					t.Errorf("%s %s: %d (Allow %q), want 405", m, path, code, hdr.Get("Allow"))
				}
			}
		}
	})
	t.Run("OpenMetrics is negotiated", func(t *testing.T) {
		_, hdr, body := exportertest.Do(t, nil, "GET", p.URL+"/metrics", http.Header{"Accept": {"application/openmetrics-text;version=1.0.0"}})
		if !strings.HasPrefix(hdr.Get("Content-Type"), "application/openmetrics-text") || !strings.HasSuffix(strings.TrimSpace(body), "# EOF") {
			t.Errorf("Content-Type %q; want OpenMetrics", hdr.Get("Content-Type"))
		}
	})
	t.Run("landing page links only what is served", func(t *testing.T) {
		_, _, body := exportertest.Do(t, nil, "GET", p.URL+"/", nil)
		if strings.Contains(body, "debug/pprof") {
			t.Errorf("the landing page links /debug/pprof/, which is not served")
		}
		if !strings.Contains(body, `probe?target=a"`) {
			t.Errorf("the landing page does not link the target's /probe:\n%s", body)
		}
		if strings.Contains(body, "/-/reload") {
			t.Errorf("the landing page links /-/reload, which is not served without --web.enable-lifecycle")
		}
		for _, path := range []string{"/-/healthy", "/-/ready"} {
			if code, _, _ := exportertest.Do(t, nil, "GET", p.URL+path, nil); code != http.StatusOK {
				t.Errorf("GET %s: %d, want 200", path, code)
			}
		}
	})
}

func TestGoServerErrorsGoThroughTheLogger(t *testing.T) {
	db := pgtest.New(t)
	cert, key := secSelfSigned(t)
	dir := t.TempDir()
	certFile, keyFile := secWrite(t, dir, "tls.crt", string(cert)), secWrite(t, dir, "tls.key", string(key))
	webConfig := secWrite(t, dir, "web.yml", fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile))
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME=" + db.DSN}, "--web.config.file="+webConfig)
	addr := strings.TrimPrefix(p.URL, "http://")
	for range 50 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n") // plain HTTP to a TLS port
		_, _ = io.Copy(io.Discard, c)
		c.Close()
	}
	// A real TLS client still gets through.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test certificate
	resp, err := client.Get("https://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var handshake []string
	sc := bufio.NewScanner(strings.NewReader(p.Log()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "TLS handshake") {
			handshake = append(handshake, sc.Text())
		}
	}
	if len(handshake) == 0 || len(handshake) > 2 {
		t.Fatalf("50 bad handshakes logged %d lines, want 1 or 2:\n%s", len(handshake), p.Log())
	}
	if !strings.HasPrefix(handshake[0], "level=error") {
		t.Errorf("Go's own log line bypassed the logger: %s", handshake[0])
	}
}

func TestUnparsableDSNErrorShowsNoValue(t *testing.T) {
	dsn := "postgres://u@127.0.0.1:5432/d?sslrootcert=/srv/secret/ca.pem&sslmode=verify-full&connect_timeout=notanumber"
	r := runExporter(t, []string{"DATA_SOURCE_NAME=" + dsn})
	out := r.Stdout + r.Stderr
	if r.Code == 0 {
		t.Fatal("started with an unparsable DSN")
	}
	if !strings.Contains(out, "cannot parse the data source name") {
		t.Errorf("the error does not say what is wrong:\n%s", out)
	}
	for _, leak := range []string{"/srv/secret", "notanumber"} {
		if strings.Contains(out, leak) {
			t.Errorf("the error shows the DSN's value %q:\n%s", leak, out)
		}
	}
}

func TestServiceDiscoveryFollowsReloads(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "targets.yml")
	mtConfig(t, cfg, mtTarget("a", db.DSN), mtTarget("b", db.DSN, "labels: {region: north}"))
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+cfg)

	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	sd := func() []group {
		t.Helper()
		code, hdr, body := exportertest.Do(t, nil, "GET", p.URL+"/sd", nil)
		if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("GET /sd: %d %s: %s", code, hdr.Get("Content-Type"), body)
		}
		var groups []group
		if err := json.Unmarshal([]byte(body), &groups); err != nil {
			t.Fatalf("GET /sd is not http_sd JSON: %v\n%s", err, body)
		}
		return groups
	}
	want := []group{{Targets: []string{"a"}, Labels: map[string]string{}}, {Targets: []string{"b"}, Labels: map[string]string{"region": "north"}}}
	if got := sd(); !reflect.DeepEqual(got, want) {
		t.Errorf("/sd = %+v, want %+v", got, want)
	}
	if code, _, _ := exportertest.Do(t, nil, "POST", p.URL+"/sd", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /sd: %d, want 405", code)
	}

	// A reload adds a target and relabels another; relabelling keeps the
	// target's pool and caches.
	before := probeLastSuccess(t, p, "b")
	if _, _, body := exportertest.Do(t, nil, "GET", p.URL+"/", nil); strings.Contains(body, `probe?target=c"`) {
		t.Fatalf("the landing page lists target c before it exists")
	}
	mtConfig(t, cfg, mtTarget("a", db.DSN), mtTarget("b", db.DSN, "labels: {region: south}"), mtTarget("c", db.DSN))
	sighup(t, p, "loaded config file")
	want = []group{
		{Targets: []string{"a"}, Labels: map[string]string{}},
		{Targets: []string{"b"}, Labels: map[string]string{"region": "south"}},
		{Targets: []string{"c"}, Labels: map[string]string{}},
	}
	if got := sd(); !reflect.DeepEqual(got, want) {
		t.Errorf("/sd after the reload = %+v, want %+v", got, want)
	}
	// The landing page, rendered once per target list, follows too.
	if _, _, body := exportertest.Do(t, nil, "GET", p.URL+"/", nil); !strings.Contains(body, `probe?target=c"`) {
		t.Errorf("the landing page does not list target c added by the reload")
	}
	if after := probeLastSuccess(t, p, "b"); after != before {
		t.Errorf("relabelling target b ran its cached attribution check again: the target was rebuilt")
	}
}
