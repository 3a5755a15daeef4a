package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Formats are the values of --output.
var Formats = []string{"table", "json", "prom", "nagios"}

// Write renders r in format.
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "table":
		return writeTable(w, r)
	case "json":
		return writeJSON(w, r)
	case "prom":
		return writeProm(w, r)
	case "nagios":
		return writeNagios(w, r)
	}
	return fmt.Errorf("unknown output format %q", format)
}

// writeTable prints each check function's rows as the maintenance guide
// shows them, then the errors, then the summary line.
func writeTable(w io.Writer, r *Report) error {
	var b bytes.Buffer
	for i, s := range r.Sections {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(s.Function + "()\n")
		if s.Error != "" {
			b.WriteString("error: " + oneLine(s.Error) + "\n")
			continue
		}
		cells := [][]string{s.Columns}
		for _, row := range s.Rows {
			var line []string
			for _, c := range s.Columns {
				line = append(line, oneLine(row[c]))
			}
			cells = append(cells, line)
		}
		writeGrid(&b, cells)
	}
	if len(r.Errors) > 0 {
		b.WriteString("\nerrors:\n")
		for _, e := range r.Errors {
			b.WriteString("  " + e.Collector + ": " + oneLine(e.Error) + "\n")
		}
	}
	b.WriteString("\n" + r.Summary() + "\n")
	_, err := w.Write(b.Bytes())
	return err
}

// writeGrid aligns cells by display width: the header, a rule, the rows.
func writeGrid(b *bytes.Buffer, cells [][]string) {
	widths := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], Width(c))
		}
	}
	line := func(row []string) {
		for i, c := range row {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-Width(c)))
			}
		}
		b.WriteString("\n")
	}
	line(cells[0])
	for i, wd := range widths {
		if i > 0 {
			b.WriteString("-|-")
		}
		b.WriteString(strings.Repeat("-", wd))
	}
	b.WriteString("\n")
	for _, row := range cells[1:] {
		line(row)
	}
}

// oneLine keeps a text on one terminal line: control characters (line
// breaks, escape sequences from a hostile function) become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// Document is the JSON output.
type Document struct {
	Target          string          `json:"target"`
	StartedAt       string          `json:"started_at"`
	DurationSeconds float64         `json:"duration_seconds"`
	Worst           string          `json:"worst"`
	ExitCode        int             `json:"exit_code"`
	Checks          []DocumentCheck `json:"checks"`
	Errors          []DocumentError `json:"errors"`
}

// DocumentCheck is one check in the JSON output.
type DocumentCheck struct {
	Source      string   `json:"source"`
	Check       string   `json:"check"`
	Status      string   `json:"status"`
	Value       *float64 `json:"value"`
	Details     string   `json:"details"`
	SampleDates []string `json:"sample_dates,omitempty"`
}

// DocumentError is one failure in the JSON output.
type DocumentError struct {
	Collector string `json:"collector"`
	Error     string `json:"error"`
}

// NewDocument is r as the JSON output holds it.
func NewDocument(r *Report) Document {
	d := Document{
		Target: r.Target, StartedAt: r.StartedAt.UTC().Format(time.RFC3339Nano), DurationSeconds: r.Duration.Seconds(),
		Worst: r.Worst(), ExitCode: r.ExitCode(), Checks: []DocumentCheck{}, Errors: []DocumentError{},
	}
	for _, c := range r.Checks {
		d.Checks = append(d.Checks, DocumentCheck{c.Source, c.Check, c.Status, finite(c.Value), c.Details, c.SampleDates})
	}
	for _, e := range r.Errors {
		d.Errors = append(d.Errors, DocumentError(e))
	}
	return d
}

// writeJSON writes the document on one line, for log shippers.
func writeJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(NewDocument(r))
}

// writeProm writes the run's metrics in the text exposition format.
func writeProm(w io.Writer, r *Report) error {
	for _, mf := range r.Families {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	return nil
}

// writeNagios writes a plugin's output: the state and summary on the first
// line, the checks that are not fine and the errors after it.
func writeNagios(w io.Writer, r *Report) error {
	state := [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}[r.ExitCode()]
	var b strings.Builder
	fmt.Fprintf(&b, "CAMPAIGN %s - %s", state, r.Summary())
	var perf []string
	for _, c := range r.Checks {
		if v := finite(c.Value); v != nil {
			unit := ""
			if c.Source == "monitor_system_performance" {
				unit = "s"
			}
			perf = append(perf, fmt.Sprintf("'%s'=%s%s", strings.ReplaceAll(oneLine(c.Check), "'", "''"), strconv.FormatFloat(*v, 'f', -1, 64), unit))
		}
	}
	if len(perf) > 0 {
		b.WriteString(" | " + strings.Join(perf, " "))
	}
	b.WriteString("\n")
	for _, c := range r.Checks {
		if !c.Known || (c.Status != "PASS" && c.Status != "INFO" && c.Status != "GOOD") {
			fmt.Fprintf(&b, "%s: %s %s", c.Status, c.Check, oneLine(c.Details))
			if len(c.SampleDates) > 0 {
				fmt.Fprintf(&b, " %v", c.SampleDates)
			}
			b.WriteString("\n")
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "ERROR: %s: %s\n", e.Collector, oneLine(e.Error))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteFile writes data to path atomically: a temporary file in the same
// directory, renamed over path, so a reader (node_exporter's textfile
// collector) never sees half a file.
func WriteFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }() // after a successful rename, there is nothing to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Push sends the run's metrics to a Pushgateway, replacing the group of
// job (and target, when set). Credentials in the URL are sent as basic
// auth and never appear in an error.
func Push(rawURL, job, target string, r *Report) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return errors.New("--push.url is not a URL such as http://pushgateway:9091")
	}
	var user, password string
	if u.User != nil {
		user = u.User.Username()
		password, _ = u.User.Password()
		u.User = nil
	}
	p := push.New(u.String(), job).Gatherer(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return r.Families, nil }))
	if target != "" {
		p = p.Grouping("target", target)
	}
	if user != "" {
		p = p.BasicAuth(user, password)
	}
	if err := p.Push(); err != nil {
		msg := err.Error()
		if password != "" {
			msg = strings.ReplaceAll(msg, password, "xxxxx")
		}
		return errors.New(msg)
	}
	return nil
}
