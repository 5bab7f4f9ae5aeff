package nrps_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sync"
	"testing"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/token"
	"github.com/ltikit/ltikit/toolkey"
	"github.com/ltikit/ltikit/toolkey/toolkeytest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const moodleDir = "../../testdata/moodle-4.5"

func newKeyring(tb testing.TB) *toolkey.Keyring {
	tb.Helper()
	store, err := toolkey.NewMemoryStore(toolkey.StoreOptions{NewPrivateKey: toolkeytest.KeySource(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	kr, err := toolkey.NewKeyring(store)
	if err != nil {
		tb.Fatal(err)
	}
	return kr
}

// trust makes p accept the client assertions of a new token client, and
// returns that client.
func trust(tb testing.TB, p *ltitest.Platform) *token.Client {
	tb.Helper()
	kr := newKeyring(tb)
	set, err := kr.KeySet(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	p.SetToolKeySet(set)
	src, err := token.New(token.Config{Signer: kr})
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

// launchWithNRPS returns a launch of p's default claims with the NRPS claim.
func launchWithNRPS(tb testing.TB, p *ltitest.Platform) *launch.Launch {
	tb.Helper()
	c := p.DefaultClaims("nonce")
	c[lti.ClaimNRPS] = p.NRPSClaim()
	return launchOf(tb, c, p.Registration())
}

func launchOf(tb testing.TB, claims map[string]any, reg registration.Registration) *launch.Launch {
	tb.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := lti.DecodeClaims(b)
	if err != nil {
		tb.Fatal(err)
	}
	return &launch.Launch{Claims: c, Registration: reg}
}

// fakeSource hands out "tok-1", "tok-2", … and records what it is asked.
type fakeSource struct {
	mu          sync.Mutex
	n           int
	current     string
	requests    int
	invalidated []string
}

func (f *fakeSource) Token(_ context.Context, _ registration.Registration, scopes []string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.current == "" {
		f.n++
		f.current = fmt.Sprintf("tok-%d", f.n)
	}
	return f.current, nil
}

func (f *fakeSource) Invalidate(_ registration.Registration, _ []string, tok string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalidated = append(f.invalidated, tok)
	if f.current == tok {
		f.current = ""
	}
}

func (f *fakeSource) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// staticSource always hands out one token.
type staticSource struct{ tok string }

func (s *staticSource) Token(context.Context, registration.Registration, []string) (string, error) {
	return s.tok, nil
}

func (s *staticSource) Invalidate(registration.Registration, []string, string) {}
