package svchttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ltikit/ltikit/internal/errbody"
	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/internal/redirect"
	"github.com/ltikit/ltikit/services/internal/waitlimit"
	"github.com/ltikit/ltikit/services/token"
)

// Defaults of a Caller.
const (
	// DefaultMaxBody is the default bound on one response body: 4 MiB.
	DefaultMaxBody = 4 << 20
	// DefaultTimeout bounds the time one call waits on the platform: until
	// the response headers (the token, the retry after a 401 and redirects
	// included), plus the time spent reading the body (not the time the
	// consumer spends between reads).
	DefaultTimeout = 10 * time.Second
	// DefaultMaxPages bounds the pages one list reads (Link rel="next").
	DefaultMaxPages = 1000
	// DefaultMaxItems bounds the items one list yields, all pages together.
	DefaultMaxItems = 100_000
	// DefaultMaxRedirects is how many same-origin redirects a call follows.
	DefaultMaxRedirects = token.DefaultMaxRedirects
)

// Errors shared by the service clients. The service packages re-export them.
// Each carries a stable code (lti.Classify; docs/errors.md).
var (
	// ErrForeignHost is token.ErrForeignHost: a service URL, a redirect or
	// a Link rel="next" URL is not on the registration's platform, so no
	// bearer token is sent there (and no request is made). foreign_host.
	ErrForeignHost = token.ErrForeignHost
	// ErrResponseTooLarge: a response body exceeds the configured bound.
	// response_too_large.
	ErrResponseTooLarge = lti.NewSentinel(lti.CodeResponseTooLarge, "lti service: the response body exceeds the size limit")
	// ErrPagingLoop: a Link rel="next" points at a page already read.
	// malformed_response.
	ErrPagingLoop = lti.NewSentinel(lti.CodeMalformedResponse, "lti service: the platform's next link points at a page already read")
	// ErrTooManyPages: a list has more pages than the page cap; the next
	// page was not requested. response_too_large.
	ErrTooManyPages = lti.NewSentinel(lti.CodeResponseTooLarge, "lti service: the list has more pages than the page limit")
	// ErrTooManyItems: a list has more items than the item cap.
	// response_too_large.
	ErrTooManyItems = lti.NewSentinel(lti.CodeResponseTooLarge, "lti service: the list has more items than the item limit")
	// ErrTimeout is token.ErrTimeout: the platform did not answer within
	// the call's timeout. It matches context.DeadlineExceeded.
	// service_unavailable.
	ErrTimeout = token.ErrTimeout
	// ErrUnreachable is token.ErrUnreachable: the platform could not be
	// reached (a network failure). service_unavailable.
	ErrUnreachable = token.ErrUnreachable
	// ErrRedirect is token.ErrRedirect: a redirect to another origin, from
	// https to http, or past the redirect limit was not followed.
	// foreign_host.
	ErrRedirect = token.ErrRedirect
	// ErrMalformedResponse: the platform's answer is not the JSON the
	// specification describes. malformed_response.
	ErrMalformedResponse = lti.NewSentinel(lti.CodeMalformedResponse, "lti service: the platform's response is malformed")
)

// HTTPError is a service call the platform answered with a status other
// than the success statuses of the call (after the one retry that follows a
// 401). It carries what the platform said, for logs: the RFC 6749 §5.2
// members when the body is such a JSON object (whatever its Content-Type;
// a bearer token refusal often is), and an excerpt of the body. All of it
// is the platform's unverified text, cleaned so that it is safe in a log
// line (one line, valid UTF-8, no control characters, what looks like a
// token masked), never shown to end users by the library. It never holds
// the access token or the Authorization header. Its code is service_error.
// Values are made per call, never shared.
type HTTPError struct {
	// Method and URL are the request's; the URL without user info.
	Method, URL string
	// StatusCode is the HTTP status code, e.g. 404.
	StatusCode int
	// Status is the status line, e.g. "404 Not Found".
	Status string
	// ContentType is the Content-Type of the platform's answer.
	ContentType string
	// Body is an excerpt of the platform's body: at most 512 bytes and an
	// ellipsis, on one line, valid UTF-8, control characters replaced and
	// secrets masked. Of the body, at most 16 KiB is read.
	Body string
	// WWWAuthenticate is the WWW-Authenticate header of a 401 or 403.
	WWWAuthenticate string
	// ErrorCode, ErrorDescription and ErrorURI are the "error",
	// "error_description" and "error_uri" members (RFC 6749 §5.2) when
	// the body is a JSON object with them.
	ErrorCode, ErrorDescription, ErrorURI string
}

// Error describes the failed call: the request, the status, the
// Content-Type, then the platform's words, its §5.2 members when it sent
// them, else the body excerpt.
func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lti service: %s %s: %s", e.Method, e.URL, e.Status)
	if e.ContentType != "" {
		b.WriteString(" (Content-Type ")
		b.WriteString(e.ContentType)
		b.WriteString(")")
	}
	if e.WWWAuthenticate != "" {
		b.WriteString(", WWW-Authenticate: ")
		b.WriteString(e.WWWAuthenticate)
	}
	switch {
	case e.ErrorCode != "" || e.ErrorDescription != "":
		if e.ErrorCode != "" {
			b.WriteString(", error=")
			b.WriteString(strconv.Quote(e.ErrorCode))
		}
		if e.ErrorDescription != "" {
			b.WriteString(", error_description=")
			b.WriteString(strconv.Quote(e.ErrorDescription))
		}
		if e.ErrorURI != "" {
			b.WriteString(", error_uri=")
			b.WriteString(strconv.Quote(e.ErrorURI))
		}
	case e.Body != "":
		b.WriteString(": the platform said: ")
		b.WriteString(e.Body)
	}
	return b.String()
}

// Code returns lti.CodeServiceError: the platform's service answered with
// an error status.
func (e *HTTPError) Code() lti.Code { return lti.CodeServiceError }

// LogAttrs returns the error's fields as slog attributes: http_status,
// content_type, method, url, www_authenticate, and error_code,
// error_description and error_uri, or body_excerpt.
func (e *HTTPError) LogAttrs() []slog.Attr {
	return errbody.LogAttrs(e.StatusCode, errbody.OAuth{Error: e.ErrorCode, Description: e.ErrorDescription, URI: e.ErrorURI},
		e.Body, "content_type", e.ContentType, "method", e.Method, "url", e.URL, "www_authenticate", e.WWWAuthenticate)
}

// Request is one service call.
type Request struct {
	// Method is the HTTP method.
	Method string
	// URL is the absolute service URL.
	URL string
	// Accept is the media type of the expected answer; empty sends none.
	Accept string
	// ContentType is the media type of Body.
	ContentType string
	// Body is the request body, nil for none. It is kept so the request
	// can be sent again after a 401.
	Body []byte
	// Operation names the call in metrics and spans (one of the
	// telemetry.Op… constants); empty counts it as "request".
	Operation string
}

// Doer is the optional ability of a token.Source to send service requests
// itself: (*token.Client).Do, which checks the host, adds the bearer token
// and retries once after a 401.
type Doer interface {
	Do(ctx context.Context, reg registration.Registration, scopes []string, req *http.Request) (*http.Response, error)
}

// Caller sends bearer-authorized service calls for one registration.
type Caller struct {
	reg     registration.Registration
	src     token.Source
	doer    Doer         // the Source's own Do, when used
	client  *http.Client // the internal path's client, when doer is nil
	scopes  []string
	maxBody int64
	allow   func(registration.Registration, *url.URL) bool

	timeout      time.Duration
	maxPages     int
	maxItems     int
	maxRedirects int
	crossOrigin  bool
	tel          *telemetry.Service
}

// Config configures a Caller.
type Config struct {
	// Registration is the platform registration the calls are made for.
	Registration registration.Registration
	// Source provides the access tokens.
	Source token.Source
	// HTTPClient sends the calls. When it is nil and Source is a Doer
	// (a *token.Client), the Source's Do sends them, with its own HTTP
	// client and host policy; when nil otherwise, a client with a 30 s
	// timeout is used.
	HTTPClient *http.Client
	// Scopes are requested for every call's token.
	Scopes []string
	// MaxBody bounds each response body; ≤ 0 means DefaultMaxBody.
	MaxBody int64
	// HostPolicy, when set, allows service URLs off the registration's
	// issuer and token endpoint origins (token.OnPlatform). It is asked
	// only for absolute http(s) URLs without user info that OnPlatform
	// rejects, and must compare origins strictly. A Doer's own policy
	// applies too.
	HostPolicy func(reg registration.Registration, u *url.URL) bool
	// Timeout bounds the time each call waits on the platform; ≤ 0 means
	// DefaultTimeout. It applies on top of the HTTP client's own Timeout
	// and of the caller's context.
	Timeout time.Duration
	// MaxPages and MaxItems cap one list; ≤ 0 means DefaultMaxPages and
	// DefaultMaxItems.
	MaxPages, MaxItems int
	// MaxRedirects is how many redirects a call follows on the internal
	// path (a Doer applies its own); 0 follows none.
	MaxRedirects int
	// CrossOriginRedirects lets the internal path follow redirects to
	// other origins on the platform (or allowed by HostPolicy), without the
	// Authorization header; never from https to http.
	CrossOriginRedirects bool
	// Telemetry counts, times and traces every call and carries the
	// trace context in its headers; nil uses the global OpenTelemetry
	// providers and propagator.
	Telemetry *telemetry.Service
}

// New returns a Caller. It fails when the Source is nil.
func New(cfg Config) (*Caller, error) {
	if cfg.Source == nil {
		return nil, errors.New("lti service: no token.Source")
	}
	c := &Caller{
		reg:     cfg.Registration,
		src:     cfg.Source,
		scopes:  token.NormalizeScopes(cfg.Scopes),
		maxBody: cfg.MaxBody,
		allow:   cfg.HostPolicy,

		timeout:      cfg.Timeout,
		maxPages:     cfg.MaxPages,
		maxItems:     cfg.MaxItems,
		maxRedirects: max(cfg.MaxRedirects, 0),
		crossOrigin:  cfg.CrossOriginRedirects,
		tel:          cfg.Telemetry,
	}
	if c.tel == nil {
		c.tel = telemetry.NewService("github.com/ltikit/ltikit/services", nil, nil, nil)
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBody
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxPages <= 0 {
		c.maxPages = DefaultMaxPages
	}
	if c.maxItems <= 0 {
		c.maxItems = DefaultMaxItems
	}
	if d, ok := cfg.Source.(Doer); ok && cfg.HTTPClient == nil {
		c.doer = d
		return c, nil
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{} // calls are bounded by the Caller's timeout
	}
	hc := *base
	prev := base.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// The Authorization header rides along on redirects to the same
		// host name: never follow one off the platform.
		if !c.Allowed(req.URL) {
			return fmt.Errorf("%w: redirect to %s://%s", ErrForeignHost, req.URL.Scheme, req.URL.Host)
		}
		if err := redirect.Check(req, via, c.maxRedirects, c.crossOrigin, token.SameOrigin); err != nil {
			return err
		}
		if prev != nil {
			return prev(req, via)
		}
		return nil
	}
	c.client = &hc
	return c, nil
}

// Registration returns the registration the calls are made for.
func (c *Caller) Registration() registration.Registration { return c.reg }

// Scopes returns the scopes requested for every call.
func (c *Caller) Scopes() []string { return slices.Clone(c.scopes) }

// Timeout returns the bound on each call's wait: Config.Timeout, or
// DefaultTimeout. The service packages' tests read it to check the
// default without waiting it out.
func (c *Caller) Timeout() time.Duration { return c.timeout }

// MaxBody returns the response body bound.
func (c *Caller) MaxBody() int64 { return c.maxBody }

// MaxPages returns the page cap of one list.
func (c *Caller) MaxPages() int { return c.maxPages }

// MaxItems returns the item cap of one list.
func (c *Caller) MaxItems() int { return c.maxItems }

// TooManyPages is the error of a list with a next page past the cap.
func (c *Caller) TooManyPages() error {
	return fmt.Errorf("%w (%d)", ErrTooManyPages, c.maxPages)
}

// TooManyItems is the error of a list with an item past the cap.
func (c *Caller) TooManyItems() error {
	return fmt.Errorf("%w (%d)", ErrTooManyItems, c.maxItems)
}

// Allowed reports whether a bearer token for the registration may be sent
// to u: u is an absolute http(s) URL without user info on the platform
// (token.OnPlatform) or allowed by the host policy.
func (c *Caller) Allowed(u *url.URL) bool {
	if u == nil || u.User != nil || u.Host == "" {
		return false
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return false
	}
	return token.OnPlatform(c.reg, u) || (c.allow != nil && c.allow(c.reg, u))
}

// CheckURL parses raw and checks that it is an absolute http(s) URL on the
// platform.
func (c *Caller) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an absolute URL", ErrBadURL, raw)
	}
	if !c.Allowed(u) {
		return nil, fmt.Errorf("%w: %s://%s", ErrForeignHost, u.Scheme, u.Host)
	}
	return u, nil
}

// ErrBadURL: a service URL is not an absolute URL. foreign_host: no
// token is sent to it.
var ErrBadURL = lti.NewSentinel(lti.CodeForeignHost, "lti service: bad service URL")

// Do sends req with a bearer token and returns the response when its status
// is one of ok (any 2xx when ok is empty). A 401 invalidates the token and
// the call is sent once more with a new one. Any other status is an
// *HTTPError, its body read (up to 16 KiB) and closed. The returned body
// fails with ErrResponseTooLarge past the Caller's bound; the caller closes
// it.
//
// No request is made, and no token requested, when the URL is not on the
// platform's origins (ErrForeignHost) or ctx is done.
//
// Every call is counted and timed (until the response headers) by
// req.Operation, HTTP status and result, in a client span whose trace
// context the request's headers carry.
func (c *Caller) Do(ctx context.Context, req Request, ok ...int) (*http.Response, error) {
	op := req.Operation
	if op == "" {
		op = "request"
	}
	ctx, call := c.tel.Start(ctx, op, req.Method, req.URL)
	resp, status, err := c.do(ctx, req, ok)
	call.End(ctx, status, err)
	return resp, err
}

// do is Do's work; status is the HTTP status of the answer, 0 when none
// came.
func (c *Caller) do(ctx context.Context, req Request, ok []int) (*http.Response, int, error) {
	u, err := c.CheckURL(req.URL)
	if err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	l := waitlimit.Start(ctx, c.timeout, ErrTimeout)
	var resp *http.Response
	if c.doer != nil {
		hr, err := c.newRequest(l.Context(), req)
		if err != nil {
			l.Release()
			return nil, 0, err
		}
		resp, err = c.doer.Do(l.Context(), c.reg, c.scopes, hr)
		if err != nil {
			l.Release()
			return nil, 0, wrapTransport(ctx, req.Method, u, l.Err(err))
		}
	} else if resp, err = c.doInternal(l.Context(), u, req); err != nil {
		l.Release()
		return nil, 0, l.Err(err)
	}
	l.Pause()
	resp.Body = l.Body(resp.Body) // closing it ends the call
	if !success(resp.StatusCode, ok) {
		return nil, resp.StatusCode, newHTTPError(req.Method, u, resp)
	}
	if resp.ContentLength > c.maxBody {
		drain(resp)
		return nil, resp.StatusCode, fmt.Errorf("%w (%d bytes announced, limit %d)", ErrResponseTooLarge, resp.ContentLength, c.maxBody)
	}
	resp.Body = &maxReader{rc: resp.Body, left: c.maxBody}
	return resp, resp.StatusCode, nil
}

// doInternal is the equivalent of (*token.Client).Do for any Source: the
// bearer token, and one retry with a fresh token after a 401.
func (c *Caller) doInternal(ctx context.Context, u *url.URL, req Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.src.Token(ctx, c.reg, c.scopes)
		if err != nil {
			return nil, fmt.Errorf("lti service: access token: %w", err)
		}
		hr, err := c.newRequest(ctx, req)
		if err != nil {
			return nil, err
		}
		hr.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.client.Do(hr)
		if err != nil {
			return nil, wrapTransport(ctx, req.Method, u, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			drain(resp)
			c.src.Invalidate(c.reg, c.scopes, tok)
			continue
		}
		return resp, nil
	}
}

// newRequest builds the HTTP request of req, with the trace context of
// ctx in its headers.
func (c *Caller) newRequest(ctx context.Context, req Request) (*http.Request, error) {
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	// The URL as given, not u.String(): its query goes out byte for byte.
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, fmt.Errorf("lti service: %w", err)
	}
	if req.Accept != "" {
		hr.Header.Set("Accept", req.Accept)
	}
	if req.Body != nil && req.ContentType != "" {
		hr.Header.Set("Content-Type", req.ContentType)
	}
	c.tel.Inject(ctx, hr.Header)
	return hr, nil
}

func wrapTransport(ctx context.Context, method string, u *url.URL, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		err = errors.Join(ctxErr, err)
	}
	if errors.Is(err, ErrForeignHost) {
		return err
	}
	return fmt.Errorf("lti service: %s %s://%s%s: %w", method, u.Scheme, u.Host, u.EscapedPath(), unreachable(err))
}

// unreachable wraps a transport failure with ErrUnreachable, unless it
// carries a code already (token.Client.Do wraps its own, a refused
// redirect is foreign_host) or is a context's error (a time-out of the
// call becomes ErrTimeout; the caller's own cancellation stays what it is).
func unreachable(err error) error {
	var c lti.Coded
	if errors.As(err, &c) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}

func success(status int, ok []int) bool {
	if len(ok) == 0 {
		return status >= 200 && status < 300
	}
	return slices.Contains(ok, status)
}

func newHTTPError(method string, u *url.URL, resp *http.Response) *HTTPError {
	defer resp.Body.Close()
	// Bounded: the rest of a large error page is never read.
	b := errbody.Read(resp.Body, errbody.ReadLimit)
	e := &HTTPError{
		Method:      method,
		URL:         errbody.URL(u),
		StatusCode:  resp.StatusCode,
		Status:      errbody.Clean(resp.Status, errbody.FieldBytes),
		ContentType: errbody.Clean(resp.Header.Get("Content-Type"), errbody.FieldBytes),
		Body:        errbody.Excerpt(b),
	}
	if o, ok := errbody.ParseOAuth(b); ok {
		e.ErrorCode, e.ErrorDescription, e.ErrorURI = o.Error, o.Description, o.URI
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		e.WWWAuthenticate = errbody.Clean(resp.Header.Get("WWW-Authenticate"), errbody.ExcerptBytes)
	}
	if e.Status == "" {
		e.Status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return e
}

// drain reads a little of an unwanted body so the connection can be reused,
// then closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
}

// maxReader fails with ErrResponseTooLarge once more than left bytes
// would be read.
type maxReader struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (m *maxReader) Read(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	if int64(len(p)) > m.left+1 {
		p = p[:m.left+1]
	}
	n, err := m.rc.Read(p)
	if int64(n) > m.left {
		m.err = ErrResponseTooLarge
		return int(m.left), m.err
	}
	m.left -= int64(n)
	return n, err
}

func (m *maxReader) Close() error { return m.rc.Close() }

// NextLink returns the absolute URL of resp's Link rel="next", or "". An
// absolute target is returned as written; a relative reference resolves
// against the request URL.
func NextLink(resp *http.Response) string { return LinkRel(resp, "next") }

// LinkRel returns the absolute URL of resp's first Link header entry with
// relation rel, or "".
func LinkRel(resp *http.Response, rel string) string {
	for _, l := range ParseLinks(resp.Header.Values("Link")) {
		if !slices.Contains(l.Rels, rel) {
			continue
		}
		ref, err := url.Parse(l.URL)
		if err != nil {
			return ""
		}
		if ref.IsAbs() {
			// An absolute target is used as given (NRPS 2.0 §2.4.2, AGS
			// 2.0 §3.2.4: the platform's next page URL), its query byte
			// for byte.
			return l.URL
		}
		if resp.Request != nil && resp.Request.URL != nil {
			ref = resp.Request.URL.ResolveReference(ref)
		}
		return ref.String()
	}
	return ""
}

// Link is one link-value of a Link header (RFC 8288 §3).
type Link struct {
	// URL is the target, as written between < and >.
	URL string
	// Rels are the relation types of the first rel parameter, lower-cased.
	Rels []string
}

// ParseLinks parses Link header values (RFC 8288 §3): comma-separated
// "<uri>; rel=\"next\"; …" entries. It never fails: a malformed entry is
// skipped up to the next comma. Relation types compare case-insensitively
// (RFC 8288 §2.1.1), so they are lower-cased; only the first rel parameter
// of an entry counts (§3.3).
func ParseLinks(values []string) []Link {
	var out []Link
	for _, s := range values {
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			if s[0] != '<' {
				s = skipEntry(s)
				continue
			}
			end := strings.IndexByte(s, '>')
			if end < 0 {
				break
			}
			l := Link{URL: s[1:end]}
			s = s[end+1:]
			seenRel := false
			for {
				s = strings.TrimLeft(s, " \t")
				if s == "" || s[0] == ',' {
					break
				}
				if s[0] != ';' {
					s = skipEntry(s)
					break
				}
				s = strings.TrimLeft(s[1:], " \t")
				i := strings.IndexAny(s, "=;,")
				if i < 0 {
					i = len(s)
				}
				name := strings.ToLower(strings.TrimSpace(s[:i]))
				s = s[i:]
				var val string
				if s != "" && s[0] == '=' {
					s = strings.TrimLeft(s[1:], " \t")
					val, s = paramValue(s)
				}
				if name == "rel" && !seenRel {
					seenRel = true
					if rels := strings.Fields(strings.ToLower(val)); len(rels) > 0 {
						l.Rels = rels
					}
				}
			}
			out = append(out, l)
		}
	}
	return out
}

// skipEntry drops s up to and including the next comma outside a quoted
// string.
func skipEntry(s string) string {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return s[i+1:]
		}
	}
	return ""
}

// paramValue reads a token or quoted-string (RFC 9110 §5.6.4) and returns
// it with the rest of s.
func paramValue(s string) (string, string) {
	if s == "" || s[0] != '"' {
		i := strings.IndexAny(s, ";,")
		if i < 0 {
			i = len(s)
		}
		return strings.TrimSpace(s[:i]), s[i:]
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), "" // unterminated: take the rest
}

// DecodeArray reads a JSON array from dec one element at a time, calling f
// for each; f returning false stops early (and DecodeArray returns nil).
// An empty body counts as an empty array; trailing data is an error.
func DecodeArray[T any](dec *json.Decoder, f func(T) bool) error {
	tok, err := dec.Token()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return malformed(err)
	}
	if tok == nil { // null: no elements
		return end(dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("%w: expected a JSON array", ErrMalformedResponse)
	}
	for dec.More() {
		var v T
		if err := dec.Decode(&v); err != nil {
			return malformed(err)
		}
		if !f(v) {
			return nil
		}
	}
	if _, err := dec.Token(); err != nil {
		return malformed(err)
	}
	return end(dec)
}

// end checks that nothing follows the value just read.
func end(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("%w: trailing data after the JSON value", ErrMalformedResponse)
		}
		return malformed(err)
	}
	return nil
}

// End checks that nothing follows the last value read from dec.
func End(dec *json.Decoder) error { return end(dec) }

// Malformed wraps a decoding error as ErrMalformedResponse, keeping errors
// that carry a code already (ErrResponseTooLarge, ErrTimeout) and context
// errors recognisable.
func Malformed(err error) error { return malformed(err) }

func malformed(err error) error {
	var c lti.Coded
	if errors.As(err, &c) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %w", ErrMalformedResponse, err)
}
