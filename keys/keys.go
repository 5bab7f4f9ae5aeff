package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/registration"
)

// PublicKey is one verification key, parsed once when its key set is
// fetched so the hot path does no conversion.
type PublicKey struct {
	// JWK is the key as published.
	JWK jwk.Key
	// Raw is the crypto public key (*rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey).
	Raw crypto.PublicKey
	// KeyType is the JWK kty.
	KeyType jwa.KeyType
	// Alg is the JWK alg member; empty when the key does not restrict it.
	Alg jwa.SignatureAlgorithm
}

// Provider finds the platform key that verifies a token.
type Provider interface {
	// Key returns the key with kid from reg's key set: the static
	// reg.KeySet when set, otherwise the set published at reg.KeySetURL.
	Key(ctx context.Context, reg registration.Registration, kid string) (*PublicKey, error)
}

// Errors returned by a Provider.
var (
	// ErrKeyNotFound means the key set holds no usable key with the kid.
	ErrKeyNotFound = errors.New("keys: no key with that kid")
	// ErrUnavailable means no key set could be fetched and none is cached.
	ErrUnavailable = errors.New("keys: key set unavailable")
)

// Defaults of a Cache.
const (
	DefaultTTL                = time.Hour
	DefaultMinRefreshInterval = 30 * time.Second
	DefaultMaxBytes           = 512 << 10
	DefaultFetchTimeout       = 5 * time.Second
)

// maxStaticSets bounds the memo of indexed static key sets.
const maxStaticSets = 256

// Option configures a Cache.
type Option func(*Cache)

// WithHTTPClient sets the client key sets are fetched with. Its Timeout,
// when set, applies in addition to the fetch timeout.
func WithHTTPClient(c *http.Client) Option { return func(k *Cache) { k.client = c } }

// WithTTL sets how long a fetched key set is used before it is refreshed.
func WithTTL(d time.Duration) Option { return func(k *Cache) { k.ttl = d } }

// WithMinRefreshInterval sets the least time between two fetches of one URL
// caused by unknown kids, and the wait after a failed fetch. The first
// unknown kid after a regular fetch always triggers one refresh, so a key
// rotation is picked up at once.
func WithMinRefreshInterval(d time.Duration) Option { return func(k *Cache) { k.minRefresh = d } }

// WithMaxBytes bounds the size of a key set response.
func WithMaxBytes(n int64) Option { return func(k *Cache) { k.maxBytes = n } }

// WithFetchTimeout bounds one key set fetch.
func WithFetchTimeout(d time.Duration) Option { return func(k *Cache) { k.fetchTimeout = d } }

// WithClock sets the clock used for TTLs (tests).
func WithClock(now func() time.Time) Option { return func(k *Cache) { k.now = now } }

// Cache is a Provider that fetches key sets over HTTP and caches them per
// URL. It is safe for concurrent use; the zero value is not usable, call
// NewCache.
type Cache struct {
	client       *http.Client
	ttl          time.Duration
	minRefresh   time.Duration
	maxBytes     int64
	fetchTimeout time.Duration
	now          func() time.Time

	mu      sync.RWMutex
	entries map[string]*entry

	staticMu sync.RWMutex
	static   map[jwk.Set]map[string]*PublicKey
}

type entry struct {
	// refresh serialises fetches of one URL: concurrent callers that find
	// the set stale or missing a kid wait for one fetch instead of each
	// starting their own.
	refresh sync.Mutex

	mu           sync.RWMutex
	keys         map[string]*PublicKey
	fetchedAt    time.Time // last successful fetch
	attemptedAt  time.Time // last fetch attempt, successful or not
	kidRefreshAt time.Time // last fetch caused by an unknown kid in a fresh set
	lastErr      error
}

var _ Provider = (*Cache)(nil)

// NewCache returns a Cache with the defaults, changed by opts.
func NewCache(opts ...Option) *Cache {
	c := &Cache{
		client:       &http.Client{Timeout: DefaultFetchTimeout * 2},
		ttl:          DefaultTTL,
		minRefresh:   DefaultMinRefreshInterval,
		maxBytes:     DefaultMaxBytes,
		fetchTimeout: DefaultFetchTimeout,
		now:          time.Now,
		entries:      make(map[string]*entry),
		static:       make(map[jwk.Set]map[string]*PublicKey),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Key implements Provider.
func (c *Cache) Key(ctx context.Context, reg registration.Registration, kid string) (*PublicKey, error) {
	if reg.KeySet != nil {
		return c.staticKey(reg.KeySet, kid)
	}
	if reg.KeySetURL == "" {
		return nil, fmt.Errorf("%w: registration has no key set", ErrUnavailable)
	}
	e := c.entry(reg.KeySetURL)
	now := c.now()

	e.mu.RLock()
	k, found := e.keys[kid]
	fresh := e.keys != nil && now.Sub(e.fetchedAt) < c.ttl
	e.mu.RUnlock()
	if found && fresh {
		return k, nil // the hot path: no I/O, one read lock
	}
	return c.refreshAndFind(ctx, reg.KeySetURL, e, kid)
}

func (c *Cache) entry(url string) *entry {
	c.mu.RLock()
	e := c.entries[url]
	c.mu.RUnlock()
	if e != nil {
		return e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e = c.entries[url]; e == nil {
		e = &entry{}
		c.entries[url] = e
	}
	return e
}

func (c *Cache) refreshAndFind(ctx context.Context, url string, e *entry, kid string) (*PublicKey, error) {
	e.refresh.Lock()
	defer e.refresh.Unlock()

	// Someone else may have refreshed while we waited for the lock.
	now := c.now()
	e.mu.RLock()
	k, found := e.keys[kid]
	have := e.keys != nil
	fresh := have && now.Sub(e.fetchedAt) < c.ttl
	failedRecently := e.lastErr != nil && now.Sub(e.attemptedAt) < c.minRefresh
	kidRefreshedRecently := !e.kidRefreshAt.IsZero() && now.Sub(e.kidRefreshAt) < c.minRefresh
	lastErr := e.lastErr
	e.mu.RUnlock()

	switch {
	case found && fresh:
		return k, nil
	case failedRecently || (fresh && kidRefreshedRecently):
		// Rate limit: the last fetch failed, or a fresh set was already
		// refetched for an unknown kid within the interval. Answer from
		// what we have; a flood of bogus kids costs no request.
		if found {
			return k, nil
		}
		if !have {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, lastErr)
		}
		return nil, ErrKeyNotFound
	}
	kidRefresh := fresh // the set is fresh but lacks the kid: key rotation

	set, err := c.fetch(ctx, url)
	e.mu.Lock()
	e.attemptedAt = c.now()
	e.lastErr = err
	if kidRefresh {
		e.kidRefreshAt = e.attemptedAt
	}
	if err == nil {
		e.keys = set
		e.fetchedAt = e.attemptedAt
	}
	keys := e.keys
	e.mu.Unlock()

	if k, ok := keys[kid]; ok {
		// On a failed refresh the previous set is still served: a platform
		// outage does not break launches signed with known keys.
		return k, nil
	}
	if keys == nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil, ErrKeyNotFound
}

func (c *Cache) fetch(ctx context.Context, url string) (map[string]*PublicKey, error) {
	// The fetch is shared by every launch waiting on this URL, so it must
	// not die with the one request that happened to start it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching key set: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching key set: HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading key set: %w", err)
	}
	if int64(len(body)) > c.maxBytes {
		return nil, fmt.Errorf("key set larger than %d bytes", c.maxBytes)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("parsing key set: %w", err)
	}
	return index(set)
}

// index converts a key set to kid → usable public key. Keys without a kid,
// keys for encryption, and symmetric keys are left out: they can never
// verify an id_token (1EdTech Security Framework §6.3).
func index(set jwk.Set) (map[string]*PublicKey, error) {
	out := make(map[string]*PublicKey, set.Len())
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		kid := k.KeyID()
		if kid == "" || (k.KeyUsage() != "" && k.KeyUsage() != string(jwk.ForSignature)) {
			continue
		}
		if k.KeyType() == jwa.OctetSeq {
			continue
		}
		pub, err := jwk.PublicKeyOf(k)
		if err != nil {
			continue
		}
		var raw any
		if err := pub.Raw(&raw); err != nil {
			continue
		}
		pk := &PublicKey{JWK: pub, Raw: raw, KeyType: pub.KeyType()}
		if a := pub.Algorithm(); a != nil && a.String() != "" {
			pk.Alg = jwa.SignatureAlgorithm(a.String())
		}
		if _, dup := out[kid]; dup {
			// Two keys with one kid make the choice ambiguous: use neither.
			out[kid] = nil
			continue
		}
		out[kid] = pk
	}
	for kid, k := range out {
		if k == nil {
			delete(out, kid)
		}
	}
	return out, nil
}

func (c *Cache) staticKey(set jwk.Set, kid string) (*PublicKey, error) {
	c.staticMu.RLock()
	m, ok := c.static[set]
	c.staticMu.RUnlock()
	if !ok {
		var err error
		if m, err = index(set); err != nil {
			return nil, err
		}
		c.staticMu.Lock()
		if len(c.static) >= maxStaticSets {
			// A host that builds a new set per call would otherwise grow
			// the map without bound.
			clear(c.static)
		}
		c.static[set] = m
		c.staticMu.Unlock()
	}
	if k, ok := m[kid]; ok {
		return k, nil
	}
	return nil, ErrKeyNotFound
}
