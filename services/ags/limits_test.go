package ags_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/token"
)

// within runs f and fails the test when it has not returned after d.
func within(t *testing.T, d time.Duration, f func()) time.Duration {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("the call did not end within %s", d)
	}
	return time.Since(start)
}

// hang answers nothing until the client goes away or the test ends.
func hang(t *testing.T) http.HandlerFunc {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}
}

// TestTimeout: a platform that never answers ends the call with ErrTimeout
// once the timeout has passed, also with a host client without a Timeout.
// The timeout is DefaultTimeout, 10 s, unless WithTimeout sets a positive
// one: the default is read off the client, and the waits use short
// timeouts instead of waiting 10 s.
func TestTimeout(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		srv := newStub(t, hang(t))
		if ags.DefaultTimeout != 10*time.Second {
			t.Fatalf("DefaultTimeout = %s; want 10 s", ags.DefaultTimeout)
		}
		const timeout = 300 * time.Millisecond
		for _, tc := range []struct {
			opts []ags.Option
			want time.Duration
		}{
			{nil, ags.DefaultTimeout},
			{[]ags.Option{ags.WithTimeout(0)}, ags.DefaultTimeout},
			{[]ags.Option{ags.WithTimeout(-time.Second)}, ags.DefaultTimeout},
			{[]ags.Option{ags.WithTimeout(timeout)}, timeout},
		} {
			if got := ags.CallTimeout(srv.client(t, &fakeSource{}, srv.endpoint(), tc.opts...)); got != tc.want {
				t.Fatalf("%d options: timeout %s; want %s", len(tc.opts), got, tc.want)
			}
		}
		c := srv.client(t, &fakeSource{}, srv.endpoint(), ags.WithTimeout(timeout)) // the stub's client has no Timeout
		var err error
		took := within(t, 15*time.Second, func() { _, err = c.LineItem(t.Context(), "") })
		if !errors.Is(err, ags.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || took < timeout {
			t.Fatalf("after %s: %v; want ErrTimeout after the %s timeout", took, err, timeout)
		}
	})
	t.Run("stalled page body", func(t *testing.T) {
		t.Parallel()
		stop := hang(t)
		srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `[{"label":"a","scoreMaximum":1},`)
			w.(http.Flusher).Flush()
			stop(w, r)
		})
		c := srv.client(t, &fakeSource{}, srv.endpoint(), ags.WithTimeout(200*time.Millisecond))
		var items []ags.LineItem
		var err error
		within(t, 5*time.Second, func() { items, err = collect(c.LineItems(t.Context(), ags.LineItemsQuery{})) })
		if len(items) != 1 || !errors.Is(err, ags.ErrTimeout) {
			t.Fatalf("%d items, %v; want 1 then ErrTimeout", len(items), err)
		}
	})
	t.Run("slow consumer is not cut off", func(t *testing.T) {
		t.Parallel()
		srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `[{"label":"a","scoreMaximum":1},{"label":"b","scoreMaximum":1},{"label":"c","scoreMaximum":1}]`)
		})
		// The consumer spends 1.5 s between reads, past the 1 s budget;
		// the budget leaves the platform's answer room on a loaded
		// machine under the race detector (200 ms did not always).
		c := srv.client(t, &fakeSource{}, srv.endpoint(), ags.WithTimeout(time.Second))
		n := 0
		for _, err := range c.LineItems(t.Context(), ags.LineItemsQuery{}) {
			if err != nil {
				t.Fatalf("after %d items: %v", n, err)
			}
			n++
			time.Sleep(500 * time.Millisecond)
		}
		if n != 3 {
			t.Fatalf("%d items", n)
		}
	})
	t.Run("token client path", func(t *testing.T) {
		t.Parallel()
		stop := hang(t)
		srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				io.WriteString(w, `{"access_token":"t","token_type":"Bearer","expires_in":3600}`)
				return
			}
			stop(w, r)
		})
		src := newTokenClient(t)
		c, err := ags.New(ags.Config{Registration: srv.reg(), Endpoint: srv.endpoint(), Source: src}, ags.WithTimeout(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		within(t, 5*time.Second, func() { _, err = c.LineItem(t.Context(), "") })
		if !errors.Is(err, ags.ErrTimeout) {
			t.Fatalf("%v; want ErrTimeout", err)
		}
	})
}

// endless is a platform whose every line item page links to one more.
func endless(t *testing.T, perPage int) *stub {
	return newStub(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if n < 2*ags.DefaultMaxPages { // so that the test ends without a cap
			q := r.URL.Query()
			q.Set("page", strconv.Itoa(n+1))
			w.Header().Set("Link", `<`+r.URL.Path+`?`+q.Encode()+`>; rel="next"`)
		}
		io.WriteString(w, "["+strings.TrimSuffix(strings.Repeat(`{"label":"a","scoreMaximum":1},`, perPage), ",")+"]")
	})
}

// TestPageCap: an endless Link rel="next" chain stops at the page cap with
// ErrTooManyPages, the page past the cap not requested.
func TestPageCap(t *testing.T) {
	srv := endless(t, 1)
	c := srv.client(t, &fakeSource{}, srv.endpoint())
	items, err := collect(c.LineItems(t.Context(), ags.LineItemsQuery{}))
	if want := ags.DefaultMaxPages; !errors.Is(err, ags.ErrTooManyPages) || len(items) != want || srv.requests.Load() != int64(want) {
		t.Fatalf("%d items, %d requests, %v; want %d, %d and ErrTooManyPages", len(items), srv.requests.Load(), err, want, want)
	}

	srv = endless(t, 1)
	c = srv.client(t, &fakeSource{}, srv.endpoint(), ags.WithMaxPages(5))
	results, err := collect(c.Results(t.Context(), "", ags.ResultsQuery{}))
	if !errors.Is(err, ags.ErrTooManyPages) || len(results) != 5 || srv.requests.Load() != 5 {
		t.Fatalf("results: %d, %d requests, %v; want 5, 5 and ErrTooManyPages", len(results), srv.requests.Load(), err)
	}
}

// TestItemCap: a list longer than the item cap ends with ErrTooManyItems.
func TestItemCap(t *testing.T) {
	huge := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "["+strings.TrimSuffix(strings.Repeat(`{},`, 100_001), ",")+"]")
	})
	c := huge.client(t, &fakeSource{}, huge.endpoint())
	items, err := collect(c.LineItems(t.Context(), ags.LineItemsQuery{}))
	if !errors.Is(err, ags.ErrTooManyItems) || len(items) != 100_000 {
		t.Fatalf("%d items, %v; want 100000 then ErrTooManyItems", len(items), err)
	}

	srv := endless(t, 10)
	c = srv.client(t, &fakeSource{}, srv.endpoint(), ags.WithMaxItems(25))
	items, err = collect(c.LineItems(t.Context(), ags.LineItemsQuery{}))
	if !errors.Is(err, ags.ErrTooManyItems) || len(items) != 25 || srv.requests.Load() != 3 {
		t.Fatalf("%d items, %d requests, %v; want 25, 3 and ErrTooManyItems", len(items), srv.requests.Load(), err)
	}
	// Exactly at the caps is fine.
	srv = endless(t, 10)
	c = srv.client(t, &fakeSource{}, srv.endpoint(), ags.WithMaxItems(30), ags.WithMaxPages(3))
	seq := c.LineItems(t.Context(), ags.LineItemsQuery{})
	n := 0
	for _, err := range seq {
		if err != nil {
			if !errors.Is(err, ags.ErrTooManyPages) || n != 30 {
				t.Fatalf("after %d items: %v", n, err)
			}
			break
		}
		n++
	}
}

// TestRedirects: redirects are followed only to the request's own origin,
// and only a few; a redirect to another origin, even one on the platform
// (here the token endpoint's), fails with ErrRedirect and the bearer token
// never reaches it.
func TestRedirects(t *testing.T) {
	other := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"label":"b","scoreMaximum":1}`)
	})
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/to-other":
			http.Redirect(w, r, other.URL+"/lineitems/1/lineitem", http.StatusTemporaryRedirect)
		case r.URL.Path == "/same":
			http.Redirect(w, r, "/lineitems/1/lineitem", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/loop/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/loop/"))
			http.Redirect(w, r, fmt.Sprintf("/loop/%d", n+1), http.StatusFound)
		default:
			io.WriteString(w, `{"label":"a","scoreMaximum":1}`)
		}
	})
	reg := srv.reg()
	reg.TokenEndpoint = other.URL + "/token" // so other is on the platform
	client := func(t *testing.T, opts ...ags.Option) *ags.Client {
		c, err := ags.New(ags.Config{Registration: reg, Endpoint: srv.endpoint(), Source: &fakeSource{}, HTTPClient: srv.Client()}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := t.Context()

	t.Run("other origin", func(t *testing.T) {
		_, err := client(t).LineItem(ctx, srv.URL+"/to-other")
		if !errors.Is(err, ags.ErrRedirect) || other.requests.Load() != 0 {
			t.Fatalf("%v, %d requests to the other origin; want ErrRedirect and none", err, other.requests.Load())
		}
	})
	t.Run("same origin", func(t *testing.T) {
		for len(srv.bearers) > 0 {
			<-srv.bearers
		}
		li, err := client(t).LineItem(ctx, srv.URL+"/same")
		if err != nil || li.Label != "a" {
			t.Fatalf("%+v %v", li, err)
		}
		if a, b := <-srv.bearers, <-srv.bearers; a != "Bearer tok-1" || b != "Bearer tok-1" {
			t.Fatalf("Authorization %q then %q", a, b)
		}
	})
	t.Run("too many", func(t *testing.T) {
		before := srv.requests.Load()
		_, err := client(t).LineItem(ctx, srv.URL+"/loop/0")
		if n := srv.requests.Load() - before; !errors.Is(err, ags.ErrRedirect) || n != 1+3 {
			t.Fatalf("%v after %d requests; want ErrRedirect after 4", err, n)
		}
		_, err = client(t, ags.WithMaxRedirects(0)).LineItem(ctx, srv.URL+"/same")
		var he *ags.HTTPError
		if !errors.As(err, &he) || he.StatusCode != http.StatusFound {
			t.Fatalf("no redirects: %v", err)
		}
	})
	t.Run("opted in", func(t *testing.T) {
		li, err := client(t, ags.WithCrossOriginRedirects(true)).LineItem(ctx, srv.URL+"/to-other")
		if err != nil || li.Label != "b" {
			t.Fatalf("%+v %v", li, err)
		}
		if got := <-other.bearers; got != "" {
			t.Fatalf("the other origin got Authorization %q", got)
		}
	})
	t.Run("opted in, off the platform", func(t *testing.T) {
		before := other.requests.Load()
		c, err := ags.New(ags.Config{Registration: srv.reg(), Endpoint: srv.endpoint(), Source: &fakeSource{}, HTTPClient: srv.Client()}, ags.WithCrossOriginRedirects(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.LineItem(ctx, srv.URL+"/to-other"); !errors.Is(err, ags.ErrForeignHost) || other.requests.Load() != before {
			t.Fatalf("%v; want ErrForeignHost", err)
		}
	})
}

func newTokenClient(t *testing.T) *token.Client {
	t.Helper()
	c, err := token.New(token.Config{Signer: newKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
