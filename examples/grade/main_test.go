package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/services/ags"
)

// startTool runs the example's handler on a test server and an LMS that
// has the tool registered, its JWKS URL included: the platform's token
// endpoint fetches the tool's key from there.
func startTool(t *testing.T) (*ltitest.Platform, string) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     srv.URL + "/lti/login",
		ToolRedirectURIs: []string{srv.URL + "/lti/launch"},
		ToolJWKSURL:      srv.URL + pathJWKS,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(platform.Close)
	h, err := newServer(config{BaseURL: srv.URL, Platform: platform.Registration(), DeploymentID: platform.DeploymentID()})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", h)
	return platform, srv.URL
}

// hiddenField matches the inputs session.FormFields writes.
var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// launchQuiz launches as a learner with the AGS claim and returns the
// quiz form's hidden fields.
func launchQuiz(t *testing.T, platform *ltitest.Platform, browser *http.Client, sub string) url.Values {
	t.Helper()
	resp, err := platform.Launch(t.Context(), browser, ltitest.AsLearner(),
		ltitest.WithUser(sub, "Lee Learner", "lee@example.edu"), platform.WithAGS())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `action="/grade"`) {
		t.Fatalf("launch: %d, want 200 with the quiz form; body:\n%s", resp.StatusCode, body)
	}
	form := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(string(body), -1) {
		form.Set(m[1], m[2])
	}
	if len(form) != 2 {
		t.Fatalf("the quiz form has hidden fields %v, want the session and CSRF tokens", form)
	}
	return form
}

func TestGradeReachesThePlatform(t *testing.T) {
	platform, toolURL := startTool(t)
	tests := []struct {
		name     string
		sub      string
		answers  []string
		cookies  bool // whether the form post carries the session cookie
		wantGood int
	}{
		{"all right", "learner-1", []string{"42", "6"}, true, 2},
		// A tool framed by the LMS in a browser that blocks its cookies:
		// the form's hidden fields carry the session.
		{"one right, no cookies", "learner-2", []string{" 42 ", "5"}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			browser := ltitest.NewBrowser()
			form := launchQuiz(t, platform, browser, tt.sub)
			for i, a := range tt.answers {
				form.Set("q"+strconv.Itoa(i), a)
			}
			poster := browser
			if !tt.cookies {
				poster = &http.Client{}
			}
			before := len(platform.Scores())
			resp, err := poster.PostForm(toolURL+"/grade", form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Your score was sent") {
				t.Fatalf("grade: %d; body:\n%s", resp.StatusCode, body)
			}
			scores := platform.Scores()
			if len(scores) != before+1 {
				t.Fatalf("the platform has %d scores, want %d", len(scores), before+1)
			}
			s := scores[len(scores)-1]
			if s.UserID != tt.sub || s.ScoreGiven == nil || *s.ScoreGiven != float64(tt.wantGood) ||
				s.ScoreMaximum == nil || *s.ScoreMaximum != 2 ||
				s.ActivityProgress != string(ags.ActivityCompleted) || s.GradingProgress != string(ags.GradingFullyGraded) {
				t.Errorf("score %+v, want %d/2 for %s, Completed and FullyGraded", s, tt.wantGood, tt.sub)
			}
			if items := platform.LineItems(); len(items) != 1 || s.LineItemID != items[0].ID {
				t.Errorf("score posted to %q, want the launched link's line item (%v)", s.LineItemID, items)
			}
		})
	}
	// The client assertion was verified with the key the tool publishes,
	// and the one access token served both scores.
	if n := platform.TokenRequests(); n != 1 {
		t.Errorf("token requests: %d, want 1", n)
	}
}

func TestRefusals(t *testing.T) {
	platform, toolURL := startTool(t)

	t.Run("no AGS claim", func(t *testing.T) {
		resp, err := platform.Launch(t.Context(), ltitest.NewBrowser(), ltitest.AsLearner())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "<form") ||
			!strings.Contains(string(body), "no grade service") {
			t.Fatalf("launch without AGS: %d; body:\n%s", resp.StatusCode, body)
		}
	})

	t.Run("no session", func(t *testing.T) {
		resp, err := http.PostForm(toolURL+"/grade", url.Values{"q0": {"42"}, "q1": {"6"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != lti.CodeNoSession.Status() {
			t.Fatalf("grade without a session: %d, want %d", resp.StatusCode, lti.CodeNoSession.Status())
		}
	})

	t.Run("cookie without CSRF token", func(t *testing.T) {
		browser := ltitest.NewBrowser()
		launchQuiz(t, platform, browser, "learner-3")
		resp, err := browser.PostForm(toolURL+"/grade", url.Values{"q0": {"42"}, "q1": {"6"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != lti.CodeInvalidRequest.Status() {
			t.Fatalf("grade by cookie alone: %d, want %d", resp.StatusCode, lti.CodeInvalidRequest.Status())
		}
	})

	if n := len(platform.Scores()); n != 0 {
		t.Errorf("the platform received %d scores, want none", n)
	}
}
