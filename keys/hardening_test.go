package keys_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/registration"
)

func rsaPubJWK(t testing.TB, bits int, kid string) jwk.Key {
	t.Helper()
	pk, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.FromRaw(pk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, kid)
	return k
}

// Item 3: RSA keys under 2048 bits are not usable (RFC 7518 §3.3, §3.5).
func TestWeakRSAKeysRefused(t *testing.T) {
	weak, strong := rsaPubJWK(t, 1024, "weak"), pubJWK(t, "strong", jwa.RS256)
	check := func(t *testing.T, c *keys.Cache, reg registration.Registration) {
		if _, err := c.Key(context.Background(), reg, "weak"); !errors.Is(err, keys.ErrKeyNotFound) {
			t.Errorf("1024-bit key: got %v, want ErrKeyNotFound", err)
		}
		if _, err := c.Key(context.Background(), reg, "strong"); err != nil {
			t.Errorf("2048-bit key: %v", err)
		}
	}
	t.Run("static", func(t *testing.T) {
		set := jwk.NewSet()
		_ = set.AddKey(weak)
		_ = set.AddKey(strong)
		check(t, keys.NewCache(), registration.Registration{KeySet: set})
	})
	t.Run("fetched", func(t *testing.T) {
		srv := newJWKSServer(t, setJSON(t, weak, strong))
		check(t, keys.NewCache(), registration.Registration{KeySetURL: srv.URL})
	})
}

// Item 6: a key whose key_ops is present and lacks "verify" is not used
// for verification (RFC 7517 §4.3).
func TestKeyOps(t *testing.T) {
	set := jwk.NewSet()
	want := map[string]error{}
	for kid, tc := range map[string]struct {
		ops  jwk.KeyOperationList
		want error
	}{
		"encrypt":       {jwk.KeyOperationList{jwk.KeyOpEncrypt}, keys.ErrKeyNotFound},
		"sign":          {jwk.KeyOperationList{jwk.KeyOpSign}, keys.ErrKeyNotFound},
		"empty":         {jwk.KeyOperationList{}, keys.ErrKeyNotFound},
		"verify":        {jwk.KeyOperationList{jwk.KeyOpVerify}, nil},
		"sign, verify":  {jwk.KeyOperationList{jwk.KeyOpSign, jwk.KeyOpVerify}, nil},
		"no key_ops":    {nil, nil},
		"wrapKey":       {jwk.KeyOperationList{jwk.KeyOpWrapKey}, keys.ErrKeyNotFound},
		"verify, enc'd": {jwk.KeyOperationList{jwk.KeyOpVerify, jwk.KeyOpEncrypt}, nil},
	} {
		k := pubJWK(t, kid, jwa.RS256)
		if tc.ops != nil {
			if err := k.Set(jwk.KeyOpsKey, tc.ops); err != nil {
				t.Fatal(err)
			}
		}
		_ = set.AddKey(k)
		want[kid] = tc.want
	}
	c := keys.NewCache()
	for kid, w := range want {
		if _, err := c.Key(context.Background(), registration.Registration{KeySet: set}, kid); !errors.Is(err, w) {
			t.Errorf("key_ops %q: got %v, want %v", kid, err, w)
		}
	}
}

// Item 7: a static key set changed in place is indexed again; an unchanged
// one is not (the hot path allocates nothing).
func TestStaticKeySetChangedInPlace(t *testing.T) {
	k1, k2 := pubJWK(t, "k1", jwa.RS256), rsaPubJWK(t, 2048, "k2")
	set := jwk.NewSet()
	_ = set.AddKey(k1)
	_ = set.AddKey(k2)
	c := keys.NewCache()
	reg := registration.Registration{KeySet: set}
	ctx := context.Background()
	for _, kid := range []string{"k1", "k2"} {
		if _, err := c.Key(ctx, reg, kid); err != nil {
			t.Fatalf("%s: %v", kid, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Key(ctx, reg, "k1") }); n != 0 {
		t.Errorf("a lookup in an unchanged static set allocates %v times", n)
	}

	// A compromised key is removed in place.
	if err := set.RemoveKey(k1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Key(ctx, reg, "k1"); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("removed key: got %v, want ErrKeyNotFound", err)
	}
	if _, err := c.Key(ctx, reg, "k2"); err != nil {
		t.Fatalf("remaining key: %v", err)
	}
	// A key is added in place.
	k3 := rsaPubJWK(t, 2048, "k3")
	_ = set.AddKey(k3)
	if _, err := c.Key(ctx, reg, "k3"); err != nil {
		t.Fatalf("added key: %v", err)
	}
	// A key is replaced by another object with the same kid.
	k2b := rsaPubJWK(t, 2048, "k2")
	_ = set.RemoveKey(k2)
	_ = set.AddKey(k2b)
	got, err := c.Key(ctx, reg, "k2")
	if err != nil {
		t.Fatalf("replaced key: %v", err)
	}
	var want rsa.PublicKey
	_ = k2b.Raw(&want)
	if !got.Raw.(*rsa.PublicKey).Equal(&want) {
		t.Fatal("the replaced key is still used")
	}
	// Emptied.
	set.Clear()
	if _, err := c.Key(ctx, reg, "k3"); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("cleared set: got %v, want ErrKeyNotFound", err)
	}
}

// redirector answers every request with a redirect to target(r).
func redirector(t *testing.T, tls bool, target func(r *http.Request) string) *httptest.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target(r), http.StatusFound)
	})
	var s *httptest.Server
	if tls {
		s = httptest.NewTLSServer(h)
	} else {
		s = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// Item 10: key set fetches follow redirects only within the key set URL's
// origin, at most 3, never from https to http, unless the host opts in.
func TestKeySetRedirects(t *testing.T) {
	body := setJSON(t, pubJWK(t, "k1", jwa.RS256))
	ctx := context.Background()
	lookup := func(c *keys.Cache, url string) error {
		_, err := c.Key(ctx, registration.Registration{KeySetURL: url}, "k1")
		return err
	}

	// A server with the key set at /jwks and a chain of same-origin
	// redirects /hop/N → /hop/N-1 → … → /jwks.
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) })
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		switch n := r.PathValue("n"); n {
		case "1":
			http.Redirect(w, r, "/jwks", http.StatusFound)
		default:
			http.Redirect(w, r, "/hop/"+string(n[0]-1), http.StatusFound)
		}
	})
	origin := httptest.NewServer(mux)
	t.Cleanup(origin.Close)
	other := newJWKSServer(t, body) // another origin: another port
	toOther := redirector(t, false, func(*http.Request) string { return other.URL })

	t.Run("same origin, one redirect", func(t *testing.T) {
		if err := lookup(keys.NewCache(), origin.URL+"/hop/1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("same origin, three redirects", func(t *testing.T) {
		if err := lookup(keys.NewCache(), origin.URL+"/hop/3"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("same origin, four redirects", func(t *testing.T) {
		if err := lookup(keys.NewCache(), origin.URL+"/hop/4"); !errors.Is(err, keys.ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	})
	t.Run("another origin", func(t *testing.T) {
		if err := lookup(keys.NewCache(), toOther.URL); !errors.Is(err, keys.ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
		if n := other.hits.Load(); n != 0 {
			t.Fatalf("the other origin was fetched %d times", n)
		}
	})
	t.Run("another origin, host client without a policy", func(t *testing.T) {
		if err := lookup(keys.NewCache(keys.WithHTTPClient(&http.Client{})), toOther.URL); !errors.Is(err, keys.ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	})
	allowAll := func(*http.Request, []*http.Request) error { return nil }
	t.Run("another origin, allowed by WithRedirectPolicy", func(t *testing.T) {
		if err := lookup(keys.NewCache(keys.WithRedirectPolicy(allowAll)), toOther.URL); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another origin, allowed by the host client's CheckRedirect", func(t *testing.T) {
		if err := lookup(keys.NewCache(keys.WithHTTPClient(&http.Client{CheckRedirect: allowAll})), toOther.URL); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("https to http, never", func(t *testing.T) {
		plain := newJWKSServer(t, body)
		down := redirector(t, true, func(*http.Request) string { return plain.URL })
		cl := down.Client()
		cl.CheckRedirect = allowAll
		for name, c := range map[string]*keys.Cache{
			"policy": keys.NewCache(keys.WithHTTPClient(down.Client()), keys.WithRedirectPolicy(allowAll)),
			"client": keys.NewCache(keys.WithHTTPClient(cl)),
		} {
			if err := lookup(c, down.URL); !errors.Is(err, keys.ErrUnavailable) {
				t.Errorf("%s: got %v, want ErrUnavailable", name, err)
			}
		}
		if n := plain.hits.Load(); n != 0 {
			t.Fatalf("the http origin was fetched %d times", n)
		}
	})
}
