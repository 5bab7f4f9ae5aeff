package dynreg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// Defaults of a Handler.
const (
	// DefaultTimeout bounds each request to the platform: the
	// configuration fetch and the registration post.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxBodyBytes bounds each answer of the platform.
	DefaultMaxBodyBytes = 64 << 10
	// MaxRedirects is how many redirects the configuration fetch follows,
	// all within the openid_configuration URL's origin. The registration
	// post follows none.
	MaxRedirects = 3
	// maxTokenLength bounds the registration_token parameter.
	maxTokenLength = 16 << 10
)

// Default paths below Config.BaseURL, those of launch.Config and of the
// demo tool.
const (
	DefaultLoginPath  = "/lti/login"
	DefaultLaunchPath = "/lti/launch"
	DefaultJWKSPath   = "/.well-known/jwks.json"
	// DefaultRegisterPath is a conventional path for the Handler itself,
	// the registration URL an administrator pastes into the platform.
	DefaultRegisterPath = "/lti/register"
)

// Config describes the tool to the platforms it registers with and says
// what happens with a registration. BaseURL, ClientName and a place for the
// results (Registrar, or OnPending for hosts that activate every
// registration by hand) are required; every URL defaults from BaseURL.
type Config struct {
	// BaseURL is the tool's absolute base URL, e.g.
	// https://tool.example.com. Its host is the lti-tool-configuration
	// domain. Required.
	BaseURL string
	// LoginURL is the OIDC login initiation URL (initiate_login_uri).
	// Default: BaseURL + "/lti/login".
	LoginURL string
	// RedirectURIs are the launch URLs (redirect_uris). Default:
	// [BaseURL + "/lti/launch"].
	RedirectURIs []string
	// TargetLinkURI is the default launch URL (target_link_uri). Default:
	// RedirectURIs[0].
	TargetLinkURI string
	// JWKSURL is the tool's public key set (jwks_uri). Default: BaseURL +
	// "/.well-known/jwks.json".
	JWKSURL string
	// DeepLinkingURL is the target_link_uri of the LtiDeepLinkingRequest
	// message, offered to platforms that list it in messages_supported.
	// Empty: the tool offers no deep linking.
	DeepLinkingURL string
	// DeepLinkingPlacements are the placements asked for the deep linking
	// message; those the platform does not list are dropped. Optional.
	DeepLinkingPlacements []string
	// ClientName is the tool's name (client_name). Required.
	ClientName string
	// Description says what the tool does. Optional.
	Description string
	// LogoURL is the tool's logo (logo_uri). Optional.
	LogoURL string
	// Scopes are the LTI Advantage scopes to ask for (e.g.
	// [lti.ScopeAGSLineItem], [lti.ScopeAGSScore]); only those the platform lists in
	// scopes_supported are asked for. Optional.
	Scopes []string
	// Claims are the id_token claims to ask for. Default: [DefaultClaims].
	Claims []string
	// CustomParameters are sent with every launch. Optional.
	CustomParameters map[string]string

	// Registrar stores approved registrations and their deployment.
	// Required unless OnPending is set and Approve never approves.
	Registrar storage.Registrar
	// Approve decides, before anything is posted to the platform, whether
	// the tool registers with it. Registration is an administrator's act:
	// without Approve every registration is refused (registration_not_allowed) unless
	// the Handler was made with [AllowAll].
	Approve func(ctx context.Context, req *Request) (Decision, error)
	// OnPending receives the registrations Approve answered [Pending]
	// for, after the platform accepted them, instead of the Registrar; an
	// administrator activates them later (e.g. with
	// storage.Registrar.CreateRegistration). An error is shown to the
	// administrator as internal_error; the platform has registered the tool
	// all the same. Required for Pending decisions.
	OnPending func(ctx context.Context, res *Result) error
	// OnRegistered is called after an approved registration was stored.
	// Optional.
	OnRegistered func(ctx context.Context, res *Result)
}

// Verdict is the outcome of an Approve hook.
type Verdict int

// Verdicts. The zero value refuses.
const (
	// Refuse refuses the registration; nothing is posted to the platform.
	Refuse Verdict = iota
	// Approve posts the registration and stores the platform's answer.
	Approve
	// Pending posts the registration and hands the answer to
	// Config.OnPending instead of storing it.
	Pending
)

// Decision is what an Approve hook decided.
type Decision struct {
	// Verdict is Refuse (the zero value), Approve or Pending.
	Verdict Verdict
	// Reason is shown to the administrator on the last page: why the
	// registration was refused, or what happens to a pending one.
	Reason string
}

// Request is what an Approve hook decides on.
type Request struct {
	// ConfigurationURL is the openid_configuration URL the platform gave.
	ConfigurationURL string
	// Platform is the platform's validated configuration.
	Platform *PlatformConfiguration
	// Tool is the registration request the Handler will post. The hook
	// may change it, e.g. add custom parameters for this platform.
	Tool *ToolConfiguration
	// MissingScopes are the Config.Scopes the platform does not list in
	// scopes_supported, left out of Tool.Scope.
	MissingScopes []string
	// HasRegistrationToken reports whether the initiation request carried
	// a registration_token (some platforms send none). The token itself is
	// never handed out.
	HasRegistrationToken bool
	// HTTPRequest is the registration initiation request, e.g. for a
	// one-time token of the host's own in the URL, or the admin's session.
	HTTPRequest *http.Request
}

// Result is a registration the platform accepted.
type Result struct {
	// Registration is the registration to store: the platform's issuer and
	// endpoints, and the client_id it issued.
	Registration registration.Registration
	// DeploymentID is the deployment the platform created with the
	// registration, or "" when it sent none (some platforms create
	// deployments later; see launch's deployment policy).
	DeploymentID string
	// Platform is the platform's configuration.
	Platform *PlatformConfiguration
	// Tool is the registration request as posted.
	Tool *ToolConfiguration
	// Answer is the platform's answer to it.
	Answer *ToolConfiguration
	// Scopes are the scopes the platform granted (its answer's scope, or
	// what was asked for when it does not say).
	Scopes []string
	// MissingScopes are the asked-for scopes the platform did not grant.
	MissingScopes []string
	// Pending reports whether the registration went to Config.OnPending
	// rather than to the Registrar.
	Pending bool
	// Existing reports whether the Registrar already held an identical
	// registration (the platform issued the same client_id again); the
	// deployment was added to it.
	Existing bool
}

// Option tunes a Handler.
type Option func(*options)

type options struct {
	client      *http.Client
	timeout     time.Duration
	maxBody     int64
	policy      urlPolicy
	algs        map[string]bool
	allowAll    bool
	precheck    func(*http.Request) error
	logger      *slog.Logger
	closeOrigin string

	issuerExceptions []issuerException // WithIssuerException (issuer.go)
	optErrs          []error           // malformed options, reported by New
}

func newOptions(opts []Option) *options {
	o := &options{
		client:  http.DefaultClient,
		timeout: DefaultTimeout,
		maxBody: DefaultMaxBodyBytes,
		policy:  urlPolicy{insecureHosts: map[string]bool{}},
		algs:    map[string]bool{"RS256": true},
		logger:  slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithHTTPClient sets the client for requests to the platform (default
// http.DefaultClient). Its CheckRedirect is replaced: see [MaxRedirects].
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) {
		if c != nil {
			o.client = c
		}
	}
}

// WithTimeout bounds each request to the platform (default 10 s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithMaxBodyBytes bounds each answer of the platform (default 64 KiB).
func WithMaxBodyBytes(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxBody = n
		}
	}
}

// WithInsecureHTTP allows plain http URLs on these hosts (host names
// without port, e.g. an LMS on a private test network). Loopback hosts
// (localhost, 127.0.0.0/8, ::1) are always allowed; every other URL must be
// https.
func WithInsecureHTTP(hosts ...string) Option {
	return func(o *options) {
		for _, h := range hosts {
			o.policy.insecureHosts[strings.ToLower(h)] = true
		}
	}
}

// WithAlgorithms sets the id_token signature algorithms the tool accepts;
// the platform must offer one (default RS256). Match launch.WithAlgorithms.
func WithAlgorithms(algs ...string) Option {
	return func(o *options) {
		o.algs = make(map[string]bool, len(algs))
		for _, a := range algs {
			o.algs[a] = true
		}
	}
}

// AllowAll approves every registration that has no Approve hook: anyone
// who can reach the registration URL registers a platform with the tool.
// Meant for sandboxes and local development only.
func AllowAll() Option { return func(o *options) { o.allowAll = true } }

// WithPrecheck runs check on the initiation request before anything is
// fetched, e.g. to require a one-time token of the host's own in the URL or
// an admin session, so that strangers cannot make the tool fetch URLs. An
// error refuses the registration: an *[Error] as it is, any other error as
// registration_not_allowed (build your own refusal with [NotAllowed]).
func WithPrecheck(check func(r *http.Request) error) Option {
	return func(o *options) { o.precheck = check }
}

// WithLogger sets the logger for refused and completed registrations.
// Registration tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithCloseTargetOrigin sets the targetOrigin of the
// org.imsglobal.lti.close message the last page posts to the platform's
// window. The default is the origin of the openid_configuration URL, the
// platform's own pages; "*" (any origin, as the spec's example) is allowed
// but not recommended.
func WithCloseTargetOrigin(origin string) Option {
	return func(o *options) { o.closeOrigin = origin }
}

// Handler serves a tool's registration initiation URL (LTI Dynamic
// Registration 1.0 §3.3): it fetches and validates the platform's
// configuration, asks Config.Approve, posts the tool's configuration and
// stores the platform's answer, then shows the administrator a page that
// closes the platform's registration dialog. Make one with [New]; it is
// safe for concurrent use.
type Handler struct {
	cfg    Config
	o      *options
	domain string
	get    *http.Client // the configuration fetch: same-origin redirects
	post   *http.Client // the registration post: no redirects
}

// New checks cfg, fills in its defaults and returns the Handler.
func New(cfg Config, opts ...Option) (*Handler, error) {
	o := newOptions(opts)
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("dynreg: Config.BaseURL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	b := strings.TrimRight(cfg.BaseURL, "/")
	if cfg.ClientName == "" {
		return nil, errors.New("dynreg: Config.ClientName is empty")
	}
	if cfg.Registrar == nil && cfg.OnPending == nil {
		return nil, errors.New("dynreg: Config.Registrar is nil and there is no OnPending hook")
	}
	if cfg.LoginURL == "" {
		cfg.LoginURL = b + DefaultLoginPath
	}
	if len(cfg.RedirectURIs) == 0 {
		cfg.RedirectURIs = []string{b + DefaultLaunchPath}
	}
	cfg.RedirectURIs = append([]string(nil), cfg.RedirectURIs...)
	if cfg.TargetLinkURI == "" {
		cfg.TargetLinkURI = cfg.RedirectURIs[0]
	}
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = b + DefaultJWKSPath
	}
	if len(cfg.Claims) == 0 {
		cfg.Claims = DefaultClaims
	}
	cfg.Claims = append([]string(nil), cfg.Claims...)
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	cfg.DeepLinkingPlacements = append([]string(nil), cfg.DeepLinkingPlacements...)
	cfg.CustomParameters = cloneMap(cfg.CustomParameters)
	urls := []struct{ name, v string }{
		{"LoginURL", cfg.LoginURL}, {"TargetLinkURI", cfg.TargetLinkURI}, {"JWKSURL", cfg.JWKSURL},
		{"DeepLinkingURL", cfg.DeepLinkingURL}, {"LogoURL", cfg.LogoURL},
	}
	for i, r := range cfg.RedirectURIs {
		urls = append(urls, struct{ name, v string }{fmt.Sprintf("RedirectURIs[%d]", i), r})
	}
	for _, u := range urls {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.Fragment != "" {
			return nil, fmt.Errorf("dynreg: Config.%s %q must be an absolute http(s) URL without fragment", u.name, u.v)
		}
	}
	if o.closeOrigin != "" && o.closeOrigin != "*" {
		if u, err := url.Parse(o.closeOrigin); err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("dynreg: close target origin %q must be \"*\" or an origin", o.closeOrigin)
		}
		o.closeOrigin = strings.TrimSuffix(o.closeOrigin, "/")
	}
	if err := errors.Join(o.optErrs...); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, o: o, domain: base.Host}
	h.get, h.post = o.clients()
	return h, nil
}

// ToolConfiguration returns the registration request the Handler would
// post to a platform with this configuration, e.g. to show it to an
// administrator beforehand.
func (h *Handler) ToolConfiguration(p *PlatformConfiguration) *ToolConfiguration {
	t, _ := h.buildTool(p)
	return t
}
