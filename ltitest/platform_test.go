package ltitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

func TestConfigDefaultsAndRegistration(t *testing.T) {
	p, err := NewPlatform(Config{ToolRedirectURIs: []string{"https://tool.example/a", "https://tool.example/b"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.ClientID() != DefaultClientID || p.DeploymentID() != DefaultDeploymentID || p.Config().TargetLinkURI != "https://tool.example/a" {
		t.Fatalf("defaults: %+v", p.Config())
	}
	if p.URL() != p.Issuer() || p.Server() == nil || p.URL() != p.Server().URL {
		t.Fatalf("URL %s issuer %s", p.URL(), p.Issuer())
	}
	reg := p.Registration()
	if err := reg.Validate(); err != nil {
		t.Fatal(err)
	}
	if reg.Issuer != p.URL() || reg.ClientID != DefaultClientID || reg.AuthEndpoint != p.URL()+"/auth" ||
		reg.TokenEndpoint != p.URL()+"/token" || reg.KeySetURL != p.URL()+"/jwks" {
		t.Fatalf("registration %+v", reg)
	}
	if p.Deployment().DeploymentID != DefaultDeploymentID {
		t.Fatalf("deployment %+v", p.Deployment())
	}

	for _, bad := range []Config{
		{ToolLoginURL: "/relative"},
		{ToolRedirectURIs: []string{"javascript:alert(1)"}},
	} {
		if _, err := NewPlatform(bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	for _, bad := range []string{"", "/sandbox", "ftp://x/y", "http://x/y?q=1"} {
		if _, err := NewHandler(bad, Config{}); err == nil {
			t.Errorf("NewHandler(%q): no error", bad)
		}
	}
}

// TestTokenEndpointBareRequest: a grant without a client assertion is an
// RFC 6749 §5.2 JSON error (tokenendpoint_test.go tests the rest).
func TestTokenEndpointBareRequest(t *testing.T) {
	p := newPlatform(t)
	resp, err := http.PostForm(p.TokenEndpoint(), url.Values{"grant_type": {"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || e["error"] != "invalid_request" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", resp.StatusCode, e)
	}
}

func TestDeepLinkReturn(t *testing.T) {
	p := newPlatform(t)
	resp, err := http.PostForm(p.DeepLinkReturnURL(), url.Values{"JWT": {"a.b.c"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest { // recorded, but not a verifiable response (deeplink_test.go)
		t.Fatalf("status %d", resp.StatusCode)
	}
	resp, err = http.PostForm(p.DeepLinkReturnURL(), url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := p.DeepLinkingResponses(); len(got) != 1 || got[0] != "a.b.c" {
		t.Fatalf("responses %v", got)
	}
}

// TestMountedUnderPrefix mounts the platform at /sandbox/ of another server,
// with and without StripPrefix, and runs a launch through it.
func TestMountedUnderPrefix(t *testing.T) {
	for _, strip := range []bool{false, true} {
		t.Run(map[bool]string{false: "full path", true: "StripPrefix"}[strip], func(t *testing.T) {
			tt := &testTool{t: t, nonces: make(map[string]string)}
			mux := http.NewServeMux()
			mux.HandleFunc(toolLoginPath, tt.login)
			mux.HandleFunc(toolLaunchPath, tt.launch)
			app := httptest.NewServer(mux)
			defer app.Close()
			tt.srv = app

			p, err := NewHandler(app.URL+"/sandbox/", Config{
				ToolLoginURL:     app.URL + toolLoginPath,
				ToolRedirectURIs: []string{app.URL + toolLaunchPath},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close() // a no-op
			if strip {
				mux.Handle("/sandbox/", http.StripPrefix("/sandbox", p))
			} else {
				mux.Handle("/sandbox/", p)
			}
			tt.platform = p

			if p.Issuer() != app.URL+"/sandbox" || p.Server() != nil || p.Registration().KeySetURL != app.URL+"/sandbox/jwks" {
				t.Fatalf("issuer %s, key set %s", p.Issuer(), p.Registration().KeySetURL)
			}
			resp, err := p.Launch(t.Context(), NewBrowser(), AsLearner())
			if err != nil {
				t.Fatal(err)
			}
			if res := readResult(t, resp); res.Subject == nil || *res.Subject != DefaultLearner.Sub {
				t.Fatalf("tool saw %+v", res)
			}
			if p.KeySetRequests() != 1 {
				t.Fatalf("KeySetRequests %d", p.KeySetRequests())
			}
			for _, path := range []string{"/sandbox/nope", "/jwks"} {
				resp, err := http.Get(app.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s: %d", path, resp.StatusCode)
				}
			}
		})
	}
}

// TestBrowserLaunch follows /launch like a browser that runs the pages'
// auto-submitting forms: the platform page, the tool's redirect, the
// platform's form post.
func TestBrowserLaunch(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	for _, q := range []string{"role=learner", "role=instructor&message=deep_linking", "role=learner&anonymous=1&login_method=get"} {
		t.Run(q, func(t *testing.T) {
			browser := NewBrowser() // follows redirects
			resp, err := browser.Get(p.URL() + "/launch?" + q)
			if err != nil {
				t.Fatal(err)
			}
			for step := 0; ; step++ {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("step %d: %d %s", step, resp.StatusCode, b)
				}
				f, ok := parseForm(b, resp.Request.URL)
				if !ok {
					// The tool's final answer.
					var res toolResult
					if err := json.Unmarshal(b, &res); err != nil {
						t.Fatalf("final page %s", b)
					}
					wantType := lti.MessageResourceLink
					if strings.Contains(q, "deep_linking") {
						wantType = lti.MessageDeepLinking
					}
					if res.MessageType != wantType || (strings.Contains(q, "anonymous") != (res.Subject == nil)) {
						t.Fatalf("tool saw %+v", res)
					}
					return
				}
				if step > 3 {
					t.Fatal("too many forms")
				}
				resp, err = browser.PostForm(f.action.String(), f.values)
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	for _, q := range []string{"role=admin", "message=x", "login_method=put"} {
		resp, err := http.Get(p.URL() + "/launch?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", q, resp.StatusCode)
		}
	}
	resp, err := http.Get(p.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), p.URL()+"/launch?role=learner") {
		t.Fatalf("index: %d %s", resp.StatusCode, b)
	}
}
