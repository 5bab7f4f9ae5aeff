// Package token owns the OAuth 2 access tokens that LTI Advantage service
// calls (Assignment and Grade Services, Names and Role Provisioning
// Services) carry: the client credentials grant with a signed JWT client
// assertion (RFC 6749 §4.4, RFC 7523, 1EdTech Security Framework §4.1), and
// the cache that shares one token per registration and scope set.
//
// # Client
//
// [Client] is the [Source] hosts use. [Client.Token] signs a client
// assertion with the tool's key ([toolkey.Signer]: iss = sub = client_id,
// aud = the registration's TokenAudience or else its token endpoint, a
// 128-bit random jti, exp five minutes after iat at most), posts it with
// grant_type=client_credentials and the space-separated scopes, and caches
// the token per issuer, client_id and scope set (sorted, without
// duplicates) until shortly before expires_in runs out (30 s, or a tenth
// of the lifetime for short-lived tokens). Concurrent callers for one key
// share one request. [Client.Invalidate] drops a token only if it is still
// the cached one, so a late 401 for an old token does not evict a new one.
//
// [Client.Do] is what service clients send with: it refuses any URL that
// is not on the registration's platform (same origin as its issuer or
// token endpoint, see [OnPlatform] and [SameOrigin]; redirects included)
// before a token is fetched, sets "Authorization: Bearer", and after a 401
// invalidates the token and retries exactly once with a new one. Service
// clients that follow Link: rel="next" pages call Do for each page, so a
// next page on another host is refused too.
//
// # Limits
//
// A token request is bounded by [WithFetchTimeout] (10 s) and its answer
// by [WithMaxBytes] (1 MiB); a token endpoint's redirect is never
// followed. A [Client.Do] call is bounded by [WithRequestTimeout]
// (10 s of waiting on the service: until the response headers, token,
// 401 retry and redirects included, plus the time spent reading the body,
// not the caller's time between reads; [ErrTimeout], which wraps
// context.DeadlineExceeded), on top of the HTTP client's own Timeout (the
// default client has none) and the context. Do follows at most
// [WithMaxRedirects] (3) redirects, each to the request's own origin and
// never from https to http; others fail with [ErrRedirect].
// [WithCrossOriginRedirects] follows redirects to other origins on the
// platform, with the Authorization header removed. Do does not bound the
// size of the body it returns: the service clients (ags, nrps) do.
//
// The registered token endpoint is used as given: its query (the WordPress
// "LTI Platform" plugin's "/?lti-platform&token") is sent byte for byte.
//
// Tokens and assertions are never logged ([WithLogger] records issuer,
// client_id, scopes and lifetimes only), never part of an error, and
// [Response] prints its token redacted.
//
// # Metrics and traces
//
// Token requests are counted and timed as the service operation
// token.request by HTTP status and result, each in a client span, and
// [Client.Token] counts its cache hits and misses, through the
// OpenTelemetry API ([WithMeterProvider], [WithTracerProvider]; the global
// providers by default). Token requests and the requests [Client.Do] sends
// carry the caller's trace context in their headers ([WithPropagator]).
// docs/observability.md lists the metrics.
//
// # Errors
//
// Every error of this package carries a stable code, found with
// lti.Classify or errors.As(err, &coded) (docs/errors.md lists them all);
// match the sentinels with errors.Is.
//
// Every unusable answer of the token endpoint is a *[RetrieveError]
// carrying the request (POST and the token endpoint), the HTTP status and
// Content-Type, and the platform's words: its error, error_description and
// error_uri (RFC 6749 §5.2; the ErrorCode, ErrorDescription and ErrorURI
// fields) when the body is such a JSON object, whatever its Content-Type,
// else a one-line excerpt of the body (at most 512 bytes, control
// characters replaced, JWTs and tokens masked; Moodle answers an unknown
// kid with malformed JSON as text/html, and the excerpt shows it). Of an
// error answer at most 16 KiB is read. With [WithLogger], a refusal is
// logged at warn level with the same fields ([RetrieveError.LogAttrs]). It
// wraps the kind of failure, for errors.Is, and takes its code from it:
// [ErrRejected] (token_refused: an error status, or an error member
// without a token), [ErrMalformedResponse] (malformed_response: not a JSON
// object, or a member of the wrong type), [ErrResponseTooLarge]
// (response_too_large: over [WithMaxBytes], 1 MiB by default; not parsed),
// [ErrNoAccessToken] and [ErrUnsupportedTokenType] (malformed_response;
// token_type other than Bearer, compared case-insensitively). Nothing is
// cached after an error.
//
// A registration without a usable token endpoint or client_id is
// [ErrNoTokenEndpoint] (no_token_endpoint); a URL off the platform is
// [ErrForeignHost] and a refused redirect of Do is [ErrRedirect] (both
// foreign_host); Do past its timeout is [ErrTimeout] and a network failure
// wraps [ErrUnreachable] (both service_unavailable). Failures of the
// signer are returned wrapped as they come (internal_error).
package token
