package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// BenchmarkCachedScrape is the handler's own cost of a fully cached scrape
// (every collector cached, base metrics as main registers them), without
// the network: go test -bench CachedScrape -cpuprofile to see where it goes.
func BenchmarkCachedScrape(b *testing.B) {
	cfg := collector.DefaultConfig()
	for n, s := range cfg.Collectors {
		s.MinInterval = time.Hour
		cfg.Collectors[n] = s
	}
	wired := newWiring(b, time.Second, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := wired.handler(b, cfg, 30*time.Second)
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
