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
	for f.waiting() < callers {
		time.Sleep(time.Millisecond)
	}
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
	for f.waiting() < 1 {
		time.Sleep(time.Millisecond)
	}
	patient := make(chan string, 1)
	go func() { v, _ := f.do(context.Background(), fn); patient <- v }()
	for f.waiting() < 2 {
		time.Sleep(time.Millisecond)
	}
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

// waiting is how many callers wait on the call in flight.
func (f *flight[T]) waiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.call == nil {
		return 0
	}
	return f.call.waiters
}
