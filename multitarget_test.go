package main

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/exportertest"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

// Multi-target serving (--config.file, /probe?target=NAME): per-target
// databases and overrides, reload by POST and SIGHUP, bad reloads, and
// scrapes in flight across a reload. Helpers are in security_test.go and
// internal/exportertest.

// mtConfig writes a config file of targets (name -> the rest of its entry).
func mtConfig(t *testing.T, path string, targets ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("targets:\n")
	for _, tg := range targets {
		b.WriteString("  - " + strings.ReplaceAll(strings.TrimSpace(tg), "\n", "\n    ") + "\n")
	}
	secWrite(t, filepath.Dir(path), filepath.Base(path), b.String())
}

func mtTarget(name, dsn string, extra ...string) string {
	return strings.Join(append([]string{"name: " + name, "dsn: " + dsn}, extra...), "\n")
}

// mtProbe scrapes /probe?target=name.
func mtProbe(t *testing.T, p *exportertest.Process, name string) (int, string) {
	t.Helper()
	code, _, body := exportertest.Do(t, nil, http.MethodGet, p.URL+"/probe?target="+url.QueryEscape(name), nil)
	return code, body
}

// mtSuccessSeries lists the collectors with a campaign_collector_success
// series, and whether all of them are 1.
func mtSuccessSeries(t *testing.T, body string) ([]string, bool) {
	t.Helper()
	var names []string
	all := true
	for name, v := range exportertest.ParseText(t, body).ByLabel("campaign_collector_success", "collector") {
		names = append(names, name)
		all = all && v == 1
	}
	sort.Strings(names)
	return names, all
}

const (
	mtIntegrityPass = `campaign_health_check_status{check="Campaign ID Integrity",status="PASS"}`
	mtIntegrityFail = `campaign_health_check_status{check="Campaign ID Integrity",status="FAIL"}`
	mtReloadOK      = "campaign_exporter_config_last_reload_successful"
)

// Two targets on two databases each show their own data; unknown and
// missing targets are a 400 that does not echo the input; reloads by POST
// and SIGHUP add targets, a bad one keeps the old targets and sets
// last_reload_successful to 0 until a good one; GET /-/reload is a 405.
func TestMultiTargetProbeAndReload(t *testing.T) {
	clean := pgtest.New(t)
	clean.ApplyFile(t, "testdata/scenario.sql")
	faulty := e2eDatabase(t)
	cfg := filepath.Join(t.TempDir(), "targets.yml")
	mtConfig(t, cfg, mtTarget("clean", clean.DSN), mtTarget("faulty", faulty.DSN))
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+cfg, "--web.enable-lifecycle")

	for _, tc := range []struct {
		target     string
		pass, fail float64
	}{
		{"clean", 1, 0},
		{"faulty", 0, 1},
	} {
		s := p.Scrape(t, "/probe?target="+tc.target, nil).Series()
		pass, passOK := s[mtIntegrityPass]
		fail, failOK := s[mtIntegrityFail]
		if s["campaign_up"] != 1 || !passOK || !failOK || pass != tc.pass || fail != tc.fail {
			t.Errorf("/probe?target=%s: up %v, integrity PASS %v (present: %v) FAIL %v (present: %v); want PASS %v FAIL %v", tc.target,
				s["campaign_up"], pass, passOK, fail, failOK, tc.pass, tc.fail)
		}
		_, goroutines := s["go_goroutines"]
		if _, reload := s[mtReloadOK]; goroutines || reload {
			t.Errorf("/probe?target=%s shows the exporter's own metrics", tc.target)
		}
	}

	for _, tc := range []struct {
		name, query string
		want        int
		body        string
	}{
		{"unknown target", "?target=" + url.QueryEscape("nosuch<b>"), http.StatusBadRequest, "unknown target: not in the config file\n"},
		{"missing target", "", http.StatusBadRequest, "missing target parameter\n"},
		{"empty target", "?target=", http.StatusBadRequest, "missing target parameter\n"},
		{"other parameter", "?module=clean", http.StatusBadRequest, "missing target parameter\n"},
	} {
		code, _, body := exportertest.Do(t, nil, "GET", p.URL+"/probe"+tc.query, nil)
		if code != tc.want || body != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, code, body, tc.want, tc.body)
		}
	}

	reloadOK := func(want float64) {
		t.Helper()
		if got, ok := p.Scrape(t, "/metrics", nil).Value(mtReloadOK, nil); !ok || got != want {
			t.Errorf("%s %v (present: %v), want %v", mtReloadOK, got, ok, want)
		}
	}
	reloadOK(1)
	code, hdr, _ := exportertest.Do(t, nil, "GET", p.URL+"/-/reload", nil)
	if code != http.StatusMethodNotAllowed || hdr.Get("Allow") != http.MethodPost {
		t.Errorf("GET /-/reload: %d, Allow %q; want 405, POST", code, hdr.Get("Allow"))
	}

	// POST adds a target.
	mtConfig(t, cfg, mtTarget("clean", clean.DSN), mtTarget("faulty", faulty.DSN), mtTarget("added", clean.DSN))
	if code, _, body := exportertest.Do(t, nil, "POST", p.URL+"/-/reload", nil); code != http.StatusOK {
		t.Fatalf("POST /-/reload: %d %s", code, body)
	}
	if code, _ := mtProbe(t, p, "added"); code != http.StatusOK {
		t.Errorf("target added by POST /-/reload: %d", code)
	}

	// A bad file (an unknown key): the old targets stay, the gauge says 0.
	secWrite(t, filepath.Dir(cfg), filepath.Base(cfg), "targets:\n  - name: clean\n    dsn: "+clean.DSN+"\n    colectors: [health]\n  - name: other\n    dsn: "+clean.DSN+"\n")
	code, _, body := exportertest.Do(t, nil, "POST", p.URL+"/-/reload", nil)
	if code != http.StatusInternalServerError || strings.Contains(body, "colectors") || strings.Contains(body, cfg) {
		t.Errorf("bad POST /-/reload: %d %q, want a 500 that does not echo the file", code, body)
	}
	secWait(t, func() bool { return strings.Contains(p.Log(), `line 4: unknown key \"colectors\"`) }, p.Log)
	reloadOK(0)
	for _, name := range []string{"clean", "faulty", "added"} {
		if code, _ := mtProbe(t, p, name); code != http.StatusOK {
			t.Errorf("after a bad reload, old target %s: %d", name, code)
		}
	}
	if code, _ := mtProbe(t, p, "other"); code != http.StatusBadRequest {
		t.Errorf("target of the rejected file served: %d", code)
	}

	// SIGHUP with a good file: back to 1, the new target serves, the
	// removed ones are gone.
	mtConfig(t, cfg, mtTarget("clean", clean.DSN), mtTarget("hup", faulty.DSN))
	p.Signal(t, syscall.SIGHUP)
	secWait(t, func() bool { code, _ := mtProbe(t, p, "hup"); return code == http.StatusOK }, p.Log)
	reloadOK(1)
	for _, name := range []string{"faulty", "added"} {
		if code, _ := mtProbe(t, p, name); code != http.StatusBadRequest {
			t.Errorf("removed target %s: %d, want 400", name, code)
		}
	}
	if s := p.Scrape(t, "/probe?target=hup", nil).Series(); s[mtIntegrityFail] != 1 {
		t.Errorf("target hup does not serve its database:\n%v", s)
	}

	// SIGHUP with a bad file: 0 again, targets kept.
	secWrite(t, filepath.Dir(cfg), filepath.Base(cfg), "targets:\n  - name: clean\n    dsn: "+clean.DSN+"\n    min_interval: {health: soon}\n")
	p.Signal(t, syscall.SIGHUP)
	secWait(t, func() bool {
		v, ok := p.Scrape(t, "/metrics", nil).Value(mtReloadOK, nil)
		return ok && v == 0
	}, p.Log)
	if code, _ := mtProbe(t, p, "hup"); code != http.StatusOK {
		t.Errorf("after a bad SIGHUP reload, target hup: %d", code)
	}
	if !strings.Contains(p.Log(), "line 4: min_interval.health") {
		t.Errorf("the bad SIGHUP reload is not logged with key and line:\n%s", p.Log())
	}
}

// A bad config file stops start-up with a message naming the problem and
// its line.
func TestMultiTargetBadConfigAtStart(t *testing.T) {
	dir := t.TempDir()
	dsn := "postgres://postgres@127.0.0.1:1/none?sslmode=disable"
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"unknown key", "targets:\n  - name: a\n    dsn: " + dsn + "\n    dns: x\n", []string{"line 4", `unknown key "dns"`}},
		{"duplicate name", "targets:\n  - name: a\n    dsn: " + dsn + "\n  - name: a\n    dsn: " + dsn + "\n", []string{"line 4", `duplicate target name "a"`}},
		{"malformed name", "targets:\n  - name: A/B\n    dsn: " + dsn + "\n", []string{"line 2", `"A/B"`}},
		{"unknown collector", "targets:\n  - name: a\n    dsn: " + dsn + "\n    collectors: [health, nosuch]\n", []string{"line 4", `unknown collector "nosuch"`}},
		{"bad duration", "targets:\n  - name: a\n    dsn: " + dsn + "\n    min_interval: {health: 5 minutes}\n", []string{"line 4", "min_interval.health"}},
		{"both dsn sources", "targets:\n  - name: a\n    dsn: " + dsn + "\n    dsn_file: " + filepath.Join(dir, "x") + "\n", []string{"line 2", "not both"}},
		{"missing dsn_file", "targets:\n  - name: a\n    dsn_file: " + filepath.Join(dir, "missing") + "\n", []string{"line 2", "dsn_file"}},
		{"bad max_connections", "targets:\n  - name: a\n    dsn: " + dsn + "\n    max_connections: 0\n", []string{"line 4", "max_connections"}},
		{"empty", "", []string{"empty config file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := secWrite(t, dir, strings.ReplaceAll(tc.name, " ", "_")+".yml", tc.file)
			r := runExporter(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+cfg)
			out := r.Stdout + r.Stderr
			if r.Code == 0 {
				t.Fatalf("started with a bad config:\n%s", out)
			}
			for _, w := range append(tc.want, cfg) {
				if !strings.Contains(out, w) {
					t.Errorf("output does not contain %q:\n%s", w, out)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if r := runExporter(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+filepath.Join(dir, "nonexistent.yml")); r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "nonexistent.yml") {
			t.Errorf("missing config file: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
	})
}

// Scrapes in flight while a reload replaces or removes their target still
// complete with success: the old pool stays open for them.
func TestMultiTargetScrapeDuringReload(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	db.SlowHealthCheck(t, 1)
	cfg := filepath.Join(t.TempDir(), "targets.yml")

	for _, tc := range []struct {
		name  string
		after []string // the config the reload brings in
	}{
		{"target changed", []string{mtTarget("slow", db.DSN, "max_connections: 2")}},
		{"target removed", []string{mtTarget("other", db.DSN)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mtConfig(t, cfg, mtTarget("slow", db.DSN))
			p := exportertest.Start(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+cfg, "--web.enable-lifecycle")
			type result struct {
				code int
				body string
			}
			done := make(chan result, 1)
			start := time.Now()
			go func() {
				// Not secDo: t.Fatal must not run off the test's goroutine.
				resp, err := http.Get(p.URL + "/probe?target=slow")
				if err != nil {
					done <- result{0, err.Error()}
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				done <- result{resp.StatusCode, string(b)}
			}()
			// Reload while the health check sleeps.
			time.Sleep(300 * time.Millisecond)
			mtConfig(t, cfg, tc.after...)
			if code, _, body := exportertest.Do(t, nil, "POST", p.URL+"/-/reload", nil); code != http.StatusOK {
				t.Fatalf("POST /-/reload: %d %s", code, body)
			}
			r := <-done
			if time.Since(start) < time.Second {
				t.Errorf("the scrape took %s: it was not in flight during the reload", time.Since(start))
			}
			if r.code != http.StatusOK {
				t.Fatalf("scrape across the reload: %d\n%s\n%s", r.code, r.body, p.Log())
			}
			if s := exportertest.ParseText(t, r.body).Series(); s[`campaign_collector_success{collector="health"}`] != 1 || s["campaign_up"] != 1 {
				t.Errorf("scrape across the reload:\n%s\n%s", r.body, p.Log())
			}
			if names, all := mtSuccessSeries(t, r.body); len(names) != len(binaryCollectors) || !all {
				t.Errorf("scrape across the reload: collectors %v, all successful %v", names, all)
			}
		})
	}
}

// Per-target overrides: a collectors subset emits only those collectors'
// series; min_interval serves from cache; max_connections bounds the
// target's sessions under concurrent scrapes.
func TestMultiTargetOverrides(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	bounded := pgtest.New(t)
	bounded.ApplyFile(t, "testdata/scenario.sql")
	bounded.SlowHealthCheck(t, 0.5)
	wide := pgtest.New(t)
	wide.ApplyFile(t, "testdata/scenario.sql")
	wide.SlowHealthCheck(t, 0.5)

	cfg := filepath.Join(t.TempDir(), "targets.yml")
	mtConfig(t, cfg,
		mtTarget("subset", db.DSN, "collectors: [health, holiday_integrity]"),
		mtTarget("all", db.DSN, "min_interval: {health: 0s}"),
		mtTarget("cached", db.DSN, "collectors: [health]", "min_interval: {health: 1h}"),
		mtTarget("bounded", bounded.DSN, "max_connections: 1"),
		mtTarget("wide", wide.DSN, "max_connections: 3"),
	)
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME="}, "--config.file="+cfg)

	t.Run("collectors subset", func(t *testing.T) {
		for _, tc := range []struct {
			target string
			want   string
		}{
			{"subset", "health,holiday_integrity"},
			{"cached", "health"},
			{"all", strings.Join(binaryCollectors, ",")},
		} {
			code, body := mtProbe(t, p, tc.target)
			if code != http.StatusOK {
				t.Errorf("%s: %d\n%s", tc.target, code, body)
				continue
			}
			names, all := mtSuccessSeries(t, body)
			if strings.Join(names, ",") != tc.want || !all {
				t.Errorf("%s: success series %v (all 1: %v), want %s", tc.target, names, all, tc.want)
			}
			if tc.target == "subset" && (strings.Contains(body, "campaign_attribution_") || strings.Contains(body, "campaign_table_")) {
				t.Errorf("subset target emits a disabled collector's metrics:\n%s", body)
			}
		}
	})

	t.Run("min_interval", func(t *testing.T) {
		const series = `campaign_collector_last_success_timestamp_seconds{collector="health"}`
		stamps := func(target string) (float64, float64) {
			a := p.Scrape(t, "/probe?target="+target, nil).Series()
			time.Sleep(50 * time.Millisecond)
			b := p.Scrape(t, "/probe?target="+target, nil).Series()
			if _, ok := a[series]; !ok {
				t.Errorf("%s: no %s", target, series)
			}
			return a[series], b[series]
		}
		if a, b := stamps("cached"); a != b {
			t.Errorf("cached (min_interval 1h): health ran again: %v then %v", a, b)
		}
		if a, b := stamps("all"); a == b {
			t.Errorf("all (min_interval 0): health served from cache: %v then %v", a, b)
		}
	})

	t.Run("max_connections", func(t *testing.T) {
		for _, tc := range []struct {
			target string
			db     *pgtest.DB
			bound  int
		}{
			{"bounded", bounded, 1},
			{"wide", wide, 3},
		} {
			var (
				wg   sync.WaitGroup
				stop = make(chan struct{})
				peak int
			)
			wg.Add(1)
			go func() { // sample the target's sessions while it is scraped
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					var n int
					if err := tc.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'campaign_exporter'").Scan(&n); err == nil && n > peak {
						peak = n
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
			var scrapes sync.WaitGroup
			codes := make([]int, 8)
			for i := range codes {
				scrapes.Add(1)
				go func() {
					defer scrapes.Done()
					resp, err := http.Get(p.URL + "/probe?target=" + tc.target)
					if err == nil {
						codes[i] = resp.StatusCode
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}()
				time.Sleep(20 * time.Millisecond)
			}
			scrapes.Wait()
			close(stop)
			wg.Wait()
			after := secSessions(t, tc.db)
			for i, c := range codes {
				if c != http.StatusOK {
					t.Errorf("%s: scrape %d: %d", tc.target, i, c)
				}
			}
			t.Logf("%s: peak %d sessions, %d after", tc.target, peak, after)
			if peak > tc.bound || after > tc.bound {
				t.Errorf("%s: %d sessions at peak, %d after; max_connections %d", tc.target, peak, after, tc.bound)
			}
			if tc.bound > 1 && peak < 2 {
				t.Errorf("%s: peak %d sessions: the sampling did not see concurrent use, so the bound test proves little", tc.target, peak)
			}
			if s := p.Scrape(t, "/probe?target="+tc.target, nil).Series(); s[`campaign_collector_success{collector="health"}`] != 1 {
				t.Errorf("%s: a bounded pool still serves every collector:\n%v", tc.target, s)
			}
		}
	})
}
