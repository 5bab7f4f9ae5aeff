package ags_test

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

// newKeyring returns a tool keyring with one in-memory RSA key, lent by
// toolkeytest.KeySource.
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

// env is an ltitest platform that trusts the tool's keyring, and the real
// token client.
type env struct {
	p   *ltitest.Platform
	src *token.Client
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	p, err := ltitest.NewPlatform(ltitest.Config{ToolRedirectURIs: []string{"https://tool.example/launch"}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
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
	return &env{p: p, src: src}
}

// launch returns the launch context of the platform's default claims with
// the AGS claim granting scopes (all four when none).
func (e *env) launch(tb testing.TB, scopes ...string) *launch.Launch {
	tb.Helper()
	c := e.p.DefaultClaims("nonce")
	c[lti.ClaimAGSEndpoint] = e.p.AGSClaim(ltitest.DefaultResourceLinkID, scopes...)
	return launchOf(tb, c, e.p.Registration())
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
	scopes      [][]string
	invalidated []string
}

func (f *fakeSource) Token(_ context.Context, _ registration.Registration, scopes []string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.scopes = append(f.scopes, scopes)
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
