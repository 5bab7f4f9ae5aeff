package memory

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// Compile-time checks.
var (
	_ storage.Adapter   = (*Store)(nil)
	_ storage.Registrar = (*Store)(nil)
	_ nonce.Carrier     = (*Store)(nil)
)

// ErrDuplicate is returned (wrapped) when a registration, deployment, state
// or nonce is added under a key that is already stored. Stored values are
// never overwritten. The duplicate of a registration or deployment (through
// AddRegistration, AddDeployment or the [storage.Registrar] methods)
// matches [storage.ErrExists] too. Its code is already_exists.
var ErrDuplicate = lti.NewSentinel(lti.CodeAlreadyExists, "memory: already stored")

// DefaultSweepInterval is the interval [Store.StartSweeper] uses when it is
// given a non-positive one.
const DefaultSweepInterval = time.Minute

// Store is an in-memory [storage.Adapter]. Create it with [New]; the zero
// value is not usable. A Store is safe for concurrent use.
type Store struct {
	now func() time.Time

	mu    sync.RWMutex
	regs  map[string]map[string]registration.Registerable       // issuer → client_id → host value
	deps  map[registration.Key]map[string]deployment.Deployable // registration → deployment_id → host value
	state *table[nonce.Login]
	nonce *table[nonce.Nonce]
	// sessions are the launch sessions of package session (session.go).
	sessions *sessionTable

	// lastPurge is the Store clock (Unix ns) of the last purge of every
	// table that a write ran (purgeOnWrite).
	lastPurge atomic.Int64
}

// Option configures a [Store].
type Option func(*Store)

// WithClock sets the clock the Store judges expiry with (default
// time.Now). A nil clock is ignored.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// New returns an empty Store.
func New(opts ...Option) *Store {
	s := &Store{
		now:      time.Now,
		regs:     make(map[string]map[string]registration.Registerable),
		deps:     make(map[registration.Key]map[string]deployment.Deployable),
		state:    newTable[nonce.Login](),
		nonce:    newTable[nonce.Nonce](),
		sessions: newSessionTable(),
	}
	for _, o := range opts {
		o(s)
	}
	s.lastPurge.Store(s.now().UnixNano())
	return s
}

// CarriesNonce reports true: the nonce is kept inside the state's
// [nonce.Login] and [Store.TakeState] consumes both in one operation.
func (s *Store) CarriesNonce() bool { return true }

// AddRegistration adds a registration. r is kept as given and is what
// [Store.FindRegistration] returns, so the host gets its own type back.
// r.LTIRegistration() must pass [registration.Registration.Validate]; a
// second registration with the same issuer and client_id is an error
// matching [ErrDuplicate] and [storage.ErrExists].
func (s *Store) AddRegistration(r registration.Registerable) error {
	if r == nil {
		return errors.New("memory: add registration: nil registration")
	}
	lr := r.LTIRegistration()
	if err := lr.Validate(); err != nil {
		return fmt.Errorf("memory: add registration: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addRegistrationLocked(lr, r); err != nil {
		return fmt.Errorf("memory: add registration %s: %w", lr.Key(), err)
	}
	return nil
}

// addRegistrationLocked stores r under lr's key, or refuses a duplicate
// with errExists. s.mu is held.
func (s *Store) addRegistrationLocked(lr registration.Registration, r registration.Registerable) error {
	byClient := s.regs[lr.Issuer]
	if _, ok := byClient[lr.ClientID]; ok {
		return errExists{}
	}
	if byClient == nil {
		byClient = make(map[string]registration.Registerable)
		s.regs[lr.Issuer] = byClient
	}
	byClient[lr.ClientID] = r
	return nil
}

// AddDeployment adds a deployment under the registration identified by reg,
// which must have been added first. d is kept as given and is what
// [Store.FindDeployment] returns. Its deployment_id must be non-empty and at
// most [deployment.MaxIDLength] bytes; ids are case-sensitive, and a second
// deployment with the same id under the same registration is an error
// matching [ErrDuplicate] and [storage.ErrExists]. A registration not
// stored is an error matching [registration.ErrNotFound].
func (s *Store) AddDeployment(reg registration.Key, d deployment.Deployable) error {
	if d == nil {
		return errors.New("memory: add deployment: nil deployment")
	}
	if err := s.addDeployment(reg, d); err != nil {
		return fmt.Errorf("memory: add deployment: %w", err)
	}
	return nil
}

// addDeployment checks d's id and stores d under reg, as AddDeployment
// documents.
func (s *Store) addDeployment(reg registration.Key, d deployment.Deployable) error {
	id := d.LTIDeployment().DeploymentID
	if err := checkDeploymentID(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.regs[reg.Issuer][reg.ClientID]; !ok {
		return fmt.Errorf("registration %s: %w", reg, registration.ErrNotFound)
	}
	byID := s.deps[reg]
	if _, ok := byID[id]; ok {
		return fmt.Errorf("%q under %s: %w", id, reg, errExists{})
	}
	if byID == nil {
		byID = make(map[string]deployment.Deployable)
		s.deps[reg] = byID
	}
	byID[id] = d
	return nil
}

// FindRegistration implements [registration.Store]. Matching is exact. With
// an empty clientID the issuer's only registration is returned, or
// [registration.ErrAmbiguous] when it has several.
func (s *Store) FindRegistration(ctx context.Context, issuer, clientID string) (registration.Registerable, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: find registration: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	byClient := s.regs[issuer]
	if clientID != "" {
		if r, ok := byClient[clientID]; ok {
			return r, nil
		}
		return nil, registration.ErrNotFound
	}
	switch len(byClient) {
	case 0:
		return nil, registration.ErrNotFound
	case 1:
		for _, r := range byClient {
			return r, nil
		}
	}
	return nil, registration.ErrAmbiguous
}

// FindDeployment implements [deployment.Store]: it looks deploymentID up,
// exactly, under reg.LTIRegistration().Key().
func (s *Store) FindDeployment(ctx context.Context, reg registration.Registerable, deploymentID string) (deployment.Deployable, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: find deployment: %w", err)
	}
	if reg == nil {
		return nil, errors.New("memory: find deployment: nil registration")
	}
	key := reg.LTIRegistration().Key()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if d, ok := s.deps[key][deploymentID]; ok {
		return d, nil
	}
	return nil, deployment.ErrNotFound
}

// PutState implements [nonce.StateStore]. l.State must be non-empty and
// l.ExpiresAt set; a State already stored (even taken, until it expires and
// is purged) is an error matching [ErrDuplicate].
func (s *Store) PutState(ctx context.Context, l nonce.Login) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: put state: %w", err)
	}
	if l.State == "" {
		return errors.New("memory: put state: state is empty")
	}
	if l.ExpiresAt.IsZero() {
		return errors.New("memory: put state: no expiry")
	}
	s.purgeOnWrite(&s.state.bound, s.state.purge)
	if err := s.state.put(l.State, l, l.ExpiresAt); err != nil {
		return fmt.Errorf("memory: put state: %w", err)
	}
	return nil
}

// TakeState implements [nonce.StateStore]: it checks and marks the record
// under one lock. On any error the returned Login is the zero value.
func (s *Store) TakeState(ctx context.Context, state string) (nonce.Login, error) {
	if err := ctx.Err(); err != nil {
		return nonce.Login{}, fmt.Errorf("memory: take state: %w", err)
	}
	return s.state.take(state, s.now(), nil)
}

// PutNonce implements [nonce.Store]. n.Value must be non-empty and
// n.ExpiresAt set; a value already stored is an error matching
// [ErrDuplicate]. Nonce values are unique across registrations.
func (s *Store) PutNonce(ctx context.Context, n nonce.Nonce) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: put nonce: %w", err)
	}
	if n.Value == "" {
		return errors.New("memory: put nonce: value is empty")
	}
	if n.ExpiresAt.IsZero() {
		return errors.New("memory: put nonce: no expiry")
	}
	s.purgeOnWrite(&s.nonce.bound, s.nonce.purge)
	if err := s.nonce.put(n.Value, n, n.ExpiresAt); err != nil {
		return fmt.Errorf("memory: put nonce: %w", err)
	}
	return nil
}

// ConsumeNonce implements [nonce.Store]: it checks and marks the nonce under
// one lock. A nonce issued to another registration is [nonce.ErrNotFound]
// and is left untouched.
func (s *Store) ConsumeNonce(ctx context.Context, value, issuer, clientID string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: consume nonce: %w", err)
	}
	_, err := s.nonce.take(value, s.now(), func(n nonce.Nonce) bool {
		return n.Issuer == issuer && n.ClientID == clientID
	})
	return err
}

// PurgeExpired removes every state and nonce whose expiry has passed, taken
// or not, and every launch session past its idle or absolute expiry, and
// reports how many it removed. It locks one shard at a time, so
// takes and puts continue meanwhile. If ctx is cancelled part way it returns
// the count so far and the context's error.
func (s *Store) PurgeExpired(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memory: purge: %w", err)
	}
	now := s.now()
	n, err := s.state.purge(ctx, now)
	if err != nil {
		return n, fmt.Errorf("memory: purge: %w", err)
	}
	m, err := s.nonce.purge(ctx, now)
	if err != nil {
		return n + m, fmt.Errorf("memory: purge: %w", err)
	}
	k, err := s.sessions.purge(ctx, now)
	if err != nil {
		return n + m + k, fmt.Errorf("memory: purge: %w", err)
	}
	return n + m + k, nil
}

// Purge on write: a Store bounds itself without a sweeper. The write that
// finds its table grown past purgeMin entries and past twice what the
// table kept after its last purge removes the table's expired entries, so
// a scan of n entries follows at least n/2 writes (O(1) amortised per
// write); and the first write after purgeInterval of the Store's clock
// without one removes the expired entries of every table, so entries left
// by a burst do not wait for the table to double again.
const (
	purgeMin      = 1024
	purgeInterval = DefaultSweepInterval
)

// bound is the purge-on-write state of one table.
type bound struct {
	count   atomic.Int64 // entries held
	limit   atomic.Int64 // purge when count exceeds it
	purging atomic.Bool  // a write is purging the table
}

func (b *bound) init() { b.limit.Store(purgeMin) }

// purged sets the next threshold: twice what the table keeps.
func (b *bound) purged() { b.limit.Store(max(purgeMin, 2*b.count.Load())) }

// purgeOnWrite runs before a write adds an entry to the table of b, whose
// purge is purge: see purgeMin. The purge runs in the writer's goroutine,
// one shard locked at a time, before the write takes its own lock (so a
// write never removes the entry it adds).
func (s *Store) purgeOnWrite(b *bound, purge func(context.Context, time.Time) (int, error)) {
	now := s.now()
	ns := now.UnixNano()
	if last := s.lastPurge.Load(); ns-last >= int64(purgeInterval) && s.lastPurge.CompareAndSwap(last, ns) {
		// Background is never cancelled: PurgeExpired cannot fail.
		_, _ = s.PurgeExpired(context.Background())
		return
	}
	if b.count.Load() > b.limit.Load() && b.purging.CompareAndSwap(false, true) {
		_, _ = purge(context.Background(), now)
		b.purging.Store(false)
	}
}

// StartSweeper starts a goroutine that calls [Store.PurgeExpired] every
// interval ([DefaultSweepInterval] if interval is not positive). The
// returned stop function ends it and waits until it has returned; stop may
// be called any number of times, from any goroutine.
func (s *Store) StartSweeper(interval time.Duration) (stop func()) {
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				// PurgeExpired only fails on a cancelled context, and
				// Background is never cancelled.
				_, _ = s.PurgeExpired(context.Background())
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-done
	}
}

// numShards is the number of independently locked shards of a table. A
// power of two, so the shard index is a mask of the key's hash.
const numShards = 32

// shardedMap is a map keyed by a string, split into independently locked
// shards, that counts what it holds for purge on write (bound). Both the
// single-use tables and the session table are one.
type shardedMap[V any] struct {
	bound
	seed   maphash.Seed
	shards [numShards]shard[V]
}

type shard[V any] struct {
	mu sync.Mutex
	m  map[string]V
}

func (t *shardedMap[V]) init() {
	t.seed = maphash.MakeSeed()
	t.bound.init()
	for i := range t.shards {
		t.shards[i].m = make(map[string]V)
	}
}

func (t *shardedMap[V]) shard(key string) *shard[V] {
	return &t.shards[maphash.String(t.seed, key)&(numShards-1)]
}

// purgeWhere removes the values expired reports, one shard at a time.
func (t *shardedMap[V]) purgeWhere(ctx context.Context, expired func(V) bool) (int, error) {
	n := 0
	for i := range t.shards {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		sh := &t.shards[i]
		sh.mu.Lock()
		for k, v := range sh.m {
			if expired(v) {
				delete(sh.m, k)
				t.count.Add(-1)
				n++
			}
		}
		sh.mu.Unlock()
	}
	t.purged()
	return n, nil
}

// table is a sharded map of single-use entries.
type table[T any] struct {
	shardedMap[entry[T]]
}

type entry[T any] struct {
	val       T
	expiresAt time.Time
	used      bool
}

func newTable[T any]() *table[T] {
	t := &table[T]{}
	t.init()
	return t
}

// put stores val under key until expiresAt; an existing key is ErrDuplicate.
func (t *table[T]) put(key string, val T, expiresAt time.Time) error {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[key]; ok {
		return ErrDuplicate
	}
	sh.m[key] = entry[T]{val: val, expiresAt: expiresAt}
	t.count.Add(1)
	return nil
}

// take checks and marks the entry for key in one locked operation. belongs,
// when non-nil, must accept the stored value or the entry is reported
// unknown and left untouched. On error the zero T is returned.
func (t *table[T]) take(key string, now time.Time, belongs func(T) bool) (T, error) {
	var zero T
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	switch {
	case !ok, belongs != nil && !belongs(e.val):
		return zero, nonce.ErrNotFound
	case e.used:
		return zero, nonce.ErrConsumed
	case !now.Before(e.expiresAt):
		return zero, nonce.ErrExpired
	}
	e.used = true
	sh.m[key] = e
	return e.val, nil
}

// purge removes the entries expired at now.
func (t *table[T]) purge(ctx context.Context, now time.Time) (int, error) {
	return t.purgeWhere(ctx, func(e entry[T]) bool { return !now.Before(e.expiresAt) })
}
