package svchttp

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseLinks(t *testing.T) {
	tests := []struct {
		in   []string
		want []Link
	}{
		{[]string{`<https://lms.example/li?page=2>; rel="next"`}, []Link{{"https://lms.example/li?page=2", []string{"next"}}}},
		{[]string{`<a>; rel=next, <b>; rel="differences"`}, []Link{{"a", []string{"next"}}, {"b", []string{"differences"}}}},
		{[]string{`<a>;rel="NEXT last"`, `<b>; title="x, y; z"; rel=prev`}, []Link{{"a", []string{"next", "last"}}, {"b", []string{"prev"}}}},
		{[]string{`<a,b>; rel="next"`}, []Link{{"a,b", []string{"next"}}}},         // a comma inside the URI
		{[]string{`<a>; rel="next"; rel="prev"`}, []Link{{"a", []string{"next"}}}}, // the first rel counts
		{[]string{`garbage, <a>; rel="next"`}, []Link{{"a", []string{"next"}}}},    // a bad entry is skipped
		{[]string{`<a>; rel="ne\"xt"`}, []Link{{"a", []string{`ne"xt`}}}},          // escapes
		{[]string{`<a>; rel="next`}, []Link{{"a", []string{"next"}}}},              // unterminated quote
		{[]string{`<a`}, nil}, // unterminated URI
		{[]string{`<a>; x junk, <b>; rel=next`}, []Link{{"a", nil}, {"b", []string{"next"}}}}, // junk after params
		{[]string{`<a>; rel`}, []Link{{"a", nil}}},                                            // rel without value
		{[]string{``, ` , `}, nil},
	}
	for _, tc := range tests {
		if got := ParseLinks(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseLinks(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestLinkRelResolves(t *testing.T) {
	req := &http.Request{URL: &url.URL{Scheme: "https", Host: "lms.example", Path: "/a/lineitems", RawQuery: "type_id=1"}}
	resp := &http.Response{Header: http.Header{"Link": {`<lineitems?type_id=1&page=2>; rel="next", </nrps?since=4>; rel="differences"`}}, Request: req}
	if got := NextLink(resp); got != "https://lms.example/a/lineitems?type_id=1&page=2" {
		t.Errorf("next = %s", got)
	}
	if got := LinkRel(resp, "differences"); got != "https://lms.example/nrps?since=4" {
		t.Errorf("differences = %s", got)
	}
	if got := LinkRel(resp, "prev"); got != "" {
		t.Errorf("prev = %s", got)
	}
}

// FuzzParseLinks: the Link parser never panics, every URL it returns is a
// piece of the input, and relation types are lower-case words.
func FuzzParseLinks(f *testing.F) {
	for _, s := range []string{
		`<https://lms.example/li?page=2>; rel="next"`,
		`<a>; rel=next, <b>; rel="differences"`,
		`<a>; title="x, y; z"; rel="next prev"`,
		`<a>; rel="ne\"xt`, `<<>>;;;,,,rel=`, `"<a>"; rel="next"`, "<\x00>; rel=\"\xff\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range ParseLinks([]string{s}) {
			if !strings.Contains(s, l.URL) || strings.ContainsRune(l.URL, '>') {
				t.Fatalf("URL %q not from %q", l.URL, s)
			}
			for _, r := range l.Rels {
				if r == "" || r != strings.ToLower(r) || strings.ContainsAny(r, " \t") {
					t.Fatalf("rel %q from %q", r, s)
				}
			}
		}
	})
}
