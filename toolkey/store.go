package toolkey

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultGrace is how long a retired key stays published by default.
const DefaultGrace = 24 * time.Hour

// Store keeps the tool's keys: one active key that signs, and retired keys
// that stay published until their grace period ends, so that tokens signed
// just before a rotation still verify. Implementations must be safe for
// concurrent use; stores shared by several processes (a database) must keep
// every node on the same active key.
type Store interface {
	// Active returns the key that signs now. A store that holds no active
	// key creates one first, atomically: concurrent first calls, on any
	// number of nodes, all get the same key.
	Active(ctx context.Context) (*Key, error)
	// Published returns the public halves of the keys to publish: the
	// active key (created as in Active if there is none) and every retired
	// key whose grace period has not ended, newest first. Keys past their
	// grace period are never returned.
	Published(ctx context.Context) ([]PublicKey, error)
	// Rotate makes a new key active and retires the previous one, which
	// stays published for the grace period. It is atomic: after any number
	// of concurrent Rotate calls, on any number of nodes, exactly one key
	// is active. Keys past their grace period may be deleted.
	Rotate(ctx context.Context) error
}

// StoreOptions tunes a Store: the memory store here and the database
// stores of the adapters. The zero value means the defaults.
type StoreOptions struct {
	// Grace is how long a retired key stays published. It must exceed the
	// lifetime of anything signed with the key (client assertions live at
	// most five minutes) plus how long platforms cache the tool's key set.
	// Default: DefaultGrace.
	Grace time.Duration
	// RSABits is the size of generated keys. Default: DefaultRSABits.
	RSABits int
	// Now is the clock (tests). Default: time.Now.
	Now func() time.Time
}

// WithDefaults returns o with the defaults filled in, or an error for
// values out of range.
func (o StoreOptions) WithDefaults() (StoreOptions, error) {
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.RSABits == 0 {
		o.RSABits = DefaultRSABits
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.Grace < 0:
		return o, errors.New("toolkey: negative grace period")
	case o.RSABits < MinRSABits || o.RSABits > MaxRSABits:
		return o, fmt.Errorf("toolkey: RSA key size %d; want %d to %d", o.RSABits, MinRSABits, MaxRSABits)
	}
	return o, nil
}

// GenerateKey makes a new key of o.RSABits bits, created at o.Now(). o must
// have its defaults filled in (see [StoreOptions.WithDefaults]).
func (o StoreOptions) GenerateKey() (*Key, error) {
	return GenerateKey(o.RSABits, o.Now())
}
