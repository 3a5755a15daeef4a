package schema_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/campaign-exporter/campaign_exporter/queries"
)

const (
	generateFile = "testdata/demo/generate.sql"
	faultsFile   = "testdata/demo/faults.sql"

	healthSQL    = `SELECT check_name, status, details FROM check_campaign_system_health()`
	qualitySQL   = `SELECT check_name, status, value::text, description FROM check_attribution_quality()`
	integritySQL = `SELECT check_type, issue_count::text, description, sample_dates::text FROM check_holiday_data_integrity()`
	monitorSQL   = `SELECT metric_name, execution_time_ms::text, status FROM monitor_system_performance()`
)

var ctx = context.Background()

// querier is what a pool, a connection and a transaction have in common.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// rowsOf runs a query and returns its rows as strings ("NULL" for NULL).
func rowsOf(t testing.TB, q querier, sql string, args ...any) [][]string {
	t.Helper()
	values, _ := pgtest.Values(t, q, sql, args...)
	var out [][]string // nil for no rows
	for _, vals := range values {
		row := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	return out
}

// one returns the single value of a single-row, single-column query.
func one(t testing.TB, q querier, sql string, args ...any) string {
	t.Helper()
	rows := rowsOf(t, q, sql, args...)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: got %v, want one value", sql, rows)
	}
	return rows[0][0]
}

func mustExec(t testing.TB, q querier, sql string, args ...any) {
	t.Helper()
	if _, err := q.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// inTx runs f in a transaction that is rolled back, so table-driven cases
// can share one database.
func inTx(t *testing.T, db *pgtest.DB, f func(tx pgx.Tx)) {
	t.Helper()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	f(tx)
}

func equal(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func healthRows(orphans, unsynced, overlaps int) [][]string {
	integrity, sync := "PASS", "PASS"
	if orphans > 0 {
		integrity = "FAIL"
	}
	if unsynced > 0 {
		sync = "WARNING"
	}
	return [][]string{
		{"Campaign ID Integrity", integrity, fmt.Sprintf("%d 筆 dim_date 記錄有無效的 campaign_id", orphans)},
		{"Holiday Sync Status", sync, fmt.Sprintf("%d 筆假期記錄尚未同步到 dim_date", unsynced)},
		{"Campaign Overlaps", "INFO", fmt.Sprintf("%d 對活動期間有重疊", overlaps)},
	}
}

// balancedQuality is check_attribution_quality()'s output when all revenue
// (as the check prints it) is attributed, with share the average weight share.
func balancedQuality(revenue, share string) [][]string {
	return [][]string{
		{"Revenue Balance", "PASS", "0.000000", "原始營收: " + revenue + ", 歸因營收: " + revenue},
		{"Weight Distribution", "INFO", share, "平均歸因權重: " + share},
	}
}

var integrityDescriptions = map[string]string{
	"MISSING_HOLIDAY_FLAG":  "holidays 表中的假期在 dim_date 中未標記",
	"ORPHANED_HOLIDAY_FLAG": "dim_date 中標記為假期但不在 holidays 表中",
	"DUPLICATE_HOLIDAYS":    "holidays 表中有重複的日期",
}

func integrityRow(checkType string, n int, samples ...string) []string {
	return []string{checkType, fmt.Sprint(n), integrityDescriptions[checkType], "{" + strings.Join(samples, ",") + "}"}
}

func cleanIntegrity() [][]string {
	return [][]string{
		integrityRow("MISSING_HOLIDAY_FLAG", 0),
		integrityRow("ORPHANED_HOLIDAY_FLAG", 0),
		integrityRow("DUPLICATE_HOLIDAYS", 0),
	}
}

// checkCase is a database state, made by setup inside a rolled-back
// transaction, and the rows a check function should return for it.
type checkCase struct {
	name  string
	setup string
	want  [][]string
}

// runCheckCases runs each case as a subtest: setup, then the check's query.
func runCheckCases(t *testing.T, db *pgtest.DB, check, query string, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inTx(t, db, func(tx pgx.Tx) {
				mustExec(t, tx, tc.setup)
				equal(t, check, rowsOf(t, tx, query), tc.want)
			})
		})
	}
}

func TestHealthCheck(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	cases := []checkCase{
		{"empty", ``, healthRows(0, 0, 0)},
		{"orphaned campaign ids", `
			SELECT ensure_dim_date('2025-01-01', '2025-01-10');
			INSERT INTO campaigns (id, campaign_name, start_date, end_date) VALUES (7, 'kept', '2025-01-01', '2025-01-02');
			UPDATE dim_date SET campaign_id = 999 WHERE date BETWEEN '2025-01-04' AND '2025-01-06';
			UPDATE dim_date SET campaign_id = 7 WHERE date = '2025-01-09';`,
			healthRows(3, 0, 0)},
		{"holidays not synced, counted once per date", `
			SELECT ensure_dim_date('2025-01-01', '2025-01-10');
			ALTER TABLE holidays DISABLE TRIGGER trigger_sync_holidays;
			INSERT INTO holidays (date, name) VALUES
				('2025-01-01', 'a'), ('2025-01-01', 'b'), -- row exists, not flagged
				('2025-03-01', 'c');                      -- no dim_date row at all
			ALTER TABLE holidays ENABLE TRIGGER trigger_sync_holidays;
			SELECT add_holiday('2025-01-05', 'synced');`,
			healthRows(0, 2, 0)},
		{"overlapping pairs, inclusive ranges", `
			INSERT INTO campaigns (campaign_name, start_date, end_date) VALUES
				('A', '2025-01-01', '2025-01-10'),
				('B', '2025-01-10', '2025-01-20'), -- touches A on the 10th
				('C', '2025-01-21', '2025-01-30'), -- starts the day after B ends
				('D', '2025-01-01', '2025-01-30'), -- overlaps all three
				('E', '2025-03-01', '2025-03-01'),
				('F', '2025-03-01', '2025-03-01'); -- same single day as E`,
			healthRows(0, 0, 5)},
	}
	runCheckCases(t, db, "check_campaign_system_health()", healthSQL, cases)
}

// bruteOverlaps counts overlapping pairs the quadratic way.
func bruteOverlaps(cs []campaign) int {
	n := 0
	for i := range cs {
		for j := i + 1; j < len(cs); j++ {
			if cs[i].start <= cs[j].end && cs[j].start <= cs[i].end {
				n++
			}
		}
	}
	return n
}

func TestCampaignOverlapsMatchBruteForce(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	// dim_date stays empty, so the campaign trigger has nothing to update.
	for _, n := range []int{1, 2, 30, 500, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			inTx(t, db, func(tx pgx.Tx) {
				mustExec(t, tx, `SELECT setseed(0.3);
					INSERT INTO campaigns (campaign_name, start_date, end_date)
					SELECT 'c' || i, s, s + floor(random() * random() * 90)::int
					FROM (SELECT i, DATE '2020-01-01' + floor(random() * 2000)::int AS s
					      FROM generate_series(1, `+fmt.Sprint(n)+`) i) x`)
				cs := loadCampaigns(t, tx)
				start := time.Now()
				got := rowsOf(t, tx, healthSQL)
				elapsed := time.Since(start)
				equal(t, "health", got, healthRows(0, 0, bruteOverlaps(cs)))
				// A self-join over 10k campaigns takes seconds; the sweep, milliseconds.
				if elapsed > time.Second {
					t.Errorf("check_campaign_system_health() took %v with %d campaigns", elapsed, n)
				}
			})
		})
	}
}

func TestAttributionQuality(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	const days = `SELECT ensure_dim_date('2025-01-01', '2025-01-31');`
	cases := []checkCase{
		{"empty", days, balancedQuality("0.00", "0.0000")},
		{"the guide's 0.6250", days + `
			INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight) VALUES
				('solo', '2025-01-01', '2025-01-01', 2),
				('x', '2025-01-02', '2025-01-02', 1), ('y', '2025-01-02', '2025-01-02', 3);
			INSERT INTO orders (order_date, total_amount, status) VALUES
				-- 2 orders x 1 campaign (share 1) + 3 orders x 2 campaigns (0.25 + 0.75): 5/8
				('2025-01-01', 100.10, 'paid'), ('2025-01-01', 0.01, 'completed'),
				('2025-01-02', 33.33, 'shipped'), ('2025-01-02', 10, 'delivered'), ('2025-01-02', 1, 'processing'),
				-- unattributed (no campaign), counted in both sides but not in the average
				('2025-01-05', 1000, 'paid'),
				-- not revenue
				('2025-01-01', 999, 'pending'), ('2025-01-01', 999, 'cancelled'), ('2025-01-02', 999, 'refunded'),
				('2025-01-02', NULL, 'paid');`,
			balancedQuality("1144.44", "0.6250")},
		{"thirds add up without rounding", days + `
			INSERT INTO campaigns (campaign_name, start_date, end_date) SELECT 'c' || i, '2025-01-01', '2025-01-31' FROM generate_series(1, 3) i;
			INSERT INTO orders (order_date, total_amount, status) SELECT DATE '2025-01-01' + i % 31, 0.01, 'paid' FROM generate_series(1, 3000) i;`,
			balancedQuality("30.00", "0.3333")},
		{"only unattributed orders", days + `
			INSERT INTO orders (order_date, total_amount, status) VALUES ('2025-01-03', 12.5, 'paid');`,
			balancedQuality("12.50", "0.0000")},
		{"orders on days missing from dim_date", days + `
			INSERT INTO campaigns (campaign_name, start_date, end_date) VALUES ('c', '2025-01-01', '2025-03-31');
			INSERT INTO orders (order_date, total_amount, status) VALUES
				('2025-01-03', 12.5, 'paid'), ('2025-02-01', 7.25, 'paid'), ('2025-02-02', 0.01, 'paid');`,
			[][]string{
				{"Revenue Balance", "FAIL", "7.260000", "原始營收: 19.76, 歸因營收: 12.50"},
				{"Weight Distribution", "INFO", "1.0000", "平均歸因權重: 1.0000"},
			}},
		{"a cent off is still within tolerance", days + `
			INSERT INTO orders (order_date, total_amount, status) VALUES ('2025-01-03', 12.5, 'paid'), ('2025-02-01', 0.01, 'paid');`,
			[][]string{
				{"Revenue Balance", "PASS", "0.010000", "原始營收: 12.51, 歸因營收: 12.50"},
				{"Weight Distribution", "INFO", "0.0000", "平均歸因權重: 0.0000"},
			}},
	}
	runCheckCases(t, db, "check_attribution_quality()", qualitySQL, cases)
}

func TestHolidayDataIntegrity(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	const days = `SELECT ensure_dim_date('2025-01-01', '2025-01-31');`
	cases := []checkCase{
		{"empty", ``, cleanIntegrity()},
		{"synced holidays", days + `SELECT add_holiday('2025-01-01', '元旦'), add_holiday('2025-06-01', 'outside dim_date');`, cleanIntegrity()},
		{"missing flags, first 10 of 12 ascending", days + `
			ALTER TABLE holidays DISABLE TRIGGER trigger_sync_holidays;
			INSERT INTO holidays (date, name)
			SELECT DATE '2025-01-20' - i, 'h' || i FROM generate_series(0, 10) i  -- 2025-01-10 .. 2025-01-20
			UNION ALL SELECT '2025-01-15', 'duplicate of a missing date'
			UNION ALL SELECT '2025-07-01', 'no dim_date row';
			ALTER TABLE holidays ENABLE TRIGGER trigger_sync_holidays;`,
			[][]string{
				integrityRow("MISSING_HOLIDAY_FLAG", 12, "2025-01-10", "2025-01-11", "2025-01-12", "2025-01-13", "2025-01-14",
					"2025-01-15", "2025-01-16", "2025-01-17", "2025-01-18", "2025-01-19"),
				integrityRow("ORPHANED_HOLIDAY_FLAG", 0),
				integrityRow("DUPLICATE_HOLIDAYS", 1, "2025-01-15"),
			}},
		{"orphaned flags", days + `
			SELECT add_holiday('2025-01-01', '元旦');
			UPDATE dim_date SET is_holiday = true WHERE date IN ('2025-01-31', '2025-01-02');
			UPDATE dim_date SET holiday_name = 'name only, not flagged' WHERE date = '2025-01-03';`,
			[][]string{
				integrityRow("MISSING_HOLIDAY_FLAG", 0),
				integrityRow("ORPHANED_HOLIDAY_FLAG", 2, "2025-01-02", "2025-01-31"),
				integrityRow("DUPLICATE_HOLIDAYS", 0),
			}},
		{"duplicates counted per date", days + `
			SELECT add_holiday('2025-01-05', 'a'), add_holiday('2025-01-05', 'b'), add_holiday('2025-01-05', 'c'),
			       add_holiday('2025-01-02', 'd'), add_holiday('2025-01-02', 'e'), add_holiday('2025-01-09', 'single');`,
			[][]string{
				integrityRow("MISSING_HOLIDAY_FLAG", 0),
				integrityRow("ORPHANED_HOLIDAY_FLAG", 0),
				integrityRow("DUPLICATE_HOLIDAYS", 2, "2025-01-02", "2025-01-05"),
			}},
	}
	runCheckCases(t, db, "check_holiday_data_integrity()", integritySQL, cases)
}

func TestHolidayTrigger(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	mustExec(t, db.Pool, `SELECT ensure_dim_date('2025-01-01', '2025-01-31');
		INSERT INTO campaigns (campaign_name, start_date, end_date) VALUES ('c', '2025-03-01', '2025-03-31')`)
	const state = `SELECT date::text, is_holiday::text, coalesce(holiday_name, 'NULL'), coalesce(campaign_id::text, 'NULL')
		FROM dim_date WHERE date IN ('2025-01-01', '2025-01-02', '2025-01-03', '2025-03-05') ORDER BY date`
	steps := []struct {
		name string
		sql  string
		want [][]string
	}{
		{"insert flags the date", `INSERT INTO holidays (date, name, created_at) VALUES ('2025-01-01', 'second', '2025-06-01')`, [][]string{
			{"2025-01-01", "true", "second", "NULL"}, {"2025-01-02", "false", "NULL", "NULL"}, {"2025-01-03", "false", "NULL", "NULL"}}},
		{"an earlier row's name wins", `INSERT INTO holidays (date, name, created_at) VALUES ('2025-01-01', 'first', '2025-05-01')`, [][]string{
			{"2025-01-01", "true", "first", "NULL"}, {"2025-01-02", "false", "NULL", "NULL"}, {"2025-01-03", "false", "NULL", "NULL"}}},
		{"a later row changes nothing", `INSERT INTO holidays (date, name, created_at) VALUES ('2025-01-01', 'third', '2025-07-01')`, [][]string{
			{"2025-01-01", "true", "first", "NULL"}, {"2025-01-02", "false", "NULL", "NULL"}, {"2025-01-03", "false", "NULL", "NULL"}}},
		{"same created_at: lowest id wins", `INSERT INTO holidays (date, name, created_at) VALUES ('2025-01-02', 'id-low', '2025-05-01'), ('2025-01-02', 'id-high', '2025-05-01')`, [][]string{
			{"2025-01-01", "true", "first", "NULL"}, {"2025-01-02", "true", "id-low", "NULL"}, {"2025-01-03", "false", "NULL", "NULL"}}},
		{"renaming the earliest row", `UPDATE holidays SET name = 'renamed' WHERE name = 'first'`, [][]string{
			{"2025-01-01", "true", "renamed", "NULL"}, {"2025-01-02", "true", "id-low", "NULL"}, {"2025-01-03", "false", "NULL", "NULL"}}},
		{"moving the earliest row to another date", `UPDATE holidays SET date = '2025-01-03' WHERE name = 'renamed'`, [][]string{
			{"2025-01-01", "true", "second", "NULL"}, {"2025-01-02", "true", "id-low", "NULL"}, {"2025-01-03", "true", "renamed", "NULL"}}},
		{"moving the only row clears the old date", `UPDATE holidays SET date = '2025-01-02' WHERE name = 'renamed'`, [][]string{
			{"2025-01-01", "true", "second", "NULL"}, {"2025-01-02", "true", "renamed", "NULL"}, {"2025-01-03", "false", "NULL", "NULL"}}},
		{"deleting one of several rows", `DELETE FROM holidays WHERE name = 'second'`, [][]string{
			{"2025-01-01", "true", "third", "NULL"}, {"2025-01-02", "true", "renamed", "NULL"}, {"2025-01-03", "false", "NULL", "NULL"}}},
		{"deleting the last row clears the date", `DELETE FROM holidays WHERE date = '2025-01-01'`, [][]string{
			{"2025-01-01", "false", "NULL", "NULL"}, {"2025-01-02", "true", "renamed", "NULL"}, {"2025-01-03", "false", "NULL", "NULL"}}},
		{"a missing dim_date row is created with its campaign", `SELECT add_holiday('2025-03-05', 'new')`, [][]string{
			{"2025-01-01", "false", "NULL", "NULL"}, {"2025-01-02", "true", "renamed", "NULL"}, {"2025-01-03", "false", "NULL", "NULL"},
			{"2025-03-05", "true", "new", "1"}}},
		{"deleting it keeps the row, unflagged", `DELETE FROM holidays WHERE date = '2025-03-05'`, [][]string{
			{"2025-01-01", "false", "NULL", "NULL"}, {"2025-01-02", "true", "renamed", "NULL"}, {"2025-01-03", "false", "NULL", "NULL"},
			{"2025-03-05", "false", "NULL", "1"}}},
	}
	for _, s := range steps {
		mustExec(t, db.Pool, s.sql)
		equal(t, s.name, rowsOf(t, db.Pool, state), s.want)
		// Duplicates are allowed here; missing and stray flags are not.
		equal(t, s.name+": integrity", rowsOf(t, db.Pool, integritySQL)[:2], cleanIntegrity()[:2])
	}
}

func TestCampaignTrigger(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	mustExec(t, db.Pool, `SELECT ensure_dim_date('2025-01-01', '2025-02-28')`)
	const primary = `SELECT coalesce(campaign_id, 0) FROM dim_date WHERE date = $1`
	steps := []struct {
		name string
		sql  string
		want map[string]int64 // spot checks; the whole table is also checked against Go
	}{
		{"first campaign", `INSERT INTO campaigns (id, campaign_name, start_date, end_date, attribution_weight) VALUES (10, 'A', '2025-01-05', '2025-01-20', 1)`,
			map[string]int64{"2025-01-04": 0, "2025-01-05": 10, "2025-01-20": 10, "2025-01-21": 0}},
		{"heavier overlapping campaign wins", `INSERT INTO campaigns (id, campaign_name, start_date, end_date, attribution_weight) VALUES (20, 'B', '2025-01-15', '2025-01-25', 2)`,
			map[string]int64{"2025-01-14": 10, "2025-01-15": 20, "2025-01-20": 20, "2025-01-25": 20, "2025-01-26": 0}},
		{"equal weight: earlier start wins", `INSERT INTO campaigns (id, campaign_name, start_date, end_date, attribution_weight) VALUES (5, 'C', '2025-01-16', '2025-01-18', 2)`,
			map[string]int64{"2025-01-15": 20, "2025-01-16": 20, "2025-01-18": 20}},
		{"equal weight and start: lowest id wins", `INSERT INTO campaigns (id, campaign_name, start_date, end_date, attribution_weight) VALUES (15, 'D', '2025-01-15', '2025-01-16', 2), (30, 'E', '2025-01-15', '2025-01-17', 2)`,
			map[string]int64{"2025-01-15": 15, "2025-01-16": 15, "2025-01-17": 20}},
		{"weight raised", `UPDATE campaigns SET attribution_weight = 5 WHERE id = 10`,
			map[string]int64{"2025-01-15": 10, "2025-01-20": 10, "2025-01-21": 20}},
		{"moved to a disjoint range", `UPDATE campaigns SET start_date = '2025-02-01', end_date = '2025-02-10' WHERE id = 10`,
			map[string]int64{"2025-01-05": 0, "2025-01-15": 15, "2025-01-20": 20, "2025-02-01": 10, "2025-02-10": 10}},
		{"shrunk", `UPDATE campaigns SET end_date = '2025-02-03' WHERE id = 10`,
			map[string]int64{"2025-02-03": 10, "2025-02-04": 0}},
		{"renamed only", `UPDATE campaigns SET campaign_name = 'A2' WHERE id = 10`,
			map[string]int64{"2025-02-03": 10}},
		{"deleted: the next campaign takes over", `DELETE FROM campaigns WHERE id = 15`,
			map[string]int64{"2025-01-15": 20, "2025-01-16": 20}},
		{"deleted: no campaign left", `DELETE FROM campaigns WHERE id = 10`,
			map[string]int64{"2025-02-01": 0}},
		{"bulk update of every campaign", `UPDATE campaigns SET start_date = start_date + 3, end_date = end_date + 3`,
			map[string]int64{"2025-01-15": 0, "2025-01-18": 20}},
		{"range beyond dim_date", `INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight) VALUES ('wide', '2024-12-01', '2025-06-30', 0.5)`,
			// Explicit ids above left the sequence alone: this one is id 1.
			map[string]int64{"2025-01-01": 1, "2025-01-18": 20, "2025-02-28": 1}},
	}
	for _, s := range steps {
		mustExec(t, db.Pool, s.sql)
		for day, want := range s.want {
			if got := one(t, db.Pool, primary, day); got != fmt.Sprint(want) {
				t.Errorf("%s: campaign_id on %s = %s, want %d", s.name, day, got, want)
			}
		}
		checkPrimaryAgainstGo(t, db.Pool, s.name)
	}
	if n := one(t, db.Pool, `SELECT count(*) FROM dim_date`); n != "59" {
		t.Errorf("the campaign trigger changed the number of dim_date rows to %s", n)
	}
}

// checkPrimaryAgainstGo compares every dim_date.campaign_id with the primary
// campaign computed in Go from the campaigns table.
func checkPrimaryAgainstGo(t *testing.T, q querier, what string) {
	t.Helper()
	want := goPrimary(loadCampaigns(t, q))
	for _, r := range rowsOf(t, q, `SELECT date - DATE '2000-01-01', coalesce(campaign_id, 0) FROM dim_date ORDER BY date`) {
		var day int
		var got int64
		mustScan(t, r[0], &day)
		mustScan(t, r[1], &got)
		if got != want(day) {
			t.Errorf("%s: day %d: campaign_id %d, want %d", what, day, got, want(day))
		}
	}
}

func TestEnsureDimDate(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	mustExec(t, db.Pool, `
		INSERT INTO dim_date (date) VALUES ('2024-02-29');  -- just the date: the rest is generated or defaulted
		SELECT add_holiday('2024-03-02', 'early'), add_holiday('2024-02-27', 'outside');
		INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight) VALUES
			('light', '2024-02-20', '2024-03-10', 1), ('heavy', '2024-03-01', '2024-03-01', 2)`)
	equal(t, "rows added", one(t, db.Pool, `SELECT ensure_dim_date('2024-02-28', '2024-03-03')`), "3")
	equal(t, "rows added again", one(t, db.Pool, `SELECT ensure_dim_date('2024-02-28', '2024-03-03')`), "0")
	equal(t, "reversed range", one(t, db.Pool, `SELECT ensure_dim_date('2024-03-03', '2024-02-28')`), "0")
	equal(t, "dim_date", rowsOf(t, db.Pool, `
		SELECT date::text, year::text, quarter::text, month::text, day::text, day_of_week::text, day_of_year::text,
		       week_of_year::text, is_weekend::text, is_holiday::text, coalesce(holiday_name, '-'), coalesce(campaign_id::text, '-')
		FROM dim_date ORDER BY date`), [][]string{
		{"2024-02-27", "2024", "1", "2", "27", "2", "58", "9", "false", "true", "outside", "1"}, // created by the holiday trigger
		{"2024-02-28", "2024", "1", "2", "28", "3", "59", "9", "false", "false", "-", "1"},
		// Inserted with just its date; the campaign trigger set its campaign.
		{"2024-02-29", "2024", "1", "2", "29", "4", "60", "9", "false", "false", "-", "1"},
		{"2024-03-01", "2024", "1", "3", "1", "5", "61", "9", "false", "false", "-", "2"},
		{"2024-03-02", "2024", "1", "3", "2", "6", "62", "9", "true", "true", "early", "1"},
		{"2024-03-03", "2024", "1", "3", "3", "7", "63", "9", "true", "false", "-", "1"},
	})
	equal(t, "health", rowsOf(t, db.Pool, healthSQL), healthRows(0, 0, 1))
	equal(t, "integrity", rowsOf(t, db.Pool, integritySQL), cleanIntegrity())
}

func TestAddHoliday(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	equal(t, "first id", one(t, db.Pool, `SELECT add_holiday('2025-12-25', '測試假期')`), "1")
	equal(t, "second id", one(t, db.Pool, `SELECT add_holiday('2025-12-25', '測試假期')`), "2")
	equal(t, "dim_date", rowsOf(t, db.Pool, `SELECT date::text, is_holiday::text, holiday_name FROM dim_date`),
		[][]string{{"2025-12-25", "true", "測試假期"}})
}

func TestSyncAllExistingHolidays(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	mustExec(t, db.Pool, `
		SELECT ensure_dim_date('2025-01-01', '2025-01-10');
		SELECT add_holiday('2025-01-01', '元旦');
		INSERT INTO campaigns (campaign_name, start_date, end_date) VALUES ('c', '2025-01-01', '2025-12-31');
		ALTER TABLE holidays DISABLE TRIGGER trigger_sync_holidays;
		INSERT INTO holidays (date, name, created_at) VALUES
			('2025-01-02', 'unsynced', now()),
			('2025-01-01', 'earlier name', now() - interval '1 day'),  -- renames 01-01
			('2025-02-01', 'no dim_date row', now());
		ALTER TABLE holidays ENABLE TRIGGER trigger_sync_holidays;
		UPDATE dim_date SET is_holiday = true, holiday_name = 'stray' WHERE date = '2025-01-05';
		UPDATE dim_date SET holiday_name = 'name without flag' WHERE date = '2025-01-06';`)
	equal(t, "integrity before", rowsOf(t, db.Pool, integritySQL), [][]string{
		integrityRow("MISSING_HOLIDAY_FLAG", 2, "2025-01-02", "2025-02-01"),
		integrityRow("ORPHANED_HOLIDAY_FLAG", 1, "2025-01-05"),
		integrityRow("DUPLICATE_HOLIDAYS", 1, "2025-01-01"),
	})
	// 01-01 renamed, 01-02 flagged, 01-05 and 01-06 cleared, 02-01 created.
	equal(t, "rows changed", one(t, db.Pool, `SELECT sync_all_existing_holidays()`), "5")
	equal(t, "dim_date", rowsOf(t, db.Pool, `
		SELECT date::text, is_holiday::text, coalesce(holiday_name, '-'), coalesce(campaign_id::text, '-')
		FROM dim_date WHERE is_holiday OR holiday_name IS NOT NULL OR date > '2025-01-10' ORDER BY date`), [][]string{
		{"2025-01-01", "true", "earlier name", "1"},
		{"2025-01-02", "true", "unsynced", "1"},
		{"2025-02-01", "true", "no dim_date row", "1"},
	})
	equal(t, "backups", rowsOf(t, db.Pool, `
		SELECT date::text, is_holiday::text, coalesce(holiday_name, '-'), campaign_id::text, reason
		FROM dim_date_backup ORDER BY date`), [][]string{
		{"2025-01-01", "true", "元旦", "1", "sync_all_existing_holidays"},
		{"2025-01-02", "false", "-", "1", "sync_all_existing_holidays"},
		{"2025-01-05", "true", "stray", "1", "sync_all_existing_holidays"},
		{"2025-01-06", "false", "name without flag", "1", "sync_all_existing_holidays"},
	})
	equal(t, "health after", rowsOf(t, db.Pool, healthSQL), healthRows(0, 0, 0))
	equal(t, "rows changed again", one(t, db.Pool, `SELECT sync_all_existing_holidays()`), "0")
	equal(t, "backups again", one(t, db.Pool, `SELECT count(*) FROM dim_date_backup`), "4")
}

func TestCleanupLegacyCampaignNames(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	mustExec(t, db.Pool, `
		SELECT ensure_dim_date('2025-01-01', '2025-01-05');
		INSERT INTO campaigns (campaign_name, start_date, end_date) VALUES ('new', '2025-01-01', '2025-01-02');
		UPDATE dim_date SET campaign_name = 'legacy ' || extract(day FROM date);`)
	equal(t, "rows changed", one(t, db.Pool, `SELECT cleanup_legacy_campaign_names()`), "2")
	equal(t, "dim_date", rowsOf(t, db.Pool, `
		SELECT date::text, coalesce(campaign_id::text, '-'), coalesce(campaign_name, '-') FROM dim_date ORDER BY date`), [][]string{
		{"2025-01-01", "1", "-"}, {"2025-01-02", "1", "-"},
		// No campaign_id: the legacy name is all there is, so it stays.
		{"2025-01-03", "-", "legacy 3"}, {"2025-01-04", "-", "legacy 4"}, {"2025-01-05", "-", "legacy 5"},
	})
	equal(t, "backups", rowsOf(t, db.Pool, `
		SELECT date::text, campaign_id::text, campaign_name, reason FROM dim_date_backup ORDER BY date`), [][]string{
		{"2025-01-01", "1", "legacy 1", "cleanup_legacy_campaign_names"},
		{"2025-01-02", "1", "legacy 2", "cleanup_legacy_campaign_names"},
	})
	equal(t, "rows changed again", one(t, db.Pool, `SELECT cleanup_legacy_campaign_names()`), "0")
}

func TestCalculateCampaignAttributions(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	mustExec(t, db.Pool, `
		SELECT ensure_dim_date('2025-01-01', '2025-01-31');
		INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight) VALUES
			('A', '2025-01-01', '2025-01-10', 1), ('B', '2025-01-10', '2025-01-20', 3), ('idle', '2025-01-10', '2025-01-10', 1);
		INSERT INTO orders (order_date, total_amount, status) VALUES
			('2025-01-10', 50, 'completed'), ('2025-01-10', 25.5, 'paid'), ('2025-01-10', NULL, 'paid'), ('2025-01-10', 5, 'pending'),
			('2025-01-25', 10, 'shipped');`)
	cases := []struct {
		date string
		want string
	}{
		{"2025-01-10", `{"date": "2025-01-10", "order_count": 2, "total_revenue": 75.5, "attributed_revenue": 75.5, "unattributed_revenue": 0,
			"campaigns": [
				{"campaign_id": 1, "campaign_name": "A", "weight_share": 0.2, "attributed_revenue": 15.1, "order_count": 2},
				{"campaign_id": 2, "campaign_name": "B", "weight_share": 0.6, "attributed_revenue": 45.3, "order_count": 2},
				{"campaign_id": 3, "campaign_name": "idle", "weight_share": 0.2, "attributed_revenue": 15.1, "order_count": 2}]}`},
		{"2025-01-15", `{"date": "2025-01-15", "order_count": 0, "total_revenue": 0, "attributed_revenue": 0, "unattributed_revenue": 0,
			"campaigns": [{"campaign_id": 2, "campaign_name": "B", "weight_share": 1, "attributed_revenue": 0, "order_count": 0}]}`},
		{"2025-01-25", `{"date": "2025-01-25", "order_count": 1, "total_revenue": 10, "attributed_revenue": 0, "unattributed_revenue": 10, "campaigns": []}`},
	}
	for _, tc := range cases {
		got := one(t, db.Pool, `SELECT calculate_campaign_attributions($1)::text`, tc.date)
		if err := jsonEqual(got, tc.want); err != nil {
			t.Errorf("calculate_campaign_attributions(%s): %v\n got %s", tc.date, err, got)
		}
	}
}

func TestCompareAttributionMethods(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	mustExec(t, db.Pool, `
		SELECT ensure_dim_date('2025-01-01', '2025-01-31');
		INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight) VALUES
			('A', '2025-01-01', '2025-01-10', 1), ('B', '2025-01-10', '2025-01-20', 3),
			('C', '2025-01-21', '2025-01-30', 1), ('D', '2025-01-01', '2025-01-30', 1),
			('before', '2024-12-01', '2024-12-31', 1);
		INSERT INTO orders (order_date, total_amount, status) VALUES
			('2025-01-01', 100, 'paid'), ('2025-01-10', 50, 'completed'), ('2025-01-10', 5, 'pending'),
			('2025-01-31', 10, 'paid'), ('2025-02-01', 1000, 'paid');`)
	equal(t, "January", rowsOf(t, db.Pool, `
		SELECT campaign_id::text, campaign_name, round(layered_revenue, 10)::text,
		       round(primary_campaign_revenue, 10)::text, round(equal_split_revenue, 10)::text
		FROM compare_attribution_methods(DATE '2025-01-01', DATE '2025-01-31')`), [][]string{
		// 01-01: A and D share 100 (primary A, the lower id); 01-10: A, B, D share 50 (B is primary).
		{"1", "A", "60.0000000000", "100.0000000000", "66.6666666667"},
		{"2", "B", "30.0000000000", "50.0000000000", "16.6666666667"},
		{"3", "C", "0.0000000000", "0.0000000000", "0.0000000000"},
		{"4", "D", "60.0000000000", "0.0000000000", "66.6666666667"},
	})
	equal(t, "no campaigns", rowsOf(t, db.Pool, `SELECT * FROM compare_attribution_methods(DATE '2025-02-01', DATE '2025-02-28')`), [][]string(nil))
}

func TestIntervalToMs(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	for in, want := range map[string]string{
		"0":                    "0.000",
		"1.5 milliseconds":     "1.500",
		"2.5 seconds":          "2500.000",
		"1 minute 2.5 seconds": "62500.000", // EXTRACT(MILLISECONDS ...) would say 2500
		"1 hour 1 second":      "3601000.000",
		"1 day":                "86400000.000",
	} {
		equal(t, in, one(t, db.Pool, `SELECT interval_to_ms($1::interval)::text`, in), want)
	}
	equal(t, "volatility", one(t, db.Pool, `SELECT provolatile::text FROM pg_proc WHERE proname = 'interval_to_ms'`), "i")
}

func TestMonitorSystemPerformance(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	rows := rowsOf(t, db.Pool, `SELECT metric_name, (execution_time_ms >= 0 AND execution_time_ms < 1000)::text, status FROM monitor_system_performance()`)
	equal(t, "rows", rows, [][]string{{"Attribution Calculation", "true", "GOOD"}, {"Analysis View Query", "true", "GOOD"}})
}

// TestCountingTheViewSkipsTheAggregates: a count of
// revenue_attribution_analysis (the inventory collector, the performance
// self-test) is planned without the view's per-day aggregate of the orders,
// which only reading its columns needs: one Aggregate node, the count's. A
// change to the view that brings the per-day aggregate back into the count
// fails here. The full read is the control: it has both.
func TestCountingTheViewSkipsTheAggregates(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.ApplyFile(t, generateFile)
	mustExec(t, db.Pool, `SELECT campaign_demo_generate(0.01)`)
	mustExec(t, db.Pool, `ANALYZE`)
	node := regexp.MustCompile(`^\s*(->\s+)?Aggregate\b`)
	aggregates := func(query string) int {
		n := 0
		for _, line := range rowsOf(t, db.Pool, "EXPLAIN (COSTS OFF) "+query) {
			if node.MatchString(line[0]) {
				n++
			}
		}
		return n
	}
	if n := aggregates(`SELECT count(*) FROM revenue_attribution_analysis`); n != 1 {
		t.Errorf("counting the view is planned with %d Aggregate nodes, want 1 (the count's)", n)
	}
	if n := aggregates(`SELECT sum(total_attributed_revenue) FROM revenue_attribution_analysis`); n < 2 {
		t.Errorf("reading the view's revenue is planned with %d Aggregate nodes: the test cannot tell a count that aggregates the days", n)
	}
}

// TestOrdersQueryReadsTheCoveringIndex: the orders collector's query, run as
// the collector runs it (sequential scans off), reads the covering index
// idx_orders_revenue_by_date alone, which therefore must hold the revenue
// orders with a NULL amount too; without the index it runs as a sequential
// scan, with the same result.
func TestOrdersQueryReadsTheCoveringIndex(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.ApplyFile(t, generateFile)
	mustExec(t, db.Pool, `SELECT campaign_demo_generate(0.01)`)
	mustExec(t, db.Pool, `UPDATE orders SET total_amount = NULL WHERE id % 50 = 0`)
	mustExec(t, db.Pool, `VACUUM ANALYZE orders`)
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, setting := range collector.OrdersSettings() {
		mustExec(t, tx, `SET LOCAL `+setting)
	}
	query := queries.Get("orders")
	plan := func() string {
		var lines []string
		for _, row := range rowsOf(t, tx, "EXPLAIN (COSTS OFF) "+query) {
			lines = append(lines, row[0])
		}
		return strings.Join(lines, "\n")
	}
	withIndex, result := plan(), rowsOf(t, tx, query)
	if !strings.Contains(withIndex, "Index Only Scan using idx_orders_revenue_by_date") || strings.Contains(withIndex, "Seq Scan") {
		t.Errorf("with the covering index, the orders query is planned as\n%s", withIndex)
	}
	if result[0][2] == "0" {
		t.Fatalf("no revenue order has a NULL amount: the test cannot tell an index without them: %v", result)
	}
	mustExec(t, tx, `DROP INDEX idx_orders_revenue_by_date`)
	if without := plan(); !strings.Contains(without, "Seq Scan on orders") {
		t.Errorf("without the covering index, the orders query is planned as\n%s", without)
	}
	equal(t, "the orders query without the index", rowsOf(t, tx, query), result)
}

// TestChecksRunReadOnly runs what the exporter runs the way it runs it.
func TestChecksRunReadOnly(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.ApplyFile(t, generateFile)
	mustExec(t, db.Pool, `SELECT campaign_demo_generate(0.01)`)
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, q := range []string{healthSQL, qualitySQL, integritySQL, monitorSQL} {
		if len(rowsOf(t, tx, q)) == 0 {
			t.Errorf("%s: no rows", q)
		}
	}
	equal(t, "read only", one(t, tx, `SHOW transaction_read_only`), "on")
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	equal(t, "volatility of the checks", rowsOf(t, db.Pool, `
		SELECT proname::text, provolatile::text FROM pg_proc
		WHERE proname IN ('check_campaign_system_health', 'check_attribution_quality', 'check_holiday_data_integrity')
		ORDER BY proname`), [][]string{
		{"check_attribution_quality", "s"}, {"check_campaign_system_health", "s"}, {"check_holiday_data_integrity", "s"},
	})
}

// fingerprint describes the schema objects and the data, to show that a
// re-apply changes nothing. Function and view OIDs are included: a function
// dropped and recreated would lose its grants.
const fingerprintSQL = `
SELECT string_agg(x, E'\n' ORDER BY x) FROM (
    SELECT 'function ' || p.oid || ' ' || pg_get_functiondef(p.oid) || coalesce(p.proacl::text, '') AS x
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f'
    UNION ALL
    SELECT 'relation ' || c.oid || ' ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(c.relacl::text, '')
           || coalesce(' ' || pg_get_viewdef(c.oid), '')
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'S')
    UNION ALL
    SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || ' ' || a.attnotnull || ' ' || a.attgenerated::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text FROM pg_trigger t WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT 'data campaigns ' || md5(coalesce(string_agg(t::text, ';' ORDER BY t.id), '')) FROM campaigns t
    UNION ALL SELECT 'data dim_date ' || md5(coalesce(string_agg(t::text, ';' ORDER BY t.date), '')) FROM dim_date t
    UNION ALL SELECT 'data holidays ' || md5(coalesce(string_agg(t::text, ';' ORDER BY t.id), '')) FROM holidays t
    UNION ALL SELECT 'data orders ' || md5(coalesce(string_agg(t::text, ';' ORDER BY t.id), '')) FROM orders t
    UNION ALL SELECT 'data dim_date_backup ' || md5(coalesce(string_agg(t::text, ';' ORDER BY t.backup_id), '')) FROM dim_date_backup t
) s`

func TestSchemaReapplyIsNoOp(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.ApplyFile(t, generateFile)
	db.ApplyFile(t, faultsFile)
	mustExec(t, db.Pool, `SELECT campaign_demo_generate(0.01); SELECT campaign_inject_faults(); SELECT cleanup_legacy_campaign_names();`)
	before := one(t, db.Pool, fingerprintSQL)
	files, err := pgtest.SchemaFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		db.ApplyFile(t, f)
	}
	if after := one(t, db.Pool, fingerprintSQL); after != before {
		t.Errorf("re-applying the schema changed it:\n%s", diffLines(before, after))
	}
}

func diffLines(a, b string) string {
	in := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		in[l]++
	}
	var out []string
	for _, l := range strings.Split(b, "\n") {
		if in[l] > 0 {
			in[l]--
		} else {
			out = append(out, "+ "+l)
		}
	}
	for l, n := range in {
		for ; n > 0; n-- {
			out = append(out, "- "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// olderTablesSQL creates the four tables as an older copy had them: without
// the columns, constraints and generated calendar columns added since.
const olderTablesSQL = `
		CREATE TABLE campaigns (id bigserial PRIMARY KEY, campaign_name text NOT NULL, start_date date NOT NULL, end_date date NOT NULL);
		CREATE TABLE dim_date (date date PRIMARY KEY, is_holiday boolean NOT NULL DEFAULT false, holiday_name text, campaign_id bigint, campaign_name text);
		CREATE TABLE holidays (id bigserial PRIMARY KEY, date date NOT NULL, name text NOT NULL);
		CREATE TABLE orders (id bigserial PRIMARY KEY, order_date date NOT NULL, total_amount numeric(12,2), status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
`

// TestSchemaUpgradesOlderCopy: objects of an older copy whose result type or
// columns differ are replaced; the data stays.
func TestSchemaUpgradesOlderCopy(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	mustExec(t, db.Pool, olderTablesSQL+`
		INSERT INTO campaigns (campaign_name, start_date, end_date) VALUES ('old', '2025-01-01', '2025-01-31');
		INSERT INTO dim_date (date, campaign_id) VALUES ('2025-01-05', 1);
		INSERT INTO orders (order_date, total_amount, status) VALUES ('2025-01-05', 10, 'paid');
		CREATE VIEW revenue_attribution_analysis AS
			SELECT order_date AS attribution_date, NULL::bigint AS campaign_id, sum(total_amount) AS total_attributed_revenue
			FROM orders GROUP BY order_date;
		CREATE FUNCTION check_attribution_quality() RETURNS TABLE(check_name text, status text) LANGUAGE sql AS $$ SELECT 'x', 'y' $$;
		CREATE FUNCTION monitor_system_performance() RETURNS TABLE(metric_name text, execution_time_ms numeric, status text)
			LANGUAGE sql AS $$ SELECT 'old', 0::numeric, 'GOOD' $$;
		CREATE FUNCTION sync_all_existing_holidays() RETURNS void LANGUAGE sql AS $$ SELECT $$;`)
	files, err := pgtest.SchemaFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		db.ApplyFile(t, f)
	}
	equal(t, "quality", rowsOf(t, db.Pool, qualitySQL), balancedQuality("10.00", "1.0000"))
	equal(t, "monitor", rowsOf(t, db.Pool, `SELECT metric_name FROM monitor_system_performance()`),
		[][]string{{"Attribution Calculation"}, {"Analysis View Query"}})
	equal(t, "sync", one(t, db.Pool, `SELECT sync_all_existing_holidays()`), "0")
	equal(t, "new columns", one(t, db.Pool, `SELECT attribution_weight::text || ' ' || year FROM campaigns, dim_date`), "1 2025")
	equal(t, "health", rowsOf(t, db.Pool, healthSQL), healthRows(0, 0, 0))
}

func TestSchemaAppliesWithPsql(t *testing.T) {
	t.Parallel()
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	db := pgtest.NewEmpty(t)
	files, err := pgtest.SchemaFiles()
	if err != nil {
		t.Fatal(err)
	}
	root := pgtest.RepoRoot()
	files = append(files, filepath.Join(root, generateFile), filepath.Join(root, faultsFile))
	for range 2 {
		for _, f := range files {
			out, err := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db.DSN, "-f", f).CombinedOutput()
			if err != nil {
				t.Fatalf("psql -f %s: %v\n%s", filepath.Base(f), err, out)
			}
		}
	}
	out, err := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db.DSN, "-At", "-c",
		"SELECT campaign_demo_generate(0.01)", "-c", "SELECT status FROM check_campaign_system_health()").CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	equal(t, "psql output", string(out),
		"dim_date: 1826 days (2022-01-01 to 2026-12-31), campaigns: 41, holidays: 66, orders: 1000 (scale 0.01, seed 0.42)\nPASS\nPASS\nINFO\n")
}

func TestExporterRole(t *testing.T) {
	t.Parallel()
	// The role is cluster-wide: apply the file in several databases at once,
	// as parallel DBA sessions (or other packages' tests) would.
	dbs := []*pgtest.DB{pgtest.New(t), pgtest.New(t), pgtest.New(t)}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	script := readRepoFile(t, "schema/exporter-role.sql")
	for i, d := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.ExecScript(script)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("exporter-role.sql: %v", err)
	}
	db := dbs[0]
	db.ApplyFile(t, "schema/exporter-role.sql") // again: no-op
	db.ApplyFile(t, generateFile)
	mustExec(t, db.Pool, `SELECT campaign_demo_generate(0.01)`)

	conn, err := pgx.Connect(ctx, db.DSNAs("campaign_exporter"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	equal(t, "role", one(t, conn, `SELECT current_user::text`), "campaign_exporter")

	ro, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "health", rowsOf(t, ro, healthSQL), healthRows(0, 0, 21))
	equal(t, "integrity", rowsOf(t, ro, integritySQL), cleanIntegrity())
	if q := rowsOf(t, ro, qualitySQL); len(q) != 2 || q[0][1] != "PASS" {
		t.Errorf("quality: %q", q)
	}
	if m := rowsOf(t, ro, monitorSQL); len(m) != 2 {
		t.Errorf("monitor: %q", m)
	}
	for _, table := range []string{"campaigns", "dim_date", "holidays", "orders", "dim_date_backup", "revenue_attribution_analysis"} {
		one(t, ro, `SELECT count(*) FROM `+table)
	}
	_ = ro.Rollback(ctx)

	writes := []string{
		`INSERT INTO campaigns (campaign_name, start_date, end_date) VALUES ('x', '2025-01-01', '2025-01-02')`,
		`UPDATE campaigns SET attribution_weight = 2`,
		`DELETE FROM campaigns`,
		`INSERT INTO dim_date (date) VALUES ('1999-01-01')`,
		`UPDATE dim_date SET campaign_id = NULL`,
		`DELETE FROM dim_date`,
		`INSERT INTO holidays (date, name) VALUES ('1999-01-01', 'x')`,
		`UPDATE holidays SET name = 'x'`,
		`DELETE FROM holidays`,
		`INSERT INTO orders (order_date, total_amount, status) VALUES ('2025-01-01', 1, 'paid')`,
		`UPDATE orders SET total_amount = 0`,
		`DELETE FROM orders`,
		`INSERT INTO dim_date_backup (date) VALUES ('2025-01-01')`,
		`UPDATE dim_date_backup SET reason = 'x'`,
		`DELETE FROM dim_date_backup`,
		`TRUNCATE orders`,
		`SELECT add_holiday('2025-01-01', 'x')`,
		`SELECT sync_all_existing_holidays()`,
		`SELECT ensure_dim_date('1990-01-01', '1990-01-02')`,
	}
	for _, w := range writes {
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadWrite})
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, w)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s as campaign_exporter: %v, want insufficient_privilege (42501)", w, err)
		}
		_ = tx.Rollback(ctx)
	}
}

func readRepoFile(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pgtest.RepoRoot(), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDemoGenerate(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.ApplyFile(t, generateFile)
	summary := one(t, db.Pool, `SELECT campaign_demo_generate(0.01)`)
	equal(t, "summary", summary, "dim_date: 1826 days (2022-01-01 to 2026-12-31), campaigns: 41, holidays: 66, orders: 1000 (scale 0.01, seed 0.42)")
	equal(t, "health", rowsOf(t, db.Pool, healthSQL), healthRows(0, 0, 21))
	q := rowsOf(t, db.Pool, qualitySQL)
	if q[0][1] != "PASS" || q[0][2] != "0.000000" || q[1][1] != "INFO" {
		t.Errorf("quality: %q", q)
	}
	equal(t, "integrity", rowsOf(t, db.Pool, integritySQL), cleanIntegrity())
	equal(t, "statuses", rowsOf(t, db.Pool, `SELECT string_agg(DISTINCT status, ',' ORDER BY status) FROM orders`),
		[][]string{{"cancelled,completed,delivered,paid,pending,processing,refunded,shipped"}})
	if n := one(t, db.Pool, `SELECT count(*) FROM orders WHERE total_amount IS NULL`); n == "0" {
		t.Error("no NULL amounts")
	}
	equal(t, "holiday names", one(t, db.Pool, `SELECT holiday_name FROM dim_date WHERE date = '2025-01-29'`), "春節")
	equal(t, "legacy names", one(t, db.Pool, `SELECT (count(*) > 0)::text FROM dim_date WHERE campaign_name IS NOT NULL`), "true")
	checkPrimaryAgainstGo(t, db.Pool, "demo")

	const digest = `SELECT
		(SELECT md5(string_agg(o::text, ';' ORDER BY o.id)) FROM (SELECT id, order_date, total_amount, status, created_at FROM orders) o) ||
		(SELECT md5(string_agg(c::text, ';' ORDER BY c.id)) FROM (SELECT id, campaign_name, start_date, end_date, attribution_weight FROM campaigns) c)`
	first := one(t, db.Pool, digest)
	mustExec(t, db.Pool, `SELECT campaign_demo_generate(0.01)`)
	equal(t, "same seed, same data", one(t, db.Pool, digest), first)
	mustExec(t, db.Pool, `SELECT campaign_demo_generate(0.01, -0.5)`)
	if one(t, db.Pool, digest) == first {
		t.Error("another seed gave the same data")
	}
	mustExec(t, db.Pool, `SELECT campaign_demo_generate(0.0237)`)
	equal(t, "exact order count", one(t, db.Pool, `SELECT count(*) FROM orders`), "2370")
}

// TestRevenueBalanceAcrossSeeds: the invariant holds on many generated data
// sets, and the checks agree with the Go computation on each.
func TestRevenueBalanceAcrossSeeds(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.ApplyFile(t, generateFile)
	for i := range 20 {
		seed := -0.95 + float64(i)*0.1
		mustExec(t, db.Pool, `SELECT campaign_demo_generate(0.01, $1)`, seed)
		ds := loadDataset(t, db.Pool)
		want := ds.attribute()
		got := rowsOf(t, db.Pool, qualitySQL)
		equal(t, fmt.Sprintf("seed %v", seed), got, want.qualityRows())
		equal(t, fmt.Sprintf("seed %v health", seed), rowsOf(t, db.Pool, healthSQL), healthRows(0, 0, bruteOverlaps(ds.campaigns)))
	}
}

func TestAttributionMatchesGo(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			mustExec(t, db.Pool, `TRUNCATE orders, campaigns, holidays, dim_date RESTART IDENTITY`)
			insertRandomDataset(t, db, seed)
			checkAgainstGo(t, db)
			// Dates deleted from dim_date take their orders out of the view.
			mustExec(t, db.Pool, `DELETE FROM dim_date WHERE date IN (SELECT DISTINCT order_date FROM orders ORDER BY 1 LIMIT 3)`)
			checkAgainstGo(t, db)
			if s := rowsOf(t, db.Pool, qualitySQL)[0][1]; s != "FAIL" {
				t.Errorf("Revenue Balance with orders outside dim_date: %s", s)
			}
		})
	}
}

func checkAgainstGo(t *testing.T, db *pgtest.DB) {
	t.Helper()
	ds := loadDataset(t, db.Pool)
	want := ds.attribute()

	// The view, row by row.
	got := map[attrKey]attrRow{}
	for _, r := range rowsOf(t, db.Pool, `SELECT attribution_date - DATE '2000-01-01', coalesce(campaign_id, 0), order_count,
			total_attributed_revenue::text, avg_attribution_weight::text FROM revenue_attribution_analysis`) {
		var k attrKey
		var row attrRow
		mustScan(t, r[0], &k.day)
		mustScan(t, r[1], &k.campaign)
		mustScan(t, r[2], &row.orders)
		row.revenue, row.share = rat(t, r[3]), rat(t, r[4])
		got[k] = row
	}
	if len(got) != len(want.rows) {
		t.Errorf("view has %d rows, want %d", len(got), len(want.rows))
	}
	for k, w := range want.rows {
		g, ok := got[k]
		if !ok || g.orders != w.orders || !near(g.revenue, w.revenue) || !near(g.share, w.share) {
			t.Errorf("view row %+v: got %v, want %v", k, g, w)
		}
	}
	equal(t, "quality", rowsOf(t, db.Pool, qualitySQL), want.qualityRows())

	// One day's JSON for every day with orders or campaigns.
	for _, day := range ds.days() {
		got := one(t, db.Pool, `SELECT calculate_campaign_attributions(DATE '2000-01-01' + $1::int)::text`, day)
		if err := jsonEqual(got, ds.dayJSON(day)); err != nil {
			t.Errorf("calculate_campaign_attributions(day %d): %v\n got %s\nwant %s", day, err, got, ds.dayJSON(day))
		}
	}

	// The three methods over a period.
	from, to := ds.minDay+10, ds.minDay+70
	wantCmp := ds.compare(from, to)
	gotCmp := rowsOf(t, db.Pool, `SELECT campaign_id, layered_revenue::text, primary_campaign_revenue::text, equal_split_revenue::text
		FROM compare_attribution_methods(DATE '2000-01-01' + $1::int, DATE '2000-01-01' + $2::int)`, from, to)
	if len(gotCmp) != len(wantCmp) {
		t.Fatalf("compare_attribution_methods: %d rows, want %d", len(gotCmp), len(wantCmp))
	}
	for i, r := range gotCmp {
		w := wantCmp[i]
		if r[0] != fmt.Sprint(w.id) || !near(rat(t, r[1]), w.layered) || !near(rat(t, r[2]), w.primary) || !near(rat(t, r[3]), w.equal) {
			t.Errorf("compare_attribution_methods row %d: got %v, want %d %s %s %s", i, r, w.id,
				w.layered.FloatString(4), w.primary.FloatString(4), w.equal.FloatString(4))
		}
	}
}

// Faults: each produces exactly its documented failure on demo data, and the
// guide's repair procedure undoes it.
func TestDemoFaults(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.ApplyFile(t, generateFile)
	db.ApplyFile(t, faultsFile)
	mustExec(t, db.Pool, `SELECT campaign_demo_generate(0.01)`)

	const seedOrphanCleanup = `DELETE FROM dim_date WHERE campaign_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = dim_date.campaign_id)`
	const seedDuplicateCleanup = `WITH duplicate_holidays AS (
			SELECT id, ROW_NUMBER() OVER (PARTITION BY date ORDER BY created_at) as rn FROM holidays)
		DELETE FROM holidays WHERE id IN (SELECT id FROM duplicate_holidays WHERE rn > 1)`
	const restoreDimDate = `SELECT ensure_dim_date(min(order_date), max(order_date)) FROM orders`

	type expect struct {
		health, integrity [][]string
		quality           func(t *testing.T, before, after []string) // Revenue Balance row
	}
	balanced := func(t *testing.T, before, after []string) {
		equal(t, "Revenue Balance", after, before)
	}
	cases := []struct {
		name   string
		fault  string
		want   func(t *testing.T, tx pgx.Tx) expect // computed before the fault
		repair []string
	}{
		{"orphan campaign", `SELECT campaign_fault_orphan_campaign()`,
			func(t *testing.T, tx pgx.Tx) expect {
				id := one(t, tx, `SELECT min(campaign_id) FROM dim_date`)
				p := atoi(one(t, tx, `SELECT count(*) FROM dim_date WHERE campaign_id = $1`, id))
				return expect{healthRows(p, 0, overlapsWithout(t, tx, id)), cleanIntegrity(), balanced}
			},
			// The guide's cleanup deletes the rows; ensure_dim_date puts them back.
			[]string{seedOrphanCleanup, restoreDimDate}},
		{"revenue imbalance", `SELECT campaign_fault_revenue_imbalance()`,
			func(t *testing.T, tx pgx.Tx) expect {
				id := one(t, tx, `SELECT max(c.id) FROM campaigns c
					WHERE EXISTS (SELECT 1 FROM dim_date d JOIN orders o ON o.order_date = d.date
					              WHERE d.campaign_id = c.id AND o.status IN ('paid','processing','shipped','delivered','completed') AND o.total_amount IS NOT NULL)
					  AND NOT EXISTS (SELECT 1 FROM dim_date d WHERE d.campaign_id = c.id
					              AND (d.is_holiday OR EXISTS (SELECT 1 FROM holidays h WHERE h.date = d.date)))`)
				lost := one(t, tx, `SELECT round(sum(o.total_amount), 6)::text FROM orders o JOIN dim_date d ON d.date = o.order_date
					WHERE d.campaign_id = $1 AND o.status IN ('paid','processing','shipped','delivered','completed')`, id)
				original := one(t, tx, `SELECT sum(total_amount)::text FROM orders WHERE status IN ('paid','processing','shipped','delivered','completed')`)
				attributed := one(t, tx, `SELECT round(sum(total_amount) - $1::numeric, 2)::text FROM orders
					WHERE status IN ('paid','processing','shipped','delivered','completed')`, lost)
				return expect{healthRows(0, 0, overlapsWithout(t, tx, id)), cleanIntegrity(), func(t *testing.T, before, after []string) {
					equal(t, "Revenue Balance", after, []string{"Revenue Balance", "FAIL", lost,
						fmt.Sprintf("原始營收: %s, 歸因營收: %s", original, attributed)})
				}}
			},
			[]string{restoreDimDate}},
		{"unsynced holiday", `SELECT campaign_fault_unsynced_holiday()`,
			func(t *testing.T, tx pgx.Tx) expect {
				return expect{healthRows(0, 1, 21), [][]string{
					integrityRow("MISSING_HOLIDAY_FLAG", 1, "2022-01-02"),
					integrityRow("ORPHANED_HOLIDAY_FLAG", 0),
					integrityRow("DUPLICATE_HOLIDAYS", 0),
				}, balanced}
			},
			[]string{`SELECT sync_all_existing_holidays()`}},
		{"duplicate holiday", `SELECT campaign_fault_duplicate_holiday()`,
			func(t *testing.T, tx pgx.Tx) expect {
				return expect{healthRows(0, 0, 21), [][]string{
					integrityRow("MISSING_HOLIDAY_FLAG", 0),
					integrityRow("ORPHANED_HOLIDAY_FLAG", 0),
					integrityRow("DUPLICATE_HOLIDAYS", 1, "2022-01-01"),
				}, balanced}
			},
			[]string{seedDuplicateCleanup}},
		{"stray holiday flag", `SELECT campaign_fault_stray_holiday_flag()`,
			func(t *testing.T, tx pgx.Tx) expect {
				return expect{healthRows(0, 0, 21), [][]string{
					integrityRow("MISSING_HOLIDAY_FLAG", 0),
					integrityRow("ORPHANED_HOLIDAY_FLAG", 1, "2026-12-31"),
					integrityRow("DUPLICATE_HOLIDAYS", 0),
				}, balanced}
			},
			[]string{`SELECT sync_all_existing_holidays()`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inTx(t, db, func(tx pgx.Tx) {
				want := tc.want(t, tx)
				before := rowsOf(t, tx, qualitySQL)
				mustExec(t, tx, tc.fault)
				equal(t, "health", rowsOf(t, tx, healthSQL), want.health)
				equal(t, "integrity", rowsOf(t, tx, integritySQL), want.integrity)
				after := rowsOf(t, tx, qualitySQL)
				want.quality(t, before[0], after[0])
				// Weight Distribution follows the data; check it against Go.
				equal(t, "Weight Distribution", after[1], loadDataset(t, tx).attribute().qualityRows()[1])
				for _, r := range tc.repair {
					mustExec(t, tx, r)
				}
				assertHealthy(t, tx)
			})
		})
	}

	t.Run("all at once", func(t *testing.T) {
		inTx(t, db, func(tx pgx.Tx) {
			mustExec(t, tx, `SELECT campaign_inject_faults()`)
			statuses := rowsOf(t, tx, `SELECT status FROM check_campaign_system_health()
				UNION ALL SELECT status FROM check_attribution_quality()
				UNION ALL SELECT issue_count::text FROM check_holiday_data_integrity()`)
			equal(t, "statuses", statuses, [][]string{{"FAIL"}, {"WARNING"}, {"INFO"}, {"FAIL"}, {"INFO"}, {"1"}, {"1"}, {"1"}})
			mustExec(t, tx, seedOrphanCleanup)
			mustExec(t, tx, seedDuplicateCleanup)
			mustExec(t, tx, `SELECT sync_all_existing_holidays()`)
			mustExec(t, tx, restoreDimDate)
			assertHealthy(t, tx)
		})
	})
}

func assertHealthy(t *testing.T, q querier) {
	t.Helper()
	for _, r := range rowsOf(t, q, healthSQL+` UNION ALL SELECT check_name, status, description FROM check_attribution_quality()`) {
		if r[1] != "PASS" && r[1] != "INFO" {
			t.Errorf("after repair: %q", r)
		}
	}
	equal(t, "integrity after repair", rowsOf(t, q, integritySQL), cleanIntegrity())
}

// overlapsWithout is the overlap count once campaign id is gone.
func overlapsWithout(t *testing.T, q querier, id string) int {
	var rest []campaign
	for _, c := range loadCampaigns(t, q) {
		if fmt.Sprint(c.id) != id {
			rest = append(rest, c)
		}
	}
	return bruteOverlaps(rest)
}

func atoi(s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		panic(fmt.Sprintf("atoi(%q): %v", s, err))
	}
	return n
}

// mustScan parses a text column, failing the test on a malformed value.
func mustScan(t testing.TB, s string, v any) {
	t.Helper()
	if _, err := fmt.Sscan(s, v); err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
}

// The Go model of the contract, written from its text, independent of the SQL.

var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

var revenueStatuses = map[string]bool{"paid": true, "processing": true, "shipped": true, "delivered": true, "completed": true}

type campaign struct {
	id         int64
	name       string
	start, end int // days since 2000-01-01, inclusive
	weight     *big.Rat
}

type order struct {
	day    int
	amount *big.Rat // nil for NULL
	status string
}

type dataset struct {
	campaigns []campaign
	orders    []order
	dim       map[int]int64 // dim_date: day -> campaign_id (0 for NULL)
	minDay    int
}

func rat(t testing.TB, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("not a number: %q", s)
	}
	return r
}

var tolerance = big.NewRat(1, 1_000_000_000)

func near(a, b *big.Rat) bool {
	if a == nil || b == nil {
		return a == b
	}
	d := new(big.Rat).Sub(a, b)
	return d.Abs(d).Cmp(tolerance) <= 0
}

func loadCampaigns(t testing.TB, q querier) []campaign {
	var cs []campaign
	for _, r := range rowsOf(t, q, `SELECT id, campaign_name, start_date - DATE '2000-01-01', end_date - DATE '2000-01-01',
			attribution_weight::text FROM campaigns ORDER BY id`) {
		c := campaign{name: r[1], weight: rat(t, r[4])}
		mustScan(t, r[0], &c.id)
		mustScan(t, r[2], &c.start)
		mustScan(t, r[3], &c.end)
		cs = append(cs, c)
	}
	return cs
}

func loadDataset(t testing.TB, q querier) dataset {
	ds := dataset{campaigns: loadCampaigns(t, q), dim: map[int]int64{}, minDay: 1 << 30}
	for _, r := range rowsOf(t, q, `SELECT order_date - DATE '2000-01-01', coalesce(total_amount::text, 'NULL'), status FROM orders`) {
		o := order{status: r[2]}
		mustScan(t, r[0], &o.day)
		if r[1] != "NULL" {
			o.amount = rat(t, r[1])
		}
		ds.orders = append(ds.orders, o)
		ds.minDay = min(ds.minDay, o.day)
	}
	for _, r := range rowsOf(t, q, `SELECT date - DATE '2000-01-01', coalesce(campaign_id, 0) FROM dim_date`) {
		var day int
		var id int64
		mustScan(t, r[0], &day)
		mustScan(t, r[1], &id)
		ds.dim[day] = id
	}
	return ds
}

func active(cs []campaign, day int) []campaign {
	var out []campaign
	for _, c := range cs {
		if c.start <= day && day <= c.end {
			out = append(out, c)
		}
	}
	return out
}

// goPrimary: highest weight, then earliest start, then lowest id.
func goPrimary(cs []campaign) func(day int) int64 {
	return func(day int) int64 {
		var best *campaign
		for _, c := range active(cs, day) {
			if best == nil {
				best = &c
				continue
			}
			if cmp := c.weight.Cmp(best.weight); cmp > 0 || cmp == 0 && (c.start < best.start || c.start == best.start && c.id < best.id) {
				best = &c
			}
		}
		if best == nil {
			return 0
		}
		return best.id
	}
}

func totalWeight(cs []campaign) *big.Rat {
	w := new(big.Rat)
	for _, c := range cs {
		w.Add(w, c.weight)
	}
	return w
}

type attrKey struct {
	day      int
	campaign int64 // 0 for unattributed
}

type attrRow struct {
	orders         int64
	revenue, share *big.Rat
}

type attribution struct {
	rows                 map[attrKey]attrRow
	original, attributed *big.Rat
	shareSum             *big.Rat
	pairs                int64
}

// attribute shares every qualifying order among the campaigns active on its
// day, order by order (the view aggregates per day first).
func (ds dataset) attribute() attribution {
	a := attribution{rows: map[attrKey]attrRow{}, original: new(big.Rat), attributed: new(big.Rat), shareSum: new(big.Rat)}
	add := func(k attrKey, amount, share *big.Rat) {
		r, ok := a.rows[k]
		if !ok {
			r = attrRow{revenue: new(big.Rat), share: share}
		}
		r.orders++
		part := new(big.Rat).Mul(amount, share)
		r.revenue.Add(r.revenue, part)
		a.rows[k] = r
		a.attributed.Add(a.attributed, part)
	}
	for _, o := range ds.orders {
		if !revenueStatuses[o.status] || o.amount == nil {
			continue
		}
		a.original.Add(a.original, o.amount)
		if _, ok := ds.dim[o.day]; !ok {
			continue // no date dimension: not attributed
		}
		act := active(ds.campaigns, o.day)
		if len(act) == 0 {
			add(attrKey{o.day, 0}, o.amount, big.NewRat(1, 1))
			continue
		}
		w := totalWeight(act)
		for _, c := range act {
			share := new(big.Rat).Quo(c.weight, w)
			add(attrKey{o.day, c.id}, o.amount, share)
			a.shareSum.Add(a.shareSum, share)
			a.pairs++
		}
	}
	return a
}

func (a attribution) qualityRows() [][]string {
	diff := new(big.Rat).Sub(a.original, a.attributed)
	value := diff.Abs(diff).FloatString(6)
	status := "PASS"
	if v, _ := new(big.Rat).SetString(value); v.Cmp(big.NewRat(1, 100)) > 0 {
		status = "FAIL"
	}
	avg := new(big.Rat)
	if a.pairs > 0 {
		avg.Quo(a.shareSum, big.NewRat(a.pairs, 1))
	}
	wd := avg.FloatString(4)
	return [][]string{
		{"Revenue Balance", status, value, fmt.Sprintf("原始營收: %s, 歸因營收: %s", a.original.FloatString(2), a.attributed.FloatString(2))},
		{"Weight Distribution", "INFO", wd, "平均歸因權重: " + wd},
	}
}

// days lists every day from the first order to the last.
func (ds dataset) days() []int {
	maxDay := ds.minDay
	for _, o := range ds.orders {
		maxDay = max(maxDay, o.day)
	}
	var out []int
	for d := ds.minDay; d <= maxDay; d++ {
		out = append(out, d)
	}
	return out
}

// dayRevenue is a day's qualifying order count and revenue.
func (ds dataset) dayRevenue(day int) (int64, *big.Rat) {
	n, rev := int64(0), new(big.Rat)
	for _, o := range ds.orders {
		if o.day == day && revenueStatuses[o.status] && o.amount != nil {
			n++
			rev.Add(rev, o.amount)
		}
	}
	return n, rev
}

// dayJSON is calculate_campaign_attributions(day) as the contract describes it.
func (ds dataset) dayJSON(day int) string {
	n, rev := ds.dayRevenue(day)
	act := active(ds.campaigns, day)
	attributed, unattributed := rev, new(big.Rat)
	if len(act) == 0 {
		attributed, unattributed = new(big.Rat), rev
	}
	w := totalWeight(act)
	campaigns := []map[string]any{}
	for _, c := range act {
		share := new(big.Rat).Quo(c.weight, w)
		campaigns = append(campaigns, map[string]any{
			"campaign_id": c.id, "campaign_name": c.name, "order_count": n,
			"weight_share":       json.Number(share.FloatString(15)),
			"attributed_revenue": json.Number(new(big.Rat).Mul(rev, share).FloatString(15)),
		})
	}
	b, _ := json.Marshal(map[string]any{
		"date":                 epoch.AddDate(0, 0, day).Format("2006-01-02"),
		"order_count":          n,
		"total_revenue":        json.Number(rev.FloatString(2)),
		"attributed_revenue":   json.Number(attributed.FloatString(2)),
		"unattributed_revenue": json.Number(unattributed.FloatString(2)),
		"campaigns":            campaigns,
	})
	return string(b)
}

type methods struct {
	id                      int64
	layered, primary, equal *big.Rat
}

// compare is compare_attribution_methods(from, to): days with a dim_date row only.
func (ds dataset) compare(from, to int) []methods {
	var out []methods
	for _, c := range ds.campaigns {
		if c.start > to || c.end < from {
			continue
		}
		m := methods{c.id, new(big.Rat), new(big.Rat), new(big.Rat)}
		for d := from; d <= to; d++ {
			primary, ok := ds.dim[d]
			if !ok {
				continue
			}
			_, rev := ds.dayRevenue(d)
			if primary == c.id {
				m.primary.Add(m.primary, rev)
			}
			act := active(ds.campaigns, d)
			if c.start > d || c.end < d {
				continue
			}
			m.layered.Add(m.layered, new(big.Rat).Mul(rev, new(big.Rat).Quo(c.weight, totalWeight(act))))
			m.equal.Add(m.equal, new(big.Rat).Quo(rev, big.NewRat(int64(len(act)), 1)))
		}
		out = append(out, m)
	}
	return out
}

// insertRandomDataset fills an empty schema with random campaigns (with
// weight and start-date ties) and orders over 120 days.
func insertRandomDataset(t *testing.T, db *pgtest.DB, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x5eb6))
	day := func(n int) string { return "DATE '2025-01-01' + " + fmt.Sprint(n) }
	mustExec(t, db.Pool, `SELECT ensure_dim_date('2025-01-01', DATE '2025-01-01' + 119)`)
	weights := []string{"0.25", "0.5", "1", "1", "2", "3.5"}
	var sql strings.Builder
	sql.WriteString("INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight) VALUES ")
	start, length, weight := 0, 0, ""
	for i := range 10 + r.IntN(10) {
		if i%4 != 3 { // every fourth campaign ties with the previous one
			start, weight = r.IntN(130)-10, weights[r.IntN(len(weights))]
		}
		length = r.IntN(40)
		if i > 0 {
			sql.WriteString(", ")
		}
		fmt.Fprintf(&sql, "('c%d', %s, %s, %s)", i, day(start), day(start+length), weight)
	}
	mustExec(t, db.Pool, sql.String())

	statuses := []string{"paid", "processing", "shipped", "delivered", "completed", "pending", "cancelled", "refunded"}
	sql.Reset()
	sql.WriteString("INSERT INTO orders (order_date, total_amount, status) VALUES ")
	for i := range 1500 {
		amount := "NULL"
		if r.IntN(50) > 0 {
			cents := r.IntN(100000)
			amount = fmt.Sprintf("%d.%02d", cents/100, cents%100)
		}
		if i > 0 {
			sql.WriteString(", ")
		}
		fmt.Fprintf(&sql, "(%s, %s, '%s')", day(r.IntN(120)), amount, statuses[r.IntN(len(statuses))])
	}
	mustExec(t, db.Pool, sql.String())
	checkPrimaryAgainstGo(t, db.Pool, fmt.Sprintf("random data set %d", seed))
}

// jsonEqual compares two JSON documents, numbers by value within tolerance.
func jsonEqual(got, want string) error {
	decode := func(s string) (any, error) {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var v any
		return v, d.Decode(&v)
	}
	g, err := decode(got)
	if err != nil {
		return err
	}
	w, err := decode(want)
	if err != nil {
		return err
	}
	return jsonCompare("$", g, w)
}

func jsonCompare(path string, g, w any) error {
	switch w := w.(type) {
	case map[string]any:
		gm, ok := g.(map[string]any)
		if !ok || len(gm) != len(w) {
			return fmt.Errorf("%s: got %v, want %v", path, g, w)
		}
		for k, wv := range w {
			if err := jsonCompare(path+"."+k, gm[k], wv); err != nil {
				return err
			}
		}
	case []any:
		ga, ok := g.([]any)
		if !ok || len(ga) != len(w) {
			return fmt.Errorf("%s: got %v, want %v", path, g, w)
		}
		for i := range w {
			if err := jsonCompare(fmt.Sprintf("%s[%d]", path, i), ga[i], w[i]); err != nil {
				return err
			}
		}
	case json.Number:
		gn, ok := g.(json.Number)
		if !ok {
			return fmt.Errorf("%s: got %v, want %v", path, g, w)
		}
		a, _ := new(big.Rat).SetString(gn.String())
		b, _ := new(big.Rat).SetString(w.String())
		if a == nil || b == nil || !near(a, b) {
			return fmt.Errorf("%s: got %v, want %v", path, gn, w)
		}
	default:
		if !reflect.DeepEqual(g, w) {
			return fmt.Errorf("%s: got %v, want %v", path, g, w)
		}
	}
	return nil
}
