package ltitest

import (
	"strings"
	"time"

	"github.com/ltikit/ltikit/lti"
)

// Role URIs the platform puts in the roles claim (LTI 1.3 Core §A.2.2).
const (
	// RoleInstructor is the context role of instructor launches.
	RoleInstructor = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
	// RoleLearner is the context role of learner launches.
	RoleLearner = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
)

// ClaimExt is the vendor extension claim Moodle sends along
// ({"lms":"moodle-2","user_username":…}); the platform sends
// {"lms":"ltitest","user_username":…}.
const ClaimExt = "https://purl.imsglobal.org/spec/lti/claim/ext"

// TokenLifetime is the time between the iat and exp of minted id_tokens.
const TokenLifetime = 5 * time.Minute

// User is a platform user: the sub, name and email claims.
type User struct {
	// Sub is the user's id on the platform (the sub claim and login_hint).
	Sub string
	// Name is the full name; the first word becomes given_name, the rest
	// family_name.
	Name string
	// Email is the email claim.
	Email string
}

// The default users of [AsInstructor] and [AsLearner] launches.
var (
	// DefaultInstructor is the user of instructor launches (the default).
	DefaultInstructor = User{Sub: "1001", Name: "Tea Cher", Email: "teacher@example.com"}
	// DefaultLearner is the user of AsLearner launches.
	DefaultLearner = User{Sub: "1002", Name: "Stu Dent", Email: "student@example.com"}
)

// Default values of the context and resource link claims.
const (
	// DefaultContextID is the context claim's id, also sent as the custom
	// parameter course_ctx.
	DefaultContextID = "42"
	// DefaultResourceLinkID is the resource_link claim's id.
	DefaultResourceLinkID = "ltitest-link-1"
)

// DefaultClaims returns a valid LtiResourceLinkRequest claim set for this
// platform, shaped like Moodle's: iss, aud (the client_id as a plain
// string), sub, iat (now), exp (now + TokenLifetime), nonce, version,
// deployment_id, target_link_uri, resource_link, roles (Instructor),
// context, tool_platform, launch_presentation, lis, custom
// ({"course_ctx":"42"}), name, given_name, family_name, email and the
// vendor ext claim. Every call returns a new map that the caller may change.
//
// JSON objects are map[string]any, string arrays are []string and times
// are int64, so a test can write e.g.
//
//	c[lti.ClaimResourceLink].(map[string]any)["id"] = ""
func (p *Platform) DefaultClaims(nonce string) map[string]any {
	now := time.Now().Unix()
	cfg := p.conf()
	c := map[string]any{
		"iss":                       p.Issuer(),
		"aud":                       cfg.ClientID,
		"iat":                       now,
		"exp":                       now + int64(TokenLifetime/time.Second),
		"nonce":                     nonce,
		lti.ClaimMessageType:        lti.MessageResourceLink,
		lti.ClaimVersion:            lti.Version,
		lti.ClaimDeploymentID:       cfg.DeploymentID,
		lti.ClaimTargetLinkURI:      cfg.TargetLinkURI,
		lti.ClaimResourceLink:       map[string]any{"id": DefaultResourceLinkID, "title": "ltitest activity", "description": "An activity of the ltitest platform"},
		lti.ClaimRoles:              []string{RoleInstructor},
		lti.ClaimContext:            map[string]any{"id": DefaultContextID, "label": "LTI101", "title": "LTI Test Course", "type": []string{"CourseSection"}},
		lti.ClaimToolPlatform:       map[string]any{"guid": "ltitest-" + p.baseURL.Host, "name": "ltitest", "description": "ltitest platform", "product_family_code": "ltitest", "version": "1"},
		lti.ClaimLaunchPresentation: map[string]any{"document_target": "iframe", "locale": "en", "return_url": p.base + PathReturn},
		lti.ClaimLIS:                map[string]any{"person_sourcedid": "", "course_section_sourcedid": ""},
		lti.ClaimCustom:             map[string]any{"course_ctx": DefaultContextID},
	}
	setUser(c, DefaultInstructor)
	return c
}

// setUser sets sub, the names, email and ext.user_username. An empty name
// or email removes the claims.
func setUser(c map[string]any, u User) {
	c["sub"] = u.Sub
	delete(c, "name")
	delete(c, "given_name")
	delete(c, "family_name")
	if u.Name != "" {
		c["name"] = u.Name
		given, family, _ := strings.Cut(u.Name, " ")
		c["given_name"] = given
		if family != "" {
			c["family_name"] = family
		}
	}
	delete(c, "email")
	if u.Email != "" {
		c["email"] = u.Email
	}
	c[ClaimExt] = map[string]any{"lms": "ltitest", "user_username": "user" + u.Sub}
}

// setAnonymous removes every claim that identifies the user.
func setAnonymous(c map[string]any) {
	for _, k := range []string{"sub", "name", "given_name", "family_name", "middle_name", "email", "picture"} {
		delete(c, k)
	}
	c[ClaimExt] = map[string]any{"lms": "ltitest"}
	if lis, ok := c[lti.ClaimLIS].(map[string]any); ok {
		delete(lis, "person_sourcedid")
	}
}

// setDeepLinking turns a resource link claim set into a deep linking
// request (Deep Linking 2.0 §4.4).
func (p *Platform) setDeepLinking(c map[string]any, data string) {
	c[lti.ClaimMessageType] = lti.MessageDeepLinking
	delete(c, lti.ClaimResourceLink)
	c[lti.ClaimLaunchPresentation] = map[string]any{"document_target": "iframe", "locale": "en"}
	c[lti.ClaimDeepLinking] = map[string]any{
		"deep_link_return_url":                 p.DeepLinkReturnURL(),
		"accept_types":                         []string{"ltiResourceLink", "link"},
		"accept_presentation_document_targets": []string{"iframe", "window"},
		"accept_multiple":                      true,
		"accept_lineitem":                      true,
		"auto_create":                          false,
		"title":                                "ltitest deep linking",
		"text":                                 "Pick something",
		"data":                                 data,
	}
}
