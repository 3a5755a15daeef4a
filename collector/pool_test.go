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
