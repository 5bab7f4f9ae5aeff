package main

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
	"github.com/ltikit/ltikit/internal/pgtest"
	"github.com/ltikit/ltikit/ltitest"
)

// postgresDSN returns the DSN of a throwaway PostgreSQL schema for the
// test (see internal/pgtest: under CI=true a missing database fails),
// with nodes demo-tool pools' worth of the server's connections reserved
// for it: the test runs that many nodes (processes or backends) hard at
// once. A test's second schema takes nodes 0: its first reservation
// counted every node.
func postgresDSN(t *testing.T, nodes int) string {
	t.Helper()
	conns := 0
	if nodes > 0 {
		conns = nodes*gormpostgres.MaxConns + 1
	}
	return pgtest.Schema(t, "demo_tool_test_", conns)
}

// TestMultiNode runs two demo-tool nodes sharing one PostgreSQL database
// and one base URL, as behind a load balancer, and sends each request
// straight to a chosen node: a login on node A is completed on node B,
// and the id_token cannot be replayed on A, nor used twice by racing
// posts to both nodes.
func TestMultiNode(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t, 2)
	// The load balancer's address: never dialled, only the URL the tool
	// builds its redirect URI and target_link_uri check from.
	const base = "http://tool.lb.test"
	dir := t.TempDir()
	a := startNode(t, dir, "--addr", "127.0.0.1:0", "--base-url", base, "--db", dsn)
	b := startNode(t, dir, "--addr", "127.0.0.1:0", "--base-url", base, "--db", dsn)

	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     a.url + "/lti/login",
		ToolRedirectURIs: []string{base + "/lti/launch"},
		ToolJWKSURL:      b.url + pathJWKS, // node B publishes what node A signs with
	})
	if err != nil {
		t.Fatal(err)
	}
	defer platform.Close()
	mustCLI(t, dir, "platform", "add", "--db", dsn,
		"--issuer", platform.Issuer(), "--client-id", platform.ClientID(),
		"--auth-url", platform.AuthEndpoint(), "--jwks-url", platform.KeySetURL(),
		"--token-url", platform.TokenEndpoint(), "--deployment", platform.DeploymentID())

	// authorize runs the login on node A and the auth request, and returns
	// the form the platform posts back (to base/lti/launch), with the
	// browser's cookies for the tool.
	authorize := func(t *testing.T, browser *http.Client) (*ltitest.AuthResponse, []*http.Cookie) {
		t.Helper()
		ar, err := platform.Authorize(t.Context(), browser)
		if err != nil {
			t.Fatal(err)
		}
		if ar.Action != base+"/lti/launch" {
			t.Fatalf("redirect_uri %s, want the shared base URL's", ar.Action)
		}
		nodeA, _ := url.Parse(a.url)
		return ar, browser.Jar.Cookies(nodeA)
	}
	// postTo posts the form to node n with exactly the given cookies. (The
	// nodes share the host 127.0.0.1, so the cookie node A set is sent to
	// node B as to the same host behind a load balancer.)
	postTo := func(t *testing.T, n *node, ar *ltitest.AuthResponse, cookies []*http.Cookie) response {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		u, _ := url.Parse(n.url)
		jar.SetCookies(u, cookies)
		browser := &http.Client{Jar: jar, Transport: acceptJSON{http.DefaultTransport}, Timeout: 30 * time.Second}
		at := *ar
		at.Action = n.url + "/lti/launch"
		resp, err := platform.Post(t.Context(), browser, &at)
		return readResponse(t, resp, err)
	}

	t.Run("one key set on both nodes", func(t *testing.T) {
		// The tool's signing keys are in the shared database: both nodes
		// publish (and sign with) the same key.
		kidsA, kidsB := fetchJWKS(t, a.url), fetchJWKS(t, b.url)
		if len(kidsA) != 1 || !slices.Equal(kidsA, kidsB) {
			t.Fatalf("node A publishes %v, node B %v; want one and the same key", kidsA, kidsB)
		}
	})

	t.Run("login on A, launch on B, replay on A", func(t *testing.T) {
		ar, cookies := authorize(t, jsonBrowser())
		if len(cookies) == 0 {
			t.Fatal("node A set no state cookie")
		}
		r := postTo(t, b, ar, cookies)
		if r.status != http.StatusOK || r.json(t)["sub"] != ltitest.DefaultInstructor.Sub {
			t.Fatalf("launch on node B: %d %s\nnode A logs:\n%s\nnode B logs:\n%s", r.status, r.body, a.logs.String(), b.logs.String())
		}
		// The same id_token and state, with the state cookie, on node A:
		// the state was consumed in the shared database.
		wantError(t, "replay on node A", postTo(t, a, ar, cookies), http.StatusUnauthorized, "invalid_state")
	})

	t.Run("launch on B, roster on A", func(t *testing.T) {
		// The session of a launch on node B is in the shared database: node
		// A serves the roster page for it, with a service token it gets
		// with the shared signing key.
		platform.AddMembers(3)
		browser := ltitest.NewBrowser() // one cookie jar: the nodes share the host
		ar, err := platform.Authorize(t.Context(), browser, platform.WithNRPS())
		if err != nil {
			t.Fatal(err)
		}
		at := *ar
		at.Action = b.url + "/lti/launch"
		resp, err := platform.Post(t.Context(), browser, &at)
		lp := readResponse(t, resp, err)
		if lp.status != http.StatusOK {
			t.Fatalf("launch on node B: %d %s", lp.status, lp.body)
		}
		resp, err = browser.Get(a.url + pathRoster)
		r := readResponse(t, resp, err)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "Learner 3") {
			t.Fatalf("roster on node A: %d\n%s\nnode A logs:\n%s", r.status, r.body, a.logs.String())
		}
		// The launch page's roster link, on the shared base URL, with the
		// token alone (no cookie) on either node.
		link := linkHref(t, lp.body, "link-roster")
		if !strings.HasPrefix(link, base+pathRoster+"?") {
			t.Fatalf("the roster link %s is not on the base URL", link)
		}
		for _, n := range []*node{a, b} {
			r := get(t, &http.Client{Timeout: 30 * time.Second}, n.url+strings.TrimPrefix(link, base))
			if r.status != http.StatusOK || !strings.Contains(string(r.body), "Learner 3") {
				t.Fatalf("roster with the token alone on %s: %d\n%s", n.url, r.status, r.body)
			}
		}
	})

	t.Run("racing posts to both nodes: one wins", func(t *testing.T) {
		for i := range 5 {
			ar, cookies := authorize(t, jsonBrowser())
			var wg sync.WaitGroup
			results := make([]response, 4)
			for j := range results {
				n := a
				if j%2 == 1 {
					n = b
				}
				wg.Go(func() { results[j] = postTo(t, n, ar, cookies) })
			}
			wg.Wait()
			ok := 0
			for _, r := range results {
				switch {
				case r.status == http.StatusOK:
					ok++
				case r.status != http.StatusUnauthorized:
					t.Errorf("round %d: status %d: %s", i, r.status, r.body)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: %d of %d racing posts were accepted, want exactly 1", i, ok, len(results))
			}
		}
	})
}
