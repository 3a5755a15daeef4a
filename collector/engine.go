package collector

// The engine: one scrape pings the database, then runs every enabled
// collector concurrently (each from cache while fresh), and reports the
// outcome as a Snapshot, with per-collector success so that one failing
// check never spoils the scrape.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

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
		e.collectors = append(e.collectors, newManaged(name, f.build(cfg.Options), s, logger))
	}
	sort.Slice(e.collectors, func(i, j int) bool { return e.collectors[i].name < e.collectors[j].name })
	return e, nil
}

var (
	upDesc = newDesc("", "up",
		"1 when the database answered this scrape's ping (a scrape served wholly from cache shares a successful ping up to 1s old), else 0.")
	successDesc = newDesc("collector", "success",
		"1 when the collector's data in this scrape is from a successful run.", "collector")
	durationDesc = newDesc("collector", "duration_seconds",
		"How long the collector's last database run took.", "collector")
	lastSuccessDesc = newDesc("collector", "last_success_timestamp_seconds",
		"When the collector's data was last fetched successfully.", "collector")
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
// run's cost (its duration less the time it waited for a connection, or a
// cheap collector that queued behind the expensive ones would rank first
// the next time), else (before any run) its built-in minimum interval,
// which is long for the expensive collectors.
func (m *managed) expectedCost() time.Duration {
	st := m.current()
	if st.hasRun {
		return st.lastRunCost
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
