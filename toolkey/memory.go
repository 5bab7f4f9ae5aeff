package toolkey

import (
	"context"
	"errors"
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

	mu   sync.Mutex
	keys []memKey // newest first; keys[0] is the one unretired key
}

// memKey is a key and its signing period [from, retired); from zero means
// since its creation, retired zero means open-ended.
type memKey struct {
	key                    *Key
	from, retired, expires time.Time
}

func (m memKey) public() PublicKey {
	p := m.key.Public()
	p.ActiveFrom, p.RetiredAt, p.ExpiresAt = m.from, m.retired, m.expires
	return p
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
	if err := s.ensureFirst(); err != nil {
		return nil, err
	}
	i := s.signing(s.opts.Now())
	if i < 0 {
		return nil, errors.New("toolkey: no key signs now")
	}
	return s.keys[i].key, nil
}

// ensureFirst makes the first key. s.mu is held.
func (s *MemoryStore) ensureFirst() error {
	if len(s.keys) > 0 {
		return nil
	}
	k, err := s.opts.GenerateKey()
	if err != nil {
		return err
	}
	s.keys = []memKey{{key: k}}
	return nil
}

// signing returns the index of the key that signs at now, or -1. s.mu is
// held.
func (s *MemoryStore) signing(now time.Time) int {
	for i, k := range s.keys {
		if k.public().SignsAt(now) {
			return i
		}
	}
	return -1
}

// Published implements [Store].
func (s *MemoryStore) Published(ctx context.Context) ([]PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureFirst(); err != nil {
		return nil, err
	}
	now := s.opts.Now()
	s.prune(now)
	out := make([]PublicKey, 0, len(s.keys))
	i := s.signing(now)
	if i >= 0 {
		out = append(out, s.keys[i].public())
	}
	for j, k := range s.keys {
		if j != i {
			out = append(out, k.public())
		}
	}
	return out, nil
}

// Rotate implements [Store]. The new key is generated before the lock is
// taken, so signing goes on meanwhile.
func (s *MemoryStore) Rotate(ctx context.Context, delay time.Duration) error {
	if delay < 0 {
		return ErrNegativeDelay
	}
	k, err := s.opts.GenerateKey()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	from := now.Add(delay)
	if len(s.keys) == 0 {
		from = now
	}
	for i := range s.keys {
		if r := &s.keys[i]; r.retired.IsZero() || r.retired.After(from) {
			r.retired, r.expires = from, from.Add(s.opts.Grace)
		}
	}
	s.keys = slices.Insert(s.keys, 0, memKey{key: k, from: from})
	s.prune(now)
	return nil
}

// prune drops retired keys whose grace period has ended. s.mu is held.
func (s *MemoryStore) prune(now time.Time) {
	s.keys = slices.DeleteFunc(s.keys, func(r memKey) bool { return !r.retired.IsZero() && !now.Before(r.expires) })
}
