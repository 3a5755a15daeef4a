package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// failingWriter is a client that went away: every write fails.
type failingWriter struct{ h http.Header }

func (f *failingWriter) Header() http.Header       { return f.h }
func (f *failingWriter) WriteHeader(int)           {}
func (f *failingWriter) Write([]byte) (int, error) { return 0, errors.New("connection reset") }

// A scrape that would write what the last one wrote gets its bytes again;
// one after anything changed (a collector's new run, the exporter's own
// counters) gets the change at once.
func TestCachedResponseFollowsChanges(t *testing.T) {
	wired := newWiring(t, time.Hour, collectors.NewGoCollector())
	cachedOnly := wired.handler(t, collector.Config{
		Collectors: map[string]collector.Settings{"health": {MinInterval: time.Hour}, "holiday_integrity": {MinInterval: 0}},
		Options:    collector.DefaultOptions(),
	}, 10*time.Second)

	get := func(h http.Handler) string {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		if cl := w.Header().Get("Content-Length"); cl == "" {
			t.Errorf("no Content-Length")
		}
		return w.Body.String()
	}

	// holiday_integrity runs on every scrape: its duration changes, and
	// so does the body.
	a, b := get(cachedOnly), get(cachedOnly)
	if a == b {
		t.Errorf("two scrapes each running a collector wrote the same bytes: its new run is not shown")
	}

	// Only cached collectors: the same bytes, the same backing array.
	h := wired.handler(t, collector.Config{
		Collectors: map[string]collector.Settings{"health": {MinInterval: time.Hour}},
		Options:    collector.DefaultOptions(),
	}, 10*time.Second)
	first, second := get(h), get(h)
	if first != second {
		t.Errorf("fully cached scrapes differ:\n%s\n---\n%s", first, second)
	}
	if !strings.Contains(first, "campaign_up 1\n") || !strings.Contains(first, `campaign_collector_success{collector="health"} 1`) {
		t.Errorf("fully cached scrape lacks up or health success:\n%s", first)
	}

	// A scrape whose client went away is counted, and the next scrape
	// shows the count though nothing else changed.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.ServeHTTP(&failingWriter{h: http.Header{}}, httptest.NewRequest(http.MethodGet, "/metrics", nil).WithContext(ctx))
	third := get(h)
	if !strings.Contains(third, "campaign_exporter_scrapes_aborted_total 1\n") {
		t.Errorf("the aborted scrape is not counted in the next scrape:\n%s", third)
	}

	// Another negotiation gets its own encoding, not the other's bytes.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	h.ServeHTTP(w, r)
	if w.Header().Get("Content-Encoding") != "gzip" || bytes.Equal(w.Body.Bytes(), []byte(third)) {
		t.Errorf("gzip asked: Content-Encoding %q", w.Header().Get("Content-Encoding"))
	}
	if get(h) != third {
		t.Errorf("plain text after gzip differs")
	}
}
