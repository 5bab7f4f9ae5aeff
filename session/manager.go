package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

// Config holds the required dependencies of a Manager.
type Config struct {
	// Store keeps the sessions. Required.
	Store Store
	// Tool is the launch.Tool whose launches the sessions continue:
	// Require rebuilds each request's launch with Tool.Resume. Required.
	Tool *launch.Tool
	// BaseURL is the tool's absolute base URL, as in launch.Config.
	// Required. The cookie is Secure, Path=/, no Domain, SameSite=None and
	// Partitioned, so it works inside the platform's iframe; with https it
	// is __Host-ltikit_session. With http it is ltikit_session, still
	// Secure, as the launch's state cookie: browsers keep it on localhost
	// and 127.0.0.1 (local development) and drop it elsewhere, where the
	// token in URLs and forms carries the session.
	BaseURL string
}

// Defaults of a Manager.
const (
	// DefaultIdleTimeout is how long a session lasts unused.
	DefaultIdleTimeout = 30 * time.Minute
	// DefaultMaxLifetime is how long a session lasts after its launch,
	// however busy.
	DefaultMaxLifetime = 2 * time.Hour
	// DefaultMaxFormBytes bounds the form body Require reads to find the
	// session or CSRF token.
	DefaultMaxFormBytes = 256 << 10
)

// hostPrefix is the cookie name prefix browsers reserve for cookies that
// are Secure, have Path=/ and no Domain (RFC 6265bis §4.1.3.2).
const hostPrefix = "__Host-"

// Option tunes a Manager.
type Option func(*options)

type options struct {
	idle         time.Duration
	max          time.Duration
	now          func() time.Time
	logger       *slog.Logger
	partitioned  bool
	cookieName   string
	errorHandler func(w http.ResponseWriter, r *http.Request, err *lti.Error)
	maxForm      int64
	// frameAncestors adds origins that may frame Require's pages.
	frameAncestors func(reg registration.Registration) []string
}

// WithIdleTimeout sets how long a session lasts without a request (default
// 30 minutes). It is capped at the maximum lifetime.
func WithIdleTimeout(d time.Duration) Option { return func(o *options) { o.idle = d } }

// WithMaxLifetime sets how long a session lasts after its launch, however
// busy (default 2 hours). It is also the cookie's Max-Age.
func WithMaxLifetime(d time.Duration) Option { return func(o *options) { o.max = d } }

// WithClock sets the clock that dates sessions and judges their expiry
// (default time.Now). A nil clock is ignored. The store judges expiry with
// its own clock as well; give both the same one.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithLogger sets the logger of refused requests and store failures
// (default: none). It never receives a token, a CSRF token or a claim.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithPartitionedCookie sets whether an https session cookie carries the
// Partitioned attribute (CHIPS; default true): browsers that block
// third-party cookies keep a partitioned cookie for the pair (platform
// site, tool site), so the session cookie works inside the platform's
// iframe.
func WithPartitionedCookie(on bool) Option { return func(o *options) { o.partitioned = on } }

// WithCookieName sets the session cookie's name (default ltikit_session);
// with an https BaseURL it gets the __Host- prefix unless it has it.
func WithCookieName(name string) Option { return func(o *options) { o.cookieName = name } }

// WithErrorHandler replaces how Start and Require render a refusal (default
// launch.WriteError). A nil handler is ignored.
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err *lti.Error)) Option {
	return func(o *options) {
		if h != nil {
			o.errorHandler = h
		}
	}
}

// WithMaxFormBytes bounds the form body Require reads when it looks for the
// session token or the CSRF token in a form (default 256 KiB); a larger
// body is refused as invalid_request. Raise it for forms that upload files.
func WithMaxFormBytes(n int64) Option { return func(o *options) { o.maxForm = n } }

// Manager starts launch sessions and finds them on the requests that
// follow. Create it with [New]; it is safe for concurrent use.
type Manager struct {
	store        Store
	tool         *launch.Tool
	origin       *url.URL
	cookieName   string
	partitioned  bool
	idle, max    time.Duration
	now          func() time.Time
	logger       *slog.Logger
	errorHandler func(w http.ResponseWriter, r *http.Request, err *lti.Error)
	maxForm      int64
	frameHook    func(reg registration.Registration) []string
	frameLog     frameLog
}

// New returns a Manager. cfg.Store, cfg.Tool and cfg.BaseURL are required;
// durations and the form limit must be positive, and the maximum lifetime
// at least a second.
func New(cfg Config, opts ...Option) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("session: Config.Store is nil")
	}
	if cfg.Tool == nil {
		return nil, errors.New("session: Config.Tool is nil")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("session: Config.BaseURL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	o := options{
		idle:         DefaultIdleTimeout,
		max:          DefaultMaxLifetime,
		now:          time.Now,
		logger:       slog.New(slog.DiscardHandler),
		partitioned:  true,
		cookieName:   DefaultCookieName,
		errorHandler: launch.WriteError,
		maxForm:      DefaultMaxFormBytes,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.idle <= 0 || o.max < time.Second || o.maxForm <= 0 {
		return nil, errors.New("session: the idle timeout and form limit must be positive, the maximum lifetime at least a second")
	}
	if o.cookieName == "" {
		return nil, errors.New("session: empty cookie name")
	}
	secure := base.Scheme == "https"
	name := o.cookieName
	if secure && !strings.HasPrefix(name, hostPrefix) {
		name = hostPrefix + name
	}
	if !secure && (strings.HasPrefix(name, hostPrefix) || strings.HasPrefix(name, "__Secure-")) {
		return nil, fmt.Errorf("session: cookie name %q needs an https BaseURL", name)
	}
	if (&http.Cookie{Name: name, Value: "x"}).Valid() != nil {
		return nil, fmt.Errorf("session: %q is not a valid cookie name", o.cookieName)
	}
	return &Manager{
		store:        cfg.Store,
		tool:         cfg.Tool,
		origin:       &url.URL{Scheme: base.Scheme, Host: base.Host},
		cookieName:   name,
		partitioned:  o.partitioned,
		idle:         min(o.idle, o.max),
		max:          o.max,
		now:          o.now,
		logger:       o.logger,
		errorHandler: o.errorHandler,
		maxForm:      o.maxForm,
		frameHook:    o.frameAncestors,
	}, nil
}

// CookieName is the session cookie's name, prefix included.
func (m *Manager) CookieName() string { return m.cookieName }

// Start starts a launch session. Use it as the next handler of
// launch.Tool.LaunchHandler: it reads the launch with launch.FromContext,
// stores one [Record] for it (one PutSession, the only write), sets the
// session cookie, puts the [Session] in the request context and calls next,
// which renders the tool's first page with the session's URL and form
// helpers.
//
// A launch always starts a new session: a session the request still
// carries (its cookie, a Bearer token or an lti_session parameter) is
// deleted first. A store failure is answered storage_unavailable (503) by
// the error handler, and next is not called. Start without a launch in the
// context is a wiring fault of the host, answered as storage_unavailable
// too, with the description "the tool could not start a launch session"
// and an error in the log.
func (m *Manager) Start(next http.Handler) http.Handler {
	if next == nil {
		panic("session: Start(nil)")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w)
		lc, ok := launch.FromContext(r.Context())
		if !ok {
			m.refuse(w, r, "start", errStart.WithCause(errNoLaunch), "no launch in the request context")
			return
		}
		ctx := r.Context()
		for _, tok := range m.presented(r) {
			if err := m.store.DeleteSession(ctx, IDOf(tok)); err != nil {
				m.refuse(w, r, "start", storageErr("delete the earlier session", err), "store")
				return
			}
		}
		s, err := m.create(ctx, lc)
		if err != nil {
			m.refuse(w, r, "start", err, "store")
			return
		}
		http.SetCookie(w, m.cookie(s.token, int(m.max/time.Second)))
		next.ServeHTTP(w, r.WithContext(newContext(ctx, s)))
	})
}

// create stores a new session for lc.
func (m *Manager) create(ctx context.Context, lc *launch.Launch) (*Session, *lti.Error) {
	token, err := newToken()
	if err != nil {
		return nil, storageErr("start", err)
	}
	csrf, err := newToken()
	if err != nil {
		return nil, storageErr("start", err)
	}
	now := m.now()
	rec := Record{
		ID:            IDOf(token),
		Issuer:        lc.Registration.Issuer,
		ClientID:      lc.Registration.ClientID,
		DeploymentID:  lc.DeploymentID(),
		Subject:       lc.Subject(),
		Claims:        lc.RawClaims(),
		CSRF:          csrf,
		CreatedAt:     now,
		IdleExpiresAt: now.Add(m.idle),
		ExpiresAt:     now.Add(m.max),
	}
	if err := m.store.PutSession(ctx, rec); err != nil {
		return nil, storageErr("put", err)
	}
	return &Session{token: token, csrf: csrf, expiresAt: rec.ExpiresAt, lc: lc, origin: m.origin}, nil
}

// maxPresented bounds the earlier sessions a launch deletes.
const maxPresented = 5

// presented returns the well-formed tokens a request carries anywhere, for
// Start and End: the Bearer token, lti_session in a form the launch
// already parsed and in the query, and the session cookies. It reads no
// body.
func (m *Manager) presented(r *http.Request) []string {
	var out []string
	add := func(tok string) {
		if len(out) == maxPresented || !wellFormed(tok) {
			return
		}
		for _, t := range out {
			if t == tok {
				return
			}
		}
		out = append(out, tok)
	}
	if tok, ok := bearer(r.Header); ok {
		add(tok)
	}
	for _, tok := range r.PostForm[ParamName] {
		add(tok)
	}
	for _, tok := range r.URL.Query()[ParamName] {
		add(tok)
	}
	for _, c := range r.CookiesNamed(m.cookieName) {
		add(c.Value)
	}
	return out
}

// Require is the middleware of the pages after a launch. It finds the
// request's session token — the Authorization header's Bearer token; else
// the lti_session parameter, in the query on GET and HEAD and in a form
// body on other methods; else the session cookie — and looks its session
// up. The first of these sources that is present decides; a token in the
// query of any other method than GET and HEAD is refused (invalid_request,
// 400). A form body (application/x-www-form-urlencoded or
// multipart/form-data) is read only when the token or the CSRF token must
// come from it, bounded by [WithMaxFormBytes]; the handler then finds the
// form in r.PostForm (and r.MultipartForm), not in r.Body.
//
// A request authenticated by the cookie alone with a method other than
// GET, HEAD and OPTIONS must also present the session's CSRF token, in the
// X-CSRF-Token header or the csrf_token form field (compared in constant
// time), or it is refused as invalid_request (400): the cookie is
// SameSite=None, so a cross-site form would carry it too. A Bearer token
// or an lti_session field is a secret another site's page does not know,
// so those requests need no CSRF token.
//
// Then it rebuilds the launch with launch.Tool.Resume, so launch.FromContext
// returns it (with the host's own registration and deployment values) and
// [FromContext] the Session, and calls next. Every response passing
// through carries Cache-Control: no-store and Referrer-Policy: same-origin,
// since tokens travel in URLs.
//
// Framing: every response of a known session — the pages Require lets
// through and its refusals after finding the session (a missing CSRF
// token) — carries Content-Security-Policy: frame-ancestors 'self' and the
// origins the launch came from, so that no other site can frame the
// tool's pages and clickjack them: the http(s) origins of the
// registration's issuer and auth endpoint, of the launch's
// launch_presentation return_url and deep_link_return_url (signed by the
// platform: its own statement of where it shows the tool, e.g. a Canvas
// institution's domain), and the host's own per registration
// ([WithFrameAncestors], which can also turn it off), de-duplicated and
// sorted. It is a policy of its own: when next sets a
// Content-Security-Policy of its own (replacing the header), Require adds
// the frame-ancestors policy back as a second header before the response
// is written, and browsers enforce both — so a frame-ancestors in the
// host's policy can only narrow the list, and must stay consistent with
// it. (next writes through a wrapper of w that supports
// http.ResponseController, Flush and Hijack.) A refusal
// without a known session (no token, an unknown, expired or malformed
// one) carries none: it shows nothing but the refusal, no launch names the
// origins to allow, and the platform's frame must still show it after an
// expiry. X-Frame-Options is not set: it cannot list several origins
// (ALLOW-FROM is obsolete), and every browser that honours it also honours
// frame-ancestors, which takes precedence. Start's response carries no
// frame-ancestors, so the launch page keeps working in any frame the
// platform uses.
//
// Idle expiry: when less than half the idle timeout is left, Require moves
// the session's idle expiry to a full idle timeout from now (never past its
// absolute expiry) with one TouchSession; a page requested more often than
// that costs the store one read and no write.
//
// No token, a malformed token, or an unknown, expired or ended session is
// [ErrNoSession] (401); a registration or deployment removed since the
// launch is the launch's unknown_registration or unknown_deployment; a
// store failure is storage_unavailable (503). next is not called then.
func (m *Manager) Require(next http.Handler) http.Handler {
	if next == nil {
		panic("session: Require(nil)")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w)
		s, lc, e, reason := m.resume(w, r)
		policy := ""
		if lc != nil {
			policy = m.setFrameAncestors(w, r, lc)
		}
		if e != nil {
			m.refuse(w, r, "request", e, reason)
			return
		}
		if policy != "" {
			w = &frameWriter{ResponseWriter: w, policy: policy}
		}
		ctx := newContext(launch.NewContext(r.Context(), s.lc), s)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// resume finds and checks the request's session and rebuilds its launch.
// On refusal it returns the error and a short reason for the log, and the
// rebuilt launch when the refusal comes after it (a missing or wrong CSRF
// token, a store failure while touching the session).
func (m *Manager) resume(w http.ResponseWriter, r *http.Request) (*Session, *launch.Launch, *lti.Error, string) {
	toks, src, e := tokensFrom(w, r, m.cookieName, m.maxForm)
	if e != nil {
		return nil, nil, e, "token in " + src.String()
	}
	if len(toks) == 0 {
		return nil, nil, ErrNoSession, "no token"
	}
	ctx := r.Context()
	now := m.now()
	var (
		rec   Record
		token string
	)
	for _, tok := range toks {
		id := IDOf(tok)
		got, err := m.store.GetSession(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrExpired):
			continue
		case err != nil:
			return nil, nil, storageErr("get", err), "store"
		case got.ID != id:
			return nil, nil, storageErr("get", errors.New("the store returned a record under another id")), "store"
		case got.Expired(now):
			continue
		}
		rec, token = got, tok
		break
	}
	if token == "" {
		return nil, nil, ErrNoSession, "unknown or expired session (" + src.String() + ")"
	}
	// The launch is rebuilt before the CSRF check, so that the refusal of
	// a known session carries that session's frame-ancestors.
	lc, err := m.tool.Resume(ctx, registration.Key{Issuer: rec.Issuer, ClientID: rec.ClientID}, rec.Claims)
	if err != nil {
		return nil, nil, lti.AsError(err), "resume"
	}
	if lc.DeploymentID() != rec.DeploymentID || lc.Subject() != rec.Subject {
		return nil, nil, storageErr("get", errors.New("the stored claims do not match the record")), "store"
	}
	if src == fromCookie && !safeMethod(r.Method) {
		csrf, err := csrfFrom(w, r, m.maxForm)
		if err != nil {
			return nil, lc, errBadForm.WithCause(err), "form"
		}
		if rec.CSRF == "" || subtle.ConstantTimeCompare([]byte(csrf), []byte(rec.CSRF)) != 1 {
			return nil, lc, errCSRF, "csrf token missing or wrong"
		}
	}
	if rec.IdleExpiresAt.Sub(now) < m.idle/2 {
		until := now.Add(m.idle)
		if until.After(rec.ExpiresAt) {
			until = rec.ExpiresAt
		}
		if until.After(rec.IdleExpiresAt) {
			err := m.store.TouchSession(ctx, rec.ID, until)
			switch {
			case errors.Is(err, ErrNotFound), errors.Is(err, ErrExpired):
				return nil, nil, ErrNoSession, "session ended during the request"
			case err != nil:
				return nil, lc, storageErr("touch", err), "store"
			}
		}
	}
	return &Session{token: token, csrf: rec.CSRF, expiresAt: rec.ExpiresAt, lc: lc, origin: m.origin}, lc, nil, ""
}

// Revoke ends the session of token at once, on every node that shares the
// store: the next request with it is refused. A token that names no
// session (unknown, expired, malformed) is not an error. A store failure
// is an error matching lti.ErrStorageUnavailable.
func (m *Manager) Revoke(ctx context.Context, token string) error {
	if !wellFormed(token) {
		return nil
	}
	if err := m.store.DeleteSession(ctx, IDOf(token)); err != nil {
		return storageErr("revoke", err)
	}
	return nil
}

// End ends the request's session — the one Require put in the context, or
// else the one the request presents (cookie, Bearer token, lti_session in
// the query or an already parsed form) — with [Manager.Revoke], and clears
// the session cookie. The caller writes the response. Call it from a
// handler behind Require, so that a cross-site form cannot end a session
// (Require checks its CSRF token). The error is Revoke's; the cookie is
// cleared either way.
func (m *Manager) End(w http.ResponseWriter, r *http.Request) error {
	var toks []string
	if s, ok := FromContext(r.Context()); ok {
		toks = []string{s.token}
	} else {
		toks = m.presented(r)
	}
	http.SetCookie(w, m.cookie("", -1))
	for _, tok := range toks {
		if err := m.Revoke(r.Context(), tok); err != nil {
			return err
		}
	}
	return nil
}

// cookie builds the session cookie; maxAge < 0 deletes it. It is always
// Secure and SameSite=None, as the launch's state cookie: the tool runs in
// the platform's frame, another site, where a Lax cookie is never sent.
// Browsers keep Secure cookies of http://localhost and http://127.0.0.1
// (local development); over plain http elsewhere the cookie is dropped and
// the token in links and forms carries the session.
func (m *Manager) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:        m.cookieName,
		Value:       value,
		Path:        "/",
		MaxAge:      maxAge,
		HttpOnly:    true,
		Secure:      true,
		SameSite:    http.SameSiteNoneMode,
		Partitioned: m.partitioned,
	}
}

// setHeaders marks a response as one that may carry tokens: never cached,
// and no full URL in the Referer of requests to other origins.
func setHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "same-origin")
}

// refuse logs a refusal and renders it. Only store failures carry their
// cause into the log: other causes may quote request input or claims.
func (m *Manager) refuse(w http.ResponseWriter, r *http.Request, stage string, e *lti.Error, reason string) {
	attrs := []slog.Attr{slog.String("code", string(e.Code())), slog.String("reason", reason)}
	level := slog.LevelInfo
	if e.Code() == lti.CodeStorageUnavailable {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", e.Error()))
	}
	m.logger.LogAttrs(r.Context(), level, "ltikit session "+stage+" refused", attrs...)
	m.errorHandler(w, r, e)
}
