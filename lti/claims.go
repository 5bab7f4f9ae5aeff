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
	// Registered and OIDC claims.
	Issuer          string      `json:"iss"`
	Subject         *string     `json:"sub,omitempty"` // nil: an anonymous launch (LTI 1.3 Core §5.3.6)
	Audience        Audience    `json:"aud"`
	AuthorizedParty string      `json:"azp"`
	ExpiresAt       NumericDate `json:"exp,omitzero"`
	IssuedAt        NumericDate `json:"iat,omitzero"`
	NotBefore       NumericDate `json:"nbf,omitzero"` // optional (RFC 7519 §4.1.5)
	Nonce           string      `json:"nonce"`

	// User identity claims (OIDC Core §5.1, LTI 1.3 Core §5.3.6.1).
	Name       string `json:"name"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	MiddleName string `json:"middle_name"`
	Picture    string `json:"picture"`
	Email      string `json:"email"`
	Locale     string `json:"locale"`

	// LTI claims.
	MessageType        string              `json:"https://purl.imsglobal.org/spec/lti/claim/message_type"`
	Version            string              `json:"https://purl.imsglobal.org/spec/lti/claim/version"`
	DeploymentID       string              `json:"https://purl.imsglobal.org/spec/lti/claim/deployment_id"`
	TargetLinkURI      string              `json:"https://purl.imsglobal.org/spec/lti/claim/target_link_uri"`
	ResourceLink       *ResourceLink       `json:"https://purl.imsglobal.org/spec/lti/claim/resource_link"`
	Roles              *[]string           `json:"https://purl.imsglobal.org/spec/lti/claim/roles"` // nil: claim absent
	RoleScopeMentor    []string            `json:"https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"`
	Context            *Context            `json:"https://purl.imsglobal.org/spec/lti/claim/context"`
	ToolPlatform       *ToolPlatform       `json:"https://purl.imsglobal.org/spec/lti/claim/tool_platform"`
	LaunchPresentation *LaunchPresentation `json:"https://purl.imsglobal.org/spec/lti/claim/launch_presentation"`
	LIS                *LIS                `json:"https://purl.imsglobal.org/spec/lti/claim/lis"`
	Custom             map[string]any      `json:"https://purl.imsglobal.org/spec/lti/claim/custom"`
	LTI11              *LTI11Migration     `json:"https://purl.imsglobal.org/spec/lti/claim/lti1p1"`
	ForUser            *ForUser            `json:"https://purl.imsglobal.org/spec/lti/claim/for_user"`

	// LTI Advantage service claims.
	AGS         *AGSEndpoint         `json:"https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"`
	NRPS        *NRPSEndpoint        `json:"https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"`
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
	ID          string `json:"id"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// Context is the context claim (LTI 1.3 Core §5.4.1).
type Context struct {
	ID    string   `json:"id"`
	Label string   `json:"label,omitempty"`
	Title string   `json:"title,omitempty"`
	Type  []string `json:"type,omitempty"`
}

// ToolPlatform is the tool_platform claim (LTI 1.3 Core §5.4.2).
type ToolPlatform struct {
	GUID              string `json:"guid"`
	ContactEmail      string `json:"contact_email,omitempty"`
	Description       string `json:"description,omitempty"`
	Name              string `json:"name,omitempty"`
	URL               string `json:"url,omitempty"`
	ProductFamilyCode string `json:"product_family_code,omitempty"`
	Version           string `json:"version,omitempty"`
}

// LaunchPresentation is the launch_presentation claim (LTI 1.3 Core §5.4.4).
type LaunchPresentation struct {
	DocumentTarget string    `json:"document_target,omitempty"`
	Height         Dimension `json:"height,omitempty"`
	Width          Dimension `json:"width,omitempty"`
	ReturnURL      string    `json:"return_url,omitempty"`
	Locale         string    `json:"locale,omitempty"`
}

// LIS is the lis claim (LTI 1.3 Core §5.4.5). Moodle sends empty strings.
type LIS struct {
	PersonSourcedID            string `json:"person_sourcedid,omitempty"`
	CourseOfferingSourcedID    string `json:"course_offering_sourcedid,omitempty"`
	CourseSectionSourcedID     string `json:"course_section_sourcedid,omitempty"`
	ResultSourcedID            string `json:"result_sourcedid,omitempty"`
	OutcomeServiceURL          string `json:"outcome_service_url,omitempty"`
	CourseTemplateSourcedID    string `json:"course_template_sourcedid,omitempty"`
	CourseOfferingTermSourceID string `json:"term_sourcedid,omitempty"`
}

// LTI11Migration is the lti1p1 claim of the LTI 1.1 migration guide
// (LTI 1.3 Core, "LTI 1.1 migration", §3): the LTI 1.1 user_id and the
// signed oauth_consumer_key that lets a tool match old records.
type LTI11Migration struct {
	UserID                   string `json:"user_id,omitempty"`
	OAuthConsumerKey         string `json:"oauth_consumer_key,omitempty"`
	OAuthConsumerKeySign     string `json:"oauth_consumer_key_sign,omitempty"`
	ResourceLinkID           string `json:"resource_link_id,omitempty"`
	ContextID                string `json:"context_id,omitempty"`
	ToolConsumerInstanceGUID string `json:"tool_consumer_instance_guid,omitempty"`
}

// ForUser is the for_user claim of a submission review launch (AGS 2.0 §6).
type ForUser struct {
	UserID          string   `json:"user_id"`
	PersonSourcedID string   `json:"person_sourcedid,omitempty"`
	Name            string   `json:"name,omitempty"`
	GivenName       string   `json:"given_name,omitempty"`
	FamilyName      string   `json:"family_name,omitempty"`
	Email           string   `json:"email,omitempty"`
	Roles           []string `json:"roles,omitempty"`
}

// AGSEndpoint is the Assignment and Grade Services endpoint claim (AGS 2.0 §3.1).
type AGSEndpoint struct {
	Scope     []string `json:"scope"`
	LineItems string   `json:"lineitems,omitempty"`
	LineItem  string   `json:"lineitem,omitempty"`
}

// NRPSEndpoint is the Names and Role Provisioning Services claim (NRPS 2.0 §3.6.1.1).
type NRPSEndpoint struct {
	ContextMembershipsURL string   `json:"context_memberships_url"`
	ServiceVersions       []string `json:"service_versions"`
}

// DeepLinkingSettings is the deep_linking_settings claim (Deep Linking 2.0 §4.4.1).
type DeepLinkingSettings struct {
	DeepLinkReturnURL                 string   `json:"deep_link_return_url"`
	AcceptTypes                       []string `json:"accept_types"`
	AcceptPresentationDocumentTargets []string `json:"accept_presentation_document_targets"`
	AcceptMediaTypes                  string   `json:"accept_media_types,omitempty"`
	AcceptMultiple                    *bool    `json:"accept_multiple,omitempty"`
	AcceptLineItem                    *bool    `json:"accept_lineitem,omitempty"`
	AutoCreate                        *bool    `json:"auto_create,omitempty"`
	AcceptCopyAdvice                  *bool    `json:"accept_copy_advice,omitempty"`
	Title                             string   `json:"title,omitempty"`
	Text                              string   `json:"text,omitempty"`
	Data                              string   `json:"data,omitempty"`
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
