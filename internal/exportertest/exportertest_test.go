package exportertest

import (
	"bytes"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// An exposition written by client_golang parses back to one series per
// line it wrote, keyed as the line is written, whatever the type.
func TestParseKeysSeriesAsExposed(t *testing.T) {
	reg := prometheus.NewRegistry()
	success := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "campaign_collector_success", Help: "h"}, []string{"collector"})
	success.WithLabelValues("health").Set(1)
	success.WithLabelValues("orders").Set(0)
	status := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "campaign_health_check_status", Help: "h"}, []string{"check", "status"})
	status.WithLabelValues("0 筆 \"quoted\" \\ back\nslash", "PASS").Set(1)
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "campaign_up", Help: "h"})
	up.Set(1)
	scrapes := prometheus.NewCounter(prometheus.CounterOpts{Name: "campaign_scrapes_total", Help: "h"})
	scrapes.Add(3)
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "campaign_seconds", Help: "h", Buckets: []float64{0.5, 1}}, []string{"target"})
	hist.WithLabelValues("a").Observe(0.7)
	summary := prometheus.NewSummary(prometheus.SummaryOpts{Name: "campaign_summary_seconds", Help: "h", Objectives: map[float64]float64{0.5: 0.05}})
	summary.Observe(2)
	reg.MustRegister(success, status, up, scrapes, hist, summary)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	enc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}

	m := ParseText(t, text.String())
	series := m.Series()
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(text.String()), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		lines++
		i := strings.LastIndexByte(line, ' ')
		want, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := series[line[:i]]; !ok || got != want {
			t.Errorf("%s: Series has %v (present: %v), want %v", line[:i], got, ok, want)
		}
	}
	if len(series) != lines || lines < 10 {
		t.Errorf("Series has %d series, the exposition %d lines:\n%v\n%s", len(series), lines, series, text.String())
	}

	if v, ok := m.Value("campaign_collector_success", map[string]string{"collector": "health"}); !ok || v != 1 {
		t.Errorf("Value(success, health) = %v, %v", v, ok)
	}
	if v, ok := m.Value("campaign_scrapes_total", nil); !ok || v != 3 {
		t.Errorf("Value(counter) = %v, %v", v, ok)
	}
	if _, ok := m.Value("campaign_health_check_status", map[string]string{"status": "PASS"}); ok {
		t.Error("Value matched a subset of the series' labels")
	}
	if _, ok := m.Value("campaign_nosuch", nil); ok {
		t.Error("Value found an absent family")
	}
	if got := m.ByLabel("campaign_collector_success", "collector"); len(got) != 2 || got["health"] != 1 || got["orders"] != 0 {
		t.Errorf("ByLabel = %v", got)
	}
	if got := strings.Join(Failing(series, []string{"health", "orders", "absent"}), ","); got != "orders,absent" {
		t.Errorf("Failing = %s, want orders,absent", got)
	}
	if _, err := Parse(strings.NewReader("campaign_up one\n")); err == nil {
		t.Error("Parse accepted a value that is no number")
	}
}

// The binary starts on a free port, answers scrapes, keeps its log and
// stops; a bad flag ends it with exit code 1, and Launch says so at once
// instead of waiting for the port.
func TestStartScrapeRun(t *testing.T) {
	closed := "postgres://u@" + FreeAddr(t) + "/d?sslmode=disable&connect_timeout=1"
	p := Start(t, []string{"DATA_SOURCE_NAME=" + closed}, "--log.level=debug")
	if up, ok := p.Scrape(t, "/metrics", nil).Value("campaign_up", nil); !ok || up != 0 {
		t.Errorf("campaign_up %v (present: %v) with the database's port closed, want 0", up, ok)
	}
	if code, _, body := Do(t, nil, http.MethodGet, p.URL+"/nosuch", nil); code != http.StatusNotFound {
		t.Errorf("GET /nosuch: %d %s", code, body)
	}
	p.Stop()
	if p.Log() == "" {
		t.Error("no log kept from a debug-level run")
	}
	select {
	case <-p.exited:
	default:
		t.Error("the process still runs after Stop")
	}

	r := Run(t, []string{"DATA_SOURCE_NAME=" + closed}, "--web.listen-address="+FreeAddr(t), "--nosuch-flag")
	if r.Code != 1 || !strings.Contains(r.Stderr, "nosuch-flag") {
		t.Errorf("bad flag: exit %d, stderr %q", r.Code, r.Stderr)
	}
	addr := FreeAddr(t)
	if p, err := Launch(Command(Build(t), addr, []string{"DATA_SOURCE_NAME=" + closed}, "--nosuch-flag"), addr); err == nil {
		p.Stop()
		t.Error("Launch of a process that exits at once succeeded")
	} else if !strings.Contains(err.Error(), "exited before listening") || !strings.Contains(err.Error(), "nosuch-flag") {
		t.Errorf("Launch of a process that exits at once: %v", err)
	}
}
