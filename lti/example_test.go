package lti_test

import (
	"errors"
	"fmt"

	"github.com/ltikit/ltikit/lti"
)

// Roles understand the full LTI 1.3 role URIs, the deprecated simple names
// and the LTI 1.1 URNs that real platforms still send.
func ExampleRoles() {
	roles := lti.Roles{
		"http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
		"urn:lti:sysrole:ims/lis/Administrator",
	}
	fmt.Println(roles.IsInstructor(), roles.IsLearner(), roles.IsAdmin())
	fmt.Println(lti.Roles{"Learner"}.IsLearner())
	// Output:
	// true false true
	// true
}

// DecodeClaims decodes an id_token payload into typed claims; custom values
// keep their JSON types.
func ExampleDecodeClaims() {
	payload := []byte(`{
		"iss": "https://lms.example", "aud": "client-1", "sub": "u-42",
		"https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
		"https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
		"https://purl.imsglobal.org/spec/lti/claim/custom": {"course_ctx": "42", "attempts": 3}
	}`)
	c, err := lti.DecodeClaims(payload)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.MessageType, *c.Subject, c.RoleSet().IsLearner())
	fmt.Printf("%T %v, %T %v\n", c.Custom["course_ctx"], c.Custom["course_ctx"], c.Custom["attempts"], c.Custom["attempts"])
	// Output:
	// LtiResourceLinkRequest u-42 true
	// string 42, json.Number 3
}

// Every launch failure is an *lti.Error with a stable code and HTTP
// status; match it with errors.Is against the sentinels.
func ExampleError() {
	err := fmt.Errorf("launch: %w", lti.ErrInvalidNonce.WithDescription("the nonce was already used"))
	fmt.Println(errors.Is(err, lti.ErrInvalidNonce))
	e := lti.AsError(err)
	fmt.Println(e.Code(), e.Status(), e.Description())
	// Output:
	// true
	// invalid_nonce 401 the nonce was already used
}

// Classify gives the code, kind and HTTP status of any error of any ltikit
// package, however deeply wrapped; an error without a code is
// internal_error, never a success.
func ExampleClassify() {
	storeErr := lti.NewSentinel(lti.CodeUnknownRegistration, "store: no such registration")
	for _, err := range []error{
		fmt.Errorf("find: %w", storeErr),
		lti.ErrKeysetUnavailable.WithCause(errors.New("dial tcp: timeout")),
		errors.New("something else"),
	} {
		c := lti.Classify(err)
		fmt.Println(c.Code, c.Kind, c.Status)
	}
	// Output:
	// unknown_registration configuration 400
	// keyset_unavailable infrastructure 503
	// internal_error infrastructure 500
}
