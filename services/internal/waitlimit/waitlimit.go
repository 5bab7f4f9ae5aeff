package waitlimit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Limit is the waiting budget of one call. Create it with [Start].
type Limit struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	cause  error
	total  time.Duration

	mu    sync.Mutex
	left  time.Duration
	since time.Time
	timer *time.Timer
}

// Start returns a Limit whose context is ctx's child, cancelled with cause
// once the budget d is spent; the clock runs from now until [Limit.Pause].
func Start(ctx context.Context, d time.Duration, cause error) *Limit {
	c, cancel := context.WithCancelCause(ctx)
	l := &Limit{ctx: c, cancel: cancel, cause: cause, total: d, left: d}
	l.resume()
	return l
}

// Context is the context to send the request with.
func (l *Limit) Context() context.Context { return l.ctx }

func (l *Limit) resume() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		return
	}
	if l.left <= 0 {
		l.cancel(l.cause)
		return
	}
	l.since = time.Now()
	l.timer = time.AfterFunc(l.left, func() { l.cancel(l.cause) })
}

// Pause stops the clock (once the response headers are in).
func (l *Limit) Pause() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer == nil {
		return
	}
	l.timer.Stop()
	l.timer = nil
	l.left -= time.Since(l.since)
}

// Release stops the clock and cancels the context: the call is over.
func (l *Limit) Release() {
	l.Pause()
	l.cancel(nil)
}

// Err returns err, replaced by the timeout error (cause, wrapping what
// happened) when the budget ran out; nil stays nil.
func (l *Limit) Err(err error) error {
	if err == nil || errors.Is(err, l.cause) || context.Cause(l.ctx) != l.cause {
		return err
	}
	return fmt.Errorf("%w (%s): %v", l.cause, l.total, err)
}

// Body wraps a response body: each Read runs the clock, Close releases
// the Limit.
func (l *Limit) Body(rc io.ReadCloser) io.ReadCloser { return &body{rc: rc, l: l} }

type body struct {
	rc io.ReadCloser
	l  *Limit
}

func (b *body) Read(p []byte) (int, error) {
	b.l.resume()
	n, err := b.rc.Read(p)
	b.l.Pause()
	if err != nil && err != io.EOF {
		err = b.l.Err(err)
	}
	return n, err
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.l.Release()
	return err
}
