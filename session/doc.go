// Package session owns launch sessions: what ties the requests after an LTI
// launch — the tool's own pages, its forms and fetch calls, a deep linking
// picker — to the launch they belong to, also inside the platform's iframe
// where the browser blocks third-party cookies.
//
// It is a package of its own because it is state the launch pipeline does
// not need: package launch validates a launch and stops there, keeping
// nothing beyond the single-use login state. A session is the host's
// choice, with its own store ([Store], implemented by the memory and GORM
// adapters, checked by session/sessiontest), its own lifetime and its own
// threat model (a bearer token in URLs and forms, a cookie that other sites'
// forms would carry). Package launch never imports it.
//
// # How it works
//
// [Manager.Start] runs as the next handler of launch.Tool.LaunchHandler: for
// each successful launch it mints a token (256 bits from crypto/rand,
// base64url) and stores one [Record] under the token's SHA-256 ([IDOf]): the
// registration, deployment and subject, the id_token payload the launch
// verified, a CSRF token and two expiries, idle (default 30 minutes,
// extended by use) and absolute (default 2 hours). The token itself is
// never stored. The browser gets it three ways, so that whichever survives
// the browser's cookie policy carries the session:
//
//   - a cookie, __Host-ltikit_session: HttpOnly, Secure, SameSite=None,
//     Partitioned (CHIPS, kept for the platform's site even where
//     third-party cookies are blocked), Max-Age the absolute lifetime;
//   - [Session.URL], which adds lti_session=<token> to the tool's own links
//     (GET and HEAD only);
//   - [Session.FormFields], hidden lti_session and csrf_token fields for the
//     tool's forms; scripts send "Authorization: Bearer <token>" with
//     [Session.Token].
//
// [Manager.Require] guards every later page: it finds the token (Bearer
// header, then the lti_session parameter, then the cookie), refuses a
// missing, malformed, unknown, expired or ended session, checks the CSRF
// token of state-changing requests that only the cookie authenticates, and
// rebuilds the launch with launch.Tool.Resume, so launch.FromContext works
// on every page as it did in the launch, with the host's own registration
// and deployment values. A session belongs to one launch: a new launch in
// the same browser deletes the session it carried. [Manager.Revoke] and
// [Manager.End] end a session at once, on every node that shares the store.
//
// Tokens, CSRF tokens and claims are never logged. Responses through Start
// and Require carry Cache-Control: no-store and Referrer-Policy:
// same-origin, since URLs carry tokens.
//
// # Errors
//
// Refusals reach the error handler ([WithErrorHandler], default
// launch.WriteError) as *lti.Error values; package lti derives the status
// from the code (docs/errors.md lists them all):
//
//   - no token, a malformed token, an unknown, expired or ended session:
//     [ErrNoSession], code no_session, 401;
//   - a missing or wrong CSRF token, a token in the query of a method other
//     than GET or HEAD, an unreadable or oversized form body:
//     invalid_request, 400, each with its own description;
//   - a registration or deployment removed since the launch:
//     unknown_registration (400) or unknown_deployment (403), as
//     launch.Tool.Resume reports them;
//   - any store failure, and Start used without a launch in the request
//     context (a wiring fault of the host): storage_unavailable, 503, and
//     the next handler is not called.
//
// A [Store] reports a refused id with [ErrNotFound] or [ErrExpired] (both
// of code no_session, matched by identity with errors.Is); any other
// error, a cancelled context included, is a store failure.
// [Manager.Revoke] and [Manager.End] return store failures as errors
// matching lti.ErrStorageUnavailable.
package session
