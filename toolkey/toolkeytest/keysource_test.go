package toolkeytest_test

import (
	"crypto/rsa"
	"testing"

	"github.com/ltikit/ltikit/toolkey"
	"github.com/ltikit/ltikit/toolkey/toolkeytest"
)

// builtIn is the number of keys in testkeys.pem.
const builtIn = 64

// TestKeySource: a source lends distinct RSA-2048 keys; while one source
// holds every built-in key another gets a fresh key, not one of them; and
// the keys go back when the test that borrowed them ends, for the next.
// It counts on holding the whole pool: no test of this package runs in
// parallel with it.
func TestKeySource(t *testing.T) {
	lent := make(map[string]bool)
	t.Run("lend", func(t *testing.T) {
		src := toolkeytest.KeySource(t)
		for i := range builtIn {
			k, err := src(toolkey.DefaultRSABits)
			if err != nil {
				t.Fatalf("key %d: %v", i, err)
			}
			if k.N.BitLen() != toolkey.DefaultRSABits {
				t.Fatalf("key %d of %d bits", i, k.N.BitLen())
			}
			if lent[k.N.String()] {
				t.Fatalf("key %d was lent before", i)
			}
			lent[k.N.String()] = true
		}
		other := toolkeytest.KeySource(t)
		k, err := other(toolkey.DefaultRSABits)
		if err != nil {
			t.Fatal(err)
		}
		if lent[k.N.String()] {
			t.Fatal("a second source got a key the first holds")
		}
		if err := k.Validate(); err != nil || k.N.BitLen() != toolkey.DefaultRSABits {
			t.Fatalf("the generated key: %d bits, %v", k.N.BitLen(), err)
		}
	})
	t.Run("returned", func(t *testing.T) {
		src := toolkeytest.KeySource(t)
		again := make(map[string]bool)
		for i := range builtIn {
			k, err := src(toolkey.DefaultRSABits)
			if err != nil {
				t.Fatal(err)
			}
			if !lent[k.N.String()] || again[k.N.String()] {
				t.Fatalf("key %d is not one of the returned built-in keys, or repeats", i)
			}
			again[k.N.String()] = true
		}
	})
}

// TestKeySourceInStore: a memory store with a source makes distinct keys
// from it through rotations.
func TestKeySourceInStore(t *testing.T) {
	var made []*rsa.PublicKey
	src := toolkeytest.KeySource(t)
	store, err := toolkey.NewMemoryStore(toolkey.StoreOptions{NewPrivateKey: func(bits int) (*rsa.PrivateKey, error) {
		k, err := src(bits)
		if k != nil {
			made = append(made, &k.PublicKey)
		}
		return k, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for i := range 4 {
		if i > 0 {
			if err := store.Rotate(t.Context(), 0); err != nil {
				t.Fatal(err)
			}
		}
		k, err := store.Active(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if seen[k.KID()] || len(made) != i+1 || !made[i].Equal(k.Public().Key) {
			t.Fatalf("rotation %d: active %s is not the source's new key", i, k.KID())
		}
		seen[k.KID()] = true
	}
}
