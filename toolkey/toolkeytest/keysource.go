package toolkeytest

import (
	"crypto/rand"
	"crypto/rsa"
	_ "embed"
	"fmt"
	"sync"
	"testing"

	"github.com/ltikit/ltikit/internal/keypool"
	"github.com/ltikit/ltikit/toolkey"
)

// testKeysPEM holds 64 RSA-2048 private keys (PKCS #8), made once for this
// package with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`.
// They are public, like every key in a repository: they sign in tests and
// must never be a real tool's keys. They are not the keys of package
// ltitest's test platforms, so a tool key of a test is never also the key
// of a test platform in the same process.
//
//go:embed testkeys.pem
var testKeysPEM []byte

// pool lends the built-in keys to open KeySources.
var pool = keypool.New("toolkeytest", testKeysPEM, toolkey.DefaultRSABits)

// KeySource returns a [toolkey.StoreOptions] NewPrivateKey for the stores
// of tb that lends pre-generated keys instead of generating them:
// generating an RSA-2048 key costs tens of milliseconds, and seconds under
// the race detector, which made key generation most of the time of the
// store tests.
//
// The keys are fresh as far as tb can tell: each call returns a key that
// no other open KeySource of the process holds and that this one has not
// returned before, so every key tb's stores make is distinct, as generated
// keys are. They go back to the pool when tb ends (tb.Cleanup), for later
// tests. Once every built-in key is lent, for a size other than
// [toolkey.DefaultRSABits], and after tb has ended, it generates a key
// with crypto/rand. It is safe for concurrent use.
//
// The built-in keys are public: use KeySource in tests only.
func KeySource(tb testing.TB) func(bits int) (*rsa.PrivateKey, error) {
	var (
		mu     sync.Mutex
		held   []*rsa.PrivateKey
		closed bool
	)
	tb.Cleanup(func() {
		mu.Lock()
		keys := held
		held, closed = nil, true
		mu.Unlock()
		pool.Return(keys...)
	})
	return func(bits int) (*rsa.PrivateKey, error) {
		if bits == toolkey.DefaultRSABits {
			k, err := pool.Borrow()
			if err != nil {
				return nil, err
			}
			if k != nil {
				mu.Lock()
				if !closed {
					held = append(held, k)
					mu.Unlock()
					return k, nil
				}
				mu.Unlock()
				pool.Return(k)
			}
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, fmt.Errorf("toolkeytest: %w", err)
		}
		return k, nil
	}
}
