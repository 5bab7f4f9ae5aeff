package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// newTestApp runs the application in process on an SQLite file, with the
// sandbox, registered as serve does.
func newTestApp(t testing.TB) (*app, *httptest.Server) {
	t.Helper()
	return newTestAppWith(t, nil)
}

// newTestAppWith is newTestApp with the application's store wrapped by
// wrap (nil: none), to make it fail.
func newTestAppWith(t testing.TB, wrap func(backend) backend) (*app, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	opened, err := openBackend(t.Context(), filepath.Join(t.TempDir(), "app.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { opened.Close() })
	var store backend = opened
	if wrap != nil {
		store = wrap(store)
	}
	a, err := newApp(serveConfig{Addr: srv.Listener.Addr().String(), BaseURL: base, Sandbox: true, SandboxURL: base + "/sandbox"},
		store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := ensurePlatform(t.Context(), store, a.sandbox.Registration(), a.sandbox.Deployment()); err != nil {
			t.Fatal(err)
		}
	}
	srv.Config.Handler = a.echo
	srv.Start()
	t.Cleanup(srv.Close)
	return a, srv
}

func TestSandboxLaunches(t *testing.T) {
	t.Parallel()
	a, _ := newTestApp(t)
	for _, tc := range []struct {
		name string
		opts []ltitest.LaunchOption
		want map[string]any // fields of the JSON answer
	}{
		{name: "instructor", want: map[string]any{"sub": "1001", "name": "Tea Cher",
			"roles": []any{ltitest.RoleInstructor}, "message_type": lti.MessageResourceLink}},
		{name: "learner", opts: []ltitest.LaunchOption{ltitest.AsLearner()}, want: map[string]any{"sub": "1002",
			"roles": []any{ltitest.RoleLearner}}},
		{name: "anonymous", opts: []ltitest.LaunchOption{ltitest.Anonymous()}, want: map[string]any{"sub": nil, "anonymous": true}},
		{name: "deep linking", opts: []ltitest.LaunchOption{ltitest.DeepLinking()}, want: map[string]any{
			"message_type": lti.MessageDeepLinking, "resource_link": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := a.sandbox.Launch(t.Context(), jsonBrowser(), tc.opts...)
			r := readResponse(t, resp, err)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			got := r.json(t)
			for k, want := range tc.want {
				if diff := cmp.Diff(want, got[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
			reg := got["registration"].(map[string]any)
			if reg["issuer"] != a.cfg.SandboxURL || reg["client_id"] != sandboxClientID || got["deployment_id"] != sandboxDeploymentID {
				t.Errorf("registration %v, deployment %v", reg, got["deployment_id"])
			}
			if tc.name == "deep linking" {
				dl, _ := got["deep_linking_settings"].(map[string]any)
				if dl["deep_link_return_url"] != a.sandbox.DeepLinkReturnURL() {
					t.Errorf("deep_linking_settings %v", got["deep_linking_settings"])
				}
			}
		})
	}
	rows, err := a.store.Registrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || len(rows[0].Deployments) != 1 {
		t.Errorf("the sandbox is registered as %+v, want one registration with one deployment", rows)
	}
}

func TestPages(t *testing.T) {
	t.Parallel()
	a, srv := newTestApp(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) response {
		resp, err := noFollow.Get(srv.URL + path)
		return readResponse(t, resp, err)
	}

	r := get("/")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), srv.URL+"/lti/login") || !strings.Contains(string(r.body), srv.URL+"/sandbox/") ||
		!strings.Contains(string(r.body), srv.URL+pathJWKS) {
		t.Errorf("index: %d\n%s", r.status, r.body)
	}
	if r = get("/sandbox"); r.status != http.StatusFound || r.header.Get("Location") != a.cfg.SandboxURL+"/" {
		t.Errorf("/sandbox: %d to %q", r.status, r.header.Get("Location"))
	}
	r = get("/sandbox/")
	page := string(r.body)
	for _, id := range []string{"launch-instructor", "launch-learner", "launch-anonymous", "launch-custom", "launch-deep-linking", "launch-deep-linking-one"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("the sandbox page has no link %s", id)
		}
	}
	if !strings.Contains(page, a.cfg.SandboxURL+"/launch?role=learner&amp;anonymous=1") {
		t.Errorf("the sandbox page's links are not built from the sandbox URL:\n%s", page)
	}
	r = get("/sandbox/jwks")
	var jwks struct{ Keys []map[string]any }
	if err := json.Unmarshal(r.body, &jwks); r.status != http.StatusOK || err != nil || len(jwks.Keys) != 1 {
		t.Errorf("/sandbox/jwks: %d %s", r.status, r.body)
	}
	// The custom launch starts with an auto-submitting login initiation
	// form to the tool.
	r = get("/sandbox/custom")
	form := string(r.body)
	if r.status != http.StatusOK || !strings.Contains(form, `action="`+srv.URL+`/lti/login"`) ||
		!strings.Contains(form, `name="iss" value="`+a.cfg.SandboxURL+`"`) {
		t.Errorf("/sandbox/custom: %d\n%s", r.status, form)
	}
}

// TestRequestID: without trusted proxies every request gets a new id,
// whatever X-Request-Id it sends (TestRequestIDFromTrustedProxy has the
// proxies).
func TestRequestID(t *testing.T) {
	t.Parallel()
	_, srv := newTestApp(t)
	for _, tc := range []struct{ in, want string }{
		{"lb-7f3a_01", ""},
		{"", ""},
		{"<script>", ""},
		{strings.Repeat("a", 65), ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
		if tc.in != "" {
			req.Header.Set(headerRequestID, tc.in)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get(headerRequestID)
		if tc.want != "" && got != tc.want || tc.want == "" && (got == "" || got == tc.in || !plainID(got)) {
			t.Errorf("X-Request-Id %q answered %q", tc.in, got)
		}
	}
}

// TestReadyzDatabaseClosed: /readyz answers 503 naming the database when
// it is closed, while /healthz, the liveness check, still answers 200.
func TestReadyzDatabaseClosed(t *testing.T) {
	t.Parallel()
	a, srv := newTestApp(t)
	if err := a.store.Close(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{pathReadyz: http.StatusServiceUnavailable, pathHealthz: http.StatusOK} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s with the database closed: %d %s, want %d", path, resp.StatusCode, body, want)
		}
		if path == pathReadyz && !strings.Contains(string(body), `"database":"unavailable"`) {
			t.Errorf("%s does not name the database: %s", path, body)
		}
	}
}

func TestParseServe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want serveConfig
		err  string
	}{
		{name: "defaults", want: serveConfig{Addr: defaultAddr, DB: defaultDB, LookupCache: defaultLookupCache}},
		{name: "environment", env: map[string]string{"LTIKIT_ADDR": ":9000", "LTIKIT_BASE_URL": "https://tool.example/",
			"LTIKIT_DB": "postgres://u@db/x", "LTIKIT_SANDBOX": "true", "LTIKIT_SANDBOX_URL": "https://lms.example/sandbox"},
			want: serveConfig{Addr: ":9000", BaseURL: "https://tool.example", DB: "postgres://u@db/x", Sandbox: true, SandboxURL: "https://lms.example/sandbox", LookupCache: defaultLookupCache}},
		{name: "lookup cache from the environment", env: map[string]string{"LTIKIT_LOOKUP_CACHE": "0s"},
			want: serveConfig{Addr: defaultAddr, DB: defaultDB}},
		{name: "lookup cache flag", args: []string{"--lookup-cache", "2m"},
			want: serveConfig{Addr: defaultAddr, DB: defaultDB, LookupCache: 2 * time.Minute}},
		{name: "negative lookup cache", args: []string{"--lookup-cache", "-1s"}, err: "must not be negative"},
		{name: "bad lookup cache", args: []string{"--lookup-cache", "soon"}, err: "lookup-cache"},
		{name: "flags win", args: []string{"--addr", "127.0.0.1:1", "--db", "x.db", "--sandbox=false"},
			env:  map[string]string{"LTIKIT_ADDR": ":9000", "LTIKIT_DB": "y.db", "LTIKIT_SANDBOX": "true"},
			want: serveConfig{Addr: "127.0.0.1:1", DB: "x.db", LookupCache: defaultLookupCache}},
		{name: "base URL with a path", args: []string{"--base-url", "https://example.edu/tools/demo/"},
			want: serveConfig{Addr: defaultAddr, DB: defaultDB, BaseURL: "https://example.edu/tools/demo", LookupCache: defaultLookupCache}},
		{name: "cookies and platform storage", args: []string{"--partitioned-cookies=false"}, env: map[string]string{"LTIKIT_PLATFORM_STORAGE": "false"},
			want: serveConfig{Addr: defaultAddr, DB: defaultDB, LookupCache: defaultLookupCache, UnpartitionedCookies: true, NoPlatformStorage: true}},
		{name: "open registration on loopback", args: []string{"--open-registration"},
			want: serveConfig{Addr: defaultAddr, DB: defaultDB, LookupCache: defaultLookupCache, OpenRegistration: true}},
		{name: "open registration with the sandbox", args: []string{"--open-registration", "--sandbox", "--addr", ":8080", "--base-url", "https://tool.example"},
			want: serveConfig{Addr: ":8080", DB: defaultDB, BaseURL: "https://tool.example", LookupCache: defaultLookupCache, Sandbox: true, OpenRegistration: true}},
		{name: "open registration on a public URL", args: []string{"--open-registration", "--base-url", "https://tool.example"}, err: "is for sandboxes"},
		{name: "open registration on every interface", env: map[string]string{"LTIKIT_OPEN_REGISTRATION": "true", "LTIKIT_ADDR": ":8080"}, err: "is for sandboxes"},
		{name: "record new deployments", env: map[string]string{"LTIKIT_NEW_DEPLOYMENTS": "record"},
			want: serveConfig{Addr: defaultAddr, DB: defaultDB, LookupCache: defaultLookupCache, RecordDeployments: true}},
		{name: "bad new deployments", args: []string{"--new-deployments", "accept"}, err: `want refuse or record`},
		{name: "positional argument", args: []string{"now"}, err: `unexpected argument "now"`},
		{name: "base URL with user", args: []string{"--base-url", "http://u:p@x"}, err: "must not contain user info"},
		{name: "base URL with fragment", args: []string{"--base-url", "http://x/#a"}, err: "must not contain a fragment"},
		{name: "SQLite URI", args: []string{"--db", "file:x.db?mode=memory"}, err: "plain file path"},
		{name: "bad sandbox env", env: map[string]string{"LTIKIT_SANDBOX": "yes please"}, err: "LTIKIT_SANDBOX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseServe(tc.args, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(withOpsDefaults(tc.want), got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultBaseURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"0.0.0.0:8080":   "http://localhost:8080",
		"[::]:8080":      "http://localhost:8080",
		"[::1]:8080":     "http://[::1]:8080",
	} {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := defaultBaseURL(tcp); got != want {
			t.Errorf("defaultBaseURL(%s) = %s, want %s", addr, got, want)
		}
	}
}

func TestDBKind(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"demo-tool.db":               "sqlite",
		"/var/lib/demo/tool.sqlite":  "sqlite",
		"postgres://u@h/db":          "postgres",
		"PostgreSQL://u@h/db":        "postgres",
		"mysql://u@h/db":             "",
		":memory:":                   "",
		"file:x.db":                  "",
		"x.db?_pragma=foreign_keys1": "",
	} {
		got, err := dbKind(dsn)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("dbKind(%q) = %q, %v; want %q", dsn, got, err, want)
		}
	}
	for _, dsn := range []string{"postgres://u:secret@h/db", "postgres://u@h/db?sslmode=disable&password=secret"} {
		if got := redactDSN(dsn); strings.Contains(got, "secret") || !strings.HasPrefix(got, "postgres://u") {
			t.Errorf("redactDSN(%q) = %q", dsn, got)
		}
	}
}
