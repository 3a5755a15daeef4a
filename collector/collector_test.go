package collector

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// newExporter builds an exporter with the named collectors on its own pool,
// closed (and its backends gone) when the test ends.
func newExporter(t *testing.T, dsn string, logger log.Logger, settings map[string]Settings) (*Exporter, *Pool) {
	t.Helper()
	pool, err := NewPool(dsn, DefaultPoolOptions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if logger == nil {
		logger = log.NewNopLogger()
	}
	e, err := New(pool, Config{Collectors: settings, Options: DefaultOptions()}, logger)
	if err != nil {
		t.Fatal(err)
	}
	return e, pool
}

// scrape runs one scrape and flattens it to "name{k="v",...}" -> value.
// Only the test's goroutine may call it: others use gatherFlat and hand
// the error back.
func scrape(t *testing.T, ctx context.Context, e *Exporter) map[string]float64 {
	t.Helper()
	out, err := gatherFlat(e.Scraper(ctx))
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return out
}

// gatherFlat gathers c and flattens it to "name{k="v",...}" -> value.
func gatherFlat(c prometheus.Collector) (map[string]float64, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return out, nil
}

func metricLabels(m prometheus.Metric) [][2]string {
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		panic(err)
	}
	var out [][2]string
	for _, lp := range pb.GetLabel() {
		out = append(out, [2]string{lp.GetName(), lp.GetValue()})
	}
	return out
}

func success(name string) string { return `campaign_collector_success{collector="` + name + `"}` }

// countCalls is how often fn ran in db, counted by PostgreSQL itself
// (track_functions). Backends flush their counts when they exit, so it
// first waits for the exporter's sessions to end.
func countCalls(t *testing.T, db *pgtest.DB, pool *Pool, fn string) int64 {
	t.Helper()
	pool.Close()
	waitNoSessions(t, db)
	var n int64
	db.QueryRow(t, `SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname = $1`, []any{&n}, fn)
	return n
}

func waitNoSessions(t *testing.T, db *pgtest.DB) {
	t.Helper()
	for i := 0; ; i++ {
		var n int
		db.QueryRow(t, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'campaign_exporter'`, []any{&n}, db.Name)
		if n == 0 {
			return
		}
		if i == 200 {
			t.Fatalf("%d exporter sessions still open", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func trackFunctions(t *testing.T, db *pgtest.DB) {
	t.Helper()
	db.Exec(t, "ALTER DATABASE "+db.Name+" SET track_functions = 'all'")
}

// However many scrapes arrive at once, the database sees one run per
// collector; a cached collector runs once per interval.
func TestCacheAndSharedRun(t *testing.T) {
	db := scenarioDB(t)
	trackFunctions(t, db)
	db.SlowHealthCheck(t, 0.3)
	e, pool := newExporter(t, db.DSN, nil, map[string]Settings{
		"health":      {},
		"attribution": {MinInterval: time.Hour},
	})

	const scrapers = 10
	var wg sync.WaitGroup
	results := make([]map[string]float64, scrapers)
	errs := make([]error, scrapers)
	for i := range scrapers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = gatherFlat(e.Scraper(context.Background()))
		}()
	}
	wg.Wait()
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("scrape %d: %v", i, errs[i])
		}
		if r[success("health")] != 1 || r[success("attribution")] != 1 {
			t.Fatalf("scrape %d: success health=%v attribution=%v", i, r[success("health")], r[success("attribution")])
		}
	}
	for range 3 {
		r := scrape(t, context.Background(), e)
		if r[`campaign_attribution_check_value{check="Weight Distribution"}`] != 0.75 {
			t.Fatalf("cached attribution value lost: %v", r)
		}
	}

	// Concurrent scrapes shared one run of the slow health check; the
	// three sequential ones ran it again each.
	if got := countCalls(t, db, pool, "check_campaign_system_health"); got != 1+3 {
		t.Errorf("health check ran %d times, want 4 (1 shared + 3 sequential)", got)
	}
	if got := countCalls(t, db, pool, "check_attribution_quality"); got != 1 {
		t.Errorf("attribution check ran %d times, want 1 (cached for an hour)", got)
	}
}

// A scrape's deadline cancels its queries on the server, and the collector
// that ran out of time reports failure while the others report data.
func TestDeadlineCancelsOnServer(t *testing.T) {
	db := scenarioDB(t)
	db.SlowHealthCheck(t, 60)
	e, _ := newExporter(t, db.DSN, nil, map[string]Settings{"health": {}, "holiday_integrity": {}})

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := scrape(t, ctx, e)
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("scrape took %s: the deadline did not stop the 60s query", took)
	}
	if r[success("health")] != 0 || r[success("holiday_integrity")] != 1 || r["campaign_up{}"] != 1 {
		t.Errorf("want health failed, holiday_integrity ok, up 1; got %v %v %v",
			r[success("health")], r[success("holiday_integrity")], r["campaign_up{}"])
	}
	var active int
	db.QueryRow(t, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = $1 AND application_name = 'campaign_exporter' AND state = 'active'`, []any{&active}, db.Name)
	if active != 0 {
		t.Errorf("%d exporter queries still running on the server after the scrape returned", active)
	}
}

// A missing function degrades its collector only, and is logged once at
// warn, then at debug.
func TestMissingFunction(t *testing.T) {
	db := scenarioDB(t)
	db.Exec(t, "DROP FUNCTION check_attribution_quality()")
	var buf bytes.Buffer
	logger := level.NewFilter(log.NewLogfmtLogger(log.NewSyncWriter(&buf)), level.AllowDebug())
	e, _ := newExporter(t, db.DSN, logger, map[string]Settings{"health": {}, "attribution": {MinInterval: time.Hour}})

	for range 3 {
		r := scrape(t, context.Background(), e)
		if r[success("attribution")] != 0 || r[success("health")] != 1 {
			t.Fatalf("success attribution=%v health=%v", r[success("attribution")], r[success("health")])
		}
		if _, ok := r[`campaign_health_check_value{check="Campaign Overlaps"}`]; !ok {
			t.Fatal("health data missing next to the failing collector")
		}
	}
	logs := buf.String()
	if n := strings.Count(logs, "level=warn"); n != 1 {
		t.Errorf("%d warn lines, want 1:\n%s", n, logs)
	}
	if n := strings.Count(logs, "level=debug"); n != 2 {
		t.Errorf("%d debug lines, want 2:\n%s", n, logs)
	}
	if strings.Contains(logs, "level=error") {
		t.Errorf("a missing function was logged as an error:\n%s", logs)
	}

	// Installing it brings the collector back without a restart.
	files, _ := pgtest.SchemaFiles()
	for _, f := range files {
		db.ApplyFile(t, f)
	}
	if r := scrape(t, context.Background(), e); r[success("attribution")] != 1 {
		t.Errorf("attribution still failing after the function was installed")
	}
	if !strings.Contains(buf.String(), "collector recovered") {
		t.Errorf("recovery not logged")
	}
}

// Rows that would make two identical series fail their collector, not the
// registry's whole scrape.
func TestDuplicateRowsDegradeOneCollector(t *testing.T) {
	db := scenarioDB(t)
	if err := db.ExecScript(`
ALTER FUNCTION check_holiday_data_integrity() RENAME TO check_holiday_data_integrity_orig;
CREATE FUNCTION check_holiday_data_integrity()
RETURNS TABLE(check_type text, issue_count bigint, description text, sample_dates date[]) LANGUAGE sql AS $$
    SELECT 'DUPLICATE_HOLIDAYS', 1::bigint, '', '{}'::date[]
    UNION ALL SELECT 'DUPLICATE_HOLIDAYS', 2::bigint, '', '{}'::date[]
$$;`); err != nil {
		t.Fatal(err)
	}
	e, _ := newExporter(t, db.DSN, nil, map[string]Settings{"health": {}, "holiday_integrity": {}})
	r := scrape(t, context.Background(), e)
	if r[success("holiday_integrity")] != 0 || r[success("health")] != 1 {
		t.Errorf("success holiday_integrity=%v health=%v", r[success("holiday_integrity")], r[success("health")])
	}
}

// Down at start: the exporter serves up 0 and every collector's success 0,
// then recovers on the first scrape after the database returns.
func TestDatabaseDownThenUp(t *testing.T) {
	db := scenarioDB(t)
	proxy := pgtest.NewProxy(t, db.TargetAddr())
	proxy.Down()
	e, _ := newExporter(t, db.DSNVia(proxy.Addr), nil, DefaultConfig().Collectors)

	r := scrape(t, context.Background(), e)
	if r["campaign_up{}"] != 0 {
		t.Fatalf("up = %v with the database down", r["campaign_up{}"])
	}
	var names []string
	for _, n := range Names() {
		if v, ok := r[success(n)]; !ok || v != 0 {
			t.Errorf("collector %s success = %v (present %v), want 0", n, v, ok)
		}
		names = append(names, n)
	}
	sort.Strings(names)

	proxy.Up(t)
	r = scrape(t, context.Background(), e)
	if r["campaign_up{}"] != 1 {
		t.Fatalf("up = %v after the database returned", r["campaign_up{}"])
	}
	for _, n := range names {
		if r[success(n)] != 1 {
			t.Errorf("collector %s success = %v after recovery", n, r[success(n)])
		}
	}
}

// pingCounter is the real pool, counting the exporter's pings.
type pingCounter struct {
	*Pool
	pings atomic.Int64
}

func (p *pingCounter) Ping(ctx context.Context) error {
	p.pings.Add(1)
	return p.Pool.Ping(ctx)
}

// Scrapes served wholly from cache share a successful ping for the
// reachability window; after it, the first scrape pings and reports an
// outage. A failed ping is never shared, and a scrape that runs a collector
// always pings, so it reports an outage at once.
func TestReachabilityWindow(t *testing.T) {
	db := scenarioDB(t)
	proxy := pgtest.NewProxy(t, db.TargetAddr())
	pool, err := NewPool(db.DSNVia(proxy.Addr), DefaultPoolOptions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	counted := &pingCounter{Pool: pool}
	e, err := New(counted, Config{Collectors: map[string]Settings{"health": {MinInterval: time.Hour}}, Options: DefaultOptions()}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	if e.pingWindow != time.Second {
		t.Errorf("reachability window %s, the documented one is 1s", e.pingWindow)
	}
	// check scrapes once; pinged says whether the scrape should have pinged
	// (a ping that finds its connection cut is retried once, hence >= 1).
	check := func(when string, up float64, pinged bool) {
		t.Helper()
		before := counted.pings.Load()
		r := scrape(t, context.Background(), e)
		if r["campaign_up{}"] != up || r[success("health")] != up {
			t.Errorf("%s: up %v, health success %v; want both %v", when, r["campaign_up{}"], r[success("health")], up)
		}
		if n := counted.pings.Load() - before; (n > 0) != pinged {
			t.Errorf("%s: %d pings, want pinged %v", when, n, pinged)
		}
	}

	e.pingWindow = time.Hour // no scrape here may outlast it
	check("first scrape", 1, true)
	for range 5 {
		check("cached scrape within the window", 1, false)
	}

	e.pingWindow = 300 * time.Millisecond
	proxy.Down()
	time.Sleep(e.pingWindow)
	check("first scrape after the window, database down", 0, true)
	check("next scrape, database still down", 0, true) // a failure is not shared
	proxy.Up(t)
	check("first scrape after the database returned", 1, true)

	// A scrape that runs a collector pings every time, so an outage shows
	// in the very next one.
	e.collectors[0].settings.MinInterval = 0
	e.pingWindow = time.Hour
	check("collector run", 1, true)
	check("collector run again", 1, true)
	proxy.Down()
	check("collector run, database just went down", 0, true)
}

// TestRunsRankedByTheirOwnCost: the engine gives the pool's connections
// to the runs that cost the most first, by what each run cost the last
// time without the time it queued for a connection. On one connection, b
// (a short pause, then a cheap query) queues behind a (a sleep) and ends
// after it: ranked by its whole duration, it would go first the next time.
func TestRunsRankedByTheirOwnCost(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	pool, err := NewPool(db.DSN, PoolOptions{MaxConns: 1, StatementTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	run := func(pause time.Duration, sql string) Collector {
		return collectorFunc(func(ctx context.Context, db Querier, _ chan<- prometheus.Metric) error {
			time.Sleep(pause) // a's query asks for the connection first
			var ignored any
			return db.QueryRow(ctx, sql).Scan(&ignored)
		})
	}
	e := &Exporter{db: pool, logger: log.NewNopLogger(), pingWindow: reachabilityWindow}
	a := newManaged("a", run(0, "SELECT pg_sleep(0.3)"), Settings{}, e.logger)
	b := newManaged("b", run(20*time.Millisecond, "SELECT 1"), Settings{}, e.logger)
	e.collectors = []*managed{a, b}
	for _, p := range e.Snapshot(context.Background()).parts {
		if !p.ok {
			t.Fatalf("%s failed", p.m.name)
		}
	}
	if st := b.current(); st.lastRunTook < a.current().lastRunTook {
		t.Fatalf("b took %v, a %v: b did not queue behind a", st.lastRunTook, a.current().lastRunTook)
	}
	if ca, cb := a.expectedCost(), b.expectedCost(); ca <= cb || cb > 100*time.Millisecond {
		t.Errorf("expected costs: a %v, b %v; want a's 300ms sleep first and b's pause and query well after", ca, cb)
	}
}
