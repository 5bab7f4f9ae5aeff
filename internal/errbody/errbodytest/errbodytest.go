// Package errbodytest holds the platform error answers the token, AGS and
// NRPS client tests replay, and the checks every kept excerpt and error
// string must pass. It is for tests only.
package errbodytest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ltikit/ltikit/internal/errbody"
)

// MoodleKidBody is what Moodle answered, as text/html, to a token request
// signed with a kid it did not know: malformed JSON.
const MoodleKidBody = `{ "error" : ""kid" invalid, unable to lookup correct key" }`

// MoodleKidWords are the platform's words an excerpt of MoodleKidBody must
// show.
const MoodleKidWords = `"kid" invalid, unable to lookup correct key`

// Secrets that the echo case puts in a body; they must never come out.
const (
	SecretJWT    = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJ0b29sIn0.c2lnbmF0dXJl"
	SecretBearer = "b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
)

// Case is one error answer of a platform.
type Case struct {
	// Name names the case.
	Name string
	// Status and ContentType are the answer's.
	Status      int
	ContentType string
	// Body is the answer's body.
	Body []byte
	// Code and Description are the RFC 6749 §5.2 members expected.
	Code, Description string
	// InExcerpt must be part of the excerpt; empty means the excerpt must
	// be empty (unless Code is set, when it is not checked).
	InExcerpt string
	// Cut says the excerpt must end with the ellipsis.
	Cut bool
}

// Big is the size of the large case's body.
const Big = 2 << 20

// Cases are the error answers every service client is tested with.
func Cases() []Case {
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	return []Case{
		{Name: "RFC 6749 JSON", Status: 400, ContentType: "application/json",
			Body: []byte(`{"error":"invalid_client","error_description":"the client assertion's kid is unknown","error_uri":"https://lms.example/help"}`),
			Code: "invalid_client", Description: "the client assertion's kid is unknown"},
		{Name: "RFC 6749 JSON as text/html", Status: 401, ContentType: "text/html; charset=utf-8",
			Body: []byte(" \n{\"error\":\"invalid_token\"}\n"), Code: "invalid_token"},
		{Name: "Moodle malformed JSON as text/html", Status: 400, ContentType: "text/html", Body: []byte(MoodleKidBody),
			InExcerpt: MoodleKidWords},
		{Name: "HTML error page", Status: 500, ContentType: "text/html",
			Body:      []byte("<!DOCTYPE html>\n<html>\n  <head><title>500 Internal Server Error</title></head>\n  <body>\n    <h1>Internal Server Error</h1>\n  </body>\n</html>\n"),
			InExcerpt: "<head><title>500 Internal Server Error</title></head> <body> <h1>"},
		{Name: "empty body", Status: 503, ContentType: "text/plain"},
		{Name: "2 MB body", Status: 502, ContentType: "text/plain",
			Body: append([]byte("upstream failed: "), bytes.Repeat([]byte("x"), Big)...), InExcerpt: "upstream failed: xxx", Cut: true},
		{Name: "binary garbage", Status: 500, ContentType: "application/octet-stream", Body: binary, InExcerpt: "\uFFFD", Cut: true},
		{Name: "ANSI escapes and newlines", Status: 400, ContentType: "text/plain",
			Body:      []byte("line one\r\n\x1b[2J\x1b]0;owned\x07\x1b[31mred\x1b[0m\n\u202eevil\u2028line two\x00\u009b"),
			InExcerpt: "line one ?[2J?]0;owned??[31mred?[0m ?evil line two??"},
		{Name: "secrets echoed", Status: 400, ContentType: "text/html",
			Body:      []byte("<p>assertion " + SecretJWT + " refused</p>\n<pre>Authorization: Bearer " + SecretBearer + "\nclient_assertion=" + SecretJWT + "&access_token=" + SecretBearer + "</pre>"),
			InExcerpt: "<p>assertion [redacted] refused</p>"},
	}
}

// CheckLine fails t unless s is safe for one log line and a terminal:
// valid UTF-8 without line breaks, control or format characters.
func CheckLine(t testing.TB, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s is not valid UTF-8: %q", what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf) || r == '\u2028' || r == '\u2029' {
			t.Errorf("%s holds %U: %q", what, r, s)
			break
		}
	}
}

// CheckNoSecrets fails t if s holds a secret of the echo case.
func CheckNoSecrets(t testing.TB, what, s string) {
	t.Helper()
	for _, secret := range []string{SecretJWT, SecretBearer, "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s holds a secret: %q", what, s)
		}
	}
}

// CheckExcerpt fails t unless excerpt is what tc asks for, and bounded.
func CheckExcerpt(t testing.TB, tc Case, excerpt string) {
	t.Helper()
	CheckLine(t, "the excerpt", excerpt)
	CheckNoSecrets(t, "the excerpt", excerpt)
	if len(excerpt) > errbody.ExcerptBytes+len(errbody.Ellipsis) {
		t.Errorf("excerpt of %d bytes", len(excerpt))
	}
	switch {
	case tc.InExcerpt != "" && !strings.Contains(excerpt, tc.InExcerpt):
		t.Errorf("excerpt %q does not show %q", excerpt, tc.InExcerpt)
	case tc.InExcerpt == "" && tc.Code == "" && excerpt != "":
		t.Errorf("excerpt %q, want none", excerpt)
	}
	if cut := strings.HasSuffix(excerpt, errbody.Ellipsis); cut != tc.Cut {
		t.Errorf("excerpt %q: cut %v, want %v", excerpt, cut, tc.Cut)
	}
}

// Transport answers every request with one Case, counting the body bytes
// read, and keeps the last request's body.
type Transport struct {
	// Case is the answer.
	Case Case
	// Read counts the body bytes the client read.
	Read atomic.Int64
	// RequestBody is the body of the last request.
	RequestBody atomic.Pointer[[]byte]
}

// RoundTrip implements http.RoundTripper.
func (tr *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		tr.RequestBody.Store(&b)
	}
	h := http.Header{}
	if tr.Case.ContentType != "" {
		h.Set("Content-Type", tr.Case.ContentType)
	}
	return &http.Response{
		StatusCode: tr.Case.Status, Status: fmt.Sprintf("%d %s", tr.Case.Status, http.StatusText(tr.Case.Status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: &countingBody{r: bytes.NewReader(tr.Case.Body), n: &tr.Read},
		ContentLength: int64(len(tr.Case.Body)), Request: r,
	}, nil
}

type countingBody struct {
	r *bytes.Reader
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return nil }
