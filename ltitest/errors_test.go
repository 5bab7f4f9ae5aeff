package ltitest

import (
	"fmt"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

// TestClassify: each exported error of the package, bare and wrapped with
// %w, classifies to its code (docs/errors.md).
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want lti.Code
	}{
		{"ErrNoCookieJar", ErrNoCookieJar, lti.CodeInvalidRequest},
		{"AuthError", &AuthError{StatusCode: 400, ErrorCode: "invalid_request"}, lti.CodePlatformError},
		{"LoginError", &LoginError{StatusCode: 400}, lti.CodeInvalidRequest},
		{"DeepLinkingError", &DeepLinkingError{Claim: "iss", Reason: "wrong"}, lti.CodePlatformError},
	} {
		for _, err := range []error{tc.err, fmt.Errorf("op: %w", tc.err)} {
			if got := lti.Classify(err); got.Code != tc.want || got.Status != tc.want.Status() || got.Kind != tc.want.Kind() {
				t.Errorf("%s: Classify(%v) = %+v, want %s", tc.name, err, got, tc.want)
			}
		}
	}
}
