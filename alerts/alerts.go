// Package alerts ships the Prometheus alerting rules and runbooks of
// campaign_exporter, and helpers for testing them and the dashboards: the
// metric catalogue (the exporter's end-to-end output) and the selectors of
// a PromQL expression.
package alerts

import (
	"bytes"
	_ "embed" // for the embedded rules and runbooks
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Rules is the shipped Prometheus rule file, campaign-alerts.yml.
//
//go:embed campaign-alerts.yml
var Rules []byte

// Runbooks is the runbook document the alerts' runbook_url annotations link to.
//
//go:embed runbooks.md
var Runbooks []byte

// AlertmanagerConfig is the example Alertmanager configuration,
// alertmanager.yml: routes by severity and the inhibitions the runbooks
// describe.
//
//go:embed alertmanager.yml
var AlertmanagerConfig []byte

// ShortenFor returns a copy of the rule file rulesYAML in which every rule's
// `for:` longer than max is set to max. All other bytes, comments and
// formatting included, are left as they are. It lets a test watch alerts fire
// without waiting for their production durations.
func ShortenFor(rulesYAML []byte, max time.Duration) ([]byte, error) {
	return ShortenForExcept(rulesYAML, max)
}

// ShortenForExcept is ShortenFor that leaves the `for:` of the alerts named
// in keep as they are.
func ShortenForExcept(rulesYAML []byte, max time.Duration, keep ...string) ([]byte, error) {
	if max <= 0 {
		return nil, fmt.Errorf("shorten for: max must be positive, got %s", max)
	}
	if max%time.Millisecond != 0 {
		return nil, fmt.Errorf("shorten for: max %s is not a whole number of milliseconds", max)
	}
	replacement := model.Duration(max).String()

	var doc yaml.Node
	if err := yaml.Unmarshal(rulesYAML, &doc); err != nil {
		return nil, fmt.Errorf("shorten for: %w", err)
	}
	forNodes, err := ruleForNodes(&doc, keep)
	if err != nil {
		return nil, fmt.Errorf("shorten for: %w", err)
	}

	lineStarts := lineOffsets(rulesYAML)
	type edit struct {
		start, end int
		text       string
	}
	var edits []edit
	for _, n := range forNodes {
		d, err := model.ParseDuration(n.Value)
		if err != nil {
			return nil, fmt.Errorf("shorten for: line %d: %w", n.Line, err)
		}
		if time.Duration(d) <= max {
			continue
		}
		start, end, err := scalarSpan(rulesYAML, lineStarts, n)
		if err != nil {
			return nil, fmt.Errorf("shorten for: line %d: %w", n.Line, err)
		}
		edits = append(edits, edit{start: start, end: end, text: replacement})
	}

	// Apply from the end so earlier offsets stay valid.
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out := bytes.Clone(rulesYAML)
	for _, e := range edits {
		out = append(out[:e.start:e.start], append([]byte(e.text), out[e.end:]...)...)
	}
	return out, nil
}

// ruleForNodes returns the value nodes of groups[].rules[].for, except
// those of the alerts named in keep.
func ruleForNodes(doc *yaml.Node, keep []string) ([]*yaml.Node, error) {
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // empty document
	}
	root := doc.Content[0]
	groups := mappingValue(root, "groups")
	if groups == nil {
		return nil, nil
	}
	if groups.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: groups is not a list", groups.Line)
	}
	var nodes []*yaml.Node
	for _, g := range groups.Content {
		rules := mappingValue(g, "rules")
		if rules == nil {
			continue
		}
		if rules.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("line %d: rules is not a list", rules.Line)
		}
		for _, r := range rules.Content {
			f := mappingValue(r, "for")
			if f == nil {
				continue
			}
			if a := mappingValue(r, "alert"); a != nil && slices.Contains(keep, a.Value) {
				continue
			}
			if f.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: for is not a scalar", f.Line)
			}
			nodes = append(nodes, f)
		}
	}
	return nodes, nil
}

// mappingValue returns the value of key in mapping node m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// lineOffsets returns the byte offset at which each line of b starts.
func lineOffsets(b []byte) []int {
	offsets := []int{0}
	for i, c := range b {
		if c == '\n' {
			offsets = append(offsets, i+1)
		}
	}
	return offsets
}

// scalarSpan returns the byte range of the value of scalar n in src,
// excluding any quotes, after checking that it holds exactly n.Value.
func scalarSpan(src []byte, lineStarts []int, n *yaml.Node) (int, int, error) {
	if n.Line < 1 || n.Line > len(lineStarts) {
		return 0, 0, errors.New("value position out of range")
	}
	// yaml.v3 counts columns in characters, from 1.
	off := lineStarts[n.Line-1]
	for col := 1; col < n.Column; col++ {
		if off >= len(src) || src[off] == '\n' {
			return 0, 0, errors.New("value position out of range")
		}
		_, size := utf8.DecodeRune(src[off:])
		off += size
	}
	switch n.Style {
	case 0:
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		off++ // the opening quote
	default:
		return 0, 0, fmt.Errorf("unsupported YAML style for duration %q", n.Value)
	}
	end := off + len(n.Value)
	if end > len(src) || string(src[off:end]) != n.Value {
		return 0, 0, fmt.Errorf("cannot locate duration %q in the source", n.Value)
	}
	return off, end, nil
}

// GoldenEnv overrides the path of the exporter's end-to-end output
// (testdata/e2e-output.txt), which the rule and dashboard tests read as the
// metric catalogue.
const GoldenEnv = "CAMPAIGN_GOLDEN"

// Catalogue is the metric catalogue the rules and dashboards are checked
// against: every series name the exporter emits (a histogram's or summary's
// _bucket, _sum and _count included), with the label names its samples
// carry, or nil where those are unknown.
type Catalogue map[string]map[string]bool

// PrometheusSeries are the series Prometheus adds to every scrape target:
// rules and dashboards may use them although the exporter does not emit
// them.
var PrometheusSeries = []string{"up", "scrape_duration_seconds"}

// OnlyWithPgCron are the metrics the exporter emits only where pg_cron's
// job tables exist, which the golden scenario has not; the end-to-end suite
// sees them, their panel and their alert on the pg_cron stand-in
// (testdata/pg_cron_standin.sql).
var OnlyWithPgCron = []string{
	"campaign_cron_job_last_run_success",
	"campaign_cron_job_last_run_timestamp_seconds",
	"campaign_cron_job_last_success_timestamp_seconds",
}

// LoadCatalogue reads the catalogue from the file GoldenEnv names, else
// from defaultPath, and adds PrometheusSeries and OnlyWithPgCron with
// unknown labels. It returns the path it read.
func LoadCatalogue(defaultPath string) (Catalogue, string, error) {
	path := os.Getenv(GoldenEnv)
	if path == "" {
		path = defaultPath
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, path, fmt.Errorf("reading the exporter's end-to-end output, the metric catalogue "+
			"(the root package's TestEndToEndGolden writes it; %s overrides the path): %w", GoldenEnv, err)
	}
	c, err := ParseCatalogue(b)
	if err != nil {
		return nil, path, fmt.Errorf("%s: %w", path, err)
	}
	for _, name := range slices.Concat(PrometheusSeries, OnlyWithPgCron) {
		if _, ok := c[name]; !ok {
			c[name] = nil
		}
	}
	return c, path, nil
}

var (
	// The golden output masks what changes from run to run: values, and
	// the build information's labels (see normalize in the root package's
	// tests).
	maskedValue  = regexp.MustCompile(`(?m) <volatile>$`)
	maskedLabels = regexp.MustCompile(`(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)\{<volatile>\}`)
)

// ParseCatalogue reads a Prometheus text exposition, in which the golden
// output's masked values and labels (<volatile>) are allowed.
func ParseCatalogue(exposition []byte) (Catalogue, error) {
	var unknownLabels []string
	for _, m := range maskedLabels.FindAllSubmatch(exposition, -1) {
		unknownLabels = append(unknownLabels, string(m[1]))
	}
	text := maskedLabels.ReplaceAll(maskedValue.ReplaceAll(exposition, []byte(" 0")), []byte("$1"))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return nil, err
	}
	c := Catalogue{}
	for name, mf := range families {
		var names []string
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			names = []string{name + "_bucket", name + "_sum", name + "_count"}
		case dto.MetricType_SUMMARY:
			names = []string{name, name + "_sum", name + "_count"}
		default:
			names = []string{name}
		}
		labels := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			labels["le"] = true
		}
		if slices.Contains(unknownLabels, name) {
			labels = nil
		}
		for _, n := range names {
			c[n] = labels
		}
	}
	if len(c) == 0 {
		return nil, errors.New("no metrics")
	}
	return c, nil
}

// Check returns what is wrong with selector s by the catalogue: a metric
// the exporter does not emit, or a label its samples never carry (job and
// instance excepted: Prometheus attaches them).
func (c Catalogue) Check(s Selector) []string {
	labels, ok := c[s.Metric]
	if !ok {
		return []string{fmt.Sprintf("metric %s is not in the exporter's output", s.Metric)}
	}
	var problems []string
	for _, l := range s.Labels {
		if labels != nil && l != "job" && l != "instance" && !labels[l] {
			problems = append(problems, fmt.Sprintf("%s has no label %q in the exporter's output", s.Metric, l))
		}
	}
	return problems
}

// Selector is a vector selector of a PromQL expression: the metric name and
// the label names its matchers use.
type Selector struct {
	Metric string
	Labels []string
}

// PromQL words that are never metric names.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true, "atan2": true,
}

// promqlLabelLists are the modifiers followed by a parenthesised list of
// label names.
var promqlLabelLists = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// Selectors returns the vector selectors of a PromQL expression, in order.
// It only finds names: an identifier is a metric name unless it is a
// keyword, a function or aggregation (followed by "("), a label name (in
// braces or a by/without/on/ignoring/group_left/group_right list), inside a
// string, or inside a range or subquery's brackets. The expression's syntax
// is not checked: Prometheus does that (promtool, the end-to-end suite).
// Selectors without a metric name ({__name__=...}) are refused, so that no
// metric escapes the check.
func Selectors(expr string) ([]Selector, error) {
	var out []Selector
	s := expr
	i := 0
	skipSpace := func(j int) int {
		for j < len(s) && strings.IndexByte(" \t\r\n", s[j]) >= 0 {
			j++
		}
		return j
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end, err := stringEnd(s, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ at offset %d", i)
			}
			i += end + 1
		case c == '{':
			return nil, fmt.Errorf("selector without a metric name at offset %d", i)
		case c == '$' || c >= '0' && c <= '9' || c == '.':
			// A Grafana variable, a number or a duration.
			i++
			for i < len(s) && isIdentByte(s[i]) {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdentByte(s[i]) {
				i++
			}
			word := s[start:i]
			lower := strings.ToLower(word) // keywords are case-insensitive
			next := skipSpace(i)
			switch {
			case promqlLabelLists[lower]:
				if next < len(s) && s[next] == '(' {
					end := strings.IndexByte(s[next:], ')')
					if end < 0 {
						return nil, fmt.Errorf("unclosed %s ( at offset %d", word, next)
					}
					i = next + end + 1
				}
			case next < len(s) && s[next] == '(', promqlKeywords[lower]:
			default:
				sel := Selector{Metric: word}
				if next < len(s) && s[next] == '{' {
					labels, end, err := matcherLabels(s, next)
					if err != nil {
						return nil, err
					}
					sel.Labels, i = labels, end
				}
				out = append(out, sel)
			}
		default:
			i++
		}
	}
	return out, nil
}

// matcherLabels returns the label names of the matchers in the braces that
// open at s[open], and the offset after the closing brace.
func matcherLabels(s string, open int) ([]string, int, error) {
	var labels []string
	i := open + 1
	for i < len(s) {
		c := s[i]
		switch {
		case c == '}':
			return labels, i + 1, nil
		case c == '"' || c == '\'' || c == '`':
			end, err := stringEnd(s, i)
			if err != nil {
				return nil, 0, err
			}
			i = end
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdentByte(s[i]) {
				i++
			}
			if s[start:i] == model.MetricNameLabel {
				return nil, 0, fmt.Errorf("%s matcher at offset %d: name the metric instead", model.MetricNameLabel, start)
			}
			labels = append(labels, s[start:i])
		default:
			i++
		}
	}
	return nil, 0, fmt.Errorf("unclosed { at offset %d", open)
}

// stringEnd returns the offset after the string literal that opens at
// s[open].
func stringEnd(s string, open int) (int, error) {
	quote := s[open]
	for i := open + 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quote != '`':
			i++
		case s[i] == quote:
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at offset %d", open)
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentByte(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9'
}
