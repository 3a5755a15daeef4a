package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/queries"
)

// alone runs each collector's query (queries/NAME.sql, with the arguments
// the collector passes) by itself on a pool built as the exporter builds
// its own, reading every row: the least a first scrape can take is its
// slowest query.
type alone struct {
	pool    *collector.Pool
	queries []aloneQuery
}

type aloneQuery struct {
	name string
	sql  string
	args []any
}

func newAlone(dsn string) (*alone, error) {
	pool, err := collector.NewPool(dsn, collector.DefaultPoolOptions)
	if err != nil {
		return nil, err
	}
	opts := collector.DefaultOptions()
	a := &alone{pool: pool}
	for _, name := range collector.Names() {
		q := aloneQuery{name: name, sql: queries.Get(name)}
		switch name {
		case "table_stats":
			q.args = []any{opts.TableStatsTables}
		case "index_usage":
			q.args = []any{opts.IndexUsageTables}
		case "maintenance":
			// maintenance_cron.sql runs only where pg_cron is installed.
			q.args = []any{opts.BackupRetention.Seconds()}
		}
		a.queries = append(a.queries, q)
	}
	return a, nil
}

// read runs q and reads every row.
func (a *alone) read(ctx context.Context, q aloneQuery) error {
	rows, err := a.pool.Query(ctx, q.sql, q.args...)
	if err != nil {
		return fmt.Errorf("%s: %w", q.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		if _, err := rows.Values(); err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
	}
	return rows.Err()
}

// together runs every query at once on the pool (its 3 connections), as a
// scrape does but without the exporter, and returns how long they took.
func (a *alone) together(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	errs := make([]error, len(a.queries))
	var wg sync.WaitGroup
	for i, q := range a.queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = a.read(ctx, q)
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

// slowest runs every query once, one after another, and returns the
// longest, its name, and the time of them all.
func (a *alone) slowest(ctx context.Context) (time.Duration, string, time.Duration, error) {
	var worst, all time.Duration
	var name string
	for _, q := range a.queries {
		start := time.Now()
		rows, err := a.pool.Query(ctx, q.sql, q.args...)
		if err != nil {
			return 0, "", 0, fmt.Errorf("%s alone: %w", q.name, err)
		}
		for rows.Next() {
			if _, err := rows.Values(); err != nil {
				rows.Close()
				return 0, "", 0, fmt.Errorf("%s alone: %w", q.name, err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, "", 0, fmt.Errorf("%s alone: %w", q.name, err)
		}
		took := time.Since(start)
		all += took
		if took > worst {
			worst, name = took, q.name
		}
	}
	return worst, name, all, nil
}

func (a *alone) close() { a.pool.Close() }
