package memory

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/session"
)

var _ session.Store = (*Store)(nil)

// DefaultMaxSessions is how many launch sessions a Store keeps at most
// unless [WithMaxSessions] says otherwise.
const DefaultMaxSessions = 100_000

// ErrFull is returned (wrapped) by [Store.PutSession] when the Store holds
// its maximum of live sessions ([WithMaxSessions]). Its code is
// storage_unavailable: the session.Manager refuses with it, and retrying
// later may succeed.
var ErrFull = lti.NewSentinel(lti.CodeStorageUnavailable, "memory: session limit reached")

// WithMaxSessions bounds the launch sessions the Store keeps (default
// [DefaultMaxSessions]); a non-positive n is ignored. When the bound is
// reached, PutSession first drops the expired sessions (at most once a
// second) and then refuses with [ErrFull], so the memory a Store holds
// stays bounded however many launches arrive.
func WithMaxSessions(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.sessions.max = int64(n)
		}
	}
}

// fullPurgeEvery is how often, at most, a PutSession at the bound scans
// the Store for expired sessions: a flood of puts at the bound costs one
// scan a second, not one each.
const fullPurgeEvery = time.Second

// sessionTable is a sharded map of launch sessions.
type sessionTable struct {
	shardedMap[session.Record] // count: the sessions held; purge on write (memory.go)
	max                        int64
	lastPurge                  atomic.Int64 // store clock, Unix ns, of the last purge at the bound
}

func newSessionTable() *sessionTable {
	t := &sessionTable{max: DefaultMaxSessions}
	t.init()
	return t
}

// clone returns r with Claims copied, so neither the caller nor the Store
// sees the other's later changes.
func clone(r session.Record) session.Record {
	r.Claims = bytes.Clone(r.Claims)
	return r
}

// PutSession implements [session.Store]: r must pass
// [session.Record.Validate]; an ID already stored (expired or not, until it
// is purged) is an error matching [ErrDuplicate], and a Store at its bound
// refuses with [ErrFull].
func (s *Store) PutSession(ctx context.Context, r session.Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: put session: %w", err)
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("memory: put session: %w", err)
	}
	t := s.sessions
	if t.count.Load() >= t.max {
		// Make room from expired sessions before refusing, at most once
		// every fullPurgeEvery.
		now := s.now()
		last := t.lastPurge.Load()
		if now.UnixNano()-last >= int64(fullPurgeEvery) && t.lastPurge.CompareAndSwap(last, now.UnixNano()) {
			_, _ = t.purge(ctx, now)
		}
	}
	s.purgeOnWrite(&t.bound, t.purge)
	return t.put(r)
}

// put adds r under its shard's lock.
func (t *sessionTable) put(r session.Record) error {
	sh := t.shard(r.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[r.ID]; ok {
		return fmt.Errorf("memory: put session: %w", ErrDuplicate)
	}
	if t.count.Add(1) > t.max {
		t.count.Add(-1)
		return fmt.Errorf("memory: put session: %w", ErrFull)
	}
	sh.m[r.ID] = clone(r)
	return nil
}

// GetSession implements [session.Store]. An expired session that is not
// purged yet is [session.ErrExpired].
func (s *Store) GetSession(ctx context.Context, id string) (session.Record, error) {
	if err := ctx.Err(); err != nil {
		return session.Record{}, fmt.Errorf("memory: get session: %w", err)
	}
	now := s.now()
	sh := s.sessions.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.m[id]
	switch {
	case !ok:
		return session.Record{}, session.ErrNotFound
	case r.Expired(now):
		return session.Record{}, session.ErrExpired
	}
	return clone(r), nil
}

// TouchSession implements [session.Store]: the check and the change happen
// under one lock.
func (s *Store) TouchSession(ctx context.Context, id string, idleUntil time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: touch session: %w", err)
	}
	now := s.now()
	sh := s.sessions.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.m[id]
	switch {
	case !ok:
		return session.ErrNotFound
	case r.Expired(now):
		return session.ErrExpired
	}
	if idleUntil.After(r.ExpiresAt) {
		idleUntil = r.ExpiresAt
	}
	if idleUntil.After(r.IdleExpiresAt) {
		r.IdleExpiresAt = idleUntil
		sh.m[id] = r
	}
	return nil
}

// DeleteSession implements [session.Store]. Deleting an unknown id is not
// an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: delete session: %w", err)
	}
	sh := s.sessions.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[id]; ok {
		delete(sh.m, id)
		s.sessions.count.Add(-1)
	}
	return nil
}

// purge removes the sessions expired at now.
func (t *sessionTable) purge(ctx context.Context, now time.Time) (int, error) {
	return t.purgeWhere(ctx, func(r session.Record) bool { return r.Expired(now) })
}
