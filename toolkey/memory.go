package toolkey

import (
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a [Store] in process memory, for single-process tools and
// tests. Its keys are lost when the process ends; tools that run on
// several nodes or must keep their kid across restarts use a database
// store (e.g. the GORM adapter's ToolKeyStore).
type MemoryStore struct {
	opts StoreOptions

	mu      sync.Mutex
	active  *Key
	retired []retiredKey // newest first
}

type retiredKey struct {
	key              *Key
	retired, expires time.Time
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore; its first key is made on
// first use. Options out of range are an error.
func NewMemoryStore(opts StoreOptions) (*MemoryStore, error) {
	o, err := opts.WithDefaults()
	if err != nil {
		return nil, err
	}
	return &MemoryStore{opts: o}, nil
}

// Active implements [Store].
func (s *MemoryStore) Active(ctx context.Context) (*Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureActive(); err != nil {
		return nil, err
	}
	return s.active, nil
}

// ensureActive makes the first key. s.mu is held.
func (s *MemoryStore) ensureActive() error {
	if s.active != nil {
		return nil
	}
	k, err := s.opts.GenerateKey()
	if err != nil {
		return err
	}
	s.active = k
	return nil
}

// Published implements [Store].
func (s *MemoryStore) Published(ctx context.Context) ([]PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureActive(); err != nil {
		return nil, err
	}
	s.prune(s.opts.Now())
	out := make([]PublicKey, 0, 1+len(s.retired))
	out = append(out, s.active.Public())
	for _, r := range s.retired {
		p := r.key.Public()
		p.RetiredAt, p.ExpiresAt = r.retired, r.expires
		out = append(out, p)
	}
	return out, nil
}

// Rotate implements [Store]. The new key is generated before the lock is
// taken, so signing goes on meanwhile.
func (s *MemoryStore) Rotate(ctx context.Context) error {
	k, err := s.opts.GenerateKey()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	if s.active != nil {
		s.retired = slices.Insert(s.retired, 0, retiredKey{key: s.active, retired: now, expires: now.Add(s.opts.Grace)})
	}
	s.active = k
	s.prune(now)
	return nil
}

// prune drops retired keys whose grace period has ended. s.mu is held.
func (s *MemoryStore) prune(now time.Time) {
	s.retired = slices.DeleteFunc(s.retired, func(r retiredKey) bool { return !now.Before(r.expires) })
}
