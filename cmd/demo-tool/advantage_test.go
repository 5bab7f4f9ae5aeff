package main

import (
	"context"
	"errors"
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
	"github.com/ltikit/ltikit/session"
)

// TestMarks runs the single-use marks (answered deep linking requests) on
// an SQLite file and on PostgreSQL: a claim that succeeds once across two
// connection pools (two nodes), release, expiry and the sweep.
func TestMarks(t *testing.T) {
	t.Parallel()
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "records.db") },
		"postgres": func(t *testing.T) string { return postgresDSN(t, 2) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			d := dsn(t)
			open := func() *marks {
				b, err := openBackend(ctx, d, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Close() })
				return newMarks(b.recordsDB(), "test", time.Minute)
			}
			now := time.Unix(1_000_000, 0)
			clock := func() time.Time { return now }
			s, other := open(), open() // two pools: two nodes
			s.now, other.now = clock, clock

			// A claim succeeds once, also when racing on both nodes.
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 16 {
				st := s
				if i%2 == 1 {
					st = other
				}
				wg.Go(func() {
					ok, err := st.claim(ctx, "a")
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
				t.Fatalf("%d claims succeeded, want 1", wins.Load())
			}
			// Another kind has marks of its own.
			if ok, err := newMarks(s.db, "other", time.Minute).claim(ctx, "a"); err != nil || !ok {
				t.Errorf("a mark of another kind: %v %v", ok, err)
			}

			// Released, a mark may be claimed again, on the other node.
			if err := s.release(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if ok, err := other.claim(ctx, "a"); err != nil || !ok {
				t.Fatalf("claim after release: %v %v", ok, err)
			}
			if ok, _ := s.claim(ctx, "a"); ok {
				t.Fatal("a claimed mark was claimed again")
			}

			// Marks expire: an expired one may be claimed again, and the
			// next claim after a minute sweeps the others.
			if ok, err := s.claim(ctx, "b"); err != nil || !ok {
				t.Fatalf("claim b: %v %v", ok, err)
			}
			now = now.Add(time.Minute)
			if ok, err := other.claim(ctx, "a"); err != nil || !ok {
				t.Fatalf("claim of an expired mark: %v %v", ok, err)
			}
			s.lastSweep.Store(0)
			if ok, err := s.claim(ctx, "c"); err != nil || !ok {
				t.Fatalf("claim c: %v %v", ok, err)
			}
			var n int64
			if err := s.db.Raw("SELECT COUNT(*) FROM " + recordsTable + " WHERE kind = 'test'").Scan(&n).Error; err != nil || n != 2 {
				t.Errorf("after the sweep %d rows (%v), want the live a and c", n, err)
			}
			if _, err := s.claim(ctx, strings.Repeat("x", maxMarkID+1)); err == nil {
				t.Error("an id longer than the column was claimed")
			}
		})
	}
}

// A storage failure of the sessions is a 503 storage_unavailable page, not
// a 500 or a page that pretends there is no session.
func TestSessionsFailClosed(t *testing.T) {
	t.Parallel()
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

// failingSessions is a backend whose session store fails.
type failingSessions struct{ backend }

func (failingSessions) PutSession(context.Context, session.Record) error {
	return errors.New("disk full")
}

// A launch whose session cannot be stored answers 503 storage_unavailable,
// not a launch page whose links lead nowhere.
func TestLaunchSessionStoreFails(t *testing.T) {
	t.Parallel()
	a, _ := newTestAppWith(t, func(b backend) backend { return failingSessions{b} })
	for _, browser := range []*http.Client{jsonBrowser(), ltitest.NewBrowser()} {
		resp, err := a.sandbox.Launch(t.Context(), browser, a.sandbox.WithNRPS())
		r := readResponse(t, resp, err)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "storage_unavailable") ||
			strings.Contains(string(r.body), "Launch accepted") {
			t.Fatalf("launch with the session store failing: %d\n%s", r.status, r.body)
		}
	}
}

// TestLaunchStoresOneSession checks what a launch writes besides its
// login state: one session row, with or without service claims, and none
// in the tool's own records table; a new launch in the same browser
// deletes the session it carried.
func TestLaunchStoresOneSession(t *testing.T) {
	t.Parallel()
	a, _ := newTestApp(t)
	count := func(table string) int64 {
		t.Helper()
		var n int64
		if err := a.store.recordsDB().Raw("SELECT COUNT(*) FROM " + table).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	browser := jsonBrowser()
	for i, opts := range [][]ltitest.LaunchOption{nil, {a.sandbox.WithAGS(), a.sandbox.WithNRPS()}, {ltitest.DeepLinking()}} {
		resp, err := a.sandbox.Launch(t.Context(), jsonBrowser(), opts...)
		if r := readResponse(t, resp, err); r.status != http.StatusOK {
			t.Fatalf("launch %d: %d %s", i, r.status, r.body)
		}
		if got := count("ltikit_launch_sessions"); got != int64(i+1) {
			t.Errorf("after launch %d: %d sessions, want %d", i, got, i+1)
		}
	}
	if got := count(recordsTable); got != 0 {
		t.Errorf("the launches wrote %d rows to %s, want none", got, recordsTable)
	}
	for range 2 {
		resp, err := a.sandbox.Launch(t.Context(), browser)
		if r := readResponse(t, resp, err); r.status != http.StatusOK {
			t.Fatalf("launch: %d %s", r.status, r.body)
		}
	}
	if got := count("ltikit_launch_sessions"); got != 4 {
		t.Errorf("after two launches in one browser: %d sessions, want 4 (the second replaced the first)", got)
	}
}

func TestSandboxLaunchParameters(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
		resp, err := browser.PostForm(srv.URL+pathGrade, withFields(sessionFields(t, r.body), url.Values{"score_given": {"1"}, "score_maximum": {"2"},
			"activity_progress": {"Completed"}, "grading_progress": {"FullyGraded"}}))
		r = readResponse(t, resp, err)
		page := string(r.body)
		if r.status != http.StatusBadGateway || !strings.Contains(page, "invalid_client") || !strings.Contains(page, "JWKS URL") {
			t.Errorf("post with the token endpoint failing: %d\n%s", r.status, page)
		}
		// The platform's words are shown, so a refusal explains itself,
		// as text: escaped, never as markup.
		if strings.Contains(page, "<b>no</b>") || !strings.Contains(page, "&lt;b&gt;no&lt;/b&gt;") {
			t.Error("the platform's error description is not on the page as escaped text")
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
		if strings.Contains(page, `id="link-grade"`) || strings.Contains(page, `id="link-roster"`) {
			t.Error("the launch page links to pages the launch does not allow")
		}
		// The launch has a session, but nothing to serve.
		wantPage(t, browser, pathGrade, http.StatusConflict, "grading_unavailable")
		wantPage(t, browser, pathRoster, http.StatusConflict, "roster_unavailable")
	})

	t.Run("a new launch ends the earlier session", func(t *testing.T) {
		browser, page := launchHTML(t, a.sandbox.WithNRPS())
		roster := linkHref(t, []byte(page), "link-roster")
		wantPage(t, browser, pathRoster, http.StatusOK, "Learner")
		resp, err := a.sandbox.Launch(t.Context(), browser)
		if r := readResponse(t, resp, err); r.status != http.StatusOK {
			t.Fatalf("second launch: %d", r.status)
		}
		// The browser's session is the second launch's, without NRPS.
		wantPage(t, browser, pathRoster, http.StatusConflict, "roster_unavailable")
		// The first launch's token names no session any more.
		r := get(t, &http.Client{}, roster)
		if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "no_session") ||
			!strings.Contains(string(r.body), "No launch session") {
			t.Errorf("the first launch's roster link: %d\n%s", r.status, r.body)
		}
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
