package toolkeytest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/toolkey"
)

// Short cache settings of the keyrings in testKeyringsPublishBeforeSign.
const (
	keyringTTL    = 10 * time.Second
	keyringMaxAge = 10 * time.Second
)

// signedKID returns the kid in the header of a compact JWS.
func signedKID(t *testing.T, tok string) string {
	t.Helper()
	head, _, ok := strings.Cut(tok, ".")
	if !ok {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.KID
}

func servedKIDs(t *testing.T, b []byte) map[string]bool {
	t.Helper()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("key set %s: %v", b, err)
	}
	out := make(map[string]bool, len(set.Keys))
	for _, k := range set.Keys {
		out[k.KID] = true
	}
	return out
}

// testKeyringsPublishBeforeSign: two keyrings (two nodes, each on its own
// store value) and a platform that caches each node's key set for the
// max-age the nodes send. Second by second through two rotations, one on
// each node, every token either node signs names a kid that both nodes
// serve and that every key set the platform holds lists; and each
// rotation does take over, on both nodes, in the end.
func testKeyringsPublishBeforeSign(t *testing.T, newStore Factory) {
	ctx := context.Background()
	clk := NewClock()
	node := newStore(t, options(t, clk))
	stores := []toolkey.Store{node(t), node(t)}
	rings := make([]*toolkey.Keyring, len(stores))
	for i, s := range stores {
		k, err := toolkey.NewKeyring(s, toolkey.WithKeyringClock(clk.Now),
			toolkey.WithCacheTTL(keyringTTL), toolkey.WithMaxAge(keyringMaxAge))
		if err != nil {
			t.Fatal(err)
		}
		rings[i] = k
	}
	// The platform's cache of each node's key set, as Cache-Control lets
	// it keep them.
	type fetched struct {
		kids map[string]bool
		at   time.Time
	}
	platform := make([]fetched, len(rings))
	first := active(t, stores[0])

	var kidsSeen []string
	step := func(when string) {
		t.Helper()
		now := clk.Now()
		served := make([]map[string]bool, len(rings))
		for i, k := range rings {
			b, err := k.JWKS(ctx)
			if err != nil {
				t.Fatalf("%s: node %d: JWKS: %v", when, i, err)
			}
			served[i] = servedKIDs(t, b)
			if platform[i].kids == nil || now.Sub(platform[i].at) >= keyringMaxAge {
				platform[i] = fetched{served[i], now}
			}
		}
		for i, k := range rings {
			tok, err := k.SignJWT(ctx, map[string]any{"iss": "tool", "step": when})
			if err != nil {
				t.Fatalf("%s: node %d: SignJWT: %v", when, i, err)
			}
			kid := signedKID(t, tok)
			if len(kidsSeen) == 0 || kidsSeen[len(kidsSeen)-1] != kid {
				kidsSeen = append(kidsSeen, kid)
			}
			for j := range rings {
				if !served[j][kid] {
					t.Fatalf("%s: node %d signs with %s, which node %d does not publish", when, i, kid, j)
				}
				if !platform[j].kids[kid] {
					t.Fatalf("%s: node %d signs with %s, which the platform's copy of node %d's key set (fetched %s before) lacks",
						when, i, kid, j, now.Sub(platform[j].at))
				}
			}
		}
	}
	run := func(name string, steps int) {
		for i := range steps {
			clk.Add(time.Second)
			step(name + " +" + (time.Duration(i+1) * time.Second).String())
		}
	}

	step("start")
	run("before the rotations", 5)
	for r, ring := range rings {
		if err := ring.Rotate(ctx); err != nil {
			t.Fatalf("Rotate on node %d: %v", r, err)
		}
		name := "rotation on node " + string(rune('A'+r))
		step(name)
		// The longest takeover: the default margin, the TTL and the
		// max-age, then each node's cache TTL to notice it.
		run(name, int((2*keyringTTL+keyringMaxAge+toolkey.DefaultRotationMargin)/time.Second)+5)
		want := active(t, stores[(r+1)%2])
		for i, k := range rings {
			got, err := k.ActiveKey(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got.KID() != want.KID() {
				t.Fatalf("after %s node %d signs with %s; want the store's active key %s", name, i, got.KID(), want.KID())
			}
		}
		if want.KID() == first.KID() {
			t.Fatalf("after %s the first key still signs", name)
		}
	}
	if len(kidsSeen) < 3 {
		t.Fatalf("signed with %v; want three keys in turn", kidsSeen)
	}
}
