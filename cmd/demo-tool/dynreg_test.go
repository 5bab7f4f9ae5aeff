package main

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/token"
)

// newDynregApp runs the application in process without the sandbox, with
// cfg's switches, on a fresh SQLite file.
func newDynregApp(t *testing.T, cfg serveConfig) (*app, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	store, err := openBackend(t.Context(), filepath.Join(t.TempDir(), "app.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg.Addr, cfg.BaseURL = srv.Listener.Addr().String(), base
	a, err := newApp(cfg, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.echo
	srv.Start()
	t.Cleanup(srv.Close)
	return a, srv
}

// TestDynregRefusals: the registration URL registers nothing without a
// link or --open-registration, says so in words an administrator can act
// on, and fetches nothing from the platform first.
func TestDynregRefusals(t *testing.T) {
	t.Parallel()
	a, srv := newDynregApp(t, serveConfig{})
	lms, err := ltitest.NewPlatform(ltitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lms.Close)
	token, _, err := a.links.create(t.Context(), 3600e9, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.links.use(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       string
	}{
		// An admin gave the LMS the tool's base URL: not the index page.
		{"base URL", "/", "Dynamic Registration is off"},
		{"registration URL without a link", pathRegister, "Dynamic Registration is off"},
		{"unknown link", pathRegister + "/AAAAAAAAAAAAAAAAAAAAAAAAAA", "unknown, used or expired"},
		{"used link", pathRegister + "/" + token, "unknown, used or expired"},
		{"malformed link", pathRegister + "/x", "unknown, used or expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := lms.RegistrationInitiationURL(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, tc.want) {
				t.Fatalf("GET %s: %d, want 403 with %q\n%s", tc.path, resp.StatusCode, tc.want, body)
			}
			if !strings.Contains(body, "org.imsglobal.lti.close") {
				t.Errorf("the refusal page does not close the LMS's dialog:\n%s", body)
			}
		})
	}
	if got := len(lms.ToolRegistrations()); got != 0 {
		t.Fatalf("the LMS received %d registrations, want none", got)
	}
	// Without registration parameters the index is the index.
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK || strings.Contains(body, "Dynamic Registration is off") {
		t.Fatalf("GET /: %d\n%s", resp.StatusCode, body)
	}
}

// TestDynregOpenRegistration: with --open-registration the registration
// URL (or the base URL an admin pasted) registers a platform without a
// link, and the platform's launch is then accepted.
func TestDynregOpenRegistration(t *testing.T) {
	t.Parallel()
	a, srv := newDynregApp(t, serveConfig{OpenRegistration: true})
	lms, err := ltitest.NewPlatform(ltitest.Config{ClientID: "open-client", DeploymentID: "open-deployment"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lms.Close)
	u, err := lms.RegistrationInitiationURL(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("registration: %d\n%s", resp.StatusCode, body)
	}
	regs, err := a.store.Registrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 1 || regs[0].Registration.ClientID != "open-client" || len(regs[0].Deployments) != 1 || regs[0].Deployments[0] != "open-deployment" {
		t.Fatalf("stored %+v", regs)
	}
	resp, err = lms.Launch(t.Context(), jsonBrowser())
	r := readResponse(t, resp, err)
	if r.status != http.StatusOK {
		t.Fatalf("launch after the registration: %d %s", r.status, r.body)
	}
}

// TestRecordNewDeployments: --new-deployments record accepts a verified
// launch with an unknown deployment_id of a registered platform and
// stores it; without it the launch is refused and nothing is stored.
func TestRecordNewDeployments(t *testing.T) {
	t.Parallel()
	for _, record := range []bool{false, true} {
		t.Run(map[bool]string{false: "refuse", true: "record"}[record], func(t *testing.T) {
			a, srv := newDynregApp(t, serveConfig{RecordDeployments: record})
			lms, err := ltitest.NewPlatform(ltitest.Config{ToolLoginURL: srv.URL + pathLogin,
				ToolRedirectURIs: []string{srv.URL + pathLaunch}, ToolJWKSURL: srv.URL + pathJWKS})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(lms.Close)
			if err := a.store.CreateRegistration(t.Context(), lms.Registration(), lms.DeploymentID()); err != nil {
				t.Fatal(err)
			}
			resp, err := lms.Launch(t.Context(), jsonBrowser(), ltitest.WithDeploymentID("course-42"))
			r := readResponse(t, resp, err)
			reg, ferr := a.store.FindRegistration(t.Context(), lms.Issuer(), lms.ClientID())
			if ferr != nil {
				t.Fatal(ferr)
			}
			_, derr := a.store.FindDeployment(t.Context(), reg, "course-42")
			if !record {
				if r.status != http.StatusForbidden || !strings.Contains(string(r.body), string(lti.CodeUnknownDeployment)) {
					t.Fatalf("launch: %d %s, want 403 unknown_deployment", r.status, r.body)
				}
				if !errors.Is(derr, deployment.ErrNotFound) {
					t.Fatalf("the deployment was stored (%v) though recording is off", derr)
				}
				return
			}
			if r.status != http.StatusOK {
				t.Fatalf("launch: %d %s", r.status, r.body)
			}
			if derr != nil {
				t.Fatalf("the new deployment is not stored: %v", derr)
			}
			// A launch of a platform that is not registered records nothing.
			other, err := ltitest.NewPlatform(ltitest.Config{ToolLoginURL: srv.URL + pathLogin,
				ToolRedirectURIs: []string{srv.URL + pathLaunch}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(other.Close)
			// (ltitest reports the tool's refusal of the login as an error.)
			if _, err := other.Launch(t.Context(), jsonBrowser(), ltitest.WithDeploymentID("course-42")); err == nil ||
				!strings.Contains(err.Error(), string(lti.CodeUnknownRegistration)) {
				t.Fatalf("launch of an unregistered platform: %v, want unknown_registration", err)
			}
			if _, err := a.store.FindRegistration(t.Context(), other.Issuer(), other.ClientID()); !errors.Is(err, registration.ErrNotFound) {
				t.Fatalf("an unregistered platform was stored: %v", err)
			}
		})
	}
}

// TestServiceErrorWords: a refused token request shows the platform's own
// words on the page, with a hint when they are about the tool's key. The
// body is what a real Moodle answered to a kid it did not know: HTTP 400,
// text/html, malformed JSON.
func TestServiceErrorWords(t *testing.T) {
	t.Parallel()
	a, _ := newDynregApp(t, serveConfig{})
	_, err := token.ParseResponse(http.StatusBadRequest, []byte(`{ "error" : ""kid" invalid, unable to lookup correct key" }`))
	if err == nil {
		t.Fatal("ParseResponse accepted an error answer")
	}
	f := a.describeServiceError(t.Context(), "Posting the score", err)
	for _, want := range []string{"HTTP 400", `"kid" invalid, unable to lookup correct key`, a.toolURL(pathJWKS)} {
		if !strings.Contains(f.Description, want) {
			t.Errorf("description %q does not contain %q", f.Description, want)
		}
	}
	if f.Status != http.StatusBadGateway || f.Code != "token_refused" {
		t.Errorf("status %d code %q", f.Status, f.Code)
	}
}
