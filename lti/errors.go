package lti

import (
	"errors"
	"net/http"
)

// Code is a stable, machine-readable error code. Codes never change meaning
// between releases; hosts may switch on them and show them to users.
type Code string

// The error codes of the launch pipeline and the HTTP status each carries.
const (
	// CodeInvalidRequest (400): a malformed, oversized or incomplete request.
	CodeInvalidRequest Code = "invalid_request"
	// CodeUnknownRegistration (400): no unique registration for the issuer and client_id.
	CodeUnknownRegistration Code = "unknown_registration"
	// CodePlatformError (400): the platform answered the auth request with an error.
	CodePlatformError Code = "platform_error"
	// CodeInvalidState (401): state missing, unknown, expired, used, or not bound to this browser.
	CodeInvalidState Code = "invalid_state"
	// CodeInvalidToken (401): the id_token is not a well-formed compact JWS/JWT.
	CodeInvalidToken Code = "invalid_token"
	// CodeInvalidSignature (401): the signature, algorithm or key is not acceptable.
	CodeInvalidSignature Code = "invalid_signature"
	// CodeTokenExpired (401): exp is past, or iat is in the future or too old.
	CodeTokenExpired Code = "token_expired"
	// CodeInvalidClaims (401): a required claim is missing, malformed or wrong.
	CodeInvalidClaims Code = "invalid_claims"
	// CodeInvalidNonce (401): the nonce is missing, was never issued, or was already used.
	CodeInvalidNonce Code = "invalid_nonce"
	// CodeUnknownDeployment (403): the deployment_id is not registered for the platform.
	CodeUnknownDeployment Code = "unknown_deployment"
	// CodeKeysetUnavailable (503): the platform key set could not be fetched and none is cached.
	CodeKeysetUnavailable Code = "keyset_unavailable"
	// CodeStorageUnavailable (503): storage failed; the launch is refused (fail closed).
	CodeStorageUnavailable Code = "storage_unavailable"
)

// Status returns the HTTP status that goes with the code. Unknown codes map
// to 400: an error whose code we do not know is treated as a bad request,
// never as a success.
func (c Code) Status() int {
	switch c {
	case CodeInvalidState, CodeInvalidToken, CodeInvalidSignature, CodeTokenExpired,
		CodeInvalidClaims, CodeInvalidNonce:
		return http.StatusUnauthorized
	case CodeUnknownDeployment:
		return http.StatusForbidden
	case CodeKeysetUnavailable, CodeStorageUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

// Error is the one error type of ltikit. Values are never mutated after
// construction: the With… methods return modified copies, so the exported
// sentinels stay safe to share.
type Error struct {
	// Code is the stable error code.
	Code Code
	// Description is safe to show to the end user: it never contains input
	// read from the request or from an unverified token.
	Description string
	// SpecRef names the specification section the rule comes from, e.g.
	// "1EdTech Security Framework 5.1.3". It may be empty.
	SpecRef string

	cause error
}

// Status is the HTTP status for the error's code.
func (e *Error) Status() int { return e.Code.Status() }

// Error implements the error interface. It includes the cause, so it is for
// logs; show Code and Description to users instead.
func (e *Error) Error() string {
	s := string(e.Code)
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the wrapped cause.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same code, so
// errors.Is(err, lti.ErrInvalidState) matches any invalid_state error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithCause returns a copy of e wrapping cause.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// WithDescription returns a copy of e with a new safe description. Never
// put request input or unverified token content into it.
func (e *Error) WithDescription(desc string) *Error {
	c := *e
	c.Description = desc
	return &c
}

// WithSpec returns a copy of e naming the specification section it enforces.
func (e *Error) WithSpec(ref string) *Error {
	c := *e
	c.SpecRef = ref
	return &c
}

// Sentinels, one per code. Compare with errors.Is; derive with the With…
// methods.
var (
	ErrInvalidRequest      = &Error{Code: CodeInvalidRequest, Description: "the request is malformed"}
	ErrUnknownRegistration = &Error{Code: CodeUnknownRegistration, Description: "no unique registration matches the platform"}
	ErrPlatformError       = &Error{Code: CodePlatformError, Description: "the platform reported an error"}
	ErrInvalidState        = &Error{Code: CodeInvalidState, Description: "the login state is missing, expired, already used or not bound to this browser"}
	ErrInvalidToken        = &Error{Code: CodeInvalidToken, Description: "the id_token is malformed"}
	ErrInvalidSignature    = &Error{Code: CodeInvalidSignature, Description: "the id_token signature is not valid"}
	ErrTokenExpired        = &Error{Code: CodeTokenExpired, Description: "the id_token is expired or not yet valid"}
	ErrInvalidClaims       = &Error{Code: CodeInvalidClaims, Description: "the id_token claims are not valid"}
	ErrInvalidNonce        = &Error{Code: CodeInvalidNonce, Description: "the nonce is missing, unknown or already used"}
	ErrUnknownDeployment   = &Error{Code: CodeUnknownDeployment, Description: "the deployment is not registered"}
	ErrKeysetUnavailable   = &Error{Code: CodeKeysetUnavailable, Description: "the platform key set is unavailable"}
	ErrStorageUnavailable  = &Error{Code: CodeStorageUnavailable, Description: "storage is unavailable"}
)

// AsError returns err as an *Error. Any error that is not one (or does not
// wrap one) becomes a storage_unavailable error wrapping it: an unexpected
// failure is never treated as success, and never shown to the user.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrStorageUnavailable.WithCause(err)
}
