// Package ags is the tool side of the 1EdTech Assignment and Grade Services
// 2.0 (AGS): a client that manages a context's line items (gradebook
// columns), posts scores and reads results on the platform, with the access
// tokens of a token.Source.
//
// A [Client] is made for one AGS endpoint claim: from a validated launch
// with [FromLaunch], or with [New] from a registration and a claim saved
// earlier (for grading after the learner has left). It requests tokens for
// exactly the AGS scopes the claim grants, so one cached token serves every
// call, and refuses a call whose scope the claim does not grant before any
// HTTP request.
//
//	Call                   HTTP                                  Media type                                                 Scope
//	Client.LineItems       GET lineitems, Link rel="next"        Accept application/vnd.ims.lis.v2.lineitemcontainer+json   lineitem or lineitem.readonly
//	Client.LineItem        GET lineitem                          Accept application/vnd.ims.lis.v2.lineitem+json            lineitem or lineitem.readonly
//	Client.CreateLineItem  POST lineitems                        application/vnd.ims.lis.v2.lineitem+json                   lineitem
//	Client.UpdateLineItem  PUT lineitem                          application/vnd.ims.lis.v2.lineitem+json                   lineitem
//	Client.DeleteLineItem  DELETE lineitem                       —                                                          lineitem
//	Client.PostScore       POST lineitem path + /scores          application/vnd.ims.lis.v1.score+json                      score
//	Client.Results         GET lineitem path + /results, next    Accept application/vnd.ims.lis.v2.resultcontainer+json     result.readonly
//
// "/scores" and "/results" go on the line item URL's path, before its query:
// Moodle's line item URLs carry "?type_id=1", and
// ".../lineitem?type_id=1/scores" would not reach it.
//
// Lists are Go iterators (iter.Seq2[T, error]): nothing is requested until
// the loop starts, each page is fetched only when the previous one is used
// up, its items are decoded one at a time, and breaking out of the loop
// stops the paging.
//
// # Security
//
// A bearer token is sent only to URLs on the registration's platform: the
// origin (scheme, host, port) of its issuer or token endpoint
// (token.OnPlatform), or what [WithHostPolicy] allows. A claim URL, a line
// item URL, a redirect or a Link rel="next" elsewhere fails with
// [ErrForeignHost] and nothing is sent (docs/security.md, case 47). Each response
// body (each page) is bounded, 4 MiB by default ([WithMaxResponseBytes]).
// After a 401 the token is invalidated in the Source and the call is sent
// once more with a new one. Every call honours its context.
//
// When the Source is a *token.Client and no HTTP client is given, the
// token client's Do sends the calls (its host policy, redirect check and
// 401 retry); otherwise the client does the same itself with the given
// http.Client.
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
//   - [ErrNoAGS]: FromLaunch on a launch without the AGS claim (service_not_offered).
//   - [ErrScopeNotGranted]: the claim does not grant the call's scope; no request made (scope_not_granted).
//   - [ErrNoLineItemsURL], [ErrNoLineItem]: the claim lacks the URL the call needs (service_not_offered).
//   - [ErrInvalidScore], [ErrInvalidLineItem]: refused before sending, AGS 2.0 §3.4, §3.2 (invalid_request).
//   - [ErrForeignHost]: a URL off the platform; no token sent. [ErrBadURL]: not an absolute URL.
//     [ErrRedirect]: a redirect not followed (all foreign_host).
//   - [ErrMalformedResponse], [ErrPagingLoop]: the platform's answer (malformed_response).
//   - [ErrResponseTooLarge], [ErrTooManyPages], [ErrTooManyItems]: an answer or a list past its
//     caps (response_too_large).
//   - [ErrTimeout]: the platform did not answer in time; [ErrUnreachable]: it could not be
//     reached (service_unavailable).
//   - the Source's errors (e.g. a *token.RetrieveError) and the context's errors, wrapped.
//
// A platform answer with an unexpected status is an *[HTTPError] (get it
// with errors.As; code service_error) carrying the request's method and
// URL, the status, the Content-Type, the WWW-Authenticate header of a 401
// or 403, the RFC 6749 §5.2 members when the body is such JSON, and a
// one-line excerpt of the body (at most 512 bytes, secrets masked), for
// logs; its LogAttrs method gives them as slog attributes. The NRPS client
// returns the same type.
//
// # URLs
//
// The claim's URLs are used as given: their query is sent byte for byte
// (Moodle's "?type_id=1", bare keys, encodings and repeated keys kept). The
// scores and results services go before the query (".../lineitems/1?type_id=2"
// becomes ".../lineitems/1/scores?type_id=2", AGS 2.0 §3.4.1, §3.3.1); the
// filters a call adds (user_id, limit, tag, …) are appended to the query,
// replacing a parameter of the same name; Link rel="next" URLs are
// requested as written.
package ags
