package keys_test

import (
	"fmt"
	"testing"

	"github.com/ltikit/ltikit/keys"
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
		{"ErrKeyNotFound", keys.ErrKeyNotFound, lti.CodeInvalidSignature},
		{"ErrUnavailable", keys.ErrUnavailable, lti.CodeKeysetUnavailable},
		{"FetchError", &keys.FetchError{URL: "https://lms.example/jwks", Status: 502}, lti.CodeKeysetUnavailable},
		// A Cache wraps the FetchError of a failed refresh in one of the
		// sentinels; the sentinel decides.
		{"ErrKeyNotFound with a FetchError", fmt.Errorf("%w (the refresh failed: %w)", keys.ErrKeyNotFound, &keys.FetchError{}), lti.CodeInvalidSignature},
	} {
		for _, err := range []error{tc.err, fmt.Errorf("op: %w", tc.err)} {
			if got := lti.Classify(err); got.Code != tc.want || got.Status != tc.want.Status() || got.Kind != tc.want.Kind() {
				t.Errorf("%s: Classify(%v) = %+v, want %s", tc.name, err, got, tc.want)
			}
		}
	}
}
