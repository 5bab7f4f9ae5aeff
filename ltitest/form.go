package ltitest

import (
	"html"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// field is one hidden form field.
type field struct{ Name, Value string }

// autoSubmitTemplate is the page a platform answers with to make the
// browser post a form across sites (OIDC Core §3.1.2.5 with form_post,
// OAuth 2.0 Form Post Response Mode §2). html/template escapes the
// attribute values and neutralises javascript: actions.
var autoSubmitTemplate = template.Must(template.New("form").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ltitest: redirecting…</title></head>
<body>
<form id="ltitest-autosubmit" method="post" action="{{.Action}}">
{{- range .Fields}}
<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{- end}}
<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.getElementById("ltitest-autosubmit").submit();</script>
</body></html>
`))

// writeAutoSubmitForm answers a page whose form posts fields to action as
// soon as it loads.
func writeAutoSubmitForm(w http.ResponseWriter, action string, fields []field) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	_ = autoSubmitTemplate.Execute(w, struct {
		Action string
		Fields []field
	}{action, fields})
}

// orderedFields lists v's fields, those named in order first.
func orderedFields(v url.Values, order []string) []field {
	var out []field
	for _, k := range order {
		for _, x := range v[k] {
			out = append(out, field{k, x})
		}
	}
	var rest []string
	for k := range v {
		if !slices.Contains(order, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		for _, x := range v[k] {
			out = append(out, field{k, x})
		}
	}
	return out
}

// parsedForm is the first form of an HTML page.
type parsedForm struct {
	action *url.URL
	method string
	values url.Values
}

var (
	formTagRe  = regexp.MustCompile(`(?is)<form\b([^>]*)>`)
	formEndRe  = regexp.MustCompile(`(?i)</form\s*>`)
	inputTagRe = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRe     = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

// parseForm finds the first form in an HTML page and returns its action
// (resolved against base), method and named input values. It understands
// the forms auto-submitting pages use, not HTML in general.
func parseForm(body []byte, base *url.URL) (parsedForm, bool) {
	s := string(body)
	loc := formTagRe.FindStringSubmatchIndex(s)
	if loc == nil {
		return parsedForm{}, false
	}
	attrs := parseAttrs(s[loc[2]:loc[3]])
	inner := s[loc[1]:]
	if end := formEndRe.FindStringIndex(inner); end != nil {
		inner = inner[:end[0]]
	}
	action, err := base.Parse(attrs["action"])
	if err != nil {
		return parsedForm{}, false
	}
	f := parsedForm{action: action, method: strings.ToUpper(attrs["method"]), values: url.Values{}}
	if f.method != http.MethodPost {
		f.method = http.MethodGet
	}
	for _, m := range inputTagRe.FindAllStringSubmatch(inner, -1) {
		a := parseAttrs(m[1])
		name, ok := a["name"]
		if !ok || name == "" {
			continue
		}
		switch strings.ToLower(a["type"]) {
		case "submit", "button", "image", "reset", "file":
			continue
		}
		f.values.Add(name, a["value"])
	}
	return f, true
}

// parseAttrs parses the attributes of a start tag; names are lower-cased,
// values unescaped, the first occurrence of a name wins (as in HTML).
func parseAttrs(s string) map[string]string {
	out := make(map[string]string)
	for _, m := range attrRe.FindAllStringSubmatch(s, -1) {
		name := strings.ToLower(m[1])
		if _, dup := out[name]; dup {
			continue
		}
		out[name] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return out
}
