package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// known stands in for collector.Names(), so these tests do not depend on
// the collector package.
var known = []string{"attribution", "health", "holiday_integrity", "performance"}

// secret is the password inside every DSN of these tests: no error message
// may show it.
const secret = "s3cr3t-Pa55"

const dsn = "postgres://campaign_exporter:" + secret + "@db-khh:5432/campaigns?sslmode=verify-full"

// writeFile writes content to a new file under dir and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseValid(t *testing.T) {
	dir := t.TempDir()
	secretFile := writeFile(t, dir, "taipei", "\n  "+dsn+"  \n") // trimmed
	src := `# two databases
targets:
  - name: taipei
    dsn_file: ` + secretFile + `
  - name: kaohsiung_2
    dsn: ` + dsn + `
    collectors: [health, attribution, holiday_integrity]
    min_interval: {attribution: 10m, performance: 1h30m}
    max_connections: 2
  - name: "tainan-0"
    dsn: ` + dsn + `
    collectors: []
    min_interval: {}
    max_connections: 100
    labels: {region: south, tier: "1", _team: data}
`
	got, err := Parse([]byte(src), known)
	if err != nil {
		t.Fatal(err)
	}
	want := &File{Targets: []Target{
		{Name: "taipei", DSN: dsn, DSNFile: secretFile, Line: 3},
		{
			Name: "kaohsiung_2", DSN: dsn, Line: 5,
			Collectors:     []string{"health", "attribution", "holiday_integrity"},
			MinInterval:    map[string]time.Duration{"attribution": 10 * time.Minute, "performance": 90 * time.Minute},
			MaxConnections: 2,
		},
		{
			Name: "tainan-0", DSN: dsn, Line: 10, Collectors: []string{}, MinInterval: map[string]time.Duration{}, MaxConnections: 100,
			Labels: map[string]string{"region": "south", "tier": "1", "_team": "data"},
		},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
	}

	// Load reads the same file from disk; a rotated secret is picked up on
	// the next load.
	path := writeFile(t, dir, "targets.yml", src)
	f, err := Load(path, known)
	if err != nil || !reflect.DeepEqual(f, want) {
		t.Fatalf("Load: %+v, %v", f, err)
	}
	rotated := strings.Replace(dsn, secret, "rotated", 1)
	writeFile(t, dir, "taipei", rotated+"\n")
	if f, err = Load(path, known); err != nil || f.Targets[0].DSN != rotated {
		t.Fatalf("after rotation: %+v, %v", f, err)
	}
}

// Every invalid file stops with a message naming the key (or problem) and
// its line, and never the DSN.
func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	emptySecret := writeFile(t, dir, "empty", " \n\t\n")
	goodSecret := writeFile(t, dir, "good", dsn+"\n")
	missing := filepath.Join(dir, "nonexistent")

	for _, tc := range []struct {
		name string
		src  string
		want []string // substrings of the error
	}{
		{"empty file", "", []string{"empty config file"}},
		{"only a comment", "# nothing here\n", []string{"empty config file"}},
		{"only whitespace", "  \n\n", []string{"empty config file"}},
		{"yaml syntax", "targets:\n  - name: a\n    dsn: " + dsn + "\n    collectors: [health\n", []string{"yaml: line"}},
		{"yaml mapping value in a dsn", "targets:\n  - name: a\n    dsn: " + dsn + ": x\n", []string{"yaml: line 3"}},
		{"not a mapping", "- name: a\n", []string{"line 1", "targets key"}},
		{"unknown key at top level", "targets:\n  - name: a\n    dsn: " + dsn + "\nscrape_interval: 1m\n",
			[]string{"line 4", `unknown key "scrape_interval"`}},
		{"targets twice", "targets:\n  - name: a\n    dsn: " + dsn + "\ntargets:\n  - name: a\n    dsn: " + dsn + "\n",
			[]string{"line 4", `"targets" given twice`}},
		{"second document", "targets:\n  - name: a\n    dsn: " + dsn + "\n---\ntargets: []\n",
			[]string{"line 4", "second YAML document"}},
		{"second document after an empty one", "targets:\n  - name: a\n    dsn: " + dsn + "\n---\n---\nx: 1\n",
			[]string{"line 5", "second YAML document"}},
		{"targets not a list", "targets: {name: a}\n", []string{"line 1", "targets must be a list"}},
		{"targets null", "targets:\n", []string{"line 1", "targets must be a list"}},
		{"no targets", "targets: []\n", []string{"line 1", "no targets"}},
		{"target not a mapping", "targets:\n  - " + dsn + "\n", []string{"line 2", "target must be a mapping"}},
		{"unknown key in target", "targets:\n  - name: a\n    dsn: " + dsn + "\n    dns: x\n",
			[]string{"line 4", `unknown key "dns" in target`}},
		{"key twice in target", "targets:\n  - name: a\n    dsn: " + dsn + "\n    name: b\n",
			[]string{"line 4", `key "name" given twice`}},
		{"duplicate name", "targets:\n  - name: a\n    dsn: " + dsn + "\n  - name: b\n    dsn: " + dsn + "\n  - name: a\n    dsn: " + dsn + "\n",
			[]string{"line 6", `duplicate target name "a"`, "first on line 2"}},
		{"name uppercase", "targets:\n  - name: Taipei\n    dsn: " + dsn + "\n", []string{"line 2", `"Taipei"`, "[a-z0-9_-]+"}},
		{"name with space", "targets:\n  - dsn: " + dsn + "\n    name: \"a b\"\n", []string{"line 3", `"a b"`, "[a-z0-9_-]+"}},
		{"name with quote", "targets:\n  - name: \"x';DROP TABLE holidays;--\"\n    dsn: " + dsn + "\n", []string{"line 2", "[a-z0-9_-]+"}},
		{"name with dot", "targets:\n  - name: ../a\n    dsn: " + dsn + "\n", []string{"line 2", "[a-z0-9_-]+"}},
		{"name non-ASCII", "targets:\n  - name: 台北\n    dsn: " + dsn + "\n", []string{"line 2", "[a-z0-9_-]+"}},
		{"name empty", "targets:\n  - name: \"\"\n    dsn: " + dsn + "\n", []string{"line 2", "[a-z0-9_-]+"}},
		{"name null", "targets:\n  - name:\n    dsn: " + dsn + "\n", []string{"line 2", "name must be a string"}},
		{"name a list", "targets:\n  - name: [a]\n    dsn: " + dsn + "\n", []string{"line 2", "name must be a string"}},
		{"no name", "targets:\n  - dsn: " + dsn + "\n", []string{"line 2", "without a name"}},
		{"labels not a mapping", "targets:\n  - name: a\n    dsn: " + dsn + "\n    labels: [x]\n", []string{"line 4", "labels must be a mapping"}},
		{"label name with a dash", "targets:\n  - name: a\n    dsn: " + dsn + "\n    labels: {re-gion: x}\n", []string{"line 4", `"re-gion"`}},
		{"label name reserved", "targets:\n  - name: a\n    dsn: " + dsn + "\n    labels:\n      __address__: x\n", []string{"line 5", `"__address__"`}},
		{"label job", "targets:\n  - name: a\n    dsn: " + dsn + "\n    labels: {job: x}\n", []string{"line 4", `label "job" is set by Prometheus`}},
		{"label value a list", "targets:\n  - name: a\n    dsn: " + dsn + "\n    labels: {region: [x]}\n", []string{"line 4", "label region must have a string value"}},
		{"label twice", "targets:\n  - name: a\n    dsn: " + dsn + "\n    labels: {region: x, region: y}\n", []string{"line 4", "region"}},
		{"both dsn and dsn_file", "targets:\n  - name: a\n    dsn: " + dsn + "\n    dsn_file: " + goodSecret + "\n",
			[]string{"line 2", `"a"`, "dsn or dsn_file, not both"}},
		{"neither dsn nor dsn_file", "targets:\n  - name: a\n    collectors: [health]\n", []string{"line 2", `"a"`, "give dsn or dsn_file"}},
		{"empty dsn beside dsn_file", "targets:\n  - name: a\n    dsn: \"\"\n    dsn_file: " + goodSecret + "\n", []string{"line 3", "dsn is empty"}},
		{"blank dsn_file beside dsn", "targets:\n  - name: a\n    dsn: " + dsn + "\n    dsn_file: \" \"\n", []string{"line 4", "dsn_file is empty"}},
		{"dsn a mapping", "targets:\n  - name: a\n    dsn:\n      url: " + dsn + "\n", []string{"line 4", "dsn must be a string"}},
		{"dsn_file missing", "targets:\n  - name: a\n    dsn_file: " + missing + "\n", []string{"line 2", `"a"`, "dsn_file", "no such file"}},
		{"dsn_file empty", "targets:\n  - name: a\n    dsn_file: " + emptySecret + "\n", []string{"line 2", `"a"`, "dsn_file", "is empty"}},
		{"unknown collector", "targets:\n  - name: a\n    dsn: " + dsn + "\n    collectors:\n      - health\n      - nosuch\n",
			[]string{"line 6", `unknown collector "nosuch"`}},
		{"collectors not a list", "targets:\n  - name: a\n    dsn: " + dsn + "\n    collectors: health\n", []string{"line 4", "collectors must be a list"}},
		{"unknown collector in min_interval", "targets:\n  - name: a\n    dsn: " + dsn + "\n    min_interval:\n      health: 1m\n      nosuch: 1m\n",
			[]string{"line 6", `unknown collector "nosuch" in min_interval`}},
		{"min_interval twice for a collector", "targets:\n  - name: a\n    dsn: " + dsn + "\n    min_interval:\n      health: 1m\n      health: 2m\n",
			[]string{"line 6", "min_interval.health given twice"}},
		{"unparsable duration", "targets:\n  - name: a\n    dsn: " + dsn + "\n    min_interval: {attribution: soon}\n",
			[]string{"line 4", "min_interval.attribution", `"soon"`}},
		{"duration without unit", "targets:\n  - name: a\n    dsn: " + dsn + "\n    min_interval:\n      health: 10\n",
			[]string{"line 5", "min_interval.health"}},
		{"negative duration", "targets:\n  - name: a\n    dsn: " + dsn + "\n    min_interval: {health: -1m}\n", []string{"line 4", "min_interval.health"}},
		{"duration a list", "targets:\n  - name: a\n    dsn: " + dsn + "\n    min_interval: {health: [1m]}\n", []string{"line 4", "min_interval.health"}},
		{"min_interval a list", "targets:\n  - name: a\n    dsn: " + dsn + "\n    min_interval: [health]\n", []string{"line 4", "min_interval must be a mapping"}},
		{"max_connections zero", "targets:\n  - name: a\n    dsn: " + dsn + "\n    max_connections: 0\n", []string{"line 4", "max_connections"}},
		{"max_connections negative", "targets:\n  - name: a\n    dsn: " + dsn + "\n    max_connections: -2\n", []string{"line 4", "max_connections"}},
		{"max_connections too big", "targets:\n  - name: a\n    dsn: " + dsn + "\n    max_connections: 101\n", []string{"line 4", "max_connections"}},
		{"max_connections overflow", "targets:\n  - name: a\n    dsn: " + dsn + "\n    max_connections: 99999999999999999999\n", []string{"line 4", "max_connections"}},
		{"max_connections fraction", "targets:\n  - name: a\n    dsn: " + dsn + "\n    max_connections: 1.5\n", []string{"line 4", "max_connections"}},
		{"max_connections word", "targets:\n  - name: a\n    dsn: " + dsn + "\n    max_connections: two\n", []string{"line 4", "max_connections"}},
		{"max_connections trailing text", "targets:\n  - name: a\n    dsn: " + dsn + "\n    max_connections: 3x\n", []string{"line 4", "max_connections"}},
		{"max_connections null", "targets:\n  - name: a\n    dsn: " + dsn + "\n    max_connections:\n", []string{"line 4", "max_connections must be a string"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.src), known)
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, secret) {
				t.Errorf("error shows the DSN's password: %q", msg)
			}
		})
	}
}

// Load prefixes errors with the file's path; a missing file is an error.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "targets.yml", "targets:\n  - name: a\n    dsn: "+dsn+"\n    bogus: 1\n")
	_, err := Load(path, known)
	if err == nil || !strings.HasPrefix(err.Error(), path+": line 4") || strings.Contains(err.Error(), secret) {
		t.Errorf("Load: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "nonexistent.yml"), known); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

// Document markers around the one document are fine; only a second
// document with content is an error (see TestParseErrors).
func TestParseDocumentMarkers(t *testing.T) {
	body := "targets:\n  - name: a\n    dsn: " + dsn + "\n"
	for _, src := range []string{
		"---\n" + body,
		body + "---\n",
		body + "...\n",
		body + "---\n# nothing more\n",
		"%YAML 1.1\n---\n" + body + "...\n",
	} {
		f, err := Parse([]byte(src), known)
		if err != nil || len(f.Targets) != 1 || f.Targets[0].DSN != dsn {
			t.Errorf("Parse(%q): %v", strings.ReplaceAll(src, secret, "***"), err)
		}
	}
}
