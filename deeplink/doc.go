// Package deeplink owns the tool's side of LTI Deep Linking 2.0: reading
// the platform's LtiDeepLinkingRequest settings, the typed content items a
// tool returns (Deep Linking 2.0 §3), and the signed LtiDeepLinkingResponse
// posted back to the platform (§4.5, 1EdTech Security Framework §5.2).
//
// The flow, after a deep linking launch validated by package launch:
//
//	req, err := deeplink.ParseRequest(l)   // keep req while the user picks
//	…
//	resp := &deeplink.Response{Request: req, Items: []deeplink.Item{
//		deeplink.LTIResourceLink{URL: "https://tool.example/quiz/7", Title: "Quiz 7"},
//	}}
//	err = responder.Respond(ctx, w, resp)    // validate, sign, auto-post
//
// A [Responder] is made once with [New] and the tool's signer (a
// toolkey.Signer: RS256, kid in the header). [Responder.Sign] returns the
// JWT for hosts that post it themselves; [Response.WriteForm] writes the
// auto-submitting form for a JWT.
//
// Every response is checked before anything is signed: item types against
// accept_types, the number of items against accept_multiple, line items
// against accept_lineitem, window/iframe/embed presentations against
// accept_presentation_document_targets, file media types against
// accept_media_types, and every URL must be an absolute http(s) URL, so no
// javascript: or data: URL is ever signed. The response echoes the
// request's data byte for byte, carries a fresh nonce and lives at most
// five minutes.
//
// The form page posts only to the return URL's origin (CSP form-action):
// a platform whose return URL answers with a redirect to another origin
// is blocked by browsers that apply form-action to redirects.
//
// # Metrics and traces
//
// [Responder.Sign] (and so [Responder.Respond]) is counted and timed as the
// service operation deeplink.response.sign by result, in a span of its
// own, through the OpenTelemetry API ([WithMeterProvider],
// [WithTracerProvider]; the global providers by default).
// docs/observability.md lists the metrics.
//
// # Errors
//
// Every refusal is an *[Error] with the code invalid_deep_linking (400,
// input; lti.Classify gives it), a stable [Reason] (its accessor
// [Error.Reason]), the index of the offending item ([Error.Item]) and the
// offending property ([Error.Field]); match it with errors.Is against the
// sentinels (ErrTypeNotAccepted, ErrMultipleNotAccepted,
// ErrLineItemNotAccepted, ErrTargetNotAccepted, ErrMediaTypeNotAccepted,
// ErrInvalidURL, ErrInvalidItem, ErrInvalidReturnURL, ErrInvalidRequest,
// ErrInvalidSettings, ErrNotDeepLinking) or read it with errors.As.
//
// Each Error wraps an *lti.Error with the same code, a description safe to
// show the user and the specification section, so lti.AsError gives what
// a handler renders, whether the request could not be answered (not a
// deep linking launch, missing or malformed settings, a return URL that is
// not http(s)) or the response the host asked to sign would not be
// accepted by the platform. A signer failure is not a refusal: it comes
// back as the signer's error when that carries a code (e.g. an *lti.Error),
// or as storage_unavailable wrapping it.
package deeplink
