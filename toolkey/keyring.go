package toolkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"golang.org/x/sync/singleflight"
)

// Defaults of a Keyring.
const (
	// DefaultCacheTTL is how long a Keyring reuses the active key and the
	// published key set it read from its Store.
	DefaultCacheTTL = 30 * time.Second
	// DefaultMaxAge is the max-age of the key set's Cache-Control header.
	DefaultMaxAge = time.Minute
	// DefaultRotationMargin is what [Keyring.Rotate] waits, on top of the
	// cache TTL and the max-age, before a rotated-in key signs: room for
	// clock skew between nodes and for slow key set fetches.
	DefaultRotationMargin = 30 * time.Second
)

// KeyringOption tunes a Keyring.
type KeyringOption func(*Keyring)

// WithCacheTTL sets how long the active key and the key set read from the
// Store are reused (default [DefaultCacheTTL]; 0 reads the Store on every
// call). After a rotation on another node, this one signs with the
// previous key for at most this long, which is harmless: that key stays
// published for the store's grace period.
func WithCacheTTL(d time.Duration) KeyringOption { return func(k *Keyring) { k.ttl = d } }

// WithMaxAge sets the Cache-Control max-age of the key set answer (default
// [DefaultMaxAge]). Keep it short: a platform that caches the set longer
// sees a freshly rotated kid late (1EdTech Security Framework §6.3 asks
// platforms to refetch on an unknown kid, but not all do).
func WithMaxAge(d time.Duration) KeyringOption { return func(k *Keyring) { k.maxAge = d } }

// WithRotationMargin sets the margin of [Keyring.RotationDelay] (default
// [DefaultRotationMargin]).
func WithRotationMargin(d time.Duration) KeyringOption { return func(k *Keyring) { k.margin = d } }

// WithKeyringClock sets the clock of the caches (tests).
func WithKeyringClock(now func() time.Time) KeyringOption { return func(k *Keyring) { k.now = now } }

// Keyring signs JWTs with the active key of a [Store] and serves the
// store's public keys as a JWKS. It implements [Signer] and http.Handler.
// It is safe for concurrent use; create it with [NewKeyring].
type Keyring struct {
	store  Store
	ttl    time.Duration
	maxAge time.Duration
	margin time.Duration
	now    func() time.Time

	group singleflight.Group

	mu sync.Mutex
	// gen counts the invalidations of the caches (Rotate, and an active
	// key this Keyring had not published). A store read notes it when it
	// starts and caches its result only if it has not moved since, so a
	// read in flight during a rotation never stores the set from before
	// it; reads are shared (singleflight) only within one generation.
	gen      uint64
	active   *Key
	activeAt time.Time
	jwks     []byte          // marshalled public set
	kids     map[string]bool // kids in jwks
	jwksAt   time.Time
}

var (
	_ Signer       = (*Keyring)(nil)
	_ http.Handler = (*Keyring)(nil)
)

// NewKeyring returns a Keyring over store.
func NewKeyring(store Store, opts ...KeyringOption) (*Keyring, error) {
	if store == nil {
		return nil, errors.New("toolkey: nil Store")
	}
	k := &Keyring{store: store, ttl: DefaultCacheTTL, maxAge: DefaultMaxAge, margin: DefaultRotationMargin, now: time.Now}
	for _, o := range opts {
		o(k)
	}
	switch {
	case k.ttl < 0:
		return nil, errors.New("toolkey: negative cache TTL")
	case k.maxAge < 0:
		return nil, errors.New("toolkey: negative max-age")
	case k.margin < 0:
		return nil, errors.New("toolkey: negative rotation margin")
	case k.now == nil:
		return nil, errors.New("toolkey: nil clock")
	}
	return k, nil
}

// ActiveKey returns the key SignJWT signs with now.
func (k *Keyring) ActiveKey(ctx context.Context) (*Key, error) {
	now := k.now()
	k.mu.Lock()
	if k.active != nil && now.Sub(k.activeAt) < k.ttl {
		a := k.active
		k.mu.Unlock()
		return a, nil
	}
	gen := k.gen
	k.mu.Unlock()
	v, err := k.shared(ctx, "active/"+strconv.FormatUint(gen, 10), func(ctx context.Context) (any, error) {
		start := k.now()
		a, err := k.store.Active(ctx)
		if err != nil {
			return nil, err
		}
		if a == nil || a.priv == nil {
			return nil, errors.New("toolkey: the store returned no key")
		}
		k.mu.Lock()
		if k.gen == gen {
			// Aged from when the read started, so a slow read does not
			// stretch the TTL.
			k.active, k.activeAt = a, start
			if k.kids != nil && !k.kids[a.kid] {
				// A key this node has not published yet (a rotation
				// elsewhere): publish it at once, and keep key set
				// reads already in flight from storing a set without
				// it.
				k.jwks, k.kids = nil, nil
				k.gen++
			}
		}
		k.mu.Unlock()
		return a, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Key), nil
}

// SignJWT implements [Signer]: claims as the payload of a compact JWS,
// RS256, with header {"alg":"RS256","kid":<active kid>,"typ":"JWT"}.
func (k *Keyring) SignJWT(ctx context.Context, claims map[string]any) (string, error) {
	if claims == nil {
		return "", errors.New("toolkey: nil claims")
	}
	key, err := k.ActiveKey(ctx)
	if err != nil {
		return "", fmt.Errorf("toolkey: active key: %w", err)
	}
	return key.sign(claims)
}

// sign signs claims with k, RS256.
func (k *Key) sign(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("toolkey: marshalling claims: %w", err)
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.KeyIDKey, k.kid); err != nil {
		return "", fmt.Errorf("toolkey: %w", err)
	}
	if err := h.Set(jws.TypeKey, "JWT"); err != nil {
		return "", fmt.Errorf("toolkey: %w", err)
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.RS256, k.priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", errors.New("toolkey: RS256 signing failed") // the cause could describe the key
	}
	return string(out), nil
}

// KeySet returns the published public keys as a JWK set, newest first.
// Each key has kty RSA, n, e, kid, alg RS256 and use sig; never a private
// member.
func (k *Keyring) KeySet(ctx context.Context) (jwk.Set, error) {
	pubs, err := k.store.Published(ctx)
	if err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	for _, p := range pubs {
		j, err := p.JWK()
		if err != nil {
			return nil, err
		}
		if err := set.AddKey(j); err != nil {
			return nil, fmt.Errorf("toolkey: %w", err)
		}
	}
	return set, nil
}

// JWKS returns the published key set as JSON, from a cache refreshed after
// the cache TTL or when this Keyring meets an active key it has not
// published yet.
func (k *Keyring) JWKS(ctx context.Context) ([]byte, error) {
	now := k.now()
	k.mu.Lock()
	if k.jwks != nil && now.Sub(k.jwksAt) < k.ttl {
		b := k.jwks
		k.mu.Unlock()
		return b, nil
	}
	gen := k.gen
	k.mu.Unlock()
	v, err := k.shared(ctx, "jwks/"+strconv.FormatUint(gen, 10), func(ctx context.Context) (any, error) {
		start := k.now()
		set, err := k.KeySet(ctx)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(set)
		if err != nil {
			return nil, fmt.Errorf("toolkey: %w", err)
		}
		kids := make(map[string]bool, set.Len())
		for i := range set.Len() {
			j, _ := set.Key(i)
			kids[j.KeyID()] = true
		}
		k.mu.Lock()
		if k.gen == gen {
			k.jwks, k.kids, k.jwksAt = b, kids, start
		}
		k.mu.Unlock()
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// storeTimeout bounds a store call shared by concurrent callers.
const storeTimeout = 10 * time.Second

// shared runs fn once for all concurrent callers of key. fn runs without
// the first caller's cancellation (bounded by storeTimeout), so one caller
// giving up does not fail the others; each caller stops waiting when its
// own ctx ends. A caller whose ctx has already ended starts nothing: the
// select would pick at random between its ctx and a result that is ready.
func (k *Keyring) shared(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch := k.group.DoChan(key, func() (any, error) {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		defer cancel()
		return fn(sctx)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		return r.Val, r.Err
	}
}

// RotateOption tunes [Keyring.Rotate].
type RotateOption func(*rotateConfig)

type rotateConfig struct{ immediately bool }

// Immediately makes [Keyring.Rotate] an emergency rotation: the new key
// signs at once, without waiting for other nodes and platforms to fetch
// it. Platforms that still hold the previous key set may refuse its tokens
// until they fetch the set again (for up to the max-age plus the other
// nodes' cache TTL). Use it when the active key is compromised.
func Immediately() RotateOption { return func(c *rotateConfig) { c.immediately = true } }

// RotationDelay is how long after a [Keyring.Rotate] the new key starts
// signing: the cache TTL (every node's key set lists the new key by then),
// plus the key set's max-age (every platform's cached copy has expired),
// plus the rotation margin ([WithRotationMargin]). Nodes with larger
// settings than this Keyring's need a longer delay: give every node the
// same options.
func (k *Keyring) RotationDelay() time.Duration { return k.ttl + k.maxAge + k.margin }

// Rotate rotates the store's keys: publish before use. The new key is
// published at once (this Keyring serves it at once, other nodes within
// their cache TTL) and signs from [Keyring.RotationDelay] on, a time the
// store records with the key so that every node switches at the same
// moment; until then the active key goes on signing. With [Immediately]
// the new key signs at once. This Keyring's caches are dropped, and reads
// of the store in flight do not store what they read before the rotation.
func (k *Keyring) Rotate(ctx context.Context, opts ...RotateOption) error {
	var c rotateConfig
	for _, o := range opts {
		o(&c)
	}
	delay := k.RotationDelay()
	if c.immediately {
		delay = 0
	}
	err := k.store.Rotate(ctx, delay)
	// Drop the caches even when the store failed: the rotation may have
	// committed all the same.
	k.mu.Lock()
	k.gen++
	k.active, k.jwks, k.kids = nil, nil, nil
	k.mu.Unlock()
	return err
}

// ServeHTTP serves the public key set (GET and HEAD) as application/json
// with Cache-Control max-age (see [WithMaxAge]): the tool's JWKS URL, to
// register with platforms. When the store fails it answers 503 with no
// detail (and no caching).
func (k *Keyring) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := k.JWKS(r.Context())
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"temporarily_unavailable"}` + "\n"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(k.maxAge/time.Second)))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}
