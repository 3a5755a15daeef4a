package collector

// The check command's view of one run. The metrics come from the
// collectors as on a scrape; this file adds what the metrics leave out and
// a person reading a report needs: the text of the check functions' rows
// (details, descriptions, sample dates), kept from the very rows the
// collectors read, and why a run failed.

import (
	"context"
	"fmt"
	"sync"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/jackc/pgx/v5"
)

// CheckFunction is a check function of the contract whose rows the check
// command shows.
type CheckFunction struct {
	Collector string   // the collector that reads it
	Function  string   // its name in the database
	Columns   []string // the columns shown, in the maintenance guide's order
	// query is the collector's own; wide is the same with the text
	// columns the collector does not read appended.
	query, wide string
}

// CheckFunctions are the check functions, in the maintenance guide's order.
var CheckFunctions = []CheckFunction{
	{Collector: "health", Function: "check_campaign_system_health", Columns: []string{"check_name", "status", "details"},
		query: healthRows.query, wide: healthRows.query},
	{Collector: "attribution", Function: "check_attribution_quality", Columns: []string{"check_name", "status", "value", "description"},
		query: attributionRows.query, wide: queries.Get("attribution_rows")},
	{Collector: "holiday_integrity", Function: "check_holiday_data_integrity", Columns: []string{"check_type", "issue_count", "description", "sample_dates"},
		query: holidayIntegrityQuery, wide: queries.Get("holiday_integrity_rows")},
	{Collector: "performance", Function: "monitor_system_performance", Columns: []string{"metric_name", "execution_time_ms", "status"},
		query: performanceRows.query, wide: performanceRows.query},
}

// Row is one row of a check function, column name to text; NULL is "".
type Row map[string]string

// Recorder is a DB that keeps, as text, the rows the check functions'
// collectors read through it. Their queries run in the wide form (the same
// function call, more columns), once: the collector scans the leading
// columns as always and the recorder keeps every column of the same row.
type Recorder struct {
	db DB

	mu   sync.Mutex
	rows map[string][]Row // by collector; present once its query ran
}

var _ DB = (*Recorder)(nil)

// NewRecorder wraps db.
func NewRecorder(db DB) *Recorder { return &Recorder{db: db, rows: map[string][]Row{}} }

// Query runs sql, in its wide form if it is a check function's query.
func (r *Recorder) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	for _, f := range CheckFunctions {
		if sql != f.query {
			continue
		}
		rows, err := r.db.Query(ctx, f.wide, args...)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.rows[f.Collector] = []Row{} // a retry starts afresh
		r.mu.Unlock()
		return &recordingRows{Rows: rows, r: r, collector: f.Collector}, nil
	}
	return r.db.Query(ctx, sql, args...)
}

// QueryRow runs sql unchanged.
func (r *Recorder) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return r.db.QueryRow(ctx, sql, args...)
}

// SendBatch runs b unchanged.
func (r *Recorder) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return r.db.SendBatch(ctx, b)
}

// Ping pings the database.
func (r *Recorder) Ping(ctx context.Context) error { return r.db.Ping(ctx) }

// Reset resets the wrapped pool, as the engine does after lost connections.
func (r *Recorder) Reset() {
	if p, ok := r.db.(interface{ Reset() }); ok {
		p.Reset()
	}
}

// Rows returns the rows the collector's check function returned in the
// last run, and false when its query did not run.
func (r *Recorder) Rows(collector string) ([]Row, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rows, ok := r.rows[collector]
	return append([]Row(nil), rows...), ok
}

// recordingRows hands the collector the leading columns and keeps all.
type recordingRows struct {
	pgx.Rows
	r         *Recorder
	collector string
}

func (w *recordingRows) Scan(dest ...any) error {
	vals, err := w.Values()
	if err != nil {
		return err
	}
	row := Row{}
	for i, fd := range w.FieldDescriptions() {
		if i < len(vals) && vals[i] != nil {
			row[fd.Name] = fmt.Sprint(vals[i])
		} else {
			row[fd.Name] = ""
		}
	}
	// nil destinations skip the columns the collector does not read.
	if extra := len(w.FieldDescriptions()) - len(dest); extra > 0 {
		dest = append(dest, make([]any, extra)...)
	}
	if err := w.Rows.Scan(dest...); err != nil {
		return err
	}
	w.r.mu.Lock()
	w.r.rows[w.collector] = append(w.r.rows[w.collector], row)
	w.r.mu.Unlock()
	return nil
}

// Failures says why the last run failed: the database's error when it
// could not be reached (else ""), and each failed collector's error by
// name. For a one-shot run of a new Exporter, they are that run's.
func (e *Exporter) Failures() (database string, collectors map[string]string) {
	e.pingMu.Lock()
	database = e.lastPingErr
	e.pingMu.Unlock()
	collectors = map[string]string{}
	for _, m := range e.collectors {
		m.mu.Lock()
		if m.lastErr != "" {
			collectors[m.name] = m.lastErr
		}
		m.mu.Unlock()
	}
	return database, collectors
}
