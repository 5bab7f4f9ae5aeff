// Package lti owns the vocabulary shared by every other ltikit package: the
// one error type ([Error]) with its stable codes and HTTP statuses, the claim
// names of the 1EdTech LTI 1.3 Core specification, the typed claim values an
// id_token carries, and the role vocabulary with its helpers.
//
// It imports nothing else from ltikit, so storage adapters, the launch
// pipeline and the LTI Advantage services can all depend on it.
//
// # Errors
//
// Every failure that reaches an HTTP client is an *[Error]. Match it with
// errors.Is against the exported sentinels (ErrInvalidState, ErrInvalidToken,
// …), which compare by [Code], or with errors.As to read the code, status
// and safe description. Only Code and Description are ever shown to a
// browser; the wrapped cause is for logs.
package lti
