// Package server holds the exporter's HTTP handlers: /metrics for the
// single database, /probe for configured targets, and the scrape deadline
// both share.
package server

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	stdlog "log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// Timeouts bound a scrape.
type Timeouts struct {
	// Max is the longest a scrape may take, whatever Prometheus allows.
	Max time.Duration
	// Offset is kept back from Prometheus's scrape timeout, so the
	// response arrives before Prometheus gives up.
	Offset time.Duration
}

const timeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// minTimeoutHeader is the shortest scrape timeout accepted from a client:
// below it no database answers, and a scrape cut short by its own caller
// says nothing about the database.
const minTimeoutHeader = 0.01

// Deadline is how long a scrape of r may take: the smaller of t.Max and
// Prometheus's scrape timeout header less t.Offset.
func (t Timeouts) Deadline(r *http.Request) (time.Duration, error) {
	d := t.Max
	h := r.Header.Get(timeoutHeader)
	if h == "" {
		return d, nil
	}
	secs, err := strconv.ParseFloat(h, 64)
	// !(secs > 0) also catches NaN; a huge value would overflow Duration.
	if err != nil || !(secs > 0) || secs > 1e6 {
		return 0, fmt.Errorf("invalid %s header", timeoutHeader)
	}
	if secs < minTimeoutHeader {
		return 0, fmt.Errorf("%s header below the minimum of %gs", timeoutHeader, minTimeoutHeader)
	}
	fromHeader := time.Duration(secs*float64(time.Second)) - t.Offset
	if fromHeader <= 0 {
		// A timeout shorter than the offset: use half of it rather than none.
		fromHeader = time.Duration(secs * float64(time.Second) / 2)
	}
	if fromHeader < d {
		d = fromHeader
	}
	return d, nil
}

// Metrics count what the HTTP side would otherwise log on every request,
// so a misbehaving or hostile client cannot flood the log.
type Metrics struct {
	aborted     prometheus.Counter
	writeErrors prometheus.Counter
	suppressed  prometheus.Counter
	errLog      *RateLimitedLogger
	logger      log.Logger
}

// NewMetrics registers the HTTP counters on reg.
func NewMetrics(reg prometheus.Registerer, logger log.Logger) *Metrics {
	m := &Metrics{
		aborted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "campaign_exporter_scrapes_aborted_total",
			Help: "Scrapes whose client went away before the response was written.",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "campaign_exporter_scrape_write_errors_total",
			Help: "Scrapes whose response could not be encoded or written, for another reason than the client leaving.",
		}),
		suppressed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "campaign_exporter_log_messages_suppressed_total",
			Help: "Log lines about repeated HTTP errors that were counted here instead of logged.",
		}),
		logger: logger,
	}
	m.errLog = NewRateLimitedLogger(level.Error(logger), time.Minute, m.suppressed)
	reg.MustRegister(m.aborted, m.writeErrors, m.suppressed)
	return m
}

// ServerErrorLog is for http.Server.ErrorLog: Go's own lines (accept
// errors, TLS handshakes of scanners) go to the exporter's log, at most one
// a minute.
func (m *Metrics) ServerErrorLog() *stdlog.Logger {
	limited := NewRateLimitedLogger(level.Error(m.logger), time.Minute, m.suppressed)
	return stdlog.New(writerFunc(func(p []byte) (int, error) {
		_ = limited.Log("msg", "http server", "err", strings.TrimSpace(string(p)))
		return len(p), nil
	}), "", 0)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// ScrapeHandler serves one exporter's metrics (none when exp is nil), with
// base's (the process, Go and build-info collectors) when base is not nil.
func ScrapeHandler(exp *collector.Exporter, base prometheus.Gatherer, t Timeouts, m *Metrics) http.Handler {
	cache := &bodyCache{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnlyMethod(w, r) {
			return
		}
		serve(w, r, exp, base, t, m, cache)
	})
}

// readOnlyMethod answers 405 to anything but GET and HEAD: a scrape
// reads, and a POST should not cost the database a run.
func readOnlyMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
	return false
}

// serve answers one scrape. The exporter's snapshot and base's metrics are
// taken afresh every time; when they are what the last scrape with the same
// Accept and Accept-Encoding headers wrote, that response's encoded (and
// compressed) bytes are written again instead of encoding them anew.
func serve(w http.ResponseWriter, r *http.Request, exp *collector.Exporter, base prometheus.Gatherer, t Timeouts, m *Metrics, cache *bodyCache) {
	d, err := t.Deadline(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	defer cancel()

	var snap *collector.Snapshot
	if exp != nil {
		snap = exp.Snapshot(ctx)
	}
	baseParts, baseSum, baseErr := cache.gatherBase(base)
	key := r.Header.Get("Accept") + "\x00" + r.Header.Get("Accept-Encoding")
	var first firstError
	resp := cache.get(key, snap, baseSum)
	if resp == nil && baseErr == nil {
		// One encoding at a time: scrapes that find the same change at once
		// (every second, when the own metrics are gathered again) wait for
		// the first one's bytes rather than each encoding them.
		cache.buildMu.Lock()
		if resp = cache.get(key, snap, baseSum); resp == nil {
			resp = encode(r, baseParts, snap, baseSum, &first)
			if first.msg == "" && resp.status == http.StatusOK {
				cache.put(key, resp)
			}
		}
		cache.buildMu.Unlock()
	} else if resp == nil {
		resp = encode(r, baseParts, snap, baseSum, &first)
	}
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v[:len(v):len(v)] // shared with other requests: an append copies
	}
	w.WriteHeader(resp.status)
	if _, err := w.Write(resp.body); err != nil && first.msg == "" {
		first.msg = err.Error()
	}
	switch {
	case first.msg == "":
	case r.Context().Err() != nil:
		m.aborted.Inc()
		ownChanged()
	default:
		m.writeErrors.Inc()
		ownChanged()
		_ = m.errLog.Log("msg", "serving metrics", "err", first.msg)
	}
}

// encode writes what promhttp would answer r with for base and snap.
func encode(r *http.Request, base []gathered, snap *collector.Snapshot, baseSum uint64, first *firstError) *encoded {
	var g prometheus.Gatherers
	for _, p := range base {
		g = append(g, p)
	}
	if snap != nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(snap)
		g = append(g, reg)
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	// promhttp reports each failed encoding, one per metric family; keep
	// the first and judge it once the request is over.
	promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:          first,
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}).ServeHTTP(rec, r)
	e := &encoded{snap: snap, baseSum: baseSum, header: rec.header, status: rec.status, body: rec.body.Bytes()}
	e.header.Set("Content-Length", strconv.Itoa(len(e.body)))
	return e
}

// bodyCache keeps, per Accept and Accept-Encoding, the last response
// written and what it was made from.
type bodyCache struct {
	buildMu sync.Mutex // held while encoding
	mu      sync.Mutex
	seed    maphash.Seed
	seeded  bool
	buf     []byte // for sum
	entries map[string]*encoded
}

// maxEncodings bounds the responses kept: Prometheus sends the same
// headers every time, and a client varying them only costs itself the
// encoding.
const maxEncodings = 8

// encoded is one response ready to write, and what it was made from.
type encoded struct {
	snap    *collector.Snapshot
	baseSum uint64
	header  http.Header
	status  int
	body    []byte
}

func (c *bodyCache) get(key string, snap *collector.Snapshot, baseSum uint64) *encoded {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || e.baseSum != baseSum || (snap != nil || e.snap != nil) && !snap.Same(e.snap) {
		return nil
	}
	return e
}

func (c *bodyCache) put(key string, e *encoded) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxEncodings && c.entries[key] == nil {
		c.entries = map[string]*encoded{}
	}
	c.entries[key] = e
}

// gatherBase gathers base (each of its parts when it is a
// prometheus.Gatherers) and sums what it gathered: equal sums, equal
// output. A SampledGatherer's sample counts by its version, the others'
// families by their contents.
func (c *bodyCache) gatherBase(base prometheus.Gatherer) ([]gathered, uint64, error) {
	if base == nil {
		return nil, 0, nil
	}
	parts := prometheus.Gatherers{base}
	if gs, ok := base.(prometheus.Gatherers); ok {
		parts = gs
	}
	out := make([]gathered, 0, len(parts))
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.seeded {
		c.seed, c.seeded = maphash.MakeSeed(), true
	}
	var h maphash.Hash
	h.SetSeed(c.seed)
	var firstErr error
	for i, p := range parts {
		var g gathered
		if sg, ok := p.(*SampledGatherer); ok {
			var version uint64
			g.mfs, version, g.err = sg.sample()
			maphash.WriteComparable(&h, [2]uint64{uint64(i), version})
		} else {
			g.mfs, g.err = p.Gather()
			maphash.WriteComparable(&h, uint64(i))
			for _, mf := range g.mfs {
				var err error
				c.buf, err = deterministic.MarshalAppend(c.buf[:0], mf)
				if err != nil && g.err == nil {
					g.err = err
				}
				_, _ = h.Write(c.buf)
			}
		}
		if g.err != nil && firstErr == nil {
			firstErr = g.err
		}
		out = append(out, g)
	}
	return out, h.Sum64(), firstErr
}

var deterministic = proto.MarshalOptions{Deterministic: true}

// probeCaches are the body caches of the targets' exporters. A reload
// replaces exporters, so the map is emptied when it reaches maxProbeCaches
// rather than kept for exporters no longer served.
type probeCaches struct {
	mu sync.Mutex
	m  map[*collector.Exporter]*bodyCache
}

const maxProbeCaches = 64

func (p *probeCaches) of(exp *collector.Exporter) *bodyCache {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.m[exp]
	if c == nil {
		if p.m == nil || len(p.m) >= maxProbeCaches {
			p.m = map[*collector.Exporter]*bodyCache{}
		}
		c = &bodyCache{}
		p.m[exp] = c
	}
	return c
}

// gathered is metric families already gathered, as a Gatherer.
type gathered struct {
	mfs []*dto.MetricFamily
	err error
}

func (g gathered) Gather() ([]*dto.MetricFamily, error) { return g.mfs, g.err }

// recorder keeps a response to write it later, and again.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }

// SampledGatherer gathers g at most once per interval, or sooner when the
// exporter's own metrics changed (its HTTP counters, a config reload), and
// serves that gather's families in between. The Go and process collectors
// read the runtime and /proc at a cost several times that of writing a
// cached scrape, and a registry's Gather costs more than the rest of it:
// their values are then up to the interval old.
type SampledGatherer struct {
	g     prometheus.Gatherer
	every time.Duration

	mu      sync.Mutex
	at      time.Time
	seen    uint64 // ownChanges at the last gather
	mfs     []*dto.MetricFamily
	err     error
	version uint64 // counts the gathers
}

// ownChanges counts changes to the exporter's own metrics that a sample
// must not hide: the HTTP counters and config reloads.
var ownChanges atomic.Uint64

func ownChanged() { ownChanges.Add(1) }

// NewSampledGatherer samples g at most every interval.
func NewSampledGatherer(g prometheus.Gatherer, every time.Duration) *SampledGatherer {
	return &SampledGatherer{g: g, every: every}
}

// Gather returns the families of the latest sample, gathering anew when it
// is older than the interval. They are shared: callers must not change them.
func (s *SampledGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, _, err := s.sample()
	return mfs, err
}

// sample is Gather with the number of the gather it comes from.
func (s *SampledGatherer) sample() ([]*dto.MetricFamily, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seen := ownChanges.Load(); s.version == 0 || seen != s.seen || time.Since(s.at) >= s.every {
		s.at, s.seen = time.Now(), seen
		s.mfs, s.err = s.g.Gather()
		s.version++
	}
	return s.mfs, s.version, s.err
}

// firstError keeps the first message promhttp logs for one request.
type firstError struct{ msg string }

func (f *firstError) Println(v ...any) {
	if f.msg == "" {
		f.msg = fmt.Sprint(v...)
	}
}

// RateLimitedLogger logs at most one line per interval and counts the
// lines it drops, so a repeated failure cannot flood the log.
type RateLimitedLogger struct {
	next       log.Logger
	every      time.Duration
	suppressed prometheus.Counter

	mu   sync.Mutex
	last time.Time
}

// NewRateLimitedLogger wraps next, counting dropped lines in suppressed.
func NewRateLimitedLogger(next log.Logger, every time.Duration, suppressed prometheus.Counter) *RateLimitedLogger {
	return &RateLimitedLogger{next: next, every: every, suppressed: suppressed}
}

// Log logs kv unless a line was logged less than the interval ago.
func (l *RateLimitedLogger) Log(kv ...any) error {
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.mu.Unlock()
		l.suppressed.Inc()
		ownChanged()
		return nil
	}
	l.last = now
	l.mu.Unlock()
	return l.next.Log(kv...)
}

// OK answers 200 with text: /-/healthy and /-/ready, as the Prometheus
// ecosystem's servers have them. The exporter is ready once it serves: a
// database that is down is reported by campaign_up, not by readiness.
func OK(text string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnlyMethod(w, r) {
			return
		}
		fmt.Fprintln(w, text)
	})
}
