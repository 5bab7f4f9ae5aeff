package sessiontest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/session"
)

// Option tunes the suite.
type Option func(*config)

type config struct {
	now func() time.Time
}

// WithClock tells the suite the clock the store judges expiry with
// (default time.Now), e.g. a fake clock far from the real time. A nil clock
// is ignored.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// goroutines is how many goroutines a concurrent subtest runs.
const goroutines = 64

// Run runs the conformance suite against the stores newStore returns.
// newStore is called once per subtest, with that subtest's t.
func Run(t *testing.T, newStore func(t *testing.T) session.Store, opts ...Option) {
	t.Helper()
	if newStore == nil {
		t.Fatal("sessiontest: nil store factory")
	}
	cfg := config{now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	setup := func(t *testing.T) *fixture {
		t.Helper()
		s := newStore(t)
		if s == nil {
			t.Fatal("sessiontest: the factory returned a nil store")
		}
		return &fixture{t: t, s: s, ctx: context.Background(), now: cfg.now().Truncate(time.Second)}
	}
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, setup) })
	t.Run("Put", func(t *testing.T) { testPut(t, setup) })
	t.Run("Expiry", func(t *testing.T) { testExpiry(t, setup) })
	t.Run("Touch", func(t *testing.T) { testTouch(t, setup) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, setup) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelled(t, setup) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, setup) })
}

type setupFunc func(t *testing.T) *fixture

// fixture is one subtest's store and times. now is the store's clock at
// the start of the subtest, in whole seconds.
type fixture struct {
	t   *testing.T
	s   session.Store
	ctx context.Context
	now time.Time
}

// record returns a fresh record, created now, idle until now+idle, ending
// at now+abs.
func (f *fixture) record(idle, abs time.Duration) session.Record {
	return session.Record{
		ID:            session.IDOf(randomText()),
		Issuer:        "https://lms-" + randomText()[:8] + ".example",
		ClientID:      "client-" + randomText()[:8],
		DeploymentID:  "1:deployment/é",
		Subject:       "user-" + randomText()[:8],
		Claims:        []byte(`{"iss":"https://lms.example","sub":"a","x":"` + randomText() + `"}`),
		CSRF:          randomText(),
		CreatedAt:     f.now,
		IdleExpiresAt: f.now.Add(idle),
		ExpiresAt:     f.now.Add(abs),
	}
}

// live returns a record stored live: idle an hour, absolute two.
func (f *fixture) live() session.Record {
	f.t.Helper()
	r := f.record(time.Hour, 2*time.Hour)
	f.put(r)
	return r
}

func (f *fixture) put(r session.Record) {
	f.t.Helper()
	if err := f.s.PutSession(f.ctx, r); err != nil {
		f.t.Fatalf("PutSession: %v", err)
	}
}

func (f *fixture) get(id string) session.Record {
	f.t.Helper()
	r, err := f.s.GetSession(f.ctx, id)
	if err != nil {
		f.t.Fatalf("GetSession of a live record: %v", err)
	}
	return r
}

// checkRefused asserts err is one of the sentinels allowed and that r is
// the zero Record.
func checkRefused(t *testing.T, what string, err error, r session.Record, allowed ...error) {
	t.Helper()
	ok := false
	for _, a := range allowed {
		ok = ok || errors.Is(err, a)
	}
	if !ok {
		t.Errorf("%s: error %v; want %v", what, err, allowed)
	}
	if !isZero(r) {
		t.Errorf("%s returned a record with its error: %+v", what, r)
	}
}

// checkFailure asserts err is a failure, not a verdict on the session.
func checkFailure(t *testing.T, what string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: no error", what)
	case errors.Is(err, session.ErrNotFound), errors.Is(err, session.ErrExpired):
		t.Errorf("%s: %v; want a store failure, neither ErrNotFound nor ErrExpired", what, err)
	}
}

func isZero(r session.Record) bool {
	return r.ID == "" && r.Issuer == "" && r.ClientID == "" && r.DeploymentID == "" && r.Subject == "" &&
		len(r.Claims) == 0 && r.CSRF == "" && r.CreatedAt.IsZero() && r.IdleExpiresAt.IsZero() && r.ExpiresAt.IsZero()
}

// diff lists how got differs from want.
func diff(got, want session.Record) []string {
	var out []string
	str := func(name, g, w string) {
		if g != w {
			out = append(out, fmt.Sprintf("%s = %q, want %q", name, g, w))
		}
	}
	tm := func(name string, g, w time.Time) {
		if !g.Equal(w) {
			out = append(out, fmt.Sprintf("%s = %s, want %s", name, g, w))
		}
	}
	str("ID", got.ID, want.ID)
	str("Issuer", got.Issuer, want.Issuer)
	str("ClientID", got.ClientID, want.ClientID)
	str("DeploymentID", got.DeploymentID, want.DeploymentID)
	str("Subject", got.Subject, want.Subject)
	if !bytes.Equal(got.Claims, want.Claims) {
		out = append(out, fmt.Sprintf("Claims = %q, want %q", got.Claims, want.Claims))
	}
	str("CSRF", got.CSRF, want.CSRF)
	tm("CreatedAt", got.CreatedAt, want.CreatedAt)
	tm("IdleExpiresAt", got.IdleExpiresAt, want.IdleExpiresAt)
	tm("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	return out
}

func testRoundTrip(t *testing.T, setup setupFunc) {
	tests := []struct {
		name   string
		modify func(*session.Record)
	}{
		{"AllFields", func(*session.Record) {}},
		{"Anonymous", func(r *session.Record) { r.Subject = "" }},
		{"BinaryClaims", func(r *session.Record) { r.Claims = []byte("{\"a\":\"\xff\xfe\x00\x01\"}\x00") }},
		{"LargeClaims", func(r *session.Record) { r.Claims = bytes.Repeat([]byte(`{"k":"vvvvvvvvvvvvvvvvvvvvvvv"},`), 2000) }},
		{"IdleEqualsAbsolute", func(r *session.Record) { r.IdleExpiresAt = r.ExpiresAt }},
		{"UTCAndLocalTimes", func(r *session.Record) {
			loc := time.FixedZone("X", -7*3600)
			r.CreatedAt, r.ExpiresAt = r.CreatedAt.In(loc), r.ExpiresAt.In(loc)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			want := f.record(time.Hour, 2*time.Hour)
			tc.modify(&want)
			f.put(want)
			for _, d := range diff(f.get(want.ID), want) {
				t.Error(d)
			}
		})
	}

	t.Run("ClaimsAreCopied", func(t *testing.T) {
		f := setup(t)
		r := f.record(time.Hour, 2*time.Hour)
		want := bytes.Clone(r.Claims)
		f.put(r)
		r.Claims[0] = 'X'
		got := f.get(r.ID)
		if !bytes.Equal(got.Claims, want) {
			t.Fatalf("changing the slice given to PutSession changed the stored claims")
		}
		got.Claims[0] = 'Y'
		if again := f.get(r.ID); !bytes.Equal(again.Claims, want) {
			t.Fatalf("changing the claims GetSession returned changed the stored claims")
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		f := setup(t)
		f.live()
		r, err := f.s.GetSession(f.ctx, session.IDOf(randomText()))
		checkRefused(t, "GetSession of an unknown id", err, r, session.ErrNotFound)
		for _, id := range []string{"", "\x00", "\xff", "a b", string(bytes.Repeat([]byte("x"), 4096))} {
			r, err := f.s.GetSession(f.ctx, id)
			checkRefused(t, fmt.Sprintf("GetSession(%q)", id[:min(len(id), 8)]), err, r, session.ErrNotFound)
		}
	})

	t.Run("IDsAreExact", func(t *testing.T) {
		f := setup(t)
		r := f.live()
		for _, id := range []string{r.ID[:len(r.ID)-1], r.ID + "x", " " + r.ID, swapCase(r.ID)} {
			got, err := f.s.GetSession(f.ctx, id)
			checkRefused(t, "GetSession of a near id", err, got, session.ErrNotFound)
		}
	})
}

func testPut(t *testing.T, setup setupFunc) {
	t.Run("DuplicateRefused", func(t *testing.T) {
		f := setup(t)
		first := f.live()
		second := f.record(3*time.Hour, 4*time.Hour)
		second.ID = first.ID
		if err := f.s.PutSession(f.ctx, second); err == nil {
			t.Fatal("PutSession of a stored ID succeeded; records must never be overwritten")
		}
		for _, d := range diff(f.get(first.ID), first) {
			t.Errorf("after a refused duplicate: %s", d)
		}
	})

	t.Run("DuplicateOfExpiredRefused", func(t *testing.T) {
		f := setup(t)
		old := f.record(-2*time.Hour, -time.Hour)
		f.put(old)
		again := f.record(time.Hour, 2*time.Hour)
		again.ID = old.ID
		if err := f.s.PutSession(f.ctx, again); err == nil {
			t.Fatal("PutSession over an expired, unpurged record succeeded")
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		tests := []struct {
			name   string
			modify func(*session.Record)
		}{
			{"NoID", func(r *session.Record) { r.ID = "" }},
			{"NoExpiresAt", func(r *session.Record) { r.ExpiresAt = time.Time{} }},
			{"NoIdleExpiresAt", func(r *session.Record) { r.IdleExpiresAt = time.Time{} }},
			{"IdleAfterAbsolute", func(r *session.Record) { r.IdleExpiresAt = r.ExpiresAt.Add(time.Second) }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				r := f.record(time.Hour, 2*time.Hour)
				tc.modify(&r)
				if err := f.s.PutSession(f.ctx, r); err == nil {
					t.Fatal("PutSession succeeded")
				}
				if r.ID != "" {
					got, err := f.s.GetSession(f.ctx, r.ID)
					checkRefused(t, "GetSession after a refused PutSession", err, got, session.ErrNotFound)
				}
			})
		}
	})
}

func testExpiry(t *testing.T, setup setupFunc) {
	tests := []struct {
		name      string
		idle, abs time.Duration
		live      bool
	}{
		{"Live", time.Hour, 2 * time.Hour, true},
		{"IdleExpired", -time.Hour, time.Hour, false},
		{"IdleExpiredLongAgo", -48 * time.Hour, time.Hour, false},
		{"BothExpired", -2 * time.Hour, -time.Hour, false},
		{"IdleCappedAtAbsolute", time.Hour, time.Hour, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			r := f.record(tc.idle, tc.abs)
			f.put(r)
			got, err := f.s.GetSession(f.ctx, r.ID)
			if tc.live {
				if err != nil {
					t.Fatalf("GetSession of a live record: %v", err)
				}
				for _, d := range diff(got, r) {
					t.Error(d)
				}
				return
			}
			checkRefused(t, "GetSession of an expired record", err, got, session.ErrExpired, session.ErrNotFound)
		})
	}
}

func testTouch(t *testing.T, setup setupFunc) {
	t.Run("Extends", func(t *testing.T) {
		f := setup(t)
		r := f.record(10*time.Minute, 2*time.Hour)
		f.put(r)
		steps := []struct {
			name     string
			until    time.Duration
			wantIdle time.Duration
		}{
			{"Forward", 30 * time.Minute, 30 * time.Minute},
			{"BackwardIsNoChange", 20 * time.Minute, 30 * time.Minute},
			{"SameIsNoChange", 30 * time.Minute, 30 * time.Minute},
			{"PastExpiresAtIsCapped", 5 * time.Hour, 2 * time.Hour},
			{"AfterTheCap", 3 * time.Hour, 2 * time.Hour},
		}
		for _, st := range steps {
			if err := f.s.TouchSession(f.ctx, r.ID, f.now.Add(st.until)); err != nil {
				t.Fatalf("%s: TouchSession: %v", st.name, err)
			}
			got := f.get(r.ID)
			if want := f.now.Add(st.wantIdle); !got.IdleExpiresAt.Equal(want) {
				t.Fatalf("%s: IdleExpiresAt = %s, want %s", st.name, got.IdleExpiresAt, want)
			}
			want := r
			want.IdleExpiresAt = got.IdleExpiresAt
			for _, d := range diff(got, want) {
				t.Errorf("%s: TouchSession changed another field: %s", st.name, d)
			}
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		f := setup(t)
		err := f.s.TouchSession(f.ctx, session.IDOf(randomText()), f.now.Add(time.Hour))
		checkRefused(t, "TouchSession of an unknown id", err, session.Record{}, session.ErrNotFound)
	})

	t.Run("ExpiredIsNotRevived", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			idle, abs time.Duration
		}{
			{"Idle", -time.Hour, 2 * time.Hour},
			{"Absolute", -2 * time.Hour, -time.Hour},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				r := f.record(tc.idle, tc.abs)
				f.put(r)
				err := f.s.TouchSession(f.ctx, r.ID, f.now.Add(time.Hour))
				checkRefused(t, "TouchSession of an expired record", err, session.Record{}, session.ErrExpired, session.ErrNotFound)
				got, err := f.s.GetSession(f.ctx, r.ID)
				checkRefused(t, "GetSession after touching an expired record", err, got, session.ErrExpired, session.ErrNotFound)
			})
		}
	})

	t.Run("Deleted", func(t *testing.T) {
		f := setup(t)
		r := f.live()
		if err := f.s.DeleteSession(f.ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		err := f.s.TouchSession(f.ctx, r.ID, f.now.Add(time.Hour))
		checkRefused(t, "TouchSession of a deleted record", err, session.Record{}, session.ErrNotFound)
		got, err := f.s.GetSession(f.ctx, r.ID)
		checkRefused(t, "GetSession after touching a deleted record", err, got, session.ErrNotFound)
	})

	t.Run("OnlyThatRecord", func(t *testing.T) {
		f := setup(t)
		a, b := f.live(), f.live()
		if err := f.s.TouchSession(f.ctx, a.ID, f.now.Add(90*time.Minute)); err != nil {
			t.Fatal(err)
		}
		for _, d := range diff(f.get(b.ID), b) {
			t.Errorf("touching another record changed this one: %s", d)
		}
	})
}

func testDelete(t *testing.T, setup setupFunc) {
	t.Run("Live", func(t *testing.T) {
		f := setup(t)
		r, other := f.live(), f.live()
		for i := range 2 {
			if err := f.s.DeleteSession(f.ctx, r.ID); err != nil {
				t.Fatalf("DeleteSession #%d: %v", i+1, err)
			}
			got, err := f.s.GetSession(f.ctx, r.ID)
			checkRefused(t, "GetSession after DeleteSession", err, got, session.ErrNotFound)
		}
		for _, d := range diff(f.get(other.ID), other) {
			t.Errorf("deleting another record changed this one: %s", d)
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		f := setup(t)
		for _, id := range []string{session.IDOf(randomText()), "", "\x00\xff"} {
			if err := f.s.DeleteSession(f.ctx, id); err != nil {
				t.Errorf("DeleteSession of an unknown id: %v", err)
			}
		}
	})

	t.Run("Expired", func(t *testing.T) {
		f := setup(t)
		r := f.record(-2*time.Hour, -time.Hour)
		f.put(r)
		if err := f.s.DeleteSession(f.ctx, r.ID); err != nil {
			t.Fatalf("DeleteSession of an expired record: %v", err)
		}
		got, err := f.s.GetSession(f.ctx, r.ID)
		checkRefused(t, "GetSession after deleting an expired record", err, got, session.ErrNotFound)
	})
}

func testCancelled(t *testing.T, setup setupFunc) {
	cancelled := func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	t.Run("Put", func(t *testing.T) {
		f := setup(t)
		r := f.record(time.Hour, 2*time.Hour)
		checkFailure(t, "PutSession with a cancelled context", f.s.PutSession(cancelled(), r))
		got, err := f.s.GetSession(f.ctx, r.ID)
		checkRefused(t, "GetSession after a cancelled PutSession", err, got, session.ErrNotFound)
	})
	t.Run("Get", func(t *testing.T) {
		f := setup(t)
		r := f.live()
		got, err := f.s.GetSession(cancelled(), r.ID)
		checkFailure(t, "GetSession with a cancelled context", err)
		if !isZero(got) {
			t.Errorf("GetSession with a cancelled context returned a record")
		}
		_, err = f.s.GetSession(cancelled(), session.IDOf(randomText()))
		checkFailure(t, "GetSession of an unknown id with a cancelled context", err)
	})
	t.Run("Touch", func(t *testing.T) {
		f := setup(t)
		r := f.live()
		checkFailure(t, "TouchSession with a cancelled context", f.s.TouchSession(cancelled(), r.ID, f.now.Add(90*time.Minute)))
		for _, d := range diff(f.get(r.ID), r) {
			t.Errorf("a cancelled TouchSession changed the record: %s", d)
		}
		checkFailure(t, "TouchSession of an unknown id with a cancelled context",
			f.s.TouchSession(cancelled(), session.IDOf(randomText()), f.now.Add(time.Hour)))
	})
	t.Run("Delete", func(t *testing.T) {
		f := setup(t)
		r := f.live()
		checkFailure(t, "DeleteSession with a cancelled context", f.s.DeleteSession(cancelled(), r.ID))
		for _, d := range diff(f.get(r.ID), r) {
			t.Errorf("after a cancelled DeleteSession: %s", d)
		}
	})
}

func testConcurrent(t *testing.T, setup setupFunc) {
	t.Run("TouchKeepsLatest", func(t *testing.T) {
		f := setup(t)
		r := f.record(time.Minute, 2*time.Hour)
		f.put(r)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, goroutines)
		for i := range goroutines {
			wg.Go(func() {
				<-start
				// Half beyond ExpiresAt (capped there), half below it.
				until := f.now.Add(time.Hour + time.Duration(i)*time.Minute)
				errs[i] = f.s.TouchSession(f.ctx, r.ID, until)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("TouchSession %d: %v", i, err)
			}
		}
		if got := f.get(r.ID); !got.IdleExpiresAt.Equal(r.ExpiresAt) {
			t.Errorf("after concurrent touches IdleExpiresAt = %s, want the latest, capped: %s", got.IdleExpiresAt, r.ExpiresAt)
		}
	})

	t.Run("ReadTouchDelete", func(t *testing.T) {
		const rounds = 5
		f := setup(t)
		for round := range rounds {
			r := f.record(time.Minute, 2*time.Hour)
			f.put(r)
			var (
				wg      sync.WaitGroup
				deleted atomic.Bool
				start   = make(chan struct{})
				calls   atomic.Int64
				running atomic.Int64 // callers that have not returned
			)
			bad := make(chan string, goroutines)
			running.Store(goroutines)
			for i := range goroutines {
				wg.Go(func() {
					defer running.Add(-1)
					<-start
					// Call until five calls have started after the
					// delete returned.
					for n, post := 0, 0; post < 5; n++ {
						after := deleted.Load()
						if after {
							post++
						}
						var (
							err error
							got session.Record
						)
						if (i+n)%2 == 0 {
							got, err = f.s.GetSession(f.ctx, r.ID)
						} else {
							err = f.s.TouchSession(f.ctx, r.ID, f.now.Add(time.Duration(2+n)*time.Minute))
						}
						calls.Add(1)
						switch {
						case after && !errors.Is(err, session.ErrNotFound):
							bad <- fmt.Sprintf("call after the delete returned: %v, want ErrNotFound", err)
							return
						case err == nil && got.ID != "" && got.ID != r.ID:
							bad <- "GetSession returned another record"
							return
						case err == nil && got.IdleExpiresAt.After(got.ExpiresAt):
							bad <- "IdleExpiresAt moved past ExpiresAt"
							return
						case err != nil && !errors.Is(err, session.ErrNotFound):
							bad <- fmt.Sprintf("call during the delete: %v, want nil or ErrNotFound", err)
							return
						}
					}
				})
			}
			wg.Go(func() {
				<-start
				// Let the readers get going, then delete from several
				// goroutines at once.
				for calls.Load() < goroutines*4 && running.Load() > 0 {
					time.Sleep(100 * time.Microsecond)
				}
				var dw sync.WaitGroup
				for range 4 {
					dw.Go(func() {
						if err := f.s.DeleteSession(f.ctx, r.ID); err != nil {
							bad <- fmt.Sprintf("DeleteSession: %v", err)
						}
					})
				}
				dw.Wait()
				deleted.Store(true)
			})
			close(start)
			wg.Wait()
			close(bad)
			for msg := range bad {
				t.Errorf("round %d: %s", round, msg)
			}
			got, err := f.s.GetSession(f.ctx, r.ID)
			checkRefused(t, "GetSession after the concurrent delete", err, got, session.ErrNotFound)
		}
	})
}

// randomText returns a random base32 string of 26 characters.
func randomText() string { return rand.Text() }

// swapCase flips the case of ASCII letters.
func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}
