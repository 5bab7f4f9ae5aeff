package storage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
	"github.com/ltikit/ltikit/storage/storagetest"
)

// The cache is still a conformant adapter: single-use values go through,
// lookups that fail are never remembered.
func TestLookupCacheConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Harness {
		m := memory.New()
		c := storage.CacheLookups(m, storage.CacheConfig{})
		if !c.CarriesNonce() {
			t.Fatal("the cache dropped the carrier of its adapter")
		}
		return storagetest.Harness{Adapter: c, AddRegistration: memoryAddReg(m), AddDeployment: memoryAddDep(m)}
	})
}

// counting counts the lookups that reach the adapter and can fail them.
type counting struct {
	storage.Adapter
	regs, deps atomic.Int64
	fail       atomic.Bool
}

var errDown = errors.New("database down")

func (c *counting) FindRegistration(ctx context.Context, iss, cid string) (registration.Registerable, error) {
	c.regs.Add(1)
	if c.fail.Load() {
		return nil, errDown
	}
	return c.Adapter.FindRegistration(ctx, iss, cid)
}

func (c *counting) FindDeployment(ctx context.Context, r registration.Registerable, id string) (deployment.Deployable, error) {
	c.deps.Add(1)
	if c.fail.Load() {
		return nil, errDown
	}
	return c.Adapter.FindDeployment(ctx, r, id)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testReg(i int) registration.Registration {
	return registration.Registration{
		Issuer:        "https://lms.example",
		ClientID:      fmt.Sprintf("client-%d", i),
		AuthEndpoint:  "https://lms.example/auth",
		KeySetURL:     "https://lms.example/jwks",
		TokenEndpoint: "https://lms.example/token",
	}
}

func newCached(t *testing.T, cfg storage.CacheConfig) (*storage.LookupCache, *counting, *memory.Store, *clock) {
	t.Helper()
	m := memory.New()
	clk := &clock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	cfg.Now = clk.Now
	cnt := &counting{Adapter: m}
	return storage.CacheLookups(cnt, cfg), cnt, m, clk
}

func TestLookupCache(t *testing.T) {
	ctx := context.Background()
	reg := testReg(1)

	t.Run("hits within the TTL, asks again after it", func(t *testing.T) {
		c, cnt, m, clk := newCached(t, storage.CacheConfig{TTL: time.Minute})
		if err := m.AddRegistration(reg); err != nil {
			t.Fatal(err)
		}
		if err := m.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: "d1"}); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			r, err := c.FindRegistration(ctx, reg.Issuer, reg.ClientID)
			if err != nil || r.LTIRegistration().ClientID != reg.ClientID {
				t.Fatalf("FindRegistration = %v, %v", r, err)
			}
			d, err := c.FindDeployment(ctx, r, "d1")
			if err != nil || d.LTIDeployment().DeploymentID != "d1" {
				t.Fatalf("FindDeployment = %v, %v", d, err)
			}
		}
		if got := [2]int64{cnt.regs.Load(), cnt.deps.Load()}; got != [2]int64{1, 1} {
			t.Fatalf("adapter lookups = %v, want one of each", got)
		}
		clk.Add(time.Minute)
		if _, err := c.FindRegistration(ctx, reg.Issuer, reg.ClientID); err != nil {
			t.Fatal(err)
		}
		if n := cnt.regs.Load(); n != 2 {
			t.Fatalf("after the TTL the adapter was asked %d times, want 2", n)
		}
	})

	t.Run("failures are not remembered", func(t *testing.T) {
		c, cnt, m, _ := newCached(t, storage.CacheConfig{})
		if _, err := c.FindRegistration(ctx, reg.Issuer, reg.ClientID); !errors.Is(err, registration.ErrNotFound) {
			t.Fatalf("unknown registration: %v", err)
		}
		// Added afterwards: seen at once.
		if err := m.AddRegistration(reg); err != nil {
			t.Fatal(err)
		}
		r, err := c.FindRegistration(ctx, reg.Issuer, reg.ClientID)
		if err != nil {
			t.Fatalf("a registration added after a miss: %v", err)
		}
		if _, err := c.FindDeployment(ctx, r, "d1"); !errors.Is(err, deployment.ErrNotFound) {
			t.Fatalf("unknown deployment: %v", err)
		}
		if err := m.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: "d1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FindDeployment(ctx, r, "d1"); err != nil {
			t.Fatalf("a deployment added after a miss: %v", err)
		}
		// A storage error is passed through, not hidden by a stale entry
		// of another key, and not cached.
		cnt.fail.Store(true)
		if _, err := c.FindRegistration(ctx, reg.Issuer, "other"); !errors.Is(err, errDown) {
			t.Fatalf("storage error: %v", err)
		}
		cnt.fail.Store(false)
		if _, err := c.FindRegistration(ctx, reg.Issuer, "other"); !errors.Is(err, registration.ErrNotFound) {
			t.Fatalf("after the error: %v", err)
		}
	})

	t.Run("deployment ids stay case-sensitive", func(t *testing.T) {
		c, _, m, _ := newCached(t, storage.CacheConfig{})
		if err := m.AddRegistration(reg); err != nil {
			t.Fatal(err)
		}
		if err := m.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: "Dep"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FindDeployment(ctx, reg, "Dep"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FindDeployment(ctx, reg, "dep"); !errors.Is(err, deployment.ErrNotFound) {
			t.Fatalf("dep after Dep was cached: %v", err)
		}
		other := testReg(2)
		if err := m.AddRegistration(other); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FindDeployment(ctx, other, "Dep"); !errors.Is(err, deployment.ErrNotFound) {
			t.Fatalf("a deployment cached under one registration leaked to another: %v", err)
		}
	})

	t.Run("an empty client_id is never cached", func(t *testing.T) {
		c, cnt, m, _ := newCached(t, storage.CacheConfig{})
		if err := m.AddRegistration(reg); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FindRegistration(ctx, reg.Issuer, ""); err != nil {
			t.Fatal(err)
		}
		if err := m.AddRegistration(testReg(2)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FindRegistration(ctx, reg.Issuer, ""); !errors.Is(err, registration.ErrAmbiguous) {
			t.Fatalf("a second registration for the issuer: %v, want ambiguous", err)
		}
		if n := cnt.regs.Load(); n != 2 {
			t.Fatalf("adapter asked %d times, want 2", n)
		}
	})

	t.Run("Forget and Purge", func(t *testing.T) {
		c, cnt, m, _ := newCached(t, storage.CacheConfig{})
		if err := m.AddRegistration(reg); err != nil {
			t.Fatal(err)
		}
		if err := m.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: "d1"}); err != nil {
			t.Fatal(err)
		}
		r, _ := c.FindRegistration(ctx, reg.Issuer, reg.ClientID)
		if _, err := c.FindDeployment(ctx, r, "d1"); err != nil {
			t.Fatal(err)
		}
		if c.Len() != 2 {
			t.Fatalf("Len = %d, want 2", c.Len())
		}
		c.Forget(reg.Issuer, reg.ClientID)
		if c.Len() != 0 {
			t.Fatalf("Len after Forget = %d, want 0", c.Len())
		}
		r, _ = c.FindRegistration(ctx, reg.Issuer, reg.ClientID)
		if _, err := c.FindDeployment(ctx, r, "d1"); err != nil {
			t.Fatal(err)
		}
		c.Purge()
		if c.Len() != 0 {
			t.Fatalf("Len after Purge = %d", c.Len())
		}
		if _, err := c.FindRegistration(ctx, reg.Issuer, reg.ClientID); err != nil {
			t.Fatal(err)
		}
		if got := [2]int64{cnt.regs.Load(), cnt.deps.Load()}; got != [2]int64{3, 2} {
			t.Fatalf("adapter lookups = %v, want [3 2]", got)
		}
	})

	t.Run("bounded", func(t *testing.T) {
		c, _, m, _ := newCached(t, storage.CacheConfig{MaxEntries: 10})
		for i := range 100 {
			r := testReg(i)
			if err := m.AddRegistration(r); err != nil {
				t.Fatal(err)
			}
			if _, err := c.FindRegistration(ctx, r.Issuer, r.ClientID); err != nil {
				t.Fatal(err)
			}
			if c.Len() > 10 {
				t.Fatalf("Len = %d after %d lookups, want ≤ 10", c.Len(), i+1)
			}
		}
	})

	t.Run("single-use values are not cached", func(t *testing.T) {
		c, _, _, _ := newCached(t, storage.CacheConfig{})
		l := nonce.Login{State: "state-value-000000000000000000000", Nonce: "nonce-value-0000000000000000000000",
			Issuer: reg.Issuer, ClientID: reg.ClientID, ExpiresAt: time.Now().Add(time.Hour)}
		l.Binding = l.Bind()
		if err := c.PutState(ctx, l); err != nil {
			t.Fatal(err)
		}
		if _, err := c.TakeState(ctx, l.State); err != nil {
			t.Fatal(err)
		}
		if _, err := c.TakeState(ctx, l.State); err == nil {
			t.Fatal("a state was taken twice through the cache")
		}
	})
}

// Many goroutines sharing one cache: every lookup answers the right value.
func TestLookupCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	c, _, m, clk := newCached(t, storage.CacheConfig{TTL: time.Second, MaxEntries: 8})
	for i := range 16 {
		r := testReg(i)
		if err := m.AddRegistration(r); err != nil {
			t.Fatal(err)
		}
		if err := m.AddDeployment(r.Key(), deployment.Deployment{DeploymentID: fmt.Sprint("d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for j := range 200 {
				i := (g + j) % 16
				if j%50 == 0 {
					clk.Add(time.Second)
				}
				r, err := c.FindRegistration(ctx, "https://lms.example", fmt.Sprint("client-", i))
				if err != nil || r.LTIRegistration().ClientID != fmt.Sprint("client-", i) {
					t.Errorf("FindRegistration(client-%d) = %v, %v", i, r, err)
					return
				}
				d, err := c.FindDeployment(ctx, r, fmt.Sprint("d", i))
				if err != nil || d.LTIDeployment().DeploymentID != fmt.Sprint("d", i) {
					t.Errorf("FindDeployment(d%d) = %v, %v", i, d, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// gated holds the next lookup (once armed) after it has read the adapter,
// until released, so a test can Forget while the lookup is in flight.
type gated struct {
	storage.Adapter
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func (g *gated) arm() (entered, release chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.entered, g.release = true, make(chan struct{}), make(chan struct{})
	return g.entered, g.release
}

func (g *gated) wait() {
	g.mu.Lock()
	armed, entered, release := g.armed, g.entered, g.release
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(entered)
		<-release
	}
}

func (g *gated) FindRegistration(ctx context.Context, iss, cid string) (registration.Registerable, error) {
	r, err := g.Adapter.FindRegistration(ctx, iss, cid)
	g.wait()
	return r, err
}

func (g *gated) FindDeployment(ctx context.Context, r registration.Registerable, id string) (deployment.Deployable, error) {
	d, err := g.Adapter.FindDeployment(ctx, r, id)
	g.wait()
	return d, err
}

// TestForgetDuringLookup (issue "Hardening", item 8): a lookup in flight
// when Forget (or Purge) runs read the value from before it, and must not
// put it back into the cache once Forget has returned.
func TestForgetDuringLookup(t *testing.T) {
	ctx := context.Background()
	reg := testReg(1)
	for _, tc := range []struct {
		name   string
		lookup func(c *storage.LookupCache) error
		forget func(c *storage.LookupCache)
	}{
		{"registration/Forget", func(c *storage.LookupCache) error {
			_, err := c.FindRegistration(ctx, reg.Issuer, reg.ClientID)
			return err
		}, func(c *storage.LookupCache) { c.Forget(reg.Issuer, reg.ClientID) }},
		{"deployment/Forget", func(c *storage.LookupCache) error {
			_, err := c.FindDeployment(ctx, reg, "d1")
			return err
		}, func(c *storage.LookupCache) { c.Forget(reg.Issuer, reg.ClientID) }},
		{"registration/Purge", func(c *storage.LookupCache) error {
			_, err := c.FindRegistration(ctx, reg.Issuer, reg.ClientID)
			return err
		}, (*storage.LookupCache).Purge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := memory.New()
			if err := m.AddRegistration(reg); err != nil {
				t.Fatal(err)
			}
			if err := m.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: "d1"}); err != nil {
				t.Fatal(err)
			}
			g := &gated{Adapter: m}
			cnt := &counting{Adapter: g}
			c := storage.CacheLookups(cnt, storage.CacheConfig{TTL: time.Hour})
			entered, release := g.arm()
			done := make(chan error, 1)
			go func() { done <- tc.lookup(c) }()
			<-entered // the lookup has the value from before Forget
			tc.forget(c)
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if n := c.Len(); n != 0 {
				t.Fatalf("Len after a lookup that started before the Forget = %d, want 0", n)
			}
			before := cnt.regs.Load() + cnt.deps.Load()
			if err := tc.lookup(c); err != nil {
				t.Fatal(err)
			}
			if after := cnt.regs.Load() + cnt.deps.Load(); after != before+1 {
				t.Fatalf("the next lookup asked the adapter %d times, want 1 (the forgotten value was cached)", after-before)
			}
			if n := c.Len(); n != 1 {
				t.Fatalf("Len after a fresh lookup = %d, want 1", n)
			}
		})
	}
}
