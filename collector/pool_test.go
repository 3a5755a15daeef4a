package collector

import (
	"context"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
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
