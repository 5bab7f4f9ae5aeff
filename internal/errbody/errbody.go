package errbody

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of what is read and kept of an error answer.
const (
	// ReadLimit bounds the bytes read from an error body: enough for any
	// RFC 6749 §5.2 answer and for an excerpt; the rest is never read.
	ReadLimit = 16 << 10
	// ExcerptBytes bounds an excerpt, before the ellipsis that marks a cut.
	ExcerptBytes = 512
	// FieldBytes bounds each RFC 6749 §5.2 member kept, before the
	// ellipsis that marks a cut.
	FieldBytes = 256
)

// Ellipsis ends a value that was cut.
const Ellipsis = "…"

// OAuth holds the error members of an RFC 6749 §5.2 answer, cleaned with
// [Clean] to [FieldBytes] each.
type OAuth struct {
	// Error is the "error" member, e.g. "invalid_client".
	Error string
	// Description is the "error_description" member.
	Description string
	// URI is the "error_uri" member.
	URI string
}

// Empty reports whether no member was found.
func (o OAuth) Empty() bool { return o.Error == "" && o.Description == "" && o.URI == "" }

// ParseOAuth returns the RFC 6749 §5.2 members of body when it is a JSON
// object carrying at least one of them (whatever the Content-Type said),
// and false otherwise. Members that are not strings are kept as their JSON
// text.
func ParseOAuth(body []byte) (OAuth, bool) {
	var raw struct {
		Error       json.RawMessage `json:"error"`
		Description json.RawMessage `json:"error_description"`
		URI         json.RawMessage `json:"error_uri"`
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &raw) != nil {
		return OAuth{}, false
	}
	o := OAuth{Error: Field(raw.Error), Description: Field(raw.Description), URI: Field(raw.URI)}
	return o, !o.Empty()
}

// Field renders one untrusted JSON member for logs: a string as it is,
// any other value as its JSON text, null and absent as "", cleaned with
// [Clean] to [FieldBytes].
func Field(m json.RawMessage) string {
	if len(m) == 0 || string(m) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(m, &s) != nil {
		s = string(m)
	}
	return Clean(s, FieldBytes)
}

// Excerpt returns the start of an error body for logs: secrets masked
// ([Redact]), then [Clean] to [ExcerptBytes].
func Excerpt(body []byte) string {
	if len(body) > ReadLimit {
		body = body[:ReadLimit]
	}
	return Clean(Redact(string(body)), ExcerptBytes)
}

// Clean makes untrusted text safe for one log line or a terminal: invalid
// UTF-8 becomes U+FFFD, every run of white space (line breaks included)
// one space, control and format characters (ESC, C1 controls, bidi
// overrides, zero-width characters) "?"; the result is trimmed and cut to
// at most max bytes on a character boundary, followed by [Ellipsis] when
// something was cut.
func Clean(s string, max int) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			r = utf8.RuneError
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || unicode.In(r, unicode.Cf):
			r = '?'
		}
		n := utf8.RuneLen(r)
		if space {
			n++
		}
		if b.Len()+n > max {
			b.WriteString(Ellipsis)
			return b.String()
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Secrets an error body may echo back: a JWT (a client assertion or an
// id_token), a bearer token, or the value of a member or parameter that
// holds one.
var (
	jwtRE    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){0,2}`)
	bearerRE = regexp.MustCompile(`(?i)bearer\s+([A-Za-z0-9._~+/-]{12,}=*)`)
	memberRE = regexp.MustCompile(`(?i)((?:access_token|refresh_token|id_token|client_assertion|client_secret|authorization)["']?\s*[:=]\s*["']?)[^"'&\s,;}<]+`)
)

// Redacted replaces a secret in an excerpt.
const Redacted = "[redacted]"

// Redact masks what looks like a secret in s: JWTs, "Bearer" tokens, and
// the values of access_token, refresh_token, id_token, client_assertion,
// client_secret and authorization members or parameters.
func Redact(s string) string {
	s = jwtRE.ReplaceAllLiteralString(s, Redacted)
	s = redactBearer(s)
	return memberRE.ReplaceAllString(s, "${1}"+Redacted)
}

// redactBearer masks the token of "Bearer <token>" (RFC 6750 §2.1), but
// not an auth-param such as the authorization_uri="…" of a challenge.
func redactBearer(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range bearerRE.FindAllStringSubmatchIndex(s, -1) {
		start, end := m[2], m[3]
		if end < len(s) && (s[end] == '"' || s[end] == '\'') {
			continue // name="value": a parameter, not a token
		}
		b.WriteString(s[last:start])
		b.WriteString(Redacted)
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// Read reads at most n bytes of r, and no more: the rest of a large body
// is never read. A read error after some bytes keeps those bytes.
func Read(r io.Reader, n int64) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, n))
	return b
}

// URL renders a request URL for errors and logs: user info and fragment
// dropped, the rest (the query included) as it is.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// RawURL is [URL] for a URL string; a string that does not parse is
// cleaned to [ExcerptBytes] with its user info guessed away.
func RawURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if at := strings.LastIndexByte(raw, '@'); at >= 0 {
			if i := strings.Index(raw, "//"); i >= 0 && i < at {
				raw = raw[:i+2] + raw[at+1:]
			}
		}
		return Clean(raw, ExcerptBytes)
	}
	return URL(u)
}

// LogAttrs returns the slog attributes a platform's error answer is logged
// with: http_status; then each of the key/value pairs kv (request details
// such as content_type, method, url) whose value is not empty; then o's
// members as error_code, error_description and error_uri, or, when o has
// neither an error nor a description, the body excerpt as body_excerpt.
// kv holds keys and values alternately.
func LogAttrs(status int, o OAuth, excerpt string, kv ...string) []slog.Attr {
	attrs := make([]slog.Attr, 0, 1+len(kv)/2+3)
	attrs = append(attrs, slog.Int("http_status", status))
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		add(kv[i], kv[i+1])
	}
	add("error_code", o.Error)
	add("error_description", o.Description)
	add("error_uri", o.URI)
	if o.Error == "" && o.Description == "" {
		add("body_excerpt", excerpt)
	}
	return attrs
}
