package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// startTool runs the example's handler on a test server and an LMS
// (ltitest.Platform) that has the tool registered, and gives the tool the
// platform's registration and deployment as main would from its flags.
func startTool(t *testing.T) *ltitest.Platform {
	t.Helper()
	// The platform needs the tool's URLs and the tool the platform's
	// registration: start the server first, mount the handler after.
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     srv.URL + "/lti/login",
		ToolRedirectURIs: []string{srv.URL + "/lti/launch"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(platform.Close)
	h, err := newServer(config{
		BaseURL:      srv.URL,
		Platform:     platform.Registration(),
		DeploymentID: platform.DeploymentID(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", h)
	return platform
}

func TestLaunch(t *testing.T) {
	platform := startTool(t)
	tests := []struct {
		name       string
		opts       []ltitest.LaunchOption
		wantStatus int
		want       []string
	}{
		{
			name:       "instructor",
			opts:       []ltitest.LaunchOption{ltitest.AsInstructor(), ltitest.WithUser("u-1", "Grace Hopper", "grace@example.edu")},
			wantStatus: http.StatusOK,
			want:       []string{"Hello, Grace Hopper", "<code>u-1</code>", "You are an instructor.", lti.RoleContextInstructor},
		},
		{
			name:       "learner",
			opts:       []ltitest.LaunchOption{ltitest.AsLearner(), ltitest.WithUser("u-2", "Alan <Turing>", "alan@example.edu")},
			wantStatus: http.StatusOK,
			want:       []string{"Hello, Alan &lt;Turing&gt;", "You are a learner.", lti.RoleContextLearner},
		},
		{
			name:       "unknown deployment",
			opts:       []ltitest.LaunchOption{ltitest.WithDeploymentID("not-installed")},
			wantStatus: lti.CodeUnknownDeployment.Status(),
			want:       []string{"This launch was refused", "<code>unknown_deployment</code>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := platform.Launch(t.Context(), ltitest.NewBrowser(), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body:\n%s", resp.StatusCode, tt.wantStatus, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("page lacks %q; body:\n%s", w, body)
				}
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{"LTI_ISSUER": "https://lms.example", "LTI_DEPLOYMENT_ID": "env-dep"}
	addr, cfg, err := parseConfig([]string{"-client-id", "c-1", "-deployment-id", "flag-dep"},
		func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if addr != ":8080" || cfg.BaseURL != "http://localhost:8080" {
		t.Errorf("defaults: addr %q, base URL %q", addr, cfg.BaseURL)
	}
	if cfg.Platform.Issuer != "https://lms.example" || cfg.Platform.ClientID != "c-1" || cfg.DeploymentID != "flag-dep" {
		t.Errorf("config %+v: want the issuer from the environment, the flags over it", cfg)
	}
	// Without the platform's URLs the tool does not start.
	if _, err := newServer(cfg); err == nil {
		t.Error("newServer accepted a registration without an authorization endpoint")
	}
}
