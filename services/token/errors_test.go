package token_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/internal/errbody"
	"github.com/ltikit/ltikit/internal/errbody/errbodytest"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/token"
)

// TestRetrieveErrorKeepsPlatformWords: whatever a token endpoint answers, the
// *RetrieveError and the log keep the status, Content-Type, request and the
// platform's words (its §5.2 members, or a bounded one-line excerpt), and
// never the client assertion; an error body is read only as far as needed.
func TestRetrieveErrorKeepsPlatformWords(t *testing.T) {
	reg := registration.Registration{Issuer: "https://lms.example", ClientID: "tool",
		TokenEndpoint: "https://lms.example/?lti-platform&token"} // user info is refused before any request
	for _, tc := range errbodytest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			tr := &errbodytest.Transport{Case: tc}
			var logs bytes.Buffer
			c, err := token.New(token.Config{Signer: sharedKeyring()},
				token.WithHTTPClient(&http.Client{Transport: tr}),
				token.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Token(context.Background(), reg, []string{scopeLineItem})
			var te *token.RetrieveError
			if !errors.As(err, &te) || !errors.Is(err, token.ErrRejected) {
				t.Fatalf("%T %v; want a *RetrieveError wrapping ErrRejected", err, err)
			}
			if te.Status != tc.Status || te.ContentType != tc.ContentType || te.Method != http.MethodPost ||
				te.URL != "https://lms.example/?lti-platform&token" {
				t.Errorf("status %d, Content-Type %q, %s %s", te.Status, te.ContentType, te.Method, te.URL)
			}
			if kr, _ := sharedKeyring().KeySet(context.Background()); te.KeyID == "" || !strings.Contains(string(mustJSON(t, kr)), `"kid":"`+te.KeyID+`"`) {
				t.Errorf("kid %q is not the tool's", te.KeyID)
			}
			if te.ErrorCode != tc.Code || te.ErrorDescription != tc.Description {
				t.Errorf("error=%q error_description=%q; want %q, %q", te.ErrorCode, te.ErrorDescription, tc.Code, tc.Description)
			}
			if tc.Code == "" {
				errbodytest.CheckExcerpt(t, tc, te.Excerpt)
			}
			msg := err.Error()
			errbodytest.CheckLine(t, "Error()", msg)
			errbodytest.CheckNoSecrets(t, "Error()", msg)
			words := tc.Code
			if words == "" {
				words = tc.InExcerpt
			}
			if !strings.Contains(msg, "HTTP "+itoa(tc.Status)) || !strings.Contains(msg, words) {
				t.Errorf("Error() = %q; want the status and %q", msg, words)
			}
			// The client assertion, the one secret the tool sent, is
			// nowhere; nor is the endpoint's user info.
			sent := tr.RequestBody.Load()
			if sent == nil {
				t.Fatal("no request")
			}
			assertion := strings.TrimPrefix(string(*sent)[strings.Index(string(*sent), "client_assertion="):], "client_assertion=")
			assertion, _, _ = strings.Cut(assertion, "&")
			for _, s := range []string{msg, logs.String()} {
				if strings.Contains(s, assertion[:40]) || strings.Contains(s, "pw@") {
					t.Errorf("the assertion or the endpoint's password shows in %q", s)
				}
			}
			// The log line carries the same fields.
			log := logs.String()
			if strings.Count(log, "\n") != 1 || !strings.Contains(log, "http_status="+itoa(tc.Status)) ||
				!strings.Contains(log, "method=POST") || !strings.Contains(log, "url=https://lms.example/?lti-platform&token ") {
				t.Errorf("log %q", log)
			}
			if !strings.Contains(log, "kid="+te.KeyID) {
				t.Errorf("log %q lacks the kid", log)
			}
			if tc.Code != "" && !strings.Contains(log, "error_code="+tc.Code) {
				t.Errorf("log %q lacks error_code", log)
			}
			if tc.Code == "" && tc.InExcerpt != "" && !strings.Contains(log, "body_excerpt=") {
				t.Errorf("log %q lacks body_excerpt", log)
			}
			if n := tr.Read.Load(); n > errbody.ReadLimit {
				t.Errorf("read %d bytes of the error body; the bound is %d", n, errbody.ReadLimit)
			}
		})
	}
}

// TestRetrieveErrorMoodleKid: Moodle's answer to an unknown kid, malformed
// JSON sent as text/html, shows in the error as Moodle wrote it.
func TestRetrieveErrorMoodleKid(t *testing.T) {
	tr := &errbodytest.Transport{Case: errbodytest.Case{Status: 400, ContentType: "text/html", Body: []byte(errbodytest.MoodleKidBody)}}
	c, err := token.New(token.Config{Signer: sharedKeyring()}, token.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	reg := registration.Registration{Issuer: "https://moodle.example", ClientID: "tool", TokenEndpoint: "https://moodle.example/mod/lti/token.php"}
	_, err = c.Token(context.Background(), reg, nil)
	var te *token.RetrieveError
	if !errors.As(err, &te) || te.Excerpt != errbodytest.MoodleKidBody || te.ContentType != "text/html" || te.Status != 400 {
		t.Fatalf("%#v", te)
	}
	want := `token: the token endpoint refused the request (POST https://moodle.example/mod/lti/token.php: HTTP 400, Content-Type text/html, assertion kid "` +
		te.KeyID + `"): the platform said: ` + errbodytest.MoodleKidBody
	if err.Error() != want {
		t.Fatalf("Error()\n = %s\nwant %s", err, want)
	}
}

// TestTokenSuccessBodyNotKept: nothing of a 2xx JSON answer is kept (it may
// hold the token under a name the masking does not know); a 2xx HTML page
// is (a misrouted token endpoint URL often answers with one).
func TestTokenSuccessBodyNotKept(t *testing.T) {
	reg := registration.Registration{Issuer: "https://lms.example", ClientID: "tool", TokenEndpoint: "https://lms.example/token"}
	for _, tc := range []struct {
		body, excerpt string
		kind          error
	}{
		{`{"token":"s3cr3t-t0ken","token_type":"Bearer"}`, "", token.ErrNoAccessToken},
		{`{"access_token":"s3cr3t-t0ken","token_type":"mac"}`, "", token.ErrUnsupportedTokenType},
		{"<html><title>My WordPress site</title>\n</html>", "<html><title>My WordPress site</title> </html>", token.ErrMalformedResponse},
	} {
		tr := &errbodytest.Transport{Case: errbodytest.Case{Status: 200, ContentType: "text/html", Body: []byte(tc.body)}}
		c, err := token.New(token.Config{Signer: sharedKeyring()}, token.WithHTTPClient(&http.Client{Transport: tr}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Token(context.Background(), reg, nil)
		var te *token.RetrieveError
		if !errors.As(err, &te) || !errors.Is(err, tc.kind) || te.Excerpt != tc.excerpt || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: %v (excerpt %q)", tc.body, err, te.Excerpt)
		}
	}
}

// TestTokenEndpointQueryKept: a registered token endpoint's query is sent
// byte for byte: bare keys stay bare, encodings and order stay.
func TestTokenEndpointQueryKept(t *testing.T) {
	for _, q := range []string{"?lti-platform&token", "?lti-platform&token&x=%7e%2F&a=2&a=1", "?", "?a=b+c&=&&z"} {
		got := make(chan string, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r.RequestURI
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"t","token_type":"Bearer","expires_in":60}`))
		}))
		reg := registration.Registration{Issuer: srv.URL, ClientID: "tool", TokenEndpoint: srv.URL + "/wp/" + q}
		c, err := token.New(token.Config{Signer: sharedKeyring()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Token(context.Background(), reg, nil); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if uri := <-got; uri != "/wp/"+q {
			t.Errorf("request URI %q, want %q", uri, "/wp/"+q)
		}
		srv.Close()
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
