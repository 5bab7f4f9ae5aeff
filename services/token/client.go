package token

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/ltikit/ltikit/internal/errbody"
	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/toolkey"
)

// ClientAssertionType is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Defaults of a Client.
const (
	// DefaultMaxBytes bounds a token endpoint response.
	DefaultMaxBytes = 1 << 20
	// DefaultFetchTimeout bounds one token request.
	DefaultFetchTimeout = 10 * time.Second
	// DefaultRefreshMargin is how long before expiry a cached token is
	// replaced; for short-lived tokens it shrinks to a tenth of the
	// lifetime.
	DefaultRefreshMargin = 30 * time.Second
	// DefaultAssertionLifetime is the exp - iat of a client assertion, and
	// its maximum.
	DefaultAssertionLifetime = 5 * time.Minute
	// DefaultExpiresIn is the lifetime assumed for a token whose answer has
	// no expires_in (RFC 6749 §5.1 makes it only RECOMMENDED).
	DefaultExpiresIn = 5 * time.Minute
	// DefaultRequestTimeout bounds the time one [Client.Do] call waits on
	// the service: until the response headers (the token, the one retry
	// after a 401 and redirects included), plus the time spent reading the
	// body. The time the caller spends between reads of the body does not
	// count.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultMaxRedirects is how many redirects [Client.Do] follows, each
	// to the same origin as the request only.
	DefaultMaxRedirects = 3
)

// maxEntries is the cache size past which expired entries are swept.
const maxEntries = 1024

// maxLifetime caps expires_in so absurd answers cannot overflow time math.
const maxLifetime = 366 * 24 * time.Hour

// Config holds the required dependencies of a Client.
type Config struct {
	// Signer signs client assertions with the tool's active key. Required;
	// usually a *toolkey.Keyring.
	Signer toolkey.Signer
}

// Option tunes a Client.
type Option func(*Client)

// WithHTTPClient sets the client that token requests and [Client.Do]
// requests are sent with. Default: a client without a timeout of its own
// (token requests are bounded by [WithFetchTimeout], Do calls by
// [WithRequestTimeout]; a Timeout of h applies too). Token requests are
// sent with a copy that follows no redirect; Do sends with a copy whose
// CheckRedirect refuses redirects off the platform or against
// [WithMaxRedirects] and [WithCrossOriginRedirects], then calls the
// original CheckRedirect, if any.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithClock sets the clock of the cache and of client assertions (tests).
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithMaxBytes bounds the size of a token endpoint response (default
// [DefaultMaxBytes]).
func WithMaxBytes(n int64) Option { return func(c *Client) { c.maxBytes = n } }

// WithFetchTimeout bounds one token request (default [DefaultFetchTimeout]).
func WithFetchTimeout(d time.Duration) Option { return func(c *Client) { c.fetchTimeout = d } }

// WithRequestTimeout bounds the time one [Client.Do] call waits on the
// service (default [DefaultRequestTimeout]): from the call to the response
// headers (the token, the retry after a 401 and redirects included), plus
// the time spent inside Read calls on the response body; the time the
// caller spends between reads does not count, and closing the body ends
// the call. Past it the call fails with an error wrapping [ErrTimeout]
// (and context.DeadlineExceeded). It applies on top of the HTTP client's
// own Timeout, if any, and of the caller's context.
func WithRequestTimeout(d time.Duration) Option { return func(c *Client) { c.requestTimeout = d } }

// WithMaxRedirects sets how many redirects [Client.Do] follows (default
// [DefaultMaxRedirects]; 0 follows none: the 3xx answer is returned). One
// more fails with an error wrapping [ErrRedirect]. Negative values are
// refused by New.
func WithMaxRedirects(n int) Option { return func(c *Client) { c.maxRedirects = n } }

// WithCrossOriginRedirects lets [Client.Do] follow redirects to another
// origin (scheme, host, port) than the request's, as long as the target is
// on the registration's platform or allowed by [WithHostPolicy]; the
// Authorization header is removed from such a redirected request, so the
// bearer token still never leaves the request's origin, and a redirect
// from https to http is refused all the same. By default (false) any
// redirect to another origin fails with [ErrRedirect].
func WithCrossOriginRedirects(allow bool) Option { return func(c *Client) { c.crossOrigin = allow } }

// WithRefreshMargin sets how long before its expiry a cached token is
// replaced (default [DefaultRefreshMargin]). The margin used is never more
// than a tenth of the token's lifetime.
func WithRefreshMargin(d time.Duration) Option { return func(c *Client) { c.margin = d } }

// WithAssertionLifetime sets exp - iat of client assertions (default and
// maximum [DefaultAssertionLifetime], docs/security.md, case 45).
func WithAssertionLifetime(d time.Duration) Option { return func(c *Client) { c.assertionTTL = d } }

// WithDefaultExpiresIn sets the lifetime assumed for a token answer without
// expires_in (default [DefaultExpiresIn]).
func WithDefaultExpiresIn(d time.Duration) Option { return func(c *Client) { c.defaultTTL = d } }

// WithHostPolicy lets [Client.Do] send bearer tokens to URLs off the
// registration's issuer and token endpoint origins, for platforms that
// serve their services from other hosts (e.g. one per institution). allow
// is asked only for URLs [OnPlatform] rejects; it must be strict (compare
// origins, not substrings).
func WithHostPolicy(allow func(reg registration.Registration, u *url.URL) bool) Option {
	return func(c *Client) { c.allow = allow }
}

// WithLogger sets the logger for token fetches (debug) and failures
// (warn). Tokens and assertions are never logged. Default: no logging.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithMeterProvider sets the OpenTelemetry MeterProvider the Client
// records with (default: the global one, otel.GetMeterProvider): token
// requests as ltikit.service.calls (operation token.request, with the HTTP
// status and result) and their duration, and ltikit.token.cache.lookups
// by hit or miss. docs/observability.md lists the metrics.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *Client) { c.meters = mp } }

// WithTracerProvider sets the OpenTelemetry TracerProvider of the
// Client's token request spans (default: the global one).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *Client) { c.tracers = tp } }

// WithPropagator sets the propagator that writes the trace context of the
// caller's context into the headers of token requests and of the requests
// [Client.Do] sends (default: the global one, otel.GetTextMapPropagator,
// read on each request).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *Client) { c.propagator = p }
}

// Client is a [Source] that gets access tokens with the OAuth 2 client
// credentials grant and a JWT client assertion (RFC 6749 §4.4, RFC 7523,
// 1EdTech Security Framework §4.1), caches them per issuer, client_id and
// scope set until shortly before they expire, and shares one token request
// between concurrent callers. It also sends service requests with
// [Client.Do]. It is safe for concurrent use; create it with [New].
type Client struct {
	signer       toolkey.Signer
	http         *http.Client
	now          func() time.Time
	maxBytes     int64
	fetchTimeout time.Duration
	margin       time.Duration
	assertionTTL time.Duration
	defaultTTL   time.Duration
	allow        func(registration.Registration, *url.URL) bool
	log          *slog.Logger

	requestTimeout time.Duration
	maxRedirects   int
	crossOrigin    bool

	// meters, tracers, propagator: the OpenTelemetry options; tel, the
	// instruments New resolves from them, and the cache lookup counter.
	meters     metric.MeterProvider
	tracers    trace.TracerProvider
	propagator propagation.TextMapPropagator
	tel        *telemetry.Service
	lookups    metric.Int64Counter
	hit, miss  telemetry.Attrs

	group singleflight.Group

	mu    sync.Mutex
	cache map[cacheKey]*entry
}

var _ Source = (*Client)(nil)

type cacheKey struct {
	issuer, clientID, scopes string
}

func (k cacheKey) flightKey() string {
	return k.issuer + "\x00" + k.clientID + "\x00" + k.scopes
}

type entry struct {
	token     string
	refreshAt time.Time // replace from here on
}

// New returns a Client signing its assertions with cfg.Signer.
func New(cfg Config, opts ...Option) (*Client, error) {
	if cfg.Signer == nil {
		return nil, errors.New("token: Config.Signer is nil")
	}
	c := &Client{
		signer:       cfg.Signer,
		http:         &http.Client{},
		now:          time.Now,
		maxBytes:     DefaultMaxBytes,
		fetchTimeout: DefaultFetchTimeout,
		margin:       DefaultRefreshMargin,
		assertionTTL: DefaultAssertionLifetime,
		defaultTTL:   DefaultExpiresIn,
		cache:        make(map[cacheKey]*entry),

		requestTimeout: DefaultRequestTimeout,
		maxRedirects:   DefaultMaxRedirects,
	}
	for _, o := range opts {
		o(c)
	}
	switch {
	case c.http == nil:
		return nil, errors.New("token: nil HTTP client")
	case c.now == nil:
		return nil, errors.New("token: nil clock")
	case c.maxBytes <= 0:
		return nil, errors.New("token: max bytes must be positive")
	case c.fetchTimeout <= 0:
		return nil, errors.New("token: fetch timeout must be positive")
	case c.margin < 0:
		return nil, errors.New("token: refresh margin must not be negative")
	case c.assertionTTL < time.Second || c.assertionTTL > DefaultAssertionLifetime:
		return nil, fmt.Errorf("token: assertion lifetime must be in [1s, %s]", DefaultAssertionLifetime)
	case c.defaultTTL <= 0:
		return nil, errors.New("token: default expires_in must be positive")
	case c.requestTimeout <= 0:
		return nil, errors.New("token: request timeout must be positive")
	case c.maxRedirects < 0:
		return nil, errors.New("token: max redirects must not be negative")
	}
	c.tel = telemetry.NewService(scope, c.meters, c.tracers, c.propagator)
	c.lookups = telemetry.Counter(telemetry.MeterProvider(c.meters).Meter(scope), telemetry.MetricTokenCacheLookup,
		"{lookup}", "Access token lookups in the token cache, by result (hit, miss).")
	c.hit = telemetry.NewAttrs(telemetry.KeyCacheResult.String("hit"))
	c.miss = telemetry.NewAttrs(telemetry.KeyCacheResult.String("miss"))
	return c, nil
}

// scope is the instrumentation scope of the Client's metrics and spans.
const scope = "github.com/ltikit/ltikit/services/token"

// NormalizeScopes returns scopes sorted, without duplicates and empty
// strings: the scope set a token is cached under and the order the scope
// parameter lists them in.
func NormalizeScopes(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func keyOf(reg registration.Registration, scopes []string) cacheKey {
	return cacheKey{issuer: reg.Issuer, clientID: reg.ClientID, scopes: strings.Join(NormalizeScopes(scopes), " ")}
}

// Token implements [Source]. It returns the cached token for reg and the
// scope set (order and duplicates do not matter) while it is valid for
// longer than the refresh margin; otherwise it requests one from
// reg.TokenEndpoint. Concurrent calls for the same key share one request;
// a caller whose ctx ends stops waiting, but the shared request goes on
// (bounded by [WithFetchTimeout]) so the others still get the token.
//
// Errors: [ErrNoTokenEndpoint] for a registration without a usable token
// endpoint or client_id; a *[RetrieveError] for an unusable answer of the
// token endpoint; the signer's error when the assertion cannot be signed;
// [ErrUnreachable] wrapping the transport's error when the token endpoint
// cannot be reached; ctx's error when the caller's ctx ends first.
func (c *Client) Token(ctx context.Context, reg registration.Registration, scopes []string) (string, error) {
	k := keyOf(reg, scopes)
	if tok, ok := c.cached(k); ok {
		c.lookups.Add(ctx, 1, c.hit.Add...)
		return tok, nil
	}
	c.lookups.Add(ctx, 1, c.miss.Add...)
	// A caller that has gone away starts no fetch; checked here because the
	// select below picks at random when both the result and ctx are ready.
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ch := c.group.DoChan(k.flightKey(), func() (any, error) {
		// Someone may have stored a token while this call was starting.
		if tok, ok := c.cached(k); ok {
			return tok, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fetchTimeout)
		defer cancel()
		return c.fetch(fctx, reg, k)
	})
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	}
}

// Invalidate implements [Source]: it drops the cached token for reg and
// scopes only if it is still token, so a late 401 for an old token does
// not evict a fresh one.
func (c *Client) Invalidate(reg registration.Registration, scopes []string, token string) {
	k := keyOf(reg, scopes)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cache[k]; ok && e.token == token {
		delete(c.cache, k)
	}
}

func (c *Client) cached(k cacheKey) (string, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[k]
	if !ok || !now.Before(e.refreshAt) {
		return "", false
	}
	return e.token, true
}

func (c *Client) store(k cacheKey, e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cache) >= maxEntries {
		now := c.now()
		for key, x := range c.cache {
			if !now.Before(x.refreshAt) {
				delete(c.cache, key)
			}
		}
	}
	c.cache[k] = e
}

// fetch runs the client credentials grant and caches the result, in a
// span of its own, counted as a token.request service call.
func (c *Client) fetch(ctx context.Context, reg registration.Registration, k cacheKey) (string, error) {
	endpoint, err := tokenEndpoint(reg)
	if err != nil {
		return "", err
	}
	ctx, call := c.tel.Start(ctx, telemetry.OpTokenRequest, http.MethodPost, endpoint)
	status := 0
	tok, err := c.grant(ctx, reg, k, endpoint, &status)
	call.End(ctx, status, err)
	return tok, err
}

// grant is fetch's work; it sets *status to the token endpoint's HTTP
// status once it answers.
func (c *Client) grant(ctx context.Context, reg registration.Registration, k cacheKey, endpoint string, status *int) (string, error) {
	start := c.now()
	assertion, err := c.Assertion(ctx, reg)
	if err != nil {
		return "", err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {ClientAssertionType},
		"client_assertion":      {assertion},
	}
	if k.scopes != "" {
		form.Set("scope", k.scopes)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("token: building the token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	c.tel.Inject(ctx, req.Header)
	// Redirects are not followed: the assertion goes to the token
	// endpoint only, and a 3xx answer is a refusal.
	hc := *c.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		// The transport's error names the URL as registered; the form (and
		// with it the assertion) is never part of it.
		c.warn(ctx, "token request failed", reg, k, slog.String("method", http.MethodPost),
			slog.String("url", errbody.RawURL(endpoint)), slog.String("error", err.Error()))
		return "", fmt.Errorf("%w: requesting a token: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	*status = resp.StatusCode
	var tr *Response
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		var body []byte
		body, err = io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
		if err != nil {
			return "", fmt.Errorf("%w: reading the token response: %w", ErrUnreachable, err)
		}
		if int64(len(body)) > c.maxBytes {
			err = &RetrieveError{Status: resp.StatusCode, Excerpt: excerpt(resp.StatusCode, body), cause: ErrResponseTooLarge}
		} else {
			tr, err = ParseResponse(resp.StatusCode, body)
		}
	} else {
		// An error answer is read only as far as its §5.2 members and an
		// excerpt need: the rest of a large error page is never read.
		_, err = ParseResponse(resp.StatusCode, errbody.Read(resp.Body, min(c.maxBytes, errbody.ReadLimit)))
	}
	if err != nil {
		var te *RetrieveError
		if errors.As(err, &te) {
			te.Method, te.URL = http.MethodPost, errbody.RawURL(endpoint)
			te.ContentType = errbody.Clean(resp.Header.Get("Content-Type"), errbody.FieldBytes)
			te.KeyID = assertionKeyID(assertion)
			c.warn(ctx, "token request refused", reg, k, append(te.LogAttrs(), slog.String("error", err.Error()))...)
		} else {
			c.warn(ctx, "token request refused", reg, k, slog.String("error", err.Error()))
		}
		return "", err
	}

	lifetime := tr.ExpiresIn
	switch {
	case !tr.HasExpiresIn:
		lifetime = c.defaultTTL
	case lifetime > maxLifetime:
		lifetime = maxLifetime
	}
	if tr.HasExpiresIn && lifetime <= 0 {
		// Already expired by its own account: hand it to the callers
		// waiting now, never cache it.
		return tr.AccessToken, nil
	}
	margin := min(c.margin, lifetime/10)
	c.store(k, &entry{token: tr.AccessToken, refreshAt: start.Add(lifetime - margin)})
	if c.log != nil {
		c.log.LogAttrs(ctx, slog.LevelDebug, "token: access token obtained",
			slog.String("issuer", reg.Issuer), slog.String("client_id", reg.ClientID),
			slog.String("scope", k.scopes), slog.Duration("expires_in", lifetime))
	}
	return tr.AccessToken, nil
}

// warn logs a failed token request with ctx, the request's: a handler
// that adds the request id (or a trace id) from the context puts it on the
// line.
func (c *Client) warn(ctx context.Context, msg string, reg registration.Registration, k cacheKey, attrs ...slog.Attr) {
	if c.log == nil {
		return
	}
	attrs = append([]slog.Attr{slog.String("issuer", reg.Issuer), slog.String("client_id", reg.ClientID), slog.String("scope", k.scopes)}, attrs...)
	c.log.LogAttrs(ctx, slog.LevelWarn, "token: "+msg, attrs...)
}

// tokenEndpoint checks what the grant needs from reg.
func tokenEndpoint(reg registration.Registration) (string, error) {
	if reg.ClientID == "" {
		return "", fmt.Errorf("%w: the registration has no client_id", ErrNoTokenEndpoint)
	}
	if reg.TokenEndpoint == "" {
		return "", ErrNoTokenEndpoint
	}
	u, err := url.Parse(reg.TokenEndpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("%w: the token endpoint is not an absolute http(s) URL", ErrNoTokenEndpoint)
	}
	return reg.TokenEndpoint, nil
}

// Assertion returns a signed client assertion for reg (RFC 7523 §3,
// 1EdTech Security Framework §4.1.1): iss = sub = client_id, aud =
// reg.TokenAudience or else reg.TokenEndpoint, a random jti (128 bits from
// crypto/rand), iat = now and exp = now + the assertion lifetime (at most
// five minutes). [Client.Token] uses it; it is exported for platforms that
// need the assertion elsewhere and for tests.
func (c *Client) Assertion(ctx context.Context, reg registration.Registration) (string, error) {
	if _, err := tokenEndpoint(reg); err != nil {
		return "", err
	}
	aud := reg.TokenAudience
	if aud == "" {
		aud = reg.TokenEndpoint
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token: reading randomness for jti: %w", err)
	}
	now := c.now().Unix()
	claims := map[string]any{
		"iss": reg.ClientID,
		"sub": reg.ClientID,
		"aud": aud,
		"jti": base64.RawURLEncoding.EncodeToString(b[:]),
		"iat": now,
		"exp": now + int64(c.assertionTTL/time.Second),
	}
	s, err := c.signer.SignJWT(ctx, claims)
	if err != nil {
		return "", fmt.Errorf("token: signing the client assertion: %w", err)
	}
	return s, nil
}

// assertionKeyID returns the kid of a compact JWS's protected header, or
// "" (the header is the tool's own; only the kid is read from it).
func assertionKeyID(jws string) string {
	head, _, _ := strings.Cut(jws, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		KeyID string `json:"kid"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return errbody.Clean(h.KeyID, errbody.FieldBytes)
}
