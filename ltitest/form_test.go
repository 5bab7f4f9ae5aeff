package ltitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

const nasty = `"><script>alert(1)</script>&amp;'<!--`

func TestAutoSubmitFormEscaping(t *testing.T) {
	action := `https://tool.example/launch?a=1&b="x"`
	fields := []field{{"id_token", nasty}, {"state", "s&t<a>te"}, {`we"ird`, "v"}}
	rec := httptest.NewRecorder()
	writeAutoSubmitForm(rec, action, fields)
	body := rec.Body.String()

	if strings.Contains(body, "<script>alert") || strings.Contains(body, `"><script`) || strings.Contains(body, "<!--") {
		t.Fatalf("unescaped value in the page:\n%s", body)
	}
	if !strings.Contains(body, `<form id="ltitest-autosubmit" method="post" action="https://tool.example/launch?a=1&amp;b=%22x%22">`) {
		t.Fatalf("form tag not as expected:\n%s", body)
	}
	if !strings.Contains(body, `.submit();</script>`) {
		t.Fatal("no auto-submit script")
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", rec.Header())
	}

	base, _ := url.Parse("https://platform.example/auth")
	f, ok := parseForm([]byte(body), base)
	if !ok {
		t.Fatal("parseForm failed")
	}
	want := url.Values{"id_token": {nasty}, "state": {"s&t<a>te"}, `we"ird`: {"v"}}
	if f.method != http.MethodPost || f.action.String() != `https://tool.example/launch?a=1&b=%22x%22` || !reflect.DeepEqual(f.values, want) {
		t.Fatalf("parsed %s %s %v", f.method, f.action, f.values)
	}
}

func TestAutoSubmitFormNeutralisesJavaScriptActions(t *testing.T) {
	rec := httptest.NewRecorder()
	writeAutoSubmitForm(rec, "javascript:alert(1)", nil)
	if strings.Contains(rec.Body.String(), "javascript:") {
		t.Fatalf("javascript: action kept:\n%s", rec.Body.String())
	}
}

func TestParseFormVariants(t *testing.T) {
	base, _ := url.Parse("https://tool.example/lti/login")
	page := `<html><body><FORM Method='POST' action='../auth?x=1' ><input name=a value=1>
<input type="submit" name="go" value="Go"><INPUT type='hidden' value='&lt;2&gt;' name='b' />
<input name="c"></form><form action="/second"><input name="z" value="no"></form>`
	f, ok := parseForm([]byte(page), base)
	if !ok {
		t.Fatal("no form")
	}
	want := url.Values{"a": {"1"}, "b": {"<2>"}, "c": {""}}
	if f.method != http.MethodPost || f.action.String() != "https://tool.example/auth?x=1" || !reflect.DeepEqual(f.values, want) {
		t.Fatalf("parsed %s %s %v", f.method, f.action, f.values)
	}
	if _, ok := parseForm([]byte("<p>no form</p>"), base); ok {
		t.Fatal("found a form in a page without one")
	}
	f, _ = parseForm([]byte(`<form><input name="q" value="1"></form>`), base)
	if f.method != http.MethodGet || f.action.String() != base.String() {
		t.Fatalf("defaults: %s %s", f.method, f.action)
	}
}

// TestAuthPageEscapesValues drives /auth directly and checks the raw page.
func TestAuthPageEscapesValues(t *testing.T) {
	redirect := "https://tool.example/launch?x=1&y=2"
	p, err := NewPlatform(Config{ToolLoginURL: "https://tool.example/login", ToolRedirectURIs: []string{redirect}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	lc, err := p.newLaunchConfig([]LaunchOption{WithPlatformError("invalid_request", nasty)})
	if err != nil {
		t.Fatal(err)
	}
	login := p.startLogin(lc)
	q := url.Values{
		"scope": {"openid"}, "response_type": {"id_token"}, "response_mode": {"form_post"}, "prompt": {"none"},
		"client_id": {p.ClientID()}, "redirect_uri": {redirect}, "login_hint": {login.Get("login_hint")},
		"lti_message_hint": {login.Get("lti_message_hint")}, "state": {nasty}, "nonce": {"n"},
	}
	resp, err := http.Get(p.AuthEndpoint() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "<script>alert") {
		t.Fatalf("%d:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `action="https://tool.example/launch?x=1&amp;y=2"`) {
		t.Fatalf("action not escaped as expected:\n%s", body)
	}
	f, ok := parseForm(b, resp.Request.URL)
	if !ok || f.action.String() != redirect || f.values.Get("state") != nasty || f.values.Get("error_description") != nasty {
		t.Fatalf("parsed %v %v", f.action, f.values)
	}
}
