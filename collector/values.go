package collector

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// Reading values out of check-function rows. Every function here is pure,
// so the fuzz tests can feed it anything a database might return.

var (
	checkStates       = []string{"PASS", "WARNING", "FAIL", "INFO"}
	performanceStates = []string{"GOOD", "SLOW"}
)

// sendStateSet sends one series per known state, 1 for status and 0 for the
// others; a status outside the known set gets its own series with 1, so a
// new status is visible rather than dropped. labels precede the status label.
func sendStateSet(ch chan<- prometheus.Metric, desc *prometheus.Desc, known []string, status string, labels ...string) {
	isKnown := false
	for _, s := range known {
		v := 0.0
		if s == status {
			v, isKnown = 1, true
		}
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, append(labels, s)...)
	}
	if !isKnown {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 1, append(labels, status)...)
	}
}

// sendIfNotNull sends v as a gauge unless it is NULL: a value the database
// does not have (a job that never succeeded, an empty table) is an absent
// series, not a 0 that would read as a point in time or a count.
func sendIfNotNull(ch chan<- prometheus.Metric, desc *prometheus.Desc, v *float64, labels ...string) {
	if v != nil {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, *v, labels...)
	}
}

var numberRE = regexp.MustCompile(`[-+]?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?`)

// firstNumber is the first decimal number in text, such as the count in a
// details text "3 筆 dim_date 記錄有無效的 campaign_id".
func firstNumber(text string) (float64, bool) {
	m := numberRE.FindString(text)
	if m == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(m, 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	// Out of float64's range ParseFloat gives ±Inf, which is what the
	// value is as a float.
	return v, true
}

// parseNumeric reads PostgreSQL numeric text output: decimals of any size,
// NaN, Infinity and -Infinity.
func parseNumeric(text string) (float64, error) {
	switch strings.TrimSpace(text) {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil && !isRangeErr(err) {
		return 0, fmt.Errorf("not a number: %q", truncate(text, 40))
	}
	return v, nil
}

// requireLabel rejects a NULL or empty label value: it would merge the row
// with others or drop its label.
func requireLabel(column string, v *string) (string, error) {
	switch {
	case v == nil || *v == "":
		return "", fmt.Errorf("column %s is NULL or empty", column)
	case !utf8.ValidString(*v):
		return "", fmt.Errorf("column %s is not valid UTF-8", column)
	}
	return *v, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// statusRows is a collector of a check function's rows, read as (name,
// status, value text): a state set per row, and a value where parse finds
// one.
type statusRows struct {
	query      string
	nameColumn string
	known      []string
	statusDesc *prometheus.Desc
	valueDesc  *prometheus.Desc
	// parse turns the value text into a number; false: no value to send.
	parse func(string) (float64, bool, error)
}

var _ Collector = statusRows{}

// Update reads the rows and sends their metrics.
func (s statusRows) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	var name, status, value *string
	return eachRow(ctx, db, s.query, nil, []any{&name, &status, &value}, func() error {
		label, err := requireLabel(s.nameColumn, name)
		if err != nil {
			return err
		}
		st, err := requireLabel("status", status)
		if err != nil {
			return fmt.Errorf("%q: %w", label, err)
		}
		sendStateSet(ch, s.statusDesc, s.known, st, label)
		if value == nil {
			return nil
		}
		v, ok, err := s.parse(*value)
		if err != nil {
			return fmt.Errorf("%q: %w", label, err)
		}
		if ok {
			ch <- prometheus.MustNewConstMetric(s.valueDesc, prometheus.GaugeValue, v, label)
		}
		return nil
	})
}

// numericValue parses a numeric column, scaled (1e-3 turns ms into s).
func numericValue(scale float64) func(string) (float64, bool, error) {
	return func(text string) (float64, bool, error) {
		v, err := parseNumeric(text)
		return v * scale, err == nil, err
	}
}

// detailsNumber takes the first number of a details text, if any.
func detailsNumber(text string) (float64, bool, error) {
	v, ok := firstNumber(text)
	return v, ok, nil
}
