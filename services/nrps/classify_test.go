package nrps_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ltikit/ltikit/internal/errortest"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/nrps"
	"github.com/ltikit/ltikit/services/token"
)

// errorTable lists every exported error of the package with the code
// lti.Classify must give it.
var errorTable = errortest.Sentinels{
	"ErrNoNRPS":             {Err: nrps.ErrNoNRPS, Code: lti.CodeServiceNotOffered},
	"ErrUnsupportedVersion": {Err: nrps.ErrUnsupportedVersion, Code: lti.CodeServiceNotOffered},
	"ErrNoMembershipsURL":   {Err: nrps.ErrNoMembershipsURL, Code: lti.CodeServiceNotOffered},
	"ErrForeignHost":        {Err: nrps.ErrForeignHost, Code: lti.CodeForeignHost},
	"ErrBadURL":             {Err: nrps.ErrBadURL, Code: lti.CodeForeignHost},
	"ErrResponseTooLarge":   {Err: nrps.ErrResponseTooLarge, Code: lti.CodeResponseTooLarge},
	"ErrMalformedResponse":  {Err: nrps.ErrMalformedResponse, Code: lti.CodeMalformedResponse},
	"ErrPagingLoop":         {Err: nrps.ErrPagingLoop, Code: lti.CodeMalformedResponse},
	"ErrTooManyPages":       {Err: nrps.ErrTooManyPages, Code: lti.CodeResponseTooLarge},
	"ErrTooManyItems":       {Err: nrps.ErrTooManyItems, Code: lti.CodeResponseTooLarge},
	"ErrTimeout":            {Err: nrps.ErrTimeout, Code: lti.CodeServiceUnavailable},
	"ErrUnreachable":        {Err: nrps.ErrUnreachable, Code: lti.CodeServiceUnavailable},
	"ErrRedirect":           {Err: nrps.ErrRedirect, Code: lti.CodeForeignHost},
}

// TestErrorsClassify: every exported error of the package is in the table,
// and lti.Classify gives it its code, bare or wrapped; errors.Is matches
// each sentinel by identity, and no other.
func TestErrorsClassify(t *testing.T) {
	errorTable.Check(t, "nrps", ".")
	// The errors shared with package token are the same values.
	for _, p := range [][2]error{{nrps.ErrForeignHost, token.ErrForeignHost}, {nrps.ErrRedirect, token.ErrRedirect}, {nrps.ErrTimeout, token.ErrTimeout}, {nrps.ErrUnreachable, token.ErrUnreachable}} {
		if p[0] != p[1] {
			t.Errorf("%v is not token's sentinel", p[0])
		}
	}
	if c := lti.Classify(fmt.Errorf("x: %w", &nrps.HTTPError{StatusCode: 404})); c.Code != lti.CodeServiceError || c.Status != http.StatusBadGateway {
		t.Errorf("Classify(HTTPError) = %+v; want service_error, 502", c)
	}
}

// TestUnreachable: a platform that cannot be reached is ErrUnreachable
// (service_unavailable), wrapping the transport's error.
func TestUnreachable(t *testing.T) {
	reg := registration.Registration{Issuer: "https://lms.example", ClientID: "tool", TokenEndpoint: "https://lms.example/token"}
	err := callUnreachable(t, reg, &http.Client{Transport: errortest.RefusedTransport{}})
	errortest.CheckUnreachable(t, err, nrps.ErrUnreachable)
}

// TestSentinelsCannotBeModified: no exported sentinel has an exported
// field that code outside the package could set.
func TestSentinelsCannotBeModified(t *testing.T) {
	errorTable.CheckUnmodifiable(t, "nrps")
}

// callUnreachable makes one NRPS call through client.
func callUnreachable(t *testing.T, reg registration.Registration, client *http.Client) error {
	t.Helper()
	c, err := nrps.New(nrps.Config{Registration: reg, Endpoint: lti.NRPSEndpoint{ContextMembershipsURL: "https://lms.example/memberships", ServiceVersions: []string{"2.0"}},
		Source: &fakeSource{}, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	var got error
	for _, err := range c.Members(t.Context(), nrps.Query{}).All() {
		got = err
	}
	return got
}
