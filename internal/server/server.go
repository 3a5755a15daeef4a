// Package server holds the exporter's HTTP handlers: /metrics for the
// single database, /probe for configured targets, and the scrape deadline
// both share.
package server

import (
	"context"
	"fmt"
	stdlog "log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnlyMethod(w, r) {
			return
		}
		serve(w, r, exp, base, t, m)
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

func serve(w http.ResponseWriter, r *http.Request, exp *collector.Exporter, base prometheus.Gatherer, t Timeouts, m *Metrics) {
	d, err := t.Deadline(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	defer cancel()

	var g prometheus.Gatherers
	if base != nil {
		g = append(g, base)
	}
	if exp != nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(exp.Scraper(ctx))
		g = append(g, reg)
	}
	// promhttp reports each failed write, one per metric family; keep the
	// first and judge it once the request is over.
	var first firstError
	promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:          &first,
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}).ServeHTTP(w, r)
	switch {
	case first.msg == "":
	case r.Context().Err() != nil:
		m.aborted.Inc()
	default:
		m.writeErrors.Inc()
		_ = m.errLog.Log("msg", "serving metrics", "err", first.msg)
	}
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
