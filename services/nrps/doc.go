// Package nrps is the tool side of the 1EdTech Names and Role Provisioning
// Services 2.0 (NRPS): a client that reads a context's memberships (the
// course roster) from the platform, with the access tokens of a
// token.Source.
//
// A [Client] is made for one namesroleservice claim: from a validated
// launch with [FromLaunch], or with [New] from a registration and a claim
// saved earlier. Every call's token is requested with the one NRPS scope,
// contextmembership.readonly.
//
//	Call                HTTP                                               Accept
//	Client.Members      GET context_memberships_url?role=&limit=&rlid=     application/vnd.ims.lti-nrps.v2.membershipcontainer+json
//	Client.Differences  GET an earlier read's Link rel="differences" URL   application/vnd.ims.lti-nrps.v2.membershipcontainer+json
//
// # Streaming
//
// [Client.Members] returns a [Members] that reads the container lazily:
// the first page is requested by the first Next, each next page (Link
// rel="next") only when the previous one is used up, and each page's
// members are decoded one at a time from the response body. A course of
// 10,000 members is read in the memory of one member and the decoder's
// buffer. Use Next/Member/Err, or range over [Members.All].
//
// Members' roles are kept as the platform sent them: Moodle sends short
// names ("Learner", "Instructor"), other platforms full URIs; the lti.Roles
// helpers (IsLearner, IsInstructor, Has) understand both. Member fields
// the package does not know (Moodle's "ext_user_username") are kept in
// Member.Extensions.
//
// # Security
//
// A bearer token is sent only to URLs on the registration's platform: the
// origin of its issuer or token endpoint (token.OnPlatform), or what
// [WithHostPolicy] allows. A memberships URL, a redirect or a Link
// rel="next" elsewhere stops the reading with [ErrForeignHost] and nothing
// is sent there (docs/security.md, case 47). Each page is bounded, 4 MiB by default
// ([WithMaxResponseBytes]); a page over it fails while streaming. After a
// 401 the token is invalidated and the request sent once more. Reading
// honours its context.
//
// # Limits
//
// Every call is bounded, by default and by option:
//   - time: 10 s of waiting on the platform per call ([WithTimeout],
//     [DefaultTimeout]): until the response headers (token, 401 retry and
//     redirects included) plus the time spent reading the body; the time
//     your loop spends on the items of a page does not count. A host
//     http.Client keeps its own Timeout, and the context applies too.
//     Past it: [ErrTimeout], which wraps context.DeadlineExceeded.
//   - size: 4 MiB per response body, that is per page
//     ([WithMaxResponseBytes]): [ErrResponseTooLarge].
//   - lists: 1,000 pages ([WithMaxPages]) and 100,000 items
//     ([WithMaxItems]) per list: [ErrTooManyPages] (the page past the cap
//     is not requested), [ErrTooManyItems].
//   - redirects: at most 3 ([WithMaxRedirects]), each to the request's own
//     origin (scheme, host, port), never from https to http: otherwise
//     [ErrRedirect], and nothing is sent there. [WithCrossOriginRedirects]
//     follows redirects to other origins on the platform, without the
//     Authorization header.
//
// With a *token.Client as the Source and no HTTP client, the token
// client's redirect options (token.WithMaxRedirects,
// token.WithCrossOriginRedirects) and its request timeout
// (token.WithRequestTimeout, also 10 s) apply as well.
//
// # Metrics and traces
//
// Every call (each page of a list) is counted and timed by operation, HTTP
// status and result, in a client span whose trace context the request
// carries, through the OpenTelemetry API ([WithMeterProvider],
// [WithTracerProvider], [WithPropagator]; the global providers by
// default). docs/observability.md lists the metrics and operations.
//
// # Errors
//
// Every error carries a stable code: lti.Classify(err) gives it with its
// kind and HTTP status (docs/errors.md lists them). Errors wrap sentinels to
// compare with errors.Is:
//   - [ErrNoNRPS]: FromLaunch on a launch without the NRPS claim (service_not_offered).
//   - [ErrNoMembershipsURL], [ErrUnsupportedVersion]: an unusable claim (service_not_offered).
//   - [ErrForeignHost]: a URL off the platform; no token sent. [ErrBadURL]: not an absolute URL.
//     [ErrRedirect]: a redirect not followed (all foreign_host).
//   - [ErrMalformedResponse], [ErrPagingLoop]: the platform's answer (malformed_response).
//   - [ErrResponseTooLarge], [ErrTooManyPages], [ErrTooManyItems]: an answer or a list past its
//     caps (response_too_large).
//   - [ErrTimeout]: the platform did not answer in time; [ErrUnreachable]: it could not be
//     reached (service_unavailable).
//   - the Source's errors (e.g. a *token.RetrieveError) and the context's errors, wrapped.
//
// A platform answer other than 200 is an *[HTTPError] (the same type as
// ags.HTTPError; code service_error) with the request, the status, the
// Content-Type, the RFC 6749 §5.2 members when the body is such JSON, and a
// one-line excerpt of the body (at most 512 bytes, secrets masked), for
// logs.
//
// The claim's context_memberships_url is used as given, its query byte for
// byte; the filters (role, limit, rlid) are appended to it, and Link
// rel="next" and rel="differences" URLs are requested as written.
package nrps
