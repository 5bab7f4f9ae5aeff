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
// [ErrForeignHost] and nothing is sent (SECURITY-CASES 47). Each response
// body (each page) is bounded, 4 MiB by default ([WithMaxResponseBytes]).
// After a 401 the token is invalidated in the Source and the call is sent
// once more with a new one. Every call honours its context.
//
// When the Source is a *token.Client and no HTTP client is given, the
// token client's Do sends the calls (its host policy, redirect check and
// 401 retry); otherwise the client does the same itself with the given
// http.Client.
//
// # Errors
//
// Errors wrap sentinels to compare with errors.Is:
//   - [ErrNoAGS]: FromLaunch on a launch without the AGS claim.
//   - [ErrScopeNotGranted]: the claim does not grant the call's scope (no request made).
//   - [ErrNoLineItemsURL], [ErrNoLineItem]: the claim lacks the URL the call needs.
//   - [ErrInvalidScore], [ErrInvalidLineItem]: refused before sending (AGS 2.0 §3.4, §3.2).
//   - [ErrForeignHost]: a URL off the platform; no token sent. [ErrBadURL]: not an absolute URL.
//   - [ErrResponseTooLarge], [ErrMalformedResponse], [ErrPagingLoop]: the platform's answer.
//   - the Source's errors (e.g. a *token.TokenError) and the context's errors, wrapped.
//
// A platform answer with an unexpected status is an *[HTTPError] (get it
// with errors.As) carrying the status, the WWW-Authenticate header of a
// 401 or 403 and the first KiB of the platform's body, for logs. The NRPS
// client returns the same type.
package ags
