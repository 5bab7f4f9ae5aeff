package launch

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x1b[2J\nb", strings.Repeat("é", 200), "\xff\xfe", "x\u2028y\u0085z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := clean(s)
		if len(c) > maxLogValue+len("…") || !utf8.ValidString(c) {
			t.Fatalf("clean(%q) = %q", s, c)
		}
		for _, r := range c {
			if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("clean(%q) keeps %U", s, r)
			}
		}
		if len(s) <= maxLogValue && c != s && !strings.ContainsFunc(s, func(r rune) bool {
			return r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
		}) {
			t.Fatalf("clean changed the clean value %q to %q", s, c)
		}
	})
}

// unverifiedFacts reads what it can from any payload and never panics.
func FuzzUnverifiedFacts(f *testing.F) {
	for _, s := range []string{`{}`, `{"iss":1,"aud":["a","b"],"exp":1e300,"iat":"x","nbf":-5}`, `[`, `{"aud":"a","exp":1700000000.5}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) { _ = unverifiedFacts(p) })
}
