package collector

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// Unit tests of flight, the shared in-flight run, without a database.

func TestFlightSharesOneCall(t *testing.T) {
	var f flight[int]
	var calls atomic.Int32
	release := make(chan struct{})
	fn := func(context.Context) (int, error) {
		calls.Add(1)
		<-release
		return 42, nil
	}
	const callers = 10
	type result struct {
		v   int
		err error
	}
	results := make(chan result, callers)
	for range callers {
		go func() {
			v, err := f.do(context.Background(), fn)
			results <- result{v, err}
		}()
	}
	// Let every caller join the call before it ends.
	waitWaiters(&f, callers)
	close(release)
	for range callers {
		if r := <-results; r.v != 42 || r.err != nil {
			t.Errorf("a caller got %d, %v; want 42", r.v, r.err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("fn ran %d times for %d concurrent callers, want 1", n, callers)
	}
	// A later caller starts afresh.
	release = make(chan struct{})
	close(release)
	if _, err := f.do(context.Background(), fn); err != nil || calls.Load() != 2 {
		t.Errorf("a call after the first ended: err %v, %d runs, want a second run", err, calls.Load())
	}
}

func TestFlightOutlivesAnImpatientCaller(t *testing.T) {
	var f flight[string]
	release := make(chan struct{})
	fn := func(ctx context.Context) (string, error) {
		select {
		case <-release:
			return "done", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	impatient, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := f.do(impatient, fn); gaveUp <- err }()
	waitWaiters(&f, 1)
	patient := make(chan string, 1)
	go func() { v, _ := f.do(context.Background(), fn); patient <- v }()
	waitWaiters(&f, 2)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("the impatient caller got %v, want context.Canceled", err)
	}
	close(release)
	if v := <-patient; v != "done" {
		t.Errorf("the patient caller got %q: the run did not outlive the impatient one", v)
	}
}

func TestFlightCancelsWhenTheLastCallerLeaves(t *testing.T) {
	var f flight[int]
	var returned atomic.Bool
	fn := func(ctx context.Context) (int, error) {
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // a query being cancelled on the server
		returned.Store(true)
		return 0, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := f.do(ctx, fn)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the caller's deadline", err)
	}
	if !returned.Load() {
		t.Error("do returned before fn did: a query would outlive the scrape that gave up")
	}
}

// A caller that comes after every caller of a run gave up starts a run of
// its own rather than joining the cancelled one, even while that one is
// still ending.
func TestFlightCallerAfterAbandonStartsAfresh(t *testing.T) {
	var f flight[string]
	var calls atomic.Int32
	slowToCancel := make(chan struct{})
	fn := func(context.Context) (string, error) {
		if calls.Add(1) == 1 {
			<-slowToCancel // a query that ignores its cancellation for a while
			return "", context.Canceled
		}
		return "fresh", nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := f.do(ctx, fn); gaveUp <- err }()
	waitWaiters(&f, 1)
	cancel()
	waitNoWaiters(&f)
	if v, err := f.do(context.Background(), fn); v != "fresh" || err != nil {
		t.Errorf("the later caller got %q, %v; want a fresh run's result", v, err)
	}
	close(slowToCancel)
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller that gave up got %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d runs, want 2", n)
	}
}

// A run's error reaches every caller waiting for it and is not kept for
// the next.
func TestFlightSharesErrorsWithoutKeepingThem(t *testing.T) {
	var f flight[int]
	var calls atomic.Int32
	release := make(chan struct{})
	boom := errors.New("boom")
	fn := func(context.Context) (int, error) {
		if calls.Add(1) == 1 {
			<-release
			return 0, boom
		}
		return 7, nil
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := f.do(context.Background(), fn); errs <- err }()
	}
	waitWaiters(&f, 2)
	close(release)
	for range 2 {
		if err := <-errs; !errors.Is(err, boom) {
			t.Errorf("a caller got %v, want the run's error", err)
		}
	}
	if v, err := f.do(context.Background(), fn); v != 7 || err != nil {
		t.Errorf("the next call got %d, %v; want a new run's 7", v, err)
	}
}

// waitWaiters waits until n callers wait on the call in flight.
func waitWaiters[T any](f *flight[T], n int) {
	for f.waiting() < n {
		time.Sleep(time.Millisecond)
	}
}

// waitNoWaiters waits until no caller waits on a call.
func waitNoWaiters[T any](f *flight[T]) {
	for f.waiting() > 0 {
		time.Sleep(time.Millisecond)
	}
}

// waiting is how many callers wait on the call in flight.
func (f *flight[T]) waiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.call == nil {
		return 0
	}
	return f.call.waiters
}
