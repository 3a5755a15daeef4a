package check

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWidth(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"", 0},
		{"PASS", 4},
		{"筆", 2},
		{"0 筆 dim_date 記錄有無效的 campaign_id", 38}, // 26 narrow, 6 wide
		{"原始營收: 1.00", 14},                      // 6 narrow, 4 wide
		{"ｆｕｌｌ", 8},                             // fullwidth forms
		{"e\u0301", 1},                          // a combining accent takes no column
		{"ｶﾅ", 2},                               // halfwidth katakana: one each
	} {
		if got := Width(tc.s); got != tc.want {
			t.Errorf("Width(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

// Rows with Chinese text line up: every "|" of a column at the same
// display column.
func TestGridAlignsByDisplayWidth(t *testing.T) {
	var b bytes.Buffer
	writeGrid(&b, [][]string{
		{"check_name", "status", "details"},
		{"Holiday Sync Status", "WARNING", "1 筆假期記錄尚未同步到 dim_date"},
		{"Campaign Overlaps", "INFO", "x"},
	})
	want := "" +
		"check_name          | status  | details\n" +
		"--------------------|---------|--------------------------------\n" +
		"Holiday Sync Status | WARNING | 1 筆假期記錄尚未同步到 dim_date\n" +
		"Campaign Overlaps   | INFO    | x\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestOneLineDropsControlCharacters(t *testing.T) {
	if got := oneLine("a\nb\x1b[31mc\td\u009be"); got != "a b [31mc d e" {
		t.Errorf("oneLine: %q", got)
	}
}

func f(v float64) *float64 { return &v }

func TestWorstAndExitCode(t *testing.T) {
	ok := func(status string) Check { return Check{Status: status, Known: true} }
	for _, tc := range []struct {
		name   string
		checks []Check
		errors []Error
		worst  string
		code   int
	}{
		{"nothing", nil, nil, "PASS", 0},
		{"pass info good", []Check{ok("PASS"), ok("INFO"), ok("GOOD")}, nil, "PASS", 0},
		{"slow", []Check{ok("PASS"), ok("SLOW")}, nil, "SLOW", 1},
		{"warning over slow", []Check{ok("SLOW"), ok("WARNING"), ok("INFO")}, nil, "WARNING", 1},
		{"fail", []Check{ok("WARNING"), ok("FAIL")}, nil, "FAIL", 2},
		{"unknown status", []Check{ok("WARNING"), {Status: "ERROR"}}, nil, "UNKNOWN", 3},
		{"collector failed", []Check{ok("PASS")}, []Error{{"attribution", "x"}}, "UNKNOWN", 3},
		{"fail outranks unknown", []Check{ok("FAIL"), {Status: "ERROR"}}, []Error{{"performance", "x"}}, "FAIL", 2},
	} {
		r := &Report{Checks: tc.checks, Errors: tc.errors}
		if r.Worst() != tc.worst || r.ExitCode() != tc.code {
			t.Errorf("%s: worst %s exit %d, want %s %d", tc.name, r.Worst(), r.ExitCode(), tc.worst, tc.code)
		}
	}
}

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "campaign.prom")
	for _, content := range []string{"first\n", "second\n"} {
		if err := WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != content {
			t.Errorf("read %q, %v; want %q", b, err, content)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "nosuch", "x.prom"), []byte("x")); err == nil {
		t.Error("wrote into a missing directory")
	}
}

func TestNagiosPerfdataQuotesNames(t *testing.T) {
	r := &Report{Checks: []Check{{Source: "check_campaign_system_health", Check: "It's", Status: "PASS", Known: true, Value: f(3)}}, Enabled: 1}
	var b bytes.Buffer
	if err := writeNagios(&b, r); err != nil {
		t.Fatal(err)
	}
	if first := strings.SplitN(b.String(), "\n", 2)[0]; !strings.HasPrefix(first, "CAMPAIGN OK - worst PASS") || !strings.HasSuffix(first, "| 'It''s'=3") {
		t.Errorf("nagios: %q", first)
	}
}
