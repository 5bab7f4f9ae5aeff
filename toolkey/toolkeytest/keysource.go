package toolkeytest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"fmt"
	"sync"
	"testing"

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

// pool holds the built-in keys no open [KeySource] has borrowed.
var pool struct {
	once sync.Once
	err  error
	mu   sync.Mutex
	free []*rsa.PrivateKey
}

// borrow returns a built-in key that no open KeySource holds, or nil when
// every one is lent.
func borrow() (*rsa.PrivateKey, error) {
	pool.once.Do(func() { pool.free, pool.err = parseKeys(testKeysPEM) })
	if pool.err != nil {
		return nil, pool.err
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	n := len(pool.free)
	if n == 0 {
		return nil, nil
	}
	k := pool.free[n-1]
	pool.free = pool.free[:n-1]
	return k, nil
}

// giveBack returns borrowed keys to the pool.
func giveBack(keys []*rsa.PrivateKey) {
	if len(keys) == 0 {
		return
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	pool.free = append(pool.free, keys...)
}

// parseKeys reads the PEM blocks of data as RSA-2048 private keys.
func parseKeys(data []byte) ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("toolkeytest: built-in key %d: %w", len(keys), err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok || rk.N.BitLen() != toolkey.DefaultRSABits {
			return nil, fmt.Errorf("toolkeytest: built-in key %d is not RSA-%d", len(keys), toolkey.DefaultRSABits)
		}
		keys = append(keys, rk)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("toolkeytest: no built-in keys")
	}
	return keys, nil
}

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
		giveBack(keys)
	})
	return func(bits int) (*rsa.PrivateKey, error) {
		if bits == toolkey.DefaultRSABits {
			k, err := borrow()
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
				giveBack([]*rsa.PrivateKey{k})
			}
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, fmt.Errorf("toolkeytest: %w", err)
		}
		return k, nil
	}
}
