package session

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/registration"
)

// cspHeader is the header that carries frame-ancestors.
const cspHeader = "Content-Security-Policy"

// AnyFrameAncestor, as the only or one entry of what the
// [WithFrameAncestors] hook returns for a registration, turns framing
// restrictions off for it: Require sets no frame-ancestors on its pages.
const AnyFrameAncestor = "*"

// WithFrameAncestors adds, per registration, origins that may frame the
// pages behind [Manager.Require], besides the ones Require derives from the
// launch (see Require). Use it for platforms that frame the tool from
// origins the launch does not name, e.g. a Canvas institution's own domain
// (https://canvas.example.edu) or "https://*.instructure.com". Each entry
// must be an http or https origin — scheme://host[:port], with no path
// other than "/", no user info, query or fragment — whose host may start
// with the wildcard label "*."; other entries are dropped and logged once
// at WARN. An entry "*" ([AnyFrameAncestor]) turns the restriction off for
// that registration. The hook runs on every request Require lets through,
// so it should be cheap; it must be safe for concurrent use. A nil hook is
// ignored.
func WithFrameAncestors(f func(reg registration.Registration) []string) Option {
	return func(o *options) {
		if f != nil {
			o.frameAncestors = f
		}
	}
}

// frameLog remembers the invalid hook entries already logged, so each is
// logged once; it stops remembering (and logging) after maxFrameLogged.
type frameLog struct {
	mu   sync.Mutex
	seen map[string]bool
}

const maxFrameLogged = 256

// first reports whether entry is logged for the first time.
func (l *frameLog) first(entry string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[entry] || len(l.seen) >= maxFrameLogged {
		return false
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	l.seen[entry] = true
	return true
}

// frameAncestors returns the frame-ancestors policy of the pages of lc's
// session, or "" for none: 'self', the http(s) origins of the
// registration's issuer and auth endpoint, of the launch's
// launch_presentation return_url and deep_link_return_url, and the hook's
// valid entries, de-duplicated and sorted.
func (m *Manager) frameAncestors(w http.ResponseWriter, r *http.Request, lc *launch.Launch) string {
	var origins []string
	add := func(raw string) {
		if o, ok := urlOrigin(raw); ok {
			origins = append(origins, o)
		}
	}
	add(lc.Registration.Issuer)
	add(lc.Registration.AuthEndpoint)
	if c := lc.Claims; c != nil {
		if c.LaunchPresentation != nil {
			add(c.LaunchPresentation.ReturnURL)
		}
		if c.DeepLinking != nil {
			add(c.DeepLinking.DeepLinkReturnURL)
		}
	}
	if m.frameHook != nil {
		for _, entry := range m.frameHook(lc.Registration) {
			if entry == AnyFrameAncestor {
				return ""
			}
			o, ok := hostSource(entry)
			if !ok {
				if m.frameLog.first(entry) {
					m.logger.LogAttrs(r.Context(), slog.LevelWarn, "ltikit session frame ancestor dropped",
						slog.String("issuer", lc.Registration.Issuer), slog.String("entry", entry),
						slog.String("reason", "not an http(s) origin"))
				}
				continue
			}
			origins = append(origins, o)
		}
	}
	slices.Sort(origins)
	origins = slices.Compact(origins)
	return "frame-ancestors " + strings.Join(append([]string{"'self'"}, origins...), " ")
}

// setFrameAncestors sets the policy of lc's pages on w and returns it.
func (m *Manager) setFrameAncestors(w http.ResponseWriter, r *http.Request, lc *launch.Launch) string {
	p := m.frameAncestors(w, r, lc)
	if p != "" {
		w.Header().Set(cspHeader, p)
	}
	return p
}

// frameWriter keeps the frame-ancestors policy among the response's
// Content-Security-Policy headers when the handler sets a policy of its
// own: the policy is added back, as a header of its own, before the
// header is written. Browsers enforce every policy a response carries.
type frameWriter struct {
	http.ResponseWriter
	policy string
	done   bool
}

func (f *frameWriter) ensure() {
	if f.done {
		return
	}
	f.done = true
	h := f.ResponseWriter.Header()
	if !slices.Contains(h.Values(cspHeader), f.policy) {
		h.Add(cspHeader, f.policy)
	}
}

func (f *frameWriter) WriteHeader(code int) {
	f.ensure()
	f.ResponseWriter.WriteHeader(code)
}

func (f *frameWriter) Write(b []byte) (int, error) {
	f.ensure()
	return f.ResponseWriter.Write(b)
}

// Flush flushes the underlying writer, if it can.
func (f *frameWriter) Flush() {
	f.ensure()
	_ = http.NewResponseController(f.ResponseWriter).Flush()
}

// Hijack hijacks the underlying connection, if it can.
func (f *frameWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	f.ensure()
	return http.NewResponseController(f.ResponseWriter).Hijack()
}

// Unwrap is for http.ResponseController.
func (f *frameWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// urlOrigin returns the origin of an absolute http(s) URL, with the
// scheme's default port left out.
func urlOrigin(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.User != nil {
		return "", false
	}
	return origin(u.Scheme, u.Host, false)
}

// hostSource validates a hook entry: an http(s) origin, whose host may
// start with "*.", and returns it normalized.
func hostSource(entry string) (string, bool) {
	scheme, rest, ok := strings.Cut(entry, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "http" && scheme != "https") {
		return "", false
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.ContainsAny(rest, "/?#@\\ \t\r\n;,'\"") {
		return "", false
	}
	return origin(scheme, rest, true)
}

// origin checks host[:port] and builds scheme://host[:port] in lower case,
// without the scheme's default port. wildcard allows a leading "*." label.
func origin(scheme, hostport string, wildcard bool) (string, bool) {
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return "", false
		}
	} else if strings.HasPrefix(hostport, "[") || strings.Count(hostport, ":") > 0 {
		if !strings.HasPrefix(hostport, "[") || !strings.HasSuffix(hostport, "]") {
			return "", false
		}
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	host = strings.ToLower(host)
	if ip := net.ParseIP(host); ip != nil && strings.Contains(host, ":") {
		host = "[" + ip.String() + "]"
	} else {
		name := host
		if wildcard {
			name = strings.TrimPrefix(name, "*.")
		}
		if !validHostName(name) {
			return "", false
		}
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, true
}

// validHostName reports whether name is dot-separated labels of letters,
// digits and hyphens (an IPv4 address is one).
func validHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
