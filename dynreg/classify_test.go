package dynreg_test

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/internal/errortest"
	"github.com/ltikit/ltikit/lti"
)

// errorTable lists every exported error of the package with the code
// lti.Classify must give it and the status of the registration page.
var errorTable = map[string]struct {
	err    error
	code   lti.Code
	status int
}{
	"ErrInvalidRequest":           {dynreg.ErrInvalidRequest, lti.CodeInvalidRequest, http.StatusBadRequest},
	"ErrNotAllowed":               {dynreg.ErrNotAllowed, lti.CodeRegistrationNotAllowed, http.StatusForbidden},
	"ErrConfigurationUnavailable": {dynreg.ErrConfigurationUnavailable, lti.CodeConfigurationUnavailable, http.StatusBadGateway},
	"ErrInvalidConfiguration":     {dynreg.ErrInvalidConfiguration, lti.CodeInvalidConfiguration, http.StatusBadGateway},
	"ErrRegistrationRefused":      {dynreg.ErrRegistrationRefused, lti.CodeRegistrationRefused, http.StatusBadGateway},
	"ErrRegistrationFailed":       {dynreg.ErrRegistrationFailed, lti.CodeRegistrationFailed, http.StatusBadGateway},
	"ErrRegistrationConflict":     {dynreg.ErrRegistrationConflict, lti.CodeRegistrationConflict, http.StatusConflict},
	"ErrStorageUnavailable":       {dynreg.ErrStorageUnavailable, lti.CodeStorageUnavailable, http.StatusServiceUnavailable},
	"ErrServerError":              {dynreg.ErrServerError, lti.CodeInternal, http.StatusInternalServerError},
}

// TestErrorsClassify: every exported error of the package is in the table;
// lti.Classify gives it its code and status, bare or wrapped; errors.Is
// matches by code, so each sentinel matches itself and no other.
func TestErrorsClassify(t *testing.T) {
	errortest.CheckDeclared(t, "dynreg", ".", errorTable)
	for name, tc := range errorTable {
		for _, err := range []error{tc.err, fmt.Errorf("wrapped: %w", tc.err)} {
			c := lti.Classify(err)
			if c.Code != tc.code || c.Status != tc.status || c.Kind != tc.code.Kind() {
				t.Errorf("Classify(%s) = %+v; want %s, %d", name, c, tc.code, tc.status)
			}
			var e *dynreg.Error
			if !errors.As(err, &e) || e.Code() != tc.code || e.Status() != tc.status || e.Kind() != tc.code.Kind() || e.Description() == "" {
				t.Errorf("%s: %v; want an *Error with code %s", name, err, tc.code)
			}
		}
		for other, o := range errorTable {
			if got := errors.Is(tc.err, o.err); got != (other == name) {
				t.Errorf("errors.Is(%s, %s) = %v", name, other, got)
			}
		}
	}
}

// TestNotAllowed: the hosts' refusal is a registration_not_allowed Error
// with their words, matching ErrNotAllowed, and leaves the sentinel as it
// was.
func TestNotAllowed(t *testing.T) {
	before := dynreg.ErrNotAllowed.Error()
	e := dynreg.NotAllowed("invitations only")
	if e.Code() != lti.CodeRegistrationNotAllowed || e.Description() != "invitations only" || !errors.Is(e, dynreg.ErrNotAllowed) || e.Status() != http.StatusForbidden {
		t.Fatalf("NotAllowed = %v (code %s, status %d)", e, e.Code(), e.Status())
	}
	if dynreg.NotAllowed("").Description() != dynreg.ErrNotAllowed.Description() {
		t.Fatal("an empty reason does not keep the generic description")
	}
	if dynreg.ErrNotAllowed.Error() != before || e == dynreg.ErrNotAllowed {
		t.Fatal("NotAllowed changed or returned the sentinel")
	}
}

// TestSentinelsCannotBeModified: no exported sentinel, and no error the
// package builds, has an exported field that code outside the package
// could set.
func TestSentinelsCannotBeModified(t *testing.T) {
	for name, tc := range errorTable {
		if got := errortest.SettableFields("dynreg."+name, reflect.ValueOf(tc.err)); len(got) > 0 {
			t.Errorf("settable exported fields: %v", got)
		}
	}
	if got := errortest.SettableFields("NotAllowed", reflect.ValueOf(dynreg.NotAllowed("x"))); len(got) > 0 {
		t.Errorf("settable exported fields: %v", got)
	}
}
