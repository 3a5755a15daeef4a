package collector

// Unit tests of the engine (engine.go, managed.go, errors.go) without a
// database: the collectors here are in-process Collectors that send what
// the test tells them and never query, so they need no Querier, and the
// Exporter's database only answers pings. They run under go test -race
// (make race).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var runDesc = prometheus.NewDesc("campaign_test_run", "Which run of the test collector the data is from.", nil, nil)

// testCollector sends one series, the number of the run that sent it.
type testCollector struct {
	runs atomic.Int32
	// gate, when set, holds each run until it receives the run's outcome
	// (nil: success) or the run's context ends.
	gate chan error
	// fail is the outcome of runs without a gate. Set it only while no run
	// is going.
	fail error
	// dup makes a successful run send its series twice.
	dup bool
}

var _ Collector = (*testCollector)(nil)

func (c *testCollector) Update(ctx context.Context, _ Querier, ch chan<- prometheus.Metric) error {
	n := c.runs.Add(1)
	err := c.fail
	if c.gate != nil {
		select {
		case err = <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err != nil {
		return err
	}
	m := prometheus.MustNewConstMetric(runDesc, prometheus.GaugeValue, float64(n))
	ch <- m
	if c.dup {
		ch <- m
	}
	return nil
}

// runOf is the run the metrics came from (0: none).
func runOf(t *testing.T, metrics []prometheus.Metric) int {
	t.Helper()
	if len(metrics) != 1 {
		t.Fatalf("%d metrics, want the one of a run", len(metrics))
	}
	var pb dto.Metric
	if err := metrics[0].Write(&pb); err != nil {
		t.Fatal(err)
	}
	return int(pb.GetGauge().GetValue())
}

// debugLogger logs everything to a buffer, as logfmt. The runs log before
// the scrapes waiting for them return, so the test reads it after.
func debugLogger() (log.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return level.NewFilter(log.NewLogfmtLogger(log.NewSyncWriter(&buf)), level.AllowDebug()), &buf
}

// age makes the collector's cache d older.
func age(m *managed, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := *m.state
	st.cachedAt = st.cachedAt.Add(-d)
	m.state = &st
}

func TestEngineCacheServesWithinMinInterval(t *testing.T) {
	c := &testCollector{}
	m := newManaged("test", c, Settings{MinInterval: time.Hour}, log.NewNopLogger())
	first, err := m.get(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := m.get(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.runs.Load(); n != 1 {
		t.Errorf("%d runs within the minimum interval, want 1", n)
	}
	if runOf(t, second) != 1 || &first[0] != &second[0] {
		t.Errorf("the second scrape did not get the first run's cached metrics")
	}
	st := m.current()
	if !st.hasRun || st.cachedAt.IsZero() || st.lastSuccess.IsZero() {
		t.Errorf("state after a successful run: %+v", st)
	}

	// Just short of the interval, still fresh; past it, a new run.
	age(m, time.Hour-time.Minute)
	if _, ok := m.fresh(); !ok {
		t.Errorf("a cache a minute short of the minimum interval is not fresh")
	}
	age(m, time.Minute)
	if _, ok := m.fresh(); ok {
		t.Errorf("a cache as old as the minimum interval is still fresh")
	}
	third, err := m.get(context.Background(), nil)
	if err != nil || runOf(t, third) != 2 {
		t.Errorf("after the interval: err %v, want data from a second run", err)
	}
}

func TestEngineNoMinIntervalRunsEveryScrape(t *testing.T) {
	c := &testCollector{}
	m := newManaged("test", c, Settings{}, log.NewNopLogger())
	for want := 1; want <= 3; want++ {
		metrics, err := m.get(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := runOf(t, metrics); got != want {
			t.Errorf("scrape %d got data of run %d", want, got)
		}
	}
}

// A failed run is not cached as success: the scrape gets no data, the last
// success stays that of the earlier run, and the next scrape runs again
// rather than serving the older data.
func TestEngineFailureIsNotCached(t *testing.T) {
	c := &testCollector{}
	m := newManaged("test", c, Settings{MinInterval: time.Hour}, log.NewNopLogger())
	if _, err := m.get(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	good := m.current()
	age(m, time.Hour)

	c.fail = errors.New("boom")
	metrics, err := m.get(context.Background(), nil)
	if err == nil || metrics != nil {
		t.Fatalf("failed run: metrics %v, err %v; want none and the error", metrics, err)
	}
	st := m.current()
	if st == good || !st.lastSuccess.Equal(good.lastSuccess) || !st.hasRun {
		t.Errorf("after a failure: state %+v, want a new state keeping the last success %v", st, good.lastSuccess)
	}
	if _, ok := m.fresh(); ok {
		t.Errorf("a failed run made the cache fresh")
	}
	if _, err := m.get(context.Background(), nil); err == nil || c.runs.Load() != 3 {
		t.Errorf("the scrape after a failure: err %v after %d runs, want a third run, failing", err, c.runs.Load())
	}

	c.fail = nil
	if metrics, err := m.get(context.Background(), nil); err != nil || runOf(t, metrics) != 4 {
		t.Errorf("after recovery: err %v, want the fourth run's data", err)
	}
}

// A first run that fails leaves nothing cached.
func TestEngineFirstRunFailing(t *testing.T) {
	c := &testCollector{fail: errors.New("boom")}
	m := newManaged("test", c, Settings{MinInterval: time.Hour}, log.NewNopLogger())
	if _, err := m.get(context.Background(), nil); err == nil {
		t.Fatal("no error from a failing run")
	}
	if st := m.current(); !st.hasRun || !st.cachedAt.IsZero() || !st.lastSuccess.IsZero() || st.cached != nil {
		t.Errorf("state after a failing first run: %+v", st)
	}
}

// A run that would send the same series twice fails, uncached.
func TestEngineDuplicateSeriesFailTheRun(t *testing.T) {
	c := &testCollector{dup: true}
	m := newManaged("test", c, Settings{MinInterval: time.Hour}, log.NewNopLogger())
	metrics, err := m.get(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "duplicate series") || metrics != nil {
		t.Fatalf("metrics %v, err %v; want a duplicate-series error", metrics, err)
	}
	if !m.current().cachedAt.IsZero() {
		t.Errorf("a run with duplicate series was cached")
	}
}

// The collector's timeout ends a run its scrape would have waited for.
func TestEngineTimeoutBoundsARun(t *testing.T) {
	c := &testCollector{gate: make(chan error)} // never opened
	m := newManaged("test", c, Settings{Timeout: time.Millisecond}, log.NewNopLogger())
	_, err := m.get(context.Background(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the run's deadline", err)
	}
	if !m.current().cachedAt.IsZero() {
		t.Errorf("a timed-out run was cached")
	}
}

// A run every waiting scrape gave up on is cancelled, logged at debug only
// (it says nothing about the collector), kept out of Failures, and the
// next scrape starts a fresh run.
func TestEngineRunAbandonedByAllWaiters(t *testing.T) {
	logger, logs := debugLogger()
	c := &testCollector{gate: make(chan error)}
	m := newManaged("test", c, Settings{MinInterval: time.Hour}, logger)

	ctx, cancel := context.WithCancel(context.Background())
	abandoned := make(chan error, 1)
	go func() {
		_, err := m.get(ctx, nil)
		abandoned <- err
	}()
	waitWaiters(&m.flight, 1)
	cancel()
	if err := <-abandoned; !errors.Is(err, context.Canceled) {
		t.Fatalf("the scrape that gave up got %v, want context.Canceled", err)
	}
	if st := m.current(); !st.hasRun || !st.cachedAt.IsZero() {
		t.Errorf("state after the abandoned run: %+v", st)
	}
	if out := logs.String(); !strings.Contains(out, `level=debug collector=test msg="collector run abandoned by its scrapes"`) ||
		strings.Contains(out, "level=error") || strings.Contains(out, "level=warn") {
		t.Errorf("the abandoned run was logged as:\n%s", out)
	}
	m.mu.Lock()
	lastErr := m.lastErr
	m.mu.Unlock()
	if lastErr != "" {
		t.Errorf("the abandoned run counts as the collector's failure %q", lastErr)
	}

	next := make(chan []prometheus.Metric, 1)
	go func() {
		metrics, err := m.get(context.Background(), nil)
		if err != nil {
			metrics = nil
		}
		next <- metrics
	}()
	waitWaiters(&m.flight, 1)
	c.gate <- nil
	if metrics := <-next; metrics == nil || runOf(t, metrics) != 2 {
		t.Errorf("the next scrape: %v, want the data of a second run", metrics)
	}
}

// A failure is logged once when it starts or changes, at debug while it
// repeats, at warn when an object is missing, and once on recovery.
func TestEngineFailureLogging(t *testing.T) {
	logger, logs := debugLogger()
	c := &testCollector{}
	m := newManaged("test", c, Settings{}, logger)
	scrape := func(fail error) {
		t.Helper()
		c.fail = fail
		if _, err := m.get(context.Background(), nil); (err != nil) != (fail != nil) {
			t.Fatalf("run failing with %v returned %v", fail, err)
		}
	}
	boom := errors.New("boom")
	scrape(boom)
	scrape(boom)
	scrape(boom)
	scrape(errors.New("bang"))
	scrape(&pgconn.PgError{Code: "42883", Message: "function check_attribution_quality() does not exist"})
	scrape(nil)
	scrape(nil)

	var levels []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		levels = append(levels, strings.Fields(line)[0])
	}
	want := []string{"level=error", "level=debug", "level=debug", "level=error", "level=warn", "level=info"}
	if fmt.Sprint(levels) != fmt.Sprint(want) {
		t.Errorf("log levels %v, want %v:\n%s", levels, want, logs.String())
	}
}

// pingDB is a database that only answers pings; the test collectors never
// query it.
type pingDB struct {
	Querier // nil: no query is made
	mu      sync.Mutex
	err     error
	pings   int
}

func (d *pingDB) Ping(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pings++
	return d.err
}

func (d *pingDB) set(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.err = err
}

func (d *pingDB) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pings
}

// testExporter is an Exporter of the named test collectors, all with s.
func testExporter(db DB, s Settings, names ...string) (*Exporter, map[string]*testCollector) {
	e := &Exporter{db: db, logger: log.NewNopLogger(), pingWindow: reachabilityWindow}
	cs := map[string]*testCollector{}
	for _, n := range names { // in order, as New sorts them
		cs[n] = &testCollector{}
		e.collectors = append(e.collectors, newManaged(n, cs[n], s, e.logger))
	}
	return e, cs
}

// flatten gathers c into "name{labels}" -> value.
func flatten(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	out, err := gatherFlat(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A scrape with the database down runs nothing and reports every
// collector failed; one failing collector does not spoil the others.
func TestEngineSnapshotOutcomes(t *testing.T) {
	db := &pingDB{}
	e, cs := testExporter(db, Settings{}, "a", "b")

	db.set(errors.New("connection refused"))
	r := flatten(t, e.Snapshot(context.Background()))
	if r["campaign_up{}"] != 0 || r[success("a")] != 0 || r[success("b")] != 0 {
		t.Errorf("database down: %v", r)
	}
	if n := cs["a"].runs.Load() + cs["b"].runs.Load(); n != 0 {
		t.Errorf("%d collector runs with the database down", n)
	}

	db.set(nil)
	cs["b"].fail = errors.New("boom")
	r = flatten(t, e.Snapshot(context.Background()))
	if r["campaign_up{}"] != 1 || r[success("a")] != 1 || r[success("b")] != 0 || r["campaign_test_run{}"] != 1 {
		t.Errorf("b failing: %v", r)
	}
	if _, ok := r[`campaign_collector_last_success_timestamp_seconds{collector="b"}`]; ok {
		t.Errorf("b never succeeded but has a last success time")
	}
	if _, ok := r[`campaign_collector_duration_seconds{collector="b"}`]; !ok {
		t.Errorf("the failed run's duration is missing")
	}
}

// Scrapes served wholly from cache share the last successful ping within
// the reachability window and write the same snapshot; a run makes a
// different one.
func TestEngineSnapshotFromCache(t *testing.T) {
	db := &pingDB{}
	e, cs := testExporter(db, Settings{MinInterval: time.Hour}, "a", "b")
	e.pingWindow = time.Hour // no scrape here may outlast it

	first := e.Snapshot(context.Background())
	second := e.Snapshot(context.Background())
	if !first.Same(second) || db.count() != 1 {
		t.Errorf("cached scrape: same %v, %d pings; want the same snapshot and 1 ping", first.Same(second), db.count())
	}
	age(e.collectors[0], time.Hour)
	third := e.Snapshot(context.Background())
	if third.Same(second) || db.count() != 2 || cs["a"].runs.Load() != 2 || cs["b"].runs.Load() != 1 {
		t.Errorf("after a's cache expired: same %v, %d pings, runs a %d b %d; want a new snapshot, a ping and a's second run",
			third.Same(second), db.count(), cs["a"].runs.Load(), cs["b"].runs.Load())
	}
}

// Concurrent scrapes share one run of a collector.
func TestEngineConcurrentScrapesShareOneRun(t *testing.T) {
	e, cs := testExporter(&pingDB{}, Settings{}, "a")
	cs["a"].gate = make(chan error)
	const scrapers = 8
	results := make(chan *Snapshot, scrapers)
	for range scrapers {
		go func() { results <- e.Snapshot(context.Background()) }()
	}
	waitWaiters(&e.collectors[0].flight, scrapers)
	cs["a"].gate <- nil
	for range scrapers {
		r := flatten(t, <-results)
		if r[success("a")] != 1 || r["campaign_test_run{}"] != 1 {
			t.Errorf("a scrape got %v, want the data of the one shared run", r)
		}
	}
	if n := cs["a"].runs.Load(); n != 1 {
		t.Errorf("%d runs for %d concurrent scrapes, want 1", n, scrapers)
	}
}

// resetCounter is a pool that counts its resets; nothing queries it.
type resetCounter struct {
	Querier
	resets int
}

func (r *resetCounter) Reset() { r.resets++ }

func TestEngineRetryIfLost(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	other := errors.New("syntax error")
	for _, tc := range []struct {
		name          string
		ctx           context.Context
		errs          []error // the outcomes of the calls, in turn
		calls, resets int
		ok            bool
	}{
		{"success", context.Background(), []error{nil}, 1, 0, true},
		{"lost then success", context.Background(), []error{io.EOF, nil}, 2, 1, true},
		{"lost twice", context.Background(), []error{io.ErrUnexpectedEOF, io.EOF}, 2, 1, false},
		{"terminated backend", context.Background(), []error{&pgconn.PgError{Code: "57P01"}, nil}, 2, 1, true},
		{"query error", context.Background(), []error{other}, 1, 0, false},
		{"scrape gone", canceled, []error{io.EOF}, 1, 0, false},
	} {
		db := &resetCounter{}
		calls := 0
		_, err := retryIfLost(tc.ctx, db, func() (struct{}, error) {
			calls++
			return struct{}{}, tc.errs[calls-1]
		})
		if calls != tc.calls || db.resets != tc.resets || (err == nil) != tc.ok {
			t.Errorf("%s: %d calls, %d resets, err %v; want %d, %d, ok %v", tc.name, calls, db.resets, err, tc.calls, tc.resets, tc.ok)
		}
	}
}

func TestEngineErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		err           error
		missing, lost bool
	}{
		{&pgconn.PgError{Code: "42883"}, true, false}, // undefined function
		{&pgconn.PgError{Code: "42P01"}, true, false}, // undefined table
		{&pgconn.PgError{Code: "42703"}, true, false}, // undefined column
		{&pgconn.PgError{Code: "3F000"}, true, false}, // undefined schema
		{&pgconn.PgError{Code: "42501"}, false, false},
		{&pgconn.PgError{Code: "57P01"}, false, true},
		{&pgconn.PgError{Code: "57P02"}, false, true},
		{&pgconn.PgError{Code: "57014"}, false, false}, // query_canceled
		{fmt.Errorf("scan: %w", io.EOF), false, true},
		{net.ErrClosed, false, true},
		{&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, false, true},
		{errors.New("not a number"), false, false},
	} {
		if got := IsMissingObject(tc.err); got != tc.missing {
			t.Errorf("IsMissingObject(%v) = %v", tc.err, got)
		}
		if got := IsConnectionLost(tc.err); got != tc.lost {
			t.Errorf("IsConnectionLost(%v) = %v", tc.err, got)
		}
	}
}
