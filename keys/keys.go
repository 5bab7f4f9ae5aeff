package keys

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ltikit/ltikit/lti"
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

// Errors returned by a Provider, matched by identity with errors.Is.
var (
	// ErrKeyNotFound means the key set holds no usable key with the kid
	// (code invalid_signature).
	ErrKeyNotFound = lti.NewSentinel(lti.CodeInvalidSignature, "keys: no key with that kid")
	// ErrUnavailable means no key set could be fetched and none is cached
	// (code keyset_unavailable).
	ErrUnavailable = lti.NewSentinel(lti.CodeKeysetUnavailable, "keys: key set unavailable")
)

// FetchError is a failed key set fetch. It carries what locates the
// problem: the key set URL and, when the platform answered, the HTTP
// status. Errors a [Cache] returns for a failed fetch wrap one, reachable
// with errors.As, and still match [ErrUnavailable] (or [ErrKeyNotFound]
// when an older copy of the set is cached but lacks the kid).
type FetchError struct {
	// URL is the key set URL as registered.
	URL string
	// Status is the HTTP status of the answer; 0 when there was none
	// (network error, timeout, refused redirect).
	Status int
	// Err is the cause.
	Err error
}

// Error describes the failure, with the URL and status.
func (e *FetchError) Error() string {
	s := "fetching key set " + e.URL
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP status %d)", e.Status)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }

// Code is keyset_unavailable: the platform's key set could not be fetched.
func (e *FetchError) Code() lti.Code { return lti.CodeKeysetUnavailable }

// Defaults of a Cache.
const (
	DefaultTTL                = time.Hour
	DefaultMinRefreshInterval = 30 * time.Second
	DefaultMaxBytes           = 512 << 10
	DefaultFetchTimeout       = 5 * time.Second
)

// MaxRedirects is the most redirects the default policy follows.
const MaxRedirects = 3

// maxStaticSets bounds the memo of indexed static key sets.
const maxStaticSets = 256

// Option configures a Cache.
type Option func(*Cache)

// WithHTTPClient sets the client key sets are fetched with. Its Timeout,
// when set, applies in addition to the fetch timeout. Its CheckRedirect,
// when set, is the redirect policy (see [WithRedirectPolicy], which takes
// precedence); when nil, the Cache's same-origin default applies, not
// net/http's. The client itself is not modified.
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

// WithRedirectPolicy sets the policy for redirects of key set fetches, as
// http.Client.CheckRedirect: via[0] is the request for the key set URL. It
// replaces the default, which follows at most [MaxRedirects] redirects and
// only within the key set URL's origin (scheme, host and port). Whatever
// the policy, a redirect from https to http is never followed.
func WithRedirectPolicy(f func(req *http.Request, via []*http.Request) error) Option {
	return func(k *Cache) { k.redirect = f }
}

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
	redirect     func(req *http.Request, via []*http.Request) error

	mu      sync.RWMutex
	entries map[string]*entry

	staticMu sync.RWMutex
	static   map[jwk.Set]*staticIndex

	// meters, tracers, propagator: the OpenTelemetry options (nil: the
	// global ones); tel: the instruments NewCache resolves from them
	// (telemetry.go).
	meters     metric.MeterProvider
	tracers    trace.TracerProvider
	propagator propagation.TextMapPropagator
	tel        *instruments
}

// staticIndex is the index of a static key set and the identity of each
// key it was built from, in order. The set is a jwk.Set the host may
// change in place (remove a compromised key): before each use the index is
// checked against the set's current keys, which costs one read lock per
// key and no allocation, and is rebuilt when they differ.
type staticIndex struct {
	keys map[string]*PublicKey
	// refs are the key objects themselves, not only their addresses:
	// holding them keeps a removed key's memory from being reused by a
	// key added later, which would otherwise look unchanged.
	refs []jwk.Key
	// unstable: a key is not a pointer, so its identity cannot be checked;
	// such a set is indexed on every use.
	unstable bool
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
		static:       make(map[jwk.Set]*staticIndex),
	}
	for _, o := range opts {
		o(c)
	}
	// The fetch client is a copy, so the host's client is not changed and
	// the redirect policy is always ours around the host's.
	if c.client == nil {
		c.client = &http.Client{Timeout: DefaultFetchTimeout * 2}
	}
	policy := c.redirect
	if policy == nil {
		policy = c.client.CheckRedirect
	}
	if policy == nil {
		policy = sameOriginRedirects
	}
	fc := *c.client
	fc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return errors.New("key set fetch redirected from https to " + req.URL.Scheme)
		}
		return policy(req, via)
	}
	c.client = &fc
	c.tel = newInstruments(c.meters, c.tracers, c.propagator)
	return c
}

// sameOriginRedirects is the default redirect policy: at most MaxRedirects
// redirects, each to the origin (RFC 6454: scheme, host, port) of the key
// set URL. A key set is trust material: a redirect elsewhere would let
// whoever controls an open redirect on the platform's host supply it.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("key set fetch stopped after %d redirects", MaxRedirects)
	}
	if !sameOrigin(req.URL, via[0].URL) {
		return errors.New("key set fetch redirected to another origin")
	}
	return nil
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// Key implements Provider.
func (c *Cache) Key(ctx context.Context, reg registration.Registration, kid string) (*PublicKey, error) {
	if reg.KeySet != nil {
		c.tel.lookups.Add(ctx, 1, c.tel.static.Add...)
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
		c.tel.lookups.Add(ctx, 1, c.tel.hit.Add...)
		return k, nil // the hot path: no I/O, one read lock
	}
	c.tel.lookups.Add(ctx, 1, c.tel.miss.Add...)
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
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, lastErr)
		}
		if lastErr != nil {
			return nil, fmt.Errorf("%w (the last refresh failed: %w)", ErrKeyNotFound, lastErr)
		}
		return nil, ErrKeyNotFound
	}
	kidRefresh := fresh // the set is fresh but lacks the kid: key rotation

	set, err := c.fetch(ctx, url, have, kidRefresh)
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
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (the refresh failed: %w)", ErrKeyNotFound, err)
	}
	return nil, ErrKeyNotFound
}

// fetch gets and indexes the key set at rawURL. The URL is requested as
// registered: its query is sent byte for byte (net/url keeps RawQuery as
// given); only a fragment, which is never sent, is left out. Every error
// is a *FetchError.
//
// cached and kidRefresh say why it is fetched, for the metrics: a set the
// cache holds, and one that is fresh but lacks the kid.
func (c *Cache) fetch(ctx context.Context, rawURL string, cached, kidRefresh bool) (keys map[string]*PublicKey, err error) {
	ctx, call := c.tel.startFetch(ctx, rawURL, cached, kidRefresh)
	defer func() { call.end(ctx, err) }()
	fail := func(status int, err error) error { return &FetchError{URL: rawURL, Status: status, Err: err} }
	// The fetch is shared by every launch waiting on this URL, so it must
	// not die with the one request that happened to start it.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fail(0, err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	c.tel.inject(fctx, req.Header)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fail(0, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fail(resp.StatusCode, errors.New("the platform did not answer 200 OK"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		return nil, fail(resp.StatusCode, fmt.Errorf("reading key set: %w", err))
	}
	if int64(len(body)) > c.maxBytes {
		return nil, fail(resp.StatusCode, fmt.Errorf("key set larger than %d bytes", c.maxBytes))
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fail(resp.StatusCode, fmt.Errorf("parsing key set: %w", err))
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
		if k == nil {
			continue
		}
		kid := k.KeyID()
		if kid == "" || (k.KeyUsage() != "" && k.KeyUsage() != string(jwk.ForSignature)) {
			continue
		}
		if !verifyOp(k) {
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
		if r, ok := raw.(*rsa.PublicKey); ok && (r.N == nil || r.N.BitLen() < MinRSABits) {
			// RFC 7518 §3.3 (and §3.5 for PS*): a key of 2048 bits or
			// larger MUST be used. The key is left out, so a token signed
			// with it is refused as signed with an unknown key.
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

// MinRSABits is the smallest RSA modulus accepted for verification
// (RFC 7518 §3.3).
const MinRSABits = 2048

// verifyOp reports whether k may verify signatures by its key_ops: absent,
// or present and listing "verify" (RFC 7517 §4.3). A present key_ops that
// lacks "verify" (["encrypt"], ["sign"], []) rules verification out.
func verifyOp(k jwk.Key) bool {
	if _, present := k.Get(jwk.KeyOpsKey); !present {
		return true
	}
	for _, op := range k.KeyOps() {
		if op == jwk.KeyOpVerify {
			return true
		}
	}
	return false
}

func (c *Cache) staticKey(set jwk.Set, kid string) (*PublicKey, error) {
	c.staticMu.RLock()
	ix := c.static[set]
	c.staticMu.RUnlock()
	if ix == nil || !ix.current(set) {
		var err error
		if ix, err = indexStatic(set); err != nil {
			return nil, err
		}
		c.staticMu.Lock()
		if _, ok := c.static[set]; !ok && len(c.static) >= maxStaticSets {
			// A host that builds a new set per call would otherwise grow
			// the map without bound.
			clear(c.static)
		}
		c.static[set] = ix
		c.staticMu.Unlock()
	}
	if k, ok := ix.keys[kid]; ok {
		return k, nil
	}
	return nil, ErrKeyNotFound
}

// indexStatic indexes a static key set and records its keys' identities.
// The identities are taken before the index is built: a change made while
// indexing makes the next check fail and the set be indexed again.
func indexStatic(set jwk.Set) (*staticIndex, error) {
	ix := &staticIndex{refs: make([]jwk.Key, set.Len())}
	for i := range ix.refs {
		k, ok := set.Key(i)
		if _, stable := keyIdentity(k); !ok || !stable {
			ix.unstable = true
		}
		ix.refs[i] = k
	}
	var err error
	if ix.keys, err = index(set); err != nil {
		return nil, err
	}
	return ix, nil
}

// current reports whether set still holds exactly the keys ix was built
// from, in order. It does not see a key object changed in place (its
// fields Set); registration.Registration.KeySet documents that keys are
// replaced, not modified.
func (ix *staticIndex) current(set jwk.Set) bool {
	if ix.unstable || set.Len() != len(ix.refs) {
		return false
	}
	for i, ref := range ix.refs {
		k, ok := set.Key(i)
		if !ok {
			return false
		}
		id, _ := keyIdentity(k)
		if want, _ := keyIdentity(ref); id != want {
			return false
		}
	}
	return true
}

// keyIdentity is the address of the key object, for the pointer types
// jwx uses; stable is false for any other implementation.
func keyIdentity(k jwk.Key) (id uintptr, stable bool) {
	if k == nil {
		return 0, false
	}
	v := reflect.ValueOf(k)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return 0, false
	}
	return v.Pointer(), true
}
