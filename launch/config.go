package launch

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/storage"
)

// Config holds the required dependencies of a Tool.
type Config struct {
	// Storage finds registrations and deployments and keeps states and
	// nonces. Required.
	Storage storage.Adapter
	// BaseURL is the tool's absolute base URL, e.g. https://tool.example.com.
	// Required. The redirect URI and the allowed target_link_uri host are
	// derived from it, never from a request's Host header.
	BaseURL string
	// RedirectURI is the tool's registered redirect (launch) URI. Default:
	// BaseURL + "/lti/launch".
	RedirectURI string
	// Keys finds platform keys. Default: a keys.Cache with its defaults.
	Keys keys.Provider
}

// Defaults of a Tool.
const (
	DefaultClockSkew    = 60 * time.Second
	DefaultMaxTokenAge  = 10 * time.Minute
	DefaultStateTTL     = 10 * time.Minute
	DefaultMaxBodyBytes = 256 << 10
	DefaultCookiePrefix = "ltikit_state_"
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
	logger       *slog.Logger
	errorHandler func(w http.ResponseWriter, r *http.Request, err *lti.Error)
	audiences    map[string]bool
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

// WithLogger sets the logger for refused launches. Causes and unverified
// input are logged here, never shown to the user; state, nonce and token
// values are never logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithErrorHandler replaces how LoginHandler and LaunchHandler render errors
// (default [WriteError]).
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err *lti.Error)) Option {
	return func(o *options) { o.errorHandler = h }
}

func (c *Config) validate() (*url.URL, error) {
	if c.Storage == nil {
		return nil, errors.New("launch: Config.Storage is nil")
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("launch: Config.BaseURL %q must be an absolute http(s) URL", c.BaseURL)
	}
	if c.RedirectURI == "" {
		c.RedirectURI = strings.TrimRight(c.BaseURL, "/") + "/lti/launch"
	}
	r, err := url.Parse(c.RedirectURI)
	if err != nil || (r.Scheme != "https" && r.Scheme != "http") || r.Host == "" {
		return nil, fmt.Errorf("launch: Config.RedirectURI %q must be an absolute http(s) URL", c.RedirectURI)
	}
	if c.Keys == nil {
		c.Keys = keys.NewCache()
	}
	return base, nil
}

func carries(s storage.Adapter) bool {
	c, ok := s.(nonce.Carrier)
	return ok && c.CarriesNonce()
}
