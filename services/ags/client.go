package ags

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
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

// Scopes of the Assignment and Grade Services (AGS 2.0 §3.1), the lti
// package's, under the names of this package.
const (
	// ScopeLineItem lets the tool read, create, update and delete its line
	// items.
	ScopeLineItem = lti.ScopeAGSLineItem
	// ScopeLineItemReadOnly lets the tool read line items.
	ScopeLineItemReadOnly = lti.ScopeAGSLineItemReadOnly
	// ScopeResultReadOnly lets the tool read results.
	ScopeResultReadOnly = lti.ScopeAGSResultReadOnly
	// ScopeScore lets the tool post scores.
	ScopeScore = lti.ScopeAGSScore
)

// Media types of the Assignment and Grade Services (AGS 2.0 §3.2–3.4).
const (
	// MediaTypeLineItem is a single line item (Content-Type of create and
	// update, Accept of get, create and update).
	MediaTypeLineItem = "application/vnd.ims.lis.v2.lineitem+json"
	// MediaTypeLineItemContainer is a page of line items (Accept of list).
	MediaTypeLineItemContainer = "application/vnd.ims.lis.v2.lineitemcontainer+json"
	// MediaTypeScore is a score (Content-Type of the score POST).
	MediaTypeScore = "application/vnd.ims.lis.v1.score+json"
	// MediaTypeResultContainer is a page of results (Accept of results).
	MediaTypeResultContainer = "application/vnd.ims.lis.v2.resultcontainer+json"
)

// DefaultMaxResponseBytes bounds each response body (one page of a list)
// unless [WithMaxResponseBytes] says otherwise: 4 MiB.
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

// Errors of the AGS client. Compare with errors.Is; they come wrapped with
// details.
// Each carries a stable code, which lti.Classify gives with its kind and
// HTTP status (docs/errors.md): service_not_offered for a launch that does
// not offer the service, scope_not_granted, invalid_request for a score
// or line item that breaks a rule, foreign_host, malformed_response,
// response_too_large and service_unavailable for the platform's side.
var (
	// ErrNoAGS: the launch carries no AGS endpoint claim (the platform did
	// not enable the service for this link).
	ErrNoAGS = lti.NewSentinel(lti.CodeServiceNotOffered, "ags: the launch has no Assignment and Grade Services endpoint claim ("+lti.ClaimAGSEndpoint+")")
	// ErrScopeNotGranted: the AGS claim does not grant the scope the call
	// needs. It is returned before any HTTP request.
	ErrScopeNotGranted = lti.NewSentinel(lti.CodeScopeNotGranted, "ags: the platform did not grant the scope this call needs")
	// ErrNoLineItemsURL: the call needs the claim's lineitems URL and there
	// is none.
	ErrNoLineItemsURL = lti.NewSentinel(lti.CodeServiceNotOffered, "ags: the AGS claim has no lineitems URL")
	// ErrNoLineItem: no line item URL was given and the claim has none.
	ErrNoLineItem = lti.NewSentinel(lti.CodeServiceNotOffered, "ags: no line item URL was given and the AGS claim has none")
	// ErrInvalidScore: the score breaks a rule of AGS 2.0 §3.4; nothing
	// was sent.
	ErrInvalidScore = lti.NewSentinel(lti.CodeInvalidRequest, "ags: invalid score")
	// ErrInvalidLineItem: the line item breaks a rule of AGS 2.0 §3.2;
	// nothing was sent.
	ErrInvalidLineItem = lti.NewSentinel(lti.CodeInvalidRequest, "ags: invalid line item")
	// ErrForeignHost is token.ErrForeignHost: a service URL, redirect or
	// Link rel="next" is not on the registration's platform, so no bearer
	// token (and no request) is sent there (docs/security.md, case 47).
	ErrForeignHost = svchttp.ErrForeignHost
	// ErrBadURL: a service URL is not an absolute URL.
	ErrBadURL = svchttp.ErrBadURL
	// ErrResponseTooLarge: a response body (one page) is over the limit.
	ErrResponseTooLarge = svchttp.ErrResponseTooLarge
	// ErrMalformedResponse: the platform's answer is not the JSON AGS
	// describes.
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

// HTTPError is a call the platform answered with an unexpected status
// (after one retry with a new token on 401); get it with errors.As. Its
// fields: Method and URL of the request; StatusCode (e.g. 404) and Status
// ("404 Not Found"); ContentType of the answer; Body, an excerpt of the
// platform's body (at most 512 bytes, one line, valid UTF-8, secrets
// masked; for logs, not for end users); WWWAuthenticate, the header of a
// 401 or 403; ErrorCode, ErrorDescription and ErrorURI, the RFC 6749 §5.2
// members when the body is such JSON. The NRPS client returns the same
// type (nrps.HTTPError). Its code is service_error.
type HTTPError = svchttp.HTTPError

// Config holds what a Client needs.
type Config struct {
	// Registration is the platform registration: whose tokens, and which
	// origins (issuer, token endpoint) may receive them.
	Registration registration.Registration
	// Endpoint is the AGS claim of a launch (or saved from one): the
	// granted scopes and the lineitems and lineitem URLs.
	Endpoint lti.AGSEndpoint
	// Source provides access tokens, usually a *token.Client.
	Source token.Source
	// HTTPClient sends the service calls. When nil and Source is a
	// *token.Client, the token client's Do sends them (its HTTP client,
	// host policy, redirect options and 401 retry); when nil otherwise, a
	// plain http.Client. Either way every call is bounded by [WithTimeout],
	// and a host client's own Timeout applies too.
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
	now          func() time.Time

	// meters, tracers, propagator: the OpenTelemetry options
	// (telemetry.go); nil uses the global ones.
	meters     metric.MeterProvider
	tracers    trace.TracerProvider
	propagator propagation.TextMapPropagator
}

// WithMaxResponseBytes bounds each response body, that is each page of a
// list, to n bytes (default [DefaultMaxResponseBytes]). A larger answer
// fails with [ErrResponseTooLarge].
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

// WithHostPolicy allows bearer tokens to go to service URLs off the
// registration's issuer and token endpoint origins, for platforms that
// serve AGS from another host (Canvas serves it from the institution's
// host). allow is asked only for absolute http(s) URLs that
// token.OnPlatform rejects; it must compare origins strictly. With a
// *token.Client as the Source and no HTTP client, the token client's own
// policy (token.WithHostPolicy) must allow the URL too.
func WithHostPolicy(allow func(reg registration.Registration, u *url.URL) bool) Option {
	return func(o *options) { o.policy = allow }
}

// WithClock sets the clock that stamps scores posted without a timestamp.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Client calls a platform's Assignment and Grade Services for one AGS
// claim. It is safe for concurrent use; every call gets its token from the
// Source, which caches it.
type Client struct {
	ep     lti.AGSEndpoint
	caller *svchttp.Caller
	now    func() time.Time
}

// FromLaunch returns a Client for the AGS claim of a validated launch and
// its registration. It fails with [ErrNoAGS] when the launch has no AGS
// claim, and with [ErrForeignHost] when the claim's URLs are not on the
// registration's platform. hc may be nil (see [Config.HTTPClient]).
func FromLaunch(l *launch.Launch, src token.Source, hc *http.Client, opts ...Option) (*Client, error) {
	if l == nil || l.Claims == nil {
		return nil, errors.New("ags: no launch")
	}
	if l.Claims.AGS == nil {
		return nil, ErrNoAGS
	}
	return New(Config{Registration: l.Registration, Endpoint: *l.Claims.AGS, Source: src, HTTPClient: hc}, opts...)
}

// New returns a Client for cfg. The token it requests for every call
// carries exactly the AGS scopes the claim grants (so one cached token
// serves every AGS call of the registration and claim). It fails when
// Source is nil, the claim grants no AGS scope, or a URL of the claim is
// not an absolute URL on the registration's platform ([ErrForeignHost]).
func New(cfg Config, opts ...Option) (*Client, error) {
	o := options{now: time.Now, maxRedirects: DefaultMaxRedirects}
	for _, opt := range opts {
		opt(&o)
	}
	var scopes []string
	for _, s := range cfg.Endpoint.Scope {
		switch s {
		case ScopeLineItem, ScopeLineItemReadOnly, ScopeResultReadOnly, ScopeScore:
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == 0 {
		return nil, fmt.Errorf("%w: the AGS claim grants no AGS scope", ErrScopeNotGranted)
	}
	caller, err := svchttp.New(svchttp.Config{
		Registration: cfg.Registration,
		Source:       cfg.Source,
		HTTPClient:   cfg.HTTPClient,
		Scopes:       scopes,
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
		return nil, fmt.Errorf("ags: %w", err)
	}
	for _, raw := range []string{cfg.Endpoint.LineItems, cfg.Endpoint.LineItem} {
		if raw == "" {
			continue
		}
		if _, err := caller.CheckURL(raw); err != nil {
			return nil, fmt.Errorf("ags: the AGS claim's URL: %w", err)
		}
	}
	ep := cfg.Endpoint
	ep.Scope = slices.Clone(ep.Scope)
	return &Client{ep: ep, caller: caller, now: o.now}, nil
}

// Endpoint returns the AGS claim the client was made for.
func (c *Client) Endpoint() lti.AGSEndpoint {
	ep := c.ep
	ep.Scope = slices.Clone(ep.Scope)
	return ep
}

// Registration returns the registration the client calls for.
func (c *Client) Registration() registration.Registration { return c.caller.Registration() }

// Scopes returns the scopes every call's token is requested with: the AGS
// scopes of the claim, sorted.
func (c *Client) Scopes() []string { return c.caller.Scopes() }

// Granted reports whether the claim grants scope.
func (c *Client) Granted(scope string) bool { return slices.Contains(c.ep.Scope, scope) }

// LineItemURL returns the claim's lineitem URL: the line item of the
// launch's resource link, when the platform made exactly one (AGS 2.0
// §3.1). It may be empty.
func (c *Client) LineItemURL() string { return c.ep.LineItem }

// LineItemsURL returns the claim's lineitems URL, the context's line item
// container. It may be empty.
func (c *Client) LineItemsURL() string { return c.ep.LineItems }

// need returns ErrScopeNotGranted unless the claim grants one of scopes.
func (c *Client) need(op string, scopes ...string) error {
	for _, s := range scopes {
		if c.Granted(s) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s needs %v", ErrScopeNotGranted, op, scopes)
}

// lineItemURL returns raw, or the claim's lineitem URL when raw is empty.
func (c *Client) lineItemURL(raw string) (string, error) {
	if raw != "" {
		return raw, nil
	}
	if c.ep.LineItem == "" {
		return "", ErrNoLineItem
	}
	return c.ep.LineItem, nil
}

// subURL returns the line item URL with elem appended to its path, before
// any query, which is kept byte for byte: Moodle's line item URLs carry
// "?type_id=1", so the scores of ".../lineitem?type_id=1" are at
// ".../lineitem/scores?type_id=1" (AGS 2.0 §3.4.1, §3.3.1).
func (c *Client) subURL(lineItem, elem string) (string, error) {
	if _, err := c.caller.CheckURL(lineItem); err != nil {
		return "", err
	}
	return svchttp.AppendPath(lineItem, elem), nil
}

// withQuery returns raw with the non-empty params added to its query,
// keeping the query it has byte for byte (see svchttp.AddQuery).
func withQuery(raw string, params ...string) (string, error) {
	if _, err := url.Parse(raw); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	return svchttp.AddQuery(raw, params...), nil
}

// readJSON decodes a response body into v; an empty body leaves v as it is
// and reports false.
func readJSON(resp *http.Response, v any) (bool, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, svchttp.Malformed(err)
	}
	if len(trimSpace(b)) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, svchttp.Malformed(err)
	}
	return true, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// drainClose reads what remains of a (bounded) body so the connection can
// be reused, and closes it.
func drainClose(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
