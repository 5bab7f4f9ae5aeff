package main

import (
	"crypto/rand"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

// Sessions: what the pages after a launch (send a grade, roster) know of it.
//
// A successful launch starts a session: a record in the shared database
// (records.go) under a random id, which the browser holds in an HttpOnly,
// Secure, SameSite=None cookie (the launch is a cross-site form post from
// the platform, and the tool usually runs in the platform's iframe, so a
// Lax cookie would not come back). The record holds no token and no key,
// only what the follow-up pages need: the registration's key, the user,
// the roles and the service claims. Every new launch in the browser
// replaces the session. Any node sharing the database serves the
// follow-up pages, and a restart keeps the sessions. A launch without
// service claims (no AGS, no NRPS) has no follow-up page to serve, so it
// stores nothing and clears the cookie: it costs the database only the
// launch's own two statements.
const (
	sessionCookie = "demo_tool_session"
	// sessionTTL is how long a session lasts after its launch.
	sessionTTL = time.Hour
)

// session is the launch context the follow-up pages use.
type session struct {
	Registration      registration.Key
	DeploymentID      string
	Sub               string // empty for an anonymous launch
	Name              string
	Roles             lti.Roles
	ContextTitle      string
	ResourceLinkID    string
	ResourceLinkTitle string
	AGS               *lti.AGSEndpoint  // nil: the launch had no AGS claim
	NRPS              *lti.NRPSEndpoint // nil: the launch had no NRPS claim
	// CSRF is the token the session's forms carry: the cookie is
	// SameSite=None, so another site's form would send it too.
	CSRF string
}

func newSession(lc *launch.Context) *session {
	c := lc.Claims
	s := &session{
		Registration: lc.Registration.Key(),
		DeploymentID: lc.DeploymentID(),
		Sub:          lc.Subject(),
		Name:         c.Name,
		Roles:        lc.Roles(),
		AGS:          c.AGS,
		NRPS:         c.NRPS,
		CSRF:         rand.Text(),
	}
	if c.Context != nil {
		s.ContextTitle = c.Context.Title
	}
	if c.ResourceLink != nil {
		s.ResourceLinkID, s.ResourceLinkTitle = c.ResourceLink.ID, c.ResourceLink.Title
	}
	return s
}

// staff reports whether the session's user teaches or administers the
// context: who may read the roster and grade others.
func (s *session) staff() bool {
	return s.Roles.IsInstructor() || s.Roles.IsTeachingAssistant() || s.Roles.IsAdmin()
}

// checkCSRF reports whether the form's token is the session's.
func (s *session) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// startSession makes the launch's session and, when the launch carries a
// service claim, stores it and sets its cookie; otherwise it clears the
// cookie of an earlier launch.
func (a *app) startSession(c echo.Context, lc *launch.Context) (*session, error) {
	s := newSession(lc)
	ck := &http.Cookie{
		Name:     sessionCookie,
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteNoneMode,
	}
	if s.AGS != nil || s.NRPS != nil {
		id, err := a.sessions.put(c.Request().Context(), s)
		if err != nil {
			return nil, err
		}
		ck.Value, ck.MaxAge = id, int(sessionTTL/time.Second)
	}
	c.SetCookie(ck)
	return s, nil
}

// currentSession returns the request's session, or nil after answering a
// page that says why there is none.
func (a *app) currentSession(c echo.Context) *session {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		s, ok, err := a.sessions.get(c.Request().Context(), ck.Value)
		if err != nil {
			a.writeStorageError(c, err)
			return nil
		}
		if ok {
			return s
		}
	}
	writeErrorPageFull(c.Response(), c.Request(), "No launch", http.StatusUnauthorized, "no_session",
		"this page needs a launch with LTI Advantage services first",
		"Open it from the tool's page after a launch from the platform that carries an Assignment and Grade "+
			"Services or a Names and Role Provisioning Services claim. A session lasts an hour and needs the "+
			"browser to accept the tool's cookie.")
	return nil
}

// writeStorageError answers a request whose session or deep linking
// record could not be read or written: 503 storage_unavailable, as the
// launch pipeline answers a storage failure.
func (a *app) writeStorageError(c echo.Context, err error) {
	a.log.ErrorContext(c.Request().Context(), "session storage failed", slog.String("error", err.Error()))
	writeErrorPageFull(c.Response(), c.Request(), "Storage unavailable", http.StatusServiceUnavailable,
		string(lti.CodeStorageUnavailable), "the tool's database is unavailable; try again shortly", "")
}
