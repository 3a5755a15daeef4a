// Package collector runs the campaign system's checks against PostgreSQL and
// turns their rows into Prometheus metrics.
//
// The package is laid out by concern:
//
//   - collector.go: the interfaces a collector and its database meet
//   - registry.go: the collectors' registry, options and per-target config
//   - engine.go: the Exporter, which runs one scrape over every enabled
//     collector and reports its outcome as a Snapshot
//   - managed.go: one collector's cache (minimum interval), run state and
//     logging
//   - flight.go: one shared in-flight run among concurrent scrapes
//   - errors.go: what a failure means (missing object, lost connection)
//     and the retry on a lost connection
//   - flags.go, pool.go: the --collector.* flags and the connection pool
//   - values.go: reading values out of check-function rows
//   - snapshot.go: the check command's view of one run
//   - one file per collector (health.go, orders.go, ...), each with its
//     query in queries/<name>.sql
package collector

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "campaign"

// Querier is what collectors read from: a pgx pool in production.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// DB is the database an Exporter watches: a pgx pool in production. A
// DB that also has Reset (as the pool does) is reset when its connections
// are found lost.
type DB interface {
	Querier
	Ping(ctx context.Context) error
}

// Collector reads one part of the campaign system.
type Collector interface {
	// Update runs the collector's queries and sends its metrics. It returns
	// an error instead of logging: the engine logs and records success.
	Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error
}

// collectorFunc is a Collector without options: an Update function.
type collectorFunc func(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error

// Update calls f.
func (f collectorFunc) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	return f(ctx, db, ch)
}

// eachRow runs sql and, for each row it returns, scans the row into dest
// and calls fn.
func eachRow(ctx context.Context, db Querier, sql string, args []any, dest []any, fn func() error) error {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, fn)
	return err
}

// LocalBatch is sql in a read-only transaction of its own, after SET LOCAL
// of each setting ("enable_seqscan = off"): one round trip, and the
// settings end with the transaction. The returned query is sql's, to read
// its result by a callback. The settings are SQL: constants of the
// caller's, never input.
func LocalBatch(settings []string, sql string, args ...any) (*pgx.Batch, *pgx.QueuedQuery) {
	b := &pgx.Batch{}
	b.Queue("BEGIN READ ONLY")
	for _, s := range settings {
		b.Queue("SET LOCAL " + s)
	}
	q := b.Queue(sql, args...)
	b.Queue("COMMIT")
	return b, q
}

// newDesc describes the metric campaign_<subsystem>_<name> (campaign_<name>
// without a subsystem).
func newDesc(subsystem, name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, subsystem, name), help, labels, nil)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
