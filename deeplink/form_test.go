package deeplink_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/deeplink"
)

var (
	formRe   = regexp.MustCompile(`<form id="ltikit-deep-linking-response" method="post" action="([^"]*)">`)
	inputRe  = regexp.MustCompile(`<input type="hidden" name="JWT" value="([^"]*)">`)
	scriptRe = regexp.MustCompile(`<script nonce="([^"]+)">`)
)

func TestWriteForm(t *testing.T) {
	signer := newSigner(t)
	req := baseRequest()
	req.ReturnURL = "https://lms.example.com:8443/mod/lti/contentitem_return.php?course=2&id=1&sesskey=a%20b"
	resp := &deeplink.Response{Request: req, Items: []deeplink.Item{
		// Item fields are inside the signed JWT only; they never reach the page.
		deeplink.LTIResourceLink{Title: `"><script>alert(1)</script>`, Text: "</form><form action=//evil>"},
	}}
	rec := httptest.NewRecorder()
	if err := newResponder(t, signer).Respond(context.Background(), rec, resp); err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	h := rec.Header()
	if rec.Code != http.StatusOK || h.Get("Content-Type") != "text/html; charset=utf-8" ||
		h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("status %d, headers %v", rec.Code, h)
	}
	m := formRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form in %s", body)
	}
	if got := html.UnescapeString(m[1]); got != req.ReturnURL {
		t.Fatalf("form action %q; want %q", got, req.ReturnURL)
	}
	jm := inputRe.FindStringSubmatch(body)
	if jm == nil {
		t.Fatalf("no JWT field in %s", body)
	}
	_, claims := signer.verify(t, html.UnescapeString(jm[1]))
	if claims["aud"] != req.Issuer {
		t.Fatalf("the posted JWT is not the response: %v", claims)
	}
	if strings.Contains(body, "alert(1)") || strings.Contains(body, "evil") {
		t.Fatalf("item fields reached the page: %s", body)
	}

	// Exactly one script, allowed by the CSP nonce; nothing else loads.
	sm := scriptRe.FindAllStringSubmatch(body, -1)
	if len(sm) != 1 || strings.Count(body, "<script") != 1 {
		t.Fatalf("want exactly one script with a nonce: %s", body)
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'nonce-" + sm[0][1] + "'", "form-action https://lms.example.com:8443", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || len(sm[0][1]) < 22 {
		t.Errorf("weak CSP %q", csp)
	}
	if !strings.Contains(body, `<button type="submit">`) {
		t.Errorf("no visible submit button for browsers without scripts")
	}

	// A new nonce per page.
	rec2 := httptest.NewRecorder()
	if err := resp.WriteForm(rec2, "a.b.c"); err != nil {
		t.Fatal(err)
	}
	if n2 := scriptRe.FindStringSubmatch(rec2.Body.String())[1]; n2 == sm[0][1] {
		t.Fatalf("nonce %q reused", n2)
	}
}

// TestWriteFormRefusals: no page for a return URL or JWT that could carry
// script; nothing is written.
func TestWriteFormRefusals(t *testing.T) {
	for _, tc := range []struct {
		name      string
		returnURL string
		jwt       string
		reason    deeplink.Reason
	}{
		{"javascript: return URL", "javascript:alert(1)//", "a.b.c", deeplink.ReasonInvalidReturnURL},
		{"data: return URL", "data:text/html;base64,PHNjcmlwdD4=", "a.b.c", deeplink.ReasonInvalidReturnURL},
		{"vbscript: return URL", "vbscript:msgbox", "a.b.c", deeplink.ReasonInvalidReturnURL},
		{"relative return URL", "/deep_links", "a.b.c", deeplink.ReasonInvalidReturnURL},
		{"host with CSP syntax", "https://lms.example.com;script-src/x", "a.b.c", deeplink.ReasonInvalidReturnURL},
		{"JWT with markup", "https://lms.example.com/dl", `a.b.c"><script>alert(1)</script>`, deeplink.ReasonInvalidRequest},
		{"JWT with spaces", "https://lms.example.com/dl", "a.b .c", deeplink.ReasonInvalidRequest},
		{"not a JWT", "https://lms.example.com/dl", "", deeplink.ReasonInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := baseRequest()
			req.ReturnURL = tc.returnURL
			rec := httptest.NewRecorder()
			err := (&deeplink.Response{Request: req}).WriteForm(rec, tc.jwt)
			if !errors.Is(err, sentinelOf(t, tc.reason)) {
				t.Fatalf("err = %v; want %s", err, tc.reason)
			}
			if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
				t.Fatalf("wrote %v %q on a refusal", rec.Header(), rec.Body.String())
			}
		})
	}
	if err := (*deeplink.Response)(nil).WriteForm(httptest.NewRecorder(), "a.b.c"); !errors.Is(err, deeplink.ErrInvalidRequest) {
		t.Fatalf("nil response: %v", err)
	}
}

// TestReturnURLEscaping: a return URL with characters that are special in
// HTML stays one attribute value, and round-trips to the same URL.
func TestReturnURLEscaping(t *testing.T) {
	for _, u := range []string{
		`https://lms.example.com/dl?a=1&b="x"`,
		`https://lms.example.com/dl/"><script>alert(1)</script>`,
		`https://lms.example.com/dl?q='onmouseover='alert(1)`,
		`http://127.0.0.1:8080/mod/lti/contentitem_return.php?course=2&id=1&sesskey=24857jlapE`,
	} {
		req := baseRequest()
		req.ReturnURL = u
		rec := httptest.NewRecorder()
		if err := (&deeplink.Response{Request: req}).WriteForm(rec, "a.b.c"); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		body := rec.Body.String()
		if strings.Count(body, "<script") != 1 || strings.Contains(body, "alert(1)</script>") || strings.Contains(body, "'onmouseover") {
			t.Fatalf("%s: injected: %s", u, body)
		}
		if formRe.FindStringSubmatch(body) == nil {
			t.Fatalf("%s: form tag broken: %s", u, body)
		}
	}
}
