package ags_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ltikit/ltikit/internal/errortest"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/token"
)

// errorTable lists every exported error of the package with the code
// lti.Classify must give it.
var errorTable = errortest.Sentinels{
	"ErrNoAGS":             {Err: ags.ErrNoAGS, Code: lti.CodeServiceNotOffered},
	"ErrScopeNotGranted":   {Err: ags.ErrScopeNotGranted, Code: lti.CodeScopeNotGranted},
	"ErrNoLineItemsURL":    {Err: ags.ErrNoLineItemsURL, Code: lti.CodeServiceNotOffered},
	"ErrNoLineItem":        {Err: ags.ErrNoLineItem, Code: lti.CodeServiceNotOffered},
	"ErrInvalidScore":      {Err: ags.ErrInvalidScore, Code: lti.CodeInvalidRequest},
	"ErrInvalidLineItem":   {Err: ags.ErrInvalidLineItem, Code: lti.CodeInvalidRequest},
	"ErrForeignHost":       {Err: ags.ErrForeignHost, Code: lti.CodeForeignHost},
	"ErrBadURL":            {Err: ags.ErrBadURL, Code: lti.CodeForeignHost},
	"ErrResponseTooLarge":  {Err: ags.ErrResponseTooLarge, Code: lti.CodeResponseTooLarge},
	"ErrMalformedResponse": {Err: ags.ErrMalformedResponse, Code: lti.CodeMalformedResponse},
	"ErrPagingLoop":        {Err: ags.ErrPagingLoop, Code: lti.CodeMalformedResponse},
	"ErrTooManyPages":      {Err: ags.ErrTooManyPages, Code: lti.CodeResponseTooLarge},
	"ErrTooManyItems":      {Err: ags.ErrTooManyItems, Code: lti.CodeResponseTooLarge},
	"ErrTimeout":           {Err: ags.ErrTimeout, Code: lti.CodeServiceUnavailable},
	"ErrUnreachable":       {Err: ags.ErrUnreachable, Code: lti.CodeServiceUnavailable},
	"ErrRedirect":          {Err: ags.ErrRedirect, Code: lti.CodeForeignHost},
}

// TestErrorsClassify: every exported error of the package is in the table,
// and lti.Classify gives it its code, bare or wrapped; errors.Is matches
// each sentinel by identity, and no other.
func TestErrorsClassify(t *testing.T) {
	errorTable.Check(t, "ags", ".")
	// The errors shared with package token are the same values.
	for _, p := range [][2]error{{ags.ErrForeignHost, token.ErrForeignHost}, {ags.ErrRedirect, token.ErrRedirect}, {ags.ErrTimeout, token.ErrTimeout}, {ags.ErrUnreachable, token.ErrUnreachable}} {
		if p[0] != p[1] {
			t.Errorf("%v is not token's sentinel", p[0])
		}
	}
	if c := lti.Classify(fmt.Errorf("x: %w", &ags.HTTPError{StatusCode: 404})); c.Code != lti.CodeServiceError || c.Status != http.StatusBadGateway {
		t.Errorf("Classify(HTTPError) = %+v; want service_error, 502", c)
	}
}

// TestUnreachable: a platform that cannot be reached is ErrUnreachable
// (service_unavailable), wrapping the transport's error.
func TestUnreachable(t *testing.T) {
	reg := registration.Registration{Issuer: "https://lms.example", ClientID: "tool", TokenEndpoint: "https://lms.example/token"}
	err := callUnreachable(t, reg, &http.Client{Transport: errortest.RefusedTransport{}})
	errortest.CheckUnreachable(t, err, ags.ErrUnreachable)
}

// TestSentinelsCannotBeModified: no exported sentinel has an exported
// field that code outside the package could set.
func TestSentinelsCannotBeModified(t *testing.T) {
	errorTable.CheckUnmodifiable(t, "ags")
}

// callUnreachable makes one AGS call through client.
func callUnreachable(t *testing.T, reg registration.Registration, client *http.Client) error {
	t.Helper()
	c, err := ags.New(ags.Config{Registration: reg, Endpoint: lti.AGSEndpoint{Scope: allScopes(), LineItem: "https://lms.example/lineitems/1"},
		Source: &fakeSource{}, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LineItem(t.Context(), "")
	return err
}
