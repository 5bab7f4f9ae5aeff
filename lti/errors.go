package lti

import (
	"context"
	"errors"
	"net/http"
)

// Code is a stable, machine-readable error code. Codes never change meaning
// between releases; hosts may switch on them and show them to users. Every
// error of every ltikit package carries one (see [Classify]); the code
// alone gives its HTTP status ([Code.Status]) and its kind ([Code.Kind]).
// docs/errors.md lists every exported error with its code.
type Code string

// Kind says whose problem an error is, which decides what a host does
// about it: show the user a refusal, alert on an attack, retry later, or
// fix the configuration.
type Kind string

// The kinds of errors.
const (
	// KindInput: the request or the values a caller passed are malformed,
	// incomplete or out of bounds. Answer 4xx; nothing to retry.
	KindInput Kind = "input"
	// KindSecurity: a message or token that is forged, replayed, stale,
	// not bound to this browser or otherwise untrusted was refused. Answer
	// 401/403; worth counting, never worth retrying.
	KindSecurity Kind = "security"
	// KindPlatform: the platform (the LMS) answered with an error, or with
	// something the tool cannot use. Usually 502; the platform's words are
	// in the error.
	KindPlatform Kind = "platform"
	// KindInfrastructure: storage, the network or a time limit failed.
	// Answer 503/504; retrying later may succeed.
	KindInfrastructure Kind = "infrastructure"
	// KindConfiguration: the tool's setup or a registration is missing or
	// wrong (an unknown platform or deployment, a scope not granted, a
	// missing token endpoint). An administrator fixes it.
	KindConfiguration Kind = "configuration"
)

// The error codes. The comment of each gives its HTTP status and kind.
const (
	// CodeInvalidRequest (400, input): a malformed, oversized or incomplete
	// request, or invalid values passed by the caller.
	CodeInvalidRequest Code = "invalid_request"
	// CodeUnknownRegistration (400, configuration): no unique registration
	// for the issuer and client_id.
	CodeUnknownRegistration Code = "unknown_registration"
	// CodePlatformError (400, platform): the platform answered the auth
	// request with an error.
	CodePlatformError Code = "platform_error"
	// CodeInvalidState (401, security): state missing, unknown, expired,
	// used, or not bound to this browser.
	CodeInvalidState Code = "invalid_state"
	// CodeInvalidToken (401, security): the id_token is not a well-formed
	// compact JWS/JWT.
	CodeInvalidToken Code = "invalid_token"
	// CodeInvalidSignature (401, security): the signature, algorithm or key
	// is not acceptable.
	CodeInvalidSignature Code = "invalid_signature"
	// CodeTokenExpired (401, security): exp is past, or iat is in the
	// future or too old.
	CodeTokenExpired Code = "token_expired"
	// CodeInvalidClaims (401, security): a required claim is missing,
	// malformed or wrong.
	CodeInvalidClaims Code = "invalid_claims"
	// CodeInvalidNonce (401, security): the nonce is missing, was never
	// issued, or was already used.
	CodeInvalidNonce Code = "invalid_nonce"
	// CodeNoSession (401, security): a page after the launch was asked for
	// without a usable launch session (missing, expired or ended).
	CodeNoSession Code = "no_session"
	// CodeUnknownDeployment (403, configuration): the deployment_id is not
	// registered for the platform.
	CodeUnknownDeployment Code = "unknown_deployment"
	// CodeKeysetUnavailable (503, infrastructure): the platform key set
	// could not be fetched and none is cached.
	CodeKeysetUnavailable Code = "keyset_unavailable"
	// CodeStorageUnavailable (503, infrastructure): storage failed; the
	// launch is refused (fail closed).
	CodeStorageUnavailable Code = "storage_unavailable"

	// CodeAlreadyExists (409, input): a registration or deployment to
	// create is stored already.
	CodeAlreadyExists Code = "already_exists"

	// CodeServiceNotOffered (403, configuration): the launch does not offer
	// the LTI Advantage service asked for (no AGS or NRPS claim, no line
	// items or memberships URL, an unsupported service version).
	CodeServiceNotOffered Code = "service_not_offered"
	// CodeScopeNotGranted (403, configuration): the platform did not grant
	// the scope the call needs.
	CodeScopeNotGranted Code = "scope_not_granted"
	// CodeNoTokenEndpoint (500, configuration): the registration has no
	// token endpoint, so no service can be called.
	CodeNoTokenEndpoint Code = "no_token_endpoint"
	// CodeTokenRefused (502, platform): the platform's token endpoint
	// refused the tool's request.
	CodeTokenRefused Code = "token_refused"
	// CodeServiceError (502, platform): a platform service answered with
	// an error status.
	CodeServiceError Code = "service_error"
	// CodeMalformedResponse (502, platform): the platform's answer is not
	// what the specification says (not JSON, a field missing, a paging
	// loop).
	CodeMalformedResponse Code = "malformed_response"
	// CodeResponseTooLarge (502, platform): the platform's answer exceeds a
	// size, page or item limit.
	CodeResponseTooLarge Code = "response_too_large"
	// CodeForeignHost (502, security): a URL the platform sent is not on
	// the platform's host, or redirects elsewhere; no token was sent there.
	CodeForeignHost Code = "foreign_host"
	// CodeServiceUnavailable (504, infrastructure): the platform could not
	// be reached, or did not answer in time.
	CodeServiceUnavailable Code = "service_unavailable"

	// CodeInvalidDeepLinking (400, input): a deep linking request's
	// settings, or the content items the tool answers with, break a rule
	// of LTI Deep Linking 2.0.
	CodeInvalidDeepLinking Code = "invalid_deep_linking"

	// CodeRegistrationNotAllowed (403, configuration): the tool refused a
	// Dynamic Registration (its approval hook, or none configured).
	CodeRegistrationNotAllowed Code = "registration_not_allowed"
	// CodeInvalidConfiguration (502, platform): the platform's Dynamic
	// Registration configuration breaks a rule of the specification.
	CodeInvalidConfiguration Code = "invalid_configuration"
	// CodeConfigurationUnavailable (502, infrastructure): the platform's
	// configuration could not be fetched.
	CodeConfigurationUnavailable Code = "configuration_unavailable"
	// CodeRegistrationRefused (502, platform): the platform's registration
	// endpoint refused the tool's registration.
	CodeRegistrationRefused Code = "registration_refused"
	// CodeRegistrationFailed (502, platform): the registration could not
	// be sent, or the platform's answer is unusable.
	CodeRegistrationFailed Code = "registration_failed"
	// CodeRegistrationConflict (409, configuration): the platform answered
	// with an issuer and client_id the tool stores with other endpoints.
	CodeRegistrationConflict Code = "registration_conflict"

	// CodeInternal (500, infrastructure): an error that carries no code
	// (see [Classify]), or a host hook that failed.
	CodeInternal Code = "internal_error"
)

// codeInfo is the one table of codes: status and kind.
var codeInfo = map[Code]struct {
	status int
	kind   Kind
}{
	CodeInvalidRequest:           {http.StatusBadRequest, KindInput},
	CodeUnknownRegistration:      {http.StatusBadRequest, KindConfiguration},
	CodePlatformError:            {http.StatusBadRequest, KindPlatform},
	CodeInvalidState:             {http.StatusUnauthorized, KindSecurity},
	CodeInvalidToken:             {http.StatusUnauthorized, KindSecurity},
	CodeInvalidSignature:         {http.StatusUnauthorized, KindSecurity},
	CodeTokenExpired:             {http.StatusUnauthorized, KindSecurity},
	CodeInvalidClaims:            {http.StatusUnauthorized, KindSecurity},
	CodeInvalidNonce:             {http.StatusUnauthorized, KindSecurity},
	CodeNoSession:                {http.StatusUnauthorized, KindSecurity},
	CodeUnknownDeployment:        {http.StatusForbidden, KindConfiguration},
	CodeKeysetUnavailable:        {http.StatusServiceUnavailable, KindInfrastructure},
	CodeStorageUnavailable:       {http.StatusServiceUnavailable, KindInfrastructure},
	CodeAlreadyExists:            {http.StatusConflict, KindInput},
	CodeServiceNotOffered:        {http.StatusForbidden, KindConfiguration},
	CodeScopeNotGranted:          {http.StatusForbidden, KindConfiguration},
	CodeNoTokenEndpoint:          {http.StatusInternalServerError, KindConfiguration},
	CodeTokenRefused:             {http.StatusBadGateway, KindPlatform},
	CodeServiceError:             {http.StatusBadGateway, KindPlatform},
	CodeMalformedResponse:        {http.StatusBadGateway, KindPlatform},
	CodeResponseTooLarge:         {http.StatusBadGateway, KindPlatform},
	CodeForeignHost:              {http.StatusBadGateway, KindSecurity},
	CodeServiceUnavailable:       {http.StatusGatewayTimeout, KindInfrastructure},
	CodeInvalidDeepLinking:       {http.StatusBadRequest, KindInput},
	CodeRegistrationNotAllowed:   {http.StatusForbidden, KindConfiguration},
	CodeInvalidConfiguration:     {http.StatusBadGateway, KindPlatform},
	CodeConfigurationUnavailable: {http.StatusBadGateway, KindInfrastructure},
	CodeRegistrationRefused:      {http.StatusBadGateway, KindPlatform},
	CodeRegistrationFailed:       {http.StatusBadGateway, KindPlatform},
	CodeRegistrationConflict:     {http.StatusConflict, KindConfiguration},
	CodeInternal:                 {http.StatusInternalServerError, KindInfrastructure},
}

// Codes returns every code, for documentation and tests. The order is
// unspecified.
func Codes() []Code {
	out := make([]Code, 0, len(codeInfo))
	for c := range codeInfo {
		out = append(out, c)
	}
	return out
}

// Status returns the HTTP status that goes with the code. An unknown code
// maps to 400: an error whose code we do not know is treated as a bad
// request, never as a success.
func (c Code) Status() int {
	if i, ok := codeInfo[c]; ok {
		return i.status
	}
	return http.StatusBadRequest
}

// Kind returns the code's kind; an unknown code is KindInput.
func (c Code) Kind() Kind {
	if i, ok := codeInfo[c]; ok {
		return i.kind
	}
	return KindInput
}

// Coded is implemented by every error type of ltikit: [*Error], the
// sentinels of [NewSentinel], and the structured errors of the services,
// deep linking and Dynamic Registration packages. Find it with errors.As,
// or use [Classify].
type Coded interface {
	error
	// Code is the error's stable code.
	Code() Code
}

// Class is what [Classify] says of an error.
type Class struct {
	// Code is the error's stable code.
	Code Code
	// Kind is the code's kind.
	Kind Kind
	// Status is the code's HTTP status.
	Status int
}

// Classify returns the class of err: the code of the first error in its
// chain that has one ([Coded]), with the code's kind and status. An error
// without a code is a context time-out (service_unavailable) or otherwise
// internal_error (500): never a success. Classify(nil) is the zero Class.
func Classify(err error) Class {
	if err == nil {
		return Class{}
	}
	code := CodeInternal
	var c Coded
	switch {
	case errors.As(err, &c):
		code = c.Code()
	case errors.Is(err, context.DeadlineExceeded):
		code = CodeServiceUnavailable
	}
	return Class{Code: code, Kind: code.Kind(), Status: code.Status()}
}

// Error is the error of the launch pipeline (and of session): a code, a
// description safe to show to the user, the specification section the
// rule comes from, and the cause for logs. Its fields are unexported, so
// no one can change a sentinel: the With… methods return modified copies.
type Error struct {
	code        Code
	description string
	specRef     string
	cause       error
}

// NewError returns an error with code and a description that is safe to
// show to the end user (never request input or unverified token content).
func NewError(code Code, description string) *Error {
	return &Error{code: code, description: description}
}

// Code returns the stable error code.
func (e *Error) Code() Code { return e.code }

// Description returns the description, safe to show to the end user: it
// never contains input read from the request or from an unverified token.
func (e *Error) Description() string { return e.description }

// SpecRef names the specification section the rule comes from, e.g.
// "1EdTech Security Framework §5.1.3"; it may be empty.
func (e *Error) SpecRef() string { return e.specRef }

// Status is the HTTP status for the error's code.
func (e *Error) Status() int { return e.code.Status() }

// Kind is the kind of the error's code.
func (e *Error) Kind() Kind { return e.code.Kind() }

// Error implements the error interface. It includes the cause, so it is for
// logs; show Code and Description to users instead.
func (e *Error) Error() string {
	s := string(e.code)
	if e.description != "" {
		s += ": " + e.description
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
	return ok && t.code == e.code
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
	c.description = desc
	return &c
}

// WithSpec returns a copy of e naming the specification section it enforces.
func (e *Error) WithSpec(ref string) *Error {
	c := *e
	c.specRef = ref
	return &c
}

// Sentinels, one per code of the launch pipeline. Compare with errors.Is
// (which matches by code); derive with the With… methods.
var (
	ErrInvalidRequest      = NewError(CodeInvalidRequest, "the request is malformed")
	ErrUnknownRegistration = NewError(CodeUnknownRegistration, "no unique registration matches the platform")
	ErrPlatformError       = NewError(CodePlatformError, "the platform reported an error")
	ErrInvalidState        = NewError(CodeInvalidState, "the login state is missing, expired, already used or not bound to this browser")
	ErrInvalidToken        = NewError(CodeInvalidToken, "the id_token is malformed")
	ErrInvalidSignature    = NewError(CodeInvalidSignature, "the id_token signature is not valid")
	ErrTokenExpired        = NewError(CodeTokenExpired, "the id_token is expired or not yet valid")
	ErrInvalidClaims       = NewError(CodeInvalidClaims, "the id_token claims are not valid")
	ErrInvalidNonce        = NewError(CodeInvalidNonce, "the nonce is missing, unknown or already used")
	ErrUnknownDeployment   = NewError(CodeUnknownDeployment, "the deployment is not registered")
	ErrKeysetUnavailable   = NewError(CodeKeysetUnavailable, "the platform key set is unavailable")
	ErrStorageUnavailable  = NewError(CodeStorageUnavailable, "storage is unavailable")
)

// AsError returns err as an *Error: the *Error in its chain; else, for an
// error with a code ([Coded], e.g. registration.ErrNotFound or a services
// error), an *Error with that code and a generic description wrapping it;
// else a storage_unavailable error wrapping it. An unexpected failure is
// never treated as success, and its text is never shown to the user.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var c Coded
	if errors.As(err, &c) {
		code := c.Code()
		return NewError(code, genericDescription(code)).WithCause(err)
	}
	return ErrStorageUnavailable.WithCause(err)
}

// genericDescription is a description safe to show for code when the error
// that carries it has none of its own for users: the sentinel's for the
// launch codes, else one by kind.
func genericDescription(code Code) string {
	for _, s := range []*Error{ErrInvalidRequest, ErrUnknownRegistration, ErrPlatformError, ErrInvalidState,
		ErrInvalidToken, ErrInvalidSignature, ErrTokenExpired, ErrInvalidClaims, ErrInvalidNonce,
		ErrUnknownDeployment, ErrKeysetUnavailable, ErrStorageUnavailable} {
		if s.code == code {
			return s.description
		}
	}
	switch code.Kind() {
	case KindSecurity:
		return "the request was refused"
	case KindPlatform:
		return "the platform's answer could not be used"
	case KindInfrastructure:
		return "a service the tool depends on is unavailable"
	case KindConfiguration:
		return "the tool or the platform is not configured for this"
	}
	return "the request is malformed"
}

// NewSentinel returns a sentinel error with a code: an error value that
// errors.Is matches by identity (like io.EOF) and that [Classify] classifies
// by its code. The store contracts (registration.ErrNotFound,
// nonce.ErrConsumed, …) and the services' sentinels are made with it. Its
// message and code cannot be changed.
func NewSentinel(code Code, message string) error {
	return &sentinel{code: code, msg: message}
}

type sentinel struct {
	code Code
	msg  string
}

func (s *sentinel) Error() string { return s.msg }

// Code returns the sentinel's code.
func (s *sentinel) Code() Code { return s.code }
