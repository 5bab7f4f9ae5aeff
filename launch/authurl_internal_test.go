package launch

import (
	"net/url"
	"strings"
	"testing"
)

func FuzzAuthRequestURL(f *testing.F) {
	for _, s := range []string{
		"https://lms.example/?lti-platform&auth", "https://lms.example/auth", "https://lms.example/auth?",
		"https://lms.example/auth?a=1&", "https://lms.example/auth?x=%2F%20y&z=a+b&k=1&k=2",
		"https://lms.example/auth?a#frag", "https://lms.example/auth?client_id=old&scope=x&t=7",
		"https://lms.example/auth?%zz&state=1", "http://h/?&&", "https://h/#?scope=x", "mailto:x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, registered string) {
		base, ok := authRequestBase(registered)
		if !ok {
			return
		}
		raw, _, _ := strings.Cut(registered, "#")
		before, _, _ := strings.Cut(raw, "?")
		if !strings.HasPrefix(base, before+"?") || strings.Contains(base, "#") {
			t.Fatalf("base %q of %q", base, registered)
		}
		if !strings.HasSuffix(base, "?") && !strings.HasSuffix(base, "&") {
			t.Fatalf("base %q does not end in ? or &", base)
		}
		full := authRequestURL(base, "client&1", "https://tool.example/launch?x=1", "hint", "m", "st", "no")
		u, err := url.Parse(full)
		if err != nil {
			t.Fatalf("%q: %v", full, err)
		}
		q, _ := url.ParseQuery(u.RawQuery) // a registered pair may not decode
		for name := range authParams {
			if name == "lti_message_hint" {
				continue
			}
			if n := len(q[name]); n != 1 {
				t.Fatalf("%q: %s appears %d times", full, name, n)
			}
		}
		if q.Get("client_id") != "client&1" || q.Get("redirect_uri") != "https://tool.example/launch?x=1" {
			t.Fatalf("%q: parameters not escaped", full)
		}
	})
}
