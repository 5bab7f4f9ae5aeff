package main

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/session"
)

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		time.Minute:      "1 minute",
		30 * time.Minute: "30 minutes",
		90 * time.Minute: "90 minutes",
		time.Hour:        "1 hour",
		2 * time.Hour:    "2 hours",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
	// The help text states the sessions' lifetimes.
	if want := humanDuration(sessionIdle) + " unused, " + humanDuration(sessionMax) + " at most"; !strings.Contains(helpText, want) {
		t.Errorf("the help text does not say %q", want)
	}
}

// TestRenderSessionError checks the pages of the session manager's
// refusals: each with its status and code, and a hint that says what to do.
func TestRenderSessionError(t *testing.T) {
	t.Parallel()
	a := &app{}
	for _, tc := range []struct {
		name    string
		err     *lti.Error
		status  int
		heading string
		hint    string
	}{
		{name: "no session", err: session.ErrNoSession, status: http.StatusUnauthorized, heading: "No launch session",
			hint: "30 minutes unused and 2 hours at most"},
		{name: "no session, another description", err: session.ErrNoSession.WithDescription("the session was ended"),
			status: http.StatusUnauthorized, heading: "No launch session", hint: "30 minutes unused and 2 hours at most"},
		{name: "CSRF", err: lti.ErrInvalidRequest.WithDescription("the request's CSRF token is missing"), status: http.StatusBadRequest,
			heading: "Request refused", hint: "open the page again from the tool's launch page"},
		{name: "another invalid_state", err: lti.ErrInvalidState, status: http.StatusUnauthorized, heading: "Request refused",
			hint: errorHints[lti.CodeInvalidState]},
		{name: "store failure", err: lti.ErrStorageUnavailable, status: http.StatusServiceUnavailable, heading: "Request refused",
			hint: "database is unavailable"},
		{name: "registration removed", err: lti.ErrUnknownRegistration, status: http.StatusBadRequest, heading: "Request refused",
			hint: "demo-tool platform add"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			a.renderSessionError(rec, httptest.NewRequest(http.MethodGet, "/roster", nil), tc.err)
			page := rec.Body.String()
			if rec.Code != tc.status || !strings.Contains(page, tc.heading) || !strings.Contains(page, html.EscapeString(tc.hint)) ||
				!strings.Contains(page, string(tc.err.Code())) {
				t.Errorf("%d, want %d with %q and %q:\n%s", rec.Code, tc.status, tc.heading, tc.hint, page)
			}

			req := httptest.NewRequest(http.MethodGet, "/roster", nil)
			req.Header.Set("Accept", "application/json")
			rec = httptest.NewRecorder()
			a.renderSessionError(rec, req, tc.err)
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tc.status || body["error"] != string(tc.err.Code()) {
				t.Errorf("JSON: %d %s (%v)", rec.Code, rec.Body, err)
			}
		})
	}
}
