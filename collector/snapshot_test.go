package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Each wide query returns the collector's query's columns first, with the
// same values row for row: the collector reads through the Recorder
// exactly what it reads on a scrape.
func TestWideQueriesExtendTheCollectorsQueries(t *testing.T) {
	db := scenarioDB(t)
	db.Exec(t, "SELECT campaign_inject_faults()")
	for _, f := range CheckFunctions {
		narrowRows, fields := pgtest.Values(t, db.Pool, f.query)
		wideRows, wideFields := pgtest.Values(t, db.Pool, f.wide)
		for i, fd := range fields {
			if wideFields[i].Name != fd.Name || wideFields[i].DataTypeOID != fd.DataTypeOID {
				t.Errorf("%s: wide column %d is %s, the collector's is %s", f.Collector, i, wideFields[i].Name, fd.Name)
			}
		}
		names := map[string]bool{}
		for _, fd := range wideFields {
			names[fd.Name] = true
		}
		for _, c := range f.Columns {
			if !names[c] {
				t.Errorf("%s: shown column %s is not in the wide query", f.Collector, c)
			}
		}
		if len(narrowRows) == 0 || len(narrowRows) != len(wideRows) {
			t.Fatalf("%s: %d rows, wide %d", f.Collector, len(narrowRows), len(wideRows))
		}
		for i := range narrowRows {
			// monitor_system_performance's timings differ between runs.
			for j := range narrowRows[i] {
				if f.Collector == "performance" && fields[j].Name == "execution_time_ms" {
					continue
				}
				if fmt.Sprint(narrowRows[i][j]) != fmt.Sprint(wideRows[i][j]) {
					t.Errorf("%s row %d column %s: %v, wide %v", f.Collector, i, fields[j].Name, narrowRows[i][j], wideRows[i][j])
				}
			}
		}
	}
}

// Through a Recorder the collectors send the same metrics, and the
// recorder keeps the text of the rows they read.
func TestRecorderKeepsRowsAndMetrics(t *testing.T) {
	db := scenarioDB(t)
	db.Exec(t, "SELECT campaign_fault_unsynced_holiday()")
	pool, err := NewPool(db.DSN, DefaultPoolOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rec := NewRecorder(pool)
	for _, name := range []string{"health", "attribution", "holiday_integrity"} {
		direct := single{t, build(name), pool}
		recorded := single{t, build(name), rec}
		want, got := exposition(t, direct), exposition(t, recorded)
		if len(want) == 0 || string(got) != string(want) {
			t.Errorf("%s through the recorder:\n%s\nwant:\n%s", name, got, want)
		}
	}
	rows, ok := rec.Rows("holiday_integrity")
	if !ok || len(rows) != 3 || rows[0]["check_type"] != "MISSING_HOLIDAY_FLAG" || rows[0]["issue_count"] != "1" ||
		rows[0]["sample_dates"] != "{2025-01-02}" || rows[0]["description"] == "" {
		t.Errorf("holiday_integrity rows: %v", rows)
	}
	rows, _ = rec.Rows("health")
	if len(rows) != 3 || rows[1]["details"] != "1 筆假期記錄尚未同步到 dim_date" || rows[1]["status"] != "WARNING" {
		t.Errorf("health rows: %v", rows)
	}
	rows, _ = rec.Rows("attribution")
	if len(rows) != 2 || !strings.HasPrefix(rows[0]["description"], "原始營收: ") {
		t.Errorf("attribution rows: %v", rows)
	}
	if _, ok := rec.Rows("performance"); ok {
		t.Error("performance rows recorded though it never ran")
	}
}

func exposition(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range families {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// Failures names the database's error and each failed collector's.
func TestFailures(t *testing.T) {
	db := scenarioDB(t)
	db.Exec(t, "DROP FUNCTION check_attribution_quality()")
	settings := map[string]Settings{"health": {}, "attribution": {}}
	// gather runs one scrape of exp.
	gather := func(exp *Exporter) error {
		reg := prometheus.NewRegistry()
		reg.MustRegister(exp.Scraper(context.Background()))
		_, err := reg.Gather()
		return err
	}

	exp, _ := newExporter(t, db.DSN, nil, settings)
	if err := gather(exp); err != nil {
		t.Fatal(err)
	}
	dbErr, failed := exp.Failures()
	if dbErr != "" || len(failed) != 1 || !strings.Contains(failed["attribution"], "check_attribution_quality() does not exist") {
		t.Errorf("Failures: %q %v", dbErr, failed)
	}

	down, _ := newExporter(t, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", nil, settings)
	_ = gather(down)
	if dbErr, failed := down.Failures(); dbErr == "" || len(failed) != 0 {
		t.Errorf("database down: Failures %q %v", dbErr, failed)
	}
}
