package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestPoolSessionSettings: every session the pool opens is read-only, has
// the configured timeouts, and starts parallel workers only when asked.
func TestPoolSessionSettings(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	for _, tc := range []struct {
		name string
		opts PoolOptions
		want [4]string
	}{
		{"defaults", DefaultPoolOptions, [4]string{"on", "30s", "2s", "0"}},
		{"parallel workers asked for", PoolOptions{MaxConns: 1, StatementTimeout: time.Second, ParallelWorkers: 2},
			[4]string{"on", "1s", "0", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := NewPool(db.DSN, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			var got [4]string
			err = pool.QueryRow(context.Background(), `SELECT current_setting('default_transaction_read_only'),
				current_setting('statement_timeout'), current_setting('lock_timeout'),
				current_setting('max_parallel_workers_per_gather')`).Scan(&got[0], &got[1], &got[2], &got[3])
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("read-only, statement and lock timeouts, parallel workers: got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := NewPool(db.DSN, PoolOptions{MaxConns: 1, ParallelWorkers: -1}); err == nil {
		t.Error("a negative number of parallel workers was accepted")
	}
}

// TestAbandonedDialOpensNoConnection: a query waiting for a connection slot
// that another pool holds gives up at its deadline, and its dial gives up
// with it rather than connecting for nobody once the slot frees.
func TestAbandonedDialOpensNoConnection(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	opts := DefaultPoolOptions
	opts.Limiter = NewConnLimiter(1, 0)
	busy, err := NewPool(db.DSN, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	waiting, err := NewPool(db.DSN, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()

	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		var s string
		done <- busy.QueryRow(ctx, `SELECT pg_sleep(1)::text`).Scan(&s)
	}()
	for deadline := time.Now().Add(10 * time.Second); busy.pool.Stat().TotalConns() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the busy pool never connected")
		}
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	var n int
	err = waiting.QueryRow(short, `SELECT 1`).Scan(&n)
	cancel()
	if err == nil {
		t.Fatal("a query got a connection while the only slot was held")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The slot is free (the waiting dial would even close busy's idle
	// connection for it): give an abandoned dial time to take it.
	time.Sleep(time.Second)
	if n := waiting.pool.Stat().TotalConns(); n != 0 {
		t.Errorf("the abandoned query's pool has %d connections, want 0", n)
	}
}

// TestPoolBatch: a batch's SET LOCAL ends with its transaction, and its
// slot comes back whether its statements succeed or one fails before the
// COMMIT; the next query never runs inside the failed transaction, and
// runs on the same session (a check that fails on every scrape must not
// cost a new session each time). In both protocols: the simple one (for
// pgbouncer) sends the batch as one query string.
func TestPoolBatch(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	for _, simple := range []bool{false, true} {
		t.Run(fmt.Sprintf("simple protocol %t", simple), func(t *testing.T) {
			pool, err := NewPool(db.DSN, PoolOptions{MaxConns: 1, StatementTimeout: 5 * time.Second, SimpleProtocol: simple})
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var session int32
			outside := func() {
				t.Helper()
				var seqscan string
				var pid int32
				// One slot: this waits for the batch's, and fails at the
				// deadline if it never comes back; inside the failed
				// transaction it would fail with "current transaction is
				// aborted".
				if err := pool.QueryRow(ctx, `SELECT current_setting('enable_seqscan'), pg_backend_pid()`).Scan(&seqscan, &pid); err != nil {
					t.Fatal(err)
				}
				if seqscan != "on" {
					t.Errorf("after the batch: enable_seqscan %s, want on", seqscan)
				}
				if session == 0 {
					session = pid
				} else if pid != session {
					t.Errorf("after the batch: session %d, want the pool's one session %d", pid, session)
				}
			}
			batch := func(sql string) (string, error) {
				var got string
				b, q := LocalBatch([]string{"enable_seqscan = off"}, sql)
				q.QueryRow(func(r pgx.Row) error { return r.Scan(&got) })
				return got, pool.SendBatch(ctx, b).Close()
			}

			got, err := batch("-- a comment, as the query files have\nSELECT current_setting('enable_seqscan');")
			if err != nil || got != "off" {
				t.Errorf("inside the batch: enable_seqscan %q, %v; want off", got, err)
			}
			outside()
			if _, err := batch(`SELECT 1/0`); err == nil || !strings.Contains(err.Error(), "division by zero") {
				t.Errorf("a failing statement: got %v, want division by zero", err)
			}
			outside()
		})
	}
}

// TestSessionCheckRidesWithTheQuery: the check of the session after each
// query goes in the query's own round trip (Query, QueryRow and a batch
// alike), in both protocols, and a query that fails keeps its session.
// The read-only promise itself is TestReadOnlyPromiseSurvivesHostileFunctions
// (main package).
func TestSessionCheckRidesWithTheQuery(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	for _, simple := range []bool{false, true} {
		t.Run(fmt.Sprintf("simple protocol %t", simple), func(t *testing.T) {
			proxy := pgtest.NewProxy(t, db.TargetAddr())
			pool, err := NewPool(db.DSNVia(proxy.Addr), PoolOptions{MaxConns: 1, StatementTimeout: 5 * time.Second, SimpleProtocol: simple})
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			const sql = "SELECT pg_backend_pid() WHERE $1::int > 0"
			var session int32
			queryRow := func() error {
				var pid int32
				if err := pool.QueryRow(ctx, sql, 1).Scan(&pid); err != nil {
					return err
				}
				if session == 0 {
					session = pid
				} else if pid != session {
					t.Errorf("session %d, want the pool's one session %d", pid, session)
				}
				return nil
			}
			query := func() error {
				rows, err := pool.Query(ctx, sql, 1)
				if err != nil {
					return err
				}
				for rows.Next() {
				}
				return rows.Err()
			}
			batch := func() error {
				b, _ := LocalBatch([]string{"enable_seqscan = off"}, sql, 1)
				return pool.SendBatch(ctx, b).Close()
			}
			// The first run of each connects, and prepares the statements
			// in the extended protocol: counted from the second.
			for _, tc := range []struct {
				name string
				run  func() error
				want int64
			}{
				{"QueryRow", queryRow, 1}, {"Query", query, 1}, {"batch", batch, 1},
			} {
				if err := tc.run(); err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				before := proxy.Sends()
				if err := tc.run(); err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if got := proxy.Sends() - before; got != tc.want {
					t.Errorf("%s: %d round trips, want %d", tc.name, got, tc.want)
				}
			}
			// A failing query: its transaction is rolled back (GUCs set in
			// it with it) and the session read on its own, then the same
			// session serves the next query.
			if err := pool.QueryRow(ctx, "SELECT 1/$1::int", 0).Scan(new(int)); err == nil || !strings.Contains(err.Error(), "division by zero") {
				t.Errorf("a failing query: got %v, want division by zero", err)
			}
			if err := queryRow(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
