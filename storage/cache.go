package storage

import (
	"context"
	"sync"
	"time"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
)

// CacheConfig configures [CacheLookups].
type CacheConfig struct {
	// TTL is how long a registration or deployment that was found is
	// reused without asking the adapter again. Zero means 30 seconds.
	TTL time.Duration
	// MaxEntries bounds the registrations plus deployments held. When the
	// cache is full a new entry replaces an arbitrary one. Zero means
	// 10,000.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// LookupCache is an [Adapter] that remembers the registrations and
// deployments its adapter found, for a short time, in this process. State
// and nonce calls go straight to the adapter: single-use values are never
// cached.
//
// Only lookups that succeeded are remembered: not found, ambiguous and
// storage errors are returned as the adapter returned them and asked again
// next time, so a registration or deployment added to the database is seen
// at once. One that is changed or removed is seen when its entry expires
// (CacheConfig.TTL), or at once after [LookupCache.Forget] or
// [LookupCache.Purge]. A registration lookup without a client_id (a login
// initiation that did not send one) is never cached, so a second
// registration for the issuer makes it ambiguous at once.
//
// The host values (registration.Registerable, deployment.Deployable) are
// shared by every launch that hits the entry: treat them as read-only.
type LookupCache struct {
	a   Adapter
	ttl time.Duration
	max int
	now func() time.Time

	mu   sync.RWMutex
	regs map[regKey]cached[registration.Registerable]
	deps map[depKey]cached[deployment.Deployable]
	// gen counts Forget and Purge calls. A lookup notes it before asking
	// the adapter and stores what it found only if it has not moved, so a
	// lookup in flight during a Forget never puts back the value from
	// before it.
	gen uint64
}

type regKey struct{ issuer, clientID string }

type depKey struct {
	reg          regKey
	deploymentID string
}

type cached[T any] struct {
	v       T
	expires time.Time
}

// CacheLookups wraps a so that registration and deployment lookups are
// served from memory for cfg.TTL after they first succeed. A launch
// against a warm cache then costs its adapter only the state (and nonce)
// calls. The result implements nonce.Carrier when a does.
//
// A host that gives launch.Config its stores one by one caches only the
// lookups: c := CacheLookups(Combine(db, db, nil, nil), cfg), then
// Registrations: c and Deployments: c.
func CacheLookups(a Adapter, cfg CacheConfig) *LookupCache {
	if cfg.TTL <= 0 {
		cfg.TTL = 30 * time.Second
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 10_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if a == nil {
		a = Combine(nil, nil, nil, nil)
	}
	return &LookupCache{
		a:    a,
		ttl:  cfg.TTL,
		max:  cfg.MaxEntries,
		now:  cfg.Now,
		regs: make(map[regKey]cached[registration.Registerable]),
		deps: make(map[depKey]cached[deployment.Deployable]),
	}
}

// FindRegistration returns the cached registration for issuer and
// clientID, or asks the adapter and caches what it finds.
func (c *LookupCache) FindRegistration(ctx context.Context, issuer, clientID string) (registration.Registerable, error) {
	if clientID == "" {
		return c.a.FindRegistration(ctx, issuer, clientID)
	}
	k := regKey{issuer, clientID}
	now := c.now()
	c.mu.RLock()
	e, ok := c.regs[k]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	r, err := c.a.FindRegistration(ctx, issuer, clientID)
	if err != nil || r == nil {
		return r, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.makeRoom()
		c.regs[k] = cached[registration.Registerable]{r, now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return r, nil
}

// FindDeployment returns the cached deployment deploymentID of reg, or asks
// the adapter and caches what it finds. The entry is keyed by reg's issuer
// and client_id.
func (c *LookupCache) FindDeployment(ctx context.Context, reg registration.Registerable, deploymentID string) (deployment.Deployable, error) {
	if reg == nil {
		return c.a.FindDeployment(ctx, reg, deploymentID)
	}
	r := reg.LTIRegistration()
	k := depKey{regKey{r.Issuer, r.ClientID}, deploymentID}
	now := c.now()
	c.mu.RLock()
	e, ok := c.deps[k]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	d, err := c.a.FindDeployment(ctx, reg, deploymentID)
	if err != nil || d == nil {
		return d, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.makeRoom()
		c.deps[k] = cached[deployment.Deployable]{d, now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return d, nil
}

// makeRoom drops one entry when the cache is full. Map iteration order is
// unspecified, so this is an arbitrary entry and costs O(1): the cost of a
// lookup does not grow with the number of registrations. c.mu is held.
func (c *LookupCache) makeRoom() {
	if len(c.regs)+len(c.deps) < c.max {
		return
	}
	for k := range c.deps {
		delete(c.deps, k)
		return
	}
	for k := range c.regs {
		delete(c.regs, k)
		return
	}
}

// Forget drops the cached registration for issuer and clientID and every
// cached deployment under it, so the next launch reads them from the
// adapter. Call it after changing or removing them. A lookup that was
// already asking the adapter when Forget ran returns what it found but
// does not cache it (nor does any other lookup in flight then), so the
// value from before Forget never comes back.
func (c *LookupCache) Forget(issuer, clientID string) {
	rk := regKey{issuer, clientID}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.regs, rk)
	for k := range c.deps {
		if k.reg == rk {
			delete(c.deps, k)
		}
	}
}

// Purge drops every cached entry; lookups in flight do not cache what
// they find (as with Forget).
func (c *LookupCache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.regs)
	clear(c.deps)
}

// Len reports how many registrations and deployments are cached.
func (c *LookupCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.regs) + len(c.deps)
}

// PutState calls the adapter.
func (c *LookupCache) PutState(ctx context.Context, l nonce.Login) error {
	return c.a.PutState(ctx, l)
}

// TakeState calls the adapter.
func (c *LookupCache) TakeState(ctx context.Context, state string) (nonce.Login, error) {
	return c.a.TakeState(ctx, state)
}

// PutNonce calls the adapter.
func (c *LookupCache) PutNonce(ctx context.Context, n nonce.Nonce) error {
	return c.a.PutNonce(ctx, n)
}

// ConsumeNonce calls the adapter.
func (c *LookupCache) ConsumeNonce(ctx context.Context, value, issuer, clientID string) error {
	return c.a.ConsumeNonce(ctx, value, issuer, clientID)
}

// CarriesNonce reports whether the adapter's state store carries the
// nonce (see [nonce.Carrier]).
func (c *LookupCache) CarriesNonce() bool {
	carrier, ok := c.a.(nonce.Carrier)
	return ok && carrier.CarriesNonce()
}

// Unwrap returns the adapter the cache wraps.
func (c *LookupCache) Unwrap() Adapter { return c.a }

var _ interface {
	Adapter
	nonce.Carrier
} = (*LookupCache)(nil)
