package toolkeytest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ltikit/ltikit/toolkey"
)

// Delay is the rotation delay the suite's not-before tests use.
const Delay = 10 * time.Minute

func find(t *testing.T, pub []toolkey.PublicKey, kid string) toolkey.PublicKey {
	t.Helper()
	for _, p := range pub {
		if p.KID == kid {
			return p
		}
	}
	t.Fatalf("%s is not published: %v", kid, kids(pub))
	return toolkey.PublicKey{}
}

// activeKID returns the kid every node signs with, failing when they
// disagree.
func activeKID(t *testing.T, stores ...toolkey.Store) string {
	t.Helper()
	kid := ""
	for i, s := range stores {
		k := active(t, s).KID()
		if i > 0 && k != kid {
			t.Fatalf("the nodes sign with %s and %s", kid, k)
		}
		kid = k
	}
	return kid
}

// newKID returns the one published kid not in old.
func newKID(t *testing.T, pub []toolkey.PublicKey, old ...string) string {
	t.Helper()
	out := ""
	for _, p := range pub {
		known := false
		for _, o := range old {
			known = known || o == p.KID
		}
		if !known {
			if out != "" {
				t.Fatalf("published %v; want one new key besides %v", kids(pub), old)
			}
			out = p.KID
		}
	}
	if out == "" {
		t.Fatalf("published %v; want a new key besides %v", kids(pub), old)
	}
	return out
}

// testDelayedRotation: a rotation with a delay publishes the new key at
// once, with its active-from time, on every node; the previous key signs
// until then, on every node, and retires at that moment, staying
// published for the grace period after it.
func testDelayedRotation(t *testing.T, newStore Factory) {
	clk := NewClock()
	node := newStore(t, options(t, clk))
	s1, s2 := node(t), node(t)
	ctx := context.Background()
	k1 := activeKID(t, s1, s2)
	clk.Add(time.Minute)
	rotated := clk.Now()
	if err := s1.Rotate(ctx, Delay); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	pub := published(t, s2)
	k2 := newKID(t, pub, k1)
	if got := activeKID(t, s1, s2); got != k1 {
		t.Fatalf("right after a rotation with a delay the nodes sign with %s; want the previous key %s", got, k1)
	}
	checkPublished(t, pub, active(t, s2), clk.Now())
	if len(pub) != 2 || pub[0].KID != k1 || pub[1].KID != k2 {
		t.Fatalf("published %v; want [%s %s]: the signing key, then the waiting one", kids(pub), k1, k2)
	}
	from := rotated.Add(Delay)
	if p := find(t, pub, k2); !p.ActiveFrom.Equal(from) || !p.RetiredAt.IsZero() || p.SignsAt(clk.Now()) {
		t.Fatalf("the waiting key: %+v; want active from %s, unretired, not signing yet", p, from)
	}
	if p := find(t, pub, k1); !p.RetiredAt.Equal(from) || !p.ExpiresAt.Equal(from.Add(Grace)) {
		t.Fatalf("the previous key retires %s, expires %s; want %s and %s", p.RetiredAt, p.ExpiresAt, from, from.Add(Grace))
	}

	clk.Add(Delay - time.Second)
	if got := activeKID(t, s1, s2); got != k1 {
		t.Fatalf("a second before the new key's active-from the nodes sign with %s; want %s", got, k1)
	}
	checkPublished(t, published(t, s1), active(t, s1), clk.Now())
	clk.Add(time.Second)
	if got := activeKID(t, s1, s2); got != k2 {
		t.Fatalf("at the new key's active-from the nodes sign with %s; want %s", got, k2)
	}
	pub = published(t, s1)
	checkPublished(t, pub, active(t, s1), clk.Now())
	if len(pub) != 2 || pub[1].KID != k1 {
		t.Fatalf("after the takeover published %v; want [%s %s]", kids(pub), k2, k1)
	}
	// The previous key is published for the grace period after it
	// stopped signing, not after the rotation.
	clk.Add(Grace - time.Second)
	if pub := published(t, s2); len(pub) != 2 {
		t.Fatalf("a second before the grace period ends published %v; want 2 keys", kids(pub))
	}
	clk.Add(time.Second)
	if pub := published(t, s2); len(pub) != 1 || pub[0].KID != k2 {
		t.Fatalf("at the end of the grace period published %v; want [%s]", kids(pub), k2)
	}
}

// testRotateWhileWaiting: rotations while an earlier one waits. A delayed
// rotation moves the takeover of the waiting key's successor; an
// immediate one signs at once, and the waiting key never signs. One key
// signs at every moment throughout.
func testRotateWhileWaiting(t *testing.T, newStore Factory) {
	clk := NewClock()
	node := newStore(t, options(t, clk))
	s1, s2 := node(t), node(t)
	ctx := context.Background()
	k1 := activeKID(t, s1, s2)
	t0 := clk.Now()
	if err := s1.Rotate(ctx, Delay); err != nil {
		t.Fatal(err)
	}
	k2 := newKID(t, published(t, s1), k1)
	clk.Add(Delay / 2)
	if err := s2.Rotate(ctx, Delay); err != nil {
		t.Fatal(err)
	}
	k3 := newKID(t, published(t, s1), k1, k2)
	check := func(at time.Time, want string) {
		t.Helper()
		checkPublished(t, published(t, s1), active(t, s1), clk.Now())
		if got := activeKID(t, s1, s2); got != want {
			t.Fatalf("at t0+%s the nodes sign with %s; want %s", at.Sub(t0), got, want)
		}
	}
	check(clk.Now(), k1)
	clk.Add(Delay/2 - time.Second)
	check(clk.Now(), k1)
	clk.Add(time.Second) // t0 + Delay: k2 takes over
	check(clk.Now(), k2)
	if p := find(t, published(t, s2), k2); !p.RetiredAt.Equal(t0.Add(Delay + Delay/2)) {
		t.Fatalf("the second key retires %s; want when the third takes over", p.RetiredAt)
	}
	clk.Add(Delay / 2) // t0 + 1.5 Delay: k3 takes over
	check(clk.Now(), k3)

	// An emergency rotation while k4 waits: k5 signs at once, k4 never.
	if err := s1.Rotate(ctx, Delay); err != nil {
		t.Fatal(err)
	}
	k4 := newKID(t, published(t, s1), k1, k2, k3)
	clk.Add(time.Second)
	if err := s2.Rotate(ctx, 0); err != nil {
		t.Fatal(err)
	}
	k5 := newKID(t, published(t, s1), k1, k2, k3, k4)
	check(clk.Now(), k5)
	pub := published(t, s2)
	if p := find(t, pub, k3); !p.RetiredAt.Equal(clk.Now()) {
		t.Fatalf("the key that signed retires %s; want now (%s), when the emergency key took over", p.RetiredAt, clk.Now())
	}
	clk.Add(Delay)
	check(clk.Now(), k5)
	if p := find(t, published(t, s2), k4); p.SignsAt(clk.Now()) || p.RetiredAt.IsZero() {
		t.Fatalf("the key that waited when the emergency rotation came: %+v; want it retired, never signing", p)
	}
}

// testDelayedFirst: a rotation with a delay on a store that holds no key
// signs at once: there is nothing to wait for.
func testDelayedFirst(t *testing.T, newStore Factory) {
	clk := NewClock()
	node := newStore(t, options(t, clk))
	s1, s2 := node(t), node(t)
	if err := s1.Rotate(context.Background(), Delay); err != nil {
		t.Fatal(err)
	}
	pub := published(t, s2)
	if len(pub) != 1 {
		t.Fatalf("a first rotation published %v; want one key", kids(pub))
	}
	checkPublished(t, pub, active(t, s2), clk.Now())
	activeKID(t, s1, s2)
}

// testNegativeDelay: Rotate refuses a negative delay and changes nothing.
func testNegativeDelay(t *testing.T, newStore Factory) {
	clk := NewClock()
	node := newStore(t, options(t, clk))
	s := node(t)
	k := active(t, s)
	if err := s.Rotate(context.Background(), -time.Second); !errors.Is(err, toolkey.ErrNegativeDelay) {
		t.Fatalf("Rotate with a negative delay: %v; want ErrNegativeDelay", err)
	}
	if pub := published(t, s); len(pub) != 1 || pub[0].KID != k.KID() {
		t.Fatalf("after a refused rotation published %v", kids(pub))
	}
}
