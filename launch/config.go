package launch

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// Config holds the required dependencies of a Tool.
//
// The Tool uses four stores; each may live in its own backend (platform
// registrations in the host's SQL database, login states in Redis, ...).
// Set each store field, or set Storage to one adapter that holds them all:
// it fills every store field left nil, so Storage plus an explicit store
// uses the explicit one. [New] names every store still missing.
type Config struct {
	// Registrations finds platform registrations, at login and at launch.
	// Required (or Storage).
	Registrations registration.Store
	// Deployments finds deployments, at launch and in [Tool.Resume], and is
	// where a [DeploymentPolicy] such as [RecordDeployments] finds the
	// deployment it recorded. Required (or Storage).
	Deployments deployment.Store
	// States keeps the login records: one PutState at login, one TakeState
	// at launch. Required (or Storage).
	States nonce.StateStore
	// Nonces keeps the nonces the state store does not carry. Not used,
	// and not needed, when States implements nonce.Carrier with
	// CarriesNonce() true; otherwise required (or Storage).
	Nonces nonce.Store
	// Storage is a convenience: one adapter holding all four stores (such
	// as adapters/memory or adapters/gorm). It fills every store field left
	// nil. When it fills States, the carrier test above is made on it.
	Storage storage.Adapter
	// BaseURL is the tool's absolute base URL, e.g. https://tool.example.com.
	// Required. The redirect URI and the allowed target_link_uri host are
	// derived from it, never from a request's Host header. A scheme (http
	// or https), a host and an optional path only: [New] refuses a query, a
	// fragment (even a bare "?" or "#") and user information.
	BaseURL string
	// RedirectURI is the tool's registered redirect (launch) URI. Default:
	// BaseURL + "/lti/launch".
	RedirectURI string
	// Keys finds platform keys. Default: a keys.Cache with its defaults,
	// recording with the Tool's MeterProvider and TracerProvider
	// ([WithMeterProvider], [WithTracerProvider]).
	Keys keys.Provider
}

// Defaults of a Tool.
const (
	DefaultClockSkew    = 60 * time.Second
	DefaultMaxTokenAge  = 10 * time.Minute
	DefaultStateTTL     = 10 * time.Minute
	DefaultMaxBodyBytes = 256 << 10
	DefaultCookiePrefix = "ltikit_state_"
	// DefaultMaxStateCookies is how many of the tool's state cookies a
	// browser holds at once; a login beyond it expires the oldest.
	DefaultMaxStateCookies = 10
	// DefaultStorageTimeout is how long the platform storage pages wait for
	// each answer of the platform's frame before they go on without it.
	DefaultStorageTimeout = 2 * time.Second
)

// maxParamLen bounds each login initiation parameter; lti_message_hint is
// opaque to the tool and may be long.
const (
	maxParamLen       = 2048
	maxMessageHintLen = 16 << 10
)

// Option tunes a Tool.
type Option func(*options)

type options struct {
	now          func() time.Time
	skew         time.Duration
	maxAge       time.Duration
	stateTTL     time.Duration
	algs         map[jwa.SignatureAlgorithm]bool
	messageTypes map[string]bool
	targetHosts  map[string]bool
	maxBody      int64
	cookiePrefix string
	// partitioned, hostPrefix, maxCookies: the state cookie (cookie.go).
	partitioned bool
	hostPrefix  bool
	maxCookies  int
	// storage enables platform storage; storageWait bounds each message
	// exchange of its pages (storage.go).
	storage      bool
	storageWait  time.Duration
	logger       *slog.Logger // nil: slog.Default()
	errorHandler func(w http.ResponseWriter, r *http.Request, err *lti.Error)
	audiences    map[string]bool
	// deploymentPolicy decides unknown deployments of known platforms
	// (policy.go); nil refuses them.
	deploymentPolicy DeploymentPolicy
	// meters, tracers: the OpenTelemetry providers (nil: the global ones);
	// traceSubject puts the sub on the launch span (telemetry.go).
	meters       metric.MeterProvider
	tracers      trace.TracerProvider
	traceSubject bool
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithClockSkew sets the tolerance for exp and iat (default 60 s).
func WithClockSkew(d time.Duration) Option { return func(o *options) { o.skew = d } }

// WithMaxTokenAge sets how old (by iat) an id_token may be (default 10
// minutes); 0 disables the check.
func WithMaxTokenAge(d time.Duration) Option { return func(o *options) { o.maxAge = d } }

// WithStateTTL sets how long a login state stays usable (default 10 minutes).
func WithStateTTL(d time.Duration) Option { return func(o *options) { o.stateTTL = d } }

// WithAlgorithms replaces the allowed signature algorithms (default RS256).
// "none" and the HMAC algorithms are never allowed: 1EdTech Security
// Framework §5.1.3 forbids symmetric signatures on id_tokens.
func WithAlgorithms(algs ...jwa.SignatureAlgorithm) Option {
	return func(o *options) {
		o.algs = make(map[jwa.SignatureAlgorithm]bool, len(algs))
		for _, a := range algs {
			o.algs[a] = true
		}
	}
}

// WithMessageTypes allows message types beyond LtiResourceLinkRequest,
// LtiDeepLinkingRequest and LtiSubmissionReviewRequest.
func WithMessageTypes(types ...string) Option {
	return func(o *options) {
		for _, t := range types {
			o.messageTypes[t] = true
		}
	}
}

// WithTargetHosts allows target_link_uri values on these hosts (host or
// host:port) besides the BaseURL's.
func WithTargetHosts(hosts ...string) Option {
	return func(o *options) {
		for _, h := range hosts {
			o.targetHosts[strings.ToLower(h)] = true
		}
	}
}

// WithTrustedAudiences lists further audiences a multi-audience id_token
// may name besides the client_id (OIDC Core §3.1.3.7 step 3).
func WithTrustedAudiences(aud ...string) Option {
	return func(o *options) {
		for _, a := range aud {
			o.audiences[a] = true
		}
	}
}

// WithMaxBodyBytes bounds request bodies (default 256 KiB).
func WithMaxBodyBytes(n int64) Option { return func(o *options) { o.maxBody = n } }

// WithCookiePrefix sets the state cookie name prefix (default "ltikit_state_").
func WithCookiePrefix(p string) Option { return func(o *options) { o.cookiePrefix = p } }

// WithPartitionedCookie sets whether the state cookie carries the
// Partitioned attribute (CHIPS; default true). A partitioned cookie is kept
// per top-level site, so a browser that blocks third-party cookies still
// keeps it for a tool framed by the platform, and sends it back with the
// launch that ends in the same frame. Turn it off only for a browser that
// refuses the attribute.
func WithPartitionedCookie(on bool) Option { return func(o *options) { o.partitioned = on } }

// WithHostPrefix sets whether the state cookie's name starts with
// "__Host-" when the BaseURL is https (default true). The prefix makes the
// browser refuse the cookie unless it is Secure, has Path=/ and no Domain,
// so a sibling subdomain cannot plant a state cookie for the tool. Over
// plain http (local development) the prefix is never used.
func WithHostPrefix(on bool) Option { return func(o *options) { o.hostPrefix = on } }

// WithMaxStateCookies bounds how many of the tool's state cookies a browser
// keeps at once (default 10): a login that would exceed it expires the
// oldest, so a page that sends a browser through the login many times does
// not make every later request carry kilobytes of cookies. Each login has
// a cookie of its own, so the bound is also how many launches of one
// browser can be in flight at once.
func WithMaxStateCookies(n int) Option { return func(o *options) { o.maxCookies = n } }

// WithPlatformStorage sets whether a login that carries lti_storage_target
// also binds its state to the browser through the platform's storage (LTI
// Client Side postMessages, default true): the login answers a small page
// that stores a per-login secret in the platform's frame before it goes on
// to the platform, and a launch that arrives without the state cookie reads
// the secret back the same way. See docs/iframes-and-cookies.md.
func WithPlatformStorage(on bool) Option { return func(o *options) { o.storage = on } }

// WithPlatformStorageTimeout bounds how long the platform storage pages wait
// for each answer of the platform (default 2 s); on a timeout the login goes
// on with the cookie alone and the launch is refused with invalid_state.
func WithPlatformStorageTimeout(d time.Duration) Option {
	return func(o *options) { o.storageWait = d }
}

// WithLogger sets the logger of refused logins and launches (default
// slog.Default(), at level Info). LoginHandler and LaunchHandler log each
// refusal as "lti login refused" or "lti launch refused" with its code,
// its error (causes included, never shown to the user) and the values that
// locate the problem, listed in the package documentation; state, nonce,
// id_token, signature, cookie, browser secret, login hints and tokens are
// never logged. slog.New(slog.DiscardHandler) silences them; nil means
// the default, read when a refusal is logged (so a later slog.SetDefault
// applies).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithErrorHandler replaces how LoginHandler and LaunchHandler render errors
// (default [WriteError]).
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err *lti.Error)) Option {
	return func(o *options) { o.errorHandler = h }
}

func (c *Config) validate() (*url.URL, error) {
	if err := c.fillStores(); err != nil {
		return nil, err
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("launch: Config.BaseURL %q must be an absolute http(s) URL", c.BaseURL)
	}
	if err := checkBase(c.BaseURL, base); err != nil {
		return nil, err
	}
	if c.RedirectURI == "" {
		c.RedirectURI = strings.TrimRight(c.BaseURL, "/") + "/lti/launch"
	}
	r, err := url.Parse(c.RedirectURI)
	if err != nil || (r.Scheme != "https" && r.Scheme != "http") || r.Host == "" {
		return nil, fmt.Errorf("launch: Config.RedirectURI %q must be an absolute http(s) URL", c.RedirectURI)
	}
	return base, nil
}

// checkBase refuses a BaseURL that is not a plain origin and path: the
// redirect URI and the login and launch URLs are the base with a path
// appended, so a query or fragment would end up before that path
// ("https://tool.example?x=1" + "/lti/launch" is a query of x=1/lti/launch),
// and user information has no place in a URL the tool registers with a
// platform (RFC 3986 §3.2.1 deprecates a password in it). The raw string is
// checked as well as the parsed URL, so a bare "?" or "#" is refused too.
func checkBase(raw string, base *url.URL) error {
	var what string
	switch {
	case base.User != nil:
		what = "user information (user@ or user:password@)"
	case base.RawQuery != "" || base.ForceQuery || strings.Contains(raw, "?"):
		what = "a query (?…)"
	case base.Fragment != "" || strings.Contains(raw, "#"):
		what = "a fragment (#…)"
	default:
		return nil
	}
	return fmt.Errorf("launch: Config.BaseURL %q has %s; it must be a scheme, host and optional path only, "+
		"such as https://tool.example.com or https://example.com/tool", raw, what)
}

// fillStores fills the store fields left nil from Storage and reports
// every store the Tool needs that is still missing, by field name.
func (c *Config) fillStores() error {
	if c.Storage != nil {
		if c.Registrations == nil {
			c.Registrations = c.Storage
		}
		if c.Deployments == nil {
			c.Deployments = c.Storage
		}
		if c.States == nil {
			c.States = c.Storage
		}
		if c.Nonces == nil {
			c.Nonces = c.Storage
		}
	}
	var missing []string
	if c.Registrations == nil {
		missing = append(missing, "Registrations")
	}
	if c.Deployments == nil {
		missing = append(missing, "Deployments")
	}
	switch {
	case c.States == nil && c.Nonces == nil:
		missing = append(missing, "States", "Nonces (not needed with a States that carries the nonce)")
	case c.States == nil:
		missing = append(missing, "States")
	case c.Nonces == nil && !carries(c.States):
		missing = append(missing, "Nonces (the state store does not carry the nonce)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("launch: Config has no store for %s; set them, or Config.Storage for all",
			strings.Join(missing, ", "))
	}
	return nil
}

// carries reports whether the state store consumes the nonce with the
// state (nonce.Carrier), so no separate nonce store is used.
func carries(s nonce.StateStore) bool {
	c, ok := s.(nonce.Carrier)
	return ok && c.CarriesNonce()
}
