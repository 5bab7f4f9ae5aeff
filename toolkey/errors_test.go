package toolkey_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/toolkey"
)

// TestClassify: each exported error of the package, bare and wrapped with
// %w, classifies to its code (docs/errors.md).
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want lti.Code
	}{
		{"ErrNegativeDelay", toolkey.ErrNegativeDelay, lti.CodeInvalidRequest},
	} {
		for _, err := range []error{tc.err, fmt.Errorf("op: %w", tc.err)} {
			if got := lti.Classify(err); got.Code != tc.want || got.Status != tc.want.Status() || got.Kind != tc.want.Kind() {
				t.Errorf("%s: Classify(%v) = %+v, want %s", tc.name, err, got, tc.want)
			}
		}
	}
}

// TestClassifyRotate: the MemoryStore's refusal of a negative delay is
// invalid_request.
func TestClassifyRotate(t *testing.T) {
	s, err := toolkey.NewMemoryStore(toolkey.StoreOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Rotate(t.Context(), -time.Second)
	if !errors.Is(err, toolkey.ErrNegativeDelay) || lti.Classify(err).Code != lti.CodeInvalidRequest {
		t.Errorf("Rotate(-1s) = %v, %+v", err, lti.Classify(err))
	}
}
