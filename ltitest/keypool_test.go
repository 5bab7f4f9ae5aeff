package ltitest

import (
	"testing"

	"github.com/ltikit/ltikit/internal/keypool"
)

// TestBuiltInKeys: the built-in keys parse, are RSA-2048 and distinct.
func TestBuiltInKeys(t *testing.T) {
	keys, err := keypool.Parse("ltitest", testKeysPEM, KeyBits)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 32 {
		t.Fatalf("%d built-in keys, want 32", len(keys))
	}
	seen := map[string]bool{}
	for i, k := range keys {
		if err := k.Validate(); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		n := k.N.String()
		if seen[n] {
			t.Fatalf("key %d repeats an earlier key", i)
		}
		seen[n] = true
	}
	if _, err := keypool.Parse("ltitest", []byte("not PEM"), KeyBits); err == nil {
		t.Fatal("no keys parsed without an error")
	}
}

// TestKeysLentToOnePlatform: open platforms never share a key, also when
// there are more of them than built-in keys and when they rotate; a closed
// platform's keys go to the next platforms; GenerateKeys platforms sign
// with keys of their own.
func TestKeysLentToOnePlatform(t *testing.T) {
	// Not parallel: it counts the free built-in keys, which other tests of
	// the package borrow.
	builtIn := map[string]bool{}
	all, err := keypool.Parse("ltitest", testKeysPEM, KeyBits)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range all {
		sk, err := signingKeyOf(k)
		if err != nil {
			t.Fatal(err)
		}
		builtIn[sk.kid] = true
	}
	kids := map[string]int{} // kid → index of the open platform using it
	var open []*Platform
	use := func(p *Platform, kid string) {
		t.Helper()
		if other, ok := kids[kid]; ok {
			t.Fatalf("platforms %d and %d both hold key %s", other, len(open), kid)
		}
		kids[kid] = len(open)
	}
	// One platform more than built-in keys, rotating on the first, the
	// middle and the last: a rotation on a built-in key and one past them.
	// Each key generated past the pool costs up to a second under the race
	// detector, so no more are made than the checks need.
	for i := range len(all) + 1 {
		p, err := NewHandler("http://127.0.0.1:1/lms", Config{})
		if err != nil {
			t.Fatal(err)
		}
		use(p, p.ActiveKID())
		if i%16 == 0 {
			use(p, p.RotateKey())
		}
		open = append(open, p)
	}
	generated := 0
	for kid := range kids {
		if !builtIn[kid] {
			generated++
		}
	}
	if generated == 0 {
		t.Fatal("more platforms than built-in keys, and no key generated")
	}
	for _, p := range open {
		p.Close()
		p.Close() // twice is fine
	}
	p, err := NewHandler("http://127.0.0.1:1/lms", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !builtIn[p.ActiveKID()] {
		t.Fatalf("after every platform closed, a new one signs with a generated key %s", p.ActiveKID())
	}
	g, err := NewHandler("http://127.0.0.1:1/lms", Config{GenerateKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if builtIn[g.ActiveKID()] || builtIn[g.RotateKey()] {
		t.Fatal("a GenerateKeys platform signs with a built-in key")
	}
}
