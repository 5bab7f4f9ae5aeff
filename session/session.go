package session

import (
	"context"
	"html"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/ltikit/ltikit/launch"
)

// Names under which a request carries its session and CSRF token.
const (
	// ParamName is the query parameter (GET and HEAD) or form field (any
	// other method) that carries the session token: what [Session.URL]
	// and [Session.FormFields] add.
	ParamName = "lti_session"
	// CSRFFieldName is the form field that carries the CSRF token.
	CSRFFieldName = "csrf_token"
	// CSRFHeader is the request header that carries the CSRF token, for
	// scripts.
	CSRFHeader = "X-CSRF-Token"
	// DefaultCookieName is the session cookie's name; with an https
	// BaseURL it is sent as "__Host-ltikit_session".
	DefaultCookieName = "ltikit_session"
)

// Session is the launch session of a request: the token that names it, its
// CSRF token, and the launch it belongs to. Start and Require put it in the
// request context; read it with [FromContext]. Its methods give the host
// what to put in its pages so that the next request finds the session
// without a cookie.
type Session struct {
	token     string
	csrf      string
	expiresAt time.Time
	lc        *launch.Launch
	origin    *url.URL // scheme and host of the Manager's BaseURL
}

// Token is the session token: the secret that names the session. Send it
// as "Authorization: Bearer <token>" from scripts. Never log it.
func (s *Session) Token() string { return s.token }

// CSRFToken is the session's CSRF token: forms and scripts that rely on
// the session cookie send it in the csrf_token field or the X-CSRF-Token
// header.
func (s *Session) CSRFToken() string { return s.csrf }

// ExpiresAt is when the session ends however busy it is (its absolute
// expiry); it ends sooner if left unused for the idle timeout.
func (s *Session) ExpiresAt() time.Time { return s.expiresAt }

// Launch is the launch the session belongs to, as launch.FromContext also
// returns it.
func (s *Session) Launch() *launch.Launch { return s.lc }

// URL returns rawURL with lti_session=<token> in its query (replacing any
// lti_session already there; the rest of the URL is kept as written), for
// links and GET requests of the tool's pages. Only URLs of the tool itself
// get the token: relative URLs and absolute URLs with the scheme and host
// of the Manager's BaseURL. Any other URL, and one that does not parse, or
// that a browser could read otherwise (a backslash, a control character,
// leading or trailing space), is returned unchanged, so the token never
// leaves the tool. Responses of Start and Require carry Referrer-Policy: same-origin,
// so the URL is not sent to other sites as a referrer either. Forms that
// POST use [Session.FormFields] instead: a token in the query of a POST is
// refused.
func (s *Session) URL(rawURL string) string {
	if !s.ownURL(rawURL) {
		return rawURL
	}
	rest, frag, hasFrag := strings.Cut(rawURL, "#")
	path, query, _ := strings.Cut(rest, "?")
	var b strings.Builder
	b.WriteString(path)
	b.WriteByte('?')
	for part := range strings.SplitSeq(query, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); k == ParamName || (err == nil && uk == ParamName) {
			continue
		}
		b.WriteString(part)
		b.WriteByte('&')
	}
	b.WriteString(ParamName)
	b.WriteByte('=')
	b.WriteString(s.token)
	if hasFrag {
		b.WriteByte('#')
		b.WriteString(frag)
	}
	return b.String()
}

// ownURL reports whether raw points at the tool itself.
func (s *Session) ownURL(raw string) bool {
	if raw != strings.TrimSpace(raw) || strings.ContainsFunc(raw, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil {
		return false
	}
	if u.Scheme == "" && u.Host == "" {
		return true
	}
	return s.origin != nil && strings.EqualFold(u.Scheme, s.origin.Scheme) && strings.EqualFold(u.Host, s.origin.Host)
}

// FormFields returns the hidden inputs a form of the tool's pages carries:
// the session token (lti_session) and the CSRF token (csrf_token). A form
// with them works whether or not the browser sends the session cookie. Use
// it in an html/template as {{.Session.FormFields}} inside the form.
func (s *Session) FormFields() template.HTML {
	return template.HTML(`<input type="hidden" name="` + ParamName + `" value="` + html.EscapeString(s.token) +
		`"><input type="hidden" name="` + CSRFFieldName + `" value="` + html.EscapeString(s.csrf) + `">`)
}

type ctxKey struct{}

// newContext returns ctx carrying s.
func newContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// FromContext returns the session that [Manager.Start] or
// [Manager.Require] stored in the request context.
func FromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(*Session)
	return s, ok && s != nil
}
