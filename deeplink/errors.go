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
// request or refuses to sign a response. It carries a stable [Reason], the
// index and property of the offending item, and wraps an *[lti.Error]
// (invalid_claims for a bad request, invalid_request for a refused
// response), so lti.AsError and errors.Is(err, lti.ErrInvalidRequest) work.
//
// errors.Is(err, deeplink.ErrTypeNotAccepted) matches any Error with the
// same Reason, whatever its item and property. Values are never mutated
// after construction.
type Error struct {
	// Reason is the stable reason.
	Reason Reason
	// Item is the index of the offending content item, or -1 when the
	// error is not about one item.
	Item int
	// Field names the offending property, in the JSON spelling of the
	// specification (e.g. "url", "icon.url", "lineItem.scoreMaximum",
	// "deep_link_return_url"); empty when the error is about a whole item
	// or request.
	Field string
	// Detail says what is wrong. It never contains values read from the
	// request or the items, so it is safe to log; it is not meant for end
	// users.
	Detail string

	lti *lti.Error
}

// Error describes the refusal for logs.
func (e *Error) Error() string {
	s := "deeplink: " + string(e.Reason)
	if e.Item >= 0 {
		s += fmt.Sprintf(" (item %d", e.Item)
		if e.Field != "" {
			s += " " + e.Field
		}
		s += ")"
	} else if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
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
	return ok && t.Reason == e.Reason
}

// Sentinels, one per reason, for errors.Is: errors.Is(err,
// deeplink.ErrTypeNotAccepted) matches any *Error with that Reason.
var (
	// ErrNotDeepLinking matches ReasonNotDeepLinking.
	ErrNotDeepLinking = &Error{Reason: ReasonNotDeepLinking, Item: -1}
	// ErrInvalidSettings matches ReasonInvalidSettings.
	ErrInvalidSettings = &Error{Reason: ReasonInvalidSettings, Item: -1}
	// ErrInvalidReturnURL matches ReasonInvalidReturnURL.
	ErrInvalidReturnURL = &Error{Reason: ReasonInvalidReturnURL, Item: -1}
	// ErrInvalidRequest matches ReasonInvalidRequest.
	ErrInvalidRequest = &Error{Reason: ReasonInvalidRequest, Item: -1}
	// ErrTypeNotAccepted matches ReasonTypeNotAccepted.
	ErrTypeNotAccepted = &Error{Reason: ReasonTypeNotAccepted, Item: -1}
	// ErrMultipleNotAccepted matches ReasonMultipleNotAccepted.
	ErrMultipleNotAccepted = &Error{Reason: ReasonMultipleNotAccepted, Item: -1}
	// ErrLineItemNotAccepted matches ReasonLineItemNotAccepted.
	ErrLineItemNotAccepted = &Error{Reason: ReasonLineItemNotAccepted, Item: -1}
	// ErrTargetNotAccepted matches ReasonTargetNotAccepted.
	ErrTargetNotAccepted = &Error{Reason: ReasonTargetNotAccepted, Item: -1}
	// ErrMediaTypeNotAccepted matches ReasonMediaTypeNotAccepted.
	ErrMediaTypeNotAccepted = &Error{Reason: ReasonMediaTypeNotAccepted, Item: -1}
	// ErrInvalidURL matches ReasonInvalidURL.
	ErrInvalidURL = &Error{Reason: ReasonInvalidURL, Item: -1}
	// ErrInvalidItem matches ReasonInvalidItem.
	ErrInvalidItem = &Error{Reason: ReasonInvalidItem, Item: -1}
)

// Spec references of the refusals.
const (
	specSettings = "LTI Deep Linking 2.0 §4.4.1"
	specResponse = "LTI Deep Linking 2.0 §4.5"
	specItems    = "LTI Deep Linking 2.0 §3"
)

// requestErr is an error about the deep linking request: the platform sent
// something the tool cannot answer (invalid_claims).
func requestErr(reason Reason, field, detail string) *Error {
	return &Error{
		Reason: reason, Item: -1, Field: field, Detail: detail,
		lti: lti.ErrInvalidClaims.WithDescription("the deep linking request cannot be answered: " + string(reason)).WithSpec(specSettings),
	}
}

// refusal is an error about the response the host asked to sign
// (invalid_request).
func refusal(reason Reason, item int, field, detail, spec string) *Error {
	return &Error{
		Reason: reason, Item: item, Field: field, Detail: detail,
		lti: lti.ErrInvalidRequest.WithDescription("the deep linking response was refused: " + string(reason)).WithSpec(spec),
	}
}
