package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// acceptJSON asks for JSON answers.
type acceptJSON struct{ rt http.RoundTripper }

func (a acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	return a.rt.RoundTrip(r)
}

// jsonBrowser is a browser (an http.Client with its own cookie jar) that
// asks for JSON. Go's cookie jar, like browsers, sends the tool's Secure
// state cookie to loopback hosts over plain http.
func jsonBrowser() *http.Client {
	b := ltitest.NewBrowser()
	b.Transport = acceptJSON{http.DefaultTransport}
	return b
}

// response is a tool answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.status, err, r.body)
	}
	return m
}

func readResponse(t *testing.T, resp *http.Response, err error) response {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// wantError checks a refused launch's status and JSON error code.
func wantError(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	m := r.json(t)
	if m["error"] != code || m["error_description"] == "" || m["error_description"] == nil {
		t.Fatalf("%s: body %s, want error %q with a description", what, r.body, code)
	}
}

// payloadOf returns the decoded payload segment of a compact JWS.
func payloadOf(t *testing.T, token string) []byte {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// decodeJSON decodes JSON with numbers kept as json.Number.
func decodeJSON(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// e2e is the real binary serving on a free port with an SQLite file, and a
// test platform registered with it through the CLI.
type e2e struct {
	dir, db  string
	node     *node
	platform *ltitest.Platform
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	e := &e2e{dir: t.TempDir()}
	e.db = filepath.Join(e.dir, "tool.db")
	e.node = startNode(t, e.dir, "--addr", "127.0.0.1:0", "--db", e.db)
	var err error
	e.platform, err = ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     e.node.url + "/lti/login",
		ToolRedirectURIs: []string{e.node.url + "/lti/launch"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.platform.Close)
	// The server is running: the CLI writes to the same SQLite file.
	mustCLI(t, e.dir, "platform", "add", "--db", e.db,
		"--issuer", e.platform.Issuer(), "--client-id", e.platform.ClientID(),
		"--auth-url", e.platform.AuthEndpoint(), "--jwks-url", e.platform.KeySetURL(),
		"--token-url", e.platform.TokenEndpoint(), "--deployment", e.platform.DeploymentID())
	return e
}

func (e *e2e) launch(t *testing.T, browser *http.Client, opts ...ltitest.LaunchOption) response {
	t.Helper()
	resp, err := e.platform.Launch(t.Context(), browser, opts...)
	return readResponse(t, resp, err)
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	var secrets []string // token, state and nonce values that must never be logged

	t.Run("valid launch, JSON", func(t *testing.T) {
		browser := jsonBrowser()
		ar, err := e.platform.Authorize(t.Context(), browser, ltitest.WithClaims(func(c map[string]any) {
			custom := c[lti.ClaimCustom].(map[string]any)
			custom["max_attempts"] = 3
			custom["graded"] = true
		}))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, ar.IDToken, ar.State, ar.AuthRequest.Get("nonce"))
		resp, err := e.platform.Post(t.Context(), browser, ar)
		r := readResponse(t, resp, err)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Fatalf("status %d, %s: %s", r.status, r.header.Get("Content-Type"), r.body)
		}
		got := r.json(t)
		in := ltitest.DefaultInstructor
		want := map[string]any{
			"message_type":    lti.MessageResourceLink,
			"version":         "1.3.0",
			"deployment_id":   e.platform.DeploymentID(),
			"target_link_uri": e.node.url + "/lti/launch",
			"sub":             in.Sub,
			"anonymous":       false,
			"name":            in.Name,
			"email":           in.Email,
			"roles":           []any{ltitest.RoleInstructor},
			"registration":    map[string]any{"issuer": e.platform.Issuer(), "client_id": e.platform.ClientID()},
			"context": map[string]any{"id": ltitest.DefaultContextID, "label": "LTI101", "title": "LTI Test Course",
				"type": []any{"CourseSection"}},
			"resource_link": map[string]any{"id": ltitest.DefaultResourceLinkID, "title": "ltitest activity",
				"description": "An activity of the ltitest platform"},
			// "42" stays a string, 3 a number, true a boolean.
			"custom": map[string]any{"course_ctx": "42", "max_attempts": json.Number("3"), "graded": true},
			// claims: every claim exactly as the platform signed it.
			"claims": decodeJSON(t, payloadOf(t, ar.IDToken)),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("launch JSON (-want +got):\n%s", diff)
		}
		if r.header.Get("X-Request-Id") == "" {
			t.Error("no X-Request-Id header")
		}
	})

	t.Run("valid launch, HTML", func(t *testing.T) {
		browser := ltitest.NewBrowser()
		r := e.launch(t, browser, ltitest.AsLearner(), ltitest.WithClaims(func(c map[string]any) {
			c["name"] = `<script>alert("name")</script>`
			c[lti.ClaimCustom] = map[string]any{"note": `<img src=x onerror=alert(1)>`, "course_ctx": "42"}
		}))
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("status %d, %s: %s", r.status, r.header.Get("Content-Type"), r.body)
		}
		page := string(r.body)
		for _, s := range []string{
			"Launch accepted", ltitest.DefaultLearner.Sub, ltitest.DefaultLearner.Email, "Learner", ltitest.RoleLearner,
			"LTI Test Course", ltitest.DefaultResourceLinkID, "course_ctx", e.platform.DeploymentID(), e.platform.Issuer(),
			"&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;",
		} {
			if !strings.Contains(page, s) {
				t.Errorf("the launch page lacks %q", s)
			}
		}
		for _, s := range []string{"<script>", "<img src=x"} {
			if strings.Contains(page, s) {
				t.Errorf("the launch page echoes %q unescaped", s)
			}
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
	})

	t.Run("anonymous launch", func(t *testing.T) {
		r := e.launch(t, jsonBrowser(), ltitest.Anonymous())
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		got := r.json(t)
		if _, ok := got["sub"]; ok {
			t.Errorf("sub is present for an anonymous launch: %v", got["sub"])
		}
		if got["anonymous"] != true {
			t.Errorf("anonymous = %v", got["anonymous"])
		}
	})

	t.Run("replayed id_token", func(t *testing.T) {
		browser := jsonBrowser()
		ar, err := e.platform.Authorize(t.Context(), browser)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, ar.IDToken, ar.State)
		// Keep the state cookie: the tool clears it after the first post,
		// and the replay must fail on the consumed state, not on a
		// missing cookie.
		toolURL, _ := url.Parse(e.node.url)
		cookies := browser.Jar.Cookies(toolURL)
		resp, err := e.platform.Post(t.Context(), browser, ar)
		if r := readResponse(t, resp, err); r.status != http.StatusOK {
			t.Fatalf("first post: %d %s", r.status, r.body)
		}
		browser.Jar.SetCookies(toolURL, cookies)
		resp, err = e.platform.Post(t.Context(), browser, ar)
		wantError(t, "replay", readResponse(t, resp, err), http.StatusUnauthorized, "invalid_state")
	})

	t.Run("tampered token", func(t *testing.T) {
		// A corrupted signature.
		r := e.launch(t, jsonBrowser(), ltitest.WithTokenOptions(ltitest.CorruptSignature()))
		wantError(t, "corrupted signature", r, http.StatusUnauthorized, "invalid_signature")

		// A changed payload under the original signature: another user.
		browser := jsonBrowser()
		ar, err := e.platform.Authorize(t.Context(), browser)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(ar.IDToken, ".")
		payload := bytes.Replace(payloadOf(t, ar.IDToken), []byte(`"sub":"1001"`), []byte(`"sub":"1002"`), 1)
		if !bytes.Contains(payload, []byte(`"sub":"1002"`)) {
			t.Fatalf("payload has no sub to change: %s", payload)
		}
		ar.Form.Set("id_token", parts[0]+"."+base64.RawURLEncoding.EncodeToString(payload)+"."+parts[2])
		resp, err := e.platform.Post(t.Context(), browser, ar)
		wantError(t, "changed payload", readResponse(t, resp, err), http.StatusUnauthorized, "invalid_signature")

		// The HTML error page, for a browser.
		r = e.launch(t, ltitest.NewBrowser(), ltitest.WithTokenOptions(ltitest.CorruptSignature()))
		if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(r.body), "invalid_signature") {
			t.Fatalf("HTML error: %d %s\n%s", r.status, r.header.Get("Content-Type"), r.body)
		}
	})

	t.Run("unknown deployment", func(t *testing.T) {
		r := e.launch(t, jsonBrowser(), ltitest.WithDeploymentID("deployment-2"))
		wantError(t, "unknown deployment", r, http.StatusForbidden, "unknown_deployment")

		// Registered while the server runs, it is accepted.
		mustCLI(t, e.dir, "deployment", "add", "--db", e.db, "--issuer", e.platform.Issuer(),
			"--client-id", e.platform.ClientID(), "--deployment-id", "deployment-2")
		r = e.launch(t, jsonBrowser(), ltitest.WithDeploymentID("deployment-2"))
		if r.status != http.StatusOK || r.json(t)["deployment_id"] != "deployment-2" {
			t.Fatalf("after deployment add: %d %s", r.status, r.body)
		}
	})

	t.Run("unknown platform", func(t *testing.T) {
		other, err := ltitest.NewPlatform(ltitest.Config{
			ToolLoginURL:     e.node.url + "/lti/login",
			ToolRedirectURIs: []string{e.node.url + "/lti/launch"},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		_, err = other.Launch(t.Context(), jsonBrowser())
		le, ok := err.(*ltitest.LoginError)
		if !ok || le.StatusCode != http.StatusBadRequest || !strings.Contains(le.Body, `"unknown_registration"`) {
			t.Fatalf("login of an unregistered platform: %v", err)
		}
	})

	t.Run("HTTP edges", func(t *testing.T) {
		do := func(method, path, contentType string, body io.Reader) response {
			req, err := http.NewRequestWithContext(t.Context(), method, e.node.url+path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "application/json")
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			return readResponse(t, resp, err)
		}
		const form = "application/x-www-form-urlencoded"

		r := do(http.MethodGet, "/lti/launch", "", nil)
		wantError(t, "GET launch", r, http.StatusMethodNotAllowed, "invalid_request")
		if allow := r.header.Get("Allow"); !strings.Contains(allow, http.MethodPost) {
			t.Errorf("Allow %q", allow)
		}
		wantError(t, "PUT login", do(http.MethodPut, "/lti/login", "", nil), http.StatusMethodNotAllowed, "invalid_request")

		big := strings.NewReader("id_token=" + strings.Repeat("a", 300<<10) + "&state=x")
		r = do(http.MethodPost, "/lti/launch", form, big)
		if r.status != http.StatusRequestEntityTooLarge && r.status != http.StatusBadRequest {
			t.Fatalf("oversized body: %d %s", r.status, r.body)
		}
		wantError(t, "oversized body", r, r.status, "invalid_request")

		wantError(t, "launch without state", do(http.MethodPost, "/lti/launch", form, strings.NewReader("id_token=a.b.c")),
			http.StatusUnauthorized, "invalid_state")
		wantError(t, "login without parameters", do(http.MethodGet, "/lti/login", "", nil), http.StatusBadRequest, "invalid_request")
		wantError(t, "no such page", do(http.MethodGet, "/nope", "", nil), http.StatusNotFound, "not_found")

		r = do(http.MethodGet, "/healthz", "", nil)
		if r.status != http.StatusOK || r.json(t)["status"] != "ok" {
			t.Fatalf("healthz: %d %s", r.status, r.body)
		}
	})

	t.Run("login redirect is built from the base URL", func(t *testing.T) {
		// A forged Host header changes nothing the tool sends out.
		login := url.Values{"iss": {e.platform.Issuer()}, "login_hint": {"1001"},
			"target_link_uri": {e.node.url + "/lti/launch"}, "client_id": {e.platform.ClientID()}}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.node.url+"/lti/login?"+login.Encode(), nil)
		req.Host = "evil.example"
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("login: %d, no redirect", resp.StatusCode)
		}
		if got := loc.Query().Get("redirect_uri"); got != e.node.url+"/lti/launch" {
			t.Errorf("redirect_uri %q, want %q", got, e.node.url+"/lti/launch")
		}
	})

	// The logs have a line per request with its id, and no secret.
	logs := e.node.logs.String()
	for _, s := range []string{"msg=request", "request_id=", `msg="launch accepted"`, `msg="lti launch refused"`, "code=invalid_signature"} {
		if !strings.Contains(logs, s) {
			t.Errorf("the logs lack %q", s)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the logs contain a token, state or nonce value")
		}
	}
}
