package echolti_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/echolti"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
)

// env is an Echo tool with the echolti endpoints and a test platform
// registered with it.
type env struct {
	platform *ltitest.Platform
	srv      *httptest.Server
	reached  atomic.Int64 // launches that reached the application handler
	appErr   error        // returned by the application handler when set
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := echo.New()
	env := &env{srv: httptest.NewServer(e)}
	t.Cleanup(env.srv.Close)
	var err error
	env.platform, err = ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     env.srv.URL + "/lti/login",
		ToolRedirectURIs: []string{env.srv.URL + "/lti/launch"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.platform.Close)
	store := memory.New()
	if err := store.AddRegistration(env.platform.Registration()); err != nil {
		t.Fatal(err)
	}
	if err := store.AddDeployment(env.platform.Registration().Key(), env.platform.Deployment()); err != nil {
		t.Fatal(err)
	}
	tool, err := launch.New(launch.Config{Storage: store, BaseURL: env.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	e.Match([]string{http.MethodGet, http.MethodPost}, "/lti/login", echolti.LoginHandler(tool))
	e.POST("/lti/launch", echolti.LaunchHandler(tool, func(c echo.Context) error {
		l, ok := echolti.Launch(c)
		if !ok {
			return errors.New("no launch in the context")
		}
		env.reached.Add(1)
		if env.appErr != nil {
			return env.appErr
		}
		return c.JSON(http.StatusOK, map[string]any{
			"sub":           l.Subject(),
			"deployment_id": l.DeploymentID(),
			"roles":         l.Roles(),
		})
	}))
	return env
}

// jsonBrowser is a browser that asks for JSON answers.
func jsonBrowser() *http.Client {
	b := ltitest.NewBrowser()
	b.Transport = acceptJSON{http.DefaultTransport}
	return b
}

type acceptJSON struct{ rt http.RoundTripper }

func (a acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	return a.rt.RoundTrip(r)
}

type answer struct {
	status int
	body   map[string]any
}

func read(t *testing.T, resp *http.Response, err error) answer {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return a
}

func TestLaunch(t *testing.T) {
	tests := []struct {
		name    string
		opts    []ltitest.LaunchOption
		status  int
		code    string // error code, "" for a successful launch
		sub     string
		reaches bool
	}{
		{name: "instructor", status: 200, sub: ltitest.DefaultInstructor.Sub, reaches: true},
		{name: "learner by GET login", opts: []ltitest.LaunchOption{ltitest.AsLearner(), ltitest.WithLoginMethod("GET")},
			status: 200, sub: ltitest.DefaultLearner.Sub, reaches: true},
		{name: "tampered signature", opts: []ltitest.LaunchOption{ltitest.WithTokenOptions(ltitest.CorruptSignature())},
			status: 401, code: "invalid_signature"},
		{name: "unknown deployment", opts: []ltitest.LaunchOption{ltitest.WithDeploymentID("not-registered")},
			status: 403, code: "unknown_deployment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			resp, err := env.platform.Launch(t.Context(), jsonBrowser(), tc.opts...)
			a := read(t, resp, err)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %v", a.status, tc.status, a.body)
			}
			if tc.code != "" && a.body["error"] != tc.code {
				t.Errorf("error %v, want %s", a.body["error"], tc.code)
			}
			if tc.sub != "" && a.body["sub"] != tc.sub {
				t.Errorf("sub %v, want %s", a.body["sub"], tc.sub)
			}
			if got := env.reached.Load() == 1; got != tc.reaches {
				t.Errorf("application reached: %v, want %v", got, tc.reaches)
			}
		})
	}
}

func TestReplayIsRefused(t *testing.T) {
	env := newEnv(t)
	browser := jsonBrowser()
	ar, err := env.platform.Authorize(t.Context(), browser)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := env.platform.Post(t.Context(), browser, ar)
	if a := read(t, resp, err); a.status != http.StatusOK {
		t.Fatalf("first post: %d %v", a.status, a.body)
	}
	resp, err = env.platform.Post(t.Context(), browser, ar)
	a := read(t, resp, err)
	if a.status != http.StatusUnauthorized || a.body["error"] != "invalid_state" {
		t.Fatalf("replay: %d %v, want 401 invalid_state", a.status, a.body)
	}
	if n := env.reached.Load(); n != 1 {
		t.Fatalf("the application was reached %d times, want 1", n)
	}
}

func TestApplicationErrorReachesEcho(t *testing.T) {
	env := newEnv(t)
	env.appErr = echo.NewHTTPError(http.StatusTeapot, "the app says no")
	resp, err := env.platform.Launch(t.Context(), jsonBrowser())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d, want 418 from Echo's error handler", resp.StatusCode)
	}
}

func TestLaunchWithoutMiddleware(t *testing.T) {
	e := echo.New()
	c := e.NewContext(httptest.NewRequest(http.MethodPost, "/lti/launch", nil), httptest.NewRecorder())
	if l, ok := echolti.Launch(c); ok || l != nil {
		t.Fatalf("Launch = %v, %v; want nil, false", l, ok)
	}
}

type ctxKey struct{}

// Middleware runs a net/http middleware on an Echo route: what it adds to
// the request context reaches the Echo handler, its own answer stops the
// route, and the handler's error goes back to Echo.
func TestMiddleware(t *testing.T) {
	addValue := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("refuse") {
				http.Error(w, "refused", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "from net/http")))
		})
	}
	e := echo.New()
	var reached int
	e.GET("/page", func(c echo.Context) error {
		reached++
		if c.QueryParam("fail") != "" {
			return echo.NewHTTPError(http.StatusTeapot)
		}
		v, _ := c.Request().Context().Value(ctxKey{}).(string)
		return c.String(http.StatusOK, v)
	}, echolti.Middleware(addValue))
	for _, tc := range []struct {
		query      string
		wantStatus int
		wantBody   string
		wantReach  int
	}{
		{"", http.StatusOK, "from net/http", 1},
		{"refuse=1", http.StatusUnauthorized, "refused\n", 0},
		{"fail=1", http.StatusTeapot, "", 1},
	} {
		reached = 0
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/page?"+tc.query, nil))
		if rec.Code != tc.wantStatus || reached != tc.wantReach || (tc.wantBody != "" && rec.Body.String() != tc.wantBody) {
			t.Errorf("%q: status %d body %q reached %d; want %d %q %d", tc.query, rec.Code, rec.Body.String(), reached, tc.wantStatus, tc.wantBody, tc.wantReach)
		}
	}
}
