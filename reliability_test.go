package main

// The fault suite against the real binary over HTTP: what Prometheus sees
// while the database is down, a check hangs past the scrape timeout it
// announced, backends are killed, and the network stalls; and that the
// process keeps serving, recovers by itself and leaks neither goroutines
// (its own go_goroutines) nor connections. collector/reliability_test.go
// has the finer-grained cases in-process.

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/internal/exportertest"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

// scrapeBinary GETs /metrics as Prometheus would with a scrape timeout of
// promTimeout, failing the test unless it is answered 200, and returns its
// series and how long it took. Scrape keeps no connection alive, so the
// exporter's goroutine count does not depend on idle HTTP connections.
func scrapeBinary(t *testing.T, p *exportertest.Process, promTimeout time.Duration) (map[string]float64, time.Duration) {
	t.Helper()
	start := time.Now()
	m := p.Scrape(t, "/metrics", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {strconv.FormatFloat(promTimeout.Seconds(), 'f', -1, 64)}})
	return m.Series(), time.Since(start)
}

// binaryCollectors are every collector the binary has, all on by default.
var binaryCollectors = collector.Names()

// failing lists the collectors whose success is not 1 in series.
func failing(series map[string]float64) []string {
	return exportertest.Failing(series, binaryCollectors)
}

func exporterSessions(t *testing.T, db *pgtest.DB, extra string) int {
	t.Helper()
	var n int
	db.QueryRow(t, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = $1 AND application_name = 'campaign_exporter'`+extra, []any{&n}, db.Name)
	return n
}

func TestBinaryUnderFaults(t *testing.T) {
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/scenario.sql")
	proxy := pgtest.NewProxy(t, db.TargetAddr())
	proxy.Down()
	// Every collector runs on every scrape, so each fault reaches them all.
	args := []string{"--db.max-connections=3"}
	// Runs after the exporter has stopped: its sessions end with it.
	t.Cleanup(func() {
		for i := 0; exporterSessions(t, db, "") > 0; i++ {
			if i == 200 {
				t.Errorf("exporter sessions left on the server after it stopped")
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	for _, n := range binaryCollectors {
		args = append(args, "--collector."+n+".min-interval=0")
	}
	p := exportertest.Start(t, []string{"DATA_SOURCE_NAME=" + db.DSNVia(proxy.Addr)}, args...)
	sampler := exportertest.SampleSessions(db)

	// Down at start: answered at once, up 0.
	m, took := scrapeBinary(t, p, 10*time.Second)
	t.Logf("database down: scrape took %s, up %v", took, m["campaign_up"])
	if m["campaign_up"] != 0 || len(failing(m)) != len(binaryCollectors) {
		t.Errorf("database down: up %v, failing %v", m["campaign_up"], failing(m))
	}
	proxy.Up(t)
	m, _ = scrapeBinary(t, p, 10*time.Second)
	if m["campaign_up"] != 1 || len(failing(m)) != 0 {
		t.Fatalf("database up: up %v, failing %v\n%s", m["campaign_up"], failing(m), p.Log())
	}
	// The Go and process metrics are sampled at most once a second: take
	// the healthy count from a sample of the healthy process.
	time.Sleep(1100 * time.Millisecond)
	m, _ = scrapeBinary(t, p, 10*time.Second)
	goroutines := m["go_goroutines"]
	t.Logf("healthy: go_goroutines %v, process_open_fds %v, RSS %.1f MB",
		goroutines, m["process_open_fds"], m["process_resident_memory_bytes"]/1e6)

	// A check that hangs past the scrape timeout Prometheus announces: the
	// answer comes by that timeout less the offset (2s - 0.5s), the query
	// is cancelled on the server.
	db.SlowHealthCheck(t, 60)
	const deadline = 500 * time.Millisecond
	m, took = scrapeBinary(t, p, time.Second)
	active := exporterSessions(t, db, " AND state = 'active'")
	t.Logf("hung check: deadline %s, scrape took %s over HTTP (overshoot %s), %d queries active right after, failing %v",
		deadline, took, took-deadline, active, failing(m))
	if took > deadline+2*time.Second {
		t.Errorf("hung check: scrape took %s with a %s deadline", took, deadline)
	}
	if active != 0 {
		t.Errorf("hung check: %d exporter queries still running on the server", active)
	}
	if m["campaign_up"] != 1 || strings.Join(failing(m), ",") != "health" {
		t.Errorf("hung check: up %v, failing %v; want only health", m["campaign_up"], failing(m))
	}
	if err := db.ExecScript(`DROP FUNCTION check_campaign_system_health();
ALTER FUNCTION check_campaign_system_health_orig() RENAME TO check_campaign_system_health;`); err != nil {
		t.Fatal(err)
	}

	// Backends killed by the server, a scrape interval (over a second) later.
	var killed int
	db.QueryRow(t, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'campaign_exporter' AND datname = $1`, []any{&killed}, db.Name)
	time.Sleep(1100 * time.Millisecond)
	m, _ = scrapeBinary(t, p, 10*time.Second)
	t.Logf("killed %d backends: next scrape up %v, failing %v", killed, m["campaign_up"], failing(m))
	if m["campaign_up"] != 1 || len(failing(m)) != 0 {
		t.Errorf("after the kill: up %v, failing %v", m["campaign_up"], failing(m))
	}

	// The network stalls: answered by the deadline with up 0; after
	// Resume, everything is back.
	// Stalled connections linger on the server until Resume: the bound is
	// checked up to here.
	maxSeen, err := sampler.Finish()
	if err != nil {
		t.Errorf("sampling sessions: %v", err)
	}
	t.Logf("most exporter sessions on the server before the stall: %d (bound 3)", maxSeen)
	if maxSeen > 3 {
		t.Errorf("%d exporter sessions at once; the bound is 3", maxSeen)
	}
	proxy.Stall()
	m, took = scrapeBinary(t, p, time.Second)
	t.Logf("stalled: scrape took %s (deadline %s), up %v", took, deadline, m["campaign_up"])
	if took > deadline+2*time.Second || m["campaign_up"] != 0 {
		t.Errorf("stalled: scrape took %s, up %v; want by %s, up 0", took, m["campaign_up"], deadline)
	}
	proxy.Resume()
	m, _ = scrapeBinary(t, p, 10*time.Second)
	if m["campaign_up"] != 1 || len(failing(m)) != 0 {
		t.Errorf("after Resume: up %v, failing %v", m["campaign_up"], failing(m))
	}

	// No leak: goroutines back to the healthy count (idle pool connections
	// hold none), sessions within the bound.
	var after float64
	for i := 0; i < 50; i++ {
		m, _ = scrapeBinary(t, p, 10*time.Second)
		if after = m["go_goroutines"]; after <= goroutines {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("after the faults: go_goroutines %v (healthy %v), process_open_fds %v, RSS %.1f MB",
		after, goroutines, m["process_open_fds"], m["process_resident_memory_bytes"]/1e6)
	if after > goroutines {
		t.Errorf("go_goroutines %v after the faults, %v before", after, goroutines)
	}
	if n := exporterSessions(t, db, ""); n > 3 {
		t.Errorf("%d exporter sessions after the faults; the bound is 3", n)
	}
}
