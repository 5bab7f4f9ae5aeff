package dynreg

import (
	"errors"
	"net/http"

	"github.com/ltikit/ltikit/lti"
)

// Error is a refused or failed registration. The Handler renders it as the
// last page of the registration, with the HTTP status of its code. Its
// code is one of lti's (see the sentinels below; lti.Classify gives it
// with its kind and status, docs/errors.md lists them all).
//
// Its fields are unexported and read with accessors, so neither the
// sentinels nor a returned error can be changed; match the sentinels with
// errors.Is (same code) and get the details with errors.As. Hosts build
// their own refusals with [NotAllowed].
type Error struct {
	code           lti.Code
	description    string
	field          string
	platformStatus int
	platformError  string
	platformDesc   string

	cause error
}

// Sentinels, one per code, for errors.Is (which matches by code).
var (
	// ErrInvalidRequest (invalid_request, 400; 405 on the page for a
	// method other than GET): the registration initiation request itself
	// is malformed, e.g. no openid_configuration, a relative or non-https
	// one, or a parameter given twice (LTI Dynamic Registration 1.0 §3.3).
	ErrInvalidRequest = &Error{code: lti.CodeInvalidRequest, description: "the registration request is malformed"}
	// ErrNotAllowed (registration_not_allowed, 403): the host refused the
	// registration, with its precheck or its Approve hook, or configured no
	// Approve hook at all (fail closed). See [NotAllowed].
	ErrNotAllowed = &Error{code: lti.CodeRegistrationNotAllowed, description: "this registration is not allowed"}
	// ErrConfigurationUnavailable (configuration_unavailable, 502): the
	// platform's OpenID configuration could not be fetched: network
	// failure, time-out, a status other than 200, a redirect to another
	// origin.
	ErrConfigurationUnavailable = &Error{code: lti.CodeConfigurationUnavailable, description: "the platform's configuration could not be fetched"}
	// ErrInvalidConfiguration (invalid_configuration, 502): the platform's
	// OpenID configuration was fetched but is not acceptable: not JSON, too
	// large, or breaking a rule of OpenID Connect Discovery 1.0 §3 or LTI
	// Dynamic Registration 1.0 §3.4.1 and §3.5.1 ([Error.Field] names the
	// member).
	ErrInvalidConfiguration = &Error{code: lti.CodeInvalidConfiguration, description: "the platform's configuration is not acceptable"}
	// ErrRegistrationRefused (registration_refused, 502): the platform's
	// registration endpoint answered with a status other than 200 or 201
	// ([Error.PlatformStatus] and [Error.PlatformError] say what it
	// answered; RFC 7591 §3.2.2).
	ErrRegistrationRefused = &Error{code: lti.CodeRegistrationRefused, description: "the platform refused the registration"}
	// ErrRegistrationFailed (registration_failed, 502): the registration
	// request could not be sent, or the platform's answer is unusable (not
	// JSON, no client_id).
	ErrRegistrationFailed = &Error{code: lti.CodeRegistrationFailed, description: "the registration with the platform failed"}
	// ErrRegistrationConflict (registration_conflict, 409): the platform
	// answered with an issuer and client_id the tool already stores with
	// different endpoints.
	ErrRegistrationConflict = &Error{code: lti.CodeRegistrationConflict, description: "the tool already has a different registration with this issuer and client_id"}
	// ErrStorageUnavailable (storage_unavailable, 503): storing the
	// registration failed.
	ErrStorageUnavailable = &Error{code: lti.CodeStorageUnavailable, description: "the registration could not be stored"}
	// ErrServerError (internal_error, 500): a host hook (Approve,
	// OnPending, the precheck) failed with an error of its own, or the
	// Handler's setup cannot take the registration.
	ErrServerError = &Error{code: lti.CodeInternal, description: "the tool failed to process the registration"}
)

// NotAllowed returns a registration_not_allowed refusal (it matches
// [ErrNotAllowed]) whose description is reason, shown to the
// administrator on the registration's last page; an empty reason keeps
// the generic one. Never put request input or the platform's words in it.
// Approve hooks and prechecks return it to refuse with their own words.
func NotAllowed(reason string) *Error {
	return ErrNotAllowed.with(reason, "", nil)
}

// Code returns the stable error code.
func (e *Error) Code() lti.Code { return e.code }

// Description says what went wrong in words for the administrator. It
// never contains values read from the request or from the platform's
// answers (those are in the accessors below, or in the cause for logs).
func (e *Error) Description() string { return e.description }

// Field names the member of the platform's configuration or registration
// answer that broke a rule, e.g. "issuer" or
// "https://purl.imsglobal.org/spec/lti-platform-configuration.version";
// empty when no single member is at fault.
func (e *Error) Field() string { return e.field }

// PlatformStatus is the HTTP status the platform answered with, for
// configuration_unavailable and registration_refused; 0 otherwise.
func (e *Error) PlatformStatus() int { return e.platformStatus }

// PlatformError is the error member of the platform's error answer (RFC
// 7591 §3.2.2), cleaned to valid, printable UTF-8 of bounded length. It
// comes from the platform and is shown to the administrator as its words.
func (e *Error) PlatformError() string { return e.platformError }

// PlatformErrorDescription is the error_description member of the
// platform's error answer, cleaned like [Error.PlatformError]; when the
// answer has no RFC 7591 members (Canvas answers {"errors": [...]}), it is
// a cleaned, secret-masked excerpt of the body.
func (e *Error) PlatformErrorDescription() string { return e.platformDesc }

// Status is the HTTP status for the error's code.
func (e *Error) Status() int { return e.code.Status() }

// Kind is the kind of the error's code.
func (e *Error) Kind() lti.Kind { return e.code.Kind() }

// Error implements the error interface. It includes the field, the
// platform's answer and the cause, so it is for logs.
func (e *Error) Error() string {
	s := "dynreg: " + string(e.code)
	if e.description != "" {
		s += ": " + e.description
	}
	if e.field != "" {
		s += " (" + e.field + ")"
	}
	if e.platformStatus != 0 {
		s += ": platform answered " + http.StatusText(e.platformStatus)
	}
	if e.platformError != "" {
		s += ": " + e.platformError
		if e.platformDesc != "" {
			s += " " + e.platformDesc
		}
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the wrapped cause.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same code, so
// errors.Is(err, dynreg.ErrInvalidConfiguration) matches any
// invalid_configuration error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.code == e.code
}

// with returns a copy of e with a new description (when non-empty), field
// and cause.
func (e *Error) with(desc, field string, cause error) *Error {
	c := *e
	if desc != "" {
		c.description = desc
	}
	c.field = field
	c.cause = cause
	return &c
}

// withPlatform returns a copy of e with what the platform answered.
func (e *Error) withPlatform(status int, code, desc string) *Error {
	c := *e
	c.platformStatus, c.platformError, c.platformDesc = status, code, desc
	return &c
}

// asError returns err as an *Error, or wraps it as fallback.
func asError(err error, fallback *Error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return fallback.with("", "", err)
}
