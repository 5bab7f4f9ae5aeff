package toolkey

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/ltikit/ltikit/lti"
)

// DefaultGrace is how long a retired key stays published by default.
const DefaultGrace = 24 * time.Hour

// Store keeps the tool's keys: one active key that signs, and retired keys
// that stay published until their grace period ends, so that tokens signed
// just before a rotation still verify. A rotation publishes its new key at
// once but may let it sign only from a later time, its "active from"
// (see [Store.Rotate]), so that every node and every platform has fetched
// it before the first token it signs. Implementations must be safe for
// concurrent use; stores shared by several processes (a database) must keep
// every node on the same active key, and record the active-from time with
// the key so that every node agrees when it takes over.
//
// Each key signs over one period, from its active-from time (or from its
// creation) until its retirement; the periods never overlap, and one of
// them holds now.
type Store interface {
	// Active returns the key that signs now: the one whose period holds
	// the store's clock. A store that holds no key creates one first,
	// atomically: concurrent first calls, on any number of nodes, all get
	// the same key.
	Active(ctx context.Context) (*Key, error)
	// Published returns the public halves of the keys to publish: the
	// active key (created as in Active if there is none) first, then a
	// rotated-in key that does not sign yet, and every retired key whose
	// grace period has not ended, newest first. Keys past their grace
	// period are never returned.
	Published(ctx context.Context) ([]PublicKey, error)
	// Rotate makes a new key, published at once, that signs from delay
	// after now (the store's clock) on: its active-from time. Every key
	// whose signing period reaches past that time (the active key, and a
	// key of an earlier rotation that was still waiting) retires then and
	// stays published for the grace period after it. A delay of 0 makes
	// the new key sign at once: an emergency rotation, whose tokens
	// platforms that cached the previous key set may refuse until they
	// fetch it again. On a store that holds no key the new key signs at
	// once whatever the delay. Negative delays are an error. It is atomic:
	// after any number of concurrent Rotate calls, on any number of nodes,
	// exactly one key is unretired and one key signs at any time. Keys past
	// their grace period may be deleted.
	Rotate(ctx context.Context, delay time.Duration) error
}

// ErrNegativeDelay is returned by [Store.Rotate] for a negative delay. Its
// code is invalid_request.
var ErrNegativeDelay = lti.NewSentinel(lti.CodeInvalidRequest, "toolkey: negative rotation delay")

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
	// NewPrivateKey, when set, makes the private key of every key the
	// store creates, in place of rsa.GenerateKey with crypto/rand: bits
	// is RSABits, and a key of another size, a nil key or an error fails
	// the store call that asked for it (no key is stored). It is for
	// hosts whose keys are generated elsewhere (a key management service
	// or an HSM that exports them) and for tests: generating an RSA key
	// is slow, most of all under the race detector, and
	// [github.com/ltikit/ltikit/toolkey/toolkeytest.KeySource] lends
	// pre-generated keys instead. Each call must return a fresh key,
	// never one it returned before: two stored keys with one kid break
	// rotation. It may be called from several goroutines at once.
	// Default: nil, a fresh key from crypto/rand.
	NewPrivateKey func(bits int) (*rsa.PrivateKey, error)
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

// GenerateKey makes a new key of o.RSABits bits, created at o.Now(), with
// o.NewPrivateKey when it is set and crypto/rand otherwise. o must have
// its defaults filled in (see [StoreOptions.WithDefaults]). Stores make
// every key with it.
func (o StoreOptions) GenerateKey() (*Key, error) {
	if o.NewPrivateKey == nil {
		return GenerateKey(o.RSABits, o.Now())
	}
	priv, err := o.NewPrivateKey(o.RSABits)
	switch {
	case err != nil:
		return nil, fmt.Errorf("toolkey: making a key: %w", err)
	case priv == nil:
		return nil, errors.New("toolkey: making a key: NewPrivateKey returned no key")
	case priv.N == nil || priv.N.BitLen() != o.RSABits:
		bits := 0
		if priv.N != nil {
			bits = priv.N.BitLen()
		}
		return nil, fmt.Errorf("toolkey: making a key: NewPrivateKey returned a key of %d bits; want %d", bits, o.RSABits)
	}
	return NewKey(priv, o.Now())
}
