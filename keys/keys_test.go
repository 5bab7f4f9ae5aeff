package keys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/registration"
)

var rsaKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func pubJWK(t testing.TB, kid string, alg jwa.SignatureAlgorithm) jwk.Key {
	t.Helper()
	k, err := jwk.FromRaw(rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, kid)
	if alg != "" {
		_ = k.Set(jwk.AlgorithmKey, alg)
	}
	return k
}

// jwksServer serves a mutable key set body and counts requests.
type jwksServer struct {
	*httptest.Server
	mu     sync.Mutex
	body   string
	status int
	delay  time.Duration
	hits   atomic.Int64
}

func newJWKSServer(t *testing.T, body string) *jwksServer {
	s := &jwksServer{body: body, status: 200}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, status, delay := s.body, s.status, s.delay
		s.mu.Unlock()
		time.Sleep(delay)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body string, status int) {
	s.mu.Lock()
	s.body, s.status = body, status
	s.mu.Unlock()
}

func setJSON(t testing.TB, ks ...jwk.Key) string {
	set := jwk.NewSet()
	for _, k := range ks {
		_ = set.AddKey(k)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(time.Now().UnixNano())
	return c
}

func TestFetchAndCache(t *testing.T) {
	srv := newJWKSServer(t, setJSON(t, pubJWK(t, "k1", jwa.RS256)))
	clk := newClock()
	c := keys.NewCache(keys.WithClock(clk.now), keys.WithTTL(time.Hour), keys.WithMinRefreshInterval(time.Minute))
	reg := registration.Registration{KeySetURL: srv.URL}
	for i := 0; i < 10; i++ {
		k, err := c.Key(context.Background(), reg, "k1")
		if err != nil {
			t.Fatal(err)
		}
		if k.KeyType != jwa.RSA || k.Alg != jwa.RS256 {
			t.Fatalf("key %+v", k)
		}
		if _, ok := k.Raw.(*rsa.PublicKey); !ok {
			t.Fatalf("raw key is %T", k.Raw)
		}
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches for 10 lookups, want 1", n)
	}
	// Past the TTL the set is fetched again.
	clk.advance(2 * time.Hour)
	if _, err := c.Key(context.Background(), reg, "k1"); err != nil {
		t.Fatal(err)
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches after the TTL, want 2", n)
	}
}

func TestUnknownKidRefreshIsRateLimited(t *testing.T) {
	srv := newJWKSServer(t, setJSON(t, pubJWK(t, "k1", jwa.RS256)))
	clk := newClock()
	c := keys.NewCache(keys.WithClock(clk.now), keys.WithMinRefreshInterval(time.Minute))
	reg := registration.Registration{KeySetURL: srv.URL}
	if _, err := c.Key(context.Background(), reg, "k1"); err != nil {
		t.Fatal(err)
	}
	// The platform rotates: k2 appears. The first unknown kid refreshes at
	// once, whatever the interval.
	srv.set(setJSON(t, pubJWK(t, "k1", jwa.RS256), pubJWK(t, "k2", jwa.RS256)), 200)
	if _, err := c.Key(context.Background(), reg, "k2"); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	// A flood of bogus kids within the interval costs no request.
	srv.set(setJSON(t, pubJWK(t, "k1", jwa.RS256), pubJWK(t, "k2", jwa.RS256), pubJWK(t, "k3", jwa.RS256)), 200)
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Key(context.Background(), reg, "bogus")
			if !errors.Is(err, keys.ErrKeyNotFound) {
				t.Errorf("bogus kid: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches after 100 bogus kids within the interval, want 2 (initial, rotation)", n)
	}
	// After the interval, the next unknown kid may refresh again.
	clk.advance(2 * time.Minute)
	if _, err := c.Key(context.Background(), reg, "k3"); err != nil {
		t.Fatalf("second rotation: %v", err)
	}
	for i := 0; i < 100; i++ {
		_, _ = c.Key(context.Background(), reg, "bogus")
	}
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}

func TestFailures(t *testing.T) {
	big := `{"keys":[],"pad":"` + strings.Repeat("x", 2<<20) + `"}`
	cases := []struct {
		name   string
		body   string
		status int
	}{
		{"HTTP 500", "{}", 500},
		{"not JSON", "<html>", 200},
		{"too large", big, 200},
		{"not a key set", `{"keys":"x"}`, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, tc.body)
			srv.set(tc.body, tc.status)
			c := keys.NewCache(keys.WithMaxBytes(64 << 10))
			_, err := c.Key(context.Background(), registration.Registration{KeySetURL: srv.URL}, "k1")
			if !errors.Is(err, keys.ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		srv := newJWKSServer(t, setJSON(t, pubJWK(t, "k1", jwa.RS256)))
		srv.delay = 300 * time.Millisecond
		c := keys.NewCache(keys.WithFetchTimeout(50 * time.Millisecond))
		start := time.Now()
		_, err := c.Key(context.Background(), registration.Registration{KeySetURL: srv.URL}, "k1")
		if !errors.Is(err, keys.ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Fatalf("fetch took %v despite a 50ms timeout", d)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		c := keys.NewCache(keys.WithFetchTimeout(time.Second))
		_, err := c.Key(context.Background(), registration.Registration{KeySetURL: "http://127.0.0.1:1/jwks"}, "k1")
		if !errors.Is(err, keys.ErrUnavailable) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestStaleKeysServedWhenThePlatformIsDown(t *testing.T) {
	srv := newJWKSServer(t, setJSON(t, pubJWK(t, "k1", jwa.RS256)))
	clk := newClock()
	c := keys.NewCache(keys.WithClock(clk.now), keys.WithTTL(time.Minute), keys.WithMinRefreshInterval(time.Second))
	reg := registration.Registration{KeySetURL: srv.URL}
	if _, err := c.Key(context.Background(), reg, "k1"); err != nil {
		t.Fatal(err)
	}
	srv.set("down", 503)
	clk.advance(2 * time.Minute)
	if _, err := c.Key(context.Background(), reg, "k1"); err != nil {
		t.Fatalf("cached key during an outage: %v", err)
	}
	if _, err := c.Key(context.Background(), reg, "k9"); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("unknown kid during an outage: %v", err)
	}
}

func TestKeySelection(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecJWK, _ := jwk.FromRaw(ec.PublicKey)
	_ = ecJWK.Set(jwk.KeyIDKey, "ec")
	enc := pubJWK(t, "enc", "")
	_ = enc.Set(jwk.KeyUsageKey, jwk.ForEncryption)
	noKid := pubJWK(t, "", "")
	sym, _ := jwk.FromRaw([]byte("secret-secret-secret"))
	_ = sym.Set(jwk.KeyIDKey, "sym")
	priv, _ := jwk.FromRaw(rsaKey)
	_ = priv.Set(jwk.KeyIDKey, "priv")
	dup1, dup2 := pubJWK(t, "dup", jwa.RS256), pubJWK(t, "dup", jwa.RS256)

	set := jwk.NewSet()
	for _, k := range []jwk.Key{pubJWK(t, "rsa", ""), ecJWK, enc, noKid, sym, priv, dup1, dup2} {
		_ = set.AddKey(k)
	}
	c := keys.NewCache()
	reg := registration.Registration{KeySet: set}
	for kid, want := range map[string]error{"rsa": nil, "ec": nil, "priv": nil, "enc": keys.ErrKeyNotFound,
		"sym": keys.ErrKeyNotFound, "dup": keys.ErrKeyNotFound, "": keys.ErrKeyNotFound, "none": keys.ErrKeyNotFound} {
		k, err := c.Key(context.Background(), reg, kid)
		if !errors.Is(err, want) {
			t.Errorf("kid %q: got %v, want %v", kid, err, want)
		}
		if err == nil {
			if _, isPriv := k.Raw.(*rsa.PrivateKey); isPriv {
				t.Errorf("kid %q: a private key is used for verification", kid)
			}
		}
	}
}
