package deeplink

import (
	"fmt"

	"github.com/ltikit/ltikit/lti"
)

// Reason is a stable, machine-readable reason why a deep linking request
// could not be read or a response was refused. Reasons never change
// meaning between releases; hosts may switch on them.
type Reason string

// The reasons of [Error].
const (
	// ReasonNotDeepLinking: the launch is not an LtiDeepLinkingRequest.
	ReasonNotDeepLinking Reason = "not_deep_linking"
	// ReasonInvalidSettings: the deep_linking_settings claim is missing or
	// malformed (Deep Linking 2.0 §4.4.1).
	ReasonInvalidSettings Reason = "invalid_settings"
	// ReasonInvalidReturnURL: the deep_link_return_url is not an absolute
	// http(s) URL, so no form is ever posted to it.
	ReasonInvalidReturnURL Reason = "invalid_return_url"
	// ReasonInvalidRequest: the response has no request, or the request
	// lacks the issuer, client_id or deployment_id the response needs.
	ReasonInvalidRequest Reason = "invalid_request"
	// ReasonTypeNotAccepted: an item's type is not in accept_types.
	ReasonTypeNotAccepted Reason = "type_not_accepted"
	// ReasonMultipleNotAccepted: more than one item, and accept_multiple is
	// not true.
	ReasonMultipleNotAccepted Reason = "multiple_not_accepted"
	// ReasonLineItemNotAccepted: an ltiResourceLink item has a lineItem and
	// accept_lineitem is false.
	ReasonLineItemNotAccepted Reason = "lineitem_not_accepted"
	// ReasonTargetNotAccepted: an item asks for a presentation (window,
	// iframe, embed) not in accept_presentation_document_targets.
	ReasonTargetNotAccepted Reason = "target_not_accepted"
	// ReasonMediaTypeNotAccepted: a file item's mediaType is not in
	// accept_media_types (or is missing while the platform restricts media
	// types).
	ReasonMediaTypeNotAccepted Reason = "media_type_not_accepted"
	// ReasonInvalidURL: an item URL (url, icon, thumbnail, iframe src) is
	// not an absolute http(s) URL: javascript:, data:, relative URLs and
	// URLs with user info are refused.
	ReasonInvalidURL Reason = "invalid_url"
	// ReasonInvalidItem: an item is nil, lacks a required property, has an
	// out-of-range value, or does not marshal to a JSON object of its type.
	ReasonInvalidItem Reason = "invalid_item"
)

// Error is the error deeplink returns when it cannot read a deep linking
// request or refuses to sign a response. Its code is always
// invalid_deep_linking ([Error.Code]; lti.Classify gives it with its kind
// and HTTP status, 400); it carries a stable [Reason], the index and
// property of the offending item, and wraps an *[lti.Error] with the same
// code, a description safe to show and the specification section, so
// lti.AsError works as well.
//
// errors.Is(err, deeplink.ErrTypeNotAccepted) matches any Error with the
// same Reason, whatever its item and property. Its fields are unexported
// and read with accessors, so neither the sentinels nor the errors
// returned can be changed.
type Error struct {
	reason Reason
	item   int
	field  string
	detail string

	lti *lti.Error
}

// Code returns lti.CodeInvalidDeepLinking: the request's settings, or the
// response's items, break a rule of LTI Deep Linking 2.0. [Error.Reason]
// says which rule.
func (e *Error) Code() lti.Code { return lti.CodeInvalidDeepLinking }

// Reason returns the stable reason, the finer detail of the code.
func (e *Error) Reason() Reason { return e.reason }

// Item returns the index of the offending content item, or -1 when the
// error is not about one item.
func (e *Error) Item() int { return e.item }

// Field names the offending property, in the JSON spelling of the
// specification (e.g. "url", "icon.url", "lineItem.scoreMaximum",
// "deep_link_return_url"); empty when the error is about a whole item or
// request.
func (e *Error) Field() string { return e.field }

// Detail says what is wrong. It never contains values read from the
// request or the items, so it is safe to log; it is not meant for end
// users.
func (e *Error) Detail() string { return e.detail }

// Error describes the refusal for logs.
func (e *Error) Error() string {
	s := "deeplink: " + string(e.reason)
	if e.item >= 0 {
		s += fmt.Sprintf(" (item %d", e.item)
		if e.field != "" {
			s += " " + e.field
		}
		s += ")"
	} else if e.field != "" {
		s += " (" + e.field + ")"
	}
	if e.detail != "" {
		s += ": " + e.detail
	}
	return s
}

// Unwrap returns the *lti.Error the refusal maps to (nil for the
// sentinels).
func (e *Error) Unwrap() error {
	if e.lti == nil {
		return nil
	}
	return e.lti
}

// Is reports whether target is an *Error with the same Reason.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.reason == e.reason
}

// sentinel returns the sentinel of reason.
func sentinel(reason Reason) *Error { return &Error{reason: reason, item: -1} }

// Sentinels, one per reason, for errors.Is: errors.Is(err,
// deeplink.ErrTypeNotAccepted) matches any *Error with that Reason. All
// have the code invalid_deep_linking.
var (
	// ErrNotDeepLinking matches ReasonNotDeepLinking.
	ErrNotDeepLinking = sentinel(ReasonNotDeepLinking)
	// ErrInvalidSettings matches ReasonInvalidSettings.
	ErrInvalidSettings = sentinel(ReasonInvalidSettings)
	// ErrInvalidReturnURL matches ReasonInvalidReturnURL.
	ErrInvalidReturnURL = sentinel(ReasonInvalidReturnURL)
	// ErrInvalidRequest matches ReasonInvalidRequest.
	ErrInvalidRequest = sentinel(ReasonInvalidRequest)
	// ErrTypeNotAccepted matches ReasonTypeNotAccepted.
	ErrTypeNotAccepted = sentinel(ReasonTypeNotAccepted)
	// ErrMultipleNotAccepted matches ReasonMultipleNotAccepted.
	ErrMultipleNotAccepted = sentinel(ReasonMultipleNotAccepted)
	// ErrLineItemNotAccepted matches ReasonLineItemNotAccepted.
	ErrLineItemNotAccepted = sentinel(ReasonLineItemNotAccepted)
	// ErrTargetNotAccepted matches ReasonTargetNotAccepted.
	ErrTargetNotAccepted = sentinel(ReasonTargetNotAccepted)
	// ErrMediaTypeNotAccepted matches ReasonMediaTypeNotAccepted.
	ErrMediaTypeNotAccepted = sentinel(ReasonMediaTypeNotAccepted)
	// ErrInvalidURL matches ReasonInvalidURL.
	ErrInvalidURL = sentinel(ReasonInvalidURL)
	// ErrInvalidItem matches ReasonInvalidItem.
	ErrInvalidItem = sentinel(ReasonInvalidItem)
)

// Spec references of the refusals.
const (
	specSettings = "LTI Deep Linking 2.0 §4.4.1"
	specResponse = "LTI Deep Linking 2.0 §4.5"
	specItems    = "LTI Deep Linking 2.0 §3"
)

// requestErr is an error about the deep linking request: the platform sent
// something the tool cannot answer.
func requestErr(reason Reason, field, detail string) *Error {
	return &Error{
		reason: reason, item: -1, field: field, detail: detail,
		lti: lti.NewError(lti.CodeInvalidDeepLinking, "the deep linking request cannot be answered: "+string(reason)).WithSpec(specSettings),
	}
}

// refusal is an error about the response the host asked to sign.
func refusal(reason Reason, item int, field, detail, spec string) *Error {
	return &Error{
		reason: reason, item: item, field: field, detail: detail,
		lti: lti.NewError(lti.CodeInvalidDeepLinking, "the deep linking response was refused: "+string(reason)).WithSpec(spec),
	}
}
