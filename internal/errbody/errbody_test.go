package errbody_test

import (
	"bytes"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ltikit/ltikit/internal/errbody"
	"github.com/ltikit/ltikit/internal/errbody/errbodytest"
)

func TestCases(t *testing.T) {
	for _, tc := range errbodytest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			o, ok := errbody.ParseOAuth(tc.Body)
			if ok != (tc.Code != "") || o.Error != tc.Code || o.Description != tc.Description {
				t.Errorf("ParseOAuth = %+v, %v; want %q, %q", o, ok, tc.Code, tc.Description)
			}
			errbodytest.CheckExcerpt(t, tc, errbody.Excerpt(errbody.Read(bytes.NewReader(tc.Body), errbody.ReadLimit)))
		})
	}
}

func TestMoodleKid(t *testing.T) {
	got := errbody.Excerpt([]byte(errbodytest.MoodleKidBody))
	if got != errbodytest.MoodleKidBody {
		t.Fatalf("excerpt %q, want the body as it is", got)
	}
	if _, ok := errbody.ParseOAuth([]byte(errbodytest.MoodleKidBody)); ok {
		t.Fatal("malformed JSON parsed")
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"", 10, ""},
		{"  a \t\n b  ", 10, "a b"},
		{"abcdef", 3, "abc…"},
		{"abc", 3, "abc"},
		{"ab cd", 3, "ab…"}, // the space before a cut is not kept
		{"héllo", 2, "h…"},  // never half a character
		{"a\x1b[0mb", 10, "a?[0mb"},
		{"a\xffb", 10, "a\uFFFDb"},
		{"a\u202eb\u200bc\ufeff", 20, "a?b?c?"},
		{"x\u0085y\u00a0z\u2029w", 20, "x y z w"},
		{"\x00\x01", 10, "??"},
	}
	for _, tc := range tests {
		if got := errbody.Clean(tc.in, tc.max); got != tc.want {
			t.Errorf("Clean(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"access_token":"abc123","token_type":"Bearer"}`, `{"access_token":"[redacted]","token_type":"Bearer"}`},
		{"grant_type=client_credentials&client_assertion=eyJabc.eyJdef.sig&scope=x", "grant_type=client_credentials&client_assertion=[redacted]&scope=x"},
		{"Authorization: Bearer 0123456789abcdef0123", "Authorization: [redacted] [redacted]"},
		{`Bearer realm="lms", error="invalid_token"`, `Bearer realm="lms", error="invalid_token"`},
		{`Bearer authorization_uri="https://lms.example/auth"`, `Bearer authorization_uri="https://lms.example/auth"`},
		{"your token eyJhbGciOiJSUzI1NiJ9 is bad", "your token [redacted] is bad"},
		{`"kid" invalid, unable to lookup correct key`, `"kid" invalid, unable to lookup correct key`},
	}
	for _, tc := range tests {
		if got := errbody.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestRead(t *testing.T) {
	body := bytes.NewReader(make([]byte, 1<<20))
	if got := errbody.Read(body, 100); len(got) != 100 || body.Len() != 1<<20-100 {
		t.Fatalf("read %d, %d left", len(got), body.Len())
	}
}

func TestURL(t *testing.T) {
	u, _ := url.Parse("https://user:pw@lms.example/?lti-platform&token&a=%7e&a=2#frag")
	if got := errbody.URL(u); got != "https://lms.example/?lti-platform&token&a=%7e&a=2" {
		t.Fatalf("URL = %q", got)
	}
	if got := errbody.RawURL("https://user:pw@lms.example/\x00?x"); strings.Contains(got, "pw") || strings.Contains(got, "\x00") {
		t.Fatalf("RawURL = %q", got)
	}
	if errbody.URL(nil) != "" {
		t.Fatal("nil URL")
	}
}

// FuzzExcerpt: on any body, the parser never panics and what it keeps is
// safe for one log line: valid UTF-8, no control or format characters,
// bounded; the excerpt of printable ASCII text without secrets shows it.
func FuzzExcerpt(f *testing.F) {
	for _, tc := range errbodytest.Cases() {
		if len(tc.Body) < 8192 {
			f.Add(tc.Body)
		}
	}
	f.Add([]byte(`{"error":{"nested":[1,2]},"error_description":null,"error_uri":7}`))
	f.Add([]byte(`{"error":"` + strings.Repeat("é", 400) + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if o, ok := errbody.ParseOAuth(body); ok {
			for _, s := range []string{o.Error, o.Description, o.URI} {
				errbodytest.CheckLine(t, "a member", s)
				if len(s) > errbody.FieldBytes+len(errbody.Ellipsis) {
					t.Fatalf("member of %d bytes", len(s))
				}
			}
		} else if !o.Empty() {
			t.Fatalf("members %+v without ok", o)
		}
		ex := errbody.Excerpt(body)
		errbodytest.CheckLine(t, "the excerpt", ex)
		if len(ex) > errbody.ExcerptBytes+len(errbody.Ellipsis) || strings.TrimSpace(ex) != ex || strings.Contains(ex, "  ") {
			t.Fatalf("excerpt %q", ex)
		}
		if len(body) <= errbody.ExcerptBytes && utf8.Valid(body) && printableWords(body) && errbody.Redact(string(body)) == string(body) &&
			ex != string(body) {
			t.Fatalf("excerpt %q of %q", ex, body)
		}
	})
}

// printableWords: printable ASCII words separated by single spaces.
func printableWords(b []byte) bool {
	if len(b) == 0 || b[0] == ' ' || b[len(b)-1] == ' ' || bytes.Contains(b, []byte("  ")) {
		return false
	}
	for _, c := range b {
		if c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// TestLogAttrs: http_status first, then the non-empty request details in
// order, then the §5.2 members, or the excerpt when there are none.
func TestLogAttrs(t *testing.T) {
	str := func(attrs []slog.Attr) string {
		var parts []string
		for _, a := range attrs {
			parts = append(parts, a.Key+"="+a.Value.String())
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct {
		name string
		o    errbody.OAuth
		want string
	}{
		{"members", errbody.OAuth{Error: "invalid_client", URI: "https://x"},
			"http_status=400 method=POST url=https://lms/token error_code=invalid_client error_uri=https://x"},
		{"description only", errbody.OAuth{Description: "bad kid"},
			"http_status=400 method=POST url=https://lms/token error_description=bad kid"},
		{"excerpt", errbody.OAuth{}, "http_status=400 method=POST url=https://lms/token body_excerpt=<html>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := str(errbody.LogAttrs(400, tc.o, "<html>", "content_type", "", "method", "POST", "url", "https://lms/token"))
			if got != tc.want {
				t.Fatalf("LogAttrs = %q\nwant        %q", got, tc.want)
			}
		})
	}
}
