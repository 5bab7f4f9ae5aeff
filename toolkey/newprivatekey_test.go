package toolkey_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/toolkey"
	"github.com/ltikit/ltikit/toolkey/toolkeytest"
)

// TestNewPrivateKeyOption: a store makes its keys with
// StoreOptions.NewPrivateKey; a source that fails, returns no key or a key
// of another size than RSABits fails the store call, and no key is
// stored: once the source works, the store's first key is the source's.
func TestNewPrivateKeyOption(t *testing.T) {
	errHSM := errors.New("hsm: not reachable")
	lend := toolkeytest.KeySource(t)
	tests := []struct {
		name    string
		bits    int
		source  func(bits int) (*rsa.PrivateKey, error)
		wantErr string
		wantIs  error
	}{
		{"error", 0, func(int) (*rsa.PrivateKey, error) { return nil, errHSM }, "not reachable", errHSM},
		{"no key", 0, func(int) (*rsa.PrivateKey, error) { return nil, nil }, "no key", nil},
		{"empty key", 0, func(int) (*rsa.PrivateKey, error) { return &rsa.PrivateKey{}, nil }, "0 bits", nil},
		{"smaller than RSABits", 3072, func(int) (*rsa.PrivateKey, error) { return lend(toolkey.DefaultRSABits) }, "2048 bits; want 3072", nil},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var good *rsa.PrivateKey
			failing := true
			src := func(bits int) (*rsa.PrivateKey, error) {
				if failing {
					return tc.source(bits)
				}
				k, err := lend(bits)
				good = k
				return k, err
			}
			store, err := toolkey.NewMemoryStore(toolkey.StoreOptions{RSABits: tc.bits, NewPrivateKey: src})
			if err != nil {
				t.Fatal(err)
			}
			for name, call := range map[string]func() error{
				"Active":    func() error { _, err := store.Active(ctx); return err },
				"Published": func() error { _, err := store.Published(ctx); return err },
				"Rotate":    func() error { return store.Rotate(ctx, 0) },
			} {
				err := call()
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("%s: %v; want an error with %q", name, err, tc.wantErr)
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Fatalf("%s: %v does not wrap the source's error", name, err)
				}
			}
			if tc.bits != 0 {
				return // the pool lends no key of that size
			}
			failing = false
			k, err := store.Active(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if good == nil || !good.PublicKey.Equal(k.Public().Key) {
				t.Fatalf("the active key %s is not the source's key", k.KID())
			}
			pub, err := store.Published(ctx)
			if err != nil || len(pub) != 1 {
				t.Fatalf("Published: %v, %v; want the one key the source made", kidsOf(pub), err)
			}
		})
	}
}

// TestDefaultKeyGeneration: without NewPrivateKey a store generates its
// key with crypto/rand, of RSABits bits, created at the store's clock.
func TestDefaultKeyGeneration(t *testing.T) {
	clk := toolkeytest.NewClock()
	store, err := toolkey.NewMemoryStore(toolkey.StoreOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	k, err := store.Active(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if k.Bits() != toolkey.DefaultRSABits || !k.CreatedAt().Equal(clk.Now()) {
		t.Fatalf("key %v; want RSA-%d created at %s", k, toolkey.DefaultRSABits, clk.Now().Format(time.RFC3339))
	}
}

func kidsOf(pub []toolkey.PublicKey) []string {
	out := make([]string, len(pub))
	for i, p := range pub {
		out[i] = p.KID
	}
	return out
}
