// Package config reads the exporter's multi-target file (--config.file):
// target names to databases, with optional per-target overrides. It is
// strict: an unknown key, a duplicate or malformed name, both or neither of
// dsn and dsn_file, an unknown collector or a bad duration is an error that
// names the key and its line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// File is a parsed config file.
type File struct {
	Targets []Target
}

// Target is one database served on /probe?target=NAME.
type Target struct {
	Name string
	// DSN is the data source name, read from dsn_file when that is set.
	// It may hold a password: never log or print it.
	DSN            string
	DSNFile        string
	Collectors     []string                 // nil: the flags' set
	MinInterval    map[string]time.Duration // per-collector overrides
	MaxConnections int32                    // 0: the flag's value
	// Labels are served with the target on /sd, for Prometheus's HTTP
	// service discovery; they do not change how the target is scraped.
	Labels map[string]string
	Line   int
}

var nameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

// Load reads and validates path. knownCollectors are the valid collector
// names.
func Load(path string, knownCollectors []string) (*File, error) {
	b, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(b, knownCollectors)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse validates a config file's content. dsn_file paths are read here, so
// a reload picks up a rotated secret.
func Parse(b []byte, knownCollectors []string) (*File, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty config file: want a targets list")
		}
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("empty config file: want a targets list")
	}
	// A second document ("---") would otherwise be silently ignored; an
	// empty one (a trailing "---") is harmless.
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if !isEmptyDocument(&extra) {
			return nil, fmt.Errorf("line %d: a second YAML document: want one", extra.Line)
		}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping with a targets key", root.Line)
	}
	known := map[string]bool{}
	for _, c := range knownCollectors {
		known[c] = true
	}
	f := &File{}
	seenTargets := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "targets" {
			return nil, fmt.Errorf("line %d: unknown key %q (want targets)", k.Line, k.Value)
		}
		if seenTargets {
			// Two lists would escape the duplicate-name check.
			return nil, fmt.Errorf("line %d: key \"targets\" given twice", k.Line)
		}
		seenTargets = true
		if v.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("line %d: targets must be a list", v.Line)
		}
		names := map[string]int{}
		for _, tn := range v.Content {
			t, err := parseTarget(tn, known)
			if err != nil {
				return nil, err
			}
			if prev, dup := names[t.Name]; dup {
				return nil, fmt.Errorf("line %d: duplicate target name %q (first on line %d)", t.Line, t.Name, prev)
			}
			names[t.Name] = t.Line
			f.Targets = append(f.Targets, t)
		}
	}
	if !seenTargets || len(f.Targets) == 0 {
		return nil, fmt.Errorf("line %d: no targets defined", root.Line)
	}
	return f, nil
}

func isEmptyDocument(d *yaml.Node) bool {
	if len(d.Content) == 0 {
		return true
	}
	c := d.Content[0]
	return len(d.Content) == 1 && c.Kind == yaml.ScalarNode && c.Tag == "!!null" && c.Value == ""
}

func parseTarget(n *yaml.Node, known map[string]bool) (Target, error) {
	t := Target{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return t, fmt.Errorf("line %d: a target must be a mapping", n.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return t, fmt.Errorf("line %d: key %q given twice", k.Line, k.Value)
		}
		seen[k.Value] = true
		var err error
		switch k.Value {
		case "name":
			t.Name, err = scalar(k, v)
			if err == nil && !nameRE.MatchString(t.Name) {
				err = fmt.Errorf("line %d: target name %q must match [a-z0-9_-]+", v.Line, t.Name)
			}
		case "dsn":
			t.DSN, err = nonEmpty(k, v)
		case "dsn_file":
			t.DSNFile, err = nonEmpty(k, v)
		case "collectors":
			t.Collectors, err = collectors(k, v, known)
		case "min_interval":
			t.MinInterval, err = intervals(k, v, known)
		case "max_connections":
			var s string
			if s, err = scalar(k, v); err == nil {
				var n int
				if _, perr := fmt.Sscanf(s, "%d", &n); perr != nil || fmt.Sprint(n) != s || n < 1 || n > 100 {
					err = fmt.Errorf("line %d: max_connections must be an integer from 1 to 100", v.Line)
				}
				t.MaxConnections = int32(n)
			}
		case "labels":
			t.Labels, err = labels(k, v)
		default:
			err = fmt.Errorf("line %d: unknown key %q in target (want name, dsn, dsn_file, collectors, min_interval, max_connections, labels)", k.Line, k.Value)
		}
		if err != nil {
			return t, err
		}
	}
	if t.Name == "" {
		return t, fmt.Errorf("line %d: target without a name", n.Line)
	}
	switch {
	case t.DSN != "" && t.DSNFile != "":
		return t, fmt.Errorf("line %d: target %q: give dsn or dsn_file, not both", n.Line, t.Name)
	case t.DSN == "" && t.DSNFile == "":
		return t, fmt.Errorf("line %d: target %q: give dsn or dsn_file", n.Line, t.Name)
	case t.DSNFile != "":
		b, err := ReadFile(t.DSNFile)
		if err != nil {
			return t, fmt.Errorf("line %d: target %q: dsn_file: %w", n.Line, t.Name, err)
		}
		if t.DSN = strings.TrimSpace(string(b)); t.DSN == "" {
			return t, fmt.Errorf("line %d: target %q: dsn_file %s is empty", n.Line, t.Name, t.DSNFile)
		}
	}
	return t, nil
}

func scalar(k, v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return "", fmt.Errorf("line %d: %s must be a string", v.Line, k.Value)
	}
	return v.Value, nil
}

// nonEmpty is a scalar that is not blank: an empty dsn or dsn_file given
// next to the other would otherwise pass as "one of the two".
func nonEmpty(k, v *yaml.Node) (string, error) {
	s, err := scalar(k, v)
	if err == nil && strings.TrimSpace(s) == "" {
		err = fmt.Errorf("line %d: %s is empty", v.Line, k.Value)
	}
	return s, err
}

func collectors(k, v *yaml.Node, known map[string]bool) ([]string, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: %s must be a list", v.Line, k.Value)
	}
	out := []string{}
	for _, c := range v.Content {
		if c.Kind != yaml.ScalarNode || !known[c.Value] {
			return nil, fmt.Errorf("line %d: unknown collector %q", c.Line, c.Value)
		}
		out = append(out, c.Value)
	}
	return out, nil
}

// labelNameRE is Prometheus's label name syntax; names starting with __ are
// Prometheus's own and refused.
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func labels(k, v *yaml.Node) (map[string]string, error) {
	if v.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: %s must be a mapping of label name to value", v.Line, k.Value)
	}
	out := map[string]string{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		lk, lv := v.Content[i], v.Content[i+1]
		switch {
		case !labelNameRE.MatchString(lk.Value) || strings.HasPrefix(lk.Value, "__"):
			return nil, fmt.Errorf("line %d: label name %q must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __", lk.Line, lk.Value)
		case lk.Value == "job" || lk.Value == "instance":
			return nil, fmt.Errorf("line %d: label %q is set by Prometheus's scrape configuration, not here", lk.Line, lk.Value)
		case lv.Kind != yaml.ScalarNode || lv.Tag == "!!null":
			return nil, fmt.Errorf("line %d: label %s must have a string value", lv.Line, lk.Value)
		}
		if _, dup := out[lk.Value]; dup {
			return nil, fmt.Errorf("line %d: label %s given twice", lk.Line, lk.Value)
		}
		out[lk.Value] = lv.Value
	}
	return out, nil
}

func intervals(k, v *yaml.Node, known map[string]bool) (map[string]time.Duration, error) {
	if v.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: %s must be a mapping of collector to duration", v.Line, k.Value)
	}
	out := map[string]time.Duration{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		ck, cv := v.Content[i], v.Content[i+1]
		if !known[ck.Value] {
			return nil, fmt.Errorf("line %d: unknown collector %q in min_interval", ck.Line, ck.Value)
		}
		if _, dup := out[ck.Value]; dup {
			return nil, fmt.Errorf("line %d: min_interval.%s given twice", ck.Line, ck.Value)
		}
		d, err := time.ParseDuration(cv.Value)
		if err != nil || d < 0 || cv.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: min_interval.%s: %q is not a duration such as 5m", cv.Line, ck.Value, cv.Value)
		}
		out[ck.Value] = d
	}
	return out, nil
}
