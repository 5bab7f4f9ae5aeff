package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/session"
)

// Launch sessions: what ties the pages after a launch (send a grade, the
// roster, the deep linking picker's answer) to the launch they belong to.
//
// They are ltikit's package session, over the demo tool's database (the
// GORM adapter's table ltikit_launch_sessions): every successful launch
// stores one session row (sessions.Start, behind the launch handler), and
// every later page runs behind sessions.Require, which finds the session,
// rebuilds the launch (launch.FromContext works there as in the launch,
// with the registration looked up again through --lookup-cache) and checks
// the CSRF token of cookie-only posts. The browser holds the session three
// ways, so that whichever survives its cookie policy in the platform's
// iframe carries it: the session cookie (Partitioned unless
// --partitioned-cookies=false), lti_session=<token> in every link of the
// tool's pages (Session.URL), and hidden lti_session and csrf_token fields
// in every form (Session.FormFields). Any node sharing the database serves
// the later pages, and a restart keeps the sessions. Those pages may be
// framed only by the launch's platform (sessions.Require adds a
// Content-Security-Policy frame-ancestors of the issuer's, auth
// endpoint's and return URLs' origins, next to the pages' own policy):
// the sandbox's course page frames them, another site cannot.
const (
	// sessionIdle is how long a session lasts unused.
	sessionIdle = session.DefaultIdleTimeout
	// sessionMax is how long a session lasts after its launch, however
	// busy.
	sessionMax = session.DefaultMaxLifetime
)

// newSessions makes the launch session manager over the demo tool's
// database, rendering its refusals with the tool's error pages.
func (a *app) newSessions() (*session.Manager, error) {
	return session.New(session.Config{Store: a.store, Tool: a.tool, BaseURL: a.cfg.BaseURL},
		session.WithIdleTimeout(sessionIdle), session.WithMaxLifetime(sessionMax),
		session.WithLogger(a.log), session.WithErrorHandler(a.renderSessionError),
		session.WithPartitionedCookie(!a.cfg.UnpartitionedCookies))
}

// current returns the launch and the session that sessions.Require (or
// Start) put in the request context. Routes behind them always have both;
// without them the route is wired wrong, and the request fails with 500.
func current(c echo.Context) (*launch.Launch, *session.Session, error) {
	ctx := c.Request().Context()
	l, ok := launch.FromContext(ctx)
	s, ok2 := session.FromContext(ctx)
	if !ok || !ok2 {
		return nil, nil, fmt.Errorf("demo-tool: %s %s runs without a launch session", c.Request().Method, c.Path())
	}
	return l, s, nil
}

// staff reports whether the launch's user teaches or administers the
// context: who may read the roster and grade others.
func staff(l *launch.Launch) bool {
	r := l.Roles()
	return r.IsInstructor() || r.IsTeachingAssistant() || r.IsAdmin()
}

// viewer is who a page after the launch serves, as the restored launch
// says.
type viewer struct {
	Name, Sub, ContextTitle, ResourceLinkTitle string
	Staff                                      bool
}

func viewerOf(l *launch.Launch) viewer {
	v := viewer{Name: l.Claims.Name, Sub: l.Subject(), Staff: staff(l)}
	if ctx := l.Claims.Context; ctx != nil {
		v.ContextTitle = ctx.Title
	}
	if rl := l.Claims.ResourceLink; rl != nil {
		v.ResourceLinkTitle = rl.Title
	}
	return v
}

// humanDuration writes d as "30 minutes" or "2 hours".
func humanDuration(d time.Duration) string {
	unit, n := "minute", int(d/time.Minute)
	if d >= time.Hour && d%time.Hour == 0 {
		unit, n = "hour", int(d/time.Hour)
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// noSessionHint is what the page of a request without a usable session
// says to do.
var noSessionHint = "This page belongs to a launch: start the tool again from the platform and use the links and forms " +
	"of the page it opens. A launch session lasts " + humanDuration(sessionIdle) + " unused and " +
	humanDuration(sessionMax) + " at most; a newer launch of the tool in this browser may have ended it."

// formHint is what the page of a refused form post says to do.
const formHint = "The form did not carry this launch session's tokens: open the page again from the tool's launch page and send it from there."

// renderSessionError renders a refusal of the session manager: JSON for
// JSON clients, otherwise the tool's error page with a hint. A request
// without a usable session is 401 no_session (session.ErrNoSession), a
// form without the session's tokens 400 invalid_request, a store failure
// 503 storage_unavailable.
func (a *app) renderSessionError(w http.ResponseWriter, r *http.Request, e *lti.Error) {
	if prefersJSON(r) {
		launch.WriteError(w, r, e)
		return
	}
	heading, hint := "Request refused", errorHints[e.Code()]
	switch {
	case errors.Is(e, session.ErrNoSession):
		heading, hint = "No launch session", noSessionHint
	case e.Code() == lti.CodeInvalidRequest:
		hint = formHint
	}
	writeErrorPageFull(w, r, heading, e.Status(), string(e.Code()), e.Description(), hint)
}

// writeStorageError answers a request whose deep linking record could not
// be read or written: 503 storage_unavailable, as the launch pipeline and
// the session manager answer a storage failure.
func (a *app) writeStorageError(c echo.Context, err error) {
	a.log.ErrorContext(c.Request().Context(), "demo-tool storage failed", slog.String("error", err.Error()))
	a.writeSessionErrorPage(c.Response(), c.Request(), "Storage unavailable", http.StatusServiceUnavailable,
		string(lti.CodeStorageUnavailable), "the tool's database is unavailable; try again shortly", "")
}
