package toolkey_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/ltikit/ltikit/toolkey"
	"github.com/ltikit/ltikit/toolkey/toolkeytest"
)

func TestMemoryStoreConformance(t *testing.T) {
	toolkeytest.Run(t, func(t *testing.T, opts toolkey.StoreOptions) func(*testing.T) toolkey.Store {
		s, err := toolkey.NewMemoryStore(opts)
		if err != nil {
			t.Fatal(err)
		}
		return func(*testing.T) toolkey.Store { return s }
	})
}

func newKeyring(t testing.TB, clk *toolkeytest.Clock, opts ...toolkey.KeyringOption) (*toolkey.Keyring, *toolkey.MemoryStore) {
	t.Helper()
	o := toolkey.StoreOptions{Grace: time.Hour, NewPrivateKey: toolkeytest.KeySource(t)}
	if clk != nil {
		o.Now = clk.Now
		opts = append(opts, toolkey.WithKeyringClock(clk.Now))
	}
	s, err := toolkey.NewMemoryStore(o)
	if err != nil {
		t.Fatal(err)
	}
	k, err := toolkey.NewKeyring(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return k, s
}

// verify checks tok against set the way a platform does: kid from the
// header, RS256 only.
func verify(t *testing.T, set jwk.Set, tok string) (kid string, claims map[string]any) {
	t.Helper()
	msg, err := jws.Parse([]byte(tok))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if h.Algorithm() != jwa.RS256 || h.Type() != "JWT" || h.KeyID() == "" {
		t.Fatalf("header alg=%s typ=%q kid=%q; want RS256, JWT and a kid", h.Algorithm(), h.Type(), h.KeyID())
	}
	key, ok := set.LookupKeyID(h.KeyID())
	if !ok {
		t.Fatalf("kid %s is not published", h.KeyID())
	}
	payload, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS256, key))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return h.KeyID(), claims
}

func TestSignJWT(t *testing.T) {
	ctx := context.Background()
	k, _ := newKeyring(t, nil)
	claims := map[string]any{"iss": "client", "n": 1, "nested": map[string]any{"a": []any{"b"}}}
	tok, err := k.SignJWT(ctx, claims)
	if err != nil {
		t.Fatal(err)
	}
	set, err := k.KeySet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kid, got := verify(t, set, tok)
	active, _ := k.ActiveKey(ctx)
	if kid != active.KID() {
		t.Fatalf("kid %s; want the active %s", kid, active.KID())
	}
	if got["iss"] != "client" || got["n"] != 1.0 || got["nested"].(map[string]any)["a"].([]any)[0] != "b" {
		t.Fatalf("claims %v", got)
	}
	if _, err := k.SignJWT(ctx, nil); err == nil {
		t.Fatal("nil claims signed")
	}
	if _, err := k.SignJWT(ctx, map[string]any{"bad": func() {}}); err == nil {
		t.Fatal("unmarshalable claims signed")
	}
}

// TestRotationKeepsOldKidUntilGraceEnd: a token signed just before a
// rotation still verifies against the published set until the grace
// period ends, and not after.
func TestRotationKeepsOldKidUntilGraceEnd(t *testing.T) {
	ctx := context.Background()
	clk := toolkeytest.NewClock()
	k, _ := newKeyring(t, clk, toolkey.WithCacheTTL(time.Minute))
	old, err := k.SignJWT(ctx, map[string]any{"n": "old"})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Rotate(ctx, toolkey.Immediately()); err != nil {
		t.Fatal(err)
	}
	fresh, err := k.SignJWT(ctx, map[string]any{"n": "new"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		advance   time.Duration
		oldListed bool
	}{
		{"right after rotation", 0, true},
		{"within the grace period", 59 * time.Minute, true},
		{"at the end of the grace period", time.Minute, false},
	}
	var oldKid string
	for _, st := range steps {
		clk.Add(st.advance)
		set := jwksOf(t, k)
		newKid, _ := verify(t, set, fresh)
		if oldKid == "" {
			oldKid, _ = verify(t, set, old)
			if oldKid == newKid {
				t.Fatal("rotation kept the kid")
			}
			continue
		}
		_, listed := set.LookupKeyID(oldKid)
		if listed != st.oldListed {
			t.Fatalf("%s: old kid published = %v; want %v", st.name, listed, st.oldListed)
		}
	}
}

// jwksOf fetches the key set over HTTP from the Keyring's handler.
func jwksOf(t *testing.T, k *toolkey.Keyring) jwk.Set {
	t.Helper()
	srv := httptest.NewServer(k)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	set, err := jwk.Parse(body)
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return set
}

// TestJWKSHandler: content type, caching, methods, and no private member
// in the served set.
func TestJWKSHandler(t *testing.T) {
	k, _ := newKeyring(t, nil, toolkey.WithMaxAge(90*time.Second))
	if _, err := k.ActiveKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := k.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(k)
	defer srv.Close()
	tests := []struct {
		method     string
		wantStatus int
		wantBody   bool
	}{
		{http.MethodGet, http.StatusOK, true},
		{http.MethodHead, http.StatusOK, false},
		{http.MethodPost, http.StatusMethodNotAllowed, false},
		{http.MethodDelete, http.StatusMethodNotAllowed, false},
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d; want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus != http.StatusOK {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=90" {
				t.Errorf("Cache-Control %q", cc)
			}
			if !tc.wantBody {
				return
			}
			var doc struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Keys) != 2 {
				t.Fatalf("%d keys; want 2 (active and retired)", len(doc.Keys))
			}
			for _, key := range doc.Keys {
				for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
					if _, ok := key[private]; ok {
						t.Errorf("served key has private member %q", private)
					}
				}
				if key["kty"] != "RSA" || key["alg"] != "RS256" || key["use"] != "sig" || key["kid"] == "" || key["n"] == "" || key["e"] != "AQAB" {
					t.Errorf("served key %v", key)
				}
			}
		})
	}
}

// failingStore fails every call.
type failingStore struct{}

var errDown = errors.New("database is down at 10.0.0.7 with password hunter2")

func (failingStore) Active(context.Context) (*toolkey.Key, error)           { return nil, errDown }
func (failingStore) Published(context.Context) ([]toolkey.PublicKey, error) { return nil, errDown }
func (failingStore) Rotate(context.Context, time.Duration) error            { return errDown }

func TestStoreFailure(t *testing.T) {
	k, err := toolkey.NewKeyring(failingStore{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.SignJWT(context.Background(), map[string]any{}); !errors.Is(err, errDown) {
		t.Fatalf("SignJWT: %v; want the store's error", err)
	}
	rec := httptest.NewRecorder()
	k.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/jwks", nil))
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "hunter2") || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %q %v", rec.Code, rec.Body, rec.Header())
	}
}

// countingStore counts the store calls a Keyring makes.
type countingStore struct {
	toolkey.Store
	calls atomic.Int64
}

func (c *countingStore) Active(ctx context.Context) (*toolkey.Key, error) {
	c.calls.Add(1)
	return c.Store.Active(ctx)
}

func (c *countingStore) Published(ctx context.Context) ([]toolkey.PublicKey, error) {
	c.calls.Add(1)
	return c.Store.Published(ctx)
}

// TestCancelledCallerStartsNoStoreCall: with its cache empty, a Keyring
// called with a context that has ended answers the context's error every
// time and does not call the store; a live caller then gets its key.
func TestCancelledCallerStartsNoStoreCall(t *testing.T) {
	mem, err := toolkey.NewMemoryStore(toolkey.StoreOptions{NewPrivateKey: toolkeytest.KeySource(t)})
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: mem}
	k, err := toolkey.NewKeyring(store)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		if _, err := k.ActiveKey(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("ActiveKey: %v; want context.Canceled", err)
		}
		if _, err := k.JWKS(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("JWKS: %v; want context.Canceled", err)
		}
	}
	if n := store.calls.Load(); n != 0 {
		t.Fatalf("%d store calls for cancelled callers", n)
	}
	if _, err := k.ActiveKey(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestKeyNeverPrinted: fmt with every verb, JSON, slog and errors show the
// kid and never the private key.
func TestKeyNeverPrinted(t *testing.T) {
	k, err := toolkey.GenerateKey(0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	der, err := k.MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := toolkey.ParseKey(der, time.Now())
	if err != nil || priv.KID() != k.KID() {
		t.Fatalf("round trip: %v, kid %s vs %s", err, priv.KID(), k.KID())
	}
	rsaKey := mustRSA(t, der)
	secrets := []string{
		rsaKey.D.String(), rsaKey.D.Text(16), rsaKey.Primes[0].String(), rsaKey.Primes[0].Text(16),
		base64.StdEncoding.EncodeToString(der)[40:80], base64.RawURLEncoding.EncodeToString(rsaKey.D.Bytes())[:40],
	}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%T", "%p", "%o", "%b"} {
		outputs = append(outputs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, *k), fmt.Sprintf(verb, []*toolkey.Key{k}),
			fmt.Sprintf(verb, struct{ K *toolkey.Key }{k}))
	}
	j, _ := json.Marshal(map[string]any{"key": k})
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("k", "key", k)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("k", "key", k)
	outputs = append(outputs, string(j), logBuf.String(), fmt.Errorf("wrapped: %v", k).Error(), k.String(), k.GoString())
	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Fatalf("key material in %q", out)
			}
		}
	}
	if !strings.Contains(k.String(), k.KID()) || !strings.Contains(k.String(), "redacted") {
		t.Fatalf("String() = %q", k.String())
	}
}

func mustRSA(t *testing.T, der []byte) *rsa.PrivateKey {
	t.Helper()
	k, err := parsePKCS8(der)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyValidation(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	// A lent key is shared with later tests: the broken one is a copy.
	good, err := toolkeytest.KeySource(t)(toolkey.DefaultRSABits)
	if err != nil {
		t.Fatal(err)
	}
	broken := &rsa.PrivateKey{PublicKey: good.PublicKey, D: new(big.Int).Add(good.D, big.NewInt(2)), Primes: good.Primes}
	tests := []struct {
		name string
		make func() (*toolkey.Key, error)
	}{
		{"nil", func() (*toolkey.Key, error) { return toolkey.NewKey(nil, time.Now()) }},
		{"1024 bits", func() (*toolkey.Key, error) { return toolkey.NewKey(small, time.Now()) }},
		{"inconsistent", func() (*toolkey.Key, error) { return toolkey.NewKey(broken, time.Now()) }},
		{"generate 1024", func() (*toolkey.Key, error) { return toolkey.GenerateKey(1024, time.Now()) }},
		{"garbage DER", func() (*toolkey.Key, error) { return toolkey.ParseKey([]byte("not a key"), time.Now()) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.make()
			if err == nil || k != nil {
				t.Fatalf("got %v, %v; want an error", k, err)
			}
			if strings.Contains(err.Error(), broken.D.String()) {
				t.Fatal("error shows key material")
			}
		})
	}
	for _, o := range []toolkey.StoreOptions{{Grace: -1}, {RSABits: 1024}, {RSABits: 100000}} {
		if _, err := toolkey.NewMemoryStore(o); err == nil {
			t.Errorf("NewMemoryStore(%+v): no error", o)
		}
	}
	if _, err := toolkey.NewKeyring(nil); err == nil {
		t.Error("NewKeyring(nil): no error")
	}
}

// TestKeyringCaches: two keyrings on one store play two nodes; after a
// rotation on one, the other signs with the old key until its cache TTL
// passes, and publishes the new key as soon as it meets it.
func TestKeyringCaches(t *testing.T) {
	ctx := context.Background()
	clk := toolkeytest.NewClock()
	store, err := toolkey.NewMemoryStore(toolkey.StoreOptions{Grace: time.Hour, Now: clk.Now, NewPrivateKey: toolkeytest.KeySource(t)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := toolkey.NewKeyring(store, toolkey.WithKeyringClock(clk.Now), toolkey.WithCacheTTL(30*time.Second))
	b, _ := toolkey.NewKeyring(store, toolkey.WithKeyringClock(clk.Now), toolkey.WithCacheTTL(30*time.Second))
	k1, _ := b.ActiveKey(ctx)
	if _, err := b.JWKS(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Rotate(ctx, toolkey.Immediately()); err != nil {
		t.Fatal(err)
	}
	k2, _ := a.ActiveKey(ctx)
	if k2.KID() == k1.KID() {
		t.Fatal("an immediate rotation kept the key")
	}
	if got, _ := b.ActiveKey(ctx); got.KID() != k1.KID() {
		t.Fatalf("b switched keys before its TTL")
	}
	clk.Add(31 * time.Second)
	if got, _ := b.ActiveKey(ctx); got.KID() != k2.KID() {
		t.Fatalf("b signs with %s after its TTL; want %s", got.KID(), k2.KID())
	}
	body, err := b.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte(k2.KID())) || !bytes.Contains(body, []byte(k1.KID())) {
		t.Fatalf("b publishes %s; want both kids", body)
	}
}

// TestConcurrentSignAndRotate runs signers, JWKS readers and rotations at
// once (for the race detector): every token verifies against the set
// published afterwards.
func TestConcurrentSignAndRotate(t *testing.T) {
	ctx := context.Background()
	k, _ := newKeyring(t, nil, toolkey.WithCacheTTL(0))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		toks []string
	)
	for i := range 16 {
		wg.Go(func() {
			for j := range 5 {
				if i == 0 && j < 3 {
					if err := k.Rotate(ctx, toolkey.Immediately()); err != nil {
						t.Error(err)
					}
					continue
				}
				tok, err := k.SignJWT(ctx, map[string]any{"i": i, "j": j})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := k.JWKS(ctx); err != nil {
					t.Error(err)
				}
				mu.Lock()
				toks = append(toks, tok)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	set := jwksOf(t, k)
	for _, tok := range toks {
		verify(t, set, tok)
	}
}

func BenchmarkSignJWT(b *testing.B) {
	k, _ := newKeyring(b, nil)
	ctx := context.Background()
	claims := map[string]any{"iss": "client", "sub": "client", "aud": "https://lms.example/token", "jti": "x", "iat": 1, "exp": 2}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.SignJWT(ctx, claims); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWKSHandler(b *testing.B) {
	k, _ := newKeyring(b, nil)
	req := httptest.NewRequest(http.MethodGet, "/jwks", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		k.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
