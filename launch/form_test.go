package launch

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseQuery holds parseQuery's fast path to url.ParseQuery.
func TestParseQuery(t *testing.T) {
	for _, q := range []string{
		"", "&", "&&a", "a", "a=", "=b", "a=b&a=c&b", "id_token=eyJ.eyJ.sig&state=abc", "a==b&c=d=e",
		"a=%41", "a=b+c", "a;b=c", "a=b;c", "a=%zz&b=c", "k=v&" + strings.Repeat("&", 1200), strings.Repeat("x=1&", 10001),
	} {
		want, werr := url.ParseQuery(q)
		got, gerr := parseQuery(q)
		if (werr == nil) != (gerr == nil) {
			t.Errorf("%.40q: error %v, want %v", q, gerr, werr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%.40q (-url.ParseQuery +parseQuery):\n%s", q, diff)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add("id_token=a.b.c&state=s")
	f.Add("a=%zz;b")
	f.Fuzz(func(t *testing.T, q string) {
		want, werr := url.ParseQuery(q)
		got, gerr := parseQuery(q)
		if (werr == nil) != (gerr == nil) || !cmp.Equal(want, got) {
			t.Fatalf("%q: parseQuery = %v, %v; url.ParseQuery = %v, %v", q, got, gerr, want, werr)
		}
	})
}
