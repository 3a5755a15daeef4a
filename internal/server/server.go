// Package server holds the exporter's HTTP handlers: /metrics for the
// single database, /probe for configured targets, and the scrape deadline
// both share.
package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
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

// ScrapeHandler serves one exporter's metrics, with base's (the process,
// Go and build-info collectors) when base is not nil.
func ScrapeHandler(exp *collector.Exporter, base prometheus.Gatherer, t Timeouts, logger log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serve(w, r, exp, base, t, logger)
	})
}

func serve(w http.ResponseWriter, r *http.Request, exp *collector.Exporter, base prometheus.Gatherer, t Timeouts, logger log.Logger) {
	d, err := t.Deadline(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	defer cancel()

	reg := prometheus.NewRegistry()
	reg.MustRegister(exp.Scraper(ctx))
	var g prometheus.Gatherer = reg
	if base != nil {
		g = prometheus.Gatherers{base, reg}
	}
	promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      errorLogger{logger},
		ErrorHandling: promhttp.ContinueOnError,
	}).ServeHTTP(w, r)
}

type errorLogger struct{ logger log.Logger }

func (l errorLogger) Println(v ...any) {
	level.Error(l.logger).Log("msg", "serving metrics", "err", fmt.Sprint(v...))
}
