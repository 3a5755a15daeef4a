package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const defaultAdminDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// checkFunctions are the database functions the collectors call, counted by
// PostgreSQL itself (track_functions).
var checkFunctions = []string{
	"check_campaign_system_health",
	"check_attribution_quality",
	"check_holiday_data_integrity",
	"monitor_system_performance",
}

// scratch is a database of demo data, created for one run and dropped after.
type scratch struct {
	adminDSN string
	name     string
	dsn      string // as the admin role
	pool     *pgxpool.Pool
	version  string
	orders   int64
}

// repoRoot is the directory holding go.mod, from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "schema")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the repository (no go.mod with schema/ above the working directory)")
		}
		dir = parent
	}
}

// newScratch creates the database, applies schema/*.sql and the demo
// generator, generates scale's data and turns on track_functions.
func newScratch(ctx context.Context, scale float64) (*scratch, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	s := &scratch{adminDSN: os.Getenv("CAMPAIGN_TEST_DSN")}
	if s.adminDSN == "" {
		s.adminDSN = defaultAdminDSN
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	s.name = "campaign_bench_" + hex.EncodeToString(b)

	admin, err := pgx.Connect(ctx, s.adminDSN)
	if err != nil {
		return nil, fmt.Errorf("cannot reach PostgreSQL (set CAMPAIGN_TEST_DSN): %w", err)
	}
	defer admin.Close(context.Background())
	if err := admin.QueryRow(ctx, "SHOW server_version").Scan(&s.version); err != nil {
		return nil, err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+s.name); err != nil {
		return nil, err
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+s.name+" SET track_functions = 'all'"); err != nil {
		s.drop()
		return nil, err
	}
	s.dsn, err = withDatabase(s.adminDSN, s.name)
	if err != nil {
		s.drop()
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(s.dsn)
	if err != nil {
		s.drop()
		return nil, err
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "campaign_bench_admin"
	cfg.MaxConns = 2
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		s.drop()
		return nil, err
	}

	files, _ := filepath.Glob(filepath.Join(root, "schema", "*.sql"))
	sort.Strings(files)
	var apply []string
	for _, f := range files {
		if filepath.Base(f) != "exporter-role.sql" {
			apply = append(apply, f)
		}
	}
	apply = append(apply, filepath.Join(root, "testdata", "demo", "generate.sql"))
	for _, f := range apply {
		sql, err := os.ReadFile(f)
		if err != nil {
			s.drop()
			return nil, err
		}
		if err := s.script(ctx, string(sql)); err != nil {
			s.drop()
			return nil, fmt.Errorf("apply %s: %w", filepath.Base(f), err)
		}
	}
	logf("generating demo data at scale %g in %s", scale, s.name)
	for _, sql := range []string{fmt.Sprintf("SELECT campaign_demo_generate(%g)", scale), "VACUUM ANALYZE"} {
		if err := s.script(ctx, sql); err != nil {
			s.drop()
			return nil, err
		}
	}
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&s.orders); err != nil {
		s.drop()
		return nil, err
	}
	return s, nil
}

// script runs a multi-statement script in one simple-protocol round trip.
func (s *scratch) script(ctx context.Context, sql string) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	_, err = c.Conn().PgConn().Exec(ctx, sql).ReadAll()
	return err
}

// drop removes the database, whatever sessions are left on it.
func (s *scratch) drop() {
	if s.pool != nil {
		s.pool.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, s.adminDSN)
	if err != nil {
		logf("drop %s: %v", s.name, err)
		return
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+s.name+" WITH (FORCE)"); err != nil {
		logf("drop %s: %v", s.name, err)
	}
}

// sessions counts the open sessions of application app on the database.
func (s *scratch) sessions(ctx context.Context, app string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = $1 AND application_name = $2`, s.name, app).Scan(&n)
	return n, err
}

// waitNoSessions waits until app's sessions are gone: a backend reports
// its function counts when it exits.
func (s *scratch) waitNoSessions(ctx context.Context, app string) error {
	for i := 0; i < 1000; i++ {
		n, err := s.sessions(ctx, app)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s sessions still open after 10s", app)
}

// calls is how often each check function has run in the database so far.
func (s *scratch) calls(ctx context.Context) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT funcname::text, sum(calls)::bigint FROM pg_stat_user_functions
		WHERE funcname = ANY ($1) GROUP BY funcname`, checkFunctions)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, rows.Err()
}

func withDatabase(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dsn + " dbname=" + name, nil
	}
	u.Path = "/" + name
	return u.String(), nil
}

// baselineSQL is one sequential aggregate over orders: the floor of any
// check of the revenue in orders.
const baselineSQL = "SELECT sum(total_amount) FROM orders WHERE status IN ('paid','processing','shipped','delivered','completed')"

// attributionCheck times baselineSQL, with index scans off so that it
// stays a sequential scan, and check_attribution_quality(), rounds times
// each, interleaved (the order alternating), after a warm-up round.
func (s *scratch) attributionCheck(ctx context.Context, rounds int) (baseline, check []time.Duration, err error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer c.Release()
	run := func(sql string, seq bool) (time.Duration, error) {
		tx, err := c.Begin(ctx)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback(ctx) //nolint:errcheck // read only
		if seq {
			if _, err := tx.Exec(ctx, "SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_bitmapscan = off"); err != nil {
				return 0, err
			}
		}
		start := time.Now()
		rows, err := tx.Query(ctx, sql)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
		}
		rows.Close()
		return time.Since(start), rows.Err()
	}
	for i := -1; i < rounds; i++ {
		var b, k time.Duration
		steps := []func() error{
			func() (err error) { b, err = run(baselineSQL, true); return err },
			func() (err error) { k, err = run("SELECT * FROM check_attribution_quality()", false); return err },
		}
		for j := range steps {
			if err := steps[(i+1+j)%2](); err != nil {
				return nil, nil, err
			}
		}
		if i >= 0 {
			baseline, check = append(baseline, b), append(check, k)
		}
	}
	return baseline, check, nil
}
