package dynreg

import (
	"errors"
	"net/http"
)

// Code is the stable code of a registration refusal. Codes never change
// meaning; new ones may be added.
type Code string

// The codes of [Error]. Each goes with one HTTP status ([Code.Status]), the
// status of the page the admin sees.
const (
	// CodeInvalidRequest (400, 405 for a method other than GET): the
	// registration initiation request itself is malformed, e.g. no
	// openid_configuration, a relative or non-https one, or a parameter
	// given twice (LTI Dynamic Registration 1.0 §3.3).
	CodeInvalidRequest Code = "invalid_request"
	// CodeNotAllowed (403): the host refused the registration, with its
	// precheck or its Approve hook, or configured no Approve hook at all
	// (fail closed).
	CodeNotAllowed Code = "not_allowed"
	// CodeConfigurationUnavailable (502): the platform's OpenID
	// configuration could not be fetched: network failure, time-out, a
	// status other than 200, a redirect to another origin.
	CodeConfigurationUnavailable Code = "configuration_unavailable"
	// CodeInvalidConfiguration (502): the platform's OpenID configuration
	// was fetched but is not acceptable: not JSON, too large, or breaking a
	// rule of OpenID Connect Discovery 1.0 §3 or LTI Dynamic Registration
	// 1.0 §3.4.1 and §3.5.1 ([Error.Field] names the member).
	CodeInvalidConfiguration Code = "invalid_configuration"
	// CodeRegistrationRefused (502): the platform's registration endpoint
	// answered with a status other than 200 or 201 ([Error.PlatformStatus]
	// and [Error.PlatformError] say what it answered; RFC 7591 §3.2.2).
	CodeRegistrationRefused Code = "registration_refused"
	// CodeRegistrationFailed (502): the registration request could not be
	// sent, or the platform's answer is unusable (not JSON, no client_id).
	CodeRegistrationFailed Code = "registration_failed"
	// CodeRegistrationConflict (409): the platform answered with an issuer
	// and client_id the tool already stores with different endpoints.
	CodeRegistrationConflict Code = "registration_conflict"
	// CodeStorageUnavailable (503): storing the registration failed.
	CodeStorageUnavailable Code = "storage_unavailable"
	// CodeServerError (500): a host hook (Approve, OnPending, the
	// precheck) failed with an error of its own.
	CodeServerError Code = "server_error"
)

// Status returns the HTTP status that goes with the code. Unknown codes map
// to 400.
func (c Code) Status() int {
	switch c {
	case CodeNotAllowed:
		return http.StatusForbidden
	case CodeConfigurationUnavailable, CodeInvalidConfiguration, CodeRegistrationRefused, CodeRegistrationFailed:
		return http.StatusBadGateway
	case CodeRegistrationConflict:
		return http.StatusConflict
	case CodeStorageUnavailable:
		return http.StatusServiceUnavailable
	case CodeServerError:
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

// Error is a refused or failed registration. The Handler renders it as the
// last page of the registration, with the code's HTTP status. Values are
// never mutated after construction, so the sentinels are safe to share;
// match them with errors.Is (same code) or errors.As.
type Error struct {
	// Code is the stable error code.
	Code Code
	// Description says what went wrong in words for the administrator. It
	// never contains values read from the request or from the platform's
	// answers (those are in the fields below, or in the cause for logs).
	Description string
	// Field names the member of the platform's configuration or
	// registration answer that broke a rule, e.g. "issuer" or
	// "https://purl.imsglobal.org/spec/lti-platform-configuration.version";
	// empty when no single member is at fault.
	Field string
	// PlatformStatus is the HTTP status the platform answered with, for
	// configuration_unavailable and registration_refused; 0 otherwise.
	PlatformStatus int
	// PlatformError and PlatformErrorDescription are the error and
	// error_description of the platform's error answer (RFC 7591 §3.2.2),
	// cut to printable ASCII of bounded length. They come from the platform
	// and are shown to the administrator as its words.
	PlatformError            string
	PlatformErrorDescription string

	cause error
}

// Sentinels, one per code, for errors.Is.
var (
	ErrInvalidRequest           = &Error{Code: CodeInvalidRequest, Description: "the registration request is malformed"}
	ErrNotAllowed               = &Error{Code: CodeNotAllowed, Description: "this registration is not allowed"}
	ErrConfigurationUnavailable = &Error{Code: CodeConfigurationUnavailable, Description: "the platform's configuration could not be fetched"}
	ErrInvalidConfiguration     = &Error{Code: CodeInvalidConfiguration, Description: "the platform's configuration is not acceptable"}
	ErrRegistrationRefused      = &Error{Code: CodeRegistrationRefused, Description: "the platform refused the registration"}
	ErrRegistrationFailed       = &Error{Code: CodeRegistrationFailed, Description: "the registration with the platform failed"}
	ErrRegistrationConflict     = &Error{Code: CodeRegistrationConflict, Description: "the tool already has a different registration with this issuer and client_id"}
	ErrStorageUnavailable       = &Error{Code: CodeStorageUnavailable, Description: "the registration could not be stored"}
	ErrServerError              = &Error{Code: CodeServerError, Description: "the tool failed to process the registration"}
)

// Status is the HTTP status for the error's code.
func (e *Error) Status() int { return e.Code.Status() }

// Error implements the error interface. It includes the field, the
// platform's answer and the cause, so it is for logs.
func (e *Error) Error() string {
	s := "dynreg: " + string(e.Code)
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.PlatformStatus != 0 {
		s += ": platform answered " + http.StatusText(e.PlatformStatus)
	}
	if e.PlatformError != "" {
		s += ": " + e.PlatformError
		if e.PlatformErrorDescription != "" {
			s += " " + e.PlatformErrorDescription
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
	return ok && t.Code == e.Code
}

// with returns a copy of e with a new description (when non-empty), field
// and cause.
func (e *Error) with(desc, field string, cause error) *Error {
	c := *e
	if desc != "" {
		c.Description = desc
	}
	c.Field = field
	c.cause = cause
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
