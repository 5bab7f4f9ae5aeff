package nrps

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/internal/svchttp"
	"github.com/ltikit/ltikit/services/token"
)

// Scope is the one scope of the Names and Role Provisioning Services
// (NRPS 2.0 §2.1); every call's token is requested with it alone.
const Scope = lti.ScopeNRPSMembership

// MediaTypeMembershipContainer is the media type of a membership page
// (NRPS 2.0 §2.2), sent as Accept.
const MediaTypeMembershipContainer = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"

// DefaultMaxResponseBytes bounds each page unless [WithMaxResponseBytes]
// says otherwise: 4 MiB.
const DefaultMaxResponseBytes = 4 << 20

// Defaults of the other limits of a Client.
const (
	// DefaultTimeout bounds the time one call waits on the platform
	// ([WithTimeout]).
	DefaultTimeout = svchttp.DefaultTimeout
	// DefaultMaxPages caps the pages of one list ([WithMaxPages]).
	DefaultMaxPages = svchttp.DefaultMaxPages
	// DefaultMaxItems caps the items of one list ([WithMaxItems]).
	DefaultMaxItems = svchttp.DefaultMaxItems
	// DefaultMaxRedirects is how many same-origin redirects a call
	// follows ([WithMaxRedirects]).
	DefaultMaxRedirects = svchttp.DefaultMaxRedirects
)

// Member statuses (NRPS 2.0 §2.3). An absent status means Active.
const (
	StatusActive   = "Active"
	StatusInactive = "Inactive"
	StatusDeleted  = "Deleted"
)

// Errors of the NRPS client. Compare with errors.Is.
// Each carries a stable code, which lti.Classify gives with its kind and
// HTTP status (docs/errors.md): service_not_offered for a launch that does
// not offer the service (or not version 2.0), foreign_host,
// malformed_response, response_too_large and service_unavailable for the
// platform's side.
var (
	// ErrNoNRPS: the launch carries no namesroleservice claim.
	ErrNoNRPS = lti.NewSentinel(lti.CodeServiceNotOffered, "nrps: the launch has no Names and Role Provisioning Services claim ("+lti.ClaimNRPS+")")
	// ErrUnsupportedVersion: the claim's service_versions does not list 2.0.
	ErrUnsupportedVersion = lti.NewSentinel(lti.CodeServiceNotOffered, "nrps: the platform does not offer NRPS 2.0")
	// ErrNoMembershipsURL: the claim has no context_memberships_url.
	ErrNoMembershipsURL = lti.NewSentinel(lti.CodeServiceNotOffered, "nrps: the claim has no context_memberships_url")
	// ErrForeignHost is token.ErrForeignHost: the memberships URL or a
	// Link rel="next" is not on the registration's platform, so no bearer
	// token (and no request) is sent there (docs/security.md, case 47).
	ErrForeignHost = svchttp.ErrForeignHost
	// ErrBadURL: a service URL is not an absolute URL.
	ErrBadURL = svchttp.ErrBadURL
	// ErrResponseTooLarge: one page is over the size limit.
	ErrResponseTooLarge = svchttp.ErrResponseTooLarge
	// ErrMalformedResponse: a page is not a membership container.
	ErrMalformedResponse = svchttp.ErrMalformedResponse
	// ErrPagingLoop: a Link rel="next" points back at a page already read.
	ErrPagingLoop = svchttp.ErrPagingLoop
	// ErrTooManyPages: a list has more pages than [WithMaxPages] allows;
	// the next page was not requested.
	ErrTooManyPages = svchttp.ErrTooManyPages
	// ErrTooManyItems: a list has more items than [WithMaxItems] allows.
	ErrTooManyItems = svchttp.ErrTooManyItems
	// ErrTimeout is token.ErrTimeout: the platform did not answer within
	// [WithTimeout]. It matches context.DeadlineExceeded.
	ErrTimeout = svchttp.ErrTimeout
	// ErrUnreachable is token.ErrUnreachable: the platform could not be
	// reached (a network failure, wrapped).
	ErrUnreachable = svchttp.ErrUnreachable
	// ErrRedirect is token.ErrRedirect: a redirect to another origin, from
	// https to http, or past [WithMaxRedirects] was not followed, and the
	// bearer token was not sent on.
	ErrRedirect = svchttp.ErrRedirect
)

// HTTPError is a call the platform answered with a status other than 200
// (after one retry with a new token on 401); get it with errors.As. Its
// fields: Method and URL of the request; StatusCode and Status; the
// answer's ContentType; Body, an excerpt of the platform's body (at most
// 512 bytes, one line, secrets masked; for logs); WWWAuthenticate, the
// header of a 401 or 403; ErrorCode, ErrorDescription and ErrorURI, the RFC
// 6749 §5.2 members when the body is such JSON. It is the same type as
// ags.HTTPError. Its code is service_error.
type HTTPError = svchttp.HTTPError

// Config holds what a Client needs.
type Config struct {
	// Registration is the platform registration: whose tokens, and which
	// origins (issuer, token endpoint) may receive them.
	Registration registration.Registration
	// Endpoint is the namesroleservice claim of a launch (or saved from
	// one).
	Endpoint lti.NRPSEndpoint
	// Source provides access tokens, usually a *token.Client.
	Source token.Source
	// HTTPClient sends the calls. When nil and Source is a *token.Client,
	// the token client's Do sends them (its host policy, redirect options
	// and 401 retry); when nil otherwise, a plain http.Client. Either way
	// every call is bounded by [WithTimeout], and a host client's own
	// Timeout applies too.
	HTTPClient *http.Client
}

// Option tunes a Client.
type Option func(*options)

type options struct {
	maxBody int64
	policy  func(registration.Registration, *url.URL) bool

	timeout      time.Duration
	maxPages     int
	maxItems     int
	maxRedirects int
	crossOrigin  bool

	// meters, tracers, propagator: the OpenTelemetry options
	// (telemetry.go); nil uses the global ones.
	meters     metric.MeterProvider
	tracers    trace.TracerProvider
	propagator propagation.TextMapPropagator
}

// WithMaxResponseBytes bounds each page's body to n bytes (default
// [DefaultMaxResponseBytes]); a larger page fails with
// [ErrResponseTooLarge].
func WithMaxResponseBytes(n int64) Option { return func(o *options) { o.maxBody = n } }

// WithTimeout bounds the time each call waits on the platform (default
// [DefaultTimeout], 10 s): from the call to the response headers (the
// token, the one retry after a 401 and redirects included), plus the time
// spent reading the body, that is each page of a list. The time your loop
// spends between items does not count. Past it the call fails with an
// error wrapping [ErrTimeout] (and context.DeadlineExceeded). A host's
// http.Client keeps its own Timeout, and the context's deadline applies
// too: the first to run out ends the call. d ≤ 0 means the default.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxPages caps the pages one list reads (default [DefaultMaxPages],
// 100; n ≤ 0 means the default). When the page at the cap has a Link
// rel="next", the list ends with [ErrTooManyPages] and that page is not
// requested.
func WithMaxPages(n int) Option { return func(o *options) { o.maxPages = n } }

// WithMaxItems caps the items one list yields over all its pages (default
// [DefaultMaxItems], 100,000; n ≤ 0 means the default). One item more ends
// the list with [ErrTooManyItems].
func WithMaxItems(n int) Option { return func(o *options) { o.maxItems = n } }

// WithMaxRedirects sets how many redirects a call follows (default
// [DefaultMaxRedirects], 3; 0 follows none and the 3xx fails as an
// *[HTTPError]); one more fails with [ErrRedirect]. Only redirects to the
// request's own origin are followed unless [WithCrossOriginRedirects]. With
// a *token.Client as the Source and no HTTP client, the token client's
// token.WithMaxRedirects applies instead.
func WithMaxRedirects(n int) Option { return func(o *options) { o.maxRedirects = max(n, 0) } }

// WithCrossOriginRedirects lets calls follow redirects to another origin
// than the request's when the target is on the registration's platform
// (or allowed by [WithHostPolicy]); the Authorization header is removed
// from such a request, so the bearer token never leaves the request's
// origin. A redirect from https to http is refused all the same. Default:
// false, any redirect to another origin fails with [ErrRedirect]. With a
// *token.Client as the Source and no HTTP client, the token client's
// token.WithCrossOriginRedirects applies instead.
func WithCrossOriginRedirects(allow bool) Option { return func(o *options) { o.crossOrigin = allow } }

// WithHostPolicy allows bearer tokens to go to URLs off the registration's
// issuer and token endpoint origins, for platforms that serve NRPS from
// another host. allow is asked only for absolute http(s) URLs that
// token.OnPlatform rejects; it must compare origins strictly. With a
// *token.Client as the Source and no HTTP client, the token client's own
// policy must allow the URL too.
func WithHostPolicy(allow func(reg registration.Registration, u *url.URL) bool) Option {
	return func(o *options) { o.policy = allow }
}

// Client reads a context's memberships from a platform's Names and Role
// Provisioning Services. It is safe for concurrent use.
type Client struct {
	ep     lti.NRPSEndpoint
	caller *svchttp.Caller
}

// FromLaunch returns a Client for the namesroleservice claim of a
// validated launch and its registration. It fails with [ErrNoNRPS] when
// the launch has no such claim. hc may be nil (see [Config.HTTPClient]).
func FromLaunch(l *launch.Launch, src token.Source, hc *http.Client, opts ...Option) (*Client, error) {
	if l == nil || l.Claims == nil {
		return nil, errors.New("nrps: no launch")
	}
	if l.Claims.NRPS == nil {
		return nil, ErrNoNRPS
	}
	return New(Config{Registration: l.Registration, Endpoint: *l.Claims.NRPS, Source: src, HTTPClient: hc}, opts...)
}

// New returns a Client for cfg. It fails when Source is nil, the claim has
// no context_memberships_url ([ErrNoMembershipsURL]) or one off the
// registration's platform ([ErrForeignHost]), or its service_versions is
// not empty and lacks "2.0" ([ErrUnsupportedVersion]).
func New(cfg Config, opts ...Option) (*Client, error) {
	o := options{maxRedirects: DefaultMaxRedirects}
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.Endpoint.ContextMembershipsURL == "" {
		return nil, ErrNoMembershipsURL
	}
	if v := cfg.Endpoint.ServiceVersions; len(v) > 0 && !slices.Contains(v, "2.0") {
		return nil, fmt.Errorf("%w: service_versions %q", ErrUnsupportedVersion, v)
	}
	caller, err := svchttp.New(svchttp.Config{
		Registration: cfg.Registration,
		Source:       cfg.Source,
		HTTPClient:   cfg.HTTPClient,
		Scopes:       []string{Scope},
		MaxBody:      o.maxBody,
		HostPolicy:   o.policy,

		Timeout:              o.timeout,
		MaxPages:             o.maxPages,
		MaxItems:             o.maxItems,
		MaxRedirects:         o.maxRedirects,
		CrossOriginRedirects: o.crossOrigin,
		Telemetry:            telemetry.NewService(scope, o.meters, o.tracers, o.propagator),
	})
	if err != nil {
		return nil, fmt.Errorf("nrps: %w", err)
	}
	if _, err := caller.CheckURL(cfg.Endpoint.ContextMembershipsURL); err != nil {
		return nil, fmt.Errorf("nrps: the claim's context_memberships_url: %w", err)
	}
	ep := cfg.Endpoint
	ep.ServiceVersions = slices.Clone(ep.ServiceVersions)
	return &Client{ep: ep, caller: caller}, nil
}

// Endpoint returns the claim the client was made for.
func (c *Client) Endpoint() lti.NRPSEndpoint {
	ep := c.ep
	ep.ServiceVersions = slices.Clone(ep.ServiceVersions)
	return ep
}

// Registration returns the registration the client calls for.
func (c *Client) Registration() registration.Registration { return c.caller.Registration() }

// Query filters a membership request (NRPS 2.0 §2.4, §3). Empty fields do
// not filter.
type Query struct {
	// Role keeps the members holding this role (role), e.g.
	// lti.RoleContextLearner. It is sent as given.
	Role string
	// Limit asks for at most this many members per page (limit); 0 leaves
	// the page size to the platform.
	Limit int
	// ResourceLinkID asks for the members who can access this resource
	// link (rlid), with each member's message claims for that link
	// (NRPS 2.0 §3).
	ResourceLinkID string
}

// membershipsURL is the claim's context_memberships_url with q's filters
// added to its query, which is kept byte for byte (svchttp.AddQuery):
// role, then limit, then rlid.
func (c *Client) membershipsURL(q Query) (string, error) {
	if _, err := url.Parse(c.ep.ContextMembershipsURL); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	limit := ""
	if q.Limit > 0 {
		limit = strconv.Itoa(q.Limit)
	}
	return svchttp.AddQuery(c.ep.ContextMembershipsURL, "role", q.Role, "limit", limit, "rlid", q.ResourceLinkID), nil
}

// Member is one membership of the context (NRPS 2.0 §2.3). The personal
// fields are present only as far as the platform's privacy settings allow.
type Member struct {
	// UserID is the member's user id, the sub of their launches.
	UserID string `json:"user_id"`
	// Roles are the member's roles in the context as sent: full URIs or
	// short names such as Moodle's "Learner". The lti.Roles helpers
	// understand both.
	Roles lti.Roles `json:"roles"`
	// Status is Active, Inactive or Deleted; empty means Active.
	Status string `json:"status,omitempty"`
	// Name, GivenName, FamilyName, MiddleName, Email and Picture are the
	// OIDC-style person fields (OpenID Connect Core §5.1), each empty when
	// the platform did not send it. Name is the full name.
	Name string `json:"name,omitempty"`
	// GivenName is given_name: the first name(s).
	GivenName string `json:"given_name,omitempty"`
	// FamilyName is family_name: the surname(s).
	FamilyName string `json:"family_name,omitempty"`
	// MiddleName is middle_name: the middle name(s).
	MiddleName string `json:"middle_name,omitempty"`
	// Email is email: the address the platform knows.
	Email string `json:"email,omitempty"`
	// Picture is picture: the URL of the member's picture.
	Picture string `json:"picture,omitempty"`
	// LISPersonSourcedID is the SIS id of the person.
	LISPersonSourcedID string `json:"lis_person_sourcedid,omitempty"`
	// Message holds, for a resource link request (Query.ResourceLinkID),
	// the message claims the member would launch the link with, one JSON
	// object per message type, as sent.
	Message []json.RawMessage `json:"message,omitempty"`
	// Extensions holds the members no field claims, as sent (Moodle adds
	// "ext_user_username").
	Extensions map[string]json.RawMessage `json:"-"`
}

// Active reports whether the membership is active: status Active or none.
func (m Member) Active() bool { return m.Status == "" || m.Status == StatusActive }

type memberFields Member

var memberKnown = svchttp.KnownNames[memberFields]()

// UnmarshalJSON decodes a member, keeping unknown members in Extensions.
func (m *Member) UnmarshalJSON(b []byte) error {
	var f memberFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	f.Extensions = memberKnown.Extensions(b)
	*m = Member(f)
	return nil
}

// MarshalJSON encodes a member with its Extensions.
func (m Member) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(memberFields(m))
	if err != nil {
		return nil, err
	}
	return memberKnown.AppendExtensions(b, m.Extensions)
}
