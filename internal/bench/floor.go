package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/jackc/pgx/v5/pgxpool"
)

const floorApp = "campaign_bench_floor"

// floor runs the SQL of every collector (queries/*.sql, with the arguments
// the collectors pass) directly with pgx, reading every row: the least
// work a scrape that reaches the database can do.
type floor struct {
	pool    *pgxpool.Pool
	queries []floorQuery
}

type floorQuery struct {
	name string
	sql  string
	args []any
}

// newFloor opens a pool like the exporter's (3 read-only sessions, the same
// timeouts, prepared statements), under its own application_name.
func newFloor(ctx context.Context, dsn string) (*floor, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	o := collector.DefaultPoolOptions
	cfg.MaxConns = o.MaxConns
	rp := cfg.ConnConfig.RuntimeParams
	rp["application_name"] = floorApp
	rp["default_transaction_read_only"] = "on"
	rp["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	rp["lock_timeout"] = strconv.FormatInt(o.LockTimeout.Milliseconds(), 10)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	opts := collector.DefaultOptions()
	f := &floor{pool: pool}
	for _, name := range collector.Names() {
		q := floorQuery{name: name, sql: queries.Get(name)}
		switch name {
		case "table_stats":
			q.args = []any{opts.TableStatsTables}
		case "index_usage":
			q.args = []any{opts.IndexUsageTables}
		case "maintenance":
			// maintenance_cron.sql runs only where pg_cron is installed.
			q.args = []any{opts.BackupRetention.Seconds()}
		}
		f.queries = append(f.queries, q)
	}
	return f, nil
}

func (f *floor) run(ctx context.Context, q floorQuery, exec func(context.Context, string, ...any) error) error {
	if err := exec(ctx, q.sql, q.args...); err != nil {
		return fmt.Errorf("floor %s: %w", q.name, err)
	}
	return nil
}

func (f *floor) read(ctx context.Context, sql string, args ...any) error {
	rows, err := f.pool.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if _, err := rows.Values(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sequential runs the queries one after another on one session.
func (f *floor) sequential(ctx context.Context) (time.Duration, error) {
	c, err := f.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Release()
	read := func(ctx context.Context, sql string, args ...any) error {
		rows, err := c.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if _, err := rows.Values(); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	start := time.Now()
	for _, q := range f.queries {
		if err := f.run(ctx, q, read); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// concurrent runs every query at once on the pool of 3, as the exporter
// runs its collectors.
func (f *floor) concurrent(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	errs := make([]error, len(f.queries))
	var wg sync.WaitGroup
	for i, q := range f.queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.run(ctx, q, f.read)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return took, nil
}

func (f *floor) close() { f.pool.Close() }
