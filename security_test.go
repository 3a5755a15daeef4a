package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/internal/exportertest"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Security of the exporter: secrets never shown, least privilege, no SQL
// from request input, TLS and basic auth. The helpers at the end are shared
// with multitarget_test.go.

// TestSecretsNeverShown runs the exporter with DSNs holding a known password
// in every place a DSN can come from, working and broken, at debug level,
// drives every endpoint including failed reloads, and looks for the
// password in all output and every response.
//
// The test server may trust loopback connections (pg_hba "trust"; the
// throwaway cluster of make test asks for passwords on TCP), so a wrong
// password cannot be relied on to be rejected here.
// The broken DSNs fail the other ways a server or network refuses: a
// closed port, a database the server rejects, an unparsable DSN.
func TestSecretsNeverShown(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	role, password := secLoginRole(t)
	dir := t.TempDir()

	right := secURL(role, password, db.TargetAddr(), db.Name)
	closedPort := secURL(role, password, exportertest.FreeAddr(t), db.Name)
	noSuchDB := secURL(role, password, db.TargetAddr(), "campaign_nosuch_"+secRandom())
	host, port, _ := net.SplitHostPort(db.TargetAddr())
	keyValue := fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s sslmode=disable", host, port, role, password, db.Name)
	unparsable := "postgres://" + role + ":" + password + "@[bad/" + db.Name

	file := func(name, content string) string { return secWrite(t, dir, name, content) }
	goodConfig := "targets:\n" +
		"  - name: right\n    dsn: " + right + "\n" +
		"  - name: right_file\n    dsn_file: " + file("right.dsn", right+"\n") + "\n" +
		"  - name: keyvalue\n    dsn: '" + keyValue + "'\n" +
		"  - name: closed_port\n    dsn: " + closedPort + "\n" +
		"  - name: nosuch_db\n    dsn_file: " + file("nosuch.dsn", noSuchDB) + "\n"
	badConfigs := []string{
		// an unknown key beside a DSN
		"targets:\n  - name: right\n    dsn: " + right + "\n    password: " + password + "\n",
		// an unparsable DSN
		"targets:\n  - name: right\n    dsn: " + unparsable + "\n",
		// both sources
		"targets:\n  - name: right\n    dsn: " + right + "\n    dsn_file: " + file("again.dsn", right) + "\n",
		// a YAML error on the DSN's line
		"targets:\n  - name: right\n    dsn: " + right + ": x\n",
	}

	const noDB = -1
	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		up      float64  // campaign_up on /metrics; noDB: no database on /metrics
		targets []string // with a config file: target -> wanted campaign_up
		ups     []float64
	}{
		{name: "env right", env: []string{"DATA_SOURCE_NAME=" + right}, up: 1},
		{name: "env closed port", env: []string{"DATA_SOURCE_NAME=" + closedPort}, up: 0},
		{name: "env no such database", env: []string{"DATA_SOURCE_NAME=" + noSuchDB}, up: 0},
		{name: "env keyword/value", env: []string{"DATA_SOURCE_NAME=" + keyValue}, up: 1},
		{name: "dsn-file right", env: []string{"DATA_SOURCE_NAME="}, args: []string{"--db.dsn-file=" + file("db.dsn", right+"\n")}, up: 1},
		{name: "dsn-file no such database", env: []string{"DATA_SOURCE_NAME="}, args: []string{"--db.dsn-file=" + file("db-bad.dsn", noSuchDB)}, up: 0},
		{name: "dsn-file closed port", env: []string{"DATA_SOURCE_NAME=" + right}, args: []string{"--db.dsn-file=" + file("db-port.dsn", closedPort)}, up: 0},
		{
			name: "config file", env: []string{"DATA_SOURCE_NAME="}, args: []string{"--config.file=" + file("targets.yml", goodConfig), "--web.enable-lifecycle"}, up: noDB,
			targets: []string{"right", "right_file", "keyvalue", "closed_port", "nosuch_db"}, ups: []float64{1, 1, 1, 0, 0},
		},
		{
			name: "config file and env", env: []string{"DATA_SOURCE_NAME=" + noSuchDB}, args: []string{"--config.file=" + file("targets2.yml", goodConfig), "--web.enable-lifecycle"}, up: 0,
			targets: []string{"right", "closed_port"}, ups: []float64{1, 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := exportertest.Start(t, tc.env, append([]string{"--log.level=debug"}, tc.args...)...)
			var seen []string // every response, headers and body
			record := func(method, path string, want int) string {
				t.Helper()
				code, hdr, body := exportertest.Do(t, nil, method, p.URL+path, nil)
				seen = append(seen, fmt.Sprint(hdr), body)
				if want != 0 && code != want {
					t.Errorf("%s %s: %d, want %d\n%s", method, path, code, want, body)
				}
				return body
			}
			record("GET", "/", http.StatusOK)
			body := record("GET", "/metrics", http.StatusOK)
			if tc.up != noDB {
				if got, ok := exportertest.ParseText(t, body).Value("campaign_up", nil); !ok || got != tc.up {
					t.Errorf("/metrics: campaign_up %v (present: %v), want %v", got, ok, tc.up)
				}
			}
			record("GET", "/metrics", http.StatusOK) // a repeated failure logs at debug
			record("GET", "/nosuch", 0)
			if tc.targets == nil {
				record("GET", "/probe?target=right", http.StatusNotFound)
			}
			for i, name := range tc.targets {
				body := record("GET", "/probe?target="+name, http.StatusOK)
				if got, ok := exportertest.ParseText(t, body).Value("campaign_up", nil); !ok || got != tc.ups[i] {
					t.Errorf("/probe?target=%s: campaign_up %v (present: %v), want %v", name, got, ok, tc.ups[i])
				}
			}
			if tc.targets != nil {
				cfg := strings.TrimPrefix(tc.args[0], "--config.file=")
				record("GET", "/probe?target="+url.QueryEscape(password), http.StatusBadRequest)
				record("GET", "/probe?target="+url.QueryEscape(right), http.StatusBadRequest)
				record("GET", "/probe", http.StatusBadRequest)
				record("GET", "/-/reload", http.StatusMethodNotAllowed)
				record("POST", "/-/reload", http.StatusOK)
				for i, bad := range badConfigs {
					secWrite(t, filepath.Dir(cfg), filepath.Base(cfg), bad)
					record("POST", "/-/reload", http.StatusInternalServerError)
					p.Signal(t, syscall.SIGHUP)
					// Each reload, by POST and by SIGHUP, is logged before
					// the next file is written.
					secWait(t, func() bool { return strings.Count(p.Log(), "reload failed") >= 2*(i+1) }, p.Log)
				}
				body := record("GET", "/metrics", http.StatusOK)
				if got, ok := exportertest.ParseText(t, body).Value("campaign_exporter_config_last_reload_successful", nil); !ok || got != 0 {
					t.Errorf("after bad reloads: last_reload_successful %v (present: %v), want 0", got, ok)
				}
				record("GET", "/probe?target=right", http.StatusOK) // the old targets still serve
			}
			p.Stop()
			out := p.Log()
			if strings.Contains(out, password) {
				t.Errorf("the password is in the exporter's output:\n%s", out)
			}
			for _, s := range seen {
				if strings.Contains(s, password) {
					t.Errorf("the password is in a response:\n%s", s)
				}
			}
		})
	}

	// Start-up failures print the reason, never the DSN.
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"env unparsable", []string{"DATA_SOURCE_NAME=" + unparsable}, nil, "cannot parse the data source name"},
		{"dsn-file unparsable", []string{"DATA_SOURCE_NAME="}, []string{"--db.dsn-file=" + file("unparsable.dsn", unparsable)}, "cannot parse the data source name"},
		{"config unparsable", []string{"DATA_SOURCE_NAME="}, []string{"--config.file=" + file("bad1.yml", badConfigs[1])}, `line 2: target "right": cannot parse`},
		{"config unknown key", []string{"DATA_SOURCE_NAME="}, []string{"--config.file=" + file("bad0.yml", badConfigs[0])}, `line 4: unknown key "password"`},
		{"config yaml error", []string{"DATA_SOURCE_NAME="}, []string{"--config.file=" + file("bad3.yml", badConfigs[3])}, "line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runExporter(t, tc.env, append([]string{"--log.level=debug"}, tc.args...)...)
			out := r.Stdout + r.Stderr
			if r.Code == 0 {
				t.Fatalf("started; want an error naming %q", tc.want)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output does not name %q:\n%s", tc.want, out)
			}
			if strings.Contains(out, password) {
				t.Errorf("the password is in the output:\n%s", out)
			}
		})
	}
}

// TestExporterRoleScriptRaceSafe runs schema/exporter-role.sql in several
// databases at once while its role does not exist yet (under a fresh name,
// as the real role is shared with other tests): every run succeeds and the
// role ends up read-only by default. A second run is a no-op.
func TestExporterRoleScriptRaceSafe(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(pgtest.RepoRoot(), "schema", "exporter-role.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		role := "campaign_sec_" + secRandom()
		sql := strings.ReplaceAll(string(script), "campaign_exporter", role)
		// Registered before the databases, so it runs after they are
		// dropped (with the grants in them).
		t.Cleanup(func() { secAdminExec(t, "DROP ROLE IF EXISTS "+role) })
		const n = 4
		dbs := make([]*pgtest.DB, n)
		for i := range dbs {
			dbs[i] = pgtest.New(t)
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i, db := range dbs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = db.ExecScript(sql) }()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: run %d of %d concurrent runs failed: %v", round, i, n, err)
			}
		}
		for _, db := range dbs {
			if err := db.ExecScript(sql); err != nil {
				t.Fatalf("second run: %v", err)
			}
			var config []string
			db.QueryRow(t, "SELECT coalesce(rolconfig, '{}') FROM pg_roles WHERE rolname = $1", []any{&config}, role)
			if strings.Join(config, ",") != "default_transaction_read_only=on" {
				t.Errorf("role %s settings %v", role, config)
			}
			conn, err := pgx.Connect(context.Background(), db.DSNAs(role))
			if err != nil {
				t.Fatalf("connect as %s: %v", role, err)
			}
			var n int
			if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM holidays").Scan(&n); err != nil {
				t.Errorf("as %s: %v", role, err)
			}
			conn.Close(context.Background())
		}
	}
}

// TestLeastPrivilege runs the exporter as the campaign_exporter role of
// schema/exporter-role.sql: every collector succeeds on the scenario data.
// Writes through the exporter's pool fail (a read-only session), for that
// role and even for the superuser; and that role cannot write even when it
// turns read-only off, for want of privileges.
func TestLeastPrivilege(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	db.ApplyFile(t, "schema/exporter-role.sql")
	dsn := db.DSNAs("campaign_exporter")

	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME=" + dsn})
	m := p.Scrape(t, "/metrics", nil)
	if up, ok := m.Value("campaign_up", nil); !ok || up != 1 {
		t.Fatalf("/metrics as campaign_exporter: campaign_up %v (present: %v)\n%s", up, ok, p.Log())
	}
	success := m.ByLabel("campaign_collector_success", "collector")
	for _, name := range collector.Names() {
		if got, ok := success[name]; !ok || got != 1 {
			t.Errorf("collector %s as campaign_exporter: success %v (present: %v)", name, got, ok)
		}
	}
	var holidays int
	db.QueryRow(t, "SELECT count(*) FROM holidays", []any{&holidays})

	ctx := context.Background()
	writes := []string{
		"INSERT INTO holidays (date, name) VALUES ('2031-01-01', 'sec')",
		"UPDATE holidays SET name = 'sec'",
		"DELETE FROM holidays",
		"TRUNCATE holidays",
		"CREATE TABLE sec_probe (x int)",
		"SELECT * FROM holidays FOR UPDATE",
		"SELECT add_holiday('2031-01-02', 'sec')",
	}
	for _, who := range []struct{ name, dsn string }{
		{"campaign_exporter", dsn},
		{"superuser", db.DSN},
	} {
		pool, err := collector.NewPool(who.dsn, collector.DefaultPoolOptions)
		if err != nil {
			t.Fatal(err)
		}
		for _, sql := range writes {
			rows, err := pool.Query(ctx, sql)
			if err == nil {
				rows.Close()
				err = rows.Err()
			}
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "25006" {
				t.Errorf("%s through the exporter's pool: %s: %v, want SQLSTATE 25006 (read-only transaction)", who.name, sql, err)
			}
		}
		pool.Close()
	}

	// Read-only off, campaign_exporter still cannot write: it has no
	// privilege to.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET default_transaction_read_only = off"); err != nil {
		t.Fatal(err)
	}
	for _, sql := range writes[:5] {
		_, err := conn.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("campaign_exporter, read-write: %s: %v, want SQLSTATE 42501 (insufficient privilege)", sql, err)
		}
	}
	var after int
	db.QueryRow(t, "SELECT count(*) FROM holidays", []any{&after})
	if after != holidays {
		t.Errorf("holidays: %d rows, was %d", after, holidays)
	}
}

// TestProbeTargetIsNotInput: /probe only looks the target up among the
// configured names (server.ProbeHandler -> Targets.lookup, a map), so no
// request input reaches SQL or a connection string. Hostile names are a 400
// with a fixed body that does not echo them, and open no database session.
func TestProbeTargetIsNotInput(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	cfg := secWrite(t, t.TempDir(), "targets.yml", "targets:\n  - name: scenario\n    dsn: "+db.DSN+"\n")
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+cfg)

	for _, target := range []string{
		"x';DROP TABLE holidays;--",
		"scenario' OR '1'='1",
		"scenario;SELECT pg_sleep(10)",
		"SCENARIO",
		"scenario ",
		"scenario\x00",
		db.DSN,
		"host=127.0.0.1 dbname=postgres",
		"../../../etc/passwd",
		"<script>alert(1)</script>",
		"%27%3BDROP",
		strings.Repeat("A", 8000),
	} {
		code, hdr, body := exportertest.Do(t, nil, "GET", p.URL+"/probe?target="+url.QueryEscape(target), nil)
		if code != http.StatusBadRequest {
			t.Errorf("target %.40q: %d, want 400", target, code)
		}
		if body != "unknown target: not in the config file\n" || strings.Contains(fmt.Sprint(hdr), target) {
			t.Errorf("target %.40q: the response differs from the fixed message or echoes the input:\n%v\n%s", target, hdr, body)
		}
	}
	// A repeated parameter: the first value counts, and is not echoed.
	code, _, body := exportertest.Do(t, nil, "GET", p.URL+"/probe?target="+url.QueryEscape("x';DROP TABLE holidays;--")+"&target=scenario", nil)
	if code != http.StatusBadRequest || strings.Contains(body, "DROP") {
		t.Errorf("repeated target: %d %s", code, body)
	}

	if n := secSessions(t, db); n != 0 {
		t.Errorf("%d exporter sessions opened by unknown targets, want 0", n)
	}
	m := p.Scrape(t, "/probe?target=scenario", nil)
	if got, ok := m.Value("campaign_collector_success", map[string]string{"collector": "holiday_integrity"}); !ok || got != 1 {
		t.Errorf("/probe?target=scenario after the hostile ones: holiday_integrity success %v (present: %v)", got, ok)
	}
	if n := secSessions(t, db); n == 0 {
		t.Error("no exporter session after a real probe: the session count above proves nothing")
	}
	if strings.Contains(p.Log(), "DROP") {
		t.Errorf("the hostile input reached the log:\n%s", p.Log())
	}
}

// secBasicAuthHash is the bcrypt hash (cost 4, bcrypt.MinCost, to keep the
// test fast) of secBasicAuthPassword, computed once with
// golang.org/x/crypto/bcrypt.GenerateFromPassword: hard-coded so the test
// does not import x/crypto directly (it is only an indirect dependency).
const (
	secBasicAuthUser     = "prometheus"
	secBasicAuthPassword = "scrape-Pa55-7c1e"
	secBasicAuthHash     = "$2a$04$F1zSxSYJLjGFFi1viQu43.bjhTjJ0btj6Jo2u9RYzKNSI7jPfvol6"
)

// TestTLSAndBasicAuth serves through --web.config.file with a self-signed
// certificate and a basic-auth user: only a client that trusts the
// certificate and knows the password gets metrics.
func TestTLSAndBasicAuth(t *testing.T) {
	db := pgtest.New(t)
	dir := t.TempDir()
	certPEM, keyPEM := secSelfSigned(t)
	certFile := secWrite(t, dir, "tls.crt", string(certPEM))
	keyFile := secWrite(t, dir, "tls.key", string(keyPEM))
	webConfig := secWrite(t, dir, "web.yml", fmt.Sprintf(
		"tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n",
		certFile, keyFile, secBasicAuthUser, secBasicAuthHash))
	cfg := secWrite(t, dir, "targets.yml", "targets:\n  - name: db\n    dsn: "+db.DSN+"\n")
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME=" + db.DSN}, "--web.config.file="+webConfig, "--config.file="+cfg)
	base := "https://" + strings.TrimPrefix(p.URL, "http://")

	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		t.Fatal("cannot load the test certificate")
	}
	trusting := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	auth := func(user, password string) http.Header {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, password)
		return r.Header
	}
	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
		want   int
	}{
		{"right credentials", "/metrics", auth(secBasicAuthUser, secBasicAuthPassword), http.StatusOK},
		{"right credentials, probe", "/probe?target=db", auth(secBasicAuthUser, secBasicAuthPassword), http.StatusOK},
		{"wrong password", "/metrics", auth(secBasicAuthUser, "wrong-password"), http.StatusUnauthorized},
		{"wrong user", "/metrics", auth("admin", secBasicAuthPassword), http.StatusUnauthorized},
		{"password as hash", "/metrics", auth(secBasicAuthUser, secBasicAuthHash), http.StatusUnauthorized},
		{"no credentials", "/metrics", nil, http.StatusUnauthorized},
		{"no credentials, probe", "/probe?target=db", nil, http.StatusUnauthorized},
		{"no credentials, reload", "/-/reload", nil, http.StatusUnauthorized},
		{"no credentials, landing page", "/", nil, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := exportertest.Do(t, trusting, "GET", base+tc.path, tc.header)
			if code != tc.want {
				t.Fatalf("%d, want %d\n%s", code, tc.want, body)
			}
			if code == http.StatusOK {
				if up, ok := exportertest.ParseText(t, body).Value("campaign_up", nil); !ok || up != 1 {
					t.Errorf("no campaign_up 1 in\n%s", body)
				}
			}
			if code != http.StatusOK && strings.Contains(body, "campaign_") {
				t.Errorf("refused, yet shows metrics:\n%s", body)
			}
		})
	}

	t.Run("plain HTTP on the TLS port", func(t *testing.T) {
		code, _, body := exportertest.Do(t, nil, "GET", p.URL+"/metrics", auth(secBasicAuthUser, secBasicAuthPassword))
		if code != http.StatusBadRequest || strings.Contains(body, "campaign_") {
			t.Errorf("%d, want 400\n%s", code, body)
		}
	})
	t.Run("client not trusting the certificate", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		req.SetBasicAuth(secBasicAuthUser, secBasicAuthPassword)
		resp, err := (&http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}).Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("untrusted certificate accepted: %d", resp.StatusCode)
		}
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("handshake error %v, want an unknown authority", err)
		}
	})
	t.Run("TLS below 1.2", func(t *testing.T) {
		c, err := tls.Dial("tcp", strings.TrimPrefix(p.URL, "http://"), &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11})
		if err == nil {
			c.Close()
			t.Fatal("TLS 1.1 handshake succeeded")
		}
	})
	if strings.Contains(p.Log(), secBasicAuthPassword) {
		t.Errorf("the basic-auth password is in the output:\n%s", p.Log())
	}
}

// --- helpers, shared with multitarget_test.go and hardening_test.go ---

// secWait polls cond for up to 10s.
func secWait(t *testing.T, cond func() bool, show func() string) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i == 500 {
			t.Fatalf("timed out waiting; output:\n%s", show())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// secWrite writes a file atomically (a reload never sees it half written).
func secWrite(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path+".tmp", []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	return path
}

func secRandom() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func secURL(user, password, hostPort, dbname string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: hostPort, Path: "/" + dbname, RawQuery: "sslmode=disable"}
	return u.String()
}

// secAdminExec runs one statement on the test server's maintenance database.
func secAdminExec(t *testing.T, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.AdminDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Errorf("%s: %v", sql, err)
	}
}

// secLoginRole creates a login role with a known password that can read
// every table (pg_read_all_data), dropped when the test ends.
func secLoginRole(t *testing.T) (role, password string) {
	t.Helper()
	role, password = "campaign_sec_"+secRandom(), "Sec"+secRandom()+"Pw"
	secAdminExec(t, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE pg_read_all_data", role, password))
	t.Cleanup(func() {
		secAdminExec(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '"+role+"'")
		secAdminExec(t, "DROP ROLE IF EXISTS "+role)
	})
	return role, password
}

// secSessions counts the exporter's sessions on db.
func secSessions(t *testing.T, db *pgtest.DB) int {
	t.Helper()
	var n int
	db.QueryRow(t, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'campaign_exporter'", []any{&n})
	return n
}

// secSelfSigned makes an ECDSA certificate for 127.0.0.1 and localhost.
func secSelfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "campaign_exporter test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
