package toolkeytest

import (
	"context"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	"github.com/ltikit/ltikit/toolkey"
)

// Grace is the grace period the suite gives stores.
const Grace = time.Hour

// Factory makes a fresh, empty store for t with opts, and returns a
// function that opens another node on it: another Store value sharing the
// same keys (another connection pool on the same database). Single-process
// stores return the same store every time.
type Factory func(t *testing.T, opts toolkey.StoreOptions) (node func(t *testing.T) toolkey.Store)

// Clock is a settable clock for the suite and for stores' tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at a fixed time.
func NewClock() *Clock { return &Clock{t: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Run runs the conformance suite on the stores newStore makes. The
// options the suite passes lend pre-generated keys ([KeySource]); a store
// must make every key with [toolkey.StoreOptions.GenerateKey], which uses
// them.
func Run(t *testing.T, newStore Factory) {
	t.Run("ActiveIsStableAndPublished", func(t *testing.T) { testActive(t, newStore) })
	t.Run("RotationGrace", func(t *testing.T) { testRotation(t, newStore) })
	t.Run("ConcurrentFirstKey", func(t *testing.T) { testConcurrentFirst(t, newStore) })
	t.Run("ConcurrentRotate", func(t *testing.T) { testConcurrentRotate(t, newStore) })
	t.Run("PublishedFirst", func(t *testing.T) { testPublishedFirst(t, newStore) })
	t.Run("FirstKeyRacesRotate", func(t *testing.T) { testFirstKeyRacesRotate(t, newStore) })
	t.Run("DelayedRotation", func(t *testing.T) { testDelayedRotation(t, newStore) })
	t.Run("RotateWhileWaiting", func(t *testing.T) { testRotateWhileWaiting(t, newStore) })
	t.Run("DelayedRotationOfEmptyStore", func(t *testing.T) { testDelayedFirst(t, newStore) })
	t.Run("NegativeDelay", func(t *testing.T) { testNegativeDelay(t, newStore) })
	t.Run("KeyringsPublishBeforeSign", func(t *testing.T) { testKeyringsPublishBeforeSign(t, newStore) })
}

// options are the store options of a test of the suite: the grace period,
// the clock and keys lent by [KeySource].
func options(t *testing.T, clk *Clock) toolkey.StoreOptions {
	return toolkey.StoreOptions{Grace: Grace, Now: clk.Now, NewPrivateKey: KeySource(t)}
}

func active(t *testing.T, s toolkey.Store) *toolkey.Key {
	t.Helper()
	k, err := s.Active(context.Background())
	if err != nil {
		t.Fatalf("Active: %v", err)
	}
	if k == nil || k.KID() == "" {
		t.Fatalf("Active returned %v", k)
	}
	return k
}

func published(t *testing.T, s toolkey.Store) []toolkey.PublicKey {
	t.Helper()
	p, err := s.Published(context.Background())
	if err != nil {
		t.Fatalf("Published: %v", err)
	}
	return p
}

func kids(p []toolkey.PublicKey) []string {
	out := make([]string, len(p))
	for i, k := range p {
		out[i] = k.KID
	}
	return out
}

// checkPublished asserts that the active key is published first, with its
// public key, that it is the one published key that signs at now, that
// exactly one published key is unretired, and that retired keys expire
// after they retire.
func checkPublished(t *testing.T, pub []toolkey.PublicKey, act *toolkey.Key, now time.Time) {
	t.Helper()
	if len(pub) == 0 || pub[0].KID != act.KID() {
		t.Fatalf("published %v; want the active key %s first", kids(pub), act.KID())
	}
	rp, ok := pub[0].Key.(*rsa.PublicKey)
	ap := act.Public().Key.(*rsa.PublicKey)
	if !ok || !rp.Equal(ap) {
		t.Fatalf("published key %s is not the active key's public key", pub[0].KID)
	}
	unretired, signing := 0, 0
	for _, p := range pub {
		if p.RetiredAt.IsZero() {
			unretired++
		} else if !p.ExpiresAt.After(p.RetiredAt) {
			t.Errorf("key %s: expires %s, retired %s", p.KID, p.ExpiresAt, p.RetiredAt)
		}
		if p.SignsAt(now) {
			signing++
		}
		if tp, err := toolkey.Thumbprint(p.Key); err != nil || tp != p.KID {
			t.Errorf("key %s: thumbprint %s (%v)", p.KID, tp, err)
		}
	}
	if unretired != 1 {
		t.Fatalf("%d published keys are unretired; want 1", unretired)
	}
	if signing != 1 || !pub[0].SignsAt(now) {
		t.Fatalf("%d published keys sign at %s (the first: %v); want 1, the first", signing, now, pub[0].SignsAt(now))
	}
}

func testActive(t *testing.T, newStore Factory) {
	clk := NewClock()
	opts := options(t, clk)
	// The store makes its keys with the options' NewPrivateKey (through
	// StoreOptions.GenerateKey): a host's HSM or KMS keys would otherwise
	// be ignored.
	var (
		mu   sync.Mutex
		made []*rsa.PublicKey
	)
	lend := opts.NewPrivateKey
	opts.NewPrivateKey = func(bits int) (*rsa.PrivateKey, error) {
		k, err := lend(bits)
		if k != nil {
			mu.Lock()
			made = append(made, &k.PublicKey)
			mu.Unlock()
		}
		return k, err
	}
	node := newStore(t, opts)
	s1, s2 := node(t), node(t)
	a := active(t, s1)
	mu.Lock()
	fromOption := false
	for _, p := range made {
		fromOption = fromOption || p.Equal(a.Public().Key)
	}
	mu.Unlock()
	if !fromOption {
		t.Errorf("the active key %s was not made by StoreOptions.NewPrivateKey", a.KID())
	}
	if b := active(t, s1); b.KID() != a.KID() {
		t.Fatalf("Active changed from %s to %s without a rotation", a.KID(), b.KID())
	}
	if b := active(t, s2); b.KID() != a.KID() {
		t.Fatalf("another node's Active is %s; want %s", b.KID(), a.KID())
	}
	if a.Bits() != toolkey.DefaultRSABits {
		t.Errorf("key of %d bits; want %d", a.Bits(), toolkey.DefaultRSABits)
	}
	pub := published(t, s2)
	checkPublished(t, pub, a, clk.Now())
	if len(pub) != 1 {
		t.Fatalf("published %v; want only the active key", kids(pub))
	}
}

func testRotation(t *testing.T, newStore Factory) {
	clk := NewClock()
	node := newStore(t, options(t, clk))
	s1, s2 := node(t), node(t)
	ctx := context.Background()
	k1 := active(t, s1)
	clk.Add(time.Minute)
	if err := s2.Rotate(ctx, 0); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	k2 := active(t, s1)
	if k2.KID() == k1.KID() {
		t.Fatal("Rotate kept the active key")
	}
	pub := published(t, s1)
	checkPublished(t, pub, k2, clk.Now())
	if len(pub) != 2 || pub[1].KID != k1.KID() {
		t.Fatalf("after a rotation published %v; want [%s %s]", kids(pub), k2.KID(), k1.KID())
	}
	if got, want := pub[1].ExpiresAt, clk.Now().Add(Grace); !got.Equal(want) {
		t.Errorf("retired key expires %s; want %s (rotation time + grace)", got, want)
	}

	// Just before the grace period ends the old key is still published; at
	// its end it is gone, and a second rotation keeps only the newer key.
	clk.Add(Grace - time.Second)
	if pub := published(t, s2); len(pub) != 2 {
		t.Fatalf("a second before the grace period ends published %v; want 2 keys", kids(pub))
	}
	clk.Add(time.Second)
	pub = published(t, s2)
	if len(pub) != 1 || pub[0].KID != k2.KID() {
		t.Fatalf("at the end of the grace period published %v; want [%s]", kids(pub), k2.KID())
	}
	if err := s1.Rotate(ctx, 0); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	k3 := active(t, s2)
	pub = published(t, s1)
	checkPublished(t, pub, k3, clk.Now())
	if len(pub) != 2 || pub[1].KID != k2.KID() {
		t.Fatalf("published %v; want [%s %s]", kids(pub), k3.KID(), k2.KID())
	}
}

func testConcurrentFirst(t *testing.T, newStore Factory) {
	clk := NewClock()
	node := newStore(t, options(t, clk))
	stores := []toolkey.Store{node(t), node(t)}
	const n = 8
	var (
		wg   sync.WaitGroup
		got  [n]string
		errs [n]error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			k, err := stores[i%2].Active(context.Background())
			errs[i] = err
			if k != nil {
				got[i] = k.KID()
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Active %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("concurrent first Active calls got %v; want one key", got)
		}
	}
	checkPublished(t, published(t, stores[0]), active(t, stores[1]), clk.Now())
}

func testConcurrentRotate(t *testing.T, newStore Factory) {
	clk := NewClock()
	node := newStore(t, options(t, clk))
	stores := []toolkey.Store{node(t), node(t)}
	first := active(t, stores[0])
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = stores[i%2].Rotate(context.Background(), 0)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Rotate %d: %v", i, err)
		}
	}
	a, b := active(t, stores[0]), active(t, stores[1])
	if a.KID() != b.KID() {
		t.Fatalf("the nodes disagree on the active key: %s, %s", a.KID(), b.KID())
	}
	pub := published(t, stores[1])
	checkPublished(t, pub, a, clk.Now())
	if len(pub) != n+1 {
		t.Fatalf("after %d rotations published %d keys; want %d (every retired key within its grace period)", n, len(pub), n+1)
	}
	found := false
	for _, p := range pub {
		found = found || p.KID == first.KID()
	}
	if !found {
		t.Fatalf("the first key %s is no longer published", first.KID())
	}
}

func testPublishedFirst(t *testing.T, newStore Factory) {
	clk := NewClock()
	node := newStore(t, options(t, clk))
	s := node(t)
	pub := published(t, s)
	if len(pub) != 1 {
		t.Fatalf("Published on an empty store: %v; want the new active key", kids(pub))
	}
	checkPublished(t, pub, active(t, s), clk.Now())
}

// testFirstKeyRacesRotate: on an empty store, first Active calls and
// rotations at once, from two nodes, all succeed and leave one active key.
func testFirstKeyRacesRotate(t *testing.T, newStore Factory) {
	for round := range 3 {
		clk := NewClock()
		node := newStore(t, options(t, clk))
		stores := []toolkey.Store{node(t), node(t)}
		var wg sync.WaitGroup
		errs := make([]error, 6)
		start := make(chan struct{})
		for i := range errs {
			wg.Go(func() {
				<-start
				s := stores[i%2]
				if i%3 == 0 {
					errs[i] = s.Rotate(context.Background(), 0)
					return
				}
				_, errs[i] = s.Active(context.Background())
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, call %d: %v", round, i, err)
			}
		}
		checkPublished(t, published(t, stores[0]), active(t, stores[1]), clk.Now())
	}
}
