package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzFields renders arbitrary claim objects the way the launch page does
// (fields, then writeClaimFields) and checks that no key or value reaches the
// page as markup.
func FuzzFields(f *testing.F) {
	for _, seed := range []string{
		`{"course_ctx":"42","n":3,"ok":true,"list":["a","b"],"obj":{"x":null}}`,
		`{"<script>alert(1)</script>":"<img src=x onerror=alert(1)>"}`,
		`{"a":"\u003cb\u003ebold\u003c/b\u003e","b":"</td></tr></table><script>"}`,
		`["not","an","object"]`,
		`"just a string"`,
		`{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		fs := fields(raw)
		var buf bytes.Buffer
		writeClaimFields(&buf, fs)
		out := buf.String()
		// The template's own markup is a fixed set of tags; anything else
		// that opens a tag came from the data.
		rest := out
		for _, tag := range []string{`<table class="kv">`, "</table>", "<tr>", "</tr>", "<th>", "</th>", "<td>", "</td>",
			`<code class="json">`, "</code>", `<p class="muted">`, "</p>", "<wbr>"} {
			rest = strings.ReplaceAll(rest, tag, "")
		}
		if strings.Contains(rest, "<") {
			t.Fatalf("markup from the data reached the page:\ninput %s\noutput %s", raw, out)
		}
	})
}

// FuzzCountMembers holds countMembers, which reads the member count off the
// indented claims text, to a count of the top-level members made with
// encoding/json's tokenizer.
func FuzzCountMembers(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"a":1}`,
		`{"a":{"b":{"c":[1,{"d":2}]}},"e":[],"f":{}}`,
		`{"s":"line\n  \"x\": 1","t":"  \"y\""}`,
		`{"a":1,"a":2}`,
		`{"https://purl.imsglobal.org/spec/lti/claim/roles":["x"],"sub":"1"}`,
		`[{"a":1}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, ok := tokenMembers(raw)
		if !ok {
			return
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, raw, "", "  "); err != nil {
			t.Fatalf("Indent of valid JSON %q: %v", raw, err)
		}
		if got := countMembers(pretty.Bytes()); got != want {
			t.Fatalf("countMembers(%q) = %d, want %d", raw, got, want)
		}
	})
}

// tokenMembers counts the members of raw, a JSON object; ok is false when
// raw is not one valid JSON object.
func tokenMembers(raw []byte) (n int, ok bool) {
	if !json.Valid(raw) || !bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("{")) {
		return 0, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	depth, key := 0, true
	for {
		tok, err := dec.Token()
		if err != nil {
			return n, true
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if depth == 1 {
				key = true // this value ends a member; the next token at depth 1 is a key
			}
			depth++
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
			continue
		}
		if depth == 1 {
			if key {
				n++
			}
			key = !key
		}
	}
}

// TestTemplatesParse: every page template parses, and the launch page's
// frame renders. The templates are parsed on first use, not when the
// program starts, so this is where a broken template shows.
func TestTemplatesParse(t *testing.T) {
	t.Parallel()
	// A template that does not parse panics here (template.Must).
	for name, tmpl := range pages() {
		if tmpl.Lookup("layout") == nil {
			t.Errorf("the page %q has no layout template", name)
		}
	}
	head, foot := launchFrame()
	if !strings.Contains(head, "<title>") || !strings.Contains(foot, "</html>") {
		t.Errorf("launch page frame: head %q, foot %q", head, foot)
	}
}
