package main

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

// Sessions: what the pages after a launch (send a grade, roster) know of it.
//
// A successful launch starts a session: a record in this process's memory
// under a random id, which the browser holds in an HttpOnly, Secure,
// SameSite=None cookie (the launch is a cross-site form post from the
// platform, and the tool usually runs in the platform's iframe, so a Lax
// cookie would not come back). The record holds no token and no key, only
// what the follow-up pages need: the registration's key, the user, the roles
// and the service claims. Every new launch in the browser replaces the
// session.
//
// In memory, sessions are lost on restart and seen by one node only: a
// deployment on several nodes behind a load balancer would keep them in the
// shared database instead (one row per id with an expiry, read on each
// request, deleted by a sweeper), as the launch's own state and nonces are.
const (
	sessionCookie = "demo_tool_session"
	// sessionTTL is how long a session lasts after its launch.
	sessionTTL = time.Hour
	// maxSessions bounds the sessions kept; past it, the ones expiring
	// first are dropped.
	maxSessions = 10000
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

// startSession stores a session for the launch and sets its cookie.
func (a *app) startSession(c echo.Context, lc *launch.Context) *session {
	s := newSession(lc)
	id := a.sessions.put(s)
	c.SetCookie(&http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteNoneMode,
	})
	return s
}

// currentSession returns the request's session, or nil after answering a
// page that says why there is none.
func (a *app) currentSession(c echo.Context) *session {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if s, ok := a.sessions.get(ck.Value); ok {
			return s
		}
	}
	writeErrorPageFull(c.Response(), c.Request(), "No launch", http.StatusUnauthorized, "no_session",
		"this page needs a launch first",
		"Open it from the tool's page after a launch from the platform. A session lasts an hour, is kept in "+
			"this server's memory (a restart ends it), and needs the browser to accept the tool's cookie.")
	return nil
}

// memStore keeps short-lived records in memory under random ids: the
// sessions and the pending deep linking requests. It is safe for
// concurrent use, and every operation is O(1) amortised: records expire in
// the order they were put (one TTL for all), so a queue in that order
// finds the expired and the oldest ones.
type memStore[T any] struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	now     func() time.Time
	entries map[string]memEntry[T]
	order   []queued // ids by expiry; ids taken since are skipped
}

type memEntry[T any] struct {
	v       T
	expires time.Time
}

type queued struct {
	id      string
	expires time.Time
}

func newMemStore[T any](ttl time.Duration, max int) *memStore[T] {
	return &memStore[T]{ttl: ttl, max: max, now: time.Now, entries: map[string]memEntry[T]{}}
}

// put stores v for the store's TTL under a new random id (128 bits) and
// returns the id. Expired records are dropped; past the bound, the oldest.
func (s *memStore[T]) put(v T) string {
	id := rand.Text()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for len(s.order) > 0 {
		q := s.order[0]
		e, live := s.entries[q.id]
		live = live && e.expires.Equal(q.expires)
		if live && now.Before(q.expires) && len(s.entries) < s.max {
			break
		}
		if live {
			delete(s.entries, q.id)
		}
		s.order = s.order[1:]
	}
	if len(s.order) > 64 && len(s.order) > 2*len(s.entries) {
		// Mostly ids taken since: compact.
		s.order = slices.DeleteFunc(slices.Clone(s.order), func(q queued) bool {
			e, ok := s.entries[q.id]
			return !ok || !e.expires.Equal(q.expires)
		})
	}
	s.enqueueLocked(id, v, now.Add(s.ttl))
	return id
}

func (s *memStore[T]) enqueueLocked(id string, v T, expires time.Time) {
	s.entries[id] = memEntry[T]{v: v, expires: expires}
	s.order = append(s.order, queued{id, expires})
}

// get returns the record id names, if it has not expired.
func (s *memStore[T]) get(id string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok || !s.now().Before(e.expires) {
		var zero T
		return zero, false
	}
	return e.v, true
}

// take removes the record id names and returns it, if it has not expired:
// of concurrent takes of one id, exactly one succeeds.
func (s *memStore[T]) take(id string) (T, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	delete(s.entries, id)
	if !ok || !s.now().Before(e.expires) {
		var zero T
		return zero, time.Time{}, false
	}
	return e.v, e.expires, true
}

// restore puts back a record take returned, with its expiry, after the use
// it was taken for failed.
func (s *memStore[T]) restore(id string, v T, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueueLocked(id, v, expires)
}
