package collector

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Fuzz tests of reading values out of check-function rows (values.go). Their
// seed corpora run in plain go test; go test -fuzz FuzzX explores further.

// fzHuge is a numeric far outside float64's range, as PostgreSQL prints it.
var fzHuge = strings.Repeat("9", 500)

// fzTiny is a positive numeric far below float64's smallest subnormal.
var fzTiny = "0." + strings.Repeat("0", 500) + "1"

// fzTexts are details, numeric and label texts a database might return.
var fzTexts = []string{
	"", " ", "0", "-0", "+0", "0.0", "-0.0", "3", "42.5", "-7", "1e3", "1E-3", "1e400", "-1e400", "1e-400",
	fzHuge, "-" + fzHuge, fzTiny, fzHuge + "." + fzHuge,
	"NaN", "nan", "Infinity", "-Infinity", "+Infinity", "inf", "+Inf", " 12 ", "\t3.5\n",
	"3 筆 dim_date 記錄有無效的 campaign_id", "0 筆假期記錄尚未同步到 dim_date", "1 對活動期間有重疊",
	"原始營收: 12345.67, 歸因營收: 12000.00", "平均歸因權重: 0.75", "平均歸因權重: ",
	"３ 筆", "٣ 筆", "一千", "1,234 筆", "1.2.3", "1e", "1e+", ".5", "5.", "--5", "+-5", "0x1p-2", "1_000",
	"\xff\xfe", "a\x00b", "PASS", "WARNING", "FAIL", "INFO", "GOOD", "SLOW", "pass", "UNKNOWN",
	"Campaign ID Integrity", "檢查", "x\"y", "line\nbreak", "\u00a0", "\u2028",
}

// fzEqual is float equality where NaN equals NaN and 0 differs from -0.
func fzEqual(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

// fzParseFloat is strconv.ParseFloat, out-of-range values as ±Inf or 0.
func fzParseFloat(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil || errors.Is(err, strconv.ErrRange)
}

// fzPGNumeric tells whether s is a finite numeric as PostgreSQL prints it:
// an optional minus, digits, and optionally a point and more digits.
func fzPGNumeric(s string) bool {
	whole, frac, point := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	return fzDigits(whole) && (!point || fzDigits(frac))
}

func fzDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// fzNearest is the float64 nearest the decimal s (fzPGNumeric), by exact
// rational arithmetic: ±Inf beyond float64's range, a zero of s's sign
// below it.
func fzNearest(s string) float64 {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("not a decimal: " + s)
	}
	v, _ := r.Float64()
	if v == 0 && strings.HasPrefix(s, "-") {
		return math.Copysign(0, -1)
	}
	return v
}

// fzSpecial tells whether s is a spelling of NaN or an infinity that
// strconv.ParseFloat documents it accepts, in any case.
func fzSpecial(s string) bool {
	for _, w := range []string{"nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"} {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}

// fzScanNumber is the leftmost decimal number of text (an optional sign, digits,
// an optional fraction, an optional exponent), found by hand rather than by
// the implementation's regular expression, so the fuzz test has a second
// method to compare with.
func fzScanNumber(text string) string {
	digit := func(i int) bool { return i < len(text) && text[i] >= '0' && text[i] <= '9' }
	digits := func(i int) int {
		for digit(i) {
			i++
		}
		return i
	}
	for start := 0; start < len(text); start++ {
		i := start
		if (text[i] == '+' || text[i] == '-') && digit(i+1) {
			i++
		}
		if !digit(i) {
			continue
		}
		i = digits(i)
		if i < len(text) && text[i] == '.' && digit(i+1) {
			i = digits(i + 1)
		}
		if i < len(text) && (text[i] == 'e' || text[i] == 'E') {
			j := i + 1
			if j < len(text) && (text[j] == '+' || text[j] == '-') {
				j++
			}
			if digit(j) {
				i = digits(j)
			}
		}
		return text[start:i]
	}
	return ""
}

// firstNumber finds a number whenever the text holds an ASCII decimal, it
// is the leftmost one, never NaN, and a count leading a details text such
// as "N 筆 ..." is read exactly.
func FuzzFirstNumber(f *testing.F) {
	for i, s := range fzTexts {
		f.Add(s, int64(i)-5)
	}
	f.Add("", int64(math.MaxInt64))
	f.Add("筆", int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, text string, n int64) {
		v, ok := firstNumber(text)
		m := fzScanNumber(text)
		if ok != (m != "") {
			t.Fatalf("firstNumber(%q) ok=%v, but the leftmost match is %q", text, ok, m)
		}
		if !strings.ContainsAny(text, "0123456789") && ok {
			t.Fatalf("firstNumber(%q) = %v without a digit", text, v)
		}
		if ok {
			want, _ := fzParseFloat(m)
			if math.IsNaN(v) || !fzEqual(v, want) {
				t.Fatalf("firstNumber(%q) = %v, want %v (from %q)", text, v, want, m)
			}
		}

		details := strconv.FormatInt(n, 10) + " 筆 " + text
		if v, ok := firstNumber(details); !ok || v != float64(n) {
			t.Fatalf("firstNumber(%q) = %v, %v; want %v", details, v, ok, float64(n))
		}
	})
}

// parseNumeric reads PostgreSQL's numeric output (decimals of any length,
// NaN, ±Infinity) as the nearest float64, found here by exact rational
// arithmetic; rejects text without a digit that is no spelling of NaN or an
// infinity; otherwise accepts exactly what strconv.ParseFloat does (out of
// range as ±Inf or 0); rejects with a short message; and reads back every
// float64 strconv formats, bit for bit.
func FuzzParseNumeric(f *testing.F) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e21, 1e-7, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(), 12345.67}
	for i, s := range fzTexts {
		f.Add(s, floats[i%len(floats)])
	}
	f.Fuzz(func(t *testing.T, text string, x float64) {
		v, err := parseNumeric(text)
		trimmed := strings.TrimSpace(text)
		var want float64
		var parses bool
		switch {
		case trimmed == "NaN":
			want, parses = math.NaN(), true
		case trimmed == "Infinity":
			want, parses = math.Inf(1), true
		case trimmed == "-Infinity":
			want, parses = math.Inf(-1), true
		case fzPGNumeric(trimmed):
			want, parses = fzNearest(trimmed), true
		case !strings.ContainsAny(trimmed, "0123456789") && !fzSpecial(trimmed):
			parses = false
		default: // exponents, signs, hexadecimal, underscores, ...
			want, parses = fzParseFloat(trimmed)
		}
		switch {
		case err != nil && parses:
			t.Fatalf("parseNumeric(%q): %v; ParseFloat reads %v", text, err, want)
		case err != nil && len(err.Error()) > 200:
			t.Fatalf("parseNumeric(%q): error of %d bytes", text, len(err.Error()))
		case err == nil && !parses:
			t.Fatalf("parseNumeric(%q) = %v, but it is not a number", text, v)
		case err == nil && !fzEqual(v, want):
			t.Fatalf("parseNumeric(%q) = %v, want %v", text, v, want)
		}

		for _, format := range []byte{'g', 'f', 'e'} {
			s := strconv.FormatFloat(x, format, -1, 64)
			got, err := parseNumeric(s)
			if err != nil || !fzEqual(got, x) {
				t.Fatalf("parseNumeric(%q) = %v, %v; want %v", s, got, err, x)
			}
		}
	})
}

// requireLabel rejects NULL, empty and invalid UTF-8 values and accepts
// everything else unchanged; an accepted value builds a metric, and a state
// set over it has one series per state, no duplicates, exactly one 1 (on
// the row's status) and gathers without error.
func FuzzRequireLabel(f *testing.F) {
	for i, s := range fzTexts {
		f.Add(s, i%7 == 0, fzTexts[(i*5)%len(fzTexts)])
	}
	f.Fuzz(func(t *testing.T, value string, null bool, status string) {
		var p *string
		if !null {
			p = &value
		}
		got, err := requireLabel("check_name", p)
		if null || value == "" || !utf8.ValidString(value) {
			if err == nil || !strings.Contains(err.Error(), "check_name") {
				t.Fatalf("requireLabel(%q, null=%v) = %q, %v; want an error naming the column", value, null, got, err)
			}
			return
		}
		if err != nil || got != value {
			t.Fatalf("requireLabel(%q) = %q, %v", value, got, err)
		}
		if _, err := prometheus.NewConstMetric(healthValueDesc, prometheus.GaugeValue, 1, got); err != nil {
			t.Fatalf("NewConstMetric with accepted label %q: %v", got, err)
		}

		st, err := requireLabel("status", &status)
		if err != nil {
			return
		}
		for _, set := range []struct {
			desc  *prometheus.Desc
			known []string
		}{
			{healthStatusDesc, checkStates},
			{attributionStatusDesc, checkStates},
			{performanceStatusDesc, performanceStates},
		} {
			fzCheckStateSet(t, set.desc, set.known, st, got)
		}
	})
}

func fzCheckStateSet(t *testing.T, desc *prometheus.Desc, known []string, status, label string) {
	t.Helper()
	ch := make(chan prometheus.Metric, len(known)+1)
	sendStateSet(ch, desc, known, status, label)
	close(ch)
	var metrics []prometheus.Metric
	for m := range ch {
		metrics = append(metrics, m)
	}
	isKnown := false
	for _, s := range known {
		isKnown = isKnown || s == status
	}
	want := len(known)
	if !isKnown {
		want++
	}
	if len(metrics) != want {
		t.Fatalf("status %q: %d series, want %d", status, len(metrics), want)
	}
	if err := checkDuplicates(metrics); err != nil {
		t.Fatalf("status %q, label %q: %v", status, label, err)
	}
	ones := 0
	for _, m := range metrics {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		if pb.GetGauge().GetValue() == 1 {
			ones++
			if lp := pb.GetLabel(); len(lp) != 2 || lp[0].GetValue() != label || lp[1].GetValue() != status {
				t.Fatalf("status %q, label %q: the 1 is on %v", status, label, lp)
			}
		}
	}
	if ones != 1 {
		t.Fatalf("status %q: %d series with 1, want exactly 1", status, ones)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(fzConst(metrics))
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
}

// fzConst is an unchecked collector of fixed metrics.
type fzConst []prometheus.Metric

func (fzConst) Describe(chan<- *prometheus.Desc) {}

func (c fzConst) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}
