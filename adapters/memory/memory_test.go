package memory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Harness {
		s := New()
		return storagetest.Harness{
			Adapter: s,
			AddRegistration: func(_ context.Context, r registration.Registration) error {
				return s.AddRegistration(r)
			},
			AddDeployment: func(_ context.Context, r registration.Registration, d deployment.Deployment) error {
				return s.AddDeployment(r.Key(), d)
			},
		}
	})
}

// TestConformanceFakeClock runs the suite with a clock far from time.Now, so
// the store must judge expiry with its own clock.
func TestConformanceFakeClock(t *testing.T) {
	clk := newClock(time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC))
	storagetest.Run(t, func(t *testing.T) storagetest.Harness {
		s := New(WithClock(clk.Now))
		return storagetest.Harness{
			Adapter:         s,
			AddRegistration: func(_ context.Context, r registration.Registration) error { return s.AddRegistration(r) },
			AddDeployment: func(_ context.Context, r registration.Registration, d deployment.Deployment) error {
				return s.AddDeployment(r.Key(), d)
			},
			Now: clk.Now,
		}
	})
}

// clock is a fake clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func testReg(iss, clientID string) registration.Registration {
	return registration.Registration{
		Issuer:       iss,
		ClientID:     clientID,
		AuthEndpoint: iss + "/auth",
		KeySetURL:    iss + "/jwks",
	}
}

func login(state string, exp time.Time) nonce.Login {
	l := nonce.Login{State: state, Nonce: "n-" + state, Issuer: "https://lms.example.com", ClientID: "c", ExpiresAt: exp}
	l.Binding = l.Bind()
	return l
}

func nonceOf(value string, exp time.Time) nonce.Nonce {
	return nonce.Nonce{Value: value, Issuer: "https://lms.example.com", ClientID: "c", ExpiresAt: exp}
}

func mustPutState(t *testing.T, s *Store, l nonce.Login) {
	t.Helper()
	if err := s.PutState(t.Context(), l); err != nil {
		t.Fatalf("PutState(%q): %v", l.State, err)
	}
}

func mustPutNonce(t *testing.T, s *Store, n nonce.Nonce) {
	t.Helper()
	if err := s.PutNonce(t.Context(), n); err != nil {
		t.Fatalf("PutNonce(%q): %v", n.Value, err)
	}
}

func TestClockExpiry(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		wantErr error
	}{
		{"BeforeExpiry", 10*time.Minute - time.Nanosecond, nil},
		{"AtExpiry", 10 * time.Minute, nonce.ErrExpired},
		{"AfterExpiry", 11 * time.Minute, nonce.ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock(t0)
			s := New(WithClock(clk.Now))
			exp := t0.Add(10 * time.Minute)
			mustPutState(t, s, login("st", exp))
			mustPutNonce(t, s, nonceOf("nv", exp))
			clk.Advance(tc.advance)

			got, err := s.TakeState(t.Context(), "st")
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("TakeState error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && got != (nonce.Login{}) {
				t.Errorf("TakeState returned %+v with an error, want the zero Login", got)
			}
			err = s.ConsumeNonce(t.Context(), "nv", "https://lms.example.com", "c")
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("ConsumeNonce error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// A consumed value stays marked until it expires, so a replay is reported
// as consumed, not as unknown.
func TestConsumedKeptUntilExpiry(t *testing.T) {
	clk := newClock(t0)
	s := New(WithClock(clk.Now))
	ctx := t.Context()
	mustPutState(t, s, login("st", t0.Add(time.Minute)))
	mustPutNonce(t, s, nonceOf("nv", t0.Add(time.Minute)))
	if _, err := s.TakeState(ctx, "st"); err != nil {
		t.Fatal(err)
	}
	if err := s.ConsumeNonce(ctx, "nv", "https://lms.example.com", "c"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeExpired(ctx); n != 0 || err != nil {
		t.Errorf("PurgeExpired before expiry = %d, %v; want 0, nil", n, err)
	}
	if _, err := s.TakeState(ctx, "st"); !errors.Is(err, nonce.ErrConsumed) {
		t.Errorf("replayed TakeState error = %v, want nonce.ErrConsumed", err)
	}
	if err := s.ConsumeNonce(ctx, "nv", "https://lms.example.com", "c"); !errors.Is(err, nonce.ErrConsumed) {
		t.Errorf("replayed ConsumeNonce error = %v, want nonce.ErrConsumed", err)
	}
	// A taken state cannot be put again while it is kept.
	if err := s.PutState(ctx, login("st", t0.Add(time.Hour))); !errors.Is(err, ErrDuplicate) {
		t.Errorf("PutState of a taken state error = %v, want ErrDuplicate", err)
	}
	clk.Advance(time.Minute)
	if n, err := s.PurgeExpired(ctx); n != 2 || err != nil {
		t.Errorf("PurgeExpired after expiry = %d, %v; want 2, nil", n, err)
	}
	if _, err := s.TakeState(ctx, "st"); !errors.Is(err, nonce.ErrNotFound) {
		t.Errorf("TakeState after purge error = %v, want nonce.ErrNotFound", err)
	}
}

func TestPurgeExpired(t *testing.T) {
	clk := newClock(t0)
	s := New(WithClock(clk.Now))
	ctx := t.Context()
	past, future := t0.Add(-time.Second), t0.Add(time.Hour)
	for _, st := range []string{"old1", "old2", "old3"} {
		mustPutState(t, s, login(st, past))
	}
	for _, st := range []string{"live1", "live2"} {
		mustPutState(t, s, login(st, future))
	}
	mustPutState(t, s, login("at-now", t0)) // expires exactly now: unusable, purged
	mustPutNonce(t, s, nonceOf("old-n", past))
	mustPutNonce(t, s, nonceOf("live-n", future))
	mustPutNonce(t, s, nonceOf("used-n", future))
	if err := s.ConsumeNonce(ctx, "used-n", "https://lms.example.com", "c"); err != nil {
		t.Fatal(err)
	}

	if n, err := s.PurgeExpired(ctx); n != 5 || err != nil {
		t.Fatalf("PurgeExpired = %d, %v; want 5, nil", n, err)
	}
	if n, err := s.PurgeExpired(ctx); n != 0 || err != nil {
		t.Errorf("second PurgeExpired = %d, %v; want 0, nil", n, err)
	}
	for _, st := range []string{"old1", "old2", "old3", "at-now"} {
		if _, err := s.TakeState(ctx, st); !errors.Is(err, nonce.ErrNotFound) {
			t.Errorf("TakeState(%q) after purge error = %v, want nonce.ErrNotFound", st, err)
		}
	}
	for _, st := range []string{"live1", "live2"} {
		if _, err := s.TakeState(ctx, st); err != nil {
			t.Errorf("TakeState(%q) after purge: %v", st, err)
		}
	}
	if err := s.ConsumeNonce(ctx, "old-n", "https://lms.example.com", "c"); !errors.Is(err, nonce.ErrNotFound) {
		t.Errorf("ConsumeNonce(old-n) after purge error = %v, want nonce.ErrNotFound", err)
	}
	if err := s.ConsumeNonce(ctx, "live-n", "https://lms.example.com", "c"); err != nil {
		t.Errorf("ConsumeNonce(live-n) after purge: %v", err)
	}
	if err := s.ConsumeNonce(ctx, "used-n", "https://lms.example.com", "c"); !errors.Is(err, nonce.ErrConsumed) {
		t.Errorf("ConsumeNonce(used-n) after purge error = %v, want nonce.ErrConsumed", err)
	}
	// An expired key that was purged may be put again.
	mustPutState(t, s, login("old1", future))
}

func TestPurgeExpiredCancelled(t *testing.T) {
	clk := newClock(t0)
	s := New(WithClock(clk.Now))
	mustPutState(t, s, login("old", t0.Add(-time.Second)))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	n, err := s.PurgeExpired(ctx)
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Errorf("PurgeExpired(cancelled) = %d, %v; want 0, context.Canceled", n, err)
	}
	if _, err := s.TakeState(t.Context(), "old"); !errors.Is(err, nonce.ErrExpired) {
		t.Errorf("TakeState after a cancelled purge error = %v, want nonce.ErrExpired (not purged)", err)
	}
}

func TestSweeper(t *testing.T) {
	clk := newClock(t0)
	s := New(WithClock(clk.Now))
	ctx := t.Context()
	mustPutState(t, s, login("st", t0.Add(time.Minute)))
	mustPutNonce(t, s, nonceOf("nv", t0.Add(time.Minute)))
	stop := s.StartSweeper(time.Millisecond)
	clk.Advance(time.Hour)

	deadline := time.Now().Add(5 * time.Second)
	for {
		_, errState := s.TakeState(ctx, "st")
		errNonce := s.ConsumeNonce(ctx, "nv", "https://lms.example.com", "c")
		if errors.Is(errState, nonce.ErrNotFound) && errors.Is(errNonce, nonce.ErrNotFound) {
			break
		}
		if !errors.Is(errState, nonce.ErrExpired) && !errors.Is(errState, nonce.ErrNotFound) {
			t.Fatalf("TakeState error = %v while waiting for the sweeper", errState)
		}
		if time.Now().After(deadline) {
			t.Fatalf("sweeper did not purge within 5s (state: %v, nonce: %v)", errState, errNonce)
		}
		time.Sleep(time.Millisecond)
	}

	stop()
	stop() // idempotent
	// After stop, nothing is purged any more.
	mustPutState(t, s, login("after", t0))
	time.Sleep(20 * time.Millisecond)
	if _, err := s.TakeState(ctx, "after"); !errors.Is(err, nonce.ErrExpired) {
		t.Errorf("TakeState after stop error = %v, want nonce.ErrExpired (the sweeper still runs?)", err)
	}
}

func TestSweeperStopConcurrent(t *testing.T) {
	s := New()
	stop := s.StartSweeper(0) // default interval
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(stop)
	}
	wg.Wait()
	stop()
}

type hostReg struct {
	ID     int64
	Tenant string
	Reg    registration.Registration
}

func (h hostReg) LTIRegistration() registration.Registration { return h.Reg }

type hostDep struct {
	ID   int64
	Slug string
}

func (h *hostDep) LTIDeployment() deployment.Deployment {
	return deployment.Deployment{DeploymentID: h.Slug}
}

func TestHostPassThrough(t *testing.T) {
	s := New()
	ctx := t.Context()
	byValue := hostReg{ID: 7, Tenant: "acme", Reg: testReg("https://a.example.com", "c1")}
	byPointer := &hostReg{ID: 8, Tenant: "globex", Reg: testReg("https://b.example.com", "c2")}
	dep := &hostDep{ID: 99, Slug: "d-1"}
	for _, r := range []registration.Registerable{byValue, byPointer} {
		if err := s.AddRegistration(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddDeployment(byPointer.Reg.Key(), dep); err != nil {
		t.Fatal(err)
	}

	got, err := s.FindRegistration(ctx, "https://a.example.com", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := got.(hostReg); !ok || h.ID != 7 || h.Tenant != "acme" {
		t.Errorf("FindRegistration returned %#v, want the hostReg value", got)
	}

	got, err = s.FindRegistration(ctx, "https://b.example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := got.(*hostReg); !ok || h != byPointer {
		t.Errorf("FindRegistration returned %#v, want the same *hostReg", got)
	}

	// FindDeployment accepts the host value the registration lookup returned.
	d, err := s.FindDeployment(ctx, got, "d-1")
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := d.(*hostDep); !ok || h != dep {
		t.Errorf("FindDeployment returned %#v, want the same *hostDep", d)
	}
	// And the library's own Registration, keyed the same, finds it too.
	if _, err := s.FindDeployment(ctx, byPointer.Reg, "d-1"); err != nil {
		t.Errorf("FindDeployment with the plain Registration: %v", err)
	}
}

func TestAddRegistrationErrors(t *testing.T) {
	valid := testReg("https://lms.example.com", "c")
	tests := []struct {
		name    string
		r       registration.Registerable
		wantDup bool
	}{
		{"Nil", nil, false},
		{"NoIssuer", testReg("", "c"), false},
		{"NoClientID", testReg("https://lms.example.com", ""), false},
		{"BadAuthEndpoint", func() registration.Registration { r := valid; r.AuthEndpoint = "lms/auth"; return r }(), false},
		{"NoKeys", func() registration.Registration { r := valid; r.KeySetURL = ""; return r }(), false},
		{"Duplicate", valid, true},
		{"DuplicateHostType", hostReg{ID: 1, Reg: valid}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			if err := s.AddRegistration(valid); err != nil {
				t.Fatal(err)
			}
			err := s.AddRegistration(tc.r)
			if err == nil {
				t.Fatal("AddRegistration succeeded, want an error")
			}
			if errors.Is(err, ErrDuplicate) != tc.wantDup {
				t.Errorf("AddRegistration error = %v; ErrDuplicate = %t, want %t", err, !tc.wantDup, tc.wantDup)
			}
			// The stored registration is untouched.
			got, err := s.FindRegistration(t.Context(), valid.Issuer, valid.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := got.(registration.Registration); !ok {
				t.Errorf("stored registration replaced by %#v", got)
			}
		})
	}
}

func TestAddDeployment(t *testing.T) {
	reg := testReg("https://lms.example.com", "c")
	tests := []struct {
		name    string
		key     registration.Key
		d       deployment.Deployable
		wantErr bool
	}{
		{"OK", reg.Key(), deployment.Deployment{DeploymentID: "d2"}, false},
		{"MaxLength", reg.Key(), deployment.Deployment{DeploymentID: strings.Repeat("x", deployment.MaxIDLength)}, false},
		{"OtherCase", reg.Key(), deployment.Deployment{DeploymentID: "D1"}, false},
		{"TooLong", reg.Key(), deployment.Deployment{DeploymentID: strings.Repeat("x", deployment.MaxIDLength+1)}, true},
		{"Empty", reg.Key(), deployment.Deployment{}, true},
		{"Nil", reg.Key(), nil, true},
		{"Duplicate", reg.Key(), deployment.Deployment{DeploymentID: "d1"}, true},
		{"UnknownRegistration", registration.Key{Issuer: reg.Issuer, ClientID: "other"}, deployment.Deployment{DeploymentID: "d1"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			if err := s.AddRegistration(reg); err != nil {
				t.Fatal(err)
			}
			if err := s.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: "d1"}); err != nil {
				t.Fatal(err)
			}
			err := s.AddDeployment(tc.key, tc.d)
			if (err != nil) != tc.wantErr {
				t.Fatalf("AddDeployment error = %v, wantErr %t", err, tc.wantErr)
			}
			if err == nil {
				id := tc.d.LTIDeployment().DeploymentID
				if _, err := s.FindDeployment(t.Context(), reg, id); err != nil {
					t.Errorf("FindDeployment(%q) after add: %v", id, err)
				}
			}
		})
	}
}

func TestPutValidation(t *testing.T) {
	s := New()
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	if err := s.PutState(ctx, login("", exp)); err == nil {
		t.Error("PutState with an empty state succeeded")
	}
	if err := s.PutState(ctx, login("st", time.Time{})); err == nil {
		t.Error("PutState with no expiry succeeded")
	}
	if err := s.PutNonce(ctx, nonceOf("", exp)); err == nil {
		t.Error("PutNonce with an empty value succeeded")
	}
	if err := s.PutNonce(ctx, nonceOf("nv", time.Time{})); err == nil {
		t.Error("PutNonce with no expiry succeeded")
	}
	mustPutNonce(t, s, nonceOf("nv", exp))
	other := nonceOf("nv", exp)
	other.ClientID = "other"
	if err := s.PutNonce(ctx, other); !errors.Is(err, ErrDuplicate) {
		t.Errorf("PutNonce of a value stored for another registration error = %v, want ErrDuplicate", err)
	}
}

func TestCancelledContext(t *testing.T) {
	s := New()
	reg := testReg("https://lms.example.com", "c")
	if err := s.AddRegistration(reg); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: "d"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	exp := time.Now().Add(time.Hour)
	calls := map[string]func() error{
		"FindRegistration": func() error { _, err := s.FindRegistration(ctx, reg.Issuer, reg.ClientID); return err },
		"FindDeployment":   func() error { _, err := s.FindDeployment(ctx, reg, "d"); return err },
		"PutState":         func() error { return s.PutState(ctx, login("st", exp)) },
		"TakeState":        func() error { _, err := s.TakeState(ctx, "st"); return err },
		"PutNonce":         func() error { return s.PutNonce(ctx, nonceOf("nv", exp)) },
		"ConsumeNonce":     func() error { return s.ConsumeNonce(ctx, "nv", "https://lms.example.com", "c") },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context error = %v, want context.Canceled", name, err)
		}
	}
}

func TestFindDeploymentNilRegistration(t *testing.T) {
	d, err := New().FindDeployment(t.Context(), nil, "d")
	if err == nil || d != nil {
		t.Errorf("FindDeployment(nil registration) = %v, %v; want an error", d, err)
	}
}

// TestConcurrentMixed exercises every method at once under -race.
func TestConcurrentMixed(t *testing.T) {
	s := New()
	ctx := t.Context()
	stop := s.StartSweeper(time.Millisecond)
	defer stop()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			iss := "https://lms" + string(rune('a'+g)) + ".example.com"
			reg := testReg(iss, "c")
			if err := s.AddRegistration(reg); err != nil {
				t.Error(err)
				return
			}
			for i := range 200 {
				id := string(rune('a'+g)) + "-" + strings.Repeat("x", i%5) + string(rune('0'+i%10))
				_ = s.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: id})
				if _, err := s.FindRegistration(ctx, iss, ""); err != nil {
					t.Error(err)
				}
				_, _ = s.FindDeployment(ctx, reg, id)
				st := iss + "/" + id + "/" + string(rune('0'+i%10)) + strings.Repeat("s", i)
				if err := s.PutState(ctx, login(st, time.Now().Add(time.Duration(i%3-1)*time.Second))); err != nil {
					t.Error(err)
				}
				_, _ = s.TakeState(ctx, st)
				_ = s.PutNonce(ctx, nonceOf(st, time.Now().Add(time.Hour)))
				_ = s.ConsumeNonce(ctx, st, "https://lms.example.com", "c")
			}
		})
	}
	wg.Wait()
}

func BenchmarkFindRegistration(b *testing.B) {
	for _, n := range []int{10, 100000} {
		b.Run(fmt.Sprintf("registrations=%d", n), func(b *testing.B) {
			s := New()
			for i := range n {
				iss := "https://lms-" + strconv.Itoa(i) + ".example.com"
				if err := s.AddRegistration(testReg(iss, "c")); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.FindRegistration(ctx, "https://lms-7.example.com", ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPutTakeState(b *testing.B) {
	s := New()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	i := 0
	for b.Loop() {
		st := strconv.Itoa(i)
		i++
		if err := s.PutState(ctx, login(st, exp)); err != nil {
			b.Fatal(err)
		}
		if _, err := s.TakeState(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
}
