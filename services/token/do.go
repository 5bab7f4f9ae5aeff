package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/internal/redirect"
	"github.com/ltikit/ltikit/services/internal/waitlimit"
)

// ErrForeignHost means a service URL (or a redirect, or a Link: next page)
// is not on the registration's platform, so the bearer token was not sent
// (1EdTech Security Framework §4.1; docs/security.md, case 47). Its code is
// foreign_host.
var ErrForeignHost = lti.NewSentinel(lti.CodeForeignHost, "token: URL is not on the registration's platform; bearer token not sent")

// ErrRedirect means [Client.Do] refused to follow a redirect: one to
// another origin than the request's (see [WithCrossOriginRedirects]), from
// https to http, or one more than [WithMaxRedirects] allows. The bearer
// token was not sent to the redirect's target. Its code is foreign_host.
var ErrRedirect = redirect.ErrRedirect

// ErrTimeout means a [Client.Do] call waited on the service longer than
// [WithRequestTimeout] allows. It matches context.DeadlineExceeded with
// errors.Is; its code is service_unavailable.
var ErrTimeout error = timeoutError{}

// ErrUnreachable means the token endpoint or the service could not be
// reached, or the connection failed before an answer was read (a network
// failure; the transport's error is wrapped with it). Retrying later may
// succeed. Its code is service_unavailable.
var ErrUnreachable = lti.NewSentinel(lti.CodeServiceUnavailable, "token: the platform could not be reached")

// timeoutError is the type of [ErrTimeout]: a comparable value without
// fields, so the sentinel cannot be changed.
type timeoutError struct{}

// Error returns the sentinel's message.
func (timeoutError) Error() string { return "token: the service did not answer in time" }

// Code returns service_unavailable.
func (timeoutError) Code() lti.Code { return lti.CodeServiceUnavailable }

// Unwrap returns context.DeadlineExceeded.
func (timeoutError) Unwrap() error { return context.DeadlineExceeded }

// unreachable wraps a transport failure err with [ErrUnreachable], unless
// it already carries a code (a refused redirect) or is a context's error
// (the call's time-out becomes [ErrTimeout]; the caller's own cancellation
// or deadline stays what it is).
func unreachable(err error) error {
	var c lti.Coded
	if err == nil || errors.As(err, &c) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}

// Do sends req to an LTI Advantage service of reg with a bearer token for
// scopes in its Authorization header, and returns the response.
//
// Before anything is sent, req.URL must be on the registration's platform
// (see [OnPlatform] and [WithHostPolicy]); otherwise Do returns an error
// wrapping [ErrForeignHost] and no token is fetched or sent. Redirects to a
// host off the platform are refused the same way; Do follows at most
// [WithMaxRedirects] redirects (default 3), each to req's own origin and
// never from https to http, and fails with [ErrRedirect] otherwise (see
// [WithCrossOriginRedirects]).
//
// The call is bounded by [WithRequestTimeout] (default 10 s) of waiting
// on the service: from the call to the response headers, plus the time
// spent reading the body (the caller's time between reads does not
// count); closing the body ends the call. Past it, Do or the body's Read
// fails with an error wrapping [ErrTimeout] and context.DeadlineExceeded. Service clients that
// follow pagination (Link: rel="next") simply call Do for every page: a
// next URL on a foreign host fails with ErrForeignHost.
//
// When the service answers 401 Unauthorized, Do invalidates that token
// (only that one: a concurrent caller's fresher token stays cached),
// fetches a new one and retries exactly once. A retry needs the body
// again: requests built by http.NewRequest[WithContext] from a
// *bytes.Buffer, *bytes.Reader or *strings.Reader (or with GetBody set)
// are retried; for others the first 401 response is returned as it is.
// The second answer is returned whatever its status; if the new token
// cannot be had, that error is returned instead of the 401.
//
// Do sends clones of req carrying ctx, so req's headers are left as they
// are; its Body is consumed as by http.Client.Do. The caller closes the
// response body. Token errors are returned as they
// come from [Client.Token] (a *[RetrieveError] for an unusable token answer).
func (c *Client) Do(ctx context.Context, reg registration.Registration, scopes []string, req *http.Request) (*http.Response, error) {
	return c.do(ctx, reg, scopes, req)
}

// OnPlatform reports whether u is on reg's platform: whether it has the
// same origin (scheme, host and port, see [SameOrigin]) as the
// registration's token endpoint or its issuer. Only such URLs may receive
// a bearer token issued for reg.
func OnPlatform(reg registration.Registration, u *url.URL) bool {
	if u == nil {
		return false
	}
	for _, raw := range []string{reg.TokenEndpoint, reg.Issuer} {
		if raw == "" {
			continue
		}
		p, err := url.Parse(raw)
		if err != nil {
			continue
		}
		if SameOrigin(p, u) {
			return true
		}
	}
	return false
}

// SameOrigin reports whether a and b have the same origin (RFC 6454):
// equal scheme and host, case-insensitively, and equal port once the
// scheme's default port is filled in. URLs with user info, or that are not
// absolute http(s) URLs, are never the same origin as anything.
func SameOrigin(a, b *url.URL) bool {
	oa, ok := origin(a)
	if !ok {
		return false
	}
	ob, ok := origin(b)
	return ok && oa == ob
}

// origin returns "scheme://host:port" of an absolute http(s) URL.
func origin(u *url.URL) (string, bool) {
	if u == nil || u.User != nil || u.Opaque != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port), true
}

func (c *Client) allowed(reg registration.Registration, u *url.URL) bool {
	if OnPlatform(reg, u) {
		return true
	}
	if _, ok := origin(u); !ok {
		return false
	}
	return c.allow != nil && c.allow(reg, u)
}

func foreign(u *url.URL) error {
	if u == nil {
		return fmt.Errorf("%w: no URL", ErrForeignHost)
	}
	return fmt.Errorf("%w: %s://%s", ErrForeignHost, u.Scheme, u.Host)
}

func (c *Client) do(ctx context.Context, reg registration.Registration, scopes []string, req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return nil, errors.New("token: Do: nil request or URL")
	}
	if !c.allowed(reg, req.URL) {
		return nil, foreign(req.URL)
	}
	hc := *c.http
	next := hc.CheckRedirect
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if !c.allowed(reg, r.URL) {
			return foreign(r.URL)
		}
		if err := redirect.Check(r, via, c.maxRedirects, c.crossOrigin, SameOrigin); err != nil {
			return err
		}
		if next != nil {
			return next(r, via)
		}
		return nil
	}
	l := waitlimit.Start(ctx, c.requestTimeout, ErrTimeout)
	resp, err := c.doAuthorized(l.Context(), reg, scopes, req, &hc)
	if err != nil {
		l.Release()
		return nil, l.Err(err)
	}
	l.Pause()
	resp.Body = l.Body(resp.Body)
	return resp, nil
}

// doAuthorized sends req with a bearer token, and once more with a new one
// after a 401.
func (c *Client) doAuthorized(ctx context.Context, reg registration.Registration, scopes []string, req *http.Request, hc *http.Client) (*http.Response, error) {
	tok, err := c.Token(ctx, reg, scopes)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, hc, req, tok, req.Body)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	// One refresh and retry (docs/security.md, case 46). Without a way to send the
	// body again, the 401 is the answer.
	body := req.Body
	if body != nil && body != http.NoBody {
		if req.GetBody == nil {
			return resp, nil
		}
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	c.Invalidate(reg, scopes, tok)
	fresh, err := c.Token(ctx, reg, scopes)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	return c.send(ctx, hc, req, fresh, body)
}

// send sends a clone of req with the bearer token, body and the trace
// context of ctx.
func (c *Client) send(ctx context.Context, hc *http.Client, req *http.Request, tok string, body io.ReadCloser) (*http.Response, error) {
	r := req.Clone(ctx)
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+tok)
	c.tel.Inject(ctx, r.Header)
	resp, err := hc.Do(r)
	return resp, unreachable(err)
}
