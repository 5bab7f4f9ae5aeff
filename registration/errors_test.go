package registration_test

import (
	"fmt"
	"testing"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

// TestClassify: each exported error of the package, bare and wrapped with
// %w, classifies to its code (docs/errors.md).
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want lti.Code
	}{
		{"ErrNotFound", registration.ErrNotFound, lti.CodeUnknownRegistration},
		{"ErrAmbiguous", registration.ErrAmbiguous, lti.CodeUnknownRegistration},
	} {
		for _, err := range []error{tc.err, fmt.Errorf("op: %w", tc.err)} {
			if got := lti.Classify(err); got.Code != tc.want || got.Status != tc.want.Status() || got.Kind != tc.want.Kind() {
				t.Errorf("%s: Classify(%v) = %+v, want %s", tc.name, err, got, tc.want)
			}
		}
	}
}
