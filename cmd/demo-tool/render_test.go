package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzFields renders arbitrary claim objects the way the launch page does
// (fields, then the "fields" template) and checks that no key or value
// reaches the page as markup.
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
	tmpl := pages["launch"]
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		fs := fields(raw)
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, "fields", fs); err != nil {
			t.Fatalf("rendering %s: %v", raw, err)
		}
		out := buf.String()
		// The template's own markup is a fixed set of tags; anything else
		// that opens a tag came from the data.
		rest := out
		for _, tag := range []string{"<table>", "</table>", "<tr>", "</tr>", "<th>", "</th>", "<td>", "</td>",
			`<code class="json">`, "</code>", `<p class="muted">`, "</p>"} {
			rest = strings.ReplaceAll(rest, tag, "")
		}
		if strings.Contains(rest, "<") {
			t.Fatalf("markup from the data reached the page:\ninput %s\noutput %s", raw, out)
		}
	})
}
