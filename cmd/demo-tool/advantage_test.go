package main

import (
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/services/ags"
)

// TestRecords runs the session and deep linking record store on an SQLite
// file and on PostgreSQL: ids of 128 bits, a take that succeeds once across
// two connection pools (two nodes), restore, expiry and the sweep.
func TestRecords(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "records.db") },
		"postgres": postgresDSN,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			d := dsn(t)
			open := func() *records[string] {
				b, err := openBackend(ctx, d, slog.New(slog.DiscardHandler), false)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Close() })
				return newRecords[string](b.recordsDB(), "test", time.Minute)
			}
			now := time.Unix(1_000_000, 0)
			clock := func() time.Time { return now }
			s, other := open(), open() // two pools: two nodes
			s.now, other.now = clock, clock

			a, err := s.put(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			if len(a) < 26 {
				t.Errorf("id %q is shorter than 128 bits of base32", a)
			}
			if v, ok, err := other.get(ctx, a); err != nil || !ok || v != "a" {
				t.Fatalf("get on the other node: %q %v %v", v, ok, err)
			}
			// take succeeds once, also when racing on both nodes.
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 16 {
				st := s
				if i%2 == 1 {
					st = other
				}
				wg.Go(func() {
					_, _, ok, err := st.take(ctx, a)
					if err != nil {
						t.Error(err)
					}
					if ok {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d takes succeeded, want 1", wins.Load())
			}
			if _, ok, _ := s.get(ctx, a); ok {
				t.Error("a taken record is still there")
			}

			// restore puts a record back with its id and expiry.
			b, _ := s.put(ctx, "b")
			v, exp, ok, err := s.take(ctx, b)
			if err != nil || !ok || !exp.Equal(now.Add(time.Minute)) {
				t.Fatalf("take: %q %v %v %v", v, exp, ok, err)
			}
			if err := s.restore(ctx, b, v, exp); err != nil {
				t.Fatal(err)
			}
			if v, ok, _ := other.get(ctx, b); !ok || v != "b" {
				t.Errorf("after restore: %q %v", v, ok)
			}
			// Another kind does not see it.
			if _, ok, _ := newRecords[string](s.db, "other", time.Minute).get(ctx, b); ok {
				t.Error("a record of another kind is returned")
			}

			// Records expire, and the next put after a minute sweeps them.
			now = now.Add(time.Minute)
			if _, ok, _ := s.get(ctx, b); ok {
				t.Error("an expired record is returned")
			}
			if _, _, ok, _ := s.take(ctx, b); ok {
				t.Error("an expired record is taken")
			}
			s.lastSweep.Store(0)
			if _, err := s.put(ctx, "c"); err != nil {
				t.Fatal(err)
			}
			var n int64
			if err := s.db.Raw("SELECT COUNT(*) FROM " + recordsTable + " WHERE kind = 'test'").Scan(&n).Error; err != nil || n != 1 {
				t.Errorf("after the sweep %d rows (%v), want only the live one", n, err)
			}
		})
	}
}

// A storage failure of the sessions is a 503 storage_unavailable page, not
// a 500 or a page that pretends there is no session.
func TestRecordsFailClosed(t *testing.T) {
	a, srv := newTestApp(t)
	browser := jsonBrowser()
	resp, err := a.sandbox.Launch(t.Context(), browser, a.sandbox.WithNRPS())
	if r := readResponse(t, resp, err); r.status != http.StatusOK {
		t.Fatalf("launch: %d %s", r.status, r.body)
	}
	sqlDB, err := a.store.recordsDB().DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.Close()
	resp, err = browser.Get(srv.URL + pathRoster)
	r := readResponse(t, resp, err)
	if r.status != http.StatusServiceUnavailable || r.json(t)["error"] != "storage_unavailable" {
		t.Fatalf("roster with the database closed: %d %s", r.status, r.body)
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
		// Nothing to serve: no session is stored, and none is left from an
		// earlier launch in this browser.
		wantPage(t, browser, pathGrade, http.StatusUnauthorized, "no_session")
		wantPage(t, browser, pathRoster, http.StatusUnauthorized, "no_session")
	})

	t.Run("a launch without services ends the earlier session", func(t *testing.T) {
		browser, _ := launchHTML(t, a.sandbox.WithNRPS())
		wantPage(t, browser, pathRoster, http.StatusOK, "Learner")
		resp, err := a.sandbox.Launch(t.Context(), browser)
		if r := readResponse(t, resp, err); r.status != http.StatusOK {
			t.Fatalf("second launch: %d", r.status)
		}
		wantPage(t, browser, pathRoster, http.StatusUnauthorized, "no_session")
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
