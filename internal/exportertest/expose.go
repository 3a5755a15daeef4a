package exportertest

import (
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is a parsed text exposition: its metric families by name.
type Metrics map[string]*dto.MetricFamily

// Parse reads a text exposition (version 0.0.4, as the exporter answers a
// client that asks for no other format).
func Parse(r io.Reader) (Metrics, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	return Metrics(families), err
}

// ParseText is Parse of body, failing tb if it is not a valid exposition.
func ParseText(tb testing.TB, body string) Metrics {
	tb.Helper()
	m, err := Parse(strings.NewReader(body))
	if err != nil {
		tb.Fatalf("%v in the exposition:\n%s", err, body)
	}
	return m
}

// Value is the value of the gauge, counter or untyped series name with
// exactly labels (nil: none), and whether there is one.
func (m Metrics) Value(name string, labels map[string]string) (float64, bool) {
	for _, s := range m[name].GetMetric() {
		if matches(s.GetLabel(), labels) {
			return sampleValue(s), true
		}
	}
	return 0, false
}

// ByLabel maps the value of label on each series of the gauge, counter or
// untyped family name to the series' value: ByLabel(
// "campaign_collector_success", "collector") is each collector's success.
func (m Metrics) ByLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range m[name].GetMetric() {
		for _, lp := range s.GetLabel() {
			if lp.GetName() == label {
				out[lp.GetValue()] = sampleValue(s)
			}
		}
	}
	return out
}

// Series flattens the families to one value per series, keyed as the line
// is exposed: `name{label="value",...}` with the labels in their order,
// histograms and summaries as their _bucket, _sum and _count (or quantile)
// lines.
func (m Metrics) Series() map[string]float64 {
	out := map[string]float64{}
	for name, f := range m {
		for _, s := range f.GetMetric() {
			labels := s.GetLabel()
			switch {
			case s.GetSummary() != nil:
				sum := s.GetSummary()
				for _, q := range sum.GetQuantile() {
					out[key(name, labels, "quantile", q.GetQuantile())] = q.GetValue()
				}
				out[key(name+"_sum", labels, "", 0)] = sum.GetSampleSum()
				out[key(name+"_count", labels, "", 0)] = float64(sum.GetSampleCount())
			case s.GetHistogram() != nil:
				h := s.GetHistogram()
				for _, b := range h.GetBucket() {
					out[key(name+"_bucket", labels, "le", b.GetUpperBound())] = float64(b.GetCumulativeCount()) + b.GetCumulativeCountFloat()
				}
				out[key(name+"_sum", labels, "", 0)] = h.GetSampleSum()
				out[key(name+"_count", labels, "", 0)] = float64(h.GetSampleCount()) + h.GetSampleCountFloat()
			default:
				out[key(name, labels, "", 0)] = sampleValue(s)
			}
		}
	}
	return out
}

// Failing lists the collectors of names whose campaign_collector_success
// in series (as Series returns) is not 1, absent included.
func Failing(series map[string]float64, names []string) []string {
	var out []string
	for _, n := range names {
		if series[`campaign_collector_success{collector="`+n+`"}`] != 1 {
			out = append(out, n)
		}
	}
	return out
}

func sampleValue(s *dto.Metric) float64 {
	switch {
	case s.GetGauge() != nil:
		return s.GetGauge().GetValue()
	case s.GetCounter() != nil:
		return s.GetCounter().GetValue()
	default:
		return s.GetUntyped().GetValue()
	}
}

func matches(pairs []*dto.LabelPair, want map[string]string) bool {
	if len(pairs) != len(want) {
		return false
	}
	for _, lp := range pairs {
		if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
			return false
		}
	}
	return true
}

var escape = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

// key is a series as the text format writes it, with extra (le or
// quantile) last when named.
func key(name string, labels []*dto.LabelPair, extra string, bound float64) string {
	if len(labels) == 0 && extra == "" {
		return name
	}
	var b strings.Builder
	b.WriteString(name + "{")
	for i, lp := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(lp.GetName() + `="` + escape.Replace(lp.GetValue()) + `"`)
	}
	if extra != "" {
		if len(labels) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(extra + `="` + formatFloat(bound) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

// formatFloat writes a bound as the text format does.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
