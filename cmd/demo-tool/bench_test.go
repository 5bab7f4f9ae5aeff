package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/echolti"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/session"
)

// BenchmarkSandboxLaunch is a complete instructor launch through the Echo
// application on SQLite, as a browser does it: login initiation, the
// sandbox's id_token (its RSA signing included), the launch post and the
// HTML launch page. cmd/ltibench measures the same over real HTTP against
// the binary; this one is for profiles (go test -cpuprofile).
func BenchmarkSandboxLaunch(b *testing.B) {
	a, _ := newTestApp(b)
	ctx := b.Context()
	for b.Loop() {
		resp, err := a.sandbox.Launch(ctx, ltitest.NewBrowser())
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkLaunchPage is the launch page alone: the HTML page of a sandbox
// instructor launch (as sessions.Start hands it to showLaunch), rendered
// again and again from the same launch and session, without the login,
// the validation or the database.
func BenchmarkLaunchPage(b *testing.B) {
	a, _ := newTestApp(b)
	var l *launch.Launch
	var s *session.Session
	// The launch route again, with a handler that keeps what Start passes.
	a.echo.POST(pathLaunch, func(c echo.Context) error {
		var err error
		l, s, err = current(c)
		if err != nil {
			return err
		}
		return a.showLaunch(c)
	}, echolti.LaunchMiddleware(a.tool), echolti.Middleware(a.sessions.Start))
	resp, err := a.sandbox.Launch(b.Context(), ltitest.NewBrowser())
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || l == nil {
		b.Fatalf("status %d", resp.StatusCode)
	}
	req := httptest.NewRequestWithContext(b.Context(), http.MethodPost, pathLaunch, nil)
	req.Header.Set("Accept", "text/html")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		if err := a.renderLaunch(a.echo.NewContext(req, rec), l, s); err != nil || rec.Code != http.StatusOK {
			b.Fatalf("%d %v", rec.Code, err)
		}
	}
}
