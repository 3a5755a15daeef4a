package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// BenchmarkCachedScrape is the handler's own cost of a fully cached scrape
// (every collector cached, base metrics as main registers them), without
// the network: go test -bench CachedScrape -cpuprofile to see where it goes.
func BenchmarkCachedScrape(b *testing.B) {
	db := pgtest.New(b)
	db.ApplyFile(b, "testdata/scenario.sql")
	pool, err := collector.NewPool(db.DSN, collector.DefaultPoolOptions)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	cfg := collector.DefaultConfig()
	for n, s := range cfg.Collectors {
		s.MinInterval = time.Hour
		cfg.Collectors[n] = s
	}
	exp, err := collector.New(pool, cfg, log.NewNopLogger())
	if err != nil {
		b.Fatal(err)
	}
	base, runtimeReg := prometheus.NewRegistry(), prometheus.NewRegistry()
	runtimeReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	own := prometheus.Gatherers{NewSampledGatherer(base, time.Second), NewSampledGatherer(runtimeReg, time.Second)}
	h := ScrapeHandler(exp, own, Timeouts{Max: 30 * time.Second}, NewMetrics(base, log.NewNopLogger()))
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d", w.Code)
	}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
	}
}
