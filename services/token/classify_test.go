package token_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ltikit/ltikit/internal/errortest"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/services/token"
)

// errorTable lists every exported error of the package with the code
// lti.Classify must give it.
var errorTable = errortest.Sentinels{
	"ErrNoTokenEndpoint":      {Err: token.ErrNoTokenEndpoint, Code: lti.CodeNoTokenEndpoint},
	"ErrRejected":             {Err: token.ErrRejected, Code: lti.CodeTokenRefused},
	"ErrMalformedResponse":    {Err: token.ErrMalformedResponse, Code: lti.CodeMalformedResponse},
	"ErrResponseTooLarge":     {Err: token.ErrResponseTooLarge, Code: lti.CodeResponseTooLarge},
	"ErrNoAccessToken":        {Err: token.ErrNoAccessToken, Code: lti.CodeMalformedResponse},
	"ErrUnsupportedTokenType": {Err: token.ErrUnsupportedTokenType, Code: lti.CodeMalformedResponse},
	"ErrForeignHost":          {Err: token.ErrForeignHost, Code: lti.CodeForeignHost},
	"ErrRedirect":             {Err: token.ErrRedirect, Code: lti.CodeForeignHost},
	"ErrTimeout":              {Err: token.ErrTimeout, Code: lti.CodeServiceUnavailable},
	"ErrUnreachable":          {Err: token.ErrUnreachable, Code: lti.CodeServiceUnavailable},
}

// TestErrorsClassify: every exported error of the package is in the table,
// and lti.Classify gives it its code, bare or wrapped; errors.Is matches
// each sentinel by identity (and ErrTimeout matches
// context.DeadlineExceeded, as before).
func TestErrorsClassify(t *testing.T) {
	errorTable.Check(t, "token", ".")
	if !errors.Is(token.ErrTimeout, context.DeadlineExceeded) {
		t.Error("ErrTimeout does not match context.DeadlineExceeded")
	}
}

// TestRetrieveErrorCode: a RetrieveError takes the code of the failure it
// wraps, and so does lti.Classify.
func TestRetrieveErrorCode(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		code   lti.Code
	}{
		{400, `{"error":"invalid_client"}`, lti.CodeTokenRefused},
		{500, "<html>oops</html>", lti.CodeTokenRefused},
		{200, "<html>welcome</html>", lti.CodeMalformedResponse},
		{200, `{"token_type":"Bearer"}`, lti.CodeMalformedResponse},
		{200, `{"access_token":"x","token_type":"mac"}`, lti.CodeMalformedResponse},
	} {
		_, err := token.ParseResponse(tc.status, []byte(tc.body))
		var re *token.RetrieveError
		if !errors.As(err, &re) || re.Code() != tc.code || lti.Classify(err).Code != tc.code {
			t.Errorf("ParseResponse(%d, %q) = %v; want a RetrieveError with code %s", tc.status, tc.body, err, tc.code)
		}
	}
	if c := (&token.RetrieveError{}).Code(); c != lti.CodeTokenRefused {
		t.Errorf("zero RetrieveError code %q; want token_refused", c)
	}
}

// TestUnreachable: a token endpoint or service that cannot be reached is
// ErrUnreachable (service_unavailable, retry later), wrapping the
// transport's error; no request reached anything.
func TestUnreachable(t *testing.T) {
	e := newEnv(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	reg := e.reg
	reg.TokenEndpoint = closed.URL + "/token"
	_, err := e.client.Token(t.Context(), reg, []string{scopeLineItem})
	if !errors.Is(err, token.ErrUnreachable) || lti.Classify(err).Code != lti.CodeServiceUnavailable {
		t.Fatalf("Token: %v (%+v); want ErrUnreachable", err, lti.Classify(err))
	}

	reg = e.reg
	reg.Issuer = closed.URL // the service is on the platform, but down
	req, _ := http.NewRequest(http.MethodGet, closed.URL+"/svc", nil)
	resp, err := e.client.Do(t.Context(), reg, []string{scopeLineItem}, req)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, token.ErrUnreachable) || lti.Classify(err).Code != lti.CodeServiceUnavailable {
		t.Fatalf("Do: %v (%+v); want ErrUnreachable", err, lti.Classify(err))
	}

	// A refused redirect keeps its own code: it is not a network failure.
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/svc/x?redirect="+closed.URL+"/elsewhere", nil)
	resp, err = e.client.Do(t.Context(), e.reg, []string{scopeLineItem}, req)
	if resp != nil {
		resp.Body.Close()
	}
	if errors.Is(err, token.ErrUnreachable) || lti.Classify(err).Code != lti.CodeForeignHost {
		t.Fatalf("redirect off the platform: %v (%+v); want foreign_host", err, lti.Classify(err))
	}
}

// TestSentinelsCannotBeModified: no exported sentinel has an exported
// field that code outside the package could set.
func TestSentinelsCannotBeModified(t *testing.T) {
	errorTable.CheckUnmodifiable(t, "token")
}
