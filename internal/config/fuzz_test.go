package config

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Parse never panics, and any file it accepts has at least one target, with
// unique valid names, each with exactly one of dsn and dsn_file (and a
// non-empty DSN), known collectors, non-negative intervals and a pool bound
// in range. The seed corpus runs in plain go test.
func FuzzParse(f *testing.F) {
	dir := f.TempDir()
	secretFile := writeFile(f, dir, "secret", dsn+"\n")
	emptyFile := writeFile(f, dir, "empty", "\n")
	for _, seed := range []string{
		// valid
		"targets:\n  - name: a\n    dsn: " + dsn + "\n",
		"targets:\n  - name: taipei\n    dsn_file: " + secretFile + "\n  - name: kaohsiung\n    dsn: " + dsn +
			"\n    collectors: [health, attribution]\n    min_interval: {attribution: 10m}\n    max_connections: 2\n",
		"targets: [{name: x, dsn: 'host=db user=u password=p'}, {name: y-1, dsn: \"postgres://h/d\"}]\n",
		"targets:\n  - name: a\n    dsn: x\n    collectors: []\n    min_interval: {}\n",
		// invalid
		"",
		"# comment\n",
		"targets: []\n",
		"targets:\n",
		"targets: 3\n",
		"- name: a\n",
		"targets:\n  - name: a\n    dsn: x\ntargets:\n  - name: a\n    dsn: y\n",
		"targets:\n  - name: a\n    dsn: x\n---\ntargets:\n  - name: a\n    dsn: y\n",
		"targets:\n  - name: a\n    dsn: x\n  - name: a\n    dsn: y\n",
		"targets:\n  - name: A\n    dsn: x\n",
		"targets:\n  - name: a\n    dsn: x\n    dsn_file: " + secretFile + "\n",
		"targets:\n  - name: a\n    dsn: ''\n    dsn_file: " + secretFile + "\n",
		"targets:\n  - name: a\n    dsn_file: " + emptyFile + "\n",
		"targets:\n  - name: a\n    dsn_file: " + filepath.Join(dir, "missing") + "\n",
		"targets:\n  - name: a\n",
		"targets:\n  - name: a\n    dsn: x\n    collectors: [nosuch]\n",
		"targets:\n  - name: a\n    dsn: x\n    min_interval: {nosuch: 1m}\n",
		"targets:\n  - name: a\n    dsn: x\n    min_interval: {health: soon, health: 1m}\n",
		"targets:\n  - name: a\n    dsn: x\n    max_connections: 0\n",
		"targets:\n  - name: a\n    dsn: x\n    max_connections: 1e2\n",
		"targets:\n  - name: a\n    dsn: x\n    extra: 1\n",
		"targets:\n  - &t {name: a, dsn: x}\n  - *t\n",
		"targets:\n  - <<: {name: a, dsn: x}\n",
		"targets:\n  - name: !!binary YQ==\n    dsn: x\n",
		"targets:\n  - ? [name]\n    : a\n",
		"targets: [{name: a, dsn: x}, [b]]\n",
		"\xff\xfe",
		"targets:\n\t- name: a\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// A dsn_file naming a device or a pseudo-file could block or never
		// end; such a file is the operator's choice, not a parser bug.
		for _, s := range []string{"/dev", "/proc", "/sys", `\`} {
			if bytes.Contains(b, []byte(s)) {
				t.Skip()
			}
		}
		cfg, err := Parse(b, known)
		again, err2 := Parse(b, known)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			if cfg != nil {
				t.Fatalf("error %v with a result %+v", err, cfg)
			}
			return
		}
		checkAccepted(t, b, cfg)
	})
}

func checkAccepted(t *testing.T, b []byte, cfg *File) {
	t.Helper()
	if len(cfg.Targets) == 0 {
		t.Fatal("accepted a file without targets")
	}
	isKnown := map[string]bool{}
	for _, c := range known {
		isKnown[c] = true
	}
	names := map[string]bool{}
	for _, tg := range cfg.Targets {
		if !nameRE.MatchString(tg.Name) {
			t.Errorf("accepted malformed name %q", tg.Name)
		}
		if names[tg.Name] {
			t.Errorf("accepted duplicate name %q", tg.Name)
		}
		names[tg.Name] = true
		if strings.TrimSpace(tg.DSN) == "" {
			t.Errorf("target %q: accepted without a DSN", tg.Name)
		}
		if tg.Line < 1 {
			t.Errorf("target %q: line %d", tg.Name, tg.Line)
		}
		for _, c := range tg.Collectors {
			if !isKnown[c] {
				t.Errorf("target %q: accepted unknown collector %q", tg.Name, c)
			}
		}
		for c, d := range tg.MinInterval {
			if !isKnown[c] || d < 0 {
				t.Errorf("target %q: accepted min_interval %s: %s", tg.Name, c, d)
			}
		}
		if tg.MaxConnections < 0 || tg.MaxConnections > 100 {
			t.Errorf("target %q: accepted max_connections %d", tg.Name, tg.MaxConnections)
		}
	}

	// Read the file independently: exactly one DSN source per target.
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 {
		t.Fatalf("accepted a file yaml.v3 cannot read: %v", err)
	}
	root := doc.Content[0]
	n := 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		for _, tn := range root.Content[i+1].Content {
			sources := 0
			for j := 0; j+1 < len(tn.Content); j += 2 {
				if k := tn.Content[j].Value; k == "dsn" || k == "dsn_file" {
					sources++
				}
			}
			if sources != 1 {
				t.Errorf("target on line %d: accepted with %d DSN sources", tn.Line, sources)
			}
			n++
		}
	}
	if n != len(cfg.Targets) {
		t.Errorf("the file has %d targets, Parse returned %d", n, len(cfg.Targets))
	}
}
