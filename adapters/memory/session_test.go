package memory

import (
	"errors"
	"testing"
	"time"

	"github.com/ltikit/ltikit/session"
	"github.com/ltikit/ltikit/session/sessiontest"
)

func TestSessionConformance(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store { return New() })
}

// TestSessionConformanceFakeClock runs the session suite with a clock far
// from time.Now, so the Store must judge expiry with its own clock.
func TestSessionConformanceFakeClock(t *testing.T) {
	clk := newClock(time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC))
	sessiontest.Run(t, func(t *testing.T) session.Store { return New(WithClock(clk.Now)) }, sessiontest.WithClock(clk.Now))
}

func sessionRecord(id string, idle, abs time.Time) session.Record {
	return session.Record{ID: id, Issuer: "https://lms.example.com", ClientID: "c", DeploymentID: "d",
		Claims: []byte(`{}`), CSRF: "x", CreatedAt: t0, IdleExpiresAt: idle, ExpiresAt: abs}
}

// PurgeExpired and the sweeper drop sessions past either expiry, and only
// those.
func TestPurgeExpiredSessions(t *testing.T) {
	clk := newClock(t0)
	s := New(WithClock(clk.Now))
	ctx := t.Context()
	for _, r := range []session.Record{
		sessionRecord("idle-gone", t0.Add(-time.Second), t0.Add(time.Hour)),
		sessionRecord("both-gone", t0.Add(-time.Hour), t0.Add(-time.Minute)),
		sessionRecord("at-now", t0, t0.Add(time.Hour)),
		sessionRecord("live", t0.Add(time.Minute), t0.Add(time.Hour)),
	} {
		if err := s.PutSession(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetSession(ctx, "idle-gone"); !errors.Is(err, session.ErrExpired) {
		t.Errorf("GetSession of an unpurged expired session = %v, want ErrExpired", err)
	}
	if n, err := s.PurgeExpired(ctx); n != 3 || err != nil {
		t.Fatalf("PurgeExpired = %d, %v; want 3, nil", n, err)
	}
	if _, err := s.GetSession(ctx, "idle-gone"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("GetSession of a purged session = %v, want ErrNotFound", err)
	}
	if _, err := s.GetSession(ctx, "live"); err != nil {
		t.Errorf("the live session was purged: %v", err)
	}
	// A touched session lives on past its first idle expiry.
	if err := s.TouchSession(ctx, "live", t0.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Minute)
	if n, err := s.PurgeExpired(ctx); n != 0 || err != nil {
		t.Errorf("PurgeExpired after a touch = %d, %v; want 0, nil", n, err)
	}
	clk.Advance(time.Hour)
	stop := s.StartSweeper(time.Millisecond)
	defer stop()
	deadline := time.Now().Add(5 * time.Second)
	for s.sessions.count.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the sweeper left %d sessions", s.sessions.count.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// The session count is bounded: at the bound PutSession drops expired
// sessions to make room, and refuses with ErrFull when none are.
func TestMaxSessions(t *testing.T) {
	clk := newClock(t0)
	s := New(WithClock(clk.Now), WithMaxSessions(3))
	ctx := t.Context()
	put := func(id string, idle time.Time) error {
		return s.PutSession(ctx, sessionRecord(id, idle, t0.Add(time.Hour)))
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := put(id, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := put("d", t0.Add(time.Minute)); !errors.Is(err, ErrFull) {
		t.Fatalf("PutSession beyond the bound = %v, want ErrFull", err)
	}
	if err := s.DeleteSession(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := put("d", t0.Add(time.Minute)); err != nil {
		t.Fatalf("PutSession after a delete made room: %v", err)
	}
	clk.Advance(2 * time.Minute) // b, c, d idle-expired
	if err := put("e", t0.Add(time.Hour)); err != nil {
		t.Fatalf("PutSession with expired sessions to drop: %v", err)
	}
	if got := s.sessions.count.Load(); got != 1 {
		t.Errorf("%d sessions kept, want 1", got)
	}
}
