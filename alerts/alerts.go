// Package alerts ships the Prometheus alerting rules and runbooks of
// campaign_exporter, and helpers for testing them.
package alerts

import (
	"bytes"
	_ "embed" // for the embedded rules and runbooks
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
	"unicode/utf8"

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
