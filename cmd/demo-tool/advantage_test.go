package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/services/ags"
)

func TestMemStore(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := newMemStore[string](time.Minute, 3)
	s.now = func() time.Time { return now }

	a := s.put("a")
	if len(a) < 26 {
		t.Errorf("id %q is shorter than 128 bits of base32", a)
	}
	if v, ok := s.get(a); !ok || v != "a" {
		t.Fatalf("get: %q %v", v, ok)
	}
	// take succeeds once, also when racing.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, _, ok := s.take(a); ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d takes succeeded, want 1", wins.Load())
	}
	if _, ok := s.get(a); ok {
		t.Error("a taken record is still there")
	}

	// restore puts a record back with its expiry.
	b := s.put("b")
	v, exp, ok := s.take(b)
	if !ok || !exp.Equal(now.Add(time.Minute)) {
		t.Fatalf("take: %q %v %v", v, exp, ok)
	}
	s.restore(b, v, exp)
	if v, ok := s.get(b); !ok || v != "b" {
		t.Errorf("after restore: %q %v", v, ok)
	}

	// Records expire.
	now = now.Add(time.Minute)
	if _, ok := s.get(b); ok {
		t.Error("an expired record is returned")
	}
	if _, _, ok := s.take(b); ok {
		t.Error("an expired record is taken")
	}

	// Past the bound, the record expiring first goes.
	ids := []string{s.put("1")}
	now = now.Add(time.Second)
	ids = append(ids, s.put("2"), s.put("3"), s.put("4"))
	if _, ok := s.get(ids[0]); ok {
		t.Error("the oldest record survived past the bound")
	}
	for _, id := range ids[1:] {
		if _, ok := s.get(id); !ok {
			t.Error("a newer record was dropped")
		}
	}

	// Taken records leave no garbage behind for long.
	big := newMemStore[int](time.Hour, 1000)
	for i := range 500 {
		big.take(big.put(i))
	}
	big.put(0)
	if len(big.order) > 64 || len(big.entries) != 1 {
		t.Errorf("after 500 takes: %d queued, %d entries", len(big.order), len(big.entries))
	}
}

func TestSandboxLaunchParameters(t *testing.T) {
	_, srv := newTestApp(t)
	for _, tc := range []struct {
		query  string
		status int
	}{
		{"", http.StatusOK},
		{"role=learner&anonymous=1", http.StatusOK},
		{"message=deep_linking&settings=one", http.StatusOK},
		{"login_method=get", http.StatusFound},
		{"role=admin", http.StatusBadRequest},
		{"message=other", http.StatusBadRequest},
		{"message=deep_linking&settings=two", http.StatusBadRequest},
		{"login_method=put", http.StatusBadRequest},
	} {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(srv.URL + "/sandbox/launch?" + tc.query)
		r := readResponse(t, resp, err)
		if r.status != tc.status {
			t.Errorf("%q: %d, want %d\n%s", tc.query, r.status, tc.status, r.body)
		}
	}
}

// TestAdvantageUnavailable checks what the pages say when a launch does
// not allow them, or the platform fails.
func TestAdvantageUnavailable(t *testing.T) {
	a, srv := newTestApp(t)
	launchHTML := func(t *testing.T, opts ...ltitest.LaunchOption) (*http.Client, string) {
		t.Helper()
		browser := ltitest.NewBrowser()
		resp, err := a.sandbox.Launch(t.Context(), browser, opts...)
		r := readResponse(t, resp, err)
		if r.status != http.StatusOK {
			t.Fatalf("launch: %d\n%s", r.status, r.body)
		}
		return browser, string(r.body)
	}
	wantPage := func(t *testing.T, browser *http.Client, path string, status int, code string) {
		t.Helper()
		r := get(t, browser, srv.URL+path)
		if r.status != status || !strings.Contains(string(r.body), code) {
			t.Errorf("GET %s: %d, want %d with %s\n%s", path, r.status, status, code, r.body)
		}
	}

	t.Run("the platform fails", func(t *testing.T) {
		// First: no token is cached yet.
		a.sandbox.SetTokenFailure(http.StatusBadRequest, `{"error":"invalid_client","error_description":"<b>no</b>"}`)
		defer a.sandbox.SetTokenFailure(0, "")
		browser, _ := launchHTML(t, ltitest.AsLearner(), a.sandbox.WithAGS())
		r := get(t, browser, srv.URL+pathGrade)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "The line item could not be read") {
			t.Errorf("grade page with the token endpoint failing: %d\n%s", r.status, r.body)
		}
		csrf := csrfToken(t, r.body)
		resp, err := browser.PostForm(srv.URL+pathGrade, url.Values{"csrf": {csrf}, "score_given": {"1"}, "score_maximum": {"2"},
			"activity_progress": {"Completed"}, "grading_progress": {"FullyGraded"}})
		r = readResponse(t, resp, err)
		page := string(r.body)
		if r.status != http.StatusBadGateway || !strings.Contains(page, "invalid_client") || !strings.Contains(page, "JWKS URL") {
			t.Errorf("post with the token endpoint failing: %d\n%s", r.status, page)
		}
		if strings.Contains(page, "<b>no</b>") || strings.Contains(page, "&lt;b&gt;no") {
			t.Error("the platform's error description reached the page")
		}
		if len(a.sandbox.Scores()) != 0 {
			t.Error("a score was recorded")
		}
	})

	t.Run("no service claims", func(t *testing.T) {
		browser, page := launchHTML(t)
		for _, s := range []string{"the launch has no Assignment and Grade Services claim",
			"the launch has no Names and Role Provisioning Services claim", srv.URL + pathJWKS} {
			if !strings.Contains(page, s) {
				t.Errorf("the launch page lacks %q", s)
			}
		}
		wantPage(t, browser, pathGrade, http.StatusConflict, "grading_unavailable")
		wantPage(t, browser, pathRoster, http.StatusConflict, "roster_unavailable")
	})

	t.Run("anonymous learner", func(t *testing.T) {
		browser, page := launchHTML(t, ltitest.AsLearner(), ltitest.Anonymous(), a.sandbox.WithAGS())
		if !strings.Contains(page, "an anonymous launch has no user to grade") {
			t.Error("the launch page does not say why grading is unavailable")
		}
		wantPage(t, browser, pathGrade, http.StatusConflict, "grading_unavailable")
	})

	t.Run("no score scope", func(t *testing.T) {
		browser, _ := launchHTML(t, ltitest.AsLearner(), a.sandbox.WithAGS(ags.ScopeLineItemReadOnly))
		wantPage(t, browser, pathGrade, http.StatusConflict, "did not grant the score scope")
	})
}
