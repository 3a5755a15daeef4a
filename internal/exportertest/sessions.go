package exportertest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

// SessionSampler records the most sessions the exporter (application_name
// campaign_exporter) holds at once on a database, sampled every 20ms from
// the server's side, to check the connection bound.
type SessionSampler struct {
	mu       sync.Mutex
	excluded []int32
	max      int
	err      error
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// SampleSessions starts sampling the exporter's sessions on db until Finish.
func SampleSessions(db *pgtest.DB) *SessionSampler {
	s := &SessionSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go s.run(db)
	return s
}

func (s *SessionSampler) run(db *pgtest.DB) {
	defer close(s.done)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		s.mu.Lock()
		excluded := slices.Clone(s.excluded)
		s.mu.Unlock()
		var n int
		err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = $1 AND application_name = 'campaign_exporter' AND pid <> ALL (coalesce($2::int4[], '{}'))`,
			db.Name, excluded).Scan(&n)
		s.mu.Lock()
		if err != nil && s.err == nil {
			s.err = err
		}
		s.max = max(s.max, n)
		s.mu.Unlock()
	}
}

// Exclude leaves the backends pids out of later samples: backends the
// exporter no longer holds (killed, or cut off by a proxy) that linger on
// the server for a while.
func (s *SessionSampler) Exclude(pids ...int32) {
	s.mu.Lock()
	s.excluded = append(s.excluded, pids...)
	s.mu.Unlock()
}

// Finish stops sampling and returns the most sessions seen and the first
// error of a sample. It may be called again, with the same result.
func (s *SessionSampler) Finish() (int, error) {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max, s.err
}
