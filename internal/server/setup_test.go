package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
)

// wiring is how main serves /metrics, over a fresh database with the
// scenario data: a pool, the exporter's own metrics and the HTTP counters.
type wiring struct {
	pool    *collector.Pool
	own     prometheus.Gatherers
	metrics *Metrics
}

// newWiring samples the base registry and one holding runtime every
// interval, as main samples its own metrics.
func newWiring(tb testing.TB, every time.Duration, runtime ...prometheus.Collector) *wiring {
	tb.Helper()
	db := pgtest.New(tb)
	db.ApplyFile(tb, "testdata/scenario.sql")
	pool, err := collector.NewPool(db.DSN, collector.DefaultPoolOptions)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	base, runtimeReg := prometheus.NewRegistry(), prometheus.NewRegistry()
	runtimeReg.MustRegister(runtime...)
	return &wiring{
		pool:    pool,
		own:     prometheus.Gatherers{NewSampledGatherer(base, every), NewSampledGatherer(runtimeReg, every)},
		metrics: NewMetrics(base, log.NewNopLogger()),
	}
}

// handler is ScrapeHandler for an exporter of cfg on the wiring's pool.
func (w *wiring) handler(tb testing.TB, cfg collector.Config, maxTimeout time.Duration) http.Handler {
	tb.Helper()
	exp, err := collector.New(w.pool, cfg, log.NewNopLogger())
	if err != nil {
		tb.Fatal(err)
	}
	return ScrapeHandler(exp, w.own, Timeouts{Max: maxTimeout}, w.metrics)
}
