package schema_test

// Tests of schema/install/install.sql, the safe install for a live database:
// run with psql, as a DBA would, against real databases.

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

const (
	installScript = "schema/install/install.sql"
	// The reference schema of the previous release, as it shipped.
	previousRelease = "testdata/install/schema-0.1.0.tar.gz"
)

// catalogSQL describes every user object of the database without OIDs, so
// that two databases, or one database before and after a run, compare.
const catalogSQL = `
WITH user_ns AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
)
SELECT coalesce(string_agg(replace(x, E'\n', '\n'), E'\n' ORDER BY x), '') FROM (
    SELECT 'schema ' || n.nspname AS x FROM user_ns n
    UNION ALL
    SELECT 'function ' || pg_get_functiondef(p.oid) || coalesce(p.proacl::text, '')
    FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace WHERE p.prokind = 'f'
    UNION ALL
    SELECT 'relation ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || coalesce(' ' || pg_get_viewdef(c.oid), '')
    FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace
    UNION ALL
    SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || ' ' || a.attnotnull || ' ' || a.attgenerated::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p', 'v', 'm')
    JOIN user_ns n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
    FROM pg_trigger t WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN user_ns n ON n.oid = c.relnamespace
    UNION ALL
    SELECT 'constraint ' || k.conrelid::regclass || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
           || ' validated=' || k.convalidated
    FROM pg_constraint k JOIN user_ns n ON n.oid = k.connamespace
) s`

// objectsSQL lists the objects of schema public the way the install
// report names them (kind, object) with their definitions.
const objectsSQL = `
SELECT kind, object, def FROM (
    SELECT 'table' AS kind, c.relname::text AS object, '' AS def
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
    UNION ALL
    SELECT 'function', p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', pg_get_functiondef(p.oid)
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f'
    UNION ALL
    SELECT 'view', c.relname, pg_get_viewdef(c.oid)
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'
    UNION ALL
    SELECT 'index', c.relname, pg_get_indexdef(c.oid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE c.relnamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid
                                                      AND k.contype IN ('p', 'u', 'x'))
    UNION ALL
    SELECT 'trigger', c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT 'constraint', c.relname || '.' || k.conname, regexp_replace(pg_get_constraintdef(k.oid), ' NOT VALID$', '')
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
    WHERE c.relnamespace = 'public'::regnamespace
) s`

// planRow is one row of the install report.
type planRow struct {
	kind, object, state, action, note string
}

func (r planRow) key() string { return r.kind + " " + r.object }

var planKinds = map[string]bool{
	"table": true, "column": true, "constraint": true, "function": true, "view": true,
	"materialized view": true, "index": true, "trigger": true, "unsupported": true,
}

// runInstall runs the install script with psql as a DBA would and returns
// its output and the report's rows. It fails the test when psql fails.
func runInstall(t *testing.T, db *pgtest.DB, vars ...string) (string, []planRow) {
	t.Helper()
	out, err := runPsqlFile(t, db.DSN, filepath.Join(pgtest.RepoRoot(), installScript), vars...)
	if err != nil {
		t.Fatalf("psql -f %s %v: %v\n%s", installScript, vars, err, out)
	}
	return out, parseReport(t, out)
}

// runPsqlFile runs psql -f FILE with -v NAME=VALUE for each of vars.
func runPsqlFile(t *testing.T, dsn, file string, vars ...string) (string, error) {
	t.Helper()
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatal("psql is required: the safe install is a psql script (install PostgreSQL's client)")
	}
	args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn}
	for _, v := range vars {
		args = append(args, "-v", v)
	}
	args = append(args, "-f", file)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, psql, args...).CombinedOutput()
	return string(out), err
}

func parseReport(t *testing.T, out string) []planRow {
	t.Helper()
	var rows []planRow
	for _, line := range strings.Split(out, "\n") {
		f := strings.SplitN(line, "|", 5)
		if len(f) != 5 {
			continue
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if !planKinds[f[0]] {
			continue
		}
		rows = append(rows, planRow{kind: f[0], object: f[1], state: f[2], action: f[3], note: f[4]})
	}
	if len(rows) == 0 {
		t.Fatalf("no report rows in the install output:\n%s", out)
	}
	return rows
}

func rowsByKey(rows []planRow) map[string]planRow {
	m := map[string]planRow{}
	for _, r := range rows {
		m[r.key()] = r
	}
	return m
}

// objectDefs maps "kind object" to the definition, for schema public.
func objectDefs(t *testing.T, db *pgtest.DB) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, r := range rowsOf(t, db.Pool, objectsSQL) {
		m[r[0]+" "+r[1]] = r[2]
	}
	return m
}

// referenceDefs is objectDefs of a database built from the reference schema.
func referenceDefs(t *testing.T) map[string]string {
	t.Helper()
	return objectDefs(t, pgtest.New(t))
}

// expectStates checks the report's state of every reference object against
// what the target held before the run: missing if absent, present if the
// same, differs if defined otherwise. Only objects named in want are
// checked for a specific state and action; the rest follow the rule.
func expectStates(t *testing.T, rows []planRow, target, ref map[string]string, want map[string]planRow) {
	t.Helper()
	got := rowsByKey(rows)
	for key, refDef := range ref {
		r, ok := got[key]
		if !ok {
			t.Errorf("report lacks %s", key)
			continue
		}
		if w, ok := want[key]; ok {
			if r.state != w.state || r.action != w.action || !strings.Contains(r.note, w.note) {
				t.Errorf("%s: got %s/%s %q, want %s/%s with %q", key, r.state, r.action, r.note, w.state, w.action, w.note)
			}
			continue
		}
		tgtDef, inTarget := target[key]
		switch {
		case !inTarget && r.state != "missing":
			t.Errorf("%s: absent from the target, reported %s", key, r.state)
		case inTarget && tgtDef == refDef && r.state != "present":
			t.Errorf("%s: as in the reference, reported %s (%s)", key, r.state, r.note)
		case inTarget && tgtDef != refDef && r.state != "differs":
			t.Errorf("%s: defined otherwise, reported %s", key, r.state)
		}
	}
	for key, r := range got {
		if _, ok := ref[key]; !ok && r.kind != "column" {
			t.Errorf("report row %q names no reference object", key)
		}
	}
}

// objectName is the bare name of a report key ("function f(a date)" is f,
// "trigger t.name" is name), as the catalog description shows it.
func objectName(key string) string {
	kind, object, _ := strings.Cut(key, " ")
	if kind == "function" {
		object, _, _ = strings.Cut(object, "(")
	}
	if i := strings.LastIndexByte(object, '.'); i >= 0 && kind != "function" && kind != "table" {
		object = object[i+1:]
	}
	return object
}

// added lists the report's objects that an apply adds.
func added(rows []planRow) []string {
	var out []string
	for _, r := range rows {
		if r.action == "add" {
			out = append(out, r.key())
		}
	}
	sort.Strings(out)
	return out
}

// assertNothingToAdd runs a dry run and checks that it has nothing to add.
func assertNothingToAdd(t *testing.T, db *pgtest.DB) {
	t.Helper()
	before := one(t, db.Pool, catalogSQL)
	out, rows := runInstall(t, db)
	if a := added(rows); len(a) != 0 {
		t.Errorf("second run would add %v:\n%s", a, out)
	}
	if !strings.Contains(out, "(none: nothing to add)") {
		t.Errorf("second run does not say it has nothing to add:\n%s", out)
	}
	if after := one(t, db.Pool, catalogSQL); after != before {
		t.Errorf("a dry run changed the database:\n%s", diffLines(before, after))
	}
}

// assertOnlyAdded checks that nothing of before is gone or changed in after,
// and that every line added concerns one of the named objects.
func assertOnlyAdded(t *testing.T, before, after string, names ...string) {
	t.Helper()
	for _, l := range strings.Split(diffLines(before, after), "\n") {
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "- ") {
			t.Errorf("the install changed or removed: %s", l)
			continue
		}
		ok := false
		for _, n := range names {
			if strings.Contains(l, n) {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("the install added something it should not have: %s", l)
		}
	}
}

func assertContractChecks(t *testing.T, db *pgtest.DB, overlaps int, quality [][]string) {
	t.Helper()
	equal(t, "health", rowsOf(t, db.Pool, healthSQL), healthRows(0, 0, overlaps))
	equal(t, "quality", rowsOf(t, db.Pool, qualitySQL), quality)
	equal(t, "integrity", rowsOf(t, db.Pool, integritySQL), cleanIntegrity())
	equal(t, "monitor", rowsOf(t, db.Pool, `SELECT metric_name, status FROM monitor_system_performance()`),
		[][]string{{"Attribution Calculation", "GOOD"}, {"Analysis View Query", "GOOD"}})
}

var emptyQuality = balancedQuality("0.00", "0.0000")

// TestInstallFreshDatabase: into an empty database the dry run lists every
// reference object as missing and changes nothing; the apply builds exactly
// the reference schema; a second run has nothing to add.
func TestInstallFreshDatabase(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	ref := pgtest.New(t)

	before := one(t, db.Pool, catalogSQL)
	out, rows := runInstall(t, db)
	if after := one(t, db.Pool, catalogSQL); after != before {
		t.Fatalf("the dry run changed the database:\n%s", diffLines(before, after))
	}
	if !strings.Contains(out, "Mode: dry run") {
		t.Errorf("no dry run banner:\n%s", out)
	}
	expectStates(t, rows, map[string]string{}, objectDefs(t, ref), nil)
	for _, r := range rows {
		if r.state != "missing" {
			t.Errorf("%s: %s in an empty database", r.key(), r.state)
		}
		wantAction := "add"
		if r.kind == "constraint" {
			wantAction = "none" // created with its table
		}
		if r.action != wantAction {
			t.Errorf("%s: action %s, want %s", r.key(), r.action, wantAction)
		}
	}
	assertShows(t, out, "CREATE TABLE public.campaigns (", "CREATE INDEX CONCURRENTLY idx_dim_date_campaign_id ON public.dim_date",
		"CREATE FUNCTION public.check_campaign_system_health()", "CREATE VIEW public.revenue_attribution_analysis AS",
		"CREATE TRIGGER trigger_sync_holidays AFTER INSERT OR DELETE OR UPDATE ON public.holidays")
	if strings.Contains(out, "CREATE OR REPLACE") || strings.Contains(out, "campaign_install_ref") {
		t.Errorf("the statements replace objects or name the scratch schema:\n%s", out)
	}

	out, _ = runInstall(t, db, "apply=1")
	if !strings.Contains(out, "Mode: APPLY") || !strings.Contains(out, "Applied.") {
		t.Errorf("apply output:\n%s", out)
	}
	if got, want := one(t, db.Pool, catalogSQL), one(t, ref.Pool, catalogSQL); got != want {
		t.Errorf("the install differs from the reference schema:\n%s", diffLines(want, got))
	}
	assertContractChecks(t, db, 0, emptyQuality)
	assertNothingToAdd(t, db)
}

// TestInstallLeavesExistingObjectsAlone is the DBA's first day: a database
// running the campaign system with a customized health check, a trigger
// disabled in the middle of a restore, an index of its own under a reference
// index's name, and a project helper missing. The dry run names all four;
// the apply adds the helper and leaves the other three as they were.
func TestInstallLeavesExistingObjectsAlone(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ref := referenceDefs(t)
	mustExec(t, db.Pool, `
		ALTER FUNCTION check_campaign_system_health() RENAME TO check_campaign_system_health_reference;
		CREATE FUNCTION check_campaign_system_health() RETURNS TABLE(check_name text, status text, details text)
		LANGUAGE sql STABLE AS $$
			SELECT * FROM check_campaign_system_health_reference()
			UNION ALL
			SELECT 'DBA Backup Freshness', 'PASS', 'latest backup row is recent'
		$$;
		ALTER TABLE campaigns DISABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
		DROP INDEX idx_orders_order_date;
		CREATE INDEX idx_orders_order_date ON orders (order_date, status);
		DROP FUNCTION ensure_dim_date(date, date);`)
	target := objectDefs(t, db)
	const (
		fnSQL  = `SELECT pg_get_functiondef('check_campaign_system_health()'::regprocedure)`
		tgSQL  = `SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'update_campaign_in_dim_date_v2_trigger'`
		idxSQL = `SELECT pg_get_indexdef('idx_orders_order_date'::regclass)`
	)
	fnBefore, tgBefore, idxBefore := one(t, db.Pool, fnSQL), one(t, db.Pool, tgSQL), one(t, db.Pool, idxSQL)
	before := one(t, db.Pool, catalogSQL)

	out, rows := runInstall(t, db)
	if after := one(t, db.Pool, catalogSQL); after != before {
		t.Fatalf("the dry run changed the database:\n%s", diffLines(before, after))
	}
	expectStates(t, rows, target, ref, map[string]planRow{
		"function check_campaign_system_health()":                  {state: "differs", action: "none", note: "definition differs from this release's; left alone"},
		"trigger campaigns.update_campaign_in_dim_date_v2_trigger": {state: "present", action: "none", note: "DISABLED, left disabled"},
		"index idx_orders_order_date": {state: "differs", action: "none",
			note: "defined as CREATE INDEX idx_orders_order_date ON public.orders USING btree (order_date, status)"},
		"function ensure_dim_date(p_start date, p_end date)": {state: "missing", action: "add"},
	})
	equal(t, "to add", added(rows), []string{"function ensure_dim_date(p_start date, p_end date)"})
	if !strings.Contains(out, "CREATE FUNCTION public.ensure_dim_date(p_start date, p_end date)") {
		t.Errorf("the dry run does not show the statement it would run:\n%s", out)
	}

	runInstall(t, db, "apply=1")
	equal(t, "custom health check", one(t, db.Pool, fnSQL), fnBefore)
	equal(t, "health rows", rowsOf(t, db.Pool, healthSQL),
		append(healthRows(0, 0, 0), []string{"DBA Backup Freshness", "PASS", "latest backup row is recent"}))
	equal(t, "disabled trigger", one(t, db.Pool, tgSQL), tgBefore)
	equal(t, "trigger state", tgBefore, "D")
	equal(t, "conflicting index", one(t, db.Pool, idxSQL), idxBefore)
	equal(t, "ensure_dim_date is back", one(t, db.Pool, `SELECT ensure_dim_date('2025-01-01', '2025-01-10')`), "10")
	assertOnlyAdded(t, before, one(t, db.Pool, catalogSQL), "ensure_dim_date")
	assertNothingToAdd(t, db)
}

// TestInstallUpgradesPreviousRelease: a database built from the previous
// release's reference schema, with data, gains what this release adds; what
// this release defines otherwise is reported and kept; the checks pass.
func TestInstallUpgradesPreviousRelease(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	for _, f := range unpackSQL(t, filepath.Join(pgtest.RepoRoot(), previousRelease)) {
		if out, err := runPsqlFile(t, db.DSN, f); err != nil {
			t.Fatalf("psql -f %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
	mustExec(t, db.Pool, `
		INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight) VALUES
			('spring', '2025-03-01', '2025-03-31', 3), ('week', '2025-03-10', '2025-03-16', 1);
		SELECT ensure_dim_date('2025-03-01', '2025-03-31');
		SELECT add_holiday('2025-03-14', 'holiday');
		INSERT INTO orders (order_date, total_amount, status) VALUES
			('2025-03-05', 100, 'paid'), ('2025-03-12', 40, 'shipped'), ('2025-03-12', 999, 'cancelled');`)
	target := objectDefs(t, db)
	ref := referenceDefs(t)
	before := one(t, db.Pool, catalogSQL)

	_, rows := runInstall(t, db)
	expectStates(t, rows, target, ref, nil)
	toAdd := added(rows)
	runInstall(t, db, "apply=1")
	// What the upgrade added is what this release has and the previous lacked.
	var names []string
	for _, key := range toAdd {
		names = append(names, objectName(key))
	}
	assertOnlyAdded(t, before, one(t, db.Pool, catalogSQL), names...)
	// Day 5: 100 to spring (share 1); day 12: 40 shared 3:1 between spring
	// and week (shares 0.75 and 0.25); average share (1 + 0.75 + 0.25) / 3.
	assertContractChecks(t, db, 1, balancedQuality("140.00", "0.6667"))
	assertNothingToAdd(t, db)
}

// TestInstallGuideOnlyDatabase: a database holding the guide's objects but
// none of the project's own helpers gains the helpers only. A CHECK
// constraint is added NOT VALID over a row that breaks it, and its
// validation is the separate step the output prints; a generated column is
// left to the DBA.
func TestInstallGuideOnlyDatabase(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ref := referenceDefs(t)
	// Data first (the guide's triggers call the helpers), with a campaign
	// whose weight the project's CHECK would refuse.
	mustExec(t, db.Pool, `
		ALTER TABLE campaigns DROP CONSTRAINT campaigns_attribution_weight_check;
		SELECT ensure_dim_date('2025-01-01', '2025-01-31');
		INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight) VALUES
			('a', '2025-01-01', '2025-01-10', 1), ('zero', '2025-01-20', '2025-01-25', 0);
		INSERT INTO orders (order_date, total_amount, status) VALUES ('2025-01-02', 10, 'paid');
		DROP FUNCTION ensure_dim_date(date, date), interval_to_ms(interval), primary_campaign_by_date(date, date),
			primary_campaign_on(date), refresh_dim_date_campaigns(date, date), refresh_dim_date_holidays(date[]);
		DROP INDEX idx_campaigns_daterange, idx_holidays_date, idx_orders_order_date, idx_dim_date_backup_created_at;
		ALTER TABLE campaigns DROP CONSTRAINT campaigns_date_range_check;
		ALTER TABLE dim_date DROP COLUMN week_of_year;`)
	target := objectDefs(t, db)
	before := one(t, db.Pool, catalogSQL)

	out, rows := runInstall(t, db)
	expectStates(t, rows, target, ref, map[string]planRow{
		"constraint campaigns.campaigns_attribution_weight_check": {state: "missing", action: "add", note: "added NOT VALID"},
	})
	helpers := []string{
		"constraint campaigns.campaigns_attribution_weight_check",
		"constraint campaigns.campaigns_date_range_check",
		"function ensure_dim_date(p_start date, p_end date)",
		"function interval_to_ms(p interval)",
		"function primary_campaign_by_date(p_start date, p_end date)",
		"function primary_campaign_on(p_date date)",
		"function refresh_dim_date_campaigns(p_start date, p_end date)",
		"function refresh_dim_date_holidays(p_dates date[])",
		"index idx_campaigns_daterange",
		"index idx_dim_date_backup_created_at",
		"index idx_holidays_date",
		"index idx_orders_order_date",
	}
	equal(t, "to add", added(rows), helpers)
	week := rowsByKey(rows)["column dim_date.week_of_year"]
	if week.state != "missing" || week.action != "manual" {
		t.Errorf("generated column: %+v, want missing/manual", week)
	}
	assertShows(t, out,
		"ALTER TABLE public.campaigns ADD CONSTRAINT campaigns_attribution_weight_check CHECK ((attribution_weight > (0)::numeric)) NOT VALID;",
		"ALTER TABLE public.campaigns VALIDATE CONSTRAINT campaigns_attribution_weight_check;",
		"SHARE UPDATE EXCLUSIVE",
		"ALTER TABLE public.dim_date ADD COLUMN week_of_year smallint GENERATED ALWAYS AS",
	)

	runInstall(t, db, "apply=1")
	assertOnlyAdded(t, before, one(t, db.Pool, catalogSQL),
		"ensure_dim_date", "interval_to_ms", "primary_campaign_by_date", "primary_campaign_on",
		"refresh_dim_date_campaigns", "refresh_dim_date_holidays", "idx_campaigns_daterange",
		"idx_dim_date_backup_created_at", "idx_holidays_date", "idx_orders_order_date",
		"campaigns_attribution_weight_check", "campaigns_date_range_check")
	equal(t, "generated column left to the DBA",
		one(t, db.Pool, `SELECT count(*)::text FROM pg_attribute WHERE attrelid = 'dim_date'::regclass AND attname = 'week_of_year'`), "0")
	equal(t, "added NOT VALID", rowsOf(t, db.Pool, `SELECT conname, convalidated::text FROM pg_constraint
		WHERE conrelid = 'campaigns'::regclass AND contype = 'c' ORDER BY conname`),
		[][]string{{"campaigns_attribution_weight_check", "false"}, {"campaigns_date_range_check", "false"}})
	// New rows are checked at once; the old row only by the validation step,
	// which fails until the row is fixed.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight) VALUES ('x', '2025-02-01', '2025-02-02', 0)`); err == nil {
		t.Error("a new row breaking the NOT VALID constraint was accepted")
	}
	if _, err := db.Pool.Exec(ctx, `ALTER TABLE public.campaigns VALIDATE CONSTRAINT campaigns_attribution_weight_check`); err == nil {
		t.Error("validation passed over a row that breaks the constraint")
	}
	mustExec(t, db.Pool, `UPDATE campaigns SET attribution_weight = 1 WHERE campaign_name = 'zero';
		ALTER TABLE public.campaigns VALIDATE CONSTRAINT campaigns_attribution_weight_check;
		ALTER TABLE public.campaigns VALIDATE CONSTRAINT campaigns_date_range_check;`)
	assertContractChecks(t, db, 0, balancedQuality("10.00", "1.0000"))
	assertNothingToAdd(t, db)
}

// TestInstallAddsColumnsWithoutRewrite: tables of an older copy, with data,
// lacking columns this release has. Columns that can be added without
// rewriting or scanning the table are added (the tables keep their files);
// the generated calendar columns are left as manual steps.
func TestInstallAddsColumnsWithoutRewrite(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	mustExec(t, db.Pool, olderTablesSQL+`
		INSERT INTO campaigns (campaign_name, start_date, end_date) VALUES ('old', '2025-01-01', '2025-01-31');
		INSERT INTO dim_date (date, campaign_id) SELECT d::date, 1 FROM generate_series(DATE '2025-01-01', DATE '2025-01-31', '1 day') d;
		INSERT INTO holidays (date, name) VALUES ('2025-01-01', 'new year');
		UPDATE dim_date SET is_holiday = true, holiday_name = 'new year' WHERE date = '2025-01-01';
		INSERT INTO orders (order_date, total_amount, status) VALUES ('2025-01-05', 10, 'paid');`)
	const filesSQL = `SELECT relname, pg_relation_filenode(oid)::text FROM pg_class
		WHERE relname IN ('campaigns', 'dim_date', 'holidays', 'orders') ORDER BY relname`
	files := rowsOf(t, db.Pool, filesSQL)

	out, rows := runInstall(t, db)
	got := rowsByKey(rows)
	for key, action := range map[string]string{
		"column campaigns.attribution_weight": "add",
		"column campaigns.created_at":         "add",
		"column campaigns.updated_at":         "add",
		"column holidays.created_at":          "add",
		"column dim_date.year":                "manual",
		"column dim_date.is_weekend":          "manual",
		"table dim_date_backup":               "add",
	} {
		if r := got[key]; r.state != "missing" || r.action != action {
			t.Errorf("%s: got %+v, want missing/%s", key, r, action)
		}
	}
	assertShows(t, out,
		"ALTER TABLE public.campaigns ADD COLUMN attribution_weight numeric DEFAULT 1 NOT NULL;",
		"ALTER TABLE public.campaigns ADD COLUMN created_at timestamp with time zone DEFAULT now() NOT NULL;",
		"ALTER TABLE public.dim_date ADD COLUMN year integer GENERATED ALWAYS AS ((EXTRACT(year FROM date))::integer) STORED;",
	)

	runInstall(t, db, "apply=1")
	equal(t, "table files (no rewrite)", rowsOf(t, db.Pool, filesSQL), files)
	equal(t, "new columns", one(t, db.Pool, `SELECT attribution_weight::text FROM campaigns`), "1")
	assertContractChecks(t, db, 0, balancedQuality("10.00", "1.0000"))
	equal(t, "new rows", one(t, db.Pool, `SELECT ensure_dim_date('2025-01-01', '2025-02-02')`), "2")
	assertNothingToAdd(t, db)
}

// TestInstallOlderObjectsWithDependents: an older view with other columns
// that the seed's materialized view depends on, a check function with an
// older result type, and an index left INVALID by a failed concurrent
// build. The reference files would drop the first two (or fail on the
// dependency); the install reports them and leaves them, and says how to
// deal with the index.
func TestInstallOlderObjectsWithDependents(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	mustExec(t, db.Pool, `
		DROP VIEW revenue_attribution_analysis;
		CREATE VIEW revenue_attribution_analysis AS
			SELECT order_date AS attribution_date, NULL::bigint AS campaign_id, sum(total_amount) AS total_attributed_revenue
			FROM orders GROUP BY order_date;
		CREATE MATERIALIZED VIEW revenue_attribution_analysis_materialized AS SELECT * FROM revenue_attribution_analysis;
		DROP FUNCTION check_attribution_quality();
		CREATE FUNCTION check_attribution_quality() RETURNS TABLE(check_name text, status text)
			LANGUAGE sql AS $$ SELECT 'x', 'y' $$;
		UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_orders_order_date'::regclass;`)
	before := one(t, db.Pool, catalogSQL)

	out, rows := runInstall(t, db, "show_replace=1")
	got := rowsByKey(rows)
	for key, want := range map[string]planRow{
		"view revenue_attribution_analysis":    {state: "differs", action: "none", note: "columns (attribution_date date, campaign_id bigint, total_attributed_revenue numeric), this release: ("},
		"function check_attribution_quality()": {state: "differs", action: "none", note: "returns TABLE(check_name text, status text), this release: TABLE(check_name text, status text, value numeric, description text); left alone"},
		"index idx_orders_order_date":          {state: "differs", action: "manual", note: "INVALID"},
	} {
		if r := got[key]; r.state != want.state || r.action != want.action || !strings.Contains(r.note, want.note) {
			t.Errorf("%s: got %+v, want %s/%s with %q", key, r, want.state, want.action, want.note)
		}
	}
	assertShows(t, out,
		"DROP INDEX CONCURRENTLY public.idx_orders_order_date;",
		// show_replace: the deliberate upgrade, printed, not run.
		"DROP VIEW public.revenue_attribution_analysis;\nCREATE VIEW public.revenue_attribution_analysis AS",
		"DROP FUNCTION public.check_attribution_quality();\nCREATE FUNCTION public.check_attribution_quality()",
	)
	runInstall(t, db, "apply=1")
	if after := one(t, db.Pool, catalogSQL); after != before {
		t.Errorf("the install changed the database:\n%s", diffLines(before, after))
	}
}

// TestInstallDeliberateUpgrade: the safe install never upgrades an object
// that exists; the statements -v show_replace=1 prints do, for the objects
// the DBA picks, and afterwards the dry run finds them as this release has
// them.
func TestInstallDeliberateUpgrade(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	// An older body with the same result, and an older result type.
	mustExec(t, db.Pool, `
		CREATE OR REPLACE FUNCTION check_campaign_system_health() RETURNS TABLE(check_name text, status text, details text)
		LANGUAGE sql STABLE AS $$ SELECT 'Campaign ID Integrity', 'PASS', 'old' $$;
		DROP FUNCTION check_attribution_quality();
		CREATE FUNCTION check_attribution_quality() RETURNS TABLE(check_name text, status text)
			LANGUAGE sql AS $$ SELECT 'x', 'y' $$;`)

	out, rows := runInstall(t, db, "show_replace=1")
	equal(t, "to add", added(rows), []string(nil))
	blocks := replacements(out)
	for _, key := range []string{"function check_campaign_system_health()", "function check_attribution_quality()"} {
		if got := rowsByKey(rows)[key]; got.state != "differs" {
			t.Errorf("%s: %+v, want differs", key, got)
		}
		stmt, ok := blocks[key]
		if !ok {
			t.Fatalf("no replacement printed for %s:\n%s", key, out)
		}
		if err := db.ExecScript(stmt); err != nil {
			t.Fatalf("replacement of %s: %v\n%s", key, err, stmt)
		}
	}
	_, rows = runInstall(t, db)
	for _, r := range rows {
		if r.state != "present" {
			t.Errorf("after the replacements: %+v", r)
		}
	}
	assertContractChecks(t, db, 0, emptyQuality)
}

// replacements splits the -v show_replace=1 section into its statements,
// by "kind object".
func replacements(out string) map[string]string {
	_, section, ok := strings.Cut(out, "Replacements (")
	if !ok {
		return nil
	}
	marker := regexp.MustCompile(`(?m)^-- ((?:function|view|materialized view|index|trigger|constraint) .*)$`)
	m := map[string]string{}
	locs := marker.FindAllStringSubmatchIndex(section, -1)
	for i, loc := range locs {
		end := len(section)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		m[section[loc[2]:loc[3]]] = strings.TrimSpace(section[loc[1]:end])
	}
	return m
}

// TestInstallUnderLocks: behind a long transaction's lock the install gives
// up after lock_timeout instead of queueing: the dry run (which reads
// definitions with the ACCESS SHARE lock of any query) changes nothing; an
// apply whose index build meets the lock keeps what it added before it, with
// no INVALID leftover, and a later run completes the install.
func TestInstallUnderLocks(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	mustExec(t, db.Pool, `DROP INDEX idx_orders_order_date; DROP FUNCTION ensure_dim_date(date, date);`)
	before := one(t, db.Pool, catalogSQL)
	script := filepath.Join(pgtest.RepoRoot(), installScript)

	withLock := func(mode string, f func(tx pgx.Tx)) {
		inTx(t, db, func(tx pgx.Tx) {
			mustExec(t, tx, `LOCK TABLE orders IN `+mode+` MODE`)
			f(tx)
		})
	}

	withLock("ACCESS EXCLUSIVE", func(pgx.Tx) {
		for _, vars := range [][]string{{"lock_timeout=200ms"}, {"lock_timeout=200ms", "apply=1"}} {
			out, err := runPsqlFile(t, db.DSN, script, vars...)
			if err == nil || !strings.Contains(out, "lock timeout") {
				t.Errorf("%v under an ACCESS EXCLUSIVE lock: err %v\n%s", vars, err, out)
			}
		}
	})
	if after := one(t, db.Pool, catalogSQL); after != before {
		t.Fatalf("runs that met a lock changed the database:\n%s", diffLines(before, after))
	}

	// SHARE UPDATE EXCLUSIVE (a VACUUM, an ANALYZE, another index build)
	// lets the plan be read but holds up the index build.
	withLock("SHARE UPDATE EXCLUSIVE", func(tx pgx.Tx) {
		_, rows := runInstall(t, db, "lock_timeout=200ms")
		equal(t, "to add", added(rows), []string{"function ensure_dim_date(p_start date, p_end date)", "index idx_orders_order_date"})
		out, err := runPsqlFile(t, db.DSN, script, "apply=1", "lock_timeout=200ms")
		if err == nil || !strings.Contains(out, "lock timeout") {
			t.Fatalf("apply under a lock: err %v\n%s", err, out)
		}
		// The function (planned before the index) was added; the index was
		// not, and no INVALID leftover remains.
		equal(t, "after the failed apply", rowsOf(t, tx, `SELECT
			to_regprocedure('ensure_dim_date(date,date)') IS NOT NULL, to_regclass('idx_orders_order_date') IS NOT NULL`),
			[][]string{{"true", "false"}})
	})

	_, rows := runInstall(t, db, "apply=1")
	equal(t, "second apply adds", added(rows), []string{"index idx_orders_order_date"})
	assertOnlyAdded(t, before, one(t, db.Pool, catalogSQL), "ensure_dim_date", "idx_orders_order_date")
	assertNothingToAdd(t, db)
}

// TestInstallScratchWorkNeverKept: a failure during the scratch build (a
// broken reference file) or a schema of the DBA's under the scratch name
// stops the run with nothing changed.
func TestInstallScratchWorkNeverKept(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	before := one(t, db.Pool, catalogSQL)

	// A copy of schema/ whose last reference file fails half way.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "install"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := pgtest.SchemaFiles()
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if i == len(files)-1 {
			b = append(b, "\nSELECT 1 / 0;\n"...)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := readRepoFile(t, installScript)
	if err := os.WriteFile(filepath.Join(dir, "install", "install.sql"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, vars := range [][]string{nil, {"apply=1"}} {
		out, err := runPsqlFile(t, db.DSN, filepath.Join(dir, "install", "install.sql"), vars...)
		if err == nil || !strings.Contains(out, "division by zero") {
			t.Fatalf("broken reference file %v: err %v\n%s", vars, err, out)
		}
		if after := one(t, db.Pool, catalogSQL); after != before {
			t.Fatalf("a failed run %v changed the database:\n%s", vars, diffLines(before, after))
		}
	}

	mustExec(t, db.Pool, `CREATE SCHEMA campaign_install_ref; CREATE TABLE campaign_install_ref.mine (x int)`)
	before = one(t, db.Pool, catalogSQL)
	out, err := runPsqlFile(t, db.DSN, filepath.Join(pgtest.RepoRoot(), installScript), "apply=1")
	if err == nil || !strings.Contains(out, "uses those names for its scratch work") {
		t.Fatalf("scratch name taken: err %v\n%s", err, out)
	}
	if after := one(t, db.Pool, catalogSQL); after != before {
		t.Fatalf("the refused run changed the database:\n%s", diffLines(before, after))
	}
}

// TestInstallScriptReadsEveryReferenceFile: psql cannot glob, so the
// script names the reference files; a new one must be added there.
func TestInstallScriptReadsEveryReferenceFile(t *testing.T) {
	t.Parallel()
	files, err := pgtest.SchemaFiles()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, filepath.Base(f))
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^\\ir \.\./(\S+)$`).FindAllStringSubmatch(readRepoFile(t, installScript), -1) {
		got = append(got, m[1])
	}
	equal(t, "files read by "+installScript, got, want)
}

// unpackSQL writes the .sql files of a gzipped tar archive into a temporary
// directory and returns their paths in name order.
func unpackSQL(t *testing.T, archive string) []string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", archive, err)
	}
	dir := t.TempDir()
	var files []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".sql") {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %s: %v", archive, h.Name, err)
		}
		p := filepath.Join(dir, filepath.Base(h.Name))
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if len(files) == 0 {
		t.Fatalf("%s holds no .sql file", archive)
	}
	sort.Strings(files)
	return files
}

// assertShows fails for each of wants that the install's output lacks.
func assertShows(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("the output does not show %q:\n%s", want, out)
		}
	}
}
