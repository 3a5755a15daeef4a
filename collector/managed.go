package collector

// One enabled collector as the engine runs it: its cache (minimum
// interval), its shared in-flight run, the state its runs leave to report
// (runState), and the logging of its failures.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

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

func newManaged(name string, c Collector, s Settings, logger log.Logger) *managed {
	return &managed{name: name, c: c, settings: s, logger: log.With(logger, "collector", name), state: &runState{}}
}

// runState is what a collector's runs so far left to report. Each run
// replaces it with a new one and never changes it, so a snapshot can hold
// it and tell a later run by its address.
type runState struct {
	cached      []prometheus.Metric // from the last successful run
	cachedAt    time.Time           // when that run started; zero: no cache
	lastSuccess time.Time
	lastRunTook time.Duration
	// lastRunCost is lastRunTook without the time its queries waited for
	// a connection: what the run itself costs, by which the engine orders
	// the runs of a scrape.
	lastRunCost time.Duration
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
	var waited atomic.Int64
	ctx = withConnWait(ctx, &waited)
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
	st.lastRunCost = took - time.Duration(waited.Load())
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
