// Package check runs the exporter's collectors once, as the check command:
// the maintenance guide's daily checks as one command with an exit code,
// for cron, CI, Nagios/Icinga and restores. It uses the server's engine,
// pool and queries, so a check and a scrape of the same database report
// the same.
package check

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/go-kit/log"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	dto "github.com/prometheus/client_model/go"
)

// Exit codes, as Nagios plugins use them.
const (
	ExitOK       = 0 // every status PASS, INFO or GOOD
	ExitWarning  = 1 // the worst is WARNING or SLOW
	ExitCritical = 2 // a check is FAIL
	ExitUnknown  = 3 // the database unreachable, a collector failed, or a status outside the known set
)

// Unknown is the worst status of a run that could not judge everything.
const Unknown = "UNKNOWN"

// Options say what one check runs against.
type Options struct {
	// Target names the database in reports: the config file's target
	// name; "" derives host:port/database from the DSN.
	Target  string
	DSN     string // may hold a password: never shown
	Config  collector.Config
	Pool    collector.PoolOptions
	Timeout time.Duration
	Logger  log.Logger
	// Version is the exporter's name for its build-info metric.
	Version string
}

// Report is the outcome of one check.
type Report struct {
	Target    string
	StartedAt time.Time
	Duration  time.Duration
	Sections  []Section // the enabled check functions, in the guide's order
	Checks    []Check
	Errors    []Error
	Enabled   int // collectors run
	// Families are the metrics of the run, as a scrape would serve them.
	Families []*dto.MetricFamily
}

// Section is one check function's rows, or why there are none.
type Section struct {
	collector.CheckFunction
	Rows  []collector.Row
	Error string
}

// Check is one row of a check function, judged.
type Check struct {
	Source  string // the function
	Check   string // check_name, check_type or metric_name
	Status  string
	Known   bool     // the status is in the function's known set
	Value   *float64 // the number the exporter exports for the row, if any
	Details string
	// SampleDates are check_holiday_data_integrity()'s sample_dates.
	SampleDates []string
}

// Error is a collector that failed; Collector "database" when the
// database could not be reached.
type Error struct {
	Collector string
	Error     string
}

// metricsOf names, per check collector, the state-set and value metrics
// and their row label.
var metricsOf = map[string]struct {
	status, value, label string
	known                []string
}{
	"health":            {"campaign_health_check_status", "campaign_health_check_value", "check", []string{"PASS", "WARNING", "FAIL", "INFO"}},
	"attribution":       {"campaign_attribution_check_status", "campaign_attribution_check_value", "check", []string{"PASS", "WARNING", "FAIL", "INFO"}},
	"holiday_integrity": {"", "campaign_holiday_integrity_issues", "check_type", []string{"PASS", "WARNING"}},
	"performance":       {"campaign_performance_status", "campaign_performance_duration_seconds", "measurement", []string{"GOOD", "SLOW"}},
}

// Run runs every enabled collector once, with no cache, bounded by
// o.Timeout. An error means the check could not start (a bad DSN); a
// database that cannot be reached is a Report with Errors.
func Run(ctx context.Context, o Options) (*Report, error) {
	cfg := collector.Config{Collectors: map[string]collector.Settings{}, Options: o.Config.Options}
	for name, s := range o.Config.Collectors {
		s.MinInterval = 0 // every check runs
		cfg.Collectors[name] = s
	}
	pool, err := collector.NewPool(o.DSN, o.Pool)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	rec := collector.NewRecorder(pool)
	exp, err := collector.New(rec, cfg, o.Logger)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if o.Version != "" {
		reg.MustRegister(versioncollector.NewCollector(o.Version))
	}

	r := &Report{Target: o.Target, StartedAt: time.Now(), Enabled: len(cfg.Collectors)}
	if r.Target == "" {
		r.Target = describeDSN(o.DSN)
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	reg.MustRegister(exp.Scraper(ctx))
	r.Families, err = reg.Gather()
	r.Duration = time.Since(r.StartedAt)
	if err != nil {
		r.Errors = append(r.Errors, Error{"exporter", err.Error()})
	}

	dbErr, failed := exp.Failures()
	up := gauge(r.Families, "campaign_up", "", "")
	if up == nil || *up != 1 {
		if dbErr == "" {
			dbErr = "database unreachable"
		}
		r.Errors = append(r.Errors, Error{"database", dbErr})
	}
	for _, name := range collector.Names() {
		if _, on := cfg.Collectors[name]; !on || (up != nil && *up != 1) {
			continue
		}
		if ok := gauge(r.Families, "campaign_collector_success", "collector", name); ok == nil || *ok != 1 {
			msg := failed[name]
			if msg == "" {
				msg = "failed"
			}
			r.Errors = append(r.Errors, Error{name, msg})
		}
	}

	for _, f := range collector.CheckFunctions {
		if _, on := cfg.Collectors[f.Collector]; !on {
			continue
		}
		s := Section{CheckFunction: f}
		rows, ran := rec.Rows(f.Collector)
		for _, e := range r.Errors {
			if e.Collector == f.Collector || e.Collector == "database" {
				s.Error = e.Error
			}
		}
		if s.Error == "" && !ran {
			s.Error = "did not run"
		}
		if s.Error == "" {
			s.Rows = rows
			for _, row := range rows {
				r.Checks = append(r.Checks, judge(f, row, r.Families))
			}
		}
		r.Sections = append(r.Sections, s)
	}
	return r, nil
}

// judge reads a row's status and value from the run's metrics, the way
// Prometheus sees them; the details come from the row itself.
func judge(f collector.CheckFunction, row collector.Row, families []*dto.MetricFamily) Check {
	m := metricsOf[f.Collector]
	name := row[f.Columns[0]]
	c := Check{Source: f.Function, Check: name, Value: gauge(families, m.value, m.label, name)}
	switch f.Collector {
	case "holiday_integrity":
		// No status column: an issue is a WARNING, as the alert rules
		// have it.
		c.Status = "PASS"
		if c.Value == nil || *c.Value != 0 {
			c.Status = "WARNING"
		}
		c.Details = row["description"]
		c.SampleDates = arrayText(row["sample_dates"])
	default:
		c.Status = stateOf(families, m.status, m.label, name)
		if c.Status == "" {
			c.Status = row["status"]
		}
		c.Details = row["details"] + row["description"]
	}
	for _, k := range m.known {
		c.Known = c.Known || c.Status == k
	}
	return c
}

// Worst is the worst status of the run: FAIL, then UNKNOWN (a collector
// failed or a status is outside the known set), then WARNING, SLOW, else
// PASS.
func (r *Report) Worst() string {
	worst := "PASS"
	rank := map[string]int{"SLOW": 1, "WARNING": 2, Unknown: 3, "FAIL": 4}
	up := func(s string) {
		if rank[s] > rank[worst] {
			worst = s
		}
	}
	if len(r.Errors) > 0 {
		up(Unknown)
	}
	for _, c := range r.Checks {
		if !c.Known {
			up(Unknown)
			continue
		}
		up(c.Status)
	}
	return worst
}

// ExitCode is the run's exit code.
func (r *Report) ExitCode() int {
	switch r.Worst() {
	case "FAIL":
		return ExitCritical
	case Unknown:
		return ExitUnknown
	case "WARNING", "SLOW":
		return ExitWarning
	}
	return ExitOK
}

// Summary is the one-line verdict: the worst status and the count of each.
func (r *Report) Summary() string {
	counts := map[string]int{}
	other := 0
	for _, c := range r.Checks {
		if c.Known {
			counts[c.Status]++
		} else {
			other++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "worst %s: ", r.Worst())
	for _, s := range []string{"PASS", "INFO", "GOOD", "WARNING", "SLOW", "FAIL"} {
		fmt.Fprintf(&b, "%d %s, ", counts[s], s)
	}
	fmt.Fprintf(&b, "%d unknown; %d %s of %d", other, len(r.Errors), plural(len(r.Errors), "error", "errors"), r.Enabled)
	b.WriteString(" collectors")
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// gauge is the value of the series of name whose label is value (any
// series when label is ""), or nil.
func gauge(families []*dto.MetricFamily, name, label, value string) *float64 {
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || labelOf(m, label) == value {
				v := m.GetGauge().GetValue()
				return &v
			}
		}
	}
	return nil
}

// stateOf is the state of a state set (the status label of the series at
// 1) for the row named value, or "".
func stateOf(families []*dto.MetricFamily, name, label, value string) string {
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelOf(m, label) == value && m.GetGauge().GetValue() == 1 {
				return labelOf(m, "status")
			}
		}
	}
	return ""
}

func labelOf(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// arrayText splits PostgreSQL's text form of a date array, {a,b}.
func arrayText(s string) []string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// describeDSN names a DSN's database without its user or password:
// host:port/database.
func describeDSN(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

// finite is v, or nil for NaN and infinities (which JSON cannot hold).
func finite(v *float64) *float64 {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return nil
	}
	return v
}
