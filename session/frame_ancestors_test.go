package session_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/session"
)

// originOf is the scheme://host[:port] of u.
func originOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Scheme + "://" + p.Host
}

// TestFrameAncestors checks the Content-Security-Policy frame-ancestors of
// the pages behind Require: 'self', the launch's platform origins and the
// host's, on the pages it lets through and on the refusals of a known
// session; never on Start's response.
func TestFrameAncestors(t *testing.T) {
	const institution = "https://canvas.example.edu"
	presentation := func(returnURL string) ltitest.LaunchOption {
		return ltitest.WithClaim(lti.ClaimLaunchPresentation, map[string]any{"document_target": "iframe", "return_url": returnURL})
	}
	cases := []struct {
		name   string
		opts   []session.Option
		launch []ltitest.LaunchOption
		// want lists the origins after 'self'; the platform's origin is
		// added by the test. none: no header at all.
		want    []string
		none    bool
		warning string // a WARN the log must hold once
	}{
		{name: "plain registration: issuer and auth endpoint origins"},
		{name: "return_url on another origin is added",
			launch: []ltitest.LaunchOption{presentation("https://school.example.org:8443/courses/1/modules?x=1")},
			want:   []string{"https://school.example.org:8443"}},
		{name: "return_url on a default port, not http(s), or not absolute",
			launch: []ltitest.LaunchOption{presentation("https://a.example.org:443/back")},
			want:   []string{"https://a.example.org"}},
		{name: "a javascript return_url is ignored",
			launch: []ltitest.LaunchOption{presentation("javascript:alert(1)")}},
		{name: "host hook adds an institution origin",
			opts: []session.Option{session.WithFrameAncestors(func(reg registration.Registration) []string {
				return []string{institution, "https://*.instructure.com", institution + "/"}
			})},
			want: []string{"https://*.instructure.com", institution}},
		{name: "invalid hook entries are dropped",
			opts: []session.Option{session.WithFrameAncestors(func(reg registration.Registration) []string {
				return []string{"canvas.example.edu", "ftp://files.example.edu", "https://a.example.edu/path", "https://b.example.edu; script-src *",
					"https://user@c.example.edu", "'none'", "", institution}
			})},
			want: []string{institution}, warning: "ltikit session frame ancestor dropped"},
		{name: "hook returning * turns it off",
			opts: []session.Option{session.WithFrameAncestors(func(reg registration.Registration) []string { return []string{"*"} })},
			none: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs syncBuffer
			opts := append([]session.Option{session.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, c.opts...)
			e := newEnv(t, envOpts{opts: opts})
			b := e.browser()
			l := e.launch(b, c.launch...)
			if l.status != http.StatusOK {
				t.Fatalf("launch: %d %s", l.status, l.code)
			}
			if got := l.header.Values("Content-Security-Policy"); len(got) != 0 {
				t.Errorf("Start's response carries Content-Security-Policy %q", got)
			}
			if got := l.header.Get("X-Frame-Options"); got != "" {
				t.Errorf("Start's response carries X-Frame-Options %q", got)
			}
			want := ""
			if !c.none {
				origins := append([]string{originOf(t, e.platform.Issuer())}, c.want...)
				want = "frame-ancestors 'self' " + strings.Join(sorted(origins), " ")
			}
			check := func(what string, r result, status int) {
				t.Helper()
				if r.status != status {
					t.Fatalf("%s: status %d (%s), want %d", what, r.status, r.code, status)
				}
				got := strings.Join(r.header.Values("Content-Security-Policy"), ", ")
				if got != want {
					t.Errorf("%s: Content-Security-Policy %q, want %q", what, got, want)
				}
				if xfo := r.header.Get("X-Frame-Options"); xfo != "" {
					t.Errorf("%s: X-Frame-Options %q", what, xfo)
				}
			}
			check("page", e.get(b, "/grade"), http.StatusOK)
			check("page by bearer", e.withBearer(l.view.Token), http.StatusOK)
			// A cookie-only post without the CSRF token: refused, for a
			// session the manager knows.
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/grade", strings.NewReader("score=1"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			check("csrf refusal", e.do(b, req), http.StatusBadRequest)
			if c.warning != "" {
				check("page again", e.get(b, "/grade"), http.StatusOK)
				if n := strings.Count(logs.String(), c.warning); n == 0 || strings.Count(logs.String(), "level=WARN") != n {
					t.Errorf("log:\n%s", logs.String())
				}
				if strings.Count(logs.String(), "entry=ftp://files.example.edu ") != 1 {
					t.Errorf("an invalid entry is not logged once:\n%s", logs.String())
				}
			}
		})
	}
}

// TestFrameAncestorsUnknownSession: a refusal without a session (no token,
// an unknown token, a malformed one) shows only the refusal, and stays
// frameable by the platform that shows it after an expiry: no
// frame-ancestors, since no launch names the origins to allow.
func TestFrameAncestorsUnknownSession(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, c := range []struct {
		name, path string
		status     int
	}{
		{"no token", "/grade", http.StatusUnauthorized},
		{"unknown token", "/grade?lti_session=" + strings.Repeat("A", 43), http.StatusUnauthorized},
	} {
		r := e.get(e.bare(), c.path)
		if r.status != c.status {
			t.Fatalf("%s: status %d", c.name, r.status)
		}
		if got := r.header.Values("Content-Security-Policy"); len(got) != 0 {
			t.Errorf("%s: Content-Security-Policy %q", c.name, got)
		}
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q", c.name, got)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestFrameAncestorsWithHostPolicy: a host page that sets a
// Content-Security-Policy of its own keeps it, and the frame-ancestors
// policy is added back as a second header, enforced with it.
func TestFrameAncestorsWithHostPolicy(t *testing.T) {
	e := newEnv(t, envOpts{})
	v := e.mustLaunch(e.browser())
	want := "frame-ancestors 'self' " + originOf(t, e.platform.Issuer())
	for _, c := range []struct {
		name  string
		write func(w http.ResponseWriter)
	}{
		{"Set then WriteHeader", func(w http.ResponseWriter) {
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
			w.WriteHeader(http.StatusTeapot)
		}},
		{"Set then Write", func(w http.ResponseWriter) {
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
			w.Write([]byte("page"))
		}},
		{"Del then flush", func(w http.ResponseWriter) {
			w.Header().Del("Content-Security-Policy")
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("flush: %v", err)
			}
		}},
	} {
		h := e.mgr.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.write(w) }))
		req := httptest.NewRequest(http.MethodGet, e.srv.URL+"/page", nil)
		req.Header.Set("Authorization", "Bearer "+v.Token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Result().Header.Values("Content-Security-Policy")
		if len(got) != 2 || got[0] != "default-src 'none'" || got[1] != want {
			t.Errorf("%s: Content-Security-Policy %q, want the host's and %q", c.name, got, want)
		}
	}
}
