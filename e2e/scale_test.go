//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The scale test runs only when CAMPAIGN_SCALE_TARGETS is set (make scale):
// it takes minutes and hundreds of databases, too much for make e2e.
const (
	envScaleTargets  = "CAMPAIGN_SCALE_TARGETS"  // number of databases and targets
	envScaleDuration = "CAMPAIGN_SCALE_DURATION" // measured window, after every target was scraped once
	envScaleInterval = "CAMPAIGN_SCALE_INTERVAL" // Prometheus's scrape interval
	// The exporter's connection bounds, its defaults unless set.
	envScaleMaxConns   = "CAMPAIGN_SCALE_MAX_CONNECTIONS"          // --db.max-connections
	envScaleMaxPerHost = "CAMPAIGN_SCALE_MAX_CONNECTIONS_PER_HOST" // --db.max-connections-per-host
	envScaleMaxTotal   = "CAMPAIGN_SCALE_MAX_CONNECTIONS_TOTAL"    // --db.max-connections-total
)

// exporterApp is the application_name of the exporter's sessions.
const exporterApp = "campaign_exporter"

// scaleBounds are the exporter's connection bounds in the scale run,
// passed explicitly so that the assertions know them.
type scaleBounds struct {
	perTarget, perHost, total int
	idleTimeout               time.Duration
}

// TestScale runs one exporter over many small databases on one server,
// scraped through /probe by the real Prometheus, and prints a markdown
// table: scrapes/s, the exporter's CPU and RSS, the server connections it
// holds and the scrape durations. It fails if the server cannot fit the
// exporter's connection bounds, if the exporter ever holds more
// connections than those bounds, or if a scrape fails.
func TestScale(t *testing.T) {
	n := envInt(t, envScaleTargets, 0)
	if n <= 0 {
		t.Skip("set " + envScaleTargets + " (make scale does) to run the scale test")
	}
	duration := envDuration(t, envScaleDuration, 90*time.Second)
	interval := envDuration(t, envScaleInterval, 15*time.Second)
	if duration < 4*interval {
		t.Fatalf("%s=%s is shorter than 4 scrape intervals (%s)", envScaleDuration, duration, 4*interval)
	}
	b := scaleBounds{
		perTarget:   envInt(t, envScaleMaxConns, 3),
		perHost:     envInt(t, envScaleMaxPerHost, 10),
		total:       envInt(t, envScaleMaxTotal, 20),
		idleTimeout: 30 * time.Second,
	}
	if b.perTarget < 1 || b.perHost < 1 || b.total < 1 {
		t.Fatalf("the scale run needs positive connection bounds, got %+v", b)
	}
	// A go test -timeout panic would skip the cleanups that drop the
	// databases: refuse to start without the time to finish.
	if dl, ok := t.Deadline(); ok && time.Until(dl) < duration+20*time.Minute {
		t.Fatalf("go test -timeout leaves %s; the run needs %s plus up to 20m to create and drop the databases (make scale sets -timeout)",
			time.Until(dl).Round(time.Second), duration)
	}
	promBin := binary(t, "PROMETHEUS_BIN", ".tools/bin/prometheus", toolHint)
	expBin := exporterBinary(t)

	ctx := context.Background()
	admin := adminConn(t)
	srv := readServer(t, admin)
	// Every target is on this one server: the per-host bound is the
	// exporter's bound here, and the server must have room for it.
	bound := min(b.total, b.perHost)
	if room := srv.maxConnections - srv.reserved - srv.inUse; room < bound+2 {
		t.Fatalf("PostgreSQL's max_connections %d, less superuser_reserved_connections %d and the %d sessions open, leaves %d: "+
			"not enough for the exporter's bound of %d connections (--db.max-connections-per-host, -total) and the test's 2; "+
			"raise max_connections or close sessions", srv.maxConnections, srv.reserved, srv.inUse, room, bound)
	}
	load0 := loadAverage()

	began := time.Now()
	dbs := newClones(t, n)
	created := time.Since(began)
	t.Logf("%d databases created in %s", n, created.Round(time.Second))

	exp, expAddr := startScaleExporter(t, expBin, dbs, b)
	idle := exporterProcess(t, expAddr)

	// From here on every sample counts against the bounds.
	sampler := startConnSampler(t, dbs.names, expAddr)
	defer func() { _, _ = sampler.stop() }() // on an early failure; the samples are read below

	prom := startScalePrometheus(t, promBin, expAddr, interval)
	eventually(t, 3*interval+time.Minute, func() error {
		if exited, err := exp.Exited(); exited {
			return fmt.Errorf("the exporter exited: %v", err)
		}
		return allScraped(prom, n)
	})
	warm := time.Since(began) - created
	t.Logf("every target scraped once, %s after the exporter started; measuring for %s", warm.Round(time.Second), duration)

	start := time.Now()
	cpu0 := exporterProcess(t, expAddr).cpu
	sess0 := sessions(ctx, admin, dbs.names)
	time.Sleep(duration)
	end := time.Now()
	cpu1 := exporterProcess(t, expAddr).cpu
	sess1 := sessions(ctx, admin, dbs.names)
	samples, sampleErr := sampler.stop()
	load1 := loadAverage()
	// Let the scrapes that started before the end be stored.
	time.Sleep(2 * time.Second)

	window := fmt.Sprintf("[%ds]", int(duration.Seconds()))
	sel := fmt.Sprintf(`{job=%q}`, jobName)
	scalar := func(expr string) float64 {
		t.Helper()
		v, err := prom.scalarAt(expr, end)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	scrapes := scalar("sum(count_over_time(up" + sel + window + "))")
	succeeded := scalar("sum(sum_over_time(up" + sel + window + "))")
	dbSamples := scalar("sum(count_over_time(campaign_up" + sel + window + "))")
	dbUp := scalar("sum(sum_over_time(campaign_up" + sel + window + "))")
	scraped := scalar("count(count_over_time(up" + sel + window + "))")
	durations, err := prom.valuesAt("scrape_duration_seconds"+sel+window, end)
	if err != nil {
		t.Fatal(err)
	}
	if sampleErr != nil {
		t.Errorf("sampling the server's connections: %v", sampleErr)
	}
	if len(samples) == 0 || len(durations) == 0 || scrapes == 0 {
		t.Fatalf("nothing measured: %d connection samples, %d scrape durations, %v scrapes", len(samples), len(durations), scrapes)
	}
	slices.Sort(durations)

	var inWindow []connSample
	for _, s := range samples {
		if !s.at.Before(start) && !s.at.After(end) {
			inWindow = append(inWindow, s)
		}
	}
	if len(inWindow) == 0 {
		t.Fatal("no connection samples in the measured window")
	}
	peakAll := slices.MaxFunc(samples, func(a, b connSample) int { return a.total - b.total }).total
	totals := make([]int, 0, len(inWindow))
	unused := make([]int, 0, len(inWindow))
	var peakRSS float64
	for _, s := range inWindow {
		totals = append(totals, s.total)
		unused = append(unused, s.unused)
		peakRSS = max(peakRSS, s.rss)
	}
	slices.Sort(totals)
	slices.Sort(unused)
	steady := totals[len(totals)/2]
	peak := totals[len(totals)-1]
	secs := end.Sub(start).Seconds()
	sessPerScrape := "n/a (PostgreSQL before 14)"
	if sess0 >= 0 && sess1 >= 0 {
		sessPerScrape = fmt.Sprintf("%.2f (%.1f/s)", float64(sess1-sess0)/scrapes, float64(sess1-sess0)/secs)
	}
	const mib = 1 << 20
	rows := [][2]string{
		{"targets (databases on one server)", fmt.Sprintf("%d, copied from a template in %s", n, created.Round(time.Second))},
		{"scrape interval, measured window", fmt.Sprintf("%s, %s (%.1f rounds, after a warm-up of %s)", interval, end.Sub(start).Round(time.Second), secs/interval.Seconds(), warm.Round(time.Second))},
		{"scrapes/s", fmt.Sprintf("%.1f (%d scrapes of %d targets)", scrapes/secs, int(scrapes), int(scraped))},
		{"failed scrapes (up 0), campaign_up 0", fmt.Sprintf("%d, %d", int(scrapes-succeeded), int(dbSamples-dbUp))},
		{"scrape duration p50 / p99 / max", fmt.Sprintf("%s / %s / %s", seconds(quantile(durations, 0.5)), seconds(quantile(durations, 0.99)), seconds(durations[len(durations)-1]))},
		{"exporter CPU", fmt.Sprintf("%.3f cores, %.1f ms per scrape", (cpu1-cpu0)/secs, 1000*(cpu1-cpu0)/scrapes)},
		{"exporter RSS", fmt.Sprintf("%.1f MiB peak, %.0f KiB per target (%.1f MiB before the first scrape)", peakRSS/mib, peakRSS/1024/float64(n), idle.rss/mib)},
		{"server connections, peak", fmt.Sprintf("%d, %.3f per target (%d over the whole run)", peak, float64(peak)/float64(n), peakAll)},
		{"server connections, steady (median)", fmt.Sprintf("%d, %.3f per target", steady, float64(steady)/float64(n))},
		{"new server sessions per scrape", sessPerScrape},
		{"sessions opened but not used yet, median / peak", fmt.Sprintf("%d / %d", unused[len(unused)/2], unused[len(unused)-1])},
		{"exporter bounds", fmt.Sprintf("%d per target, %d per host, %d total; idle timeout %s", b.perTarget, b.perHost, b.total, b.idleTimeout)},
		{"server", fmt.Sprintf("PostgreSQL %s, max_connections %d", srv.version, srv.maxConnections)},
		{"machine", fmt.Sprintf("%d CPUs; load average %s at the start, %s at the end", runtime.NumCPU(), load0, load1)},
	}
	var tb strings.Builder
	tb.WriteString("| quantity | measured |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&tb, "| %s | %s |\n", r[0], r[1])
	}
	// On standard output as well as the log: go test -v indents t.Log's
	// lines, and the table is meant to be pasted.
	fmt.Printf("\nscale run:\n\n%s\n", tb.String())
	t.Logf("scale run:\n%s", tb.String())

	// The assertions, over every sample since the exporter started.
	for _, s := range samples {
		switch {
		case s.total > b.total:
			t.Errorf("%s: the exporter held %d connections, above --db.max-connections-total=%d", s.at.Format(time.TimeOnly), s.total, b.total)
		case s.total > b.perHost:
			t.Errorf("%s: the exporter held %d connections to one server, above --db.max-connections-per-host=%d", s.at.Format(time.TimeOnly), s.total, b.perHost)
		}
		if s.maxPerDB > b.perTarget {
			t.Errorf("%s: the exporter held %d connections to one database, above --db.max-connections=%d", s.at.Format(time.TimeOnly), s.maxPerDB, b.perTarget)
		}
	}
	if int(scraped) != n {
		t.Errorf("%d of %d targets were scraped in the window", int(scraped), n)
	}
	if succeeded != scrapes || dbUp != dbSamples {
		t.Errorf("%v of %v scrapes succeeded (up 1) and %v of %v said campaign_up 1", succeeded, scrapes, dbUp, dbSamples)
	}
}

// clones are databases copied from one template database (the reference
// schema and a little demo data) and dropped together at the end, even
// when the test is interrupted: CREATE DATABASE ... TEMPLATE copies a small
// database in well under a second, where applying the schema takes
// several.
type clones struct {
	template *pgtest.DB
	// life is held shared by each CREATE and exclusively by the drop, so
	// that no database is created once the drop has begun.
	life    sync.RWMutex
	dropped bool // guarded by life

	dropOnce sync.Once
	dropErr  error

	mu    sync.Mutex
	names []string // guarded by mu; a name is added before its CREATE
}

// newClones creates n databases from a template built with pgtest, each
// dropped when the test ends or the process is interrupted (SIGINT,
// SIGTERM, SIGHUP). Their names, sorted, are the template's with a
// suffix _001, _002...
func newClones(t *testing.T, n int) *clones {
	t.Helper()
	tpl := pgtest.New(t)
	tpl.ApplyFile(t, "testdata/demo/generate.sql")
	tpl.Exec(t, `SELECT campaign_demo_generate(0.01)`)
	// The generator's statistics reach pg_stat_* when its sessions end;
	// the VACUUM settles dead rows, as on a database in service.
	tpl.FlushStats(t)
	tpl.Exec(t, `VACUUM (ANALYZE)`)
	// A template must have no sessions while it is copied. (pgtest's own
	// drop closes the pool again, harmlessly.)
	tpl.Pool.Close()
	c := &clones{template: tpl}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			// The process ends here: neither the test's cleanups nor
			// pgtest's run, so the template goes too. The child processes
			// die with it (sysProcAttr).
			fmt.Fprintf(os.Stderr, "%v: dropping the test databases\n", s)
			if err := c.drop(tpl.Name); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
			os.Exit(1)
		case <-done:
		}
	}()
	t.Cleanup(func() {
		signal.Stop(sig)
		close(done)
		if err := c.drop(); err != nil {
			t.Error(err)
		}
	})

	ctx := context.Background()
	waitNoSessions(t, tpl.Name)
	const workers = 4
	names := make(chan string)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, pgtest.AdminDSN())
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(ctx)
			for name := range names {
				if err := c.create(ctx, conn, name); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var failed error
feed:
	for i := range n {
		select {
		case names <- fmt.Sprintf("%s_%03d", tpl.Name, i+1):
		case failed = <-errs:
			break feed
		}
	}
	close(names)
	wg.Wait()
	if failed == nil && len(errs) > 0 {
		failed = <-errs
	}
	if failed != nil {
		t.Fatalf("create the databases from template %s: %v", tpl.Name, failed)
	}
	slices.Sort(c.names)
	return c
}

// create copies the template into database name, retrying while the
// template is busy (autovacuum may visit it).
func (c *clones) create(ctx context.Context, conn *pgx.Conn, name string) error {
	c.life.RLock()
	defer c.life.RUnlock()
	if c.dropped {
		return errors.New("interrupted")
	}
	c.mu.Lock()
	c.names = append(c.names, name)
	c.mu.Unlock()
	var err error
	for range 5 {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+c.template.Name)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			return err
		}
		time.Sleep(time.Second)
	}
	return err
}

// dsn is the admin DSN of database name.
func (c *clones) dsn(name string) string {
	dsn := pgtest.AdminDSN()
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name
}

// drop drops every clone, and the extra databases, 4 at a time. It runs
// once: a second call (the test's cleanup while an interrupt's drop runs)
// waits for the first and returns its error.
func (c *clones) drop(extra ...string) error {
	c.dropOnce.Do(func() {
		c.life.Lock()
		c.dropped = true
		c.life.Unlock()
		c.mu.Lock()
		todo := append(slices.Clone(c.names), extra...)
		c.mu.Unlock()
		c.dropErr = dropDatabases(todo)
	})
	return c.dropErr
}

// dropDatabases drops the databases names, 4 at a time.
func dropDatabases(names []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	queue := make(chan string, len(names))
	for _, name := range names {
		queue <- name
	}
	close(queue)
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, pgtest.AdminDSN())
			if err != nil {
				fail(err)
				return
			}
			defer conn.Close(ctx)
			for name := range queue {
				// FORCE ends the exporter's sessions, if it still runs.
				if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
					fail(fmt.Errorf("drop %s: %w", name, err))
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitNoSessions waits until no session is left on database name.
func waitNoSessions(t *testing.T, name string) {
	t.Helper()
	conn := adminConn(t)
	eventually(t, 30*time.Second, func() error {
		var left int
		err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&left)
		if err == nil && left > 0 {
			err = fmt.Errorf("%d sessions still on %s", left, name)
		}
		return err
	})
}

// adminConn is a session on the test server's maintenance database,
// closed when the test ends.
func adminConn(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.AdminDSN())
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

// serverInfo is what the test needs to know of the server.
type serverInfo struct {
	version                         string
	maxConnections, reserved, inUse int
}

func readServer(t *testing.T, conn *pgx.Conn) serverInfo {
	t.Helper()
	var s serverInfo
	err := conn.QueryRow(context.Background(), `SELECT current_setting('server_version'),
		current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int,
		(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int`).
		Scan(&s.version, &s.maxConnections, &s.reserved, &s.inUse)
	if err != nil {
		t.Fatalf("read the server's settings: %v", err)
	}
	if f := strings.Fields(s.version); len(f) > 0 {
		s.version = f[0]
	}
	return s
}

// sessions is the number of sessions ever opened on the databases
// (pg_stat_database.sessions, PostgreSQL 14 and later), or -1.
func sessions(ctx context.Context, conn *pgx.Conn, names []string) int64 {
	var n int64
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(sessions), 0)::bigint FROM pg_stat_database WHERE datname = ANY($1)`, names).Scan(&n); err != nil {
		return -1
	}
	return n
}

// startScaleExporter runs one exporter with a target per clone, named
// db-001..., with the connection bounds b.
func startScaleExporter(t *testing.T, bin string, dbs *clones, b scaleBounds) (*proc, string) {
	t.Helper()
	var cfg strings.Builder
	cfg.WriteString("targets:\n")
	for i, name := range dbs.names {
		fmt.Fprintf(&cfg, "  - name: db-%03d\n    dsn: %q\n", i+1, dbs.dsn(name))
	}
	path := filepath.Join(t.TempDir(), "exporter.yml")
	writeFile(t, path, cfg.String())
	addr := freeAddr(t)
	p := start(t, "exporter", bin, nil,
		"--web.listen-address="+addr, "--config.file="+path, "--log.level=info",
		fmt.Sprintf("--db.max-connections=%d", b.perTarget),
		fmt.Sprintf("--db.max-connections-per-host=%d", b.perHost),
		fmt.Sprintf("--db.max-connections-total=%d", b.total),
		"--db.idle-timeout="+b.idleTimeout.String(),
	)
	p.waitReady(t, "http://"+addr+"/")
	return p, addr
}

// startScalePrometheus runs Prometheus probing every target of the
// exporter's /sd every interval, as the README's scrape configuration
// does.
func startScalePrometheus(t *testing.T, bin, exporterAddr string, interval time.Duration) promAPI {
	t.Helper()
	timeout := min(interval, 10*time.Second)
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[2]s
scrape_configs:
  - job_name: %[3]q
%[4]s`, interval, timeout, jobName, probeScrape(exporterAddr, 5*time.Second))
	return startPrometheusWith(t, bin, cfg)
}

// allScraped: n targets are active in the probe job, and Prometheus has
// scraped every one at least once, whatever the outcome.
func allScraped(prom promAPI, n int) error {
	targets, err := prom.targets()
	if err != nil {
		return err
	}
	active, scraped := 0, 0
	for _, tg := range targets {
		if tg.Labels["job"] != jobName {
			continue
		}
		active++
		if !tg.LastScrape.IsZero() && tg.Health != "unknown" {
			scraped++
		}
	}
	if active != n || scraped != n {
		return fmt.Errorf("%d targets active and %d scraped, want %d", active, scraped, n)
	}
	return nil
}

// processStats are the exporter's process_* metrics.
type processStats struct{ cpu, rss float64 }

// exporterProcess reads the exporter's CPU seconds and resident memory
// from its own /metrics.
func exporterProcess(t *testing.T, addr string) processStats {
	t.Helper()
	s, err := readProcess(addr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readProcess(addr string) (processStats, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return processStats{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return processStats{}, err
	}
	defer resp.Body.Close()
	var s processStats
	found := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		var dst *float64
		switch name {
		case "process_cpu_seconds_total":
			dst = &s.cpu
		case "process_resident_memory_bytes":
			dst = &s.rss
		}
		if !ok || dst == nil {
			continue
		}
		if *dst, err = strconv.ParseFloat(value, 64); err != nil {
			return s, fmt.Errorf("%s: %w", name, err)
		}
		found++
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if err := sc.Err(); err != nil {
		return s, err
	}
	if found != 2 {
		return s, errors.New("the exporter's /metrics has no process_cpu_seconds_total or process_resident_memory_bytes")
	}
	return s, nil
}

// connSample is one look at the exporter's sessions on the server.
type connSample struct {
	at       time.Time
	total    int     // the exporter's sessions on the test databases
	maxPerDB int     // the most on one database
	unused   int     // idle sessions that have run nothing but the session check
	rss      float64 // the exporter's resident memory, bytes
}

// connSampler samples the exporter's sessions (pg_stat_activity, by its
// application_name and the test's databases) every 250ms and its memory
// every second, on its own goroutine, until stopped.
type connSampler struct {
	cancel  context.CancelFunc
	done    chan struct{}
	samples []connSample
	err     error
}

func startConnSampler(t *testing.T, names []string, exporterAddr string) *connSampler {
	t.Helper()
	conn := adminConn(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := &connSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		var rss float64
		for i := 0; ; i++ {
			var c connSample
			// A session whose last query is the exporter's session check
			// (sessionStateSQL in collector/pool.go), idle, was opened and
			// has not served a scrape yet.
			err := conn.QueryRow(ctx, `SELECT coalesce(sum(n), 0)::int, coalesce(max(n), 0)::int, coalesce(sum(unused), 0)::int FROM (
				SELECT count(*) AS n, count(*) FILTER (WHERE state = 'idle'
					AND query LIKE 'SELECT pg\_catalog.current\_setting(''default\_transaction\_read\_only'')%') AS unused
				FROM pg_stat_activity
				WHERE application_name = $1 AND datname = ANY($2) GROUP BY datname) per_db`,
				exporterApp, names).Scan(&c.total, &c.maxPerDB, &c.unused)
			if ctx.Err() != nil {
				return
			}
			c.at = time.Now()
			// Less often: each read is a request the exporter serves.
			if err == nil && i%4 == 0 {
				var ps processStats
				ps, err = readProcess(exporterAddr)
				rss = ps.rss
			}
			if err != nil {
				s.err = err
				return
			}
			c.rss = rss
			s.samples = append(s.samples, c)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the samples and the error that
// ended it early, if any. It may be called again.
func (s *connSampler) stop() ([]connSample, error) {
	s.cancel()
	<-s.done
	return s.samples, s.err
}

// scalarAt evaluates expr, which must return one sample, at time at.
func (p promAPI) scalarAt(expr string, at time.Time) (float64, error) {
	var data struct {
		Result []sample `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {expr}, "time": {unixTime(at)}}, &data); err != nil {
		return 0, err
	}
	if len(data.Result) != 1 {
		return 0, fmt.Errorf("%s: %d samples, want 1", expr, len(data.Result))
	}
	return sampleValue(data.Result[0].Value)
}

// valuesAt evaluates expr, a range selector, at time at, and returns the
// values of every sample of every series.
func (p promAPI) valuesAt(expr string, at time.Time) ([]float64, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Values [][2]any `json:"values"`
		} `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {expr}, "time": {unixTime(at)}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "matrix" {
		return nil, fmt.Errorf("%s: result type %q, want matrix", expr, data.ResultType)
	}
	var out []float64
	for _, series := range data.Result {
		for _, v := range series.Values {
			f, err := sampleValue(v)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func unixTime(at time.Time) string {
	return strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
}

// sampleValue is the value of an API sample, [time, "value"].
func sampleValue(v [2]any) (float64, error) {
	s, ok := v[1].(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string", v[1])
	}
	return strconv.ParseFloat(s, 64)
}

// quantile of sorted values, nearest rank.
func quantile(sorted []float64, q float64) float64 {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Microsecond).String()
}

// loadAverage is the 1, 5 and 15 minute load average (Linux), or "n/a".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "n/a"
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration like 90s", name, v)
	}
	return d
}
