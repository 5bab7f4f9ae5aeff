package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ltikit/ltikit/internal/jsonv2"
	"github.com/ltikit/ltikit/lti"
)

// The launch page is written by Go code, not by a template: it is the
// page every launch renders, and executing html/template there cost more
// CPU than the launch's signature verification (reflection for every field
// and every escaper, some 300 allocations a page). The other pages,
// shown after a launch, stay templates. The page's frame (head, style,
// foot) is still the layout template, rendered once, on first use, with
// the title "Launch". Every value is escaped as html/template escapes it
// in the same place (htmlText, urlAttr), so the bytes are the ones the
// template wrote.

// launchFrame returns the layout around the launch page's content, the
// head and the foot, rendered on first use.
var launchFrame = sync.OnceValues(func() (head, foot string) { return layoutFrame("Launch") })

// layoutFrame renders the layout's head and foot for a page titled title
// (plain text).
func layoutFrame(title string) (head, foot string) {
	t := template.Must(template.New("layout.html").ParseFS(templateFS, "templates/layout.html"))
	template.Must(t.New("title").Parse(template.HTMLEscapeString(title)))
	var h, f bytes.Buffer
	if err := t.ExecuteTemplate(&h, "page-head", nil); err != nil {
		panic(err) // the embedded layout is fixed: a test renders it
	}
	if err := t.ExecuteTemplate(&f, "page-foot", nil); err != nil {
		panic(err)
	}
	return h.String(), f.String()
}

// writeLaunchPage writes the launch page of p: the layout, the services,
// the user, the roles, the claim objects and every claim as sent.
func writeLaunchPage(b *bytes.Buffer, p *launchPage) error {
	v := p.L
	head, foot := launchFrame()
	b.WriteString(head)
	b.WriteString("\n<h1 class=\"ok\">✔ Launch accepted</h1>\n<p class=\"muted\">")
	htmlText(b, v.MessageType)
	b.WriteString(" (LTI ")
	htmlText(b, v.Version)
	b.WriteString(")")
	if p.ContextTitle != "" {
		b.WriteString(" in <strong>")
		htmlText(b, p.ContextTitle)
		b.WriteString("</strong>")
	}
	b.WriteString(", from ")
	htmlText(b, v.Registration.Issuer)
	b.WriteString("; the browser was bound to the login by <span id=\"state-binding\">")
	htmlText(b, p.Binding)
	b.WriteString("</span></p>\n")
	if p.PickerError != "" {
		b.WriteString("<section id=\"deep-linking-picker\"><p class=\"notice\">")
		htmlText(b, p.PickerError)
		b.WriteString("</p></section>")
	}
	b.WriteString("\n")
	if p.Picker != nil {
		// A deep linking request: the picker is the template the picker
		// page shows too.
		if err := pages()["picker"].ExecuteTemplate(b, "picker", p.Picker); err != nil {
			return err
		}
	}
	s := &p.Services
	b.WriteString("\n<section id=\"services\">\n<h2>LTI Advantage</h2>\n<ul class=\"links\">\n<li>")
	if s.GradeURL != "" {
		b.WriteString("<a id=\"link-grade\" href=\"")
		urlAttr(b, s.GradeURL)
		b.WriteString("\">Send a grade</a>")
	} else {
		b.WriteString("<span class=\"off\">Send a grade</span>")
	}
	b.WriteString("<br><span class=\"muted\">")
	htmlText(b, s.GradeNote)
	b.WriteString("</span></li>\n<li>")
	if s.RosterURL != "" {
		b.WriteString("<a id=\"link-roster\" href=\"")
		urlAttr(b, s.RosterURL)
		b.WriteString("\">Roster</a>")
	} else {
		b.WriteString("<span class=\"off\">Roster</span>")
	}
	b.WriteString("<br><span class=\"muted\">")
	htmlText(b, s.RosterNote)
	b.WriteString("</span></li>\n<li><a id=\"link-jwks\" href=\"")
	urlAttr(b, s.JWKSURL)
	b.WriteString("\">The tool's key set</a><br><span class=\"muted\">register ")
	htmlText(b, s.JWKSURL)
	b.WriteString(" as the tool's JWKS URL: platforms verify the tool's service requests and deep linking responses with it</span></li>\n</ul>\n</section>\n")

	b.WriteString("<div class=\"grid\">\n<section id=\"user\">\n<h2>User</h2>\n")
	if v.Anonymous {
		b.WriteString("<p><strong>Anonymous launch</strong>: the platform sent no user.</p>")
	} else {
		b.WriteString("\n<table>\n<tr><th>Name</th><td id=\"user-name\">")
		htmlText(b, v.Name)
		b.WriteString("</td></tr>\n")
		if p.GivenName != "" {
			row(b, "Given name", p.GivenName, false)
		}
		b.WriteString("\n")
		if p.FamilyName != "" {
			row(b, "Family name", p.FamilyName, false)
		}
		b.WriteString("\n")
		row(b, "Email", v.Email, false)
		b.WriteString("\n")
		row(b, "Subject (sub)", v.Sub, true)
		b.WriteString("\n")
		if p.Locale != "" {
			row(b, "Locale", p.Locale, false)
		}
		b.WriteString("\n</table>")
	}
	b.WriteString("\n</section>\n<section id=\"roles\">\n<h2>Roles</h2>\n<p>")
	for _, k := range p.Kinds {
		b.WriteString("<span class=\"badge\">")
		htmlText(b, k)
		b.WriteString("</span>")
	}
	if len(p.Kinds) == 0 {
		b.WriteString("<span class=\"muted\">no recognised role</span>")
	}
	b.WriteString("</p>\n<table>\n")
	for _, r := range p.Roles {
		b.WriteString("<tr><th>")
		htmlText(b, r.Name)
		b.WriteString("</th><td><code>")
		htmlText(b, r.URI)
		b.WriteString("</code></td></tr>")
	}
	if len(p.Roles) == 0 {
		b.WriteString("<tr><td class=\"muted\">The roles claim is empty.</td></tr>")
	}
	b.WriteString("\n</table>\n</section>\n<section id=\"context\">\n<h2>Context</h2>\n")
	writeClaimFields(b, p.Context)
	b.WriteString("\n</section>\n<section id=\"resource-link\">\n<h2>Resource link</h2>\n")
	writeClaimFields(b, p.ResourceLink)
	b.WriteString("\n</section>\n<section id=\"custom\">\n<h2>Custom parameters</h2>\n")
	writeClaimFields(b, p.Custom)
	b.WriteString("\n</section>\n<section id=\"deployment\">\n<h2>Deployment</h2>\n<table>\n")
	for _, r := range []struct {
		label, value string
		code         bool
	}{
		{"Deployment ID", v.DeploymentID, true},
		{"Issuer", v.Registration.Issuer, false},
		{"Client ID", v.Registration.ClientID, true},
		{"Message type", v.MessageType, false},
		{"Target link URI", v.TargetLinkURI, false},
	} {
		row(b, r.label, r.value, r.code)
		b.WriteString("\n")
	}
	b.WriteString("</table>\n</section>\n")
	if len(p.DeepLinking) > 0 {
		b.WriteString("<section id=\"deep-linking\">\n<h2>Deep linking settings</h2>\n")
		writeClaimFields(b, p.DeepLinking)
		b.WriteString("\n</section>")
	}
	b.WriteString("\n</div>\n<section id=\"claims\" style=\"margin-top:16px\">\n<h2>All claims (")
	b.WriteString(strconv.Itoa(p.ClaimCount))
	b.WriteString("), as the platform signed them</h2>\n<pre>")
	htmlBytes(b, p.ClaimsJSON)
	b.WriteString("</pre>\n</section>\n")
	b.WriteString(foot)
	return nil
}

// row writes a table row of label (plain text, written as is) and value
// (escaped), the value in <code> when code is set.
func row(b *bytes.Buffer, label, value string, code bool) {
	b.WriteString("<tr><th>")
	b.WriteString(label)
	b.WriteString("</th><td>")
	if code {
		b.WriteString("<code>")
	}
	htmlText(b, value)
	if code {
		b.WriteString("</code>")
	}
	b.WriteString("</td></tr>")
}

// writeClaimFields writes the members of a claim object as a key and value
// table, keys breakable after their underscores, values that are not
// strings as JSON text; none: "Not sent.".
func writeClaimFields(b *bytes.Buffer, fs []field) {
	if len(fs) == 0 {
		b.WriteString("<p class=\"muted\">Not sent.</p>")
		return
	}
	b.WriteString("<table class=\"kv\">\n")
	for _, f := range fs {
		b.WriteString("<tr><th>")
		b.WriteString(string(breakable(f.Key)))
		b.WriteString("</th><td>")
		if f.JSON {
			b.WriteString("<code class=\"json\">")
			htmlText(b, f.Value)
			b.WriteString("</code>")
		} else {
			htmlText(b, f.Value)
		}
		b.WriteString("</td></tr>\n")
	}
	b.WriteString("</table>")
}

// htmlText writes s escaped for HTML text (and quoted attribute values)
// exactly as html/template escapes a string there: NUL as U+FFFD, the
// five markup characters and '+' as character references (htmlASCII),
// every other byte as it is.
func htmlText(b *bytes.Buffer, s string) {
	written := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf && htmlASCII[c] != "" {
			b.WriteString(s[written:i])
			b.WriteString(htmlASCII[c])
			written = i + 1
		}
	}
	b.WriteString(s[written:])
}

// htmlBytes is htmlText for text held in bytes.
func htmlBytes(b *bytes.Buffer, s []byte) {
	written := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf && htmlASCII[c] != "" {
			b.Write(s[written:i])
			b.WriteString(htmlASCII[c])
			written = i + 1
		}
	}
	b.Write(s[written:])
}

// htmlASCII are html/template's replacements in text and quoted attribute
// values (its htmlEscaper); empty: written as is. Only ASCII is replaced,
// so a byte of a multi-byte UTF-8 sequence never is.
var htmlASCII = [utf8.RuneSelf]string{0: "\uFFFD", '"': "&#34;", '&': "&amp;", '\'': "&#39;", '+': "&#43;", '<': "&lt;", '>': "&gt;"}

// urlAttr writes u as the value of a quoted URL attribute (href) exactly
// as html/template does: a URL whose scheme is not http, https or mailto
// becomes "#ZgotmplZ"; bytes that may not appear in a URL are
// percent-encoded (valid escapes are kept); then the value is escaped
// for the attribute. The links are the tool's own, built from --base-url,
// so only the last step ever changes them in practice.
func urlAttr(b *bytes.Buffer, u string) {
	if scheme, _, ok := strings.Cut(u, ":"); ok && !strings.Contains(scheme, "/") &&
		!strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "mailto") {
		b.WriteString("#ZgotmplZ")
		return
	}
	const hex = "0123456789abcdef"
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			b.WriteByte(c)
		case strings.IndexByte("-._~!#$*,/:;=?@[]", c) >= 0:
			b.WriteByte(c)
		case c == '%' && i+2 < len(u) && isHex(u[i+1]) && isHex(u[i+2]):
			// A valid escape is kept, as html/template keeps it, which
			// (i+2 < len) re-encodes one that ends the URL.
			b.WriteByte(c)
		case c == '&':
			b.WriteString("&amp;")
		case c == '+':
			b.WriteString("&#43;")
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
}

// errClaimsNotObject refuses an id_token payload that is not an object.
var errClaimsNotObject = errors.New("the claims are not a JSON object")

// launchClaims are the claims the launch page and its JSON show as sent,
// found in one pass over the id_token payload.
type launchClaims struct {
	roles, context, resourceLink, custom, deepLinking json.RawMessage
}

// UnmarshalJSONFrom walks the payload's members once, keeping the five
// claims' values and skipping the others. The launch pipeline validated
// the payload (one object, no duplicate names, valid UTF-8); the decoder
// checks again.
func (c *launchClaims) UnmarshalJSONFrom(dec *jsonv2.Decoder) error {
	return jsonv2.PickMembers(dec, errClaimsNotObject, func(name []byte) *[]byte {
		var dst *json.RawMessage
		switch string(name) {
		case lti.ClaimRoles:
			dst = &c.roles
		case lti.ClaimContext:
			dst = &c.context
		case lti.ClaimResourceLink:
			dst = &c.resourceLink
		case lti.ClaimCustom:
			dst = &c.custom
		case lti.ClaimDeepLinking:
			dst = &c.deepLinking
		default:
			return nil
		}
		return (*[]byte)(dst)
	})
}

// objectFields reads a JSON object's members in one pass, for fields.
type objectFields struct{ out []field }

// UnmarshalJSONFrom reads the members: a string value unquoted, any other
// as compact JSON text.
func (o *objectFields) UnmarshalJSONFrom(dec *jsonv2.Decoder) error {
	if dec.PeekKind() != '{' {
		return fmt.Errorf("not a JSON object")
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		f := field{Key: name.String()}
		if dec.PeekKind() == '"' {
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			f.Value = tok.String()
		} else {
			v, err := dec.ReadValue()
			if err != nil {
				return err
			}
			f.Value, f.JSON = compactJSON(json.RawMessage(v)), true
		}
		o.out = append(o.out, f)
	}
	_, err := dec.ReadToken()
	return err
}

// fastFields is fields for an object JSON v2 reads (no duplicate names,
// valid UTF-8: every claim of a verified launch): one pass, no map; ok is
// false for anything else, which fields reads as before.
func fastFields(raw json.RawMessage) ([]field, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	o := objectFields{out: make([]field, 0, 8)}
	if err := jsonv2.Unmarshal(raw, &o); err != nil {
		return nil, false
	}
	slices.SortFunc(o.out, func(a, b field) int { return strings.Compare(a.Key, b.Key) })
	return o.out, true
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
