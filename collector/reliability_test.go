package collector

// The fault suite: the in-process exporter on a real PostgreSQL through the
// faults of production (database down, backends killed, connections cut or
// stalled, a check hanging past the deadline, a lock, a revoked privilege).
// After each one the exporter keeps answering, says in its metrics what
// failed, recovers by itself on a later scrape, and leaks neither goroutines
// nor connections. Timings are logged, and asserted only with loose bounds:
// the machine running the tests may be slow and shared.

import (
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/exportertest"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/go-kit/log"
)

// faultRig is an exporter on its own pool, watched from the server's side.
type faultRig struct {
	t     *testing.T
	db    *pgtest.DB
	pool  *Pool
	e     *Exporter
	bound int

	baseline int // goroutines before the pool existed
	sessions *exportertest.SessionSampler
}

// allCollectors enables every collector without caching, so that each
// scrape reaches the database and a fault shows in every collector it hits.
func allCollectors() map[string]Settings {
	s := map[string]Settings{}
	for _, n := range Names() {
		s[n] = Settings{}
	}
	return s
}

// newFaultRig starts an exporter on dsn and samples, every 20ms, how many
// sessions the exporter has open on the server.
func newFaultRig(t *testing.T, db *pgtest.DB, dsn string, o PoolOptions, settings map[string]Settings) *faultRig {
	t.Helper()
	r := &faultRig{t: t, db: db, bound: int(o.MaxConns)}
	r.baseline = settledGoroutines(0)
	pool, err := NewPool(dsn, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	e, err := New(pool, Config{Collectors: settings, Options: DefaultOptions()}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	r.pool, r.e = pool, e
	r.sessions = exportertest.SampleSessions(db)
	// Stops the sampler of a test that ended before reading it.
	t.Cleanup(func() { _, _ = r.sessions.Finish() })
	return r
}

// newProxiedFaultRig is a rig with every collector on the scenario data
// through a proxy, whose health check sleeps seconds: long enough to fault
// the connection while it runs.
func newProxiedFaultRig(t *testing.T, seconds float64) (*pgtest.Proxy, *faultRig) {
	t.Helper()
	db := scenarioDB(t)
	db.SlowHealthCheck(t, seconds)
	proxy := pgtest.NewProxy(t, db.TargetAddr())
	return proxy, newFaultRig(t, db, db.DSNVia(proxy.Addr), DefaultPoolOptions, allCollectors())
}

// orphan marks the exporter's current backends as no longer its own: a cut
// or stalled proxy leaves them on the server, still running their query,
// until PostgreSQL notices the client is gone (in a real restart they die
// with the server). The exporter's pool no longer counts them, and neither
// does the sampler. It returns how many there were.
func (r *faultRig) orphan() int {
	r.t.Helper()
	rows, err := r.db.Pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity
		WHERE datname = $1 AND application_name = 'campaign_exporter'`, r.db.Name)
	if err != nil {
		r.t.Fatal(err)
	}
	var pids []int32
	for rows.Next() {
		var pid int32
		if err := rows.Scan(&pid); err != nil {
			r.t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		r.t.Fatal(err)
	}
	r.sessions.Exclude(pids...)
	return len(pids)
}

// scrape runs one scrape bounded by deadline, and how long it took.
func (r *faultRig) scrape(deadline time.Duration) (map[string]float64, time.Duration) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	m := scrape(r.t, ctx, r.e)
	return m, time.Since(start)
}

// scrapeResult is the outcome of a scrape run in a goroutine of its own.
type scrapeResult struct {
	m    map[string]float64
	took time.Duration
	err  error
}

// scrapeAsync starts a scrape bounded by deadline in a goroutine of its
// own, which reports nothing to the test: wait receives its result.
func (r *faultRig) scrapeAsync(deadline time.Duration) <-chan scrapeResult {
	done := make(chan scrapeResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		m, err := gatherFlat(r.e.Scraper(ctx))
		done <- scrapeResult{m, time.Since(start), err}
	}()
	return done
}

// wait receives the result of scrapeAsync, in the test's goroutine.
func (r *faultRig) wait(done <-chan scrapeResult) scrapeResult {
	r.t.Helper()
	res := <-done
	if res.err != nil {
		r.t.Fatalf("gather: %v", res.err)
	}
	return res
}

// faultMidScrape starts a scrape bounded by deadline and, once the slow
// health check runs on the server, orphans the exporter's backends and
// calls fault, as a proxy fault leaves them. It returns the scrape's
// result, how long after the fault the scrape returned, and how many
// backends it orphaned.
func (r *faultRig) faultMidScrape(deadline time.Duration, fault func()) (scrapeResult, time.Duration, int) {
	r.t.Helper()
	done := r.scrapeAsync(deadline)
	r.waitActive("%check_campaign_system_health%")
	at := time.Now()
	orphans := r.orphan()
	fault()
	res := r.wait(done)
	return res, time.Since(at), orphans
}

// expect checks up and each enabled collector's success: the names in
// failing 0, the others 1.
func (r *faultRig) expect(when string, m map[string]float64, up float64, failing ...string) {
	r.t.Helper()
	if got, ok := m["campaign_up{}"]; !ok || got != up {
		r.t.Errorf("%s: campaign_up = %v (present %v), want %v", when, got, ok, up)
	}
	for _, n := range r.names() {
		want := 1.0
		if up == 0 || slices.Contains(failing, n) {
			want = 0
		}
		if got, ok := m[success(n)]; !ok || got != want {
			r.t.Errorf("%s: collector %s success = %v (present %v), want %v", when, n, got, ok, want)
		}
	}
}

func (r *faultRig) names() []string {
	var out []string
	for _, m := range r.e.collectors {
		out = append(out, m.name)
	}
	return out
}

// failingCollectors lists the enabled collectors with success 0.
func (r *faultRig) failingCollectors(m map[string]float64) []string {
	var out []string
	for _, n := range r.names() {
		if m[success(n)] != 1 {
			out = append(out, n)
		}
	}
	return out
}

// recover scrapes until every collector succeeds, at most tries times, and
// returns after how many scrapes it did.
func (r *faultRig) recover(when string, tries int) int {
	r.t.Helper()
	var m map[string]float64
	for i := 1; i <= tries; i++ {
		m, _ = r.scrape(10 * time.Second)
		if m["campaign_up{}"] == 1 && len(r.failingCollectors(m)) == 0 {
			return i
		}
	}
	r.t.Errorf("%s: not recovered after %d scrapes: up %v, failing %v", when, tries, m["campaign_up{}"], r.failingCollectors(m))
	return tries
}

// activeQueries counts the exporter's queries running on the server.
func (r *faultRig) activeQueries() int {
	r.t.Helper()
	var n int
	r.db.QueryRow(r.t, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = $1 AND application_name = 'campaign_exporter' AND state = 'active'`, []any{&n}, r.db.Name)
	return n
}

// waitActive waits until a query of the exporter's matching like is running
// on the server.
func (r *faultRig) waitActive(like string) {
	r.t.Helper()
	for i := 0; i < 500; i++ {
		var n int
		r.db.QueryRow(r.t, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = $1 AND application_name = 'campaign_exporter' AND state = 'active' AND query LIKE $2`,
			[]any{&n}, r.db.Name, like)
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("no exporter query like %q started", like)
}

// finish checks the leaks: sessions within the bound while the test ran,
// then, with the pool closed, no session left on the server and no
// goroutine left over the count from before the pool.
func (r *faultRig) finish() {
	r.t.Helper()
	maxSeen, sampleErr := r.sessions.Finish()
	if sampleErr != nil {
		r.t.Errorf("sampling pg_stat_activity: %v", sampleErr)
	}
	r.t.Logf("most exporter sessions seen on the server: %d (bound %d)", maxSeen, r.bound)
	if maxSeen > r.bound {
		r.t.Errorf("%d exporter sessions on the server at once, over the pool bound %d", maxSeen, r.bound)
	}
	r.pool.Close()
	waitNoSessions(r.t, r.db)
	if n := settledGoroutines(r.baseline); n > r.baseline {
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		r.t.Errorf("goroutines: %d after the pool closed, %d before it existed\n%s", n, r.baseline, b.String())
	}
}

// settledGoroutines is the goroutine count once it falls to target or
// stops changing (within about 5s).
func settledGoroutines(target int) int {
	n, same := runtime.NumGoroutine(), 0
	for i := 0; i < 250 && same < 10; i++ {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m <= target {
			return m
		}
		if m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return runtime.NumGoroutine()
}

// Down at start (connection refused), then up; then down again mid-run and
// up again. A scrape while down answers at once with up 0 and every
// collector 0 (the first one after the reachability window, when every
// collector is cached); the first scrape after the database returns has everything,
// even right after the previous one (pooled connections the outage closed
// are not taken for the database being down).
func TestFaultDatabaseDown(t *testing.T) {
	db := scenarioDB(t)
	proxy := pgtest.NewProxy(t, db.TargetAddr())
	r := newFaultRig(t, db, db.DSNVia(proxy.Addr), DefaultPoolOptions, DefaultConfig().Collectors)
	proxy.Down()

	m, took := r.scrape(5 * time.Second)
	t.Logf("scrape with the database down took %s", took)
	r.expect("down at start", m, 0)
	if took > 3*time.Second {
		t.Errorf("scrape with the database down took %s; refused connections should fail fast", took)
	}

	proxy.Up(t)
	m, _ = r.scrape(10 * time.Second)
	r.expect("after up", m, 1)

	// Every collector is now served from cache, so the next scrapes share
	// the last ping for the reachability window: the outage is reported by
	// the first scrape after it (TestReachabilityWindow has the details).
	proxy.Down()
	time.Sleep(r.e.pingWindow)
	m, _ = r.scrape(5 * time.Second)
	r.expect("down again", m, 0)
	if _, ok := m[`campaign_collector_last_success_timestamp_seconds{collector="health"}`]; !ok {
		t.Errorf("down again: the last success timestamp is gone; it should say when data was last good")
	}
	proxy.Up(t)
	m, _ = r.scrape(10 * time.Second)
	r.expect("first scrape after up again", m, 1)
	r.recover("up again", 3)
	r.finish()
}

// The server kills the exporter's backends (pg_terminate_backend, as a DBA
// or a failover would): the next scrape reconnects and has everything, both
// right after the kill (pgxpool reuses a connection idle under a second
// without checking it) and after a scrape interval's pause (it pings one
// idle longer first).
func TestFaultBackendsTerminated(t *testing.T) {
	db := scenarioDB(t)
	r := newFaultRig(t, db, db.DSN, DefaultPoolOptions, allCollectors())
	m, _ := r.scrape(10 * time.Second)
	r.expect("before", m, 1)

	for _, pause := range []time.Duration{0, 1100 * time.Millisecond} {
		// The killed backends take a moment to exit after the signal, while
		// the pool already opens their replacements: leave them out of the
		// session count, which is about what the exporter holds.
		var pids []int32
		db.QueryRow(t, `SELECT coalesce(array_agg(pid), '{}') FROM pg_stat_activity
			WHERE application_name = 'campaign_exporter' AND datname = $1`, []any{&pids}, db.Name)
		r.sessions.Exclude(pids...)
		var n int
		db.QueryRow(t, `SELECT count(pg_terminate_backend(pid)) FROM unnest($1::int4[]) AS pid`, []any{&n}, pids)
		time.Sleep(pause)
		m, took := r.scrape(10 * time.Second)
		t.Logf("killed %d backends; after a %s pause the next scrape took %s: up %v, failing %v",
			n, pause, took, m["campaign_up{}"], r.failingCollectors(m))
		r.expect(fmt.Sprintf("first scrape %s after the kill", pause), m, 1)
		r.recover(fmt.Sprintf("after the kill (pause %s)", pause), 3)
	}
	r.finish()
}

// A server restart mid-scrape, simulated by the proxy while a slow check
// runs. An instant one (every connection cut, new ones accepted): the lost
// queries are retried once on fresh connections and the scrape is
// complete. One with downtime (cut, and refused for a while): the scrape
// returns at once with the cut collectors failed, and the first scrape
// after the database is back has everything.
func TestFaultCutMidScrape(t *testing.T) {
	proxy, r := newProxiedFaultRig(t, 1)

	res, after, orphans := r.faultMidScrape(10*time.Second, proxy.Cut)
	t.Logf("instant restart: cut %d connections; the scrape returned %s after the cut (%s in all): up %v, failing %v",
		orphans, after, res.took, res.m["campaign_up{}"], r.failingCollectors(res.m))
	r.expect("scrape across an instant restart", res.m, 1)

	res, after, orphans = r.faultMidScrape(10*time.Second, proxy.Down)
	t.Logf("restart with downtime: cut %d connections; the scrape returned %s after the cut (%s in all): up %v, failing %v",
		orphans, after, res.took, res.m["campaign_up{}"], r.failingCollectors(res.m))
	if res.m[success("health")] != 0 {
		t.Errorf("health success = %v though its connection was cut and the database refused new ones", res.m[success("health")])
	}
	if after > 2*time.Second {
		t.Errorf("the scrape took %s after the cut: the cut did not end the slow query's wait", after)
	}
	time.Sleep(300 * time.Millisecond)
	proxy.Up(t)
	m, _ := r.scrape(10 * time.Second)
	r.expect("first scrape after the database is back", m, 1)
	r.finish()
}

// A check that sleeps past the scrape's deadline: the scrape returns about
// at the deadline with that collector failed and the others reported, the
// query is cancelled on the server, and the collector recovers once the
// check is fast again.
func TestFaultCheckPastDeadline(t *testing.T) {
	db := scenarioDB(t)
	db.SlowHealthCheck(t, 60)
	r := newFaultRig(t, db, db.DSN, DefaultPoolOptions, DefaultConfig().Collectors)

	const deadline = time.Second
	m, took := r.scrape(deadline)
	active := r.activeQueries()
	t.Logf("deadline %s: scrape took %s, overshoot %s; %d exporter queries active right after",
		deadline, took, took-deadline, active)
	if took > deadline+2*time.Second {
		t.Errorf("scrape took %s with a %s deadline", took, deadline)
	}
	if active != 0 {
		t.Errorf("%d exporter queries still running on the server after the scrape returned", active)
	}
	r.expect("past the deadline", m, 1, "health")
	if _, ok := m[`campaign_collector_duration_seconds{collector="health"}`]; !ok {
		t.Errorf("the timed-out run's duration is not reported")
	}

	// Several timed-out scrapes in a row do not pile up queries or sessions.
	for range 3 {
		r.scrape(300 * time.Millisecond)
	}
	if active := r.activeQueries(); active != 0 {
		t.Errorf("%d exporter queries still running after repeated timed-out scrapes", active)
	}

	if err := db.ExecScript(`DROP FUNCTION check_campaign_system_health();
ALTER FUNCTION check_campaign_system_health_orig() RENAME TO check_campaign_system_health;`); err != nil {
		t.Fatal(err)
	}
	m, _ = r.scrape(10 * time.Second)
	r.expect("check fast again", m, 1)
	r.finish()
}

// Another session holds an ACCESS EXCLUSIVE lock on holidays: with a short
// lock_timeout the collectors reading holidays fail, the others report, and
// all recover once the lock is released.
func TestFaultLockHeld(t *testing.T) {
	db := scenarioDB(t)
	o := DefaultPoolOptions
	o.LockTimeout = 200 * time.Millisecond
	r := newFaultRig(t, db, db.DSN, o, allCollectors())
	m, _ := r.scrape(10 * time.Second)
	r.expect("before the lock", m, 1)

	// The transaction holds its connection, and so the lock, until it ends.
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE holidays IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	m, took := r.scrape(10 * time.Second)
	t.Logf("scrape under the lock took %s; failing %v", took, r.failingCollectors(m))
	// Those that read holidays: the health and holiday checks, the exact
	// counts, and the table statistics (pg_total_relation_size locks it).
	r.expect("under the lock", m, 1, "health", "holiday_integrity", "inventory", "table_stats")
	if took > 5*time.Second {
		t.Errorf("scrape under the lock took %s; lock_timeout is %s", took, o.LockTimeout)
	}
	if active := r.activeQueries(); active != 0 {
		t.Errorf("%d exporter queries still waiting on the lock after the scrape", active)
	}

	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	m, _ = r.scrape(10 * time.Second)
	r.expect("after the lock", m, 1)
	r.finish()
}

// The connection stalls mid-scrape (a network partition: no RST, no data):
// the scrape still returns by its deadline, saying what failed; scrapes
// during the stall do too; the first scrape after Resume has everything.
// Then the idle connections are cut between scrapes: the next scrape
// reconnects and has everything.
func TestFaultStallAndCut(t *testing.T) {
	proxy, r := newProxiedFaultRig(t, 0.3)
	m, _ := r.scrape(10 * time.Second)
	r.expect("before", m, 1)

	const deadline = time.Second
	res, _, _ := r.faultMidScrape(deadline, proxy.Stall)
	t.Logf("stalled mid-scrape: deadline %s, took %s (overshoot %s): up %v, failing %v",
		deadline, res.took, res.took-deadline, res.m["campaign_up{}"], r.failingCollectors(res.m))
	if res.took > deadline+2*time.Second {
		t.Errorf("stalled scrape took %s with a %s deadline", res.took, deadline)
	}
	if res.m[success("health")] != 0 {
		t.Errorf("health success = %v though its connection stalled", res.m[success("health")])
	}

	// While still stalled: answered by the deadline, up 0.
	m, took := r.scrape(deadline)
	t.Logf("scrape during the stall took %s: up %v", took, m["campaign_up{}"])
	if took > deadline+2*time.Second {
		t.Errorf("scrape during the stall took %s with a %s deadline", took, deadline)
	}
	r.expect("during the stall", m, 0)

	proxy.Resume()
	m, _ = r.scrape(10 * time.Second)
	r.expect("first scrape after Resume", m, 1)

	// The idle connections cut between two scrapes.
	r.orphan()
	proxy.Cut()
	m, _ = r.scrape(10 * time.Second)
	t.Logf("first scrape after cutting the idle connections: up %v, failing %v", m["campaign_up{}"], r.failingCollectors(m))
	r.expect("first scrape after the cut", m, 1)
	r.recover("after the cut", 3)
	r.finish()
}

// The role loses EXECUTE on one check mid-run: that collector reports 0,
// the others keep reporting, and a GRANT brings it back without a restart.
func TestFaultPermissionRevoked(t *testing.T) {
	db := scenarioDB(t)
	db.ApplyFile(t, "schema/exporter-role.sql")
	r := newFaultRig(t, db, db.DSNAs("campaign_exporter"), DefaultPoolOptions, allCollectors())
	m, _ := r.scrape(10 * time.Second)
	r.expect("as campaign_exporter", m, 1)

	// EXECUTE is PUBLIC's by default and the role script grants it too:
	// both must go.
	db.Exec(t, "REVOKE EXECUTE ON FUNCTION check_attribution_quality() FROM PUBLIC, campaign_exporter")
	m, _ = r.scrape(10 * time.Second)
	r.expect("revoked", m, 1, "attribution")
	if _, ok := m[`campaign_attribution_check_value{check="Weight Distribution"}`]; ok {
		t.Errorf("revoked: attribution data still served")
	}

	db.Exec(t, "GRANT EXECUTE ON FUNCTION check_attribution_quality() TO PUBLIC, campaign_exporter")
	m, _ = r.scrape(10 * time.Second)
	r.expect("granted back", m, 1)
	r.finish()
}

// A scraper that gives up (its client disconnects, or it announced a
// shorter timeout) while its run of a collector is shared with another
// scrape: the other scrape, whose deadline allows the run to finish, still
// gets the collector's data; the run is cancelled only when no scrape
// waits for it any more.
func TestFaultImpatientScraperSharesRun(t *testing.T) {
	db := scenarioDB(t)
	// The impatient deadline must be long enough for its run to reach the
	// server (connect, ping, start the query) on a loaded machine, and the
	// check much slower than that deadline.
	const impatientDeadline = time.Second
	db.SlowHealthCheck(t, 3)
	r := newFaultRig(t, db, db.DSN, DefaultPoolOptions, map[string]Settings{"health": {}, "holiday_integrity": {}})

	impatient := r.scrapeAsync(impatientDeadline)
	r.waitActive("%check_campaign_system_health%")
	patient := r.scrapeAsync(10 * time.Second)
	a, b := r.wait(impatient), r.wait(patient)
	t.Logf("impatient (1s) scrape: %s, health %v; patient (10s) scrape: %s, health %v",
		a.took, a.m[success("health")], b.took, b.m[success("health")])
	if a.took > impatientDeadline+2*time.Second {
		t.Errorf("the impatient scrape took %s with a %s deadline", a.took, impatientDeadline)
	}
	if a.m[success("health")] != 0 {
		t.Errorf("the impatient scrape reports health success %v before the check could finish", a.m[success("health")])
	}
	r.expect("patient scrape sharing the run", b.m, 1)

	// Nobody waits any more: the query is cancelled on the server.
	m, took := r.scrape(impatientDeadline)
	if active := r.activeQueries(); active != 0 {
		t.Errorf("%d exporter queries still running after a lone scrape timed out (took %s)", active, took)
	}
	if m[success("health")] != 0 {
		t.Errorf("lone impatient scrape: health success %v", m[success("health")])
	}
	r.finish()
}
