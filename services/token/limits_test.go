package token_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/services/token"
)

// TestDoTimeout: a service that never answers ends Do with ErrTimeout
// once the request timeout has passed (the default HTTP client has none).
// The request timeout is DefaultRequestTimeout, 10 s, unless
// WithRequestTimeout sets another: the default is read off the client, and
// the wait uses a short timeout instead of waiting 10 s.
func TestDoTimeout(t *testing.T) {
	t.Parallel()
	if token.DefaultRequestTimeout != 10*time.Second || token.DefaultFetchTimeout != 10*time.Second {
		t.Fatalf("default timeouts %s, %s; want 10 s", token.DefaultRequestTimeout, token.DefaultFetchTimeout)
	}
	def, err := token.New(token.Config{Signer: sharedKeyring()})
	if err != nil {
		t.Fatal(err)
	}
	if fetch, request := token.Timeouts(def); fetch != token.DefaultFetchTimeout || request != token.DefaultRequestTimeout {
		t.Fatalf("a client without options has timeouts %s, %s; want the defaults", fetch, request)
	}
	const timeout = 300 * time.Millisecond
	e := newEnv(t, token.WithRequestTimeout(timeout))
	if _, request := token.Timeouts(e.client); request != timeout {
		t.Fatalf("WithRequestTimeout(%s): request timeout %s", timeout, request)
	}
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop); hang.Close() })
	reg := e.reg
	reg.Issuer = hang.URL // on the platform
	// The token comes first (cached for Do), so that only the service's
	// wait counts.
	if _, err := e.client.Token(t.Context(), reg, []string{scopeLineItem}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		req, _ := http.NewRequest(http.MethodGet, hang.URL+"/svc", nil)
		resp, err := e.client.Do(t.Context(), reg, []string{scopeLineItem}, req)
		if resp != nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		took := time.Since(start)
		if !errors.Is(err, token.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || took < timeout {
			t.Fatalf("after %s: %v; want ErrTimeout after the %s timeout", took, err, timeout)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Do did not end within 15 s")
	}
}

// TestDoRedirects: Do follows redirects only to the request's own origin,
// at most a few; a redirect to another origin of the platform (or from
// https to http) fails with ErrRedirect and the bearer token does not reach
// it. WithCrossOriginRedirects follows such redirects without the token.
func TestDoRedirects(t *testing.T) {
	e := newEnv(t) // e.srv serves the token endpoint and /svc/
	var hits atomic.Int64
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch {
		case r.URL.Path == "/to-platform":
			http.Redirect(w, r, e.srv.URL+"/svc/x", http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/loop/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/loop/"))
			http.Redirect(w, r, fmt.Sprintf("/loop/%d", n+1), http.StatusFound)
		}
	}))
	t.Cleanup(redirector.Close)
	reg := e.reg
	reg.Issuer = redirector.URL // both origins are the platform's
	scopes := []string{scopeLineItem}
	do := func(c *token.Client, target string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		resp, err := c.Do(t.Context(), reg, scopes, req)
		if resp != nil {
			resp.Body.Close()
		}
		return resp, err
	}

	if _, err := do(e.client, redirector.URL+"/to-platform"); !errors.Is(err, token.ErrRedirect) || e.svcHits.Load() != 0 {
		t.Fatalf("other origin: %v, %d hits there; want ErrRedirect and none", err, e.svcHits.Load())
	}
	hits.Store(0)
	if _, err := do(e.client, redirector.URL+"/loop/0"); !errors.Is(err, token.ErrRedirect) || hits.Load() != 1+token.DefaultMaxRedirects {
		t.Fatalf("loop: %v after %d requests; want ErrRedirect after %d", err, hits.Load(), 1+token.DefaultMaxRedirects)
	}

	// Opted in: followed, without the Authorization header (so the
	// service answers 401, and the one retry gets the same).
	c, err := token.New(token.Config{Signer: e.keyring}, token.WithCrossOriginRedirects(true))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := do(c, redirector.URL+"/to-platform")
	if err != nil || resp.StatusCode != http.StatusUnauthorized || e.svcHits.Load() != 2 {
		t.Fatalf("opted in: %v %v, %d hits", resp, err, e.svcHits.Load())
	}
	e.svcAuth.Range(func(k, v any) bool {
		if v != "" {
			t.Errorf("hit %v had Authorization %q", k, v)
		}
		return true
	})

	// https → http is refused even when opted in.
	tlsRedirector := httptest.NewTLSServer(redirector.Config.Handler)
	t.Cleanup(tlsRedirector.Close)
	reg.Issuer = tlsRedirector.URL
	c, err = token.New(token.Config{Signer: e.keyring}, token.WithCrossOriginRedirects(true), token.WithHTTPClient(tlsRedirector.Client()))
	if err != nil {
		t.Fatal(err)
	}
	before := e.svcHits.Load()
	if _, err := do(c, tlsRedirector.URL+"/to-platform"); !errors.Is(err, token.ErrRedirect) || e.svcHits.Load() != before {
		t.Fatalf("https to http: %v; want ErrRedirect and no request", err)
	}
}
