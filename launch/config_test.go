package launch_test

import (
	"strings"
	"testing"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// regOnly and depOnly expose one interface of a store: a Tool that
// asserted them to storage.Adapter or nonce.Carrier would find nothing.
type (
	regOnly struct{ registration.Store }
	depOnly struct{ deployment.Store }
)

// A Tool built from separate stores, none of them a storage.Adapter:
// registrations and deployments in the env's store, login states in a
// second memory store, nonces in a third. Each call goes to its own store.
func TestSeparateStores(t *testing.T) {
	for _, carrier := range []bool{false, true} {
		name := "nonces on their own"
		if carrier {
			name = "state store carries the nonce, no nonce store"
		}
		t.Run(name, func(t *testing.T) {
			states, nonces := &countingAdapter{}, &countingAdapter{}
			e := newEnv(t, envOpts{config: func(c *launch.Config) {
				a := c.Storage
				c.Storage = nil
				c.Registrations, c.Deployments = regOnly{a}, depOnly{a}
				if carrier {
					// memory.Store carries the nonce; the counter keeps
					// saying so.
					states.Adapter = memory.New()
					c.States = carryingCounter{states}
					return
				}
				// Combine with only a state (or only a nonce) store: every
				// other call fails as storage_unavailable.
				states.Adapter = storage.Combine(nil, nil, stateOnly{memory.New()}, nil)
				nonces.Adapter = storage.Combine(nil, nil, nil, memory.New())
				c.States, c.Nonces = states, nonces
			}})
			for i := range 2 {
				if o := e.launch(); o.code != ok {
					t.Fatalf("launch %d refused: %+v", i, o)
				}
			}
			if states.putState != 2 || states.takeState != 2 {
				t.Errorf("state store: PutState %d, TakeState %d; want 2 each", states.putState, states.takeState)
			}
			wantNonces := 2
			if carrier {
				wantNonces = 0
			}
			if nonces.putNonce != wantNonces || nonces.consumeNonce != wantNonces {
				t.Errorf("nonce store: PutNonce %d, ConsumeNonce %d; want %d each", nonces.putNonce, nonces.consumeNonce, wantNonces)
			}
		})
	}
}

// Storage fills only the store fields left nil: an explicit store wins,
// and whether the nonce is kept on its own is decided by the state store
// actually used.
func TestStorageFillsOnlyNilStores(t *testing.T) {
	t.Run("explicit carrying state store", func(t *testing.T) {
		states := &countingAdapter{Adapter: memory.New()}
		e := newEnv(t, envOpts{config: func(c *launch.Config) {
			// Storage still finds registrations and deployments, and fails
			// every state or nonce call.
			c.Storage = storage.Combine(c.Storage, c.Storage, nil, nil)
			c.States = carryingCounter{states}
		}})
		if o := e.launch(); o.code != ok {
			t.Fatalf("launch refused: %+v", o)
		}
		if states.putState != 1 || states.takeState != 1 || states.putNonce != 0 {
			t.Fatalf("explicit state store: PutState %d, TakeState %d, PutNonce %d; want 1 1 0",
				states.putState, states.takeState, states.putNonce)
		}
	})
	t.Run("explicit state store that does not carry the nonce", func(t *testing.T) {
		states, bundle := &countingAdapter{}, &countingAdapter{}
		e := newEnv(t, envOpts{config: func(c *launch.Config) {
			// The bundle carries the nonce in its own states, but its
			// states are not used: it gives registrations, deployments
			// and nonces.
			bundle.Adapter = c.Storage
			c.Storage = carryingCounter{bundle}
			states.Adapter = storage.Combine(nil, nil, stateOnly{memory.New()}, nil)
			c.States = states
		}})
		if o := e.launch(); o.code != ok {
			t.Fatalf("launch refused: %+v", o)
		}
		if states.putState != 1 || states.takeState != 1 {
			t.Errorf("explicit state store: PutState %d, TakeState %d; want 1 each", states.putState, states.takeState)
		}
		if bundle.putState != 0 || bundle.takeState != 0 || bundle.putNonce != 1 || bundle.consumeNonce != 1 {
			t.Errorf("Storage: PutState %d TakeState %d PutNonce %d ConsumeNonce %d; want 0 0 1 1",
				bundle.putState, bundle.takeState, bundle.putNonce, bundle.consumeNonce)
		}
	})
}

// New refuses a Config without a store the Tool needs, naming each one.
func TestNewNamesMissingStores(t *testing.T) {
	carrying := memory.New()         // carries the nonce
	plain := stateOnly{memory.New()} // does not
	all := []string{"Registrations", "Deployments", "States", "Nonces"}
	for _, c := range []struct {
		name    string
		cfg     launch.Config
		missing []string
	}{
		{"nothing", launch.Config{}, all},
		{"storage", launch.Config{Storage: carrying}, nil},
		{"storage that does not carry the nonce", launch.Config{Storage: hideCarrier(carrying)}, nil},
		{"lookups only", launch.Config{Registrations: carrying, Deployments: carrying}, []string{"States", "Nonces"}},
		{"carrying state store", launch.Config{Registrations: carrying, Deployments: carrying, States: carrying}, nil},
		{"plain state store", launch.Config{Registrations: carrying, Deployments: carrying, States: plain}, []string{"Nonces"}},
		{"plain state store and nonces", launch.Config{Registrations: carrying, Deployments: carrying, States: plain, Nonces: carrying}, nil},
		{"no registrations", launch.Config{Deployments: carrying, States: carrying}, []string{"Registrations"}},
		{"no deployments", launch.Config{Registrations: carrying, States: plain, Nonces: carrying}, []string{"Deployments"}},
		{"only nonces", launch.Config{Nonces: carrying}, []string{"Registrations", "Deployments", "States"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.BaseURL = "https://tool.example"
			_, err := launch.New(cfg)
			if len(c.missing) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New accepted a Config without %v", c.missing)
			}
			for _, field := range all {
				want := false
				for _, m := range c.missing {
					want = want || m == field
				}
				if got := strings.Contains(err.Error(), field); got != want {
					t.Errorf("error %q names %s: %v, want %v", err, field, got, want)
				}
			}
		})
	}
}

// New refuses a BaseURL that is not a plain scheme, host and path: a query
// or fragment would precede the paths appended to it (the redirect URI of
// https://tool.example.com?x=1 would be the query x=1/lti/launch), and user
// information has no place in a registered URL. The error names the part.
func TestNewRefusesBaseURLWithQueryFragmentOrUser(t *testing.T) {
	for _, c := range []struct {
		base string
		want string // in the error; "" means accepted
	}{
		{"https://tool.example.com", ""},
		{"https://tool.example.com/", ""},
		{"https://tool.example.com/tool", ""},
		{"http://127.0.0.1:8080", ""},
		{"https://tool.example.com?x=1", "a query"},
		{"https://tool.example.com/tool?x=1", "a query"},
		{"https://tool.example.com?", "a query"},
		{"https://tool.example.com/?", "a query"},
		{"https://tool.example.com#top", "a fragment"},
		{"https://tool.example.com#", "a fragment"},
		{"https://tool.example.com/tool#", "a fragment"},
		{"https://tool.example.com?#", "a query"},
		{"https://user@tool.example.com", "user information"},
		{"https://user:pw@tool.example.com", "user information"},
		{"https://@tool.example.com", "user information"},
		{"ftp://tool.example.com", "absolute http(s) URL"},
		{"/lti", "absolute http(s) URL"},
		{"", "absolute http(s) URL"},
	} {
		t.Run(c.base, func(t *testing.T) {
			_, err := launch.New(launch.Config{Storage: memory.New(), BaseURL: c.base})
			if c.want == "" {
				if err != nil {
					t.Fatalf("New refused %q: %v", c.base, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New accepted BaseURL %q", c.base)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "BaseURL") {
				t.Errorf("error %q does not say BaseURL has %s", err, c.want)
			}
		})
	}
}
