package keys_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/registration"
)

// A failed fetch carries the URL and the HTTP status in a *keys.FetchError,
// and still matches ErrUnavailable (nothing cached) or ErrKeyNotFound (an
// older set cached without the kid).
func TestFetchErrorCarriesURLAndStatus(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		status int
	}{
		{"HTTP 500", "{}", http.StatusInternalServerError},
		{"HTTP 404", "not here", http.StatusNotFound},
		{"not JSON", "<html>", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, tc.body)
			srv.set(tc.body, tc.status)
			u := srv.URL + "/jwks?platform=a&x"
			c := keys.NewCache()
			_, err := c.Key(context.Background(), registration.Registration{KeySetURL: u}, "k1")
			if !errors.Is(err, keys.ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
			var fe *keys.FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *keys.FetchError in the chain", err)
			}
			if fe.URL != u || fe.Status != tc.status {
				t.Fatalf("FetchError{URL: %q, Status: %d}, want %q, %d", fe.URL, fe.Status, u, tc.status)
			}
			if !strings.Contains(err.Error(), u) {
				t.Errorf("error %q does not name the URL", err)
			}
			// Within the refresh interval the cached failure is answered,
			// still typed.
			_, err = c.Key(context.Background(), registration.Registration{KeySetURL: u}, "k1")
			if !errors.As(err, &fe) || !errors.Is(err, keys.ErrUnavailable) || fe.Status != tc.status {
				t.Fatalf("second call: got %v", err)
			}
		})
	}
	t.Run("no answer", func(t *testing.T) {
		c := keys.NewCache(keys.WithFetchTimeout(time.Second))
		_, err := c.Key(context.Background(), registration.Registration{KeySetURL: "http://127.0.0.1:1/jwks"}, "k1")
		var fe *keys.FetchError
		if !errors.Is(err, keys.ErrUnavailable) || !errors.As(err, &fe) || fe.Status != 0 || fe.URL != "http://127.0.0.1:1/jwks" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("stale set lacks the kid", func(t *testing.T) {
		clk := newClock()
		srv := newJWKSServer(t, setJSON(t, pubJWK(t, "k1", jwa.RS256)))
		c := keys.NewCache(keys.WithClock(clk.now), keys.WithTTL(time.Minute))
		reg := registration.Registration{KeySetURL: srv.URL}
		if _, err := c.Key(context.Background(), reg, "k1"); err != nil {
			t.Fatal(err)
		}
		srv.set("oops", http.StatusBadGateway)
		clk.advance(2 * time.Minute)
		_, err := c.Key(context.Background(), reg, "k2")
		var fe *keys.FetchError
		if !errors.Is(err, keys.ErrKeyNotFound) || !errors.As(err, &fe) || fe.Status != http.StatusBadGateway {
			t.Fatalf("got %v, want ErrKeyNotFound with the failed fetch", err)
		}
	})
}

// The key set URL is requested as registered: its query is sent byte for
// byte, bare keys, encoded characters and repeated keys included.
func TestKeySetURLQueryUnchanged(t *testing.T) {
	body := setJSON(t, pubJWK(t, "k1", jwa.RS256))
	var mu sync.Mutex
	var gotPath, gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotPath, gotQuery = r.URL.EscapedPath(), r.URL.RawQuery
		mu.Unlock()
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ name, path, query string }{
		{"bare keys", "/", "lti-platform&jwks"},
		{"WordPress style", "/", "rest_route=/lti-platform/v1/jwks"},
		{"encoded characters", "/keys", "a=%2F%20b&c=%3D%26&d=x+y"},
		{"repeated keys", "/keys", "k=2&k=1&k=2"},
		{"empty values, no sorting", "/wp%2Djson/jwks", "z=&a&m=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := keys.NewCache()
			u := srv.URL + tc.path + "?" + tc.query
			if _, err := c.Key(context.Background(), registration.Registration{KeySetURL: u}, "k1"); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if gotQuery != tc.query || gotPath != tc.path {
				t.Fatalf("fetched %s?%s, want %s?%s", gotPath, gotQuery, tc.path, tc.query)
			}
		})
	}
}
