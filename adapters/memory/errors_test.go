package memory_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// TestClassify: each exported error of the package, bare and wrapped with
// %w, classifies to its code (docs/errors.md).
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want lti.Code
	}{
		{"ErrDuplicate", memory.ErrDuplicate, lti.CodeAlreadyExists},
		{"ErrFull", memory.ErrFull, lti.CodeStorageUnavailable},
	} {
		for _, err := range []error{tc.err, fmt.Errorf("op: %w", tc.err)} {
			if got := lti.Classify(err); got.Code != tc.want || got.Status != tc.want.Status() || got.Kind != tc.want.Kind() {
				t.Errorf("%s: Classify(%v) = %+v, want %s", tc.name, err, got, tc.want)
			}
		}
	}
}

// TestClassifyStoreErrors: the errors the Store returns classify to the
// codes of the sentinels they match.
func TestClassifyStoreErrors(t *testing.T) {
	s := memory.New()
	reg := registration.Registration{Issuer: "https://lms.example", ClientID: "c", AuthEndpoint: "https://lms.example/auth",
		KeySetURL: "https://lms.example/jwks"}
	if err := s.AddRegistration(reg); err != nil {
		t.Fatal(err)
	}
	err := s.AddRegistration(reg)
	if !errors.Is(err, memory.ErrDuplicate) || !errors.Is(err, storage.ErrExists) || lti.Classify(err).Code != lti.CodeAlreadyExists {
		t.Errorf("duplicate registration: %v, %+v", err, lti.Classify(err))
	}
	_, err = s.FindRegistration(t.Context(), "https://other.example", "")
	if !errors.Is(err, registration.ErrNotFound) || lti.Classify(err).Code != lti.CodeUnknownRegistration {
		t.Errorf("unknown registration: %v, %+v", err, lti.Classify(err))
	}
	_, err = s.TakeState(t.Context(), "no such state")
	if !errors.Is(err, nonce.ErrNotFound) || lti.Classify(err).Code != lti.CodeInvalidState {
		t.Errorf("unknown state: %v, %+v", err, lti.Classify(err))
	}
}
