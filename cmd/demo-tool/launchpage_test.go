package main

import (
	"bytes"
	"html/template"
	"os"
	"testing"
)

// referencePage is the launch page as the html/template version rendered
// it: testdata/launch_reference.html is that template, kept so the page
// written by code (launchpage.go) is held to html/template's output and
// escaping, byte for byte.
type referencePage struct {
	*launchPage
	ClaimsJSON string // the template printed a string
}

func renderReference(t *testing.T, p *launchPage) string {
	t.Helper()
	ref, err := os.ReadFile("testdata/launch_reference.html")
	if err != nil {
		t.Fatal(err)
	}
	tpl := template.Must(template.New("layout.html").Funcs(template.FuncMap{"breakable": breakable}).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	template.Must(tpl.Parse(string(ref)))
	var b bytes.Buffer
	if err := tpl.ExecuteTemplate(&b, "layout", referencePage{launchPage: p, ClaimsJSON: string(p.ClaimsJSON)}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// pageWith puts s into every text of a launch page, with the optional
// parts present or absent as the flags say.
func pageWith(s string, anonymous, optional, withPicker bool) *launchPage {
	f := []field{{Key: s, Value: s}, {Key: "k", Value: `{"a":` + "1}", JSON: true}}
	p := &launchPage{
		L: &launchJSON{MessageType: s, Version: s, Sub: s, Anonymous: anonymous, Name: s, Email: s,
			Registration: registrationRef{Issuer: s, ClientID: s}},
		Roles:      []role{{URI: s, Name: s}},
		Kinds:      []string{s},
		ClaimsJSON: []byte(s),
		ClaimCount: 3,
		Services: launchServices{LaunchURL: "https://tool.example/launch?s=" + s, GradeNote: s, RosterNote: s,
			JWKSURL: "https://tool.example/jwks?x=" + s},
		Binding: s,
	}
	if optional {
		p.GivenName, p.FamilyName, p.Locale, p.ContextTitle, p.PickerError = s, s, s, s, s
		p.Context, p.ResourceLink, p.Custom, p.DeepLinking = f, f, f, f
		p.Services.GradeURL = "https://tool.example/grade?s=" + s
		p.Services.RosterURL = s // not necessarily a URL: the filter applies
	}
	if withPicker {
		p.Picker = &picker{Action: "https://tool.example/dl?" + s, Session: template.HTML(`<input type="hidden" name="s" value="x">`),
			Items: []pickerItem{{ID: s, Type: s, Title: s, Description: s, Note: s, Accepted: true, Checked: true}}, Accepts: []string{s}, ReturnURL: "https://lms.example/return?" + s, Error: s}
	}
	return p
}

// FuzzLaunchPageMatchesTemplate: the launch page written by code is the
// page html/template renders from the reference template, for any text in
// any field, with every optional part present or absent.
func FuzzLaunchPageMatchesTemplate(f *testing.F) {
	for _, s := range []string{"", "plain", `<script>alert(1)</script>`, `"'&+<>`, "javascript:alert(1)",
		"a\x00b", "é ü ✔ \xff", "http://x/?a=b&c=d e", "mailto:x@y", "data:text/html,<b>", " JavaScript:x", "%41%zz", "http://x/%41", "httpſ://x", "(')"} {
		f.Add(s, false, true, false)
	}
	f.Add("x", true, false, false)
	f.Add("<b>", false, true, true)
	f.Fuzz(func(t *testing.T, s string, anonymous, optional, withPicker bool) {
		p := pageWith(s, anonymous, optional, withPicker)
		want := renderReference(t, p)
		var got bytes.Buffer
		if err := writeLaunchPage(&got, p); err != nil {
			t.Fatal(err)
		}
		if got.String() != want {
			t.Fatalf("the page differs from html/template's for %q\n got: %s\nwant: %s", s, got.String(), want)
		}
	})
}
