package toolkey_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ltikit/ltikit/toolkey"
	"github.com/ltikit/ltikit/toolkey/toolkeytest"
)

// gateStore blocks the next Active or Published call (once armed) until
// released, so a test can rotate while a read is in flight.
type gateStore struct {
	toolkey.Store

	mu      sync.Mutex
	method  string        // "Active" or "Published": the call to hold
	entered chan struct{} // closed when the held call has read the store
	release chan struct{}
}

func (g *gateStore) arm(method string) (entered, release chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.method, g.entered, g.release = method, make(chan struct{}), make(chan struct{})
	return g.entered, g.release
}

// hold returns the gate to wait at if method is armed, disarming it.
func (g *gateStore) hold(method string) (entered, release chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.method != method {
		return nil, nil
	}
	g.method = ""
	return g.entered, g.release
}

func (g *gateStore) Active(ctx context.Context) (*toolkey.Key, error) {
	entered, release := g.hold("Active")
	k, err := g.Store.Active(ctx)
	if entered != nil {
		close(entered)
		<-release
	}
	return k, err
}

func (g *gateStore) Published(ctx context.Context) ([]toolkey.PublicKey, error) {
	entered, release := g.hold("Published")
	p, err := g.Store.Published(ctx)
	if entered != nil {
		close(entered)
		<-release
	}
	return p, err
}

func jwksKIDs(t *testing.T, b []byte) map[string]bool {
	t.Helper()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("key set %s: %v", b, err)
	}
	out := make(map[string]bool)
	for _, k := range set.Keys {
		out[k.KID] = true
	}
	return out
}

// TestStaleKeySetReadAfterRotate (issue "Hardening", item 8): a key set
// read in flight when Rotate runs must not store the pre-rotation set
// after the rotation. The read is held at the store, the keyring rotates
// and signs, the read is released: the key set the keyring then serves
// lists the kid it signs with and every key the store publishes.
func TestStaleKeySetReadAfterRotate(t *testing.T) {
	ctx := context.Background()
	clk := toolkeytest.NewClock()
	mem, err := toolkey.NewMemoryStore(toolkey.StoreOptions{Grace: time.Hour, Now: clk.Now, NewPrivateKey: toolkeytest.KeySource(t)})
	if err != nil {
		t.Fatal(err)
	}
	g := &gateStore{Store: mem}
	k, err := toolkey.NewKeyring(g, toolkey.WithKeyringClock(clk.Now), toolkey.WithCacheTTL(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.ActiveKey(ctx); err != nil {
		t.Fatal(err)
	}
	entered, release := g.arm("Published")
	done := make(chan error, 1)
	go func() { _, err := k.JWKS(ctx); done <- err }()
	<-entered // the read has the pre-rotation set
	if err := rotateNow(ctx, k); err != nil {
		t.Fatal(err)
	}
	signer, err := k.ActiveKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b, err := k.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	served := jwksKIDs(t, b)
	if !served[signer.KID()] {
		t.Fatalf("the keyring signs with %s but serves %v", signer.KID(), served)
	}
	pub, err := mem.Published(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pub {
		if !served[p.KID] {
			t.Fatalf("the store publishes %s but the keyring serves %v", p.KID, served)
		}
	}
}

// TestStaleActiveReadAfterRotate: an active key read in flight when Rotate
// runs must not be stored, nor shared with callers that came after the
// rotation: after it, the keyring signs with the store's active key.
func TestStaleActiveReadAfterRotate(t *testing.T) {
	ctx := context.Background()
	clk := toolkeytest.NewClock()
	mem, err := toolkey.NewMemoryStore(toolkey.StoreOptions{Grace: time.Hour, Now: clk.Now, NewPrivateKey: toolkeytest.KeySource(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Active(ctx); err != nil {
		t.Fatal(err)
	}
	g := &gateStore{Store: mem}
	k, err := toolkey.NewKeyring(g, toolkey.WithKeyringClock(clk.Now), toolkey.WithCacheTTL(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	entered, release := g.arm("Active")
	done := make(chan error, 1)
	go func() { _, err := k.ActiveKey(ctx); done <- err }()
	<-entered
	if err := rotateNow(ctx, k); err != nil {
		t.Fatal(err)
	}
	want, err := mem.Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := make(chan *toolkey.Key, 1)
	go func() { a, _ := k.ActiveKey(ctx); after <- a }()
	// The caller after the rotation must not wait for (nor take) the
	// stale read: it gets the new key without the release.
	select {
	case a := <-after:
		if a == nil || a.KID() != want.KID() {
			t.Fatalf("after the rotation ActiveKey = %v; want %s", a, want.KID())
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("a call after the rotation waited for the read started before it")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if a, _ := k.ActiveKey(ctx); a == nil || a.KID() != want.KID() {
		t.Fatalf("once the stale read ended ActiveKey = %v; want %s", a, want.KID())
	}
}

func rotateNow(ctx context.Context, k *toolkey.Keyring) error {
	return k.Rotate(ctx, toolkey.Immediately())
}
