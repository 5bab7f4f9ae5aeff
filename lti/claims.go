package lti

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
)

// Claim names of LTI 1.3 Core §5, LTI Advantage and OIDC Core §5.1.
const (
	ClaimMessageType        = "https://purl.imsglobal.org/spec/lti/claim/message_type"
	ClaimVersion            = "https://purl.imsglobal.org/spec/lti/claim/version"
	ClaimDeploymentID       = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
	ClaimTargetLinkURI      = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"
	ClaimResourceLink       = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
	ClaimRoles              = "https://purl.imsglobal.org/spec/lti/claim/roles"
	ClaimRoleScopeMentor    = "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"
	ClaimContext            = "https://purl.imsglobal.org/spec/lti/claim/context"
	ClaimToolPlatform       = "https://purl.imsglobal.org/spec/lti/claim/tool_platform"
	ClaimLaunchPresentation = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
	ClaimLIS                = "https://purl.imsglobal.org/spec/lti/claim/lis"
	ClaimCustom             = "https://purl.imsglobal.org/spec/lti/claim/custom"
	ClaimLTI11              = "https://purl.imsglobal.org/spec/lti/claim/lti1p1"
	ClaimForUser            = "https://purl.imsglobal.org/spec/lti/claim/for_user"
	ClaimAGSEndpoint        = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
	ClaimNRPS               = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
	ClaimDeepLinking        = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
)

// OAuth 2 scopes of LTI Advantage: what a tool asks a platform's token
// endpoint for (AGS 2.0 §3.1, NRPS 2.0 §3.1). Packages ags and nrps, dynreg
// and ltitest use these.
const (
	// ScopeAGSLineItem lets the tool read, create, update and delete its
	// line items.
	ScopeAGSLineItem = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
	// ScopeAGSLineItemReadOnly lets the tool read line items.
	ScopeAGSLineItemReadOnly = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
	// ScopeAGSResultReadOnly lets the tool read results.
	ScopeAGSResultReadOnly = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
	// ScopeAGSScore lets the tool post scores.
	ScopeAGSScore = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
	// ScopeNRPSMembership lets the tool read the context's memberships.
	ScopeNRPSMembership = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
)

// Message types of LTI 1.3 Core §5.1, Deep Linking 2.0 §4.4 and the
// Assignment and Grade Services submission review message.
const (
	MessageResourceLink     = "LtiResourceLinkRequest"
	MessageDeepLinking      = "LtiDeepLinkingRequest"
	MessageSubmissionReview = "LtiSubmissionReviewRequest"
)

// Version is the only LTI version value accepted (LTI 1.3 Core §5.3.2).
const Version = "1.3.0"

// Claims is the decoded payload of an LTI 1.3 id_token. Optional claims the
// platform did not send are nil (pointers) or empty.
type Claims struct {
	// Registered and OIDC claims (RFC 7519 §4.1, OpenID Connect Core §2).

	// Issuer is iss: the platform's issuer identifier, an https URL. The
	// launch requires it equal to the registration's issuer (1EdTech
	// Security Framework §5.1.3 step 2).
	Issuer string `json:"iss"`
	// Subject is sub: the user's stable, opaque identifier on the platform
	// (LTI 1.3 Core §5.3.6), at most 255 characters. Nil: an anonymous
	// launch, one made without a user identity (LTI 1.3 Core §5.3.6.1).
	Subject *string `json:"sub,omitempty"`
	// Audience is aud: the client_ids the token is addressed to. The launch
	// requires the tool's client_id among them (Security Framework §5.1.3
	// step 3).
	Audience Audience `json:"aud"`
	// AuthorizedParty is azp: the client_id the token was issued to.
	// Required when aud names several audiences, and then equal to the
	// tool's client_id (OpenID Connect Core §3.1.3.7 steps 4–5). Empty:
	// absent.
	AuthorizedParty string `json:"azp"`
	// ExpiresAt is exp: when the token stops being valid. Required; Set is
	// false when absent (Security Framework §5.1.3 step 7).
	ExpiresAt NumericDate `json:"exp,omitzero"`
	// IssuedAt is iat: when the platform issued the token. Required; Set is
	// false when absent (Security Framework §5.1.3 step 8).
	IssuedAt NumericDate `json:"iat,omitzero"`
	// NotBefore is nbf: the token is not valid before it. Optional; Set is
	// false when absent (RFC 7519 §4.1.5).
	NotBefore NumericDate `json:"nbf,omitzero"`
	// Nonce is nonce: the value the tool sent in its authentication
	// request, echoed back; the launch requires it equal to the login's and
	// consumes it once (OpenID Connect Core §3.1.3.7 step 11). Empty:
	// absent, refused.
	Nonce string `json:"nonce"`

	// User identity claims (OpenID Connect Core §5.1, LTI 1.3 Core §5.3.6).
	// Each is optional: the platform may withhold any of them (a privacy
	// setting, an anonymous launch), and empty means not sent.

	// Name is name: the user's full name, for display. Empty when not
	// sent.
	Name string `json:"name"`
	// GivenName is given_name: the user's first name(s). Empty when not
	// sent.
	GivenName string `json:"given_name"`
	// FamilyName is family_name: the user's surname(s). Empty when not
	// sent.
	FamilyName string `json:"family_name"`
	// MiddleName is middle_name: the user's middle name(s). Empty when
	// not sent.
	MiddleName string `json:"middle_name"`
	// Picture is picture: the URL of the user's profile picture. Empty
	// when not sent.
	Picture string `json:"picture"`
	// Email is email: the user's email address as the platform knows it
	// (the tool cannot verify it). Empty when not sent.
	Email string `json:"email"`
	// Locale is locale: the user's language preference, a BCP 47 tag such
	// as "en-US" ([LaunchPresentation.Locale] is the platform's interface
	// language). Empty when not sent.
	Locale string `json:"locale"`

	// LTI claims (LTI 1.3 Core §5.3 required, §5.4 optional).

	// MessageType is the message_type claim (LTI 1.3 Core §5.3.1): one of
	// [MessageResourceLink], [MessageDeepLinking],
	// [MessageSubmissionReview], or a type allowed with
	// launch.WithMessageTypes. Required.
	MessageType string `json:"https://purl.imsglobal.org/spec/lti/claim/message_type"`
	// Version is the version claim (LTI 1.3 Core §5.3.2); the launch
	// requires [Version], "1.3.0".
	Version string `json:"https://purl.imsglobal.org/spec/lti/claim/version"`
	// DeploymentID is the deployment_id claim (LTI 1.3 Core §5.3.3): the
	// platform's identifier of the tool's installation the launch comes
	// through, case-sensitive, at most 255 characters. Required.
	DeploymentID string `json:"https://purl.imsglobal.org/spec/lti/claim/deployment_id"`
	// TargetLinkURI is the target_link_uri claim (LTI 1.3 Core §5.3.4):
	// where the platform meant the launch to land. The launch requires it
	// equal to the login initiation's target_link_uri.
	TargetLinkURI string `json:"https://purl.imsglobal.org/spec/lti/claim/target_link_uri"`
	// ResourceLink is the resource_link claim (LTI 1.3 Core §5.3.5): the
	// placement launched. Required in an LtiResourceLinkRequest; nil when
	// absent, as in a deep linking request.
	ResourceLink *ResourceLink `json:"https://purl.imsglobal.org/spec/lti/claim/resource_link"`
	// Roles is the roles claim (LTI 1.3 Core §5.3.7): role URIs of the LIS
	// vocabularies, such as
	// "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor". Nil:
	// the claim is absent (the launch refuses it); empty: the platform sent
	// [] (a user without a role). [Claims.RoleSet] gives them as [Roles].
	Roles *[]string `json:"https://purl.imsglobal.org/spec/lti/claim/roles"`
	// RoleScopeMentor is the role_scope_mentor claim (LTI 1.3 Core
	// §5.4.3): the user ids of the users a mentor launch is about. Empty
	// when absent.
	RoleScopeMentor []string `json:"https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"`
	// Context is the context claim (LTI 1.3 Core §5.4.1): the course or
	// group the launch happens in. Nil: a launch outside any context.
	Context *Context `json:"https://purl.imsglobal.org/spec/lti/claim/context"`
	// ToolPlatform is the tool_platform claim (LTI 1.3 Core §5.4.2): the
	// platform instance (product, version, contact). Nil when absent.
	ToolPlatform *ToolPlatform `json:"https://purl.imsglobal.org/spec/lti/claim/tool_platform"`
	// LaunchPresentation is the launch_presentation claim (LTI 1.3 Core
	// §5.4.4): how the tool is shown and where to send the user back. Nil
	// when absent.
	LaunchPresentation *LaunchPresentation `json:"https://purl.imsglobal.org/spec/lti/claim/launch_presentation"`
	// LIS is the lis claim (LTI 1.3 Core §5.4.5): student information
	// system identifiers of the user and the course. Nil when absent.
	LIS *LIS `json:"https://purl.imsglobal.org/spec/lti/claim/lis"`
	// Custom is the custom claim (LTI 1.3 Core §5.4.6): the custom
	// parameters of the link or the tool, after the platform's variable
	// substitution. Values keep their JSON type (strings, as a rule;
	// numbers as json.Number). Nil when absent.
	Custom map[string]any `json:"https://purl.imsglobal.org/spec/lti/claim/custom"`
	// LTI11 is the lti1p1 claim of the LTI 1.1 migration: the user's and
	// the link's LTI 1.1 identifiers, for a tool that kept LTI 1.1 records.
	// Nil when absent.
	LTI11 *LTI11Migration `json:"https://purl.imsglobal.org/spec/lti/claim/lti1p1"`
	// ForUser is the for_user claim of a submission review launch: the
	// learner whose submission is reviewed. Required in an
	// LtiSubmissionReviewRequest; nil otherwise.
	ForUser *ForUser `json:"https://purl.imsglobal.org/spec/lti/claim/for_user"`

	// LTI Advantage service claims.

	// AGS is the Assignment and Grade Services endpoint claim (AGS 2.0
	// §3.1): the line item URLs and the scopes the tool may request. Nil:
	// the platform offers no grade service in this launch.
	AGS *AGSEndpoint `json:"https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"`
	// NRPS is the Names and Role Provisioning Services claim (NRPS 2.0
	// §3.6.1.1): the context's membership URL. Nil: the platform offers no
	// roster in this launch.
	NRPS *NRPSEndpoint `json:"https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"`
	// DeepLinking is the deep_linking_settings claim (Deep Linking 2.0
	// §4.4.1): what the platform accepts back and where. Required in an
	// LtiDeepLinkingRequest; nil otherwise. Package deeplink reads it.
	DeepLinking *DeepLinkingSettings `json:"https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"`
}

// DecodeClaims decodes an id_token payload. Custom values and any other
// untyped value keep their JSON type (strings stay strings, numbers become
// json.Number with their exact text). Claims that Claims has no field for
// (vendor claims, Moodle's ext and basicoutcome) are ignored: a caller that
// needs them keeps the raw payload.
//
// Member names match exactly, at the top and inside claim objects, as JWT
// claim names are case-sensitive (RFC 7519 §4): "AUD" is not "aud" and
// "ID" is not resource_link's "id", so a token cannot show one audience to
// the JWT library and another one here. A name that occurs twice in any
// object of the payload is refused (RFC 7519 §4 lets a JWT parser reject
// duplicate claim names), as is invalid UTF-8 or an unpaired surrogate
// escape (RFC 8259 §8.1–8.2) and nesting deeper than 10000 levels.
//
// DecodeClaims does not validate: a claim that is absent or empty is left
// zero, nil or empty for the launch validation to judge.
//
// A payload that is not exactly one valid JSON object (an array, null, a
// syntax error, a duplicate name, invalid UTF-8, trailing data) is an
// [ErrInvalidToken]; a claim with the wrong JSON type (aud a number, exp a
// string or null, roles a string, …) in an otherwise valid payload is an
// [ErrInvalidClaims]. The cause is wrapped for logs.
func DecodeClaims(payload []byte) (*Claims, error) {
	// JSON v2 (internal/jsonv2) decodes the payload by the json tags, with
	// a decoding function for each type that has rules of its own
	// (claimsjson.go).
	return decodeClaims(payload)
}

// ClaimValue returns the raw JSON value of the top-level claim name in an
// id_token payload, as sent, and whether it is present. Names match as
// DecodeClaims matches them: exactly, after JSON unescaping. The whole
// payload is validated with DecodeClaims' rules in one pass without
// decoding the other claims: malformed JSON, a duplicate name or invalid
// UTF-8 is an [ErrInvalidToken].
func ClaimValue(payload []byte, name string) (json.RawMessage, bool, error) {
	return claimValue(payload, name)
}

// RoleSet returns the roles claim as [Roles]: nil when the claim is absent
// (or c is nil), empty when the platform sent an empty array.
func (c *Claims) RoleSet() Roles {
	if c == nil || c.Roles == nil {
		return nil
	}
	return Roles(*c.Roles)
}

// ResourceLink is the resource_link claim (LTI 1.3 Core §5.3.5).
type ResourceLink struct {
	// ID is id: the placement's identifier, stable and unique within the
	// deployment, case-sensitive, at most 255 ASCII characters; it changes
	// when the link is copied into another context. Required.
	ID string `json:"id"`
	// Title is title: the link's title in the platform. Empty when absent.
	Title string `json:"title,omitempty"`
	// Description is description: the link's description in the platform.
	// Empty when absent.
	Description string `json:"description,omitempty"`
}

// Context is the context claim (LTI 1.3 Core §5.4.1).
type Context struct {
	// ID is id: the context's identifier, stable and unique within the
	// deployment, case-sensitive. Required in the claim.
	ID string `json:"id"`
	// Label is label: a short name, such as a course code ("CS101").
	// Empty when absent.
	Label string `json:"label,omitempty"`
	// Title is title: the context's full title. Empty when absent.
	Title string `json:"title,omitempty"`
	// Type is type: the kinds of context, from the context type vocabulary
	// (LTI 1.3 Core §5.4.1.1), e.g.
	// "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering". Empty
	// when absent.
	Type []string `json:"type,omitempty"`
}

// ToolPlatform is the tool_platform claim (LTI 1.3 Core §5.4.2).
type ToolPlatform struct {
	// GUID is guid: the platform instance's stable identifier, at most 255
	// ASCII characters. Required in the claim.
	GUID string `json:"guid"`
	// ContactEmail is contact_email: the instance administrator's address.
	// Empty when absent.
	ContactEmail string `json:"contact_email,omitempty"`
	// Description is description: a description of the instance. Empty
	// when absent.
	Description string `json:"description,omitempty"`
	// Name is name: the instance's name, e.g. the institution's LMS.
	// Empty when absent.
	Name string `json:"name,omitempty"`
	// URL is url: the instance's home page. Empty when absent.
	URL string `json:"url,omitempty"`
	// ProductFamilyCode is product_family_code: the platform product, e.g.
	// "moodle", "canvas", "BlackboardLearn", "desire2learn", "sakai".
	// Empty when absent.
	ProductFamilyCode string `json:"product_family_code,omitempty"`
	// Version is version: the platform software's version. Empty when
	// absent.
	Version string `json:"version,omitempty"`
}

// LaunchPresentation is the launch_presentation claim (LTI 1.3 Core §5.4.4).
type LaunchPresentation struct {
	// DocumentTarget is document_target: how the platform shows the tool,
	// "frame", "iframe" or "window". Empty when absent.
	DocumentTarget string `json:"document_target,omitempty"`
	// Height is height: the height of the frame or window, in pixels as a
	// rule. Empty when absent.
	Height Dimension `json:"height,omitempty"`
	// Width is width: the width of the frame or window. Empty when absent.
	Width Dimension `json:"width,omitempty"`
	// ReturnURL is return_url: where the tool may send the user when done,
	// with lti_msg, lti_log, lti_errormsg or lti_errorlog query parameters.
	// Empty when absent.
	ReturnURL string `json:"return_url,omitempty"`
	// Locale is locale: the language of the platform's interface, a BCP 47
	// tag. Empty when absent.
	Locale string `json:"locale,omitempty"`
}

// LIS is the lis claim (LTI 1.3 Core §5.4.5). Moodle sends empty strings.
// Each field is empty when absent.
type LIS struct {
	// PersonSourcedID is person_sourcedid: the user's identifier in the
	// student information system.
	PersonSourcedID string `json:"person_sourcedid,omitempty"`
	// CourseOfferingSourcedID is course_offering_sourcedid: the course
	// offering's identifier in the student information system.
	CourseOfferingSourcedID string `json:"course_offering_sourcedid,omitempty"`
	// CourseSectionSourcedID is course_section_sourcedid: the course
	// section's identifier in the student information system.
	CourseSectionSourcedID string `json:"course_section_sourcedid,omitempty"`
	// ResultSourcedID is result_sourcedid: the LTI 1.1 Basic Outcomes
	// result identifier, for a tool that still posts grades that way.
	ResultSourcedID string `json:"result_sourcedid,omitempty"`
	// OutcomeServiceURL is outcome_service_url: the LTI 1.1 Basic Outcomes
	// service URL.
	OutcomeServiceURL string `json:"outcome_service_url,omitempty"`
	// CourseTemplateSourcedID is course_template_sourcedid: the course
	// template's identifier in the student information system.
	CourseTemplateSourcedID string `json:"course_template_sourcedid,omitempty"`
	// CourseOfferingTermSourceID is term_sourcedid: the academic term's
	// identifier in the student information system.
	CourseOfferingTermSourceID string `json:"term_sourcedid,omitempty"`
}

// LTI11Migration is the lti1p1 claim of the LTI 1.1 migration guide
// (LTI 1.3 Core, "LTI 1.1 migration", §3): the LTI 1.1 user_id and the
// signed oauth_consumer_key that lets a tool match old records. ltikit
// does not verify oauth_consumer_key_sign: a tool that relies on it checks
// it with its LTI 1.1 secret. Each field is empty when absent.
type LTI11Migration struct {
	// UserID is user_id: the user's LTI 1.1 user_id, when it differs from
	// sub.
	UserID string `json:"user_id,omitempty"`
	// OAuthConsumerKey is oauth_consumer_key: the LTI 1.1 consumer key the
	// platform used with this tool.
	OAuthConsumerKey string `json:"oauth_consumer_key,omitempty"`
	// OAuthConsumerKeySign is oauth_consumer_key_sign: the base64
	// HMAC-SHA256, under the LTI 1.1 shared secret, that proves the
	// platform holds that key.
	OAuthConsumerKeySign string `json:"oauth_consumer_key_sign,omitempty"`
	// ResourceLinkID is resource_link_id: the link's LTI 1.1 identifier,
	// when it differs from the resource_link id.
	ResourceLinkID string `json:"resource_link_id,omitempty"`
	// ContextID is context_id: the context's LTI 1.1 identifier, when it
	// differs from the context id.
	ContextID string `json:"context_id,omitempty"`
	// ToolConsumerInstanceGUID is tool_consumer_instance_guid: the
	// platform's LTI 1.1 instance GUID, when it differs from
	// tool_platform's guid.
	ToolConsumerInstanceGUID string `json:"tool_consumer_instance_guid,omitempty"`
}

// ForUser is the for_user claim of a submission review launch (AGS 2.0 §6):
// the learner whose submission the launching user reviews.
type ForUser struct {
	// UserID is user_id: the learner's sub on the platform. Required.
	UserID string `json:"user_id"`
	// PersonSourcedID is person_sourcedid: the learner's identifier in the
	// student information system. Empty when absent.
	PersonSourcedID string `json:"person_sourcedid,omitempty"`
	// Name is name: the learner's full name. Empty when absent.
	Name string `json:"name,omitempty"`
	// GivenName is given_name. Empty when absent.
	GivenName string `json:"given_name,omitempty"`
	// FamilyName is family_name. Empty when absent.
	FamilyName string `json:"family_name,omitempty"`
	// Email is email. Empty when absent.
	Email string `json:"email,omitempty"`
	// Roles is roles: the learner's role URIs in the context. Empty when
	// absent.
	Roles []string `json:"roles,omitempty"`
}

// AGSEndpoint is the Assignment and Grade Services endpoint claim (AGS 2.0 §3.1).
type AGSEndpoint struct {
	// Scope is scope: the AGS scopes the tool may request an access token
	// for (lineitem, lineitem.readonly, result.readonly, score, as
	// https://purl.imsglobal.org/spec/lti-ags/scope/... URIs).
	Scope []string `json:"scope"`
	// LineItems is lineitems: the URL of the context's line items
	// container. Empty when the platform does not offer it.
	LineItems string `json:"lineitems,omitempty"`
	// LineItem is lineitem: the URL of the one line item of the launched
	// link, when it has exactly one. Empty otherwise.
	LineItem string `json:"lineitem,omitempty"`
}

// NRPSEndpoint is the Names and Role Provisioning Services claim (NRPS 2.0 §3.6.1.1).
type NRPSEndpoint struct {
	// ContextMembershipsURL is context_memberships_url: the URL of the
	// context's membership (roster).
	ContextMembershipsURL string `json:"context_memberships_url"`
	// ServiceVersions is service_versions: the NRPS versions the platform
	// serves there, e.g. ["2.0"].
	ServiceVersions []string `json:"service_versions"`
}

// DeepLinkingSettings is the deep_linking_settings claim (Deep Linking 2.0
// §4.4.1). The pointer fields are nil when the platform did not send them;
// deeplink.Request says what each absence means for a response.
type DeepLinkingSettings struct {
	// DeepLinkReturnURL is deep_link_return_url: where the tool posts its
	// response. Required.
	DeepLinkReturnURL string `json:"deep_link_return_url"`
	// AcceptTypes is accept_types: the content item types the platform
	// takes, e.g. "ltiResourceLink", "link", "file", "html", "image".
	// Required, not empty.
	AcceptTypes []string `json:"accept_types"`
	// AcceptPresentationDocumentTargets is
	// accept_presentation_document_targets: "iframe", "window", "embed".
	// Required, not empty.
	AcceptPresentationDocumentTargets []string `json:"accept_presentation_document_targets"`
	// AcceptMediaTypes is accept_media_types: a comma-separated list of
	// media types a file item must match. Empty: no restriction.
	AcceptMediaTypes string `json:"accept_media_types,omitempty"`
	// AcceptMultiple is accept_multiple: whether the response may hold
	// several items.
	AcceptMultiple *bool `json:"accept_multiple,omitempty"`
	// AcceptLineItem is accept_lineitem: whether the platform creates a
	// line item for an ltiResourceLink item that asks for one.
	AcceptLineItem *bool `json:"accept_lineitem,omitempty"`
	// AutoCreate is auto_create: whether the platform keeps the items
	// without letting the user cancel.
	AutoCreate *bool `json:"auto_create,omitempty"`
	// AcceptCopyAdvice is accept_copy_advice: whether the platform takes
	// copy advice on items (sent by Moodle).
	AcceptCopyAdvice *bool `json:"accept_copy_advice,omitempty"`
	// Title is title: a default title for the content. Empty when absent.
	Title string `json:"title,omitempty"`
	// Text is text: a default text for the content. Empty when absent.
	Text string `json:"text,omitempty"`
	// Data is data: an opaque value the response must echo unchanged
	// (Deep Linking 2.0 §4.5). Empty when absent.
	Data string `json:"data,omitempty"`
}

// Audience is the aud claim: a single string or an array of strings
// (RFC 7519 §4.1.3). Moodle sends a string.
type Audience []string

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("lti: aud must be a string or an array of strings")
	}
	*a = list
	return nil
}

// Contains reports whether s is one of the audiences.
func (a Audience) Contains(s string) bool {
	for _, v := range a {
		if v == s {
			return true
		}
	}
	return false
}

// NumericDate is a JWT NumericDate (RFC 7519 §2): seconds since the epoch,
// possibly fractional. The zero value means the claim was absent.
type NumericDate struct {
	// Seconds since 1970-01-01T00:00:00Z.
	Seconds int64
	// Set reports whether the claim was present.
	Set bool
}

// UnmarshalJSON accepts a JSON number.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return errors.New("lti: a NumericDate must be a non-negative JSON number")
	}
	*d = NumericDate{Seconds: int64(f), Set: true}
	return nil
}

// MarshalJSON writes the date as a JSON number of whole seconds. Give the
// field the omitzero option so an absent date stays absent.
func (d NumericDate) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, d.Seconds, 10), nil
}

// Time returns the date as a time.Time.
func (d NumericDate) Time() time.Time { return time.Unix(d.Seconds, 0) }

// Dimension is a launch_presentation width or height. The specification
// makes it a number; some platforms send a string ("600", "100%"). The text
// is kept as sent, so a presentation hint never refuses a launch.
type Dimension string

// UnmarshalJSON accepts a JSON number or string.
func (d *Dimension) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = Dimension(s)
		return nil
	}
	if string(b) == "null" {
		*d = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("lti: a dimension must be a number or a string")
	}
	*d = Dimension(n)
	return nil
}

// MarshalJSON writes a numeric dimension as a number, anything else as a string.
func (d Dimension) MarshalJSON() ([]byte, error) {
	if _, err := strconv.ParseFloat(string(d), 64); err == nil {
		return []byte(d), nil
	}
	return json.Marshal(string(d))
}
