// Package collector runs the campaign system's checks against PostgreSQL and
// turns their rows into Prometheus metrics.
//
// This file is the framework: the Collector interface, the registry of
// collectors, and the engine that runs them on each scrape with a timeout,
// a cache (minimum interval), one shared in-flight run per collector, and
// per-collector success so that one failing check never spoils the scrape.
package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

const namespace = "campaign"

// Querier is what collectors read from: a pgx pool in production.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// DB is the database an Exporter watches: a pgx pool in production. A
// DB that also has Reset (as the pool does) is reset when its connections
// are found lost.
type DB interface {
	Querier
	Ping(ctx context.Context) error
}

// Collector reads one part of the campaign system.
type Collector interface {
	// Update runs the collector's queries and sends its metrics. It returns
	// an error instead of logging: the engine logs and records success.
	Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error
}

// Options are collector-specific settings (the --collector.NAME.OPTION flags).
type Options struct {
	// TableStatsTables and IndexUsageTables name the tables reported on.
	TableStatsTables []string
	IndexUsageTables []string
	// BackupRetention is how old a dim_date_backup row may get before it
	// counts as expired.
	BackupRetention time.Duration
}

// perScrape is the default minimum interval of the cheap collectors: fresh
// on every scrape at any usual scrape interval, while scrapes closer than
// this (Prometheus replicas in HA pairs, several dashboards) share one run,
// so the database's load does not grow with the number of scrapers.
const perScrape = 5 * time.Second

// DefaultTables are the tables monitored unless configured otherwise.
var DefaultTables = []string{"campaigns", "dim_date", "holidays", "orders", "dim_date_backup"}

type factory struct {
	name            string
	enabledDefault  bool
	intervalDefault time.Duration
	build           func(Options) Collector
}

// factories is filled by each collector file's init and never changed after.
var factories = map[string]factory{}

func registerCollector(name string, enabledByDefault bool, minInterval time.Duration, build func(Options) Collector) {
	if _, dup := factories[name]; dup {
		panic("collector registered twice: " + name)
	}
	factories[name] = factory{name, enabledByDefault, minInterval, build}
}

// Names lists every registered collector, sorted.
func Names() []string {
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Settings tune one enabled collector.
type Settings struct {
	// MinInterval: a successful run's data is served from cache until it is
	// this old. 0 runs on every scrape.
	MinInterval time.Duration
	// Timeout bounds one run; 0 leaves only the scrape's deadline.
	Timeout time.Duration
}

// Config selects and tunes the collectors of one target.
type Config struct {
	Collectors map[string]Settings // the enabled ones
	Options    Options
}

// DefaultConfig enables the collectors that are on by default, with their
// default intervals.
func DefaultConfig() Config {
	c := Config{Collectors: map[string]Settings{}, Options: DefaultOptions()}
	for _, f := range factories {
		if f.enabledDefault {
			c.Collectors[f.name] = Settings{MinInterval: f.intervalDefault}
		}
	}
	return c
}

// DefaultOptions are the collector options' defaults.
func DefaultOptions() Options {
	return Options{TableStatsTables: DefaultTables, IndexUsageTables: DefaultTables, BackupRetention: 30 * 24 * time.Hour}
}

// DefaultMinInterval is a collector's built-in minimum interval.
func DefaultMinInterval(name string) time.Duration { return factories[name].intervalDefault }

// reachabilityWindow is how long a successful ping vouches for the
// database to scrapes that do not otherwise reach it: when every collector
// is served from cache, a scrape within this window of the last successful
// ping reports campaign_up 1 without pinging again. A database that goes
// down is reported by the first scrape after the window; a scrape that runs
// any collector, and any scrape after a failed ping, always pings.
const reachabilityWindow = time.Second

// Exporter runs the enabled collectors of one database.
type Exporter struct {
	db         DB
	logger     log.Logger
	collectors []*managed
	pinger     flight[struct{}]
	pingWindow time.Duration // reachabilityWindow, shorter in tests

	pingMu      sync.Mutex
	lastPingErr string
	pingOK      time.Time // when the last successful ping started; zero after a failure
}

// logPing logs an unreachable database when it starts or its error
// changes, at debug while it lasts, and once when it comes back.
func (e *Exporter) logPing(err error) {
	e.pingMu.Lock()
	defer e.pingMu.Unlock()
	switch {
	case err == nil && e.lastPingErr != "":
		level.Info(e.logger).Log("msg", "database reachable again")
		e.lastPingErr = ""
	case err == nil:
	case err.Error() == e.lastPingErr:
		level.Debug(e.logger).Log("msg", "database unreachable", "err", err)
	default:
		level.Error(e.logger).Log("msg", "database unreachable", "err", err)
		e.lastPingErr = err.Error()
	}
}

// notePing records a ping's outcome for the scrapes that may share it.
func (e *Exporter) notePing(start time.Time, err error) {
	e.pingMu.Lock()
	defer e.pingMu.Unlock()
	if err != nil {
		e.pingOK = time.Time{}
	} else if start.After(e.pingOK) {
		e.pingOK = start
	}
}

// forgetPing makes the next scrape ping: a collector lost its connection.
func (e *Exporter) forgetPing() { e.notePing(time.Time{}, errConnectionLost) }

var errConnectionLost = errors.New("connection lost")

// recentlyReachable tells whether a ping succeeded within the window.
func (e *Exporter) recentlyReachable() bool {
	e.pingMu.Lock()
	defer e.pingMu.Unlock()
	return !e.pingOK.IsZero() && time.Since(e.pingOK) < e.pingWindow
}

// New builds an exporter over db with the collectors cfg enables.
func New(db DB, cfg Config, logger log.Logger) (*Exporter, error) {
	e := &Exporter{db: db, logger: logger, pingWindow: reachabilityWindow}
	for name, s := range cfg.Collectors {
		f, ok := factories[name]
		if !ok {
			return nil, fmt.Errorf("unknown collector %q (known: %s)", name, strings.Join(Names(), ", "))
		}
		e.collectors = append(e.collectors, &managed{
			name:     name,
			c:        f.build(cfg.Options),
			settings: s,
			logger:   log.With(logger, "collector", name),
			state:    &runState{},
		})
	}
	sort.Slice(e.collectors, func(i, j int) bool { return e.collectors[i].name < e.collectors[j].name })
	return e, nil
}

var (
	upDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "up"),
		"1 when the database answered this scrape's ping (a scrape served wholly from cache shares a successful ping up to 1s old), else 0.", nil, nil)
	successDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "collector", "success"),
		"1 when the collector's data in this scrape is from a successful run.", []string{"collector"}, nil)
	durationDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "collector", "duration_seconds"),
		"How long the collector's last database run took.", []string{"collector"}, nil)
	lastSuccessDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "collector", "last_success_timestamp_seconds"),
		"When the collector's data was last fetched successfully.", []string{"collector"}, nil)
)

// Collect runs one scrape (see Snapshot) and sends its metrics.
func (e *Exporter) Collect(ctx context.Context, ch chan<- prometheus.Metric) {
	e.Snapshot(ctx).Collect(ch)
}

// Snapshot runs one scrape: a reachability check (shared within the
// reachability window while every collector is served from cache), then
// every collector concurrently, each served from cache while fresh. ctx
// bounds the scrape; queries still running when it ends are cancelled on
// the server.
func (e *Exporter) Snapshot(ctx context.Context) *Snapshot {
	needRun := false
	for _, m := range e.collectors {
		if _, ok := m.fresh(); !ok {
			needRun = true
			break
		}
	}
	var err error
	if needRun || !e.recentlyReachable() {
		start := time.Now()
		_, err = e.pinger.do(ctx, func(ctx context.Context) (struct{}, error) {
			return retryIfLost(ctx, e.db, func() (struct{}, error) { return struct{}{}, e.db.Ping(ctx) })
		})
		e.notePing(start, err)
		// A scraper that went away before the ping answered says nothing
		// about the database: log only what this scrape learned.
		if !errors.Is(ctx.Err(), context.Canceled) {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("no answer within the scrape's deadline: %w", err)
			}
			e.logPing(err)
		}
	}
	s := &Snapshot{up: err == nil, parts: make([]part, len(e.collectors))}
	var runs []int
	for i, m := range e.collectors {
		if !s.up {
			s.parts[i] = part{m: m, state: m.current()}
			continue
		}
		if st := m.freshState(); st != nil {
			s.parts[i] = part{m: m, metrics: st.cached, ok: true, state: st}
			continue
		}
		if ctx.Err() != nil {
			// The scraper has gone or run out of time: no run for it.
			s.parts[i] = part{m: m, state: m.current()}
			continue
		}
		runs = append(runs, i)
	}
	// The longest runs start first, so that the scrape takes about as long
	// as its slowest query rather than that plus whatever queued before it
	// for a connection. Each run goes as far as asking for its connection
	// (the pool serves them in turn) before the next one starts.
	sort.SliceStable(runs, func(a, b int) bool {
		return e.collectors[runs[a]].expectedCost() > e.collectors[runs[b]].expectedCost()
	})
	var wg sync.WaitGroup
	for _, i := range runs {
		m := e.collectors[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			metrics, err := m.get(ctx, e.db)
			if err != nil && IsConnectionLost(err) {
				e.forgetPing()
			}
			s.parts[i] = part{m: m, metrics: metrics, ok: err == nil, state: m.current()}
		}()
		runtime.Gosched()
	}
	wg.Wait()
	return s
}

// expectedCost ranks collectors by how long a run will take: the last
// run's duration, else (before any run) its built-in minimum interval,
// which is long for the expensive collectors.
func (m *managed) expectedCost() time.Duration {
	st := m.current()
	if st.hasRun {
		return st.lastRunTook
	}
	return factories[m.name].intervalDefault
}

// Snapshot is what one scrape reports: campaign_up, and each collector's
// metrics and outcome. It can be written any number of times, and
// compared with another to tell whether their output would be the same.
type Snapshot struct {
	up    bool
	parts []part
}

type part struct {
	m       *managed
	metrics []prometheus.Metric
	ok      bool
	state   *runState // the collector's runs as of this scrape
}

var _ prometheus.Collector = (*Snapshot)(nil)

// Describe sends nothing: the metrics depend on what the database returns,
// so the collector is unchecked.
func (*Snapshot) Describe(chan<- *prometheus.Desc) {}

// Collect sends the snapshot's metrics.
func (s *Snapshot) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, boolValue(s.up))
	for _, p := range s.parts {
		for _, metric := range p.metrics {
			ch <- metric
		}
		name, st := p.m.name, p.state
		ch <- prometheus.MustNewConstMetric(successDesc, prometheus.GaugeValue, boolValue(p.ok), name)
		if st.hasRun {
			ch <- prometheus.MustNewConstMetric(durationDesc, prometheus.GaugeValue, st.lastRunTook.Seconds(), name)
		}
		if !st.lastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, float64(st.lastSuccess.UnixNano())/1e9, name)
		}
	}
}

// Same tells whether o would write exactly what s writes: the same
// reachability, and for every collector the same outcome from the same
// run. Runs are never changed once recorded, so this compares identities.
func (s *Snapshot) Same(o *Snapshot) bool {
	if s == nil || o == nil || s.up != o.up || len(s.parts) != len(o.parts) {
		return false
	}
	for i, p := range s.parts {
		q := o.parts[i]
		if p.m != q.m || p.ok != q.ok || p.state != q.state || len(p.metrics) != len(q.metrics) ||
			(len(p.metrics) > 0 && &p.metrics[0] != &q.metrics[0]) {
			return false
		}
	}
	return true
}

// Scraper binds an Exporter to one scrape's context, as a
// prometheus.Collector for a per-request registry.
func (e *Exporter) Scraper(ctx context.Context) prometheus.Collector { return scraper{e, ctx} }

type scraper struct {
	e   *Exporter
	ctx context.Context
}

// Describe sends nothing: the metrics depend on what the database returns,
// so the collector is unchecked.
func (scraper) Describe(chan<- *prometheus.Desc) {}

func (s scraper) Collect(ch chan<- prometheus.Metric) { s.e.Collect(s.ctx, ch) }

// managed is one collector with its cache, in-flight run and log state.
type managed struct {
	name     string
	c        Collector
	settings Settings
	logger   log.Logger
	flight   flight[[]prometheus.Metric]

	mu      sync.Mutex
	state   *runState
	lastErr string // the last error logged, to log repeats at debug
}

// runState is what a collector's runs so far left to report. Each run
// replaces it with a new one and never changes it, so a snapshot can hold
// it and tell a later run by its address.
type runState struct {
	cached      []prometheus.Metric // from the last successful run
	cachedAt    time.Time           // when that run started; zero: no cache
	lastSuccess time.Time
	lastRunTook time.Duration
	hasRun      bool
}

func (m *managed) current() *runState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// get returns the collector's metrics for this scrape, or why it has none:
// from cache while fresh, else from a run it starts or one already in
// flight for another scrape.
func (m *managed) get(ctx context.Context, db Querier) ([]prometheus.Metric, error) {
	if metrics, ok := m.fresh(); ok {
		return metrics, nil
	}
	return m.flight.do(ctx, func(ctx context.Context) ([]prometheus.Metric, error) {
		// A run that finished just before this one started may have
		// refreshed the cache.
		if metrics, ok := m.fresh(); ok {
			return metrics, nil
		}
		return m.execute(ctx, db)
	})
}

func (m *managed) fresh() ([]prometheus.Metric, bool) {
	if st := m.freshState(); st != nil {
		return st.cached, true
	}
	return nil, false
}

// freshState is the collector's state while its cache is fresh, else nil.
func (m *managed) freshState() *runState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.state
	if st.cachedAt.IsZero() || m.settings.MinInterval <= 0 || time.Since(st.cachedAt) >= m.settings.MinInterval {
		return nil
	}
	return st
}

// execute runs the collector once under ctx, bounded by its timeout, and
// records the outcome. Failures are not cached: the next scrape retries.
func (m *managed) execute(ctx context.Context, db Querier) ([]prometheus.Metric, error) {
	if m.settings.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.settings.Timeout)
		defer cancel()
	}
	start := time.Now()
	metrics, err := retryIfLost(ctx, db, func() ([]prometheus.Metric, error) { return collect(ctx, m.c, db) })
	took := time.Since(start)
	if err == nil {
		err = checkDuplicates(metrics)
	}
	if err != nil {
		metrics = nil
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %v", ctxErr, err)
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	st := *m.state
	st.hasRun = true
	st.lastRunTook = took
	if err == nil {
		st.cached, st.cachedAt, st.lastSuccess = metrics, start, time.Now()
	}
	m.state = &st
	m.logResult(err)
	return metrics, err
}

// collect gathers what one Update sends.
func collect(ctx context.Context, c Collector, db Querier) ([]prometheus.Metric, error) {
	ch := make(chan prometheus.Metric, 64)
	var metrics []prometheus.Metric
	done := make(chan struct{})
	go func() {
		for metric := range ch {
			metrics = append(metrics, metric)
		}
		close(done)
	}()
	err := c.Update(ctx, db, ch)
	close(ch)
	<-done
	return metrics, err
}

// logResult logs a failure once when it starts or changes, and at debug
// while it repeats, so a lasting problem does not flood the log: its
// metric carries the signal. Called with m.mu held.
func (m *managed) logResult(err error) {
	if err == nil {
		if m.lastErr != "" {
			level.Info(m.logger).Log("msg", "collector recovered")
			m.lastErr = ""
		}
		return
	}
	msg := err.Error()
	switch {
	case errors.Is(err, context.Canceled):
		// Every scrape waiting for the run went away: that says nothing
		// about the collector.
		level.Debug(m.logger).Log("msg", "collector run abandoned by its scrapes", "err", err)
		return
	case msg == m.lastErr:
		level.Debug(m.logger).Log("msg", "collector failed", "err", err)
	case IsMissingObject(err):
		level.Warn(m.logger).Log("msg", "collector disabled by a missing database object; install it from schema/ or disable the collector", "err", err)
	default:
		level.Error(m.logger).Log("msg", "collector failed", "err", err)
	}
	m.lastErr = msg
}

// IsMissingObject tells whether err is PostgreSQL reporting that a function,
// table, column or schema the query needs does not exist.
func IsMissingObject(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "42883", "42P01", "42703", "3F000": // undefined function, table, column, schema
		return true
	}
	return false
}

// retryIfLost runs fn, and once more if it failed because a pooled
// connection had died (server restart, backends terminated, network cut).
// Its siblings likely died too, so the pool is reset first (connections in
// use close when released) and the retry connects afresh. Every query only
// reads, so running one twice is safe.
func retryIfLost[T any](ctx context.Context, db Querier, fn func() (T, error)) (T, error) {
	v, err := fn()
	if err == nil || ctx.Err() != nil || !IsConnectionLost(err) {
		return v, err
	}
	if p, ok := db.(interface{ Reset() }); ok {
		p.Reset()
	}
	return fn()
}

// IsConnectionLost tells whether err means the connection, not the query,
// failed: the server ended the session or the network dropped it.
func IsConnectionLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// admin_shutdown (pg_terminate_backend, fast shutdown), crash_shutdown
		return pgErr.Code == "57P01" || pgErr.Code == "57P02"
	}
	var netErr net.Error
	return pgconn.SafeToRetry(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &netErr)
}

// checkDuplicates rejects a run that would emit the same series twice (a
// check function returning one check name on two rows, say): the registry
// would otherwise fail the whole scrape.
func checkDuplicates(metrics []prometheus.Metric) error {
	seen := make(map[string]struct{}, len(metrics))
	var pb dto.Metric
	for _, metric := range metrics {
		pb.Reset()
		if err := metric.Write(&pb); err != nil {
			return err
		}
		var key strings.Builder
		key.WriteString(metric.Desc().String())
		for _, lp := range pb.GetLabel() {
			key.WriteString("\xff" + lp.GetName() + "=" + lp.GetValue())
		}
		if _, dup := seen[key.String()]; dup {
			return fmt.Errorf("duplicate series %s: the query returned the same row key twice", key.String())
		}
		seen[key.String()] = struct{}{}
	}
	return nil
}

// flight shares one in-flight call among concurrent callers, so that
// however many scrapes arrive at once, the database sees one run.
type flight[T any] struct {
	mu   sync.Mutex
	call *flightCall[T]
}

type flightCall[T any] struct {
	done    chan struct{}
	cancel  context.CancelFunc
	waiters int
	val     T
	err     error
}

// do runs fn unless a call is already in flight, and waits for the result
// or for ctx to end. The call outlives an impatient caller while others
// still wait for it, and is cancelled when the last one gives up: then do
// waits for fn to return, so no query is left running after the scrape
// that gave up has returned.
func (f *flight[T]) do(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	f.mu.Lock()
	c := f.call
	if c == nil {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &flightCall[T]{done: make(chan struct{}), cancel: cancel}
		f.call = c
		go func() {
			c.val, c.err = fn(runCtx)
			cancel()
			f.mu.Lock()
			if f.call == c {
				f.call = nil
			}
			f.mu.Unlock()
			close(c.done)
		}()
	}
	c.waiters++
	f.mu.Unlock()

	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
	}
	f.mu.Lock()
	c.waiters--
	last := c.waiters == 0
	if last {
		c.cancel()
		if f.call == c {
			f.call = nil // later callers start afresh, not on a cancelled run
		}
	}
	f.mu.Unlock()
	if last {
		<-c.done
	}
	var zero T
	return zero, ctx.Err()
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
