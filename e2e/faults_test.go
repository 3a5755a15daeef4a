//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/alerts"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

// wantAlert is an alert a fault must cause: its name, severity and the
// labels that tell it from the same alert on another object.
type wantAlert struct {
	name, severity string
	labels         map[string]string
}

func (w wantAlert) String() string {
	keys := make([]string, 0, len(w.labels))
	for k, v := range w.labels {
		keys = append(keys, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(keys)
	return fmt.Sprintf("%s{%s} %s", w.name, strings.Join(keys, ","), w.severity)
}

// matches reports whether an alert with these labels is w.
func (w wantAlert) matches(labels map[string]string) bool {
	if labels["alertname"] != w.name || labels["severity"] != w.severity {
		return false
	}
	for k, v := range w.labels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// faultCase is one row of the fault table in alerts/runbooks.md: a fault
// injected on its own database, the alerts it must page (and no others),
// and the runbook procedures that must resolve them.
type faultCase struct {
	name string
	// setup runs once on the fresh demo database, before Prometheus
	// watches it (extra objects the fault needs).
	setup func(t *testing.T, db *pgtest.DB)
	// inject is the SQL that breaks the data.
	inject string
	want   []wantAlert
	// procedures are headings of alerts/runbooks.md whose block is run, in
	// order, as the repair.
	procedures []string
	// afterRepair stands in for what happens after the operator is done
	// (a scheduler's next run), if anything.
	afterRepair string
	// maxConnections bounds the exporter's pool for this target (default 2).
	maxConnections int
	// role, when set, is the role the exporter connects as (its grants
	// applied by setup), instead of the admin role.
	role string
	// exercise, for a case without a fault, runs procedures that must not
	// alert at any point.
	exercise func(t *testing.T, db *pgtest.DB)
	// drift is SQL run once the fault has paged: the data drifting while
	// it lasts. It causes the inhibited alerts, which must fire in
	// Prometheus and never be notified (alerts/alertmanager.yml).
	drift     string
	inhibited []wantAlert
}

// firstOrdinaryDay is a dim_date day that is no holiday and has no
// holidays row.
const firstOrdinaryDay = `(SELECT min(d.date) FROM dim_date d WHERE NOT d.is_holiday
  AND NOT EXISTS (SELECT 1 FROM holidays h WHERE h.date = d.date))`

const (
	procRecompute  = "### Recompute dim_date campaign_id (清理孤立記錄)"
	procEnsureDate = "### Restore missing dim_date dates (歸因計算錯誤)"
	procResync     = "### Resynchronise the holiday flags (假期同步修復)"
	procDuplicates = "### Remove duplicate holidays (清理重複的假期記錄)"
	procCampaigns  = "### Remove duplicated campaigns (檢查活動權重設定)"
	procReenable   = "### Re-enable the triggers (資料還原 第 4 步)"
	procRecreate   = "### Recreate the holiday trigger (假期同步修復: 重新建立觸發器)"
	procFunctions  = "### Re-create the campaign system's functions (重新建立歸因計算函數)"
	procLegacy     = "### Clear the legacy campaign names (每月維護: 清理孤立記錄)"
	procWeekly     = "### Weekly maintenance (每週維護)"
	procAnalyze    = "### Refresh the statistics (重建統計資訊)"
	procVacuum     = "### Vacuum the tables (清理無效資料列)"
	procCronJob    = "### Repair the attribution refresh job (建立自動更新機制)"
	procHolidayHow = "### Test the holiday synchronisation (手動測試同步)"
	procRestore    = "### Restore from a backup (資料還原)"
	procReindex    = "### Rebuild the indexes (重建索引)"
	procAccess     = "### Give the exporter its access back (系統停機程序)"
	procReload     = "### Check and reload the exporter's configuration (檢查錯誤日誌)"
	procCronActive = "### Re-activate the pg_cron jobs (每週維護)"
)

func crit(name string, labels map[string]string) wantAlert {
	return wantAlert{name: name, severity: "critical", labels: labels}
}

func warn(name string, labels map[string]string) wantAlert {
	return wantAlert{name: name, severity: "warning", labels: labels}
}

// faultCases is the fault table. healthy and guide_only inject nothing and
// must stay silent throughout.
var faultCases = []faultCase{
	{name: "healthy"},
	{
		name: "guide_only",
		// A database built from the guide: no ensure_dim_date().
		setup: func(t *testing.T, db *pgtest.DB) {
			db.Exec(t, `DROP FUNCTION ensure_dim_date(date, date)`)
		},
	},
	{
		// The restore procedure: a backup that fails half way leaves
		// nothing changed and no trigger disabled; a good one restores.
		// Neither alerts.
		name:     "restore",
		exercise: exerciseRestore,
	},
	{
		name:       "orphan_campaign",
		inject:     `SELECT campaign_fault_orphan_campaign()`,
		want:       []wantAlert{crit("CampaignHealthCheckFailed", map[string]string{"check": "Campaign ID Integrity"})},
		procedures: []string{procRecompute},
	},
	{
		name:       "revenue_imbalance",
		inject:     `SELECT campaign_fault_revenue_imbalance()`,
		want:       []wantAlert{crit("CampaignRevenueImbalance", map[string]string{"check": "Revenue Balance"})},
		procedures: []string{procEnsureDate},
	},
	{
		name:       "unsynced_holiday",
		inject:     `SELECT campaign_fault_unsynced_holiday()`,
		want:       []wantAlert{warn("CampaignHealthCheckWarning", map[string]string{"check": "Holiday Sync Status"})},
		procedures: []string{procResync},
	},
	{
		name:       "duplicate_holiday",
		inject:     `SELECT campaign_fault_duplicate_holiday()`,
		want:       []wantAlert{warn("CampaignHolidayIntegrityIssues", map[string]string{"check_type": "DUPLICATE_HOLIDAYS"})},
		procedures: []string{procDuplicates},
	},
	{
		name:       "stray_holiday_flag",
		inject:     `SELECT campaign_fault_stray_holiday_flag()`,
		want:       []wantAlert{warn("CampaignHolidayIntegrityIssues", map[string]string{"check_type": "ORPHANED_HOLIDAY_FLAG"})},
		procedures: []string{procResync},
	},
	{
		// While the trigger is off a holiday is added: Holiday Sync Status
		// warns, and the inhibition keeps that consequence quiet.
		name:       "holiday_trigger_disabled",
		inject:     `SELECT campaign_fault_holiday_trigger_disabled()`,
		want:       []wantAlert{crit("CampaignTriggerDisabled", map[string]string{"trigger": "trigger_sync_holidays", "table": "holidays"})},
		drift:      `INSERT INTO holidays (date, name) SELECT ` + firstOrdinaryDay + `, '補假'`,
		inhibited:  []wantAlert{warn("CampaignHealthCheckWarning", map[string]string{"check": "Holiday Sync Status"})},
		procedures: []string{procResync, procRecompute, procReenable, procHolidayHow},
	},
	{
		// While the trigger is off a campaign ends three days early:
		// dim_date goes stale, and the inhibition keeps that quiet.
		name:   "campaign_trigger_disabled",
		inject: `SELECT campaign_fault_campaign_trigger_disabled()`,
		want:   []wantAlert{crit("CampaignTriggerDisabled", map[string]string{"trigger": "update_campaign_in_dim_date_v2_trigger", "table": "campaigns"})},
		drift: `UPDATE campaigns SET end_date = end_date - 3 WHERE id = (SELECT min(c.id) FROM campaigns c
  JOIN dim_date d ON d.date = c.end_date AND d.campaign_id = c.id WHERE c.end_date - c.start_date >= 3)`,
		inhibited:  []wantAlert{crit("CampaignDimDateStaleCampaign", nil)},
		procedures: []string{procResync, procRecompute, procReenable},
	},
	{
		// The trigger dropped, not disabled: the runbook recreates it.
		name:       "holiday_trigger_missing",
		inject:     `DROP TRIGGER trigger_sync_holidays ON holidays`,
		want:       []wantAlert{crit("CampaignTriggerDisabled", map[string]string{"trigger": "trigger_sync_holidays", "table": "holidays"})},
		procedures: []string{procRecreate, procHolidayHow},
	},
	{
		name:   "check_function_missing",
		inject: `SELECT campaign_fault_check_function_missing()`,
		want: []wantAlert{
			crit("CampaignCheckCollectorFailing", map[string]string{"collector": "health"}),
			warn("CampaignFunctionMissing", map[string]string{"function": "check_campaign_system_health"}),
		},
		procedures: []string{procFunctions},
	},
	{
		name:   "slow_attribution",
		inject: `SELECT campaign_fault_slow_attribution()`,
		want:   []wantAlert{warn("CampaignAttributionCalculationSlow", map[string]string{"measurement": "Attribution Calculation"})},
		// The runbook's other repair of a slow check, a bloated index, run
		// as written after the real one: it must leave the database healthy.
		procedures:     []string{procFunctions, procReindex},
		maxConnections: 3,
	},
	{
		name:           "attribution_check_timeout",
		inject:         `SELECT campaign_fault_attribution_check_timeout()`,
		want:           []wantAlert{crit("CampaignCheckCollectorFailing", map[string]string{"collector": "attribution"})},
		procedures:     []string{procFunctions},
		maxConnections: 3,
	},
	{
		name:       "weight_distribution",
		inject:     `SELECT campaign_fault_duplicate_campaigns()`,
		want:       []wantAlert{warn("CampaignWeightDistributionOutOfBand", map[string]string{"check": "Weight Distribution"})},
		procedures: []string{procCampaigns},
	},
	{
		name:       "stale_campaign_dates",
		inject:     `SELECT campaign_fault_stale_campaign_dates()`,
		want:       []wantAlert{crit("CampaignDimDateStaleCampaign", nil)},
		procedures: []string{procRecompute},
	},
	{
		name:       "expired_backups",
		inject:     `SELECT campaign_fault_expired_backups()`,
		want:       []wantAlert{warn("CampaignBackupCleanupMissed", nil)},
		procedures: []string{procWeekly},
	},
	{
		name:       "table_never_analyzed",
		inject:     `SELECT campaign_fault_table_never_analyzed()`,
		want:       []wantAlert{warn("CampaignTableNotAnalyzed", map[string]string{"table": "orders"})},
		procedures: []string{procAnalyze},
	},
	{
		name:       "dim_date_bloat",
		inject:     `SELECT campaign_fault_dim_date_bloat()`,
		want:       []wantAlert{warn("CampaignTableDeadRowsHigh", map[string]string{"table": "dim_date"})},
		procedures: []string{procAnalyze, procVacuum},
	},
	{
		name:       "unknown_status",
		inject:     `SELECT campaign_fault_unknown_status()`,
		want:       []wantAlert{warn("CampaignCheckStatusUnknown", map[string]string{"check": "Legacy Campaign Names", "status": "ERROR", "function": "check_campaign_system_health"})},
		procedures: []string{procLegacy},
	},
	{
		// A weekly pg_cron job switched off by hand and forgotten: its
		// history moved back 9 days stands in for the wait.
		name: "cron_job_missed",
		setup: func(t *testing.T, db *pgtest.DB) {
			db.ApplyFile(t, "testdata/pg_cron_standin.sql")
			db.Exec(t, `INSERT INTO cron.job (jobname, schedule, command)
VALUES ('cleanup-dim-date-backup', '0 3 * * 0', $$DELETE FROM dim_date_backup WHERE created_at < now() - interval '30 days'$$)`)
			db.Exec(t, `INSERT INTO cron.job_run_details (jobid, status, start_time, end_time)
SELECT jobid, 'succeeded', now() - interval '2 days', now() - interval '2 days' + interval '1 second'
FROM cron.job WHERE jobname = 'cleanup-dim-date-backup'`)
		},
		inject: `UPDATE cron.job SET active = false WHERE jobname = 'cleanup-dim-date-backup';
UPDATE cron.job_run_details SET start_time = start_time - interval '9 days', end_time = end_time - interval '9 days'
WHERE jobid = (SELECT jobid FROM cron.job WHERE jobname = 'cleanup-dim-date-backup')`,
		want:       []wantAlert{warn("CampaignCronJobMissed", map[string]string{"cron_job": "cleanup-dim-date-backup"})},
		procedures: []string{procCronActive},
		// The stand-in has no scheduler: record the run pg_cron would
		// start, for an active job only.
		afterRepair: `INSERT INTO cron.job_run_details (jobid, command, status, return_message, start_time, end_time)
SELECT jobid, command, 'succeeded', 'DELETE 0', now(), now() FROM cron.job WHERE jobname = 'cleanup-dim-date-backup' AND active`,
	},
	{
		// A database locked down by hand (CONNECT revoked from PUBLIC)
		// that forgot the exporter: its sessions are ended and it cannot
		// connect again, while the database is up for everyone else.
		name: "exporter_locked_out",
		role: "campaign_exporter",
		setup: func(t *testing.T, db *pgtest.DB) {
			db.ApplyFile(t, "schema/exporter-role.sql")
		},
		inject: `DO $$
BEGIN
    EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC, campaign_exporter', current_database());
END
$$;
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND usename = 'campaign_exporter'`,
		want:       []wantAlert{crit("CampaignDatabaseDown", nil)},
		procedures: []string{procAccess},
	},
	{
		// A grant lost (a REVOKE, or the table re-created by hand): only
		// the maintenance collector reads dim_date_backup.
		name: "exporter_grant_lost",
		role: "campaign_exporter",
		setup: func(t *testing.T, db *pgtest.DB) {
			db.ApplyFile(t, "schema/exporter-role.sql")
		},
		inject:     `REVOKE SELECT ON dim_date_backup FROM campaign_exporter`,
		want:       []wantAlert{warn("CampaignCollectorFailing", map[string]string{"collector": "maintenance"})},
		procedures: []string{procAccess},
	},
	{
		name: "cron_refresh_failed",
		setup: func(t *testing.T, db *pgtest.DB) {
			db.ApplyFile(t, "testdata/pg_cron_standin.sql")
		},
		inject:     `SELECT campaign_fault_cron_refresh_failed()`,
		want:       []wantAlert{warn("CampaignCronJobFailed", map[string]string{"cron_job": "refresh-attribution"})},
		procedures: []string{procCronJob},
		// The stand-in has no scheduler: record the next hourly run, which
		// now succeeds, as pg_cron would.
		afterRepair: `INSERT INTO cron.job_run_details (jobid, command, status, return_message, start_time, end_time)
SELECT jobid, command, 'succeeded', 'SELECT 1', now(), now() FROM cron.job WHERE jobname = 'refresh-attribution'`,
	},
}

// prepareDB makes a fault case's database: the reference schema, the demo
// data at a small scale, the fault functions, vacuumed and analyzed as a
// maintained database is.
func prepareDB(t *testing.T, fc faultCase) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	db.ApplyFile(t, "testdata/demo/generate.sql")
	db.ApplyFile(t, "testdata/demo/faults.sql")
	db.Exec(t, `SELECT campaign_demo_generate(0.01)`)
	if fc.setup != nil {
		fc.setup(t, db)
	}
	// The generator's writes reach pg_stat_* when its sessions end; flushed
	// after the VACUUM they would count its dead rows again.
	db.FlushStats(t)
	db.Exec(t, `VACUUM (ANALYZE)`)
	return db
}

// runbookBlock is the first ```sql or ```bash block after heading in
// alerts/runbooks.md, and its language, so the test runs the procedure
// the runbook tells operators to run.
func runbookBlock(t *testing.T, heading string) (lang, body string) {
	t.Helper()
	doc := string(alerts.Runbooks)
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("runbooks.md has no section %q", heading)
	}
	section := doc[i+len(heading)+2:]
	start := strings.Index(section, "\n```")
	if start < 0 || strings.Contains(section[:start], "\n#") {
		t.Fatalf("runbooks.md section %q has no code block", heading)
	}
	block := section[start+len("\n```"):]
	nl := strings.IndexByte(block, '\n')
	lang, block = block[:nl], block[nl+1:]
	end := strings.Index(block, "\n```")
	if end < 0 {
		t.Fatalf("runbooks.md section %q: unterminated code block", heading)
	}
	if lang != "sql" && lang != "bash" {
		t.Fatalf("runbooks.md section %q: first block is %q, want sql or bash", heading, lang)
	}
	return lang, block[:end] + "\n"
}

// runProcedure runs a runbook procedure as an operator would: SQL through
// psql with ON_ERROR_STOP, shell with bash -e from the repository root,
// both with DATABASE_URL set.
func runProcedure(t *testing.T, db *pgtest.DB, heading string) {
	t.Helper()
	runProcedureEnv(t, heading, db.DSN, "DATABASE_URL="+db.DSN)
}

// runProcedureEnv runs the procedure under heading with env added to the
// environment; a SQL block runs in database dsn.
func runProcedureEnv(t *testing.T, heading, dsn string, env ...string) {
	t.Helper()
	lang, body := runbookBlock(t, heading)
	var cmd *exec.Cmd
	switch lang {
	case "sql":
		cmd = exec.Command("psql", dsn, "-X", "-v", "ON_ERROR_STOP=1", "-q", "-f", "-")
	default:
		cmd = exec.Command("bash", "-e", "-c", body)
	}
	cmd.Dir = pgtest.RepoRoot()
	cmd.Env = append(os.Environ(), env...)
	if lang == "sql" {
		cmd.Stdin = strings.NewReader(body)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("runbook procedure %q failed: %v\n%s\n--- the block ---\n%s", heading, err, out, body)
	}
	if strings.Contains(string(out), "ERROR:") {
		t.Fatalf("runbook procedure %q reported an error:\n%s", heading, out)
	}
}

// faultResult is what the table of the report says about one case.
type faultResult struct {
	name           string
	alerts         []wantAlert
	fired, resolve time.Duration
}

// exerciseRestore runs the runbook's restore script twice: with a backup
// that fails half way (it must stop, change nothing and leave both triggers
// enabled) and with a good one (the guide's data-only dump).
func exerciseRestore(t *testing.T, db *pgtest.DB) {
	dir := t.TempDir()
	good := filepath.Join(dir, "campaign_data.sql")
	dump := exec.Command("pg_dump", db.DSN, "-t", "campaigns", "-t", "dim_date", "-t", "holidays", "--data-only", "-f", good)
	if out, err := dump.CombinedOutput(); err != nil {
		t.Fatalf("the guide's backup (pg_dump --data-only): %v\n%s", err, out)
	}
	goodSQL, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// A backup whose last statement fails: everything before it loaded.
	bad := filepath.Join(dir, "campaign_data_broken.sql")
	writeFile(t, bad, string(goodSQL)+"\nINSERT INTO holidays (date, name) VALUES (NULL, 'broken');\n")

	_, script := runbookBlock(t, procRestore)
	restore := func(backup string) ([]byte, error) {
		cmd := exec.Command("bash", "-c", script, "restore_campaign_data.sh", backup)
		cmd.Dir = pgtest.RepoRoot()
		cmd.Env = append(os.Environ(), "DATABASE_URL="+db.DSN, "BACKUP_DIR="+filepath.Join(dir, "restore-points"))
		return cmd.CombinedOutput()
	}
	// state is how many of the two triggers are enabled, and how many
	// campaigns there are.
	state := func() (enabled, campaigns int) {
		db.QueryRow(t, `SELECT count(*) FROM pg_trigger WHERE tgname IN ('trigger_sync_holidays', 'update_campaign_in_dim_date_v2_trigger') AND tgenabled = 'O'`, []any{&enabled})
		db.QueryRow(t, `SELECT count(*) FROM campaigns`, []any{&campaigns})
		return enabled, campaigns
	}
	_, before := state()
	db.Exec(t, `DELETE FROM campaigns WHERE id = (SELECT max(id) FROM campaigns)`)
	db.Exec(t, `SELECT ensure_dim_date('2022-01-01', '2026-12-31')`)

	out, err := restore(bad)
	if err == nil {
		t.Fatalf("the restore of a broken backup succeeded:\n%s", out)
	}
	enabled, campaigns := state()
	if enabled != 2 || campaigns != before-1 {
		t.Fatalf("after a failed restore: %d of 2 triggers enabled, %d campaigns (want %d, unchanged)\n%s", enabled, campaigns, before-1, out)
	}

	if out, err := restore(good); err != nil {
		t.Fatalf("the restore of a good backup failed: %v\n%s", err, out)
	}
	enabled, campaigns = state()
	if enabled != 2 || campaigns != before {
		t.Fatalf("after the restore: %d of 2 triggers enabled, %d campaigns, want %d", enabled, campaigns, before)
	}
	points, _ := filepath.Glob(filepath.Join(dir, "restore-points", "pre_restore_backup_*.dump"))
	if len(points) != 2 {
		t.Errorf("%d restore points kept, want 2", len(points))
	}
}

// reloadFailed is the alert of a failed configuration reload, on the
// exporter's own job.
var reloadFailed = warn("CampaignExporterConfigReloadFailed", nil)

// exerciseConfigReload: an edit that breaks the exporter's configuration
// file (a duplicate target name) fails its reload, which pages; once the
// file is mended, the runbook's procedure checks and reloads it, and the
// alert resolves. The other cases' targets are served throughout.
func exerciseConfigReload(t *testing.T, bin, addr, path string, hook *webhook) {
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(good)+"  - name: healthy\n    dsn: \"postgres://nobody@127.0.0.1:1/none\"\n")
	resp, err := http.Post("http://"+addr+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("a reload of a file with a duplicate target name answered 200")
	}
	injected := time.Now()
	hook.waitFor(t, alertTimeout, "firing "+reloadFailed.String(), isJobNotification(exporterJob, addr, reloadFailed, "firing"))
	t.Logf("%s fired %s after the failed reload", reloadFailed, time.Since(injected).Round(100*time.Millisecond))

	writeFile(t, path, string(good))
	// The procedure calls the exporter by its installed name.
	dir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(dir, "campaign_exporter")); err != nil {
		t.Fatal(err)
	}
	runProcedureEnv(t, procReload, "", "CONFIG_FILE="+path, "EXPORTER_URL=http://"+addr,
		"PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	repaired := time.Now()
	hook.waitFor(t, alertTimeout, "resolved "+reloadFailed.String(), isJobNotification(exporterJob, addr, reloadFailed, "resolved"))
	t.Logf("%s resolved %s after the procedure", reloadFailed, time.Since(repaired).Round(100*time.Millisecond))
}
