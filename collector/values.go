package collector

import (
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
