package memory

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/session"
)

// held counts the values a table really holds, shard by shard.
func held[V any](t *shardedMap[V]) int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

const flood = 50_000

// TestExpiredStatesBoundedWithoutSweeper is the audit's case: 50,000
// logins whose states all expire, no sweeper, no PurgeExpired; later
// writes leave only the live entries in the Store.
func TestExpiredStatesBoundedWithoutSweeper(t *testing.T) {
	clk := newClock(t0)
	s := New(WithClock(clk.Now))
	ctx := t.Context()
	for i := range flood {
		mustPutState(t, s, login("old-"+strconv.Itoa(i), t0.Add(10*time.Minute)))
	}
	clk.Advance(24 * time.Hour) // a day later, every one expired
	for i := range 10 {
		mustPutState(t, s, login("new-"+strconv.Itoa(i), clk.Now().Add(10*time.Minute)))
	}
	if got := held(&s.state.shardedMap); got != 10 {
		t.Fatalf("the Store holds %d states after %d expired and 10 live, want 10", got, flood)
	}
	if _, err := s.TakeState(ctx, "new-3"); err != nil {
		t.Fatalf("TakeState of a live state: %v", err)
	}
}

// TestExpiredBoundedByWrites: with the clock moving less than a sweep
// interval, the writes themselves bound the Store: once the table has
// grown past its threshold, a write drops what has expired.
func TestExpiredBoundedByWrites(t *testing.T) {
	clk := newClock(t0)
	s := New(WithClock(clk.Now))
	for i := range flood {
		mustPutState(t, s, login("old-"+strconv.Itoa(i), t0.Add(time.Second)))
		mustPutNonce(t, s, nonceOf("old-"+strconv.Itoa(i), t0.Add(time.Second)))
	}
	clk.Advance(2 * time.Second)
	const live = 30_000
	for i := range live {
		mustPutState(t, s, login("new-"+strconv.Itoa(i), clk.Now().Add(time.Minute)))
		mustPutNonce(t, s, nonceOf("new-"+strconv.Itoa(i), clk.Now().Add(time.Minute)))
	}
	if got := held(&s.state.shardedMap); got != live {
		t.Errorf("the Store holds %d states, want the %d live ones", got, live)
	}
	if got := held(&s.nonce.shardedMap); got != live {
		t.Errorf("the Store holds %d nonces, want the %d live ones", got, live)
	}
}

// TestExpiredSessionsBoundedWithoutSweeper: sessions below the
// WithMaxSessions bound are dropped after they expire too.
func TestExpiredSessionsBoundedWithoutSweeper(t *testing.T) {
	clk := newClock(t0)
	s := New(WithClock(clk.Now))
	ctx := t.Context()
	for i := range flood {
		if err := s.PutSession(ctx, sessionRecord("old-"+strconv.Itoa(i), t0.Add(30*time.Minute), t0.Add(2*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(24 * time.Hour)
	now := clk.Now()
	for i := range 10 {
		if err := s.PutSession(ctx, sessionRecord("new-"+strconv.Itoa(i), now.Add(30*time.Minute), now.Add(2*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if got := held(&s.sessions.shardedMap); got != 10 {
		t.Fatalf("the Store holds %d sessions, want the 10 live ones", got)
	}
	if got := s.sessions.count.Load(); got != 10 {
		t.Errorf("session count %d, want 10", got)
	}
	if _, err := s.GetSession(ctx, "new-0"); err != nil {
		t.Errorf("GetSession of a live session: %v", err)
	}
	var _ session.Store = s
	var _ nonce.StateStore = s
}

// BenchmarkPutStateExpiring puts states that each expire soon after, with
// a clock that moves 1 ms per put, no sweeper: the cost of PutState,
// purges included, per put.
func BenchmarkPutStateExpiring(b *testing.B) {
	clk := newClock(t0)
	s := New(WithClock(clk.Now))
	ctx := context.Background()
	i := 0
	for b.Loop() {
		clk.Advance(time.Millisecond)
		if err := s.PutState(ctx, login(strconv.Itoa(i), clk.Now().Add(10*time.Second))); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(held(&s.state.shardedMap)), "held")
}
