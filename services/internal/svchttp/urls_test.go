package svchttp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAppendPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://lms.example/lineitems/1?type_id=2", "https://lms.example/lineitems/1/scores?type_id=2"},
		{"https://lms.example/lineitems/1/?type_id=2", "https://lms.example/lineitems/1/scores?type_id=2"},
		{"https://lms.example/?lti-platform&lineitem=1&flag", "https://lms.example/scores?lti-platform&lineitem=1&flag"},
		{"https://lms.example/li/a%2Fb?x=%7e&x=1#frag", "https://lms.example/li/a%2Fb/scores?x=%7e&x=1"},
		{"https://lms.example/li?", "https://lms.example/li/scores?"},
		{"https://lms.example", "https://lms.example/scores"},
	}
	for _, tc := range tests {
		if got := AppendPath(tc.in, "scores"); got != tc.want {
			t.Errorf("AppendPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAddQuery(t *testing.T) {
	tests := []struct {
		in    string
		pairs []string
		want  string
	}{
		{"https://lms.example/m?context=7&flag", []string{"limit", "5"}, "https://lms.example/m?context=7&flag&limit=5"},
		{"https://lms.example/m?b=2&a=1&a=0", []string{"role", "a b#c", "limit", ""}, "https://lms.example/m?b=2&a=1&a=0&role=a+b%23c"},
		{"https://lms.example/m?limit=1&x=%7e&limit&l%69mit=3", []string{"limit", "5"}, "https://lms.example/m?x=%7e&limit=5"},
		{"https://lms.example/m?x#frag", []string{"limit", "5"}, "https://lms.example/m?x&limit=5"},
		{"https://lms.example/m#frag", []string{"limit", ""}, "https://lms.example/m#frag"}, // nothing added: as given
		{"https://lms.example/m", []string{"limit", "5"}, "https://lms.example/m?limit=5"},
		{"https://lms.example/m?", []string{"limit", "5"}, "https://lms.example/m?limit=5"},
		{"https://lms.example/m?a&&b", []string{"c", "1"}, "https://lms.example/m?a&&b&c=1"},
	}
	for _, tc := range tests {
		if got := AddQuery(tc.in, tc.pairs...); got != tc.want {
			t.Errorf("AddQuery(%q, %q) = %q, want %q", tc.in, tc.pairs, got, tc.want)
		}
	}
}

func TestLinkRelAbsoluteAsGiven(t *testing.T) {
	req := &http.Request{URL: &url.URL{Scheme: "https", Host: "lms.example", Path: "/m"}}
	resp := &http.Response{Header: http.Header{"Link": {`<https://lms.example/a/../m?page=2&flag&x=%7E>; rel="next"`}}, Request: req}
	if got := NextLink(resp); got != "https://lms.example/a/../m?page=2&flag&x=%7E" {
		t.Errorf("next = %s", got)
	}
}

// FuzzAddQuery: on any URL text, adding a parameter keeps every other
// parameter of the query byte for byte and in order, and the path as it is.
func FuzzAddQuery(f *testing.F) {
	for _, s := range []string{"https://lms.example/?lti-platform&token", "https://h/m?limit=1&x=%7e&limit", "https://h/m#a?b", "?&=&", "https://h/%zz?%zz=1&limit"} {
		f.Add(s, "limit", "5")
	}
	f.Fuzz(func(t *testing.T, raw, name, value string) {
		got := AddQuery(raw, name, value)
		if value == "" {
			if got != raw {
				t.Fatalf("nothing added, but %q became %q", raw, got)
			}
			return
		}
		noFrag, _, _ := strings.Cut(raw, "#")
		base, query, _ := strings.Cut(noFrag, "?")
		add := url.QueryEscape(name) + "=" + url.QueryEscape(value)
		if !strings.HasPrefix(got, base+"?") || !strings.HasSuffix(got, add) {
			t.Fatalf("AddQuery(%q) = %q", raw, got)
		}
		var kept []string
		for _, p := range strings.Split(query, "&") {
			k, _, _ := strings.Cut(p, "=")
			if dk, err := url.QueryUnescape(k); query == "" || (err == nil && dk == name) {
				continue
			}
			kept = append(kept, p)
		}
		if want := base + "?" + strings.Join(append(kept, add), "&"); got != want {
			t.Fatalf("AddQuery(%q) = %q, want %q", raw, got, want)
		}
	})
}
