package collector

import (
	"context"
	"sync"
)

// flight shares one in-flight call among concurrent callers, so that
// however many scrapes arrive at once, the database sees one run.
type flight[T any] struct {
	mu   sync.Mutex
	call *flightCall[T]
}

type flightCall[T any] struct {
	done    chan struct{}
	cancel  context.CancelFunc
	waiters int
	val     T
	err     error
}

// do runs fn unless a call is already in flight, and waits for the result
// or for ctx to end. The call outlives an impatient caller while others
// still wait for it, and is cancelled when the last one gives up: then do
// waits for fn to return, so no query is left running after the scrape
// that gave up has returned.
func (f *flight[T]) do(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	f.mu.Lock()
	c := f.call
	if c == nil {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &flightCall[T]{done: make(chan struct{}), cancel: cancel}
		f.call = c
		go func() {
			c.val, c.err = fn(runCtx)
			cancel()
			f.mu.Lock()
			if f.call == c {
				f.call = nil
			}
			f.mu.Unlock()
			close(c.done)
		}()
	}
	c.waiters++
	f.mu.Unlock()

	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
	}
	f.mu.Lock()
	c.waiters--
	last := c.waiters == 0
	if last {
		c.cancel()
		if f.call == c {
			f.call = nil // later callers start afresh, not on a cancelled run
		}
	}
	f.mu.Unlock()
	if last {
		<-c.done
	}
	var zero T
	return zero, ctx.Err()
}
