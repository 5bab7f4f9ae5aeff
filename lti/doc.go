// Package lti owns the vocabulary shared by every other ltikit package: the
// error model of every package (the [Error] type, the stable [Code]s with
// their HTTP status and [Kind], [Classify]), the claim names of the 1EdTech
// LTI 1.3 Core specification, the typed claim values an id_token carries,
// and the role vocabulary with its helpers.
//
// It imports nothing else from ltikit, so storage adapters, the launch
// pipeline and the LTI Advantage services can all depend on it.
//
// # Errors
//
// Every error of every ltikit package carries a [Code], and the code alone
// gives its HTTP status and its [Kind] (input, security, platform,
// infrastructure, configuration). A refusal of the launch pipeline or of
// package session is an *[Error]; match it with errors.Is against the
// exported sentinels (ErrInvalidState, ErrInvalidToken, …), which compare
// by code, or with errors.As to read its code, status and safe
// description. The store contracts and the services use sentinels made
// with [NewSentinel], matched by identity. Every error type implements
// [Coded], so [Classify] gives the code, kind and status of any error, and
// internal_error for one without a code. Only the code and the
// description are ever shown to a browser; Error() and the wrapped cause
// are for logs. docs/errors.md lists every exported error of the module.
package lti
